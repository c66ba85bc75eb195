"""Trophic state (China's TLI) and GB 3838-2002 classes, as the report shows them.

The formulas live in :mod:`hsiwq.indicators` (shared with the alert rules); this module adds
what a report needs on top: TLI series with the number of components each value used,
display names, and a note saying which GB 3838 limits apply to a parameter at a kind of
water body.

References
----------
- GB 3838-2002, *Environmental quality standards for surface water*, Table 1 (class limits).
- Jin X., Tu Q. (1990); Wang M. et al. (2002): TLI(Σ), weights r_j²/Σr² with r = 1 (chl-a),
  0.84 (TP), 0.82 (TN), −0.83 (SD), 0.83 (COD_Mn); classes <30, 30–50, (50, 60], (60, 70], >70.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import indicators
from ..indicators import GB3838_CLASSES as GB_CLASS_NAMES
from ..indicators import TLI_CORRELATION, TROPHIC_BOUNDS, TROPHIC_CLASSES
from ..params import PARAMETERS

#: Parameters of TLI(Σ), chlorophyll-a (the reference) first.
TLI_PARAMS: tuple[str, ...] = tuple(TLI_CORRELATION)
#: Trophic classes by TLI(Σ): (upper bound, name); the bounds above 30 are inclusive.
TLI_CLASSES: tuple[tuple[float, str], ...] = tuple(zip(
    (*TROPHIC_BOUNDS, math.inf), TROPHIC_CLASSES, strict=True))


def tli(values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """China's comprehensive trophic level index TLI(Σ) of each acquisition.

    Each acquisition uses the components it has (finite, positive ``chl_a``, ``tp``, ``tn``,
    ``secchi``, ``cod_mn``), the weights renormalised over them; chlorophyll-a, the
    reference of the weights, is required.

    Parameters
    ----------
    values : mapping of str to ndarray
        Parameter series in catalogue units (same length); other ids are ignored.

    Returns
    -------
    index : ndarray
        TLI(Σ), NaN where chlorophyll-a is not available.
    n_components : ndarray of int
        How many components each value used (0 where the index is NaN).
    """
    cols = {p: np.asarray(values[p], dtype=float) for p in TLI_PARAMS if p in values}
    if "chl_a" not in cols:
        n = max((np.asarray(v).size for v in values.values()), default=0)
        return np.full(n, np.nan), np.zeros(n, dtype=int)
    index = indicators.tli(cols)
    count = sum(np.isfinite(indicators.tli_component(p, c)).astype(int) for p, c in cols.items())
    return index, np.where(np.isfinite(index), count, 0)


def tli_class(index: float) -> str:
    """Trophic class name of a TLI(Σ) value ('' for NaN)."""
    if not math.isfinite(index):
        return ""
    return TROPHIC_CLASSES[int(indicators.trophic_class_index(index)) - 1]


def class_limits(pid: str, waterbody: str) -> tuple[tuple[float, ...] | None, str]:
    """GB 3838-2002 class I–V upper limits of a parameter at a kind of water body.

    Returns
    -------
    (limits or None, note)
        None when the standard sets no limit for this parameter and water body; the note
        says which limits apply or why none do.
    """
    limits = indicators.gb3838_limits(pid, waterbody) if pid in PARAMETERS else None
    if pid == "tp":
        note = "GB 3838 TP limits for " + ("rivers" if waterbody == "river" else "lakes and reservoirs")
    elif pid == "tn":
        note = ("GB 3838 sets TN limits for lakes and reservoirs only" if limits is None
                else "GB 3838 TN limits for lakes and reservoirs")
    else:
        note = "GB 3838-2002 Table 1" if limits is not None else "no GB 3838 limit"
    return limits, note


def gb_class(value: float, limits: tuple[float, ...] | None) -> str:
    """GB 3838 class (I … V, 'worse than V') of a value; '' when unknown or not applicable."""
    if limits is None or value is None or not math.isfinite(value):
        return ""
    k = int(indicators.class_under_limits(value, limits))
    return GB_CLASS_NAMES[k - 1] if k else ""
