"""Candidate regressors of a parameter, chosen per region by cross-validated MdSA.

Each candidate works on the stacked design matrix of a region model:

``[spectral features (n_base) | physics features (n_physics) | water-type memberships]``

and predicts ln(value). Templates are built by :func:`make_candidates` for the block sizes
of a region and cloned for every fit. The costly ones are bounded so that a region with
2,000 matchups calibrates in about a minute on two cores: the Gaussian process sees at most
``gp_max_rows`` training rows (a random subset), gradient boosting a reduced input (the
leading principal components of the spectral features plus the other blocks).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, WhiteKernel
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

#: Names of the candidates, in the order they are tried (and preferred on ties).
CANDIDATES = ("physics", "ridge-physics", "ridge", "pls", "gp", "hgb", "ensemble")
#: Members of the ``ensemble`` candidate (mean of their ln predictions).
ENSEMBLE_MEMBERS = ("ridge-physics", "gp", "hgb")
_ALPHAS = tuple(np.logspace(-3, 4, 15))
#: Most L-BFGS-B iterations of the Gaussian-process marginal-likelihood fit.
GP_MAX_ITER = 50


def bounded_lbfgs(obj_func, initial_theta, bounds):
    """L-BFGS-B with at most :data:`GP_MAX_ITER` iterations (a GP ``optimizer``).

    scikit-learn's default runs to convergence, which with a dozen ARD length scales on a
    flat likelihood can take a hundred times longer for no gain in accuracy.
    """
    res = minimize(obj_func, initial_theta, method="L-BFGS-B", jac=True, bounds=bounds,
                   options={"maxiter": GP_MAX_ITER})
    return res.x, res.fun


class SubsampledRegressor(RegressorMixin, BaseEstimator):
    """Fit ``estimator`` on at most ``max_rows`` random training rows (bounds O(n³) costs).

    Parameters
    ----------
    estimator : estimator
        Template, cloned at fit.
    max_rows : int
        Largest training set passed on.
    random_state : int
        Seed of the subset.
    """

    def __init__(self, estimator=None, max_rows: int = 300, random_state: int = 0):
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        rows = np.arange(X.shape[0])
        if rows.size > self.max_rows:
            rows = np.sort(np.random.default_rng(self.random_state).choice(rows, self.max_rows, replace=False))
        self.estimator_ = clone(self.estimator).fit(X[rows], y[rows])
        return self

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False)
        est = self.estimator_
        if isinstance(est, Pipeline) and isinstance(est[-1], GaussianProcessRegressor):
            Xt = est[:-1].transform(X) if len(est) > 1 else X
            return gp_mean(est[-1], Xt)
        return np.ravel(est.predict(X))


def gp_mean(gp: GaussianProcessRegressor, X: np.ndarray, block: int = 8192) -> np.ndarray:
    """Posterior mean of a fitted GP, K(X, X_train)·α (unnormalised), in blocks.

    For the kernel of :func:`make_candidates` — c₁·RBF(ℓ) + c₂·DotProduct(σ₀) + White — the
    kernel matrix is built directly (the white-noise term is zero between distinct points),
    several times faster than scikit-learn's generic kernel algebra on 10⁵ rows; any other
    kernel goes through ``gp.predict``.
    """
    k = gp.kernel_
    try:
        rbf_part, dot_part = k.k1.k1, k.k1.k2
        c1, rbf = rbf_part.k1.constant_value, rbf_part.k2
        c2, dot = dot_part.k1.constant_value, dot_part.k2
        ok = (isinstance(k.k2, WhiteKernel) and isinstance(rbf, RBF) and isinstance(dot, DotProduct)
              and isinstance(rbf_part.k1, ConstantKernel) and isinstance(dot_part.k1, ConstantKernel))
    except AttributeError:
        ok = False
    if not ok:
        return np.concatenate([np.ravel(gp.predict(X[i:i + block])) for i in range(0, X.shape[0], block)]) \
            if X.shape[0] else np.zeros(0)
    ls = np.asarray(rbf.length_scale, dtype=float)
    T = gp.X_train_
    Ts = T / ls
    t2 = np.einsum("ij,ij->i", Ts, Ts)
    alpha = np.ravel(gp.alpha_)
    # the RBF part in single precision (its weights are tiny differences of distances only
    # far from the data); the linear part, which extrapolates, in double
    Ts32, t2_32 = Ts.astype(np.float32), t2.astype(np.float32)
    lin = T.T @ alpha  # Σ_j α_j·t_j
    out = np.empty(X.shape[0])
    for i in range(0, X.shape[0], block):
        x = X[i:i + block]
        xs = (x / ls).astype(np.float32)
        d2 = np.einsum("ij,ij->i", xs, xs)[:, None] + t2_32[None, :] - 2.0 * (xs @ Ts32.T)
        np.maximum(d2, 0.0, out=d2)
        d2 *= -0.5
        np.exp(d2, out=d2)
        out[i:i + block] = c1 * (d2 @ alpha.astype(np.float32)) + c2 * (dot.sigma_0**2 * alpha.sum() + x @ lin)
    return np.ravel(gp._y_train_std) * out + np.ravel(gp._y_train_mean)


class PhysicsColumn(RegressorMixin, BaseEstimator):
    """The physics stage's own estimate of a parameter, with its median bias removed.

    ln ŷ = X[:, column] + b, b = median(ln y − X[:, column]): one number learned, so its
    cross-validated error is an honest measure of the physics alone.

    Parameters
    ----------
    column : int
        Index of the physics feature (ln of the parameter) in the design matrix.
    """

    def __init__(self, column: int = 0):
        self.column = column

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        self.bias_ = float(np.median(y - X[:, self.column]))
        return self

    def predict(self, X):
        check_is_fitted(self, "bias_")
        X = validate_data(self, X, reset=False)
        return X[:, self.column] + self.bias_


class MeanRegressor(RegressorMixin, BaseEstimator):
    """Mean of the predictions of several regressors (fitted independently).

    Parameters
    ----------
    estimators : list of (str, estimator)
        Named templates.
    """

    def __init__(self, estimators=None):
        self.estimators = estimators

    def fit(self, X, y):
        if not self.estimators:
            raise ValueError("MeanRegressor needs estimators")
        X, y = validate_data(self, X, y, y_numeric=True)
        self.estimators_ = [clone(e).fit(X, y) for _, e in self.estimators]
        return self

    def predict(self, X):
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False)
        return np.mean([np.ravel(e.predict(X)) for e in self.estimators_], axis=0)


def make_candidates(n_base: int, n_extra: int, *, n_physics: int | None = None, gp_max_rows: int = 300,
                    hgb_components: int = 12, pls_components: int = 10,
                    random_state: int = 0) -> dict[str, BaseEstimator]:
    """Candidate templates for a design matrix of ``n_base`` spectral and ``n_extra`` other columns.

    Parameters
    ----------
    n_base : int
        Number of spectral feature columns (first).
    n_extra : int
        Number of physics and water-type columns (after them).
    n_physics : int, optional
        How many of the extra columns (the first ones) are physics features; the Gaussian
        process sees only those besides the spectral components (default: all extras).
    gp_max_rows : int
        Training rows of the Gaussian process at most.
    hgb_components : int
        Principal components of the spectral features given to gradient boosting.
    pls_components : int
        PLS components.
    random_state : int
        Seed.

    Returns
    -------
    dict of str to estimator
        By candidate name (:data:`CANDIDATES`); ``ridge-physics`` and ``gp`` only when there
        are extra columns.
    """
    base = list(range(n_base))
    extra = list(range(n_base, n_base + n_extra))
    out: dict[str, BaseEstimator] = {
        "ridge": make_pipeline(StandardScaler(), RidgeCV(alphas=_ALPHAS)),
        "pls": make_pipeline(StandardScaler(), PLSRegression(n_components=min(pls_components, n_base + n_extra))),
    }
    n_pca = min(6, n_base)
    if n_extra:
        out["ridge-physics"] = make_pipeline(
            ColumnTransformer([("extra", StandardScaler(), extra)]), RidgeCV(alphas=_ALPHAS))
    gp_extra = extra if n_physics is None else extra[:n_physics]
    kernel = (ConstantKernel(1.0) * RBF(length_scale=np.full(n_pca + len(gp_extra), 3.0))
              + ConstantKernel(0.1) * DotProduct(sigma_0=1.0) + WhiteKernel(0.01))
    blocks = [("base", make_pipeline(StandardScaler(), PCA(n_pca, whiten=True, random_state=random_state)), base)]
    if gp_extra:
        blocks.append(("extra", StandardScaler(), gp_extra))
    out["gp"] = SubsampledRegressor(
        make_pipeline(ColumnTransformer(blocks),
                      GaussianProcessRegressor(kernel, optimizer=bounded_lbfgs, normalize_y=True,
                                               random_state=random_state)),
        max_rows=gp_max_rows, random_state=random_state)
    hgb_blocks = [("base", make_pipeline(StandardScaler(), PCA(min(hgb_components, n_base), random_state=random_state)), base)]
    if n_extra:
        hgb_blocks.append(("extra", "passthrough", extra))
    out["hgb"] = make_pipeline(
        ColumnTransformer(hgb_blocks),
        HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                      min_samples_leaf=8, l2_regularization=1.0,
                                      early_stopping=False, random_state=random_state))
    out["ensemble"] = MeanRegressor([(k, out[k]) for k in ENSEMBLE_MEMBERS if k in out])
    return {k: out[k] for k in CANDIDATES if k in out}
