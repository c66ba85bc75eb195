"""Convex blends of estimates in ln space, with weights learnt on held-out predictions.

Stacked generalisation (Wolpert 1992; Breiman 1996) restricted to a weighted mean: the
weights are non-negative and sum to one (a softmax of free parameters), and they minimise
the error of the blend on predictions made for data the blended models did not see (for the
global model: leave-one-country-out). The error is the absolute ln error — the figure
judged is the median symmetric accuracy (Morley et al. 2018) — averaged, when the rows come
in groups (water bodies, countries), within each group first: every water body counts the
same, however many samples it has. The loss stays convex in the weights (a mean of absolute
errors of a linear blend), unlike a mean of each group's log median error, which a column
exact in a single group can drive to minus infinity. A convex blend,
because with a few hundred rows per held-out group an unconstrained stack gives a poor
column a negative weight that does not transfer to the next water body.

A column missing for a row (a published algorithm with no valid value for that spectrum)
drops out of that row's blend; the other weights are renormalised.

References
----------
.. [1] Wolpert, D. H. (1992). Stacked generalization. Neural Networks 5(2), 241–259.
.. [2] Breiman, L. (1996). Stacked regressions. Machine Learning 24(1), 49–64.
.. [3] Morley, S. K., Brito, T. V., Welling, D. T. (2018). Measures of model performance
   based on the log accuracy ratio. Space Weather 16(1), 69–88.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def fit_weights(estimates: np.ndarray, target: np.ndarray, groups=None) -> np.ndarray:
    """Weights (k,) of the convex blend of ``estimates`` closest to ``target``.

    Parameters
    ----------
    estimates : ndarray
        (n, k) held-out ln estimates of k models; rows with a missing value are not used.
    target : ndarray
        (n,) true ln values.
    groups : ndarray, optional
        (n,) group of each row: minimise the mean over groups of each group's mean absolute
        error (every group counts the same); without groups, the mean absolute error.

    Returns
    -------
    ndarray
        (k,) weights ≥ 0 summing to 1; equal weights when fewer than 10 complete rows.
    """
    M = np.asarray(estimates, dtype=float)
    t = np.asarray(target, dtype=float)
    if M.ndim != 2 or t.shape != (M.shape[0],):
        raise ValueError(f"estimates must be (n, k) and target (n,), got {M.shape} and {t.shape}")
    k = M.shape[1]
    ok = np.all(np.isfinite(M), axis=1) & np.isfinite(t)
    if k == 1 or ok.sum() < 10:
        return np.full(k, 1.0 / k)
    M, t = M[ok], t[ok]
    row_weight = np.full(t.size, 1.0 / t.size)
    if groups is not None:  # each group's rows share 1 / n_groups
        _, index, counts = np.unique(np.asarray(groups)[ok], return_inverse=True, return_counts=True)
        row_weight = 1.0 / (counts.size * counts[index])

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum()

    def loss(z: np.ndarray) -> float:
        return float(np.sum(row_weight * np.abs(M @ softmax(z) - t)))

    res = minimize(loss, np.zeros(k), method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-7})
    return softmax(res.x)


def blend(estimates: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted mean of each row's finite estimates (weights renormalised over them).

    Parameters
    ----------
    estimates : ndarray
        (n, k) ln estimates.
    weights : ndarray
        (k,) non-negative weights.

    Returns
    -------
    ndarray
        (n,) blended ln estimates; NaN where no column with weight is finite.
    """
    M = np.asarray(estimates, dtype=float)
    w = np.asarray(weights, dtype=float)
    if M.ndim != 2 or w.shape != (M.shape[1],):
        raise ValueError(f"estimates must be (n, {w.size}), got {M.shape}")
    finite = np.isfinite(M)
    wf = np.where(finite, w, 0.0)
    total = wf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.where(finite, M, 0.0) * wf).sum(axis=1) / total, np.nan)
