"""Diffuse attenuation (Lee et al. 2013) and Secchi depth (Lee et al. 2015) from IOPs."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Coefficients of the Lee et al. (2013) Kd model.
KD_M0, KD_M1, KD_M2, KD_M3, KD_GAMMA = 0.005, 4.26, 0.52, 10.8, 0.265
#: Spectral window searched for the most transparent wavelength [nm] ("visible domain").
SECCHI_WINDOW_NM = (410.0, 700.0)


def kd_lee2013(a: ArrayLike, bb: ArrayLike, bbw: ArrayLike, sun_zenith_deg: float) -> np.ndarray:
    """Spectral diffuse attenuation coefficient of downwelling irradiance.

    Kd = (1 + m0·θs)·a + (1 − γ·bb_w/bb)·m1·(1 − m2·exp(−m3·a))·bb, with m0 = 0.005,
    m1 = 4.26, m2 = 0.52, m3 = 10.8, γ = 0.265 and θs in degrees.

    Parameters
    ----------
    a : array_like
        Total absorption [1/m], shape (..., n_wl).
    bb : array_like
        Total backscattering [1/m], same shape.
    bbw : array_like
        Pure-water backscattering [1/m], broadcastable (e.g. shape (n_wl,)).
    sun_zenith_deg : float
        Solar zenith angle [deg].

    Returns
    -------
    ndarray
        Kd [1/m] (average over the euphotic layer).

    References
    ----------
    .. [1] Lee, Z., Hu, C., Shang, S., Du, K., Lewis, M., Arnone, R., Brewin, R. (2013).
       Penetration of UV-visible solar radiation in the global oceans: Insights from ocean
       color remote sensing. J. Geophys. Res. Oceans 118, 4241–4255.
    """
    a = np.asarray(a, dtype=float)
    bb = np.asarray(bb, dtype=float)
    return ((1.0 + KD_M0 * sun_zenith_deg) * a
            + (1.0 - KD_GAMMA * np.asarray(bbw) / bb) * KD_M1
            * (1.0 - KD_M2 * np.exp(-KD_M3 * a)) * bb)


def secchi_lee2015(wavelength_nm: ArrayLike, kd: ArrayLike, rrs: ArrayLike,
                   window_nm: tuple[float, float] = SECCHI_WINDOW_NM) -> np.ndarray:
    """Secchi depth from the most transparent wavelength (Lee et al. 2015).

    Z_SD = 1/(2.5·Kd_tr) · ln(|0.14 − Rrs_tr| / 0.013), where Kd_tr is the minimum of Kd over
    the visible window and Rrs_tr the Rrs at that wavelength.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,).
    kd : array_like
        Kd [1/m], shape (..., n_wl).
    rrs : array_like
        Above-surface Rrs [sr⁻¹], shape (..., n_wl).
    window_nm : tuple of float
        Wavelength range searched for the minimum of Kd [nm].

    Returns
    -------
    ndarray
        Secchi depth [m], shape (...).

    References
    ----------
    .. [1] Lee, Z., Shang, S., Hu, C., Du, K., Weidemann, A., Hou, W., Lin, J., Lin, G.
       (2015). Secchi disk depth: A new theory and mechanistic model for underwater
       visibility. Remote Sens. Environ. 169, 139–149.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    sel = (wl >= window_nm[0]) & (wl <= window_nm[1])
    if not sel.any():
        raise ValueError(f"no wavelength within {window_nm} nm")
    kd = np.asarray(kd, dtype=float)[..., sel]
    rrs = np.asarray(rrs, dtype=float)[..., sel]
    idx = np.argmin(kd, axis=-1)[..., None]
    kd_tr = np.take_along_axis(kd, idx, axis=-1)[..., 0]
    rrs_tr = np.take_along_axis(rrs, idx, axis=-1)[..., 0]
    return np.log(np.abs(0.14 - rrs_tr) / 0.013) / (2.5 * kd_tr)
