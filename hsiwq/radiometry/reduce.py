"""Per-pixel reductions over the band axis, vectorised for any memory layout.

numpy reduces the last axis of a cube pixel by pixel, with a call per pixel; for the short
spectra of a block (100–300 bands) that overhead dominates. These helpers instead combine
whole halves of the block with element-wise ufuncs, or pack eight booleans into a word.

References
----------
.. [1] Blelloch, G. E. (1990). Prefix sums and their applications. Technical Report
   CMU-CS-90-190, Carnegie Mellon University (tree-shaped reductions).
"""

from __future__ import annotations

import numpy as np

__all__ = ["any_last", "reduce_last"]


def reduce_last(ufunc: np.ufunc, block: np.ndarray) -> np.ndarray:
    """Reduce the last axis by pairwise halving (``ufunc`` of the two halves, repeated).

    Equivalent to ``ufunc.reduce(block, axis=-1)`` for associative ufuncs (minimum, maximum,
    bitwise or; addition up to rounding), but made of whole-array operations, which numpy
    vectorises for any memory layout, instead of one short reduction per pixel.

    Parameters
    ----------
    ufunc : numpy.ufunc
        A binary, associative ufunc.
    block : ndarray
        Shape (..., n), n ≥ 1.

    Returns
    -------
    ndarray
        Shape ``block.shape[:-1]``.
    """
    cur, n = block, block.shape[-1]
    while n > 1:
        h = n // 2
        nxt = ufunc(cur[..., :h], cur[..., h:2 * h])
        if n % 2:
            nxt[..., 0] = ufunc(nxt[..., 0], cur[..., 2 * h])
        cur, n = nxt, h
    return cur[..., 0].copy() if cur is block else cur[..., 0]


def any_last(mask: np.ndarray) -> np.ndarray:
    """``mask.any(axis=-1)`` for a boolean array, eight bands per 64-bit word."""
    n = mask.shape[-1]
    if n == 0:
        return np.zeros(mask.shape[:-1], dtype=bool)
    m = np.ascontiguousarray(mask)
    if n % 8:
        m = np.concatenate([m, np.zeros(m.shape[:-1] + (8 - n % 8,), dtype=bool)], axis=-1)
    return reduce_last(np.bitwise_or, m.view(np.uint64)) != 0
