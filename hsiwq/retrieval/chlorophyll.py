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


def chl_gilerson2010_3band(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Three-band NIR-red algorithm of Gilerson et al. (2010) [µg/L].

    chl = [113.36·(R665⁻¹ − R708⁻¹)·R753 + 16.45]^1.124; the 753 nm band removes most of the
    backscattering of particles (Gitelson et al. 2008).

    References
    ----------
    .. [1] Gilerson, A. A. et al. (2010). Opt. Express 18(23), 24109–24125.
    .. [2] Gitelson, A. A., Dall'Olmo, G., Moses, W., et al. (2008). A simple semi-analytical
       model for remote estimation of chlorophyll-a in turbid waters: Validation. Remote Sens.
       Environ. 112, 3582–3593.
    """
    r665 = band(rrs, wavelength_nm, 665.0)
    r708 = band(rrs, wavelength_nm, 708.0)
    r753 = band(rrs, wavelength_nm, 753.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        base = 113.36 * (1.0 / r665 - 1.0 / r708) * r753 + 16.45
        return np.where(base > 0, np.abs(base) ** 1.124, np.nan)


#: OC4 coefficients (SeaWiFS OC4v6 update of O'Reilly et al. 2000), log10 chl = Σ a_i·X^i.
OC4_COEFFICIENTS = (0.3272, -2.9940, 2.7218, -1.2259, -0.5683)


def chl_oc4_oreilly2000(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Blue-green maximum band ratio algorithm OC4 [µg/L].

    X = log10(max(R443, R490, R510)/R555); for clear water, where red-edge algorithms have
    no signal; CDOM-rich inland water biases it high.

    References
    ----------
    .. [1] O'Reilly, J. E., Maritorena, S., Siegel, D. A., et al. (2000). Ocean color
       chlorophyll a algorithms for SeaWiFS, OC2, and OC4: Version 4. SeaWiFS Postlaunch
       Technical Report Series 11, NASA/TM-2000-206892, 9–23 (coefficients of the OC4v6
       update).
    """
    blue = np.maximum(np.maximum(band(rrs, wavelength_nm, 443.0), band(rrs, wavelength_nm, 490.0)),
                      band(rrs, wavelength_nm, 510.0))
    green = band(rrs, wavelength_nm, 555.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.log10(blue / green)
        log_chl = sum(c * x**i for i, c in enumerate(OC4_COEFFICIENTS))
        return np.where(np.isfinite(x), 10.0 ** log_chl, np.nan)


def water_type_weights(rrs: np.ndarray, wavelength_nm: np.ndarray) -> dict[str, np.ndarray]:
    """Soft memberships of three broad inland water types [-] (they sum to 1).

    ``turbid``: red reflectance ρw(645) = π·Rrs(645) rising over 0.05–0.07, the switch of
    Dogliotti et al. (2015); ``productive`` (of the rest): NDCI rising over −0.05…0.05, a
    red-edge peak above the red trough (Mishra & Mishra 2012); ``clear``: the remainder.

    References
    ----------
    .. [1] Dogliotti, A. I. et al. (2015). Remote Sens. Environ. 156, 157–168.
    .. [2] Mishra, S., Mishra, D. R. (2012). Remote Sens. Environ. 117, 394–406.
    """
    rho645 = np.pi * band(rrs, wavelength_nm, 645.0)
    turbid = np.clip((rho645 - 0.05) / 0.02, 0.0, 1.0)
    productive = np.clip((np.nan_to_num(ndci(rrs, wavelength_nm), nan=-1.0) + 0.05) / 0.1, 0.0, 1.0)
    productive = productive * (1.0 - turbid)
    return {"clear": 1.0 - turbid - productive, "productive": productive, "turbid": turbid}


def chl_blended(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Chlorophyll-a blended by water type, needing no calibration [µg/L].

    ln chl = Σ_k w_k·ln chl_k over :func:`water_type_weights`: OC4 for clear water, the
    geometric mean of the Gilerson et al. (2010) two-band and Gons et al. (2005) algorithms
    for productive water, Gons et al. (2005) for sediment-dominated water (its 778 nm
    backscattering term absorbs the particle signal). Where a member algorithm gives no
    value, the others of its type carry its weight.

    References
    ----------
    .. [1] O'Reilly, J. E. et al. (2000). NASA/TM-2000-206892 vol. 11.
    .. [2] Gilerson, A. A. et al. (2010). Opt. Express 18(23), 24109–24125.
    .. [3] Gons, H. J. et al. (2005). J. Plankton Res. 27(1), 125–127.
    .. [4] Neil, C., Spyrakos, E., Hunter, P. D., Tyler, A. N. (2019). A global approach for
       chlorophyll-a retrieval across optically complex inland waters based on optical water
       types. Remote Sens. Environ. 229, 159–178 (blending by water type).
    """
    w = water_type_weights(rrs, wavelength_nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        oc4 = np.log(chl_oc4_oreilly2000(rrs, wavelength_nm))
        gil = np.log(chl_gilerson2010(rrs, wavelength_nm))
        gons = np.log(chl_gons2005(rrs, wavelength_nm))
    productive = np.nanmean(np.stack([gil, gons]), axis=0) if gil.size else gil
    members = {"clear": oc4, "productive": productive, "turbid": np.where(np.isfinite(gons), gons, gil)}
    num = np.zeros(np.shape(oc4))
    den = np.zeros(np.shape(oc4))
    for k, v in members.items():
        ok = np.isfinite(v)
        num += np.where(ok, w[k] * np.where(ok, v, 0.0), 0.0)
        den += np.where(ok, w[k], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-6, np.exp(num / den), np.nan)
