"""Suspended solids and turbidity from red / near-infrared reflectance.

Functions take Rrs arrays (..., n_wavelength) [sr-1] with band centres [nm].
"""

from __future__ import annotations

import numpy as np

from .bands import band


def _nechad_form(rho_w: np.ndarray, a: float, c: float) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = a * rho_w / (1.0 - rho_w / c)
    return np.where((rho_w > 0) & (rho_w < c), out, np.nan)


def tss_nechad2010(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Total suspended solids by the single-band algorithm of Nechad et al. (2010) [mg/L].

    TSS = A·ρw/(1 − ρw/C) with ρw = π·Rrs, using 665 nm (A = 355.85 mg/L, C = 0.1728) and,
    where ρw(665) exceeds 0.05 (the red band nears saturation), 865 nm
    (A = 2971.93 mg/L, C = 0.2115), blended linearly over ρw(665) 0.05–0.07 as in
    Dogliotti et al. (2015) and Novoa et al. (2017).

    References
    ----------
    .. [1] Nechad, B., Ruddick, K. G., Park, Y. (2010). Calibration and validation of a
       generic multisensor algorithm for mapping of total suspended matter in turbid waters.
       Remote Sens. Environ. 114(4), 854–866.
    .. [2] Novoa, S., Doxaran, D., Ody, A., et al. (2017). Atmospheric corrections and
       multi-conditional algorithm for multi-sensor remote sensing of suspended particulate
       matter in low-to-high turbidity levels coastal waters. Remote Sens. 9(1), 61.
    """
    red = np.pi * band(rrs, wavelength_nm, 665.0)
    nir = np.pi * band(rrs, wavelength_nm, 865.0, width_nm=20.0)
    return _switch(red, _nechad_form(red, 355.85, 0.1728), _nechad_form(nir, 2971.93, 0.2115))


def turbidity_dogliotti2015(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Turbidity by the semi-analytical switching algorithm of Dogliotti et al. (2015) [FNU≈NTU].

    T = A·ρw/(1 − ρw/C) at 645 nm (A = 228.1, C = 0.1641) and 859 nm (A = 3078.9, C = 0.2112),
    blended linearly over ρw(645) 0.05–0.07.

    References
    ----------
    .. [1] Dogliotti, A. I., Ruddick, K. G., Nechad, B., Doxaran, D., Knaeps, E. (2015).
       A single algorithm to retrieve turbidity from remotely-sensed data in all coastal and
       estuarine waters. Remote Sens. Environ. 156, 157–168.
    """
    red = np.pi * band(rrs, wavelength_nm, 645.0)
    return _switch(red, _nechad_form(red, 228.1, 0.1641),
                   turbidity_dogliotti2015_nir(rrs, wavelength_nm))


def turbidity_dogliotti2015_nir(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Turbidity from the 859-nm branch of Dogliotti et al. (2015) alone [FNU≈NTU].

    T = A·ρw/(1 − ρw/C) at 859 nm (A = 3078.9, C = 0.2112), ρw = π·Rrs.

    For water whose red reflectance carries pigment absorption: in a phytoplankton or
    cyanobacteria bloom, chlorophyll-a and phycocyanin absorb at 645 nm (the red band of the
    switching algorithm), so the red branch reads a bloom as clearer water than it is. Beyond
    750 nm pure water dominates the absorption of any natural water, so the near-infrared
    reflectance follows particle backscattering alone (Gons et al. 2002 use 778 nm for the
    same reason). The price is sensitivity in clear water: below ≈ 5 FNU ρw(859) is of the
    order of the residual sky-glint error, where the switching algorithm is the better choice.

    References
    ----------
    .. [1] Dogliotti, A. I., Ruddick, K. G., Nechad, B., Doxaran, D., Knaeps, E. (2015).
       A single algorithm to retrieve turbidity from remotely-sensed data in all coastal and
       estuarine waters. Remote Sens. Environ. 156, 157–168.
    .. [2] Gons, H. J., Rijkeboer, M., Ruddick, K. G. (2002). A chlorophyll-retrieval
       algorithm for satellite imagery (Medium Resolution Imaging Spectrometer) of inland
       and coastal waters. J. Plankton Res. 24(9), 947–951.
    """
    nir = np.pi * band(rrs, wavelength_nm, 859.0, width_nm=20.0)
    return _nechad_form(nir, 3078.9, 0.2112)


def _switch(red_rho: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Blend two estimates by the red reflectance, 0.05–0.07 (Dogliotti et al. 2015)."""
    w = np.clip((red_rho - 0.05) / 0.02, 0.0, 1.0)
    blended = (1 - w) * low + w * high
    return np.where(w <= 0, low, np.where(w >= 1, high, blended))
