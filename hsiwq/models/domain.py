"""The training domain of a regional model, and out-of-domain flags.

A spectrum is **out of domain** when its features lie where the model saw no training
spectra, so that a reservoir model is never silently applied to a turbid river. The test is
the usual pair of multivariate process-monitoring statistics on a principal-component model
of the standardised features (Jackson & Mudholkar 1979; MacGregor & Kourti 1995):

- Hotelling's T² of the component scores (far along the directions the data span), and
- Q, the squared residual off the component subspace (a direction the data never took);
- optionally a misfit of each spectrum to the region's physics (the χ² of the MAP inversion
  with the region's SIOPs): a spectrum of another water body is seldom explained by them.

Each statistic is computed for held-out training spectra (cross-validation folds: each
scored by a PCA fitted without it) and gets a threshold robust to the odd extreme training
spectrum: exp(median + ``z``·1.4826·MAD) of its logarithm, but never below its ``quantile``
over the held-out spectra. A spectrum is out of domain when any statistic exceeds its
threshold; the false-flag rate on the model's own region stays at a few per cent, while the
spectra of another water body lie tens to thousands of times beyond.

References
----------
.. [1] Jackson, J. E., Mudholkar, G. S. (1979). Control procedures for residuals associated
   with principal component analysis. Technometrics 21(3), 341–349.
.. [2] MacGregor, J. F., Kourti, T. (1995). Statistical process control of multivariate
   processes. Control Eng. Pract. 3(3), 403–414.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.model_selection import GroupKFold, KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted


def _stats(scaler: StandardScaler, pca: PCA, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zc = (X - scaler.mean_) / scaler.scale_ - pca.mean_
    t = zc @ pca.components_.T
    t2 = np.sum(t**2 / pca.explained_variance_, axis=1)
    # |residual|² = |z|² − |t|² for orthonormal components (no back-projection needed)
    q = np.maximum(np.einsum("ij,ij->i", zc, zc) - np.einsum("ij,ij->i", t, t), 0.0)
    return t2, q


class DomainModel(BaseEstimator):
    """PCA-based applicability domain with a held-out-calibrated threshold.

    Parameters
    ----------
    variance : float
        Share of the standardised feature variance the components keep [-].
    max_components : int
        Most components.
    quantile : float
        Least quantile of the held-out values each threshold covers [-].
    z : float
        Robust standard deviations (of the logarithm) from the held-out median to a
        threshold [-].
    n_splits : int
        Folds used to score held-out spectra.
    random_state : int
        Seed of the folds (when no groups are given).

    Attributes
    ----------
    threshold_ : float
        Combined score (each statistic divided by its threshold, the largest kept) above
        which a spectrum is out of domain (1).
    """

    def __init__(self, variance: float = 0.999, max_components: int = 20, quantile: float = 0.98,
                 z: float = 3.0, n_splits: int = 5, random_state: int = 0):
        self.variance = variance
        self.max_components = max_components
        self.quantile = quantile
        self.z = z
        self.n_splits = n_splits
        self.random_state = random_state

    def _fit_pca(self, X: np.ndarray) -> tuple[StandardScaler, PCA]:
        scaler = StandardScaler().fit(X)
        z = scaler.transform(X)
        full = PCA(n_components=min(self.max_components, *z.shape), random_state=self.random_state).fit(z)
        k = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), self.variance) + 1)
        k = max(1, min(k, full.n_components_, z.shape[0] - 2))
        return scaler, PCA(n_components=k, random_state=self.random_state).fit(z)

    def fit(self, X, y=None, groups=None, misfit=None):
        """Learn the domain of training features ``X`` (n, n_features).

        ``misfit`` (n,), optional: held-out physics misfit of each training spectrum (≥ 0);
        when given, :meth:`score` and :meth:`flag` need it too.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[0] < 10 or not np.all(np.isfinite(X)):
            raise ValueError("DomainModel needs at least 10 rows of finite features")
        n_groups = X.shape[0] if groups is None else np.unique(groups).size
        splits = min(self.n_splits, n_groups)
        cv = (GroupKFold(splits) if groups is not None
              else KFold(splits, shuffle=True, random_state=self.random_state))
        held_t2 = np.empty(X.shape[0])
        held_q = np.empty(X.shape[0])
        for train, test in cv.split(X, groups=groups):
            scaler, pca = self._fit_pca(X[train])
            held_t2[test], held_q[test] = _stats(scaler, pca, X[test])
        self.scaler_, self.pca_ = self._fit_pca(X)
        self.t2_threshold_ = self._threshold(held_t2)
        self.q_threshold_ = self._threshold(held_q)
        self.misfit_threshold_ = None
        if misfit is not None:
            self.misfit_threshold_ = self._threshold(np.asarray(misfit, dtype=float))
        self.threshold_ = 1.0
        self.n_features_in_ = X.shape[1]
        return self

    def _threshold(self, values: np.ndarray) -> float:
        v = values[np.isfinite(values) & (values > 0)]
        if v.size < 5:
            return float(np.max(v)) if v.size else 1.0
        lv = np.log(v)
        med = np.median(lv)
        robust = float(np.exp(med + self.z * 1.4826 * np.median(np.abs(lv - med))))
        return max(robust, float(np.quantile(v, self.quantile)))

    def score(self, X, misfit=None) -> np.ndarray:  # noqa: D102 - not sklearn's score
        """Combined distance to the domain [-] (> ``threshold_`` is out of domain)."""
        check_is_fitted(self, "threshold_")
        X = np.asarray(X, dtype=float)
        finite = np.all(np.isfinite(X), axis=1)
        t2, q = _stats(self.scaler_, self.pca_, np.where(finite[:, None], X, 0.0))
        out = np.maximum(t2 / self.t2_threshold_, q / self.q_threshold_)
        if self.misfit_threshold_ is not None:
            if misfit is None:
                raise ValueError("this domain was fitted with a physics misfit: pass misfit=")
            m = np.asarray(misfit, dtype=float)
            out = np.maximum(out, np.where(np.isfinite(m), m / self.misfit_threshold_, np.inf))
        return np.where(finite, out, np.inf)

    def flag(self, X, misfit=None) -> np.ndarray:
        """1 where a spectrum is out of the domain, else 0 (int8)."""
        return (self.score(X, misfit) > self.threshold_).astype(np.int8)
