"""Chlorophyll-a from red and near-infrared reflectance (optically complex inland waters).

All functions take Rrs arrays of shape (..., n_wavelength) [sr-1] with their band centres
[nm] and return chlorophyll-a [µg/L] of shape (...); values where an algorithm is not
applicable are NaN.
"""

from __future__ import annotations

import numpy as np

from .bands import band


def ndci(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Normalised Difference Chlorophyll Index (R708 − R665)/(R708 + R665) [-].

    References
    ----------
    .. [1] Mishra, S., Mishra, D. R. (2012). Normalized difference chlorophyll index: A novel
       model for remote estimation of chlorophyll-a concentration in turbid productive waters.
       Remote Sens. Environ. 117, 394–406.
    """
    r665 = band(rrs, wavelength_nm, 665.0)
    r708 = band(rrs, wavelength_nm, 708.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r708 - r665) / (r708 + r665)


def chl_ndci_mishra2012(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Chlorophyll-a from NDCI with the quadratic of Mishra & Mishra (2012) [µg/L].

    chl = 14.039 + 86.115·NDCI + 194.325·NDCI², applicable for NDCI in about −0.1…0.5.

    References
    ----------
    .. [1] Mishra, S., Mishra, D. R. (2012). Remote Sens. Environ. 117, 394–406.
    """
    x = ndci(rrs, wavelength_nm)
    chl = 14.039 + 86.115 * x + 194.325 * x**2
    return np.where((x > -0.1) & (x < 0.6), chl, np.nan)


def chl_gilerson2010(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Two-band NIR-red algorithm of Gilerson et al. (2010) [µg/L].

    chl = (35.75·R708/R665 − 19.30)^1.124 (MERIS bands 665 and 708 nm).

    References
    ----------
    .. [1] Gilerson, A. A., Gitelson, A. A., Zhou, J., et al. (2010). Algorithms for remote
       estimation of chlorophyll-a in coastal and inland waters using red and near infrared
       bands. Opt. Express 18(23), 24109–24125.
    """
    r665 = band(rrs, wavelength_nm, 665.0)
    r708 = band(rrs, wavelength_nm, 708.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = 35.75 * r708 / r665 - 19.30
        return np.where(base > 0, np.abs(base) ** 1.124, np.nan)


def chl_gons2005(
    rrs: np.ndarray,
    wavelength_nm: np.ndarray,
    specific_absorption: float = 0.0161,
) -> np.ndarray:
    """Semi-analytical red-edge algorithm of Gons et al. (2002, 2005) [µg/L].

    bb = 1.61·R(778)/(0.082 − 0.6·R(778)) [1/m];
    chl = [R(708)/R(665)·(a_w(708) + bb) − a_w(665) − bb^p] / a*_ph(665),
    with a_w(708) = 0.70 m⁻¹, a_w(665) = 0.40 m⁻¹, p = 1.06 and R = π·Rrs.

    Parameters
    ----------
    specific_absorption : float
        Chlorophyll-specific absorption a*_ph(665) [m² mg⁻¹]; 0.0161 in Gons et al. (2005).

    References
    ----------
    .. [1] Gons, H. J., Rijkeboer, M., Ruddick, K. G. (2002). A chlorophyll-retrieval
       algorithm for satellite imagery (Medium Resolution Imaging Spectrometer) of inland
       and coastal waters. J. Plankton Res. 24(9), 947–951.
    .. [2] Gons, H. J., Rijkeboer, M., Ruddick, K. G. (2005). Effect of a waveband shift on
       chlorophyll retrieval from MERIS imagery of inland and coastal waters. J. Plankton
       Res. 27(1), 125–127.
    """
    r665 = np.pi * band(rrs, wavelength_nm, 665.0)
    r708 = np.pi * band(rrs, wavelength_nm, 708.0)
    r778 = np.pi * band(rrs, wavelength_nm, 778.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        bb = 1.61 * r778 / (0.082 - 0.6 * r778)
        chl = (r708 / r665 * (0.70 + bb) - 0.40 - np.abs(bb) ** 1.06) / specific_absorption
    return np.where((bb > 0) & np.isfinite(chl), chl, np.nan)
