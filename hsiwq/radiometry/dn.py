"""Raw counts (DN) to radiance, per channel (docs/contracts.md §3).

Radiance = gain × NL(DN − dark) / integration_ms, with ``dark`` the mean of the delivered
dark frame (else the calibration's ``offset_dn``) and NL an optional count non-linearity
correction. A pixel is saturated when any band reaches ``saturation_dn`` in the raw counts.
The calibration's band centres may differ slightly from the file's: calibration arrays are
interpolated to the file's band centres.

All arithmetic on cubes is float32 and vectorised; the per-band coefficients are computed once
in float64 and cast. Large cubes are processed in blocks of lines by the caller
(:mod:`hsiwq.radiometry.correct`), so that no full-size temporary is made here.

References
----------
.. [1] Mueller, J. L. et al. (2003). Ocean Optics Protocols for Satellite Ocean Color Sensor
   Validation, Revision 4, Vol. II, NASA/TM-2003-211621/Rev4-Vol.II, ch. 2–3 (dark
   subtraction, integration-time normalisation, absolute calibration).
.. [2] Ruddick, K., Voss, K., Banks, A. C., et al. (2019). A review of protocols for fiducial
   reference measurements of downwelling irradiance for the validation of satellite remote
   sensing data over water. Remote Sensing 11(15), 1742 (non-linearity, saturation).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from hsiwq.errors import CalibrationError
from hsiwq.sensor import ChannelCalibration


@dataclass(frozen=True)
class ChannelCoefficients:
    """Per-band coefficients of one channel on the file's band centres.

    Attributes
    ----------
    wavelength_nm : ndarray
        The file's band centres [nm], float64.
    dark_dn : ndarray
        Dark level [DN], float32, shape (bands,), or (x, bands) for a per-sample dark.
    scale : ndarray
        gain / integration_ms [radiance unit per DN], float32, shape (bands,).
    saturation_dn : float
        Saturation level [DN].
    nonlinearity : ndarray or None
        Polynomial coefficients c (shape (n,) or (n, bands)) of
        S_corrected = S × (1 + c[0]·S + c[1]·S² + ...), S = DN − dark [DN]; None when linear.
    """

    wavelength_nm: np.ndarray
    dark_dn: np.ndarray
    scale: np.ndarray
    saturation_dn: float
    nonlinearity: np.ndarray | None = None


def calibration_on_bands(cal: ChannelCalibration, wavelength_nm: np.ndarray, *,
                         where: str = "calibration", tolerance_nm: float | None = None,
                         ) -> dict[str, np.ndarray | None]:
    """Interpolate a channel calibration to the file's band centres.

    Parameters
    ----------
    cal : ChannelCalibration
        The channel's calibration.
    wavelength_nm : ndarray
        The file's band centres [nm].
    where : str
        Name used in error messages (the calibration file).
    tolerance_nm : float or None
        How far outside the calibration's wavelength range a file band may lie [nm] (the edge
        value applies there); None: half the calibration's median band spacing.

    Returns
    -------
    dict
        ``gain``, ``offset_dn`` (float64, per file band) and ``nonlinearity`` (None, (n,) or
        (n, bands)).

    Raises
    ------
    CalibrationError
        If the file's bands extend beyond the calibrated range by more than the tolerance.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    cwl = np.asarray(cal.wavelength_nm, dtype=float)
    order = np.argsort(cwl)
    cwl = cwl[order]
    if tolerance_nm is None:
        tolerance_nm = 0.5 * float(np.median(np.diff(cwl))) if cwl.size > 1 else 0.5
    lo, hi = float(wl.min()), float(wl.max())
    if lo < cwl[0] - tolerance_nm or hi > cwl[-1] + tolerance_nm:
        raise CalibrationError(where, f"calibrated for {cwl[0]:g}–{cwl[-1]:g} nm but the data "
                                      f"has bands at {lo:g}–{hi:g} nm")

    def on_bands(a: np.ndarray) -> np.ndarray:
        a = np.broadcast_to(np.asarray(a, dtype=float), (cwl.size,))[order]
        return np.interp(wl, cwl, a) if cwl.size > 1 else np.full(wl.size, a[0])

    nl = cal.nonlinearity
    if nl is not None:
        nl = np.asarray(nl, dtype=float)
        if nl.ndim == 2:
            nl = np.stack([on_bands(row) for row in nl])
    return {"gain": on_bands(cal.gain), "offset_dn": on_bands(cal.offset_dn),
            "nonlinearity": nl}


