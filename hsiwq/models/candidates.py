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
from scipy import sparse
from scipy.optimize import linprog, minimize
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, WhiteKernel
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from .gp import GaussianProcess

#: Names of the candidates, in the order they are tried (and preferred on ties).
CANDIDATES = ("physics", "posterior", "global", "ridge-conc", "ridge-physics", "ridge", "pls", "pls-logd", "pls-l",
              "gp", "hgb", "hgb-l", "hgb-pool",
              "ensemble", "stack")
#: How many physics columns (the first ones) are ln concentrations (Chl-a, PC, TSS, CDOM),
#: the inputs of ``ridge-conc``.
N_CONCENTRATIONS = 4
#: Members of the ``ensemble`` candidate (mean of their ln predictions).
ENSEMBLE_MEMBERS = ("ridge-physics", "gp", "hgb")
#: Candidates made by combining the others' cross-validated predictions (no template of their own).
COMBINED = ("ensemble", "stack")
_ALPHAS = tuple(np.logspace(-3, 4, 15))
#: About how many log-reflectance columns ``hgb-l`` sees (evenly spaced on the grid).
HGB_LEVELS = 25
#: Most L-BFGS-B iterations of the Gaussian-process marginal-likelihood fit.
GP_MAX_ITER = 50


#: A column whose training standard deviation is below this share of its magnitude
#: (1 + max |x|) is constant for the scalers of the candidates (:class:`StableScaler`).
CONSTANT_TOLERANCE = 1e-4


class StableScaler(StandardScaler):
    """Standardisation that treats a nearly constant column as constant.

    :class:`~sklearn.preprocessing.StandardScaler` divides by the training standard
    deviation. A column constant up to round-off in the training rows — the membership of
    an optical water type that no training spectrum belongs to (≈ 1e-10), as in a
    cross-validation fold whose held-out campaign is the only water of its type — is then
    divided by ≈ 1e-10, a held-out spectrum of that type lies 1e10 standard deviations out,
    and a linear model's ln prediction reaches 1e7. Here a column whose standard deviation
    is below ``tolerance`` · (1 + max |x|) keeps the scale 1 (it is centred only), as
    StandardScaler does with exactly constant columns. The transform stays affine.

    Parameters
    ----------
    tolerance : float
        Relative spread below which a column is constant [-].
    copy, with_mean, with_std : bool
        As for StandardScaler.
    """

    def __init__(self, *, tolerance: float = CONSTANT_TOLERANCE, copy: bool = True,
                 with_mean: bool = True, with_std: bool = True):
        super().__init__(copy=copy, with_mean=with_mean, with_std=with_std)
        self.tolerance = tolerance

    def fit(self, X, y=None, sample_weight=None):
        if not self.tolerance >= 0:  # scikit-learn's own checks cover the other parameters
            raise ValueError(f"StableScaler(tolerance={self.tolerance!r}): use a share >= 0")
        super().fit(X, y, sample_weight=sample_weight)
        if self.scale_ is not None:
            magnitude = 1.0 + np.nanmax(np.abs(np.asarray(X, dtype=float)), axis=0)
            self.scale_ = np.where(np.sqrt(self.var_) < self.tolerance * magnitude, 1.0, self.scale_)
        return self


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


def _is_affine(est) -> bool:
    """Whether a fitted candidate is an affine function of its input by construction
    (scalers / column selection followed by ridge or PLS, or the physics column)."""
    if isinstance(est, (PhysicsColumn, ComponentSelectedPLS)):
        return True
    if not isinstance(est, Pipeline) or not isinstance(est[-1], (RidgeCV, PLSRegression)):
        return False
    for step in est[:-1]:
        if isinstance(step, ColumnTransformer):
            if not all(t in ("drop", "passthrough") or isinstance(t, StandardScaler)
                       for _, t, _ in step.transformers_):
                return False
        elif not isinstance(step, StandardScaler):
            return False
    return True


