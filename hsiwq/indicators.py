"""Derived indicators: China's trophic level index TLI(Σ) and GB 3838-2002 classes.

**TLI(Σ)** (docs/models.md §1; Jin & Tu 1990; China National Environmental Monitoring Centre,
"Technical regulation for lake (reservoir) eutrophication assessment", 2001):

    TLI(chl) = 10(2.5 + 1.086 ln chl)          chl in mg/m³ (= µg/L)
    TLI(TP)  = 10(9.436 + 1.624 ln TP)         mg/L
    TLI(TN)  = 10(5.453 + 1.694 ln TN)         mg/L
    TLI(SD)  = 10(5.118 − 1.94 ln SD)          m
    TLI(COD_Mn) = 10(0.109 + 2.661 ln COD_Mn)  mg/L
    TLI(Σ) = Σ W_j·TLI(j),  W_j = r_j² / Σ r²,  r = 1, 0.84, 0.82, −0.83, 0.83

with trophic classes oligotrophic (< 30), mesotrophic (30–50), light eutrophic (50–60),
middle eutrophic (60–70) and hypereutrophic (> 70). Where some of the five are missing the
weights are renormalised over those present (and the result says which were used).

**GB 3838-2002** Table 1 class of each parameter that has limits (COD_Mn, COD, NH₃-N, TP,
TN): the lowest class I…V whose limit the value does not exceed, else "worse than V";
total phosphorus uses the lake/reservoir limits or, for rivers, the river limits.

References
----------
.. [1] GB 3838-2002, Environmental quality standards for surface water. Ministry of
   Environmental Protection of China, 2002.
.. [2] Jin, X., Tu, Q. (1990). The standard methods for observation and analysis in lake
   eutrophication. China Environmental Science Press (TLI relations with chlorophyll-a).
.. [3] Wang, M., Liu, X., Zhang, J. (2002). Evaluate method and classification standard on
   lake eutrophication. Environ. Monit. China 18(5), 47–49.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from .params import GB3838_TP_RIVER, PARAMETERS

#: Relation of each TLI component: parameter id → (a, b) of TLI = 10(a + b·ln x).
TLI_RELATIONS: dict[str, tuple[float, float]] = {
    "chl_a": (2.5, 1.086), "tp": (9.436, 1.624), "tn": (5.453, 1.694),
    "secchi": (5.118, -1.94), "cod_mn": (0.109, 2.661),
}
#: Correlation r_j of each component with chlorophyll-a (weights W_j = r_j²/Σr²).
TLI_CORRELATION: dict[str, float] = {"chl_a": 1.0, "tp": 0.84, "tn": 0.82, "secchi": -0.83, "cod_mn": 0.83}
#: Upper bounds of the trophic classes and their names.
TROPHIC_BOUNDS: tuple[float, ...] = (30.0, 50.0, 60.0, 70.0)
TROPHIC_CLASSES: tuple[str, ...] = ("oligotrophic", "mesotrophic", "light eutrophic",
                                    "middle eutrophic", "hypereutrophic")
#: GB 3838-2002 class names, index 0…5 (5: worse than class V).
GB3838_CLASSES: tuple[str, ...] = ("I", "II", "III", "IV", "V", "worse than V")


def tli_component(parameter: str, value: ArrayLike) -> np.ndarray:
    """TLI of one parameter [-]; NaN where the value is missing or not positive.

    Parameters
    ----------
    parameter : str
        ``chl_a`` [µg/L], ``tp`` [mg/L], ``tn`` [mg/L], ``secchi`` [m] or ``cod_mn`` [mg/L].
    value : array_like
        Values in the catalogue units.
    """
    if parameter not in TLI_RELATIONS:
        raise ValueError(f"no TLI relation for {parameter!r}; known: {', '.join(TLI_RELATIONS)}")
    a, b = TLI_RELATIONS[parameter]
    x = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x > 0, 10.0 * (a + b * np.log(np.where(x > 0, x, 1.0))), np.nan)


def tli(values: Mapping[str, ArrayLike], *, require_all: bool = False) -> np.ndarray:
    """China's comprehensive trophic level index TLI(Σ) [-].

    Parameters
    ----------
    values : mapping of str to array_like
        Any of ``chl_a`` [µg/L], ``tp``, ``tn``, ``cod_mn`` [mg/L], ``secchi`` [m]
        (broadcastable arrays).
    require_all : bool
        NaN unless all five are present (else weights are renormalised over those present;
        chlorophyll-a is always required, since the weights are defined relative to it).

    Returns
    -------
    ndarray
        TLI(Σ); NaN where chlorophyll-a is missing (or any component with ``require_all``).
    """
    comps = {p: tli_component(p, v) for p, v in values.items() if p in TLI_RELATIONS and v is not None}
    if "chl_a" not in comps:
        raise ValueError("TLI(Σ) needs chlorophyll-a")
    arrays = np.broadcast_arrays(*comps.values())
    num = np.zeros(arrays[0].shape)
    den = np.zeros(arrays[0].shape)
    for (p, _), t in zip(comps.items(), arrays):
        w = TLI_CORRELATION[p] ** 2
        ok = np.isfinite(t)
        num += np.where(ok, w * np.where(ok, t, 0.0), 0.0)
        den += np.where(ok, w, 0.0)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out = np.where(np.isfinite(arrays[list(comps).index("chl_a")]), out, np.nan)
    if require_all:
        complete = len(comps) == len(TLI_RELATIONS) and np.all([np.isfinite(t) for t in arrays], axis=0)
        out = np.where(complete, out, np.nan)
    return out


def trophic_class(index: ArrayLike) -> np.ndarray:
    """Trophic class name of TLI(Σ) values (``""`` where NaN).

    Bounds: < 30 oligotrophic, 30–50 mesotrophic, 50–60 light eutrophic, 60–70 middle
    eutrophic, > 70 hypereutrophic (a value on a bound takes the higher class).
    """
    t = np.asarray(index, dtype=float)
    k = np.searchsorted(np.array(TROPHIC_BOUNDS), np.where(np.isfinite(t), t, 0.0), side="right")
    names = np.array(TROPHIC_CLASSES, dtype=object)[k]
    return np.where(np.isfinite(t), names, "")


def gb3838_limits(parameter: str, waterbody: str = "lake") -> tuple[float, ...] | None:
    """GB 3838-2002 limits of classes I–V of a parameter [unit], or None when it has none.

    ``waterbody`` ("lake" — also reservoirs — or "river") matters for total phosphorus only.
    """
    if parameter not in PARAMETERS:
        raise ValueError(f"unknown parameter id {parameter!r}")
    if waterbody not in ("lake", "reservoir", "river"):
        raise ValueError(f"waterbody must be 'lake', 'reservoir' or 'river', got {waterbody!r}")
    if parameter == "tp" and waterbody == "river":
        return GB3838_TP_RIVER
    return PARAMETERS[parameter].gb3838_limits


def gb3838_class_index(parameter: str, value: ArrayLike, waterbody: str = "lake") -> np.ndarray:
    """Class index 1…5 (I…V) or 6 (worse than V) of values; 0 where missing or no limits."""
    limits = gb3838_limits(parameter, waterbody)
    x = np.asarray(value, dtype=float)
    if limits is None:
        return np.zeros(x.shape, dtype=int)
    k = np.searchsorted(np.array(limits), np.where(np.isfinite(x), x, 0.0), side="left") + 1
    return np.where(np.isfinite(x) & (x >= 0), k, 0).astype(int)


def gb3838_class(parameter: str, value: ArrayLike, waterbody: str = "lake") -> np.ndarray:
    """GB 3838-2002 class of values: "I" … "V", "worse than V", or "" (missing / no limits).

    A value equal to a class limit belongs to that class (the limits are "≤").
    """
    idx = gb3838_class_index(parameter, value, waterbody)
    names = np.array(("",) + GB3838_CLASSES, dtype=object)
    return names[idx]


def indicators(values: Mapping[str, ArrayLike], waterbody: str = "lake") -> dict[str, np.ndarray]:
    """TLI(Σ), trophic class and the GB 3838 class of every parameter that has limits.

    Returns
    -------
    dict of str to ndarray
        ``tli``, ``trophic_class`` (when chlorophyll-a is given) and ``gb3838_<id>``.
    """
    out: dict[str, np.ndarray] = {}
    if "chl_a" in values:
        out["tli"] = tli(values)
        out["trophic_class"] = trophic_class(out["tli"])
    for pid, v in values.items():
        if pid in PARAMETERS and gb3838_limits(pid, waterbody) is not None:
            out[f"gb3838_{pid}"] = gb3838_class(pid, v, waterbody)
    return out
