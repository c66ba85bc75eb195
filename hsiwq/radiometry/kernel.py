"""The per-pixel part of the correction: counts to Rrs and per-pixel flags, block by block.

Without non-linearity the correction is affine in the counts, Rrs = DN·a − b per band, and
is applied in place into the output, block of lines by block, in the input's own memory
layout (BSQ, BIL or BIP arrays are all traversed contiguously). The few per-pixel band
averages the QC needs are sums of band slices; saturation, no-data and negative-Rrs tests
first check each block as a whole and go per pixel only where the block trips them. Blocks
run on a small thread pool (numpy's element-wise loops release the GIL; BLAS is avoided, as
OpenBLAS serialises concurrent callers).

References
----------
.. [1] Mueller, J. L. et al. (2003). Ocean Optics Protocols for Satellite Ocean Color Sensor
   Validation, Revision 4, Vol. III, NASA/TM-2003-211621/Rev4-Vol.III (Rrs = (Lt − ρ·Li)/Ed
   from calibrated, dark-corrected counts).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import qc as qcm
from .pixelqc import QCBands, negative_flags
from .reduce import any_last, reduce_last
from .dn import apply_nonlinearity


@dataclass(frozen=True)
class AffineCorrection:
    """Coefficients of Rrs = (NL(DN − dark)·s − ρ·Li) / Ed on the kept bands.

    Attributes
    ----------
    runs : list of (int, int, int)
        Contiguous runs of kept bands: (first source band, end source band, first output
        band).
    a : ndarray
        gain / (t·Ed) [sr-1 per DN], float32, (bands,).
    b : ndarray
        (gain·dark / t + ρ·Li) / Ed [sr-1], float32, (bands,) or (x, bands).
    saturation_dn : float
        Saturation level of the raw counts [DN].
    dark : ndarray or None
        Dark level [DN] (non-linear path only).
    nonlinearity : ndarray or None
        Count non-linearity coefficients (see :func:`hsiwq.radiometry.dn.apply_nonlinearity`).
    glint : ndarray or None
        ρ·Li/Ed [sr-1] (non-linear path only).
    epsilon_weights : ndarray or None
        Weights giving the NIR similarity residual ε = Rrs @ w [sr-1] (None: no correction).
    """

    runs: list[tuple[int, int, int]]
    a: np.ndarray
    b: np.ndarray
    saturation_dn: float
    dark: np.ndarray | None = None
    nonlinearity: np.ndarray | None = None
    glint: np.ndarray | None = None
    epsilon_weights: np.ndarray | None = None


def band_runs(kept: np.ndarray) -> list[tuple[int, int, int]]:
    """Contiguous runs (start, stop, output start) of sorted kept band indices."""
    runs: list[tuple[int, int, int]] = []
    k = np.asarray(kept, dtype=int)
    if k.size == 0:
        return runs
    breaks = np.flatnonzero(np.diff(k) != 1) + 1
    d0 = 0
    for seg in np.split(k, breaks):
        runs.append((int(seg[0]), int(seg[-1]) + 1, d0))
        d0 += seg.size
    return runs


def allocate_like(values: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Empty float32 (y, x, band) array laid out in memory like ``values``."""
    strides = np.asarray(getattr(values, "strides", (3, 2, 1)))
    order = [int(i) for i in np.argsort(-strides, kind="stable")]  # slowest axis first
    buf = np.empty([shape[i] for i in order], dtype=np.float32)
    return buf.transpose(np.argsort(order))