def _affine_form(est, n_features: int, probe: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(c, b) with est.predict(X) = X·c + b, from its predictions at 0 and the unit vectors,
    checked on ``probe`` rows; None when ``est`` is not affine."""
    if not _is_affine(est):
        return None
    b = float(np.ravel(est.predict(np.zeros((1, n_features))))[0])
    c = np.ravel(est.predict(np.eye(n_features))) - b
    expected = np.ravel(est.predict(probe))
    if not np.allclose(probe @ c + b, expected, rtol=1e-7, atol=1e-7 * (1.0 + np.abs(expected).max())):
        return None
    return c, b


class MeanRegressor(RegressorMixin, BaseEstimator):
    """Weighted mean of the predictions of several regressors (fitted independently).

    Members that are affine in the input (ridge, PLS, the physics column) are folded into
    one coefficient vector at fit time, so that a stack costs one matrix product plus its
    non-linear members at prediction.

    Parameters
    ----------
    estimators : list of (str, estimator)
        Named templates.
    weights : sequence of float or None
        Non-negative weight of each estimator (normalised to sum 1); None: equal weights.
        :func:`stack_weights` learns them from cross-validated predictions.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted members.
    weights_ : ndarray
        Normalised weights.
    coef_, intercept_ : ndarray, float
        The weighted affine members as one function X·coef_ + intercept_.
    nonlinear_ : ndarray of int
        Indices of the other members (predicted one by one).
    """

    def __init__(self, estimators=None, weights=None):
        self.estimators = estimators
        self.weights = weights

    def fit(self, X, y):
        if not self.estimators:
            raise ValueError("MeanRegressor needs estimators")
        w = np.ones(len(self.estimators)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if w.shape != (len(self.estimators),) or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(self.estimators)} non-negative numbers, not all 0")
        X, y = validate_data(self, X, y, y_numeric=True)
        self.weights_ = w / w.sum()
        self.estimators_ = [clone(e).fit(X, y) for _, e in self.estimators]
        probe = X[np.unique(np.linspace(0, X.shape[0] - 1, min(X.shape[0], 64)).astype(int))]
        self.coef_, self.intercept_, nonlinear = np.zeros(X.shape[1]), 0.0, []
        for i, (wi, e) in enumerate(zip(self.weights_, self.estimators_)):
            form = _affine_form(e, X.shape[1], probe)
            if form is None:
                nonlinear.append(i)
            else:
                self.coef_ += wi * form[0]
                self.intercept_ += wi * form[1]
        self.nonlinear_ = np.array(nonlinear, dtype=int)
        return self

    def predict(self, X):
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, reset=False)
        out = X @ self.coef_ + self.intercept_
        for i in self.nonlinear_:
            out += self.weights_[i] * np.ravel(self.estimators_[i].predict(X))
        return out


#: Candidates costly to predict with (Gaussian process, boosting: ~0.3 s per 10⁵ spectra
#: each, against milliseconds for the affine ones, which a stack folds into one product).
COSTLY = ("gp", "hgb", "hgb-l")
#: Least stack weight of a costly member: a smaller share is not worth its time.
COSTLY_MIN_WEIGHT = 0.2
#: Most costly members of one stack (prediction of 10⁵ spectra, 11 parameters, within 5 s).
MAX_COSTLY = 1


def _lad_simplex(P: np.ndarray, y: np.ndarray) -> np.ndarray:
    n, m = P.shape
    # variables [w (m), e+ (n), e- (n)]: min Σe± s.t. P·w + e+ − e− = y, Σw = 1, all ≥ 0
    c = np.concatenate([np.zeros(m), np.ones(2 * n)])
    eye = sparse.identity(n, format="csr")
    a_eq = sparse.vstack([sparse.hstack([sparse.csr_matrix(P), eye, -eye]),
                          sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(2 * n)])[None, :])], format="csr")
    res = linprog(c, A_eq=a_eq, b_eq=np.concatenate([y, [1.0]]), bounds=(0, None), method="highs")
    w = np.clip(res.x[:m], 0.0, None) if res.status == 0 else np.full(m, 1.0 / m)
    return w / w.sum() if w.sum() > 0 else np.full(m, 1.0 / m)


def stack_weights(predictions: np.ndarray, y: np.ndarray, min_weight=0.02, costly=None,
                  max_costly: int = MAX_COSTLY, max_rows: int = 600) -> np.ndarray:
    """Convex weights of held-out predictions minimising their mean absolute error (an LP).

    Parameters
    ----------
    predictions : ndarray (n, m)
        Cross-validated ln predictions of ``m`` candidates for ``n`` matchups.
    y : ndarray (n,)
        ln lab values.
    min_weight : float or array (m,)
        Least weight of each member: members below it are dropped and the weights
        re-learnt on the others, until none is (fewer members to run).
    costly : array of bool (m,), optional
        Members costly to predict with; at most ``max_costly`` of them are kept (the
        heaviest), the weights re-learnt without the others.
    max_costly : int
        See ``costly``.
    max_rows : int
        Rows used at most (an evenly spaced subset beyond; the LP grows with them).

    Returns
    -------
    ndarray (m,)
        w ≥ 0, Σw = 1, minimising Σ|y − P·w| (least absolute deviations: MdSA is a
        median, and the non-optical parameters have heavy-tailed scatter).
    """
    P = np.asarray(predictions, dtype=float)
    y = np.asarray(y, dtype=float)
    if y.size > max_rows:  # a few weights: an even subset of rows pins them down
        rows = np.linspace(0, y.size - 1, max_rows).astype(int)
        P, y = P[rows], y[rows]
    m = P.shape[1]
    floor = np.broadcast_to(np.asarray(min_weight, dtype=float), (m,))
    dear = np.zeros(m, bool) if costly is None else np.asarray(costly, dtype=bool)
    active = np.arange(m)
    while True:
        wa = _lad_simplex(P[:, active], y)
        low = np.flatnonzero(wa < floor[active])
        n_dear = int(np.sum(dear[active] & (wa > 0)))
        if active.size > 1 and low.size:
            drop = low if low.size < active.size else low[np.argmin(wa[low])]
        elif n_dear > max_costly:
            idx = np.flatnonzero(dear[active] & (wa > 0))
            drop = idx[np.argmin(wa[idx])]
        else:
            break
        active = np.delete(active, drop)
    w = np.zeros(m)
    w[active] = wa
    return w / w.sum()


class ComponentSelectedPLS(RegressorMixin, BaseEstimator):
    """PLS on some columns, its number of components chosen by inner cross-validation.

    The baseline family of docs/models.md §6 as a candidate: standardised columns (by
    default the asinh-Rrs and derivative block of the features), PLS with the number of
    components of ``n_components`` whose held-out median absolute error is lowest. The
    inner folds are contiguous blocks of rows (matchup tables are in time order, so a
    day's samples stay together, as in grouped cross-validation).

    Parameters
    ----------
    columns : sequence of int or None
        Columns of ``X`` used (None: all).
    n_components : sequence of int
        Numbers of components tried.
    n_splits : int
        Inner folds.
    """

    def __init__(self, columns=None, n_components=(5, 10, 15, 20), n_splits: int = 5):
        self.columns = columns
        self.n_components = n_components
        self.n_splits = n_splits

    def _pipeline(self, k: int):
        return make_pipeline(StableScaler(), PLSRegression(n_components=k, scale=False))

    def fit(self, X, y):
        X, y = validate_data(self, X, y, y_numeric=True)
        cols = np.arange(X.shape[1]) if self.columns is None else np.asarray(self.columns, dtype=int)
        if cols.size == 0 or cols.min() < 0 or cols.max() >= X.shape[1]:
            raise ValueError(f"columns must index the {X.shape[1]} columns of X")
        A = X[:, cols]
        ks = sorted({int(min(k, A.shape[1], max(1, A.shape[0] // 2 - 1))) for k in self.n_components})
        if len(ks) > 1 and A.shape[0] >= 2 * self.n_splits:
            oof = np.zeros((len(ks), y.size))
            for tr, te in KFold(self.n_splits).split(A):
                for i, k in enumerate(ks):
                    oof[i, te] = np.ravel(self._pipeline(k).fit(A[tr], y[tr]).predict(A[te]))
            err = np.median(np.abs(oof - y), axis=1)
            k = ks[int(np.argmin(err))]
        else:
            k = ks[0]
        self.columns_ = cols
        self.n_components_ = int(k)
        self.pipeline_ = self._pipeline(k).fit(A, y)
        return self

    def predict(self, X):
        check_is_fitted(self, "pipeline_")
        X = validate_data(self, X, reset=False)
        return np.ravel(self.pipeline_.predict(X[:, self.columns_]))


def make_candidates(n_base: int, n_extra: int, *, n_physics: int | None = None, gp_max_rows: int = 300,
                    hgb_components: int = 12, pls_components: int = 10,
                    n_spectral: int | None = None, n_level: int | None = None,
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
        PLS components of ``pls``.
    n_spectral : int, optional
        How many of the spectral columns (the first ones) are asinh-Rrs and its derivative,
        the columns of ``pls-logd`` (default: all spectral columns).
    n_level : int, optional
        How many of them (the first ones) are asinh-Rrs alone: the columns of ``pls-l``, a
        PLS of 2–8 components on the log-reflectance, and of ``hgb-l``, boosted trees on it
        and the extra columns — the forms of the usual PLS and boosting baselines, which on
        a few hundred real matchups often beat richer inputs; neither without it.
    random_state : int
        Seed.

    Returns
    -------
    dict of str to estimator
        By candidate name (:data:`CANDIDATES`); ``ridge-physics`` only when there are extra
        columns, ``ridge-conc`` only with physics columns; ``stack`` is a template whose members and weights the calibrator sets
        (:func:`stack_weights`).
    """
    base = list(range(n_base))
    extra = list(range(n_base, n_base + n_extra))
    out: dict[str, BaseEstimator] = {
        "ridge": make_pipeline(StableScaler(), RidgeCV(alphas=_ALPHAS)),
        "pls": make_pipeline(StableScaler(), PLSRegression(n_components=min(pls_components, n_base + n_extra), scale=False)),
    }
    out["pls-logd"] = ComponentSelectedPLS(columns=list(range(n_base if n_spectral is None else n_spectral)))
    if n_level:
        out["pls-l"] = ComponentSelectedPLS(columns=list(range(n_level)), n_components=(2, 3, 5, 8))
    n_pca = min(6, n_base)
    if n_extra:
        out["ridge-physics"] = make_pipeline(
            ColumnTransformer([("extra", StableScaler(), extra)]), RidgeCV(alphas=_ALPHAS))
    if n_physics and n_physics >= N_CONCENTRATIONS:
        # the log-linear relation of a parameter with the constituents, few coefficients
        out["ridge-conc"] = make_pipeline(
            ColumnTransformer([("conc", StableScaler(), extra[:N_CONCENTRATIONS])]), RidgeCV(alphas=_ALPHAS))
    gp_extra = extra if n_physics is None else extra[:n_physics]
    kernel = (ConstantKernel(1.0) * RBF(length_scale=np.full(n_pca + len(gp_extra), 3.0))
              + ConstantKernel(0.1) * DotProduct(sigma_0=1.0) + WhiteKernel(0.01))
    blocks = [("base", make_pipeline(StableScaler(), PCA(n_pca, whiten=True, random_state=random_state)), base)]
    if gp_extra:
        blocks.append(("extra", StableScaler(), gp_extra))
    out["gp"] = SubsampledRegressor(
        make_pipeline(ColumnTransformer(blocks),
                      GaussianProcess(kernel, optimizer=bounded_lbfgs, normalize_y=True,
                                      random_state=random_state)),
        max_rows=gp_max_rows, random_state=random_state)
    hgb_blocks = [("base", make_pipeline(StableScaler(), PCA(min(hgb_components, n_base), random_state=random_state)), base)]
    if n_extra:
        hgb_blocks.append(("extra", "passthrough", extra))
    out["hgb"] = make_pipeline(
        ColumnTransformer(hgb_blocks),
        HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                      min_samples_leaf=8, l2_regularization=1.0,
                                      early_stopping=False, random_state=random_state))
    if n_level:
        # the form of the usual boosting baseline: trees on the log-reflectance itself (and
        # the physics / prior columns), not on its principal components
        # (every ~20 nm of the 5 nm grid: neighbouring columns add cost, not information)
        levels = list(range(0, n_level, max(1, n_level // HGB_LEVELS)))
        out["hgb-l"] = make_pipeline(
            ColumnTransformer([("l", "passthrough", levels + extra)]),
            HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=10,
                                          l2_regularization=1.0, random_state=random_state))
    out["ensemble"] = MeanRegressor([(k, out[k]) for k in ENSEMBLE_MEMBERS if k in out])
    out["stack"] = MeanRegressor([(k, out[k]) for k in CANDIDATES if k in out and k not in COMBINED])
    return {k: out[k] for k in CANDIDATES if k in out}
