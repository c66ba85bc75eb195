"""Water-quality classes as alert rules name them: GB 3838-2002, China's TLI(Σ), WHO bloom levels.

The science is :mod:`hsiwq.indicators` (TLI(Σ), trophic classes, GB 3838 limits and classes)
and :func:`hsiwq.radiometry.sun.solar_zenith` (NREL SPA through pvlib); this module adds the
names alert rules and messages use (English and Chinese), scalar forms for one record, the
WHO presets and the daylight clock of data-gap rules.

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

from .. import indicators
from ..indicators import TLI_CORRELATION as TLI_R
from ..indicators import TROPHIC_BOUNDS as TLI_BOUNDS  # noqa: F401  (re-exported for the rules)
from ..params import PARAMETERS
from ..radiometry.sun import solar_zenith

#: GB 3838 class names, index 1…6 (6 is "worse than V", 劣V类).
GB3838_CLASSES: tuple[str, ...] = ("", "I", "II", "III", "IV", "V", "worse than V")
GB3838_CLASSES_ZH: tuple[str, ...] = ("", "Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类")


def gb3838_limits(param: str, waterbody: str) -> tuple[float, ...] | None:
    """GB 3838-2002 upper limits of classes I–V of a parameter for a kind of water body
    (:func:`hsiwq.indicators.gb3838_limits`; None also for ids outside the catalogue)."""
    return indicators.gb3838_limits(param, waterbody) if param in PARAMETERS else None


def gb3838_class(value: float, limits: tuple[float, ...]) -> int:
    """Class 1 (I) … 5 (V), or 6 (worse than V), of a value under the given limits."""
    return int(indicators.class_under_limits(value, limits))


def class_number(name: str | int) -> int:
    """1…5 from a class given as ``"III"``, ``"3"`` or ``3``."""
    if isinstance(name, int):
        return name
    roman = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
    return roman[name] if name in roman else int(name)


# --- TLI(Σ) -------------------------------------------------------------------------------
#: Trophic classes as alert rules name them (index = class number, 0: none).
TLI_CLASSES: tuple[str, ...] = ("", "oligotrophic", "mesotrophic", "light_eutrophic",
                                "middle_eutrophic", "hyper_eutrophic")
TLI_CLASSES_ZH: tuple[str, ...] = ("", "贫营养", "中营养", "轻度富营养", "中度富营养", "重度富营养")


def tli(values: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """TLI(Σ) of one record from the parameters available (weights renormalised over them).

    Parameters
    ----------
    values : mapping
        Values by parameter id; non-finite or non-positive ones are left out.

    Returns
    -------
    (float, dict)
        TLI(Σ) (NaN without a usable chlorophyll-a) and the components used.
    """
    comps = {p: float(indicators.tli_component(p, v)) for p, v in values.items()
             if p in TLI_R and v is not None}
    comps = {p: c for p, c in comps.items() if math.isfinite(c)}
    if "chl_a" not in comps:
        return math.nan, {}
    return float(indicators.tli({p: values[p] for p in comps})), comps


def tli_series(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """TLI(Σ) per row of arrays by parameter (NaN entries are left out row by row; NaN
    without chlorophyll-a)."""
    cols = {p: np.asarray(c, dtype=float) for p, c in columns.items() if p in TLI_R}
    if "chl_a" not in cols:
        n = len(next(iter(columns.values()))) if columns else 0
        return np.full(n, np.nan)
    return indicators.tli(cols)


def tli_class(value: float) -> int:
    """1 oligotrophic (<30), 2 mesotrophic (30–50), 3 light (50–60], 4 middle (60–70],
    5 hyper-eutrophic (>70) (:func:`hsiwq.indicators.trophic_class_index`)."""
    return int(indicators.trophic_class_index(value))


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
    """Apparent solar zenith [deg] at times [s since 1970 UTC] (NREL SPA through pvlib,
    :func:`hsiwq.radiometry.sun.solar_zenith`), vectorised."""
    return solar_zenith(unix_s, lat, lon)


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
