"""Accuracy metrics of retrievals against lab values.

After Morley et al. (2018) and Pahlevan et al. (2020) (docs/models.md, overview): the median symmetric
accuracy (MdSA) and the signed symmetric percentage bias (SSPB) work on the log ratio
ln(ŷ/y), so that over- and under-estimation by the same factor count the same. R² and RMSE
are reported in log10 space, as usual for quantities spanning decades.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _log_ratio(y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p) & (t > 0) & (p > 0)
    return np.log(p[ok] / t[ok])


def mdsa(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Median symmetric accuracy, 100·(exp(median|ln(ŷ/y)|) − 1) [%].

    Pairs where either value is missing or not positive are ignored; NaN when none is left.

    References
    ----------
    .. [1] Morley, S. K., Brito, T. V., Welling, D. T. (2018). Measures of model performance
       based on the log accuracy ratio. Space Weather 16, 69–88.
    .. [2] Pahlevan, N., Smith, B., Schalles, J., et al. (2020). Seamless retrievals of
       chlorophyll-a from Sentinel-2 (MSI) and Sentinel-3 (OLCI) in inland and coastal waters:
       A machine-learning approach. Remote Sens. Environ. 240, 111604.
    """
    q = _log_ratio(y_true, y_pred)
    return float(100.0 * (np.exp(np.median(np.abs(q))) - 1.0)) if q.size else float("nan")


def sspb(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Signed symmetric percentage bias, 100·sign(M)·(exp|M| − 1), M = median ln(ŷ/y) [%].

    References
    ----------
    .. [1] Morley, S. K., Brito, T. V., Welling, D. T. (2018). Space Weather 16, 69–88.
    """
    q = _log_ratio(y_true, y_pred)
    if not q.size:
        return float("nan")
    m = float(np.median(q))
    return float(100.0 * np.sign(m) * (np.exp(abs(m)) - 1.0))


def r2_log(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination of log10 values [-]."""
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p) & (t > 0) & (p > 0)
    if ok.sum() < 2:
        return float("nan")
    lt, lp = np.log10(t[ok]), np.log10(p[ok])
    ss_tot = float(np.sum((lt - lt.mean()) ** 2))
    return float(1.0 - np.sum((lt - lp) ** 2) / ss_tot) if ss_tot > 0 else float("nan")


def rmse_log(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root-mean-square difference of log10 values [decades]."""
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p) & (t > 0) & (p > 0)
    return float(np.sqrt(np.mean((np.log10(p[ok]) - np.log10(t[ok])) ** 2))) if ok.any() else float("nan")


def summary(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """MdSA [%], SSPB [%], R² (log10) [-], RMSE (log10) [decades] and n of valid pairs."""
    return {"mdsa": mdsa(y_true, y_pred), "sspb": sspb(y_true, y_pred),
            "r2": r2_log(y_true, y_pred), "rmse": rmse_log(y_true, y_pred),
            "n": int(_log_ratio(y_true, y_pred).size)}
