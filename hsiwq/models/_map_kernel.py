"""Compiled (numba) MAP inversion: the loop of :func:`hsiwq.models.physics.map_invert`
fused per spectrum, in parallel over spectra.

The same forward model, noise model, prior and Levenberg–Marquardt rules as the numpy
implementation in :mod:`hsiwq.models.physics` (which stays the reference and the fallback
when numba is unavailable or ``HSIWQ_NO_NUMBA`` is set); compiled on first use and cached.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

G0, G1 = 0.089, 0.125


@njit(cache=True, inline="always")
def _evaluate(x, ob, wt, mu, prec, aw, bbw, log_a, e, pc, cdom, nap, bbp_tss, bbp_chl, glint, r, jac):
    nb = ob.shape[0]
    c0, c1, c2, c3 = np.exp(x[0]), np.exp(x[1]), np.exp(x[2]), np.exp(x[3])
    gain = np.exp(x[4])
    cost = 0.0
    for b in range(nb):
        aph = np.exp(x[0] * e[b] + log_a[b])
        a = aw[b] + aph + c1 * pc[b] + c3 * cdom[b] + c2 * nap[b]
        bb = bbw[b] + c2 * bbp_tss[b] + c0 * bbp_chl[b]
        tot = a + bb
        u = bb / tot
        rr = u * (G0 + G1 * u)
        den = 1.0 - 1.7 * rr
        rrs = 0.52 * rr / den
        d_r = 0.52 / (den * den) * (G0 + 2.0 * G1 * u)
        du_da = -bb / (tot * tot)
        du_dbb = a / (tot * tot)
        gw = gain * wt[b]
        r[b] = (gain * rrs + x[5] * glint[b] - ob[b]) * wt[b]
        cost += r[b] * r[b]
        jac[b, 0] = gw * d_r * (du_da * e[b] * aph + du_dbb * c0 * bbp_chl[b])
        jac[b, 1] = gw * d_r * du_da * c1 * pc[b]
        jac[b, 2] = gw * d_r * (du_da * c2 * nap[b] + du_dbb * c2 * bbp_tss[b])
        jac[b, 3] = gw * d_r * du_da * c3 * cdom[b]
        jac[b, 4] = gw * rrs
        jac[b, 5] = glint[b] * wt[b]
    for i in range(6):
        di = x[i] - mu[i]
        for j in range(6):
            cost += di * prec[i, j] * (x[j] - mu[j])
    return cost


@njit(cache=True, inline="always")
def _solve6(a, g, out):
    """Solve a·out = g (6×6, symmetric positive definite) by Gaussian elimination."""
    m = a.copy()
    v = g.copy()
    for k in range(6):
        piv = m[k, k]
        for i in range(k + 1, 6):
            f = m[i, k] / piv
            for j in range(k, 6):
                m[i, j] -= f * m[k, j]
            v[i] -= f * v[k]
    for i in range(5, -1, -1):
        s = v[i]
        for j in range(i + 1, 6):
            s -= m[i, j] * out[j]
        out[i] = s / m[i, i]


@njit(cache=True, parallel=True)
def map_kernel(obs, w, mu, prec, aw, bbw, log_a, e, pc, cdom, nap, bbp_tss, bbp_chl, glint,
               lower, upper, n_iter, tol, out_x, out_chi2):
    n, nb = obs.shape
    for i in prange(n):
        m6 = np.zeros(6)
        m6[:4] = mu[i]
        x = m6.copy()
        r = np.empty(nb)
        jac = np.empty((nb, 6))
        rt = np.empty(nb)
        jt = np.empty((nb, 6))
        a = np.empty((6, 6))
        g = np.empty(6)
        step = np.empty(6)
        trial = np.empty(6)
        cost = _evaluate(x, obs[i], w[i], m6, prec, aw, bbw, log_a, e, pc, cdom, nap, bbp_tss,
                         bbp_chl, glint, r, jac)
        lam = 1e-2
        for _ in range(n_iter):
            for p in range(6):
                s = 0.0
                for b in range(nb):
                    s += jac[b, p] * r[b]
                for q in range(6):
                    s += prec[p, q] * (x[q] - m6[q])
                g[p] = -s
                for q in range(p, 6):
                    t = 0.0
                    for b in range(nb):
                        t += jac[b, p] * jac[b, q]
                    a[p, q] = t + prec[p, q]
                    a[q, p] = a[p, q]
            for p in range(6):
                a[p, p] *= 1.0 + lam
            _solve6(a, g, step)
            for p in range(6):
                trial[p] = x[p] + step[p]
                if p < 4:
                    trial[p] = min(max(trial[p], lower[p]), upper[p])
            cost_t = _evaluate(trial, obs[i], w[i], m6, prec, aw, bbw, log_a, e, pc, cdom, nap,
                               bbp_tss, bbp_chl, glint, rt, jt)
            if np.isfinite(cost_t) and cost_t < cost:
                rel = (cost - cost_t) / max(cost, 1e-12)
                x[:] = trial
                r[:] = rt
                jac[:, :] = jt
                cost = cost_t
                lam *= 0.3
                if rel <= tol:
                    break
            else:
                lam *= 10.0
                if lam >= 1e4:
                    break
        out_x[i, :] = x
        s = 0.0
        for b in range(nb):
            s += r[b] * r[b]
        out_chi2[i] = s / nb
