"""Convex blends of estimates in ln space, with weights learnt on held-out predictions.

Stacked generalisation (Wolpert 1992; Breiman 1996) restricted to a weighted mean: the
weights are non-negative and sum to one (a softmax of free parameters), and they minimise
the mean absolute ln error of the blend on predictions made for data the blended models did
not see (for the global model: leave-one-country-out). Least absolute error, because the
figure judged is the median symmetric accuracy; a convex blend, because with a few hundred
rows per held-out group an unconstrained stack gives a poor column a negative weight that
does not transfer to the next water body.

A column missing for a row (a published algorithm with no valid value for that spectrum)
drops out of that row's blend; the other weights are renormalised.

References
----------
.. [1] Wolpert, D. H. (1992). Stacked generalization. Neural Networks 5(2), 241–259.
.. [2] Breiman, L. (1996). Stacked regressions. Machine Learning 24(1), 49–64.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize


def fit_weights(estimates: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights (k,) of the convex blend of ``estimates`` closest to ``target`` in mean
    absolute error.

    Parameters
    ----------
    estimates : ndarray
        (n, k) held-out ln estimates of k models; rows with a missing value are not used.
    target : ndarray
        (n,) true ln values.

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

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum()

    res = minimize(lambda z: float(np.mean(np.abs(M @ softmax(z) - t))), np.zeros(k), method="Nelder-Mead",
                   options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-7})
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
