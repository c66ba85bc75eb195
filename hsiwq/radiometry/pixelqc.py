"""Spectral per-pixel QC: negative Rrs, non-water targets and sun glint (bits of :mod:`.qc`).

NOT_WATER (shore, vegetation, boats, concrete, foam) and SUN_GLINT are told apart by the
shape of the spectrum. Water absorbs strongly in the NIR; sun glint adds a nearly flat
offset δ on top of a water spectrum. So:

1. A pixel fails the *water tests* when (a) Rrs(800) > 2·Rrs(670) and Rrs(800) > 0.005 sr-1
   (red edge of vegetation or scum), (b) Rrs(NIR) > 0.7·max(Rrs(560), Rrs(670)) with that
   maximum > 0.01 sr-1 (NIR-bright surface: soil, concrete, hull, foam), or
   (c) Rrs(560) > 0.08 sr-1.
2. Over the pixels passing the water tests (and without NO_DATA, SATURATED, OUTSIDE_ROI),
   Rrs(860) is regressed robustly on Rrs(800) (on Rrs(670) if the camera stops short of
   800 nm). In water the NIR spectrum has a fixed shape set by water absorption (the
   similarity spectrum of Ruddick et al. 2006), so both bands rise together with turbidity
   and the residual r = Rrs(860) − (α + β·Rrs(800)) stays small across plumes and gradients,
   while a flat offset δ raises it by δ·(1 − β) (β ≈ a_w(800)/a_w(860) ≈ 0.45 in turbid
   water, ≈ 0 where the NIR is only noise). Its spread is the robust sigma 1.4826 × MAD.
3. A pixel with r > max(k·sigma, min_excess) is a glint candidate; with δ = r / (1 − β)
   removed from every band, if it passes the water tests and keeps a water-like green (at
   least ``glint_min_green_fraction`` of the background's), it is SUN_GLINT; otherwise it is
   NOT_WATER. Pixels that are not candidates and fail the water tests are NOT_WATER.

References
----------
.. [1] Kay, S., Hedley, J. D., Lavender, S. (2009). Sun glint correction of high and low
   spatial resolution images of aquatic scenes. Remote Sensing 1(4), 697–730.
.. [2] Tucker, C. J. (1979). Red and photographic infrared linear combinations for monitoring
   vegetation. Remote Sens. Environ. 8(2), 127–150.
.. [3] Ruddick, K. G. et al. (2006). Limnol. Oceanogr. 51(2), 1167–1179 (NIR water-leaving
   reflectance shape).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .qc import (NEGATIVE_RRS, NO_DATA, NOT_WATER, OUTSIDE_ROI, SATURATED, SUN_GLINT, QCOptions,
                 add_flag)
from .reduce import any_last, reduce_last  # noqa: F401 (re-exported)
from .resample import band_window

#: Columns of the per-pixel band averages computed by :meth:`QCBands.products`.
GREEN, RED, NIR_REDEDGE, NIR_GLINT = range(4)


@dataclass(frozen=True)
class QCBands:
    """Band windows of the per-pixel tests for one band set.

    Attributes
    ----------
    negative : slice
        Bands of the negative-Rrs test.
    windows : tuple of (int, int) or None
        Band ranges [start, stop) (at most 3 bands, nearest the test wavelength) averaged for
        GREEN, RED, NIR_REDEDGE and NIR_GLINT; None when the camera has no band for a test,
        which is then skipped.
    """

    negative: slice
    windows: tuple[tuple[int, int] | None, ...]

    @property
    def has_rededge(self) -> bool:
        """Whether the camera reaches the red-edge NIR test's wavelength."""
        return self.windows[NIR_REDEDGE] is not None

    @property
    def has_glint(self) -> bool:
        """Whether the camera has a NIR band for the glint test."""
        return self.windows[NIR_GLINT] is not None

    @classmethod
    def from_wavelength(cls, wavelength_nm: np.ndarray, options: QCOptions) -> QCBands:
        """Choose the bands of each test among ``wavelength_nm`` [nm] (increasing)."""
        wl = np.asarray(wavelength_nm, dtype=float)
        if wl.size == 0:
            return cls(negative=slice(0, 0), windows=(None, None, None, None))
        lo, hi = options.negative_range_nm
        i0, i1 = int(np.searchsorted(wl, lo, "left")), int(np.searchsorted(wl, hi, "right"))

        def window(centre: float) -> tuple[int, int]:
            idx = band_window(wl, centre)
            if idx.size > 3:
                mid = min(max(int(np.argmin(np.abs(wl[idx] - centre))), 1), idx.size - 2)
                idx = idx[mid - 1:mid + 2]
            return int(idx[0]), int(idx[-1]) + 1

        rededge = window(options.rededge_nir_nm) if wl[-1] >= 750.0 else None
        if wl[-1] >= options.glint_nm - 10.0:
            glint = window(options.glint_nm)
        else:
            glint = (wl.size - 1, wl.size) if wl[-1] > 700.0 else None
        return cls(negative=slice(i0, i1),
                   windows=(window(options.green_nm), window(options.red_nm), rededge, glint))

    def products(self, rrs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Band averages per pixel, columns GREEN, RED, NIR_REDEDGE, NIR_GLINT.

        Parameters
        ----------
        rrs : ndarray
            Rrs [sr-1], shape (..., bands).
        out : ndarray, optional
            float32 array of shape (..., 4) to fill.

        Returns
        -------
        ndarray
            float32, shape (..., 4) [sr-1]; a skipped test's column is NaN.
        """
        fresh = out is None
        if fresh:
            out = np.full(rrs.shape[:-1] + (4,), np.nan, dtype=np.float32)
        for col, win in enumerate(self.windows):
            if win is None:
                if not fresh:
                    out[..., col] = np.nan
                continue
            w0, w1 = win
            acc = out[..., col]
            if w1 - w0 == 1:
                np.copyto(acc, rrs[..., w0])
            else:  # ((r0 + r1) + r2) / n in float32
                np.add(rrs[..., w0], rrs[..., w0 + 1], out=acc)
                for i in range(w0 + 2, w1):
                    acc += rrs[..., i]
                acc /= np.float32(w1 - w0)
        return out


def no_data(block: np.ndarray) -> np.ndarray:
    """Pixels with a non-finite value in some band (bands last)."""
    with np.errstate(invalid="ignore"):
        return any_last(~np.isfinite(block))


def negative_flags(rrs: np.ndarray, bands: QCBands, options: QCOptions) -> np.ndarray:
    """Pixels with Rrs < −tolerance in some band of the negative test's range.

    The block's minimum is checked first; pixels are examined only if it is negative.

    Parameters
    ----------
    rrs : ndarray
        Rrs [sr-1], shape (..., bands).
    bands : QCBands
        ``negative`` slice.
    options : QCOptions
        ``negative_tolerance`` [sr-1].

    Returns
    -------
    ndarray of bool
        Shape ``rrs.shape[:-1]`` (NaN is not negative).
    """
    sub = rrs[..., bands.negative]
    if sub.shape[-1] == 0 or sub.size == 0:
        return np.zeros(rrs.shape[:-1], dtype=bool)
    tol = np.float32(options.negative_tolerance)
    with np.errstate(invalid="ignore"):
        low = sub.min()
        if np.isnan(low):  # rare: NaN pixels (NO_DATA) in the block
            finite = sub[np.isfinite(sub)]
            low = finite.min() if finite.size else 0.0
        if not low < -tol:
            return np.zeros(rrs.shape[:-1], dtype=bool)
        return any_last(sub < -tol)


def fails_water_tests(prod: np.ndarray, bands: QCBands, options: QCOptions,
                      offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Spectral tests (a)–(c) of the module docstring on band averages minus ``offset``.

    Parameters
    ----------
    prod : ndarray
        Band averages (..., 4) [sr-1] from :meth:`QCBands.products`.
    bands : QCBands
        Which tests apply.
    options : QCOptions
        Thresholds.
    offset : ndarray or float
        Flat offset removed from every band first [sr-1] (glint candidates).

    Returns
    -------
    ndarray of bool
    """
    with np.errstate(invalid="ignore"):
        green = prod[..., GREEN] - offset
        bad = green > options.max_green
        if bands.has_rededge:
            nir8 = prod[..., NIR_REDEDGE] - offset
            bad |= ((nir8 > options.vegetation_min_nir)
                    & (nir8 > options.vegetation_ratio * (prod[..., RED] - offset)))
        if bands.has_glint:
            nir = prod[..., NIR_GLINT] - offset
            peak = np.maximum(green, prod[..., RED] - offset)
            bad |= (peak > options.nir_bright_min_green) & (nir > options.nir_bright_ratio * peak)
    return bad


def scene_flags(prod: np.ndarray, qc: np.ndarray, bands: QCBands, options: QCOptions,
                fails: np.ndarray | None = None,
                ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """NOT_WATER and SUN_GLINT over a whole scene (steps 1–3 of the module docstring).

    Parameters
    ----------
    prod : ndarray
        Band averages per pixel (y, x, 4) [sr-1].
    qc : ndarray of uint16
        Flags so far (NO_DATA, SATURATED, OUTSIDE_ROI are excluded from the background).
    bands : QCBands
        Which tests apply.
    options : QCOptions
        Thresholds.
    fails : ndarray of bool, optional
        ``fails_water_tests(prod, bands, options)`` when already computed (it is modified
        and returned as ``not_water``).

    Returns
    -------
    not_water, glint : ndarray of bool
        Shape ``qc.shape``.
    info : dict
        ``glint_intercept`` α [sr-1], ``glint_slope`` β [-] and ``glint_threshold`` on the
        residual [sr-1] (NaN when not computed: no NIR band or fewer than 10 water pixels).
    """
    if qc.ndim == 0:  # a single spectrum
        not_water, glint, info = scene_flags(prod[None], qc[None], bands, options,
                                             None if fails is None else fails[None])
        return not_water.reshape(()), glint.reshape(()), info
    if fails is None:
        fails = fails_water_tests(prod, bands, options)
    info = {"glint_intercept": math.nan, "glint_slope": math.nan, "glint_threshold": math.nan}
    glint = np.zeros(qc.shape, dtype=bool)
    if not bands.has_glint:
        return fails, glint, info
    nir = prod[..., NIR_GLINT]
    use_rededge = bands.has_rededge and bands.windows[NIR_REDEDGE][1] <= bands.windows[NIR_GLINT][0]
    red = prod[..., NIR_REDEDGE if use_rededge else RED]  # the predictor of the NIR
    # Whole-image passes go by chunks of lines: small temporaries stay in cache (and in the
    # allocator's free lists, instead of being mapped and page-faulted afresh).
    chunks = _line_chunks(qc.shape)
    nx = qc.shape[1] if qc.ndim > 1 else 1
    background = np.empty(qc.shape, dtype=bool)
    counts = []
    with np.errstate(invalid="ignore"):
        for r in chunks:
            b = background[r]
            np.equal(qc[r] & (NO_DATA | SATURATED | OUTSIDE_ROI), 0, out=b)
            b &= ~fails[r]
            b &= np.isfinite(nir[r])
            b &= np.isfinite(red[r])
            counts.append(int(np.count_nonzero(b)))
    total = sum(counts)
    if total < 10:
        return fails, glint, info
    # every step-th background pixel: a regular subsample of ~20 000 pixels is plenty for the
    # statistics (the same as flatnonzero(background)[::step], without the full index list)
    step = total // 20_000 if total > 40_000 else 1
    parts, seen = [], 0
    for r, n in zip(chunks, counts):
        if n:
            idx = np.flatnonzero(background[r])
            parts.append(idx[(-seen) % step::step] + r.start * nx)
        seen += n
    bg = np.concatenate(parts)
    alpha, beta, sigma = _robust_line(red.ravel()[bg].astype(float), nir.ravel()[bg].astype(float))
    threshold = max(options.glint_k_sigma * sigma, options.glint_min_excess)
    green_bg = float(_median(prod[..., GREEN].ravel()[bg]))  # background water's green
    info = {"glint_intercept": alpha, "glint_slope": beta, "glint_threshold": threshold}
    found: list[np.ndarray] = []
    excess: list[np.ndarray] = []
    with np.errstate(invalid="ignore"):
        for r in chunks:
            residual = nir[r] - (alpha + beta * red[r])
            candidate = (residual > threshold) & ((qc[r] & NO_DATA) == 0)
            idx = np.flatnonzero(candidate)
            if idx.size:
                found.append(idx + r.start * nx)
                excess.append(residual.ravel()[idx])
        if found:
            c = np.concatenate(found)
            p = np.stack([prod[..., k].ravel()[c] for k in range(4)], axis=-1)  # no copy of prod
            delta = np.concatenate(excess) / (1.0 - beta)
            water_like = ~fails_water_tests(p, bands, options, delta)
            water_like &= (p[:, GREEN] - delta) >= options.glint_min_green_fraction * green_bg
            glint.ravel()[c[water_like]] = True
            fails.ravel()[c] = ~water_like
    return fails, glint, info


def _line_chunks(shape: tuple[int, ...], pixels: int = 65_536) -> list[slice]:
    """Slices of whole lines (first axis) covering about ``pixels`` pixels each."""
    n = shape[0] if shape else 1
    per_line = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    step = max(1, pixels // max(1, per_line))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)] or [slice(0, 0)]


def _median(a: np.ndarray) -> float:
    """``np.median`` of a 1-D array, by a single-pivot partition (5× faster on 20 000 values).

    numpy's median partitions around both middle elements at once, which is far slower than
    around one; the lower middle is then the largest value below the pivot. Same value as
    ``np.median`` (which is used as is when NaN is present).
    """
    n = a.size
    if n == 0:
        return float(np.median(a))
    k = n // 2
    p = np.partition(a, k)
    upper = p[k:].max()
    if np.isnan(upper):
        return float(np.median(a))
    if n % 2:
        return float(p[k])
    return float((p[:k].max() + p[k]) / 2)


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Line y ≈ α + β·x: least-squares slope, median intercept, 3-sigma clipping (2 passes).

    β is kept within [0, 0.9] (water's 860 nm never rises as fast as its 800 nm); when x hardly
    varies (robust spread below 2 % of its median), β = 0 (a plain median). Returns α, β and
    the residuals' robust sigma (1.4826 × MAD).
    """
    keep = np.ones(x.size, dtype=bool)
    beta = 0.0
    x_med = float(_median(x))
    fit = 1.4826 * float(_median(np.abs(x - x_med))) > 0.02 * abs(x_med) + 1e-6
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        if fit and xs.size >= 10:
            dx = xs - xs.mean()
            # sums, not ``@``: a BLAS dot may wake OpenBLAS threads, slow on a busy machine
            var = float(np.sum(dx * dx))
            cov = float(np.sum(dx * (ys - ys.mean())))
            beta = float(np.clip(cov / var, 0.0, 0.9)) if var > 0 else 0.0
        alpha = float(_median(ys - beta * xs))
        res = y - (alpha + beta * x)
        sigma = 1.4826 * float(_median(np.abs(res[keep])))
        if sigma > 0:
            keep = np.abs(res) <= 3.0 * sigma
    res = y - (alpha + beta * x)
    return alpha, beta, 1.4826 * float(_median(np.abs(res - _median(res))))


def pixel_flags(rrs: np.ndarray, wavelength_nm: np.ndarray, options: QCOptions = QCOptions(),
                qc: np.ndarray | None = None) -> np.ndarray:
    """All spectral flags of a set of Rrs pixels taken as one scene.

    Parameters
    ----------
    rrs : ndarray
        Rrs [sr-1], shape (..., bands).
    wavelength_nm : ndarray
        Band centres [nm].
    options : QCOptions
        Thresholds.
    qc : ndarray of uint16 or None
        Flags already known (e.g. SATURATED, OUTSIDE_ROI), shape ``rrs.shape[:-1]``.

    Returns
    -------
    ndarray of uint16
        ``qc`` with NO_DATA, NEGATIVE_RRS, NOT_WATER and SUN_GLINT added.
    """
    bands = QCBands.from_wavelength(wavelength_nm, options)
    flags = np.zeros(rrs.shape[:-1], np.uint16) if qc is None else np.array(qc, np.uint16)
    add_flag(flags, no_data(rrs), NO_DATA)
    add_flag(flags, negative_flags(rrs, bands, options), NEGATIVE_RRS)
    not_water, glint, _ = scene_flags(bands.products(rrs), flags, bands, options)
    add_flag(flags, not_water, NOT_WATER)
    add_flag(flags, glint, SUN_GLINT)
    return flags
