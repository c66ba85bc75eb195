"""One-pass block kernel of the fused read + correction, compiled with numba when installed.

numpy needs a separate pass over a block for each step (cast, multiply, subtract, saturation
maximum, negative minimum); this kernel does them all in one loop over the raw counts, in
their memory order, while they are in cache. It computes exactly what the numpy kernel does,
operation by operation in float32 (no fused multiply-add: numba does not contract a·x − b
without ``fastmath``):

* Rrs = float32(DN)·a − b, NaN where float32(DN) is NaN or equals the ignore value;
* flags NO_DATA (a kept band NaN), SATURATED (a non-NaN kept band ≥ the saturation level,
  compared in float32) and NEGATIVE_RRS (Rrs < −tolerance in a band of the negative test).

Two loop orders: bands outer and samples inner (BIL lines, BSQ blocks), or samples outer and
bands inner (BIP). The arrays are passed in memory order: raw (lines, bands, samples) or
(lines, samples, bands), output and coefficients likewise, flags (lines, samples).
numba is optional: :func:`kernels` returns None without it, and the numpy kernel runs.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

NO_DATA, SATURATED, NEGATIVE_RRS = 1, 2, 32


@functools.cache
def kernels() -> tuple[Any, Any] | None:
    """The compiled (bands-outer, bands-inner) kernels, or None when numba is not installed."""
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(nogil=True, cache=True)
    return jit(_bands_outer), jit(_bands_inner)


def _bands_outer(raw, kidx, out, a, b, sat, has_ignore, ignore, n0, n1, neg_tol, flags):
    """raw (L, B, X), out (L, K, X), a and b (K, X), flags (L, X) [written]."""
    nan = np.float32(np.nan)
    n_lines, n_kept, n_x = out.shape
    for line in range(n_lines):
        f = flags[line]
        for x in range(n_x):
            f[x] = 0
        for j in range(n_kept):
            src = raw[line, kidx[j]]
            dst = out[line, j]
            aj = a[j]
            bj = b[j]
            neg = np.uint16(NEGATIVE_RRS if n0 <= j < n1 else 0)
            for x in range(n_x):  # branch-free, so that it vectorises
                v = np.float32(src[x])
                bad = (v != v) | (has_ignore & (v == ignore))
                good = not bad
                r = v * aj[x] - bj[x]
                dst[x] = nan if bad else r
                f[x] |= ((np.uint16(NO_DATA) if bad else np.uint16(0))
                         | (np.uint16(SATURATED) if (v >= sat) & good else np.uint16(0))
                         | (neg if (r < neg_tol) & good else np.uint16(0)))


def _bands_inner(raw, runs, out, a, b, sat, has_ignore, ignore, n0, n1, neg_tol, flags):
    """raw (L, X, B), out (L, X, K), a and b (X, K), flags (L, X) [written].

    ``runs`` (R, 3): contiguous runs of kept bands (first source band, end, first output
    band), so that the band loop reads contiguous counts. The tests are counted rather than
    or-ed into a flag word: counting vectorises, or-ing conditionally into a scalar does not.
    """
    nan = np.float32(np.nan)
    n_lines, n_x, n_kept = out.shape
    for line in range(n_lines):
        for x in range(n_x):
            n_bad = 0
            n_sat = 0
            n_neg = 0
            for r in range(runs.shape[0]):
                s0, s1, d0 = runs[r, 0], runs[r, 1], runs[r, 2]
                d1 = d0 + s1 - s0
                src = raw[line, x, s0:s1]
                dst = out[line, x, d0:d1]
                ax = a[x, d0:d1]
                bx = b[x, d0:d1]
                for t in range(s1 - s0):
                    v = np.float32(src[t])
                    bad = (v != v) | (has_ignore & (v == ignore))
                    good = not bad
                    q = v * ax[t] - bx[t]
                    dst[t] = nan if bad else q
                    j = d0 + t
                    n_bad += bad
                    n_sat += (v >= sat) & good
                    n_neg += (q < neg_tol) & (j >= n0) & (j < n1) & good
            flags[line, x] = ((NO_DATA if n_bad else 0) | (SATURATED if n_sat else 0)
                              | (NEGATIVE_RRS if n_neg else 0))
