"""The Gaussian-process candidate's fast marginal likelihood against scikit-learn's generic
one and against finite differences (Rasmussen & Williams 2006, eq. 5.9)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, Matern, WhiteKernel

from hsiwq.models.candidates import bounded_lbfgs, make_candidates
from hsiwq.models.gp import GaussianProcess


def _data(seed: int, n: int = 120, d: int = 7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(X[:, 0]) + 0.3 * X[:, 1] + 0.1 * rng.normal(size=n)
    return X, y, rng


def _kernel(ard: bool, d: int):
    ls = np.full(d, 3.0) if ard else 3.0
    return ConstantKernel(1.0) * RBF(ls) + ConstantKernel(0.1) * DotProduct(1.0) + WhiteKernel(0.01)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ard", [True, False])
def test_likelihood_and_gradient_equal_scikit_learns(seed, ard):
    X, y, rng = _data(seed)
    gp = GaussianProcess(_kernel(ard, X.shape[1]), optimizer=None, normalize_y=True).fit(X, y)
    for _ in range(4):
        theta = gp.kernel_.theta + rng.normal(scale=0.7, size=gp.kernel_.theta.size)
        fast = gp.log_marginal_likelihood(theta, eval_gradient=True)
        ref = GaussianProcessRegressor.log_marginal_likelihood(gp, theta, eval_gradient=True)
        assert fast[0] == pytest.approx(ref[0], rel=1e-10, abs=1e-9)
        np.testing.assert_allclose(fast[1], ref[1], rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("seed", [3, 4])
def test_gradient_equals_finite_differences(seed):
    X, y, rng = _data(seed, d=4)
    gp = GaussianProcess(_kernel(True, 4), optimizer=None, normalize_y=True).fit(X, y)
    theta = gp.kernel_.theta + rng.normal(scale=0.3, size=gp.kernel_.theta.size)
    _, grad = gp.log_marginal_likelihood(theta, eval_gradient=True)
    h = 1e-6
    for k in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        fd = (gp.log_marginal_likelihood(up) - gp.log_marginal_likelihood(down)) / (2 * h)
        assert grad[k] == pytest.approx(fd, rel=1e-4, abs=1e-5), k


def test_other_kernels_and_calls_go_to_scikit_learn():
    X, y, rng = _data(5)
    k = ConstantKernel(1.0) * Matern(1.0) + WhiteKernel(0.1)
    gp = GaussianProcess(k, optimizer=None).fit(X, y)
    theta = gp.kernel_.theta + 0.2
    a = gp.log_marginal_likelihood(theta, eval_gradient=True)
    b = GaussianProcessRegressor.log_marginal_likelihood(gp, theta, eval_gradient=True)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fitted_gp_predicts_like_scikit_learns(seed):
    """Same optimiser, same start: the fitted means agree to well below the noise (the
    optimiser may stop elsewhere along directions the likelihood does not see)."""
    X, y, _ = _data(seed, n=200, d=6)
    Xt, yt, _ = _data(seed + 100, n=300, d=6)
    fast = GaussianProcess(_kernel(True, 6), optimizer=bounded_lbfgs, normalize_y=True).fit(X, y)
    ref = GaussianProcessRegressor(_kernel(True, 6), optimizer=bounded_lbfgs, normalize_y=True).fit(X, y)
    assert fast.log_marginal_likelihood_value_ == pytest.approx(ref.log_marginal_likelihood_value_, abs=0.05)
    diff = np.abs(fast.predict(Xt) - ref.predict(Xt))
    assert np.median(diff) < 0.01 and np.sqrt(np.mean((ref.predict(Xt) - yt) ** 2)) > 0.09


def test_the_calibrators_gp_candidate_uses_it():
    gp = make_candidates(10, 4)["gp"].estimator[-1]
    assert type(gp) is GaussianProcess