def run_blocks(values: np.ndarray, corr: AffineCorrection, bands: QCBands,
               options: qcm.QCOptions, *, block_mb: float = 2.0, threads: int | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correct the whole cube.

    Parameters
    ----------
    values : array-like
        Raw counts, (y, x, band) [DN] (numpy, memory-mapped, or anything sliceable).
    corr : AffineCorrection
        Coefficients.
    bands : QCBands
        QC band windows on the kept bands.
    options : QCOptions
        Thresholds.
    block_mb : float
        Output block size [MiB].
    threads : int or None
        Worker threads (default: up to 2, the cores available).

    Returns
    -------
    rrs : ndarray
        float32 (y, x, kept bands) [sr-1].
    qc : ndarray
        uint16 (y, x): NO_DATA, SATURATED and NEGATIVE_RRS bits.
    products : ndarray
        float32 (y, x, 4) band averages of the scene tests (see :mod:`.pixelqc`) [sr-1],
        a view of four contiguous (y, x) planes.
    """
    ny, nx = values.shape[:2]
    nb = int(corr.a.size)
    rrs = allocate_like(values if isinstance(values, np.ndarray) else np.empty((0, 0, 0)),
                        (ny, nx, nb))
    qc = np.zeros((ny, nx), dtype=np.uint16)
    planes = np.full((4, ny, nx), np.nan, dtype=np.float32)
    step = max(1, int(block_mb * 2**20 // max(1, nx * nb * 4)))

    def work(y0: int) -> None:
        y1 = min(ny, y0 + step)
        f, g = correct_block(np.asarray(values[y0:y1]), rrs[y0:y1], corr, bands, options)
        qc[y0:y1] = f
        for k in range(4):
            planes[k, y0:y1] = g[..., k]

    starts = list(range(0, ny, step))
    n = min(threads if threads is not None else min(2, os.cpu_count() or 1), len(starts))
    if n <= 1:
        for y0 in starts:
            work(y0)
    else:  # one contiguous share of blocks per thread: few hand-overs
        shares = np.array_split(np.asarray(starts), n)
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(lambda share: [work(int(y0)) for y0 in share], shares))
    return rrs, qc, np.moveaxis(planes, 0, -1)


def correct_block(src: np.ndarray, out: np.ndarray, corr: AffineCorrection,
                  bands: QCBands, options: qcm.QCOptions,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Correct one block of lines into ``out`` and flag its pixels.

    Parameters
    ----------
    src : ndarray
        Raw counts of the block, (lines, x, all bands) [DN].
    out : ndarray
        float32 (lines, x, kept bands) output [sr-1], written in place.
    corr, bands, options
        As for :func:`run_blocks`.

    Returns
    -------
    flags : ndarray of uint16
        (lines, x): NO_DATA, SATURATED, NEGATIVE_RRS.
    products : ndarray of float32
        (lines, x, 4) band averages [sr-1].
    """
    flags = np.zeros(src.shape[:2], dtype=np.uint16)
    _flag_saturation(src, corr, flags)
    b2 = corr.b
    with np.errstate(invalid="ignore", over="ignore"):
        for s0, s1, d0 in corr.runs:
            o = out[..., d0:d0 + s1 - s0]
            if corr.nonlinearity is None:
                np.multiply(src[..., s0:s1], corr.a[d0:d0 + s1 - s0], out=o)
                o -= b2[..., d0:d0 + s1 - s0]
            else:
                np.subtract(src[..., s0:s1], corr.dark[..., d0:d0 + s1 - s0], out=o,
                            dtype=np.float32)
        if corr.nonlinearity is not None:
            apply_nonlinearity(out, corr.nonlinearity)
            out *= corr.a
            out -= corr.glint
        if corr.epsilon_weights is not None:
            idx = np.flatnonzero(corr.epsilon_weights)
            eps = np.zeros(out.shape[:-1], dtype=np.float32)
            for i in idx:
                eps += corr.epsilon_weights[i] * out[..., i]
            out -= eps[..., None]
    flags[negative_flags(out, bands, options)] |= qcm.NEGATIVE_RRS
    return flags, bands.products(out)


def _flag_saturation(src: np.ndarray, corr: AffineCorrection, flags: np.ndarray) -> None:
    """NO_DATA (NaN) and SATURATED where any kept band is NaN or reaches saturation.

    When bands are not the fastest-varying axis in memory (BIL, BSQ), the per-pixel maximum
    over bands is an element-wise maximum of whole rows or planes: one pass gives both tests.
    With bands contiguous (BIP), the block's maximum is checked first and pixels examined
    only when the block holds a NaN or a saturated count.
    """
    sat = corr.saturation_dn
    band_fastest = src.strides[-1] <= min(abs(s) for s in src.strides[:-1])
    with np.errstate(invalid="ignore"):
        if not band_fastest:
            peak = None
            for s0, s1, _ in corr.runs:
                m = reduce_last(np.maximum, src[..., s0:s1])  # whole rows/planes at a time
                peak = m if peak is None else np.maximum(peak, m)  # NaN propagates
            flags[np.isnan(peak)] |= qcm.NO_DATA
            flags[peak >= sat] |= qcm.SATURATED
            return
        peaks = [src[..., s0:s1].max() for s0, s1, _ in corr.runs]
        has_nan = any(np.isnan(p) for p in peaks)
        if has_nan:
            flags[_any_band(src, corr, np.isnan)] |= qcm.NO_DATA
        if has_nan or any(p >= sat for p in peaks):
            flags[_any_band(src, corr, lambda v: v >= sat)] |= qcm.SATURATED


def _any_band(src: np.ndarray, corr: AffineCorrection, test) -> np.ndarray:
    """Per pixel: does ``test`` hold in some kept band? (bands contiguous: packed words)."""
    out = np.zeros(src.shape[:2], dtype=bool)
    for s0, s1, _ in corr.runs:
        out |= any_last(test(src[..., s0:s1]))
    return out
