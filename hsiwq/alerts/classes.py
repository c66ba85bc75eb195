"""Water-quality classes used by alert rules: GB 3838-2002, China's TLI(Σ), WHO bloom levels.

Pure functions on floats or numpy arrays. They live here until ``hsiwq.indicators`` offers
the same; the alert rules only use the names exported below.

References
----------
.. [1] GB 3838-2002, Environmental quality standards for surface water, Table 1 (China).
.. [2] Jin X., Tu Q. (1990). The standard methods for observation and analysis in lake
   eutrophication (2nd ed.). China Environmental Science Press; Wang M. et al. (2002),
   TLI(Σ) weights after the correlation of each parameter with chlorophyll-a.
.. [3] Chorus I., Bartram J. (eds.) (1999). Toxic cyanobacteria in water. WHO/E & FN Spon;
   WHO (2003). Guidelines for safe recreational water environments, vol. 1, ch. 8;
   Chorus I., Welker M. (eds.) (2021). Toxic cyanobacteria in water, 2nd ed. CRC Press / WHO.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..params import GB3838_TP_RIVER, PARAMETERS

#: GB 3838 class names, index 1…6 (6 is "worse than V", 劣V类).
GB3838_CLASSES: tuple[str, ...] = ("", "I", "II", "III", "IV", "V", "worse than V")
GB3838_CLASSES_ZH: tuple[str, ...] = ("", "Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类")


def gb3838_limits(param: str, waterbody: str) -> tuple[float, ...] | None:
    """GB 3838-2002 upper limits of classes I–V of a parameter for a kind of water body.

    Total phosphorus has separate limits for rivers and for lakes/reservoirs; total
    nitrogen is assessed only in lakes and reservoirs (None for rivers).
    """
    if param == "tp" and waterbody == "river":
        return GB3838_TP_RIVER
    if param == "tn" and waterbody == "river":
        return None
    p = PARAMETERS.get(param)
    return p.gb3838_limits if p is not None else None


def gb3838_class(value: float, limits: tuple[float, ...]) -> int:
    """Class 1 (I) … 5 (V), or 6 (worse than V), of a value under the given limits."""
    for k, limit in enumerate(limits, start=1):
        if value <= limit:
            return k
    return len(limits) + 1


def class_number(name: str | int) -> int:
    """1…5 from a class given as ``"III"``, ``"3"`` or ``3``."""
    if isinstance(name, int):
        return name
    roman = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
    return roman[name] if name in roman else int(name)


# --- TLI(Σ) -------------------------------------------------------------------------------
#: Correlation r_j of each TLI parameter with chlorophyll-a (the weights are r_j² / Σ r²).
TLI_R: dict[str, float] = {"chl_a": 1.0, "tp": 0.84, "tn": 0.82, "secchi": -0.83, "cod_mn": 0.83}
#: Upper bounds of the trophic classes (the last is open).
TLI_BOUNDS: tuple[float, ...] = (30.0, 50.0, 60.0, 70.0)
TLI_CLASSES: tuple[str, ...] = ("", "oligotrophic", "mesotrophic", "light_eutrophic",
                                "middle_eutrophic", "hyper_eutrophic")
TLI_CLASSES_ZH: tuple[str, ...] = ("", "贫营养", "中营养", "轻度富营养", "中度富营养", "重度富营养")


def tli_component(param: str, value):
    """TLI of one parameter (chl in mg/m³ = µg/L, SD in m, TP/TN/COD_Mn in mg/L)."""
    v = np.log(np.asarray(value, dtype=float))
    coef = {"chl_a": (2.5, 1.086), "tp": (9.436, 1.624), "tn": (5.453, 1.694),
            "secchi": (5.118, -1.94), "cod_mn": (0.109, 2.661)}[param]
    return 10.0 * (coef[0] + coef[1] * v)


def tli(values: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """TLI(Σ) from the parameters available (weights renormalised over them).

    Parameters
    ----------
    values : mapping
        Values by parameter id; non-finite or non-positive ones are left out.

    Returns
    -------
    (float, dict)
        TLI(Σ) (NaN without a usable chlorophyll-a) and the components used.
    """
    comps = {p: float(tli_component(p, v)) for p, v in values.items()
             if p in TLI_R and v is not None and math.isfinite(v) and v > 0}
    if "chl_a" not in comps:
        return math.nan, {}
    w = {p: TLI_R[p] ** 2 for p in comps}
    total = sum(w.values())
    return sum(w[p] / total * comps[p] for p in comps), comps


def tli_series(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """TLI(Σ) per row of arrays by parameter (NaN entries are left out row by row)."""
    n = len(next(iter(columns.values())))
    num, den = np.zeros(n), np.zeros(n)
    for p, col in columns.items():
        col = np.asarray(col, dtype=float)
        ok = np.isfinite(col) & (col > 0)
        comp = np.where(ok, tli_component(p, np.where(ok, col, 1.0)), 0.0)
        num += np.where(ok, TLI_R[p] ** 2 * comp, 0.0)
        den += np.where(ok, TLI_R[p] ** 2, 0.0)
    chl = np.asarray(columns.get("chl_a", np.full(n, np.nan)), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(chl) & (chl > 0), num / den, np.nan)


def tli_class(value: float) -> int:
    """1 oligotrophic (<30), 2 mesotrophic (30–50), 3 light (50–60], 4 middle (60–70],
    5 hyper-eutrophic (>70)."""
    if value < TLI_BOUNDS[0]:
        return 1
    for k, bound in enumerate(TLI_BOUNDS[1:], start=2):
        if value <= bound:
            return k
    return 5


# --- WHO cyanobacteria alert levels on chlorophyll-a ---------------------------------------
#: Preset → ((chl-a threshold µg/L, English name, Chinese name, severity), ...), lowest first.
#: Chlorophyll-a equivalents assume cyanobacterial dominance.
WHO_PRESETS: dict[str, tuple[tuple[float, str, str, str], ...]] = {
    # Chorus & Welker 2021, recreational alert levels framework (biovolume 4 / 8 mm³/L).
    "recreational-2021": ((12.0, "WHO alert level 1", "WHO一级预警", "warning"),
                          (24.0, "WHO alert level 2", "WHO二级预警", "critical")),
    # Chorus & Welker 2021, drinking-water alert levels framework (0.3 / 4 mm³/L).
    "drinking-2021": ((1.0, "WHO alert level 1", "WHO一级预警", "warning"),
                      (12.0, "WHO alert level 2", "WHO二级预警", "critical")),
    # WHO 2003 recreational guidance: relatively low / moderate probability of effects.
    "recreational-2003": ((10.0, "WHO low probability of adverse health effects", "WHO低健康风险", "warning"),
                          (50.0, "WHO moderate probability of adverse health effects", "WHO中等健康风险",
                           "critical")),
    # Chorus & Bartram 1999, drinking-water alert levels framework.
    "drinking-1999": ((1.0, "WHO alert level 1", "WHO一级预警", "warning"),
                      (50.0, "WHO alert level 2", "WHO二级预警", "critical")),
}


# --- daylight ------------------------------------------------------------------------------
def sun_zenith_deg(unix_s: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Approximate solar zenith [deg] (NOAA low-precision formulae, ±0.5°), vectorised.

    Good enough to tell day from night for data-gap rules; the radiometry uses NREL SPA.
    """
    t = np.asarray(unix_s, dtype=float)
    days = t / 86400.0 + 2440587.5 - 2451545.0  # days since J2000.0
    g = np.radians((357.529 + 0.98560028 * days) % 360)
    q = (280.459 + 0.98564736 * days) % 360
    ecl_lon = np.radians(q + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    eps = np.radians(23.439 - 0.00000036 * days)
    decl = np.arcsin(np.sin(eps) * np.sin(ecl_lon))
    ra = np.degrees(np.arctan2(np.cos(eps) * np.sin(ecl_lon), np.cos(ecl_lon))) % 360
    gmst = (280.46061837 + 360.98564736629 * days) % 360
    hour_angle = np.radians(gmst + lon - ra)
    phi = np.radians(lat)
    cos_z = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour_angle)
    return np.degrees(np.arccos(np.clip(cos_z, -1.0, 1.0)))


def daylight_minutes(start_s: float, end_s: float, lat: float, lon: float,
                     max_zenith_deg: float, step_s: float = 120.0) -> float:
    """Minutes between two times during which the sun is at most ``max_zenith_deg`` from
    the zenith (sampled every ``step_s``)."""
    if end_s <= start_s:
        return 0.0
    n = int(math.ceil((end_s - start_s) / step_s))
    mids = start_s + (np.arange(n) + 0.5) * step_s
    widths = np.minimum(step_s, end_s - (start_s + np.arange(n) * step_s))
    day = sun_zenith_deg(mids, lat, lon) <= max_zenith_deg
    return float(widths[day].sum() / 60.0)
