"""From IOPs to Rrs, Kd and Secchi depth in the second simulator (pure array functions).

Spectra have shape (n_samples, n_wavelengths) [1/m or sr-1]; wavelengths [nm].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Gordon et al. (1988): rrs = l1·u + l2·u², u = bb/(a + bb) [sr-1].
L1_GORDON1988, L2_GORDON1988 = 0.0949, 0.0794
#: Lee et al. (1999): Rrs = 0.5·rrs/(1 − 1.5·rrs) (air–water transfer) [-].
T_LEE1999, GAMMA_LEE1999 = 0.5, 1.5
#: Raman factor RF = α·Rrs(440)/Rrs(550) + β1·Rrs(550)^β2 at MODIS bands (Lee et al. 2013,
#: appendix), held constant beyond 667 nm: λ [nm], α, β1, β2.
RAMAN_TABLE = np.array([[412, 0.003, 0.014, -0.022], [443, 0.004, 0.015, -0.023],
                        [488, 0.011, 0.010, -0.051], [531, 0.015, 0.010, -0.070],
                        [551, 0.017, 0.010, -0.080], [667, 0.018, 0.010, -0.081]])
#: Sun-induced chlorophyll fluorescence: emission band centre and standard deviation [nm]
#: (Gaussian of 25 nm FWHM at 685 nm, Gower et al. 2004).
SICF_CENTRE_NM, SICF_SIGMA_NM = 685.0, 10.6
#: Secchi coupling constant Γ of Z_SD = Γ/(c + Kd) [-] (Tyler 1968; Preisendorfer 1986).
TYLER_GAMMA = 8.7
#: Backscattering ratio of suspended particles, b_bp/b_p, to get b_p for c and Kd [-]
#: (Petzold's turbid-water phase function).
BBP_RATIO = 0.019


def rrs_gordon(a: ArrayLike, bb: ArrayLike) -> np.ndarray:
    """Above-surface Rrs [sr-1] from total absorption and backscattering [1/m].

    References
    ----------
    .. [1] Gordon, H. R., Brown, O. B., Evans, R. H., Brown, J. W., Smith, R. C., Baker, K. S.,
       Clark, D. K. (1988). A semianalytic radiance model of ocean color. J. Geophys. Res.
       93(D9), 10909–10924.
    .. [2] Lee, Z. P., Carder, K. L., Mobley, C. D., Steward, R. G., Patch, J. S. (1999).
       Hyperspectral remote sensing for shallow waters. 2. Deriving bottom depths and water
       properties by optimization. Appl. Opt. 38(18), 3831–3843.
    """
    a, bb = np.asarray(a, float), np.asarray(bb, float)
    u = bb / (a + bb)
    r = L1_GORDON1988 * u + L2_GORDON1988 * u * u
    return T_LEE1999 * r / (1.0 - GAMMA_LEE1999 * r)


def raman_factor(wavelength_nm: ArrayLike, rrs: ArrayLike) -> np.ndarray:
    """Raman share RF(λ) of the elastic Rrs: Rrs_total = Rrs_elastic·(1 + RF).

    References
    ----------
    .. [1] Lee, Z., Hu, C., Shang, S., Du, K., Lewis, M., Arnone, R., Brewin, R. (2013).
       Penetration of UV-visible solar radiation in the global oceans: insights from ocean
       color remote sensing. J. Geophys. Res. Oceans 118, 4241–4255.
    .. [2] Westberry, T. K., Boss, E., Lee, Z. (2013). Influence of Raman scattering on ocean
       color inversion models. Appl. Opt. 52(22), 5552–5561.
    """
    wl = np.asarray(wavelength_nm, float)
    rrs = np.asarray(rrs, float)
    r440 = np.clip(_at(wl, rrs, 440.0), 1e-6, None)
    r550 = np.clip(_at(wl, rrs, 550.0), 1e-6, None)
    alpha, b1, b2 = (np.interp(wl, RAMAN_TABLE[:, 0], RAMAN_TABLE[:, k]) for k in (1, 2, 3))
    return alpha * (r440 / r550)[:, None] + b1 * r550[:, None] ** b2


def fluorescence(wavelength_nm: ArrayLike, a_ph: ArrayLike, a: ArrayLike, kd: ArrayLike,
                 quantum_yield: ArrayLike) -> np.ndarray:
    """Sun-induced chlorophyll fluorescence Rrs_f(λ) [sr-1].

    Rrs_f(λ) = 0.54·φ/(4π)·[∫a_ph dλ'/(√(2π)·σ)]/(a(685) + K̄d)·exp(−(λ − 685)²/(2σ²)),
    the light absorbed by phytoplankton over 400–700 nm (flat downwelling quanta) re-emitted
    isotropically with quantum yield φ in a Gaussian band, seen from a layer attenuating it by
    a(685) on the way up and K̄d (mean Kd over 400–700 nm) on the way down.

    References
    ----------
    .. [1] Gower, J. F. R., Brown, L., Borstad, G. A. (2004). Observation of chlorophyll
       fluorescence in west coast waters of Canada using the MODIS satellite sensor. Can. J.
       Remote Sens. 30(1), 17–25.
    .. [2] Huot, Y., Brown, C. A., Cullen, J. J. (2005). New algorithms for MODIS
       sun-induced chlorophyll fluorescence and a comparison with present data products.
       Limnol. Oceanogr. Methods 3, 108–130.
    """
    wl = np.asarray(wavelength_nm, float)
    par = (wl >= 400.0) & (wl <= 700.0)
    absorbed = np.trapezoid(np.asarray(a_ph)[:, par], wl[par], axis=1)
    k_mean = np.asarray(kd)[:, par].mean(axis=1)
    a685 = _at(wl, np.asarray(a), SICF_CENTRE_NM)
    peak = 0.54 * np.asarray(quantum_yield, float) / (4 * np.pi) * absorbed \
        / (np.sqrt(2 * np.pi) * SICF_SIGMA_NM) / (a685 + k_mean)
    return peak[:, None] * np.exp(-0.5 * ((wl - SICF_CENTRE_NM) / SICF_SIGMA_NM) ** 2)


def kd_kirk(a: ArrayLike, b: ArrayLike, sun_zenith_deg: ArrayLike) -> np.ndarray:
    """Kd = (a² + G·a·b)^½/μ0, G = 0.425·μ0 − 0.19, μ0 the cosine of the refracted sun [1/m].

    References
    ----------
    .. [1] Kirk, J. T. O. (1984). Dependence of relationship between inherent and apparent
       optical properties of water on solar altitude. Limnol. Oceanogr. 29(2), 350–356.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    mu0 = np.cos(np.arcsin(np.sin(np.radians(np.asarray(sun_zenith_deg, float))) / 1.34))[:, None]
    return np.sqrt(a * a + (0.425 * mu0 - 0.19) * a * b) / mu0


def secchi_tyler(wavelength_nm: ArrayLike, a: ArrayLike, b: ArrayLike, kd: ArrayLike) -> np.ndarray:
    """Secchi depth Z_SD = Γ/(c + Kd) at the most transparent wavelength of 410–700 nm [m].

    References
    ----------
    .. [1] Tyler, J. E. (1968). The Secchi disc. Limnol. Oceanogr. 13(1), 1–6.
    .. [2] Preisendorfer, R. W. (1986). Secchi disk science: visual optics of natural waters.
       Limnol. Oceanogr. 31(5), 909–926.
    """
    wl = np.asarray(wavelength_nm, float)
    vis = (wl >= 410.0) & (wl <= 700.0)
    s = (np.asarray(a) + np.asarray(b) + np.asarray(kd))[:, vis]
    return TYLER_GAMMA / s.min(axis=1)


def _at(wl: np.ndarray, spectra: np.ndarray, w: float) -> np.ndarray:
    """Each row of ``spectra`` interpolated at ``w`` [nm]."""
    j = int(np.clip(np.searchsorted(wl, w), 1, wl.size - 1))
    t = (w - wl[j - 1]) / (wl[j] - wl[j - 1])
    return (1 - t) * spectra[:, j - 1] + t * spectra[:, j]
