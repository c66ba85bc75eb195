"""Trophic state (China's TLI) and GB 3838-2002 water-quality classes of stored values.

References
----------
- GB 3838-2002, *Environmental quality standards for surface water*, Table 1 (class limits).
- Jin Xiangcan et al. (1990), *Eutrophication of China's lakes* / Wang Mingcui et al. (2002),
  "Application of the comprehensive trophic level index", *Environmental Monitoring in
  China* 18(5): the TLI(Σ) formulas, the correlation weights (chl-a 1, TP 0.84, TN 0.82,
  SD −0.83, COD_Mn 0.83) and the classes <30, 30–50, 50–60, 60–70, >70.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..params import GB3838_TP_RIVER, PARAMETERS

#: TLI(j) = 10 (a + b ln x_j) and the correlation r_j of each component with chl-a.
#: chl-a in mg/m³ (= µg/L), SD in m, TP, TN and COD_Mn in mg/L.
TLI_TERMS: dict[str, tuple[float, float, float]] = {
    "chl_a": (2.5, 1.086, 1.0),
    "tp": (9.436, 1.624, 0.84),
    "tn": (5.453, 1.694, 0.82),
    "secchi": (5.118, -1.94, -0.83),
    "cod_mn": (0.109, 2.661, 0.83),
}

#: Trophic classes by TLI(Σ): (upper bound, name); TLI < 30 is oligotrophic, the other
#: bounds are inclusive (30 ≤ TLI ≤ 50 mesotrophic, 50 < TLI ≤ 60 light eutrophic, …).
TLI_CLASSES: tuple[tuple[float, str], ...] = (
    (30.0, "oligotrophic"),
    (50.0, "mesotrophic"),
    (60.0, "light eutrophic"),
    (70.0, "middle eutrophic"),
    (math.inf, "hypereutrophic"),
)

#: GB 3838 class names, I … V and worse than V.
GB_CLASS_NAMES: tuple[str, ...] = ("I", "II", "III", "IV", "V", "worse than V")


def tli(values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """China's comprehensive trophic level index TLI(Σ) of each acquisition.

    Each acquisition uses the components it has (finite, positive values of ``chl_a``,
    ``tp``, ``tn``, ``secchi``, ``cod_mn``), with the weights W_j = r_j² / Σ r_k²
    renormalised over those components. Chlorophyll-a is the reference parameter of the
    weights: without it the index is NaN (as in the alert rules' TLI).

    Parameters
    ----------
    values : mapping of str to ndarray
        Parameter series in catalogue units (same length); missing ids are ignored.

    Returns
    -------
    index : ndarray
        TLI(Σ), NaN where chlorophyll-a is not available.
    n_components : ndarray of int
        How many components each value used.
    """
    n = max((np.asarray(v).size for v in values.values()), default=0)
    num = np.zeros(n)
    den = np.zeros(n)
    count = np.zeros(n, dtype=int)
    for pid, (a, b, r) in TLI_TERMS.items():
        if pid not in values:
            continue
        x = np.asarray(values[pid], dtype=float)
        ok = np.isfinite(x) & (x > 0)
        w = r * r
        part = np.where(ok, 10.0 * (a + b * np.log(np.where(ok, x, 1.0))), 0.0)
        num += np.where(ok, w * part, 0.0)
        den += np.where(ok, w, 0.0)
        count += ok
    chl = np.asarray(values.get("chl_a", np.full(n, np.nan)), dtype=float)
    has_chl = np.isfinite(chl) & (chl > 0)
    index = np.where(has_chl, num / np.where(den > 0, den, 1.0), np.nan)
    return index, np.where(has_chl, count, 0)



def tli_class(index: float) -> str:
    """Trophic class name of a TLI(Σ) value ('' for NaN)."""
    if not math.isfinite(index):
        return ""
    if index < TLI_CLASSES[0][0]:
        return TLI_CLASSES[0][1]
    for upper, name in TLI_CLASSES[1:]:
        if index <= upper:
            return name
    return TLI_CLASSES[-1][1]


def class_limits(pid: str, waterbody: str) -> tuple[tuple[float, ...] | None, str]:
    """GB 3838-2002 class I–V upper limits of a parameter at a kind of water body.

    Returns
    -------
    (limits or None, note)
        None when the standard sets no limit for this parameter and water body; the note
        says which table row applies or why none does.
    """
    p = PARAMETERS[pid]
    if p.gb3838_limits is None:
        return None, "no GB 3838 limit"
    if pid == "tp":
        if waterbody == "river":
            return GB3838_TP_RIVER, "GB 3838 TP limits for rivers"
        return p.gb3838_limits, "GB 3838 TP limits for lakes and reservoirs"
    if pid == "tn":
        if waterbody == "river":
            return None, "GB 3838 sets TN limits for lakes and reservoirs only"
        return p.gb3838_limits, "GB 3838 TN limits for lakes and reservoirs"
    return p.gb3838_limits, "GB 3838-2002 Table 1"


def gb_class(value: float, limits: tuple[float, ...] | None) -> str:
    """GB 3838 class (I … V, 'worse than V') of a value; '' when unknown or not applicable."""
    if limits is None or value is None or not math.isfinite(value):
        return ""
    for name, upper in zip(GB_CLASS_NAMES, limits, strict=False):
        if value <= upper:
            return name
    return GB_CLASS_NAMES[-1]