def channel_coefficients(cube: xr.DataArray, cal: ChannelCalibration, integration_ms: float,
                         *, dark: xr.DataArray | None = None, dark_per_sample: bool = False,
                         where: str = "calibration") -> ChannelCoefficients:
    """Per-band dark level and radiance scale of a channel.

    Parameters
    ----------
    cube : xarray.DataArray
        Raw counts, dims ``(y, x, wavelength)`` [DN] (only its ``wavelength`` is used).
    cal : ChannelCalibration
        Calibration of the channel.
    integration_ms : float
        Integration time [ms]; not finite or not positive gives NaN scales (the
        acquisition is then rejected by QC rather than failing here).
    dark : xarray.DataArray or None
        Dark frame(s) [DN], dims ``(y, x, wavelength)``; its mean over lines and samples
        (ignoring NaN) is the dark level. None: the calibration's ``offset_dn``.
    dark_per_sample : bool
        Use the dark's mean over lines only, per sample (x), when it has the cube's samples.
    where : str
        Name of the calibration for error messages.

    Returns
    -------
    ChannelCoefficients
    """
    wl = np.asarray(cube["wavelength"].values, dtype=float)
    c = calibration_on_bands(cal, wl, where=where)
    if dark is not None:
        d = np.asarray(dark.transpose("y", "x", "wavelength").values)
        per_x = dark_per_sample and d.shape[1] == cube.sizes["x"] and d.shape[1] > 1
        axes = 0 if per_x else (0, 1)
        if d.dtype.kind in "iu" or not np.isnan(d).any():
            dark_dn = d.mean(axis=axes, dtype=np.float64)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN band: offset below
                dark_dn = np.nanmean(d, axis=axes, dtype=np.float64)
        dark_dn = np.where(np.isfinite(dark_dn), dark_dn, c["offset_dn"])
    else:
        dark_dn = c["offset_dn"]
    t = float(integration_ms) if integration_ms is not None else float("nan")
    if not (np.isfinite(t) and t > 0):
        t = float("nan")
    return ChannelCoefficients(
        wavelength_nm=wl, dark_dn=np.asarray(dark_dn, dtype=np.float32),
        scale=np.asarray(c["gain"] / t, dtype=np.float32),
        saturation_dn=float(cal.saturation_dn), nonlinearity=c["nonlinearity"])


def apply_nonlinearity(signal: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """Count non-linearity correction S × (1 + c0·S + c1·S² + ...), in place.

    Parameters
    ----------
    signal : ndarray
        Dark-subtracted counts S [DN], float32, bands last; modified and returned.
    coeffs : ndarray
        Coefficients, shape (n,) or (n, bands).

    Returns
    -------
    ndarray
        The corrected counts [DN].
    """
    c = np.asarray(coeffs, dtype=np.float32)
    poly = np.zeros_like(signal)
    for k in range(c.shape[0] - 1, -1, -1):  # Horner: ((c_{n-1} S + c_{n-2}) S + ...) S
        poly += c[k]
        poly *= signal
    poly += 1.0
    signal *= poly
    return signal


def counts_to_radiance(dn: np.ndarray, coef: ChannelCoefficients,
                       out: np.ndarray | None = None) -> np.ndarray:
    """Radiance from raw counts for a block of pixels.

    Parameters
    ----------
    dn : ndarray
        Raw counts [DN], bands last, any numeric dtype (NaN = no data).
    coef : ChannelCoefficients
        Coefficients of the channel on these bands.
    out : ndarray or None
        float32 output buffer of the same shape.

    Returns
    -------
    ndarray
        Radiance, float32 [W m-2 sr-1 nm-1 or W m-2 nm-1].
    """
    out = np.subtract(dn, coef.dark_dn, out=out, dtype=np.float32)
    if coef.nonlinearity is not None:
        apply_nonlinearity(out, coef.nonlinearity)
    out *= coef.scale
    return out


def saturated(dn: np.ndarray, saturation_dn: float) -> np.ndarray:
    """Whether any band of each pixel reaches the saturation level.

    Parameters
    ----------
    dn : ndarray
        Raw counts [DN], bands last.
    saturation_dn : float
        Saturation level [DN].

    Returns
    -------
    ndarray of bool
        Shape ``dn.shape[:-1]`` (NaN counts are not saturated).
    """
    if dn.shape[-1] == 0:
        return np.zeros(dn.shape[:-1], dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.max(dn, axis=-1) >= saturation_dn  # NaN propagates to the max: not saturated


def spectrum_radiance(cube: xr.DataArray, cal: ChannelCalibration, integration_ms: float, *,
                      where: str = "calibration") -> tuple[np.ndarray, np.ndarray, bool]:
    """Mean radiance spectrum of a small cube (sky or irradiance channel).

    Parameters
    ----------
    cube : xarray.DataArray
        Raw counts, dims ``(y, x, wavelength)`` [DN] (1 × 1 × bands or a small cube).
    cal : ChannelCalibration
        The channel's calibration (its ``offset_dn`` is the dark level).
    integration_ms : float
        Integration time [ms].
    where : str
        Name of the calibration for error messages.

    Returns
    -------
    wavelength_nm : ndarray
        The channel's band centres [nm].
    radiance : ndarray
        Mean over its pixels (ignoring NaN), float64 [W m-2 sr-1 nm-1 or W m-2 nm-1].
    saturated : bool
        Whether any pixel of the cube is saturated.
    """
    coef = channel_coefficients(cube, cal, integration_ms, where=where)
    dn = np.asarray(cube.transpose("y", "x", "wavelength").values)
    rad = counts_to_radiance(dn, coef).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN band stays NaN
        mean = np.nanmean(rad.reshape(-1, rad.shape[-1]), axis=0)
    return coef.wavelength_nm, mean, bool(saturated(dn, coef.saturation_dn).any())
