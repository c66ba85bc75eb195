"""Spectral resampling of sky radiance and irradiance spectra to the camera's bands.

The water camera, the sky radiometer and the irradiance spectrometer need not share a band
set. Spectra are brought to the camera's band centres either by linear interpolation, or,
when the source is sampled more finely than the target bands are wide, by convolution with a
Gaussian spectral response function (SRF) of the target FWHM, so that Li and Ed are seen
through the same band response as Lt.

References
----------
.. [1] Chander, G., Mishra, N., Helder, D. L., et al. (2013). Applications of spectral band
   adjustment factors (SBAF) for cross-calibration. IEEE TGRS 51(3), 1267–1281 (band
   integration of hyperspectral data with a spectral response function).
"""

from __future__ import annotations

import numpy as np

#: FWHM of a Gaussian over its standard deviation, 2·sqrt(2·ln 2) [-].
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def gaussian_srf_matrix(src_wl: np.ndarray, dst_wl: np.ndarray, dst_fwhm: np.ndarray,
                        src_fwhm: np.ndarray | None = None) -> np.ndarray:
    """Weights that band-average a finely sampled spectrum with Gaussian SRFs.

    Parameters
    ----------
    src_wl : ndarray
        Source sample wavelengths [nm], increasing, shape (n_src,).
    dst_wl, dst_fwhm : ndarray
        Target band centres and full widths at half maximum [nm], shape (n_dst,).
    src_fwhm : ndarray or None
        Source band widths [nm]; when given, the target SRF is narrowed to
        sqrt(FWHM_dst² − FWHM_src²) so that the source's own width is not counted twice.

    Returns
    -------
    ndarray
        Matrix W of shape (n_dst, n_src), rows summing to 1, so that ``spectrum @ W.T`` is the
        band-averaged spectrum; the SRF is weighted by each source sample's spectral width
        (trapezoidal rule), so that unevenly sampled sources are integrated correctly. A row
        whose SRF misses the source range is all NaN.
    """
    src = np.asarray(src_wl, dtype=float)
    dst = np.asarray(dst_wl, dtype=float)
    fwhm = np.broadcast_to(np.asarray(dst_fwhm, dtype=float), dst.shape)
    if src_fwhm is not None:
        s_f = np.interp(dst, src, np.broadcast_to(np.asarray(src_fwhm, dtype=float), src.shape))
        fwhm = np.sqrt(np.maximum(fwhm**2 - s_f**2, (0.25 * fwhm) ** 2))
    sigma = fwhm / FWHM_PER_SIGMA
    width = np.gradient(src) if src.size > 1 else np.ones(1)
    w = np.exp(-0.5 * ((src[None, :] - dst[:, None]) / sigma[:, None]) ** 2) * width[None, :]
    w[np.abs(src[None, :] - dst[:, None]) > 4.0 * sigma[:, None]] = 0.0
    total = w.sum(axis=1, keepdims=True)
    covered = (dst - 1.5 * sigma >= src[0]) & (dst + 1.5 * sigma <= src[-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        w = w / total
    w[~covered | (total[:, 0] <= 0)] = np.nan
    return w


def resample_spectrum(
    values: np.ndarray,
    src_wl: np.ndarray,
    dst_wl: np.ndarray,
    *,
    dst_fwhm: np.ndarray | None = None,
    src_fwhm: np.ndarray | None = None,
    tolerance_nm: float = 0.5,
) -> np.ndarray:
    """Resample spectra to new band centres.

    Linear interpolation by band centre; when ``dst_fwhm`` is given and the source sampling
    interval is finer than half the target FWHM, a Gaussian SRF convolution instead
    (:func:`gaussian_srf_matrix`). Target bands beyond the source range by more than
    ``tolerance_nm`` are NaN (no extrapolation); within it, the edge value applies.

    Parameters
    ----------
    values : ndarray
        Spectra with wavelength on the last axis, shape (..., n_src) [any unit].
    src_wl : ndarray
        Source wavelengths [nm], shape (n_src,), increasing.
    dst_wl : ndarray
        Target band centres [nm], shape (n_dst,).
    dst_fwhm : ndarray or None
        Target band FWHM [nm] (scalar or per band).
    src_fwhm : ndarray or None
        Source band FWHM [nm] (scalar or per band).
    tolerance_nm : float
        How far beyond the source range a target band may lie [nm].

    Returns
    -------
    ndarray
        Shape (..., n_dst), float64 (callers cast) [unit of ``values``].
    """
    v = np.asarray(values, dtype=float)
    src = np.asarray(src_wl, dtype=float)
    dst = np.asarray(dst_wl, dtype=float)
    if src.size == 0:
        raise ValueError("empty source spectrum")
    if src.size > 1 and np.any(np.diff(src) <= 0):
        order = np.argsort(src)
        src, v = src[order], v[..., order]
    outside = (dst < src[0] - tolerance_nm) | (dst > src[-1] + tolerance_nm)
    out = _interp_last(v, src, dst)
    if dst_fwhm is not None and src.size > 2 and _finer(src, dst_fwhm):
        w = gaussian_srf_matrix(src, dst, dst_fwhm, src_fwhm)
        rows = ~np.isnan(w).any(axis=1)  # bands whose SRF lies within the source range
        w_ok = w[rows]
        conv = np.nan_to_num(v) @ w_ok.T
        touched = np.isnan(v).astype(float) @ (w_ok > 0).T > 0  # NaN under the SRF
        out[..., rows] = np.where(touched, np.nan, conv)
    out[..., outside] = np.nan
    return out


def _finer(src: np.ndarray, dst_fwhm: np.ndarray) -> bool:
    """Whether the source sampling interval is finer than half the target FWHM."""
    step = float(np.median(np.diff(src)))
    return step < 0.5 * float(np.median(np.asarray(dst_fwhm, dtype=float)))


def _interp_last(v: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """np.interp along the last axis for any leading shape (edge values beyond the range;
    NaN samples propagate to the neighbouring targets)."""
    if src.size == 1:
        return np.broadcast_to(v, v.shape[:-1] + (dst.size,)).copy()
    flat = v.reshape(-1, src.size)
    out = np.empty((flat.shape[0], dst.size))
    for i, row in enumerate(flat):
        out[i] = np.interp(dst, src, row)
    return out.reshape(v.shape[:-1] + (dst.size,))


def band_window(wavelength_nm: np.ndarray, centre_nm: float,
                half_width_nm: float = 10.0) -> np.ndarray:
    """Indices of the bands within ``centre ± half_width``, or of the nearest band.

    Parameters
    ----------
    wavelength_nm : ndarray
        Band centres [nm].
    centre_nm, half_width_nm : float
        Window [nm].

    Returns
    -------
    ndarray of int
        At least one index.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    idx = np.flatnonzero(np.abs(wl - centre_nm) <= half_width_nm)
    if idx.size == 0:
        idx = np.array([int(np.argmin(np.abs(wl - centre_nm)))])
    return idx
