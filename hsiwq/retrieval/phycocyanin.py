"""Phycocyanin from the red absorption features (Simis et al. 2005, 2007).

Functions take Rrs arrays (..., n_wavelength) [sr-1] with band centres [nm] and return
phycocyanin [µg/L]; NaN where the algorithm does not apply.
"""

from __future__ import annotations

import numpy as np

from .bands import band

#: Pure-water absorption at 620, 665 and 709 nm used by Simis et al. (2005) [1/m].
AW_620, AW_665, AW_709 = 0.281, 0.401, 0.727


def pc_simis2005(rrs: np.ndarray, wavelength_nm: np.ndarray, *,
                 specific_absorption: float = 0.0070, epsilon: float = 0.24,
                 gamma: float = 0.68, delta: float = 0.84) -> np.ndarray:
    """Phycocyanin by the semi-empirical band-ratio algorithm of Simis et al. (2005) [µg/L].

    bb = 1.61·R(779)/(0.082 − 0.6·R(779)) (Gons et al. 1999), R = π·Rrs;
    a_chl(665) = [R(709)/R(665)·(a_w(709) + bb) − a_w(665) − bb]·γ⁻¹;
    a(620) = [R(709)/R(620)·(a_w(709) + bb) − a_w(620) − bb]·δ⁻¹;
    a_PC(620) = a(620) − ε·a_chl(665);  PC = a_PC(620)/a*_PC(620).

    Parameters
    ----------
    specific_absorption : float
        a*_PC(620) [m² mg⁻¹]: 0.0070 in Simis et al. (2005); Simis et al. (2007) found
        0.0095 for phycocyanin-rich, pigment-diverse populations.
    epsilon : float
        a_chl(620)/a_chl(665) [-].
    gamma, delta : float
        Correction factors of the semi-analytical absorption at 665 and 620 nm [-].

    References
    ----------
    .. [1] Simis, S. G. H., Peters, S. W. M., Gons, H. J. (2005). Remote sensing of the
       cyanobacterial pigment phycocyanin in turbid inland water. Limnol. Oceanogr. 50(1),
       237–245.
    .. [2] Simis, S. G. H., Ruiz-Verdú, A., Domínguez-Gómez, J. A., et al. (2007). Influence of
       phytoplankton pigment composition on remote sensing of cyanobacterial biomass. Remote
       Sens. Environ. 106, 414–427.
    """
    r620 = band(rrs, wavelength_nm, 620.0)
    r665 = band(rrs, wavelength_nm, 665.0)
    r709 = band(rrs, wavelength_nm, 709.0)
    r779 = np.pi * band(rrs, wavelength_nm, 779.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        bb = 1.61 * r779 / (0.082 - 0.6 * r779)
        a_chl665 = (r709 / r665 * (AW_709 + bb) - AW_665 - bb) / gamma
        a620 = (r709 / r620 * (AW_709 + bb) - AW_620 - bb) / delta
        pc = (a620 - epsilon * a_chl665) / specific_absorption
    return np.where((bb > 0) & np.isfinite(pc) & (pc > 0), pc, np.nan)


def pc_simis2007(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """Simis et al. (2005) with the a*_PC(620) of Simis et al. (2007), 0.0095 m² mg⁻¹ [µg/L].

    References
    ----------
    .. [1] Simis, S. G. H. et al. (2007). Remote Sens. Environ. 106, 414–427.
    """
    return pc_simis2005(rrs, wavelength_nm, specific_absorption=0.0095)
