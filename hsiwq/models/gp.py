"""The Gaussian-process candidate: scikit-learn's regressor with a fast marginal likelihood
for the one kernel the calibrator uses.

The kernel of :func:`hsiwq.models.candidates.make_candidates` is
c₁·RBF(ℓ₁…ℓ_d) + c₂·DotProduct(σ₀) + White(w). scikit-learn's generic gradient of the log
marginal likelihood builds an (n, n, n_θ) tensor of kernel derivatives per evaluation (ARD
length scales: one slice per input dimension) and contracts it with an einsum; for 300 rows,
18 dimensions and ~45 L-BFGS evaluations per fit that is most of a region's calibration time.
For this kernel every slice of the contraction reduces to matrix products (below), which is
what :meth:`GaussianProcess.log_marginal_likelihood` computes. Any other kernel, and every
call without a gradient, goes to scikit-learn unchanged; tests compare both paths.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, cholesky
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, Product, Sum, WhiteKernel


def _parts(kernel):
    """(c₁, RBF, c₂, DotProduct, White) of c₁·RBF + c₂·DotProduct + White, or None."""
    if not (isinstance(kernel, Sum) and isinstance(kernel.k2, WhiteKernel) and isinstance(kernel.k1, Sum)):
        return None
    a, b = kernel.k1.k1, kernel.k1.k2
    if not (isinstance(a, Product) and isinstance(b, Product)):
        return None
    if not (isinstance(a.k1, ConstantKernel) and isinstance(a.k2, RBF)
            and isinstance(b.k1, ConstantKernel) and isinstance(b.k2, DotProduct)):
        return None
    if any(h.fixed for h in kernel.hyperparameters):
        return None
    return a.k1, a.k2, b.k1, b.k2, kernel.k2


class GaussianProcess(GaussianProcessRegressor):
    """:class:`sklearn.gaussian_process.GaussianProcessRegressor` with the log marginal
    likelihood's gradient computed in O(n²·d) matrix products for the kernel
    c₁·RBF(ℓ) + c₂·DotProduct(σ₀) + White (same parameters, same results).

    With W = α·αᵀ − K⁻¹ (Rasmussen & Williams 2006, eq. 5.9) the derivative of the log
    marginal likelihood with respect to ln θ is ½·Σᵢⱼ Wᵢⱼ·∂Kᵢⱼ/∂ln θ. For the length scale of
    dimension k, ∂K/∂ln ℓₖ = c₁·R ⊙ (xᵢₖ − xⱼₖ)²/ℓₖ², so with M = W ⊙ c₁R (symmetric)
    Σᵢⱼ Mᵢⱼ (xᵢₖ − xⱼₖ)² = 2·Σᵢ (Σⱼ Mᵢⱼ)·xᵢₖ² − 2·x_kᵀ M x_k: one n×n by n×d product for
    all d length scales instead of d slices of n² each.

    References
    ----------
    .. [1] Rasmussen, C. E., Williams, C. K. I. (2006). Gaussian Processes for Machine
       Learning. MIT Press, ch. 2 (Alg. 2.1) and ch. 5 (eq. 5.9).
    """

    def log_marginal_likelihood(self, theta=None, eval_gradient=False, clone_kernel=True):
        y = getattr(self, "y_train_", None)
        if theta is None or not eval_gradient or y is None or np.ndim(y) != 1 or _parts(self.kernel_) is None:
            return super().log_marginal_likelihood(theta, eval_gradient, clone_kernel)
        kernel = self.kernel_.clone_with_theta(theta) if clone_kernel else self.kernel_
        kernel.theta = theta  # as scikit-learn does with clone_kernel=False
        c1, rbf, c2, dot, white = _parts(kernel)
        X = self.X_train_
        n = X.shape[0]
        ell = np.broadcast_to(np.asarray(rbf.length_scale, dtype=float), (X.shape[1],))
        Z = X / ell
        sq = np.einsum("ij,ij->i", Z, Z)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (Z @ Z.T), 0.0)
        np.fill_diagonal(d2, 0.0)
        R = c1.constant_value * np.exp(-0.5 * d2)  # c₁·RBF
        s0 = dot.sigma_0 ** 2
        D = c2.constant_value * (X @ X.T + s0)  # c₂·DotProduct
        K = R + D
        K[np.diag_indices(n)] += white.noise_level + self.alpha
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return -np.inf, np.zeros_like(theta)
        alpha = cho_solve((L, True), y, check_finite=False)
        lml = -0.5 * y @ alpha - np.log(np.diag(L)).sum() - n / 2 * np.log(2 * np.pi)
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(n), check_finite=False)
        M = W * R
        m = M.sum(axis=1)
        grad_ell = m @ (Z * Z) - np.einsum("ik,ik->k", Z, M @ Z)  # ½·(2·… − 2·…)
        if np.ndim(rbf.length_scale) == 0:  # one length scale for every dimension
            grad_ell = np.array([grad_ell.sum()])
        grad = [0.5 * np.sum(M),                             # ln c₁
                *grad_ell,                                   # ln ℓ
                0.5 * np.sum(W * D),                         # ln c₂
                c2.constant_value * s0 * W.sum(),            # ln σ₀ (∂K/∂ln σ₀ = 2·c₂σ₀²)
                0.5 * white.noise_level * np.trace(W)]       # ln w
        return float(lml), np.array(grad)
