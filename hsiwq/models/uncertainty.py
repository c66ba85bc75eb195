"""Prediction intervals calibrated on held-out data (normalised split-conformal).

A regional model predicts ln(value); :class:`ConformalInterval` turns its out-of-fold
(cross-validated) residuals r = ln y − ln ŷ into an interval

    ln ŷ ± q·σ̂(d),   σ̂(d) = exp(β₀ + β·d),

where d are a few difficulty covariates (the prediction itself, the physics misfit, the
distance to the training domain), β is fitted by least squares to ln|r|, and q is the
conformal quantile of |r|/σ̂ over the held-out residuals, with the finite-sample correction
⌈(n+1)·level⌉/n (Papadopoulos et al. 2002; Lei et al. 2018). The interval is calibrated on
data the model did not see, so its coverage holds on new data from the same region.

References
----------
.. [1] Papadopoulos, H., Proedrou, K., Vovk, V., Gammerman, A. (2002). Inductive confidence
   machines for regression. ECML 2002, LNCS 2430, 345–356.
.. [2] Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J., Wasserman, L. (2018).
   Distribution-free predictive inference for regression. J. Am. Stat. Assoc. 113,
   1094–1111.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted


class ConformalInterval(BaseEstimator):
    """Normalised conformal interval of a log-space regressor.

    Parameters
    ----------
    level : float
        Coverage of the central interval [-] (0.68 for a ±1σ-like interval).
    ridge : float
        Ridge penalty of the difficulty regression (keeps it tame with few matchups).

    Attributes
    ----------
    coef_ : ndarray
        β₀, β of σ̂.
    center_, scale_ : ndarray
        Standardisation of the difficulty covariates.
    q_ : float
        Conformal quantile of |r|/σ̂.
    """

    def __init__(self, level: float = 0.68, ridge: float = 1.0):
        self.level = level
        self.ridge = ridge

    def fit(self, residual, difficulty):
        """Calibrate on held-out log residuals (n,) and their difficulty covariates (n, k)."""
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must be within (0, 1), got {self.level}")
        r = np.asarray(residual, dtype=float)
        d = np.atleast_2d(np.asarray(difficulty, dtype=float).T).T
        ok = np.isfinite(r) & np.all(np.isfinite(d), axis=1)
        r, d = r[ok], d[ok]
        if r.size < 10:
            raise ValueError(f"need at least 10 held-out residuals, got {r.size}")
        self.center_ = d.mean(axis=0)
        self.scale_ = np.where(d.std(axis=0) > 0, d.std(axis=0), 1.0)
        z = np.column_stack([np.ones(r.size), (d - self.center_) / self.scale_])
        target = np.log(np.abs(r) + 1e-4)
        pen = self.ridge * np.eye(z.shape[1])
        pen[0, 0] = 0.0
        self.coef_ = np.linalg.solve(z.T @ z + pen, z.T @ target)
        score = np.abs(r) / self._sigma(d)
        k = min(int(np.ceil((r.size + 1) * self.level)), r.size)
        self.q_ = float(np.sort(score)[k - 1])
        self.n_calibration_ = int(r.size)
        return self

    def _sigma(self, d: np.ndarray) -> np.ndarray:
        z = np.column_stack([np.ones(d.shape[0]), (d - self.center_) / self.scale_])
        return np.exp(np.clip(z @ self.coef_, -12.0, 5.0))

    def half_width(self, difficulty) -> np.ndarray:
        """Half width of the interval in ln units (n,)."""
        check_is_fitted(self, "q_")
        d = np.atleast_2d(np.asarray(difficulty, dtype=float).T).T
        d = np.where(np.isfinite(d), d, self.center_)
        return self.q_ * self._sigma(d)
