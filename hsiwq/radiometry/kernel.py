"""The per-pixel part of the correction: counts to Rrs and per-pixel flags, block by block.

Without non-linearity the correction is affine in the counts, Rrs = DN·a − b per band, and
is applied block of lines by block into the output, in the input's own memory layout (BSQ,
BIL or BIP arrays are all traversed contiguously; ``a`` and ``b`` are expanded to one line
laid out the same way, so that both operands of the arithmetic are contiguous rows).

Two sources of counts:

* an array (e.g. an eagerly read float32 cube): Rrs = src·a − b is written into the output;
* a raw file source (:class:`hsiwq.io.envi.EnviArray`, from a lazily read bundle): each block
  of lines is read in the file's own dtype into a small buffer, cast to float32 straight into
  the output (NaN for ignored values) and corrected there in place while it is in cache. The
  file is read once and the output is the only full-size allocation; the values are exactly
  those of the eager path, since float32(DN) is the same number either way. When numba is
  installed, the cast, the affine correction and the three per-pixel tests of a plain block
  (8/16-bit or float32 counts, no non-linearity or NIR correction) run in one compiled pass
  (:mod:`._fused`) instead of five numpy passes, with the same results.

The few per-pixel band averages the QC needs, and the spectral water tests on them, are
computed per group of blocks (~16 k pixels), on lines still in cache. The saturation and no-data tests run on the raw counts when they
convert exactly to float32 (8/16-bit integers, float32; no ignore value), else on the float32
block; they, and the negative-Rrs test, first check the block as a whole and go per pixel
only where the block trips them. Groups of blocks run on a small thread pool, taken from a
shared queue (numpy's element-wise loops and the compiled kernel release the GIL; BLAS is
avoided, as OpenBLAS serialises concurrent callers).

References
----------
.. [1] Mueller, J. L. et al. (2003). Ocean Optics Protocols for Satellite Ocean Color Sensor
   Validation, Revision 4, Vol. III, NASA/TM-2003-211621/Rev4-Vol.III (Rrs = (Lt − ρ·Li)/Ed
   from calibrated, dark-corrected counts).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _fused
from . import qc as qcm
from .pixelqc import QCBands, fails_water_tests, negative_flags
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


def run_blocks(values: Any, corr: AffineCorrection, bands: QCBands,
               options: qcm.QCOptions, *, block_mb: float = 2.0, threads: int | None = None,
               engine: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Correct the whole cube.

    Parameters
    ----------
    values : array-like or raw source
        Raw counts, (y, x, band) [DN]: numpy, memory-mapped or anything sliceable by lines
        (read as float32 block by block), or a raw source such as
        :class:`hsiwq.io.envi.EnviArray`: an object with ``shape``, ``raw_lines(y0, y1)``
        (counts of whole lines in the file's dtype) and ``to_float32(raw, out)`` (the cast,
        with ignored values NaN). A raw source is read once, straight into the output.
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
    engine : {"auto", "numpy"}
        "auto": a raw source is corrected by the one-pass compiled kernel
        (:mod:`._fused`) when numba is installed and the case is plain (8/16-bit integer or
        float32 counts in native byte order, no non-linearity, no NIR correction); "numpy":
        always the numpy kernel. Both give identical results.

    Returns
    -------
    rrs : ndarray
        float32 (y, x, kept bands) [sr-1], laid out in memory like the input (or the file).
    qc : ndarray
        uint16 (y, x): NO_DATA, SATURATED and NEGATIVE_RRS bits.
    products : ndarray
        float32 (y, x, 4) band averages of the scene tests (see :mod:`.pixelqc`) [sr-1],
        a view of four contiguous (y, x) planes.
    fails : ndarray of bool
        (y, x): the pixel fails the spectral water tests
        (:func:`hsiwq.radiometry.pixelqc.fails_water_tests`).
    """
    ny, nx = values.shape[:2]
    nb = int(corr.a.size)
    source = hasattr(values, "raw_lines") and hasattr(values, "to_float32")
    if source:
        like = values.raw_lines(0, 1)
    else:
        like = values if isinstance(values, np.ndarray) else np.empty((0, 0, 0))
    if source and like.ndim == 3 and abs(like.strides[2]) > abs(like.strides[0]):
        # BSQ file: lay Rrs out by line (as BIL), so that each block is written contiguously
        like = like.transpose(0, 2, 1).copy().transpose(0, 2, 1)
    rrs = allocate_like(like, (ny, nx, nb))
    qc = np.zeros((ny, nx), dtype=np.uint16)
    planes = np.empty((4, ny, nx), dtype=np.float32)  # filled block by block (NaN if no test)
    products = np.moveaxis(planes, 0, -1)
    fails = np.zeros((ny, nx), dtype=bool)
    step = max(1, int(block_mb * 2**20 // max(1, nx * nb * 4)))
    # Coefficient planes laid out like the output's lines: the arithmetic then runs over
    # contiguous rows of both operands, whatever the interleave.
    a_plane = allocate_like(rrs, (1, nx, nb))
    a_plane[...] = corr.a
    b_plane = allocate_like(rrs, (1, nx, nb))
    b_plane[...] = corr.b
    planes_ab = (a_plane, b_plane)
    fused = _fused_kernel(values, like, corr, bands, options, a_plane, b_plane) \
        if source and engine == "auto" else None

    def work(y0: int) -> None:
        y1 = min(ny, y0 + step)
        out = rrs[y0:y1]
        counts = None
        if fused is not None:
            fused(values.raw_lines(y0, y1), out, qc[y0:y1])
            return
        if source:
            raw = values.raw_lines(y0, y1)
            for s0, s1, d0 in corr.runs:
                values.to_float32(raw[..., s0:s1], out=out[..., d0:d0 + s1 - s0])
            if _exact_counts(raw.dtype, values):  # test the (narrower) raw counts
                counts = [raw[..., s0:s1] for s0, s1, _ in corr.runs]
            src = None
        else:
            src = np.asarray(values[y0:y1])
        qc[y0:y1] = correct_block(src, out, corr, bands, options, planes=planes_ab,
                                  counts=counts)

    # Work goes by groups of whole blocks (~16 k pixels): the band averages and the water
    # tests on them are computed per group, on lines just corrected (still in cache), in
    # fewer and longer numpy calls than block by block. Threads take the next group from a
    # shared queue, so that a thread slowed down by other processes holds up no fixed share.
    per_group = step * max(1, -(-(16_384 // max(1, nx)) // step))
    groups = iter(range(0, ny, per_group))
    lock = threading.Lock()

    def run_groups() -> None:
        while True:
            with lock:
                g0 = next(groups, None)
            if g0 is None:
                return
            g1 = min(ny, g0 + per_group)
            for y0 in range(g0, g1, step):
                work(y0)
            bands.products(rrs[g0:g1], out=products[g0:g1])
            fails[g0:g1] = fails_water_tests(products[g0:g1], bands, options)

    n_groups = -(-ny // per_group)
    n = min(threads if threads is not None else min(2, os.cpu_count() or 1), n_groups)
    if n <= 1:
        run_groups()
    else:  # this thread works too
        with ThreadPoolExecutor(max_workers=n - 1) as pool:
            others = [pool.submit(run_groups) for _ in range(n - 1)]
            run_groups()
            for future in others:
                future.result()
    return rrs, qc, products, fails


def _fused_kernel(source: Any, like: np.ndarray, corr: AffineCorrection, bands: QCBands,
                  options: qcm.QCOptions, a_plane: np.ndarray, b_plane: np.ndarray) -> Any:
    """A function (raw lines, output block, flags block) running :mod:`._fused`, or None.

    None when numba is missing or the case is not plain (see :func:`run_blocks`).
    """
    if (corr.nonlinearity is not None or corr.epsilon_weights is not None
            or like.dtype not in _FUSED_DTYPES or not like.dtype.isnative):
        return None
    compiled = _fused.kernels()
    if compiled is None:
        return None
    outer, inner = compiled
    kidx = np.concatenate([np.arange(s0, s1) for s0, s1, _ in corr.runs]).astype(np.intp)
    ignore = getattr(source, "ignore_value", None)
    ign32 = np.float32(np.nan)
    has_ignore = False
    if ignore is not None:  # as to_float32: NaN where float32(DN) equals a float32 ignore value
        with np.errstate(over="ignore"):
            ign32 = np.float32(ignore)
        has_ignore = bool(float(ign32) == ignore)
    args = (np.float32(corr.saturation_dn), has_ignore, ign32, int(bands.negative.start),
            int(bands.negative.stop), -np.float32(options.negative_tolerance))
    bands_inner = abs(a_plane.strides[2]) <= abs(a_plane.strides[1])
    if bands_inner:  # BIP: (lines, samples, bands) in memory
        a_m, b_m = a_plane[0], b_plane[0]

        runs = np.asarray(corr.runs, dtype=np.intp).reshape(-1, 3)

        def run(raw: np.ndarray, out: np.ndarray, flags: np.ndarray) -> None:
            inner(raw, runs, out, a_m, b_m, *args, flags)
    else:  # BIL, BSQ: rows of samples, band by band
        a_m, b_m = a_plane[0].T, b_plane[0].T

        def run(raw: np.ndarray, out: np.ndarray, flags: np.ndarray) -> None:
            outer(raw.transpose(0, 2, 1), kidx, out.transpose(0, 2, 1), a_m, b_m, *args,
                  flags)
    return run


_FUSED_DTYPES = tuple(np.dtype(t) for t in ("uint8", "int16", "uint16", "float32"))


def _exact_counts(dtype: np.dtype, source: Any) -> bool:
    """Whether raw counts of ``dtype`` test like their float32 values (no NaN to insert)."""
    return (np.can_cast(dtype, np.float32, "safe")
            and getattr(source, "ignore_value", None) is None)


def correct_block(src: np.ndarray | None, out: np.ndarray, corr: AffineCorrection,
                  bands: QCBands, options: qcm.QCOptions, *,
                  planes: tuple[np.ndarray, np.ndarray] | None = None,
                  counts: list[np.ndarray] | None = None) -> np.ndarray:
    """Correct one block of lines into ``out`` and flag its pixels.

    Parameters
    ----------
    src : ndarray or None
        Raw counts of the block, (lines, x, all bands) [DN], float32 or any numeric dtype;
        None when ``out`` already holds the block's counts of the kept bands as float32
        (the fused read), which are then corrected in place.
    out : ndarray
        float32 (lines, x, kept bands) output [sr-1], written in place.
    corr, bands, options
        As for :func:`run_blocks`.
    planes : (ndarray, ndarray), optional
        ``corr.a`` and ``corr.b`` broadcast to (1, x, kept bands), laid out like ``out``.
    counts : list of ndarray, optional
        The kept bands' counts to test for NaN and saturation, when ``src`` is None, in a
        type whose values equal their float32 cast (default: ``out`` before correction).

    Returns
    -------
    ndarray of uint16
        Flags (lines, x): NO_DATA, SATURATED, NEGATIVE_RRS.
    """
    flags = np.zeros(out.shape[:2], dtype=np.uint16)
    if src is None:  # compared as float32 values would be (exact for these counts)
        _flag_saturation(counts or [out], float(np.float32(corr.saturation_dn)), flags)
    else:
        _flag_saturation([src[..., s0:s1] for s0, s1, _ in corr.runs], corr.saturation_dn,
                         flags)
    a, b = planes if planes is not None else (corr.a, corr.b)
    with np.errstate(invalid="ignore", over="ignore"):
        if corr.nonlinearity is None:
            if src is None:
                np.multiply(out, a, out=out)
            else:
                for s0, s1, d0 in corr.runs:
                    d1 = d0 + s1 - s0
                    np.multiply(src[..., s0:s1], a[..., d0:d1], out=out[..., d0:d1])
            np.subtract(out, b, out=out)
        else:
            if src is None:
                np.subtract(out, corr.dark, out=out)
            else:
                for s0, s1, d0 in corr.runs:
                    np.subtract(src[..., s0:s1], corr.dark[..., d0:d0 + s1 - s0],
                                out=out[..., d0:d0 + s1 - s0], dtype=np.float32)
            apply_nonlinearity(out, corr.nonlinearity)
            out *= corr.a
            out -= corr.glint
        if corr.epsilon_weights is not None:
            idx = np.flatnonzero(corr.epsilon_weights)
            eps = np.zeros(out.shape[:-1], dtype=np.float32)
            for i in idx:
                eps += corr.epsilon_weights[i] * out[..., i]
            out -= eps[..., None]
    qcm.add_flag(flags, negative_flags(out, bands, options), qcm.NEGATIVE_RRS)
    return flags


def _flag_saturation(views: list[np.ndarray], sat: float, flags: np.ndarray) -> None:
    """NO_DATA (NaN) and SATURATED where any band of ``views`` is NaN or reaches ``sat``.

    The block's maximum is checked first (NaN propagates to it); pixels are examined only
    when the block holds a NaN or a saturated count, with one maximum over the bands (numpy
    runs it over whole rows or planes when bands are not the fastest axis in memory).
    """
    views = [v for v in views if v.size]
    if not views:
        return
    floats = views[0].dtype.kind == "f"
    with np.errstate(invalid="ignore"):
        peaks = [v.max() for v in views]
        if not any(p >= sat for p in peaks) and not (floats and np.isnan(peaks).any()):
            return
        peak = views[0].max(axis=-1)
        for v in views[1:]:
            np.maximum(peak, v.max(axis=-1), out=peak)  # NaN propagates
        qcm.add_flag(flags, peak >= sat, qcm.SATURATED)
        if not floats:
            return
        no_data = np.isnan(peak)
        if no_data.any():  # the other bands of a NaN pixel may be saturated too
            qcm.add_flag(flags, no_data, qcm.NO_DATA)
            idx = np.nonzero(no_data)
            fmax = np.fmax.reduce([np.fmax.reduce(v[idx], axis=-1) for v in views], axis=0)
            hit = fmax >= sat
            flags[idx[0][hit], idx[1][hit]] |= qcm.SATURATED
