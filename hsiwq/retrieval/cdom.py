"""CDOM absorption at 440 nm from reflectance.

Functions take Rrs arrays (..., n_wavelength) [sr-1] with band centres [nm] and return
a_CDOM(440) [1/m].
"""

from __future__ import annotations

import numpy as np

from .bands import band
from .qaa import qaa_v6


def cdom_ficek2011(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """a_CDOM(440) = 3.65·[Rrs(570)/Rrs(655)]^−1.93 (Ficek et al. 2011) [1/m].

    Calibrated on lakes of Pomerania (a_CDOM(440) ≈ 0.5–20 m⁻¹); it keeps its sense in
    sediment-laden water poorly, where the green/red ratio follows the particles.

    References
    ----------
    .. [1] Ficek, D., Zapadka, T., Dera, J. (2011). Remote sensing reflectance of Pomeranian
       lakes and the Baltic. Oceanologia 53(4), 959–970.
    """
    r570 = band(rrs, wavelength_nm, 570.0)
    r655 = band(rrs, wavelength_nm, 655.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = r570 / r655
        return np.where(ratio > 0, 3.65 * np.abs(ratio) ** -1.93, np.nan)


def cdom_qaa(rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """a_dg(440) of the quasi-analytical algorithm, v6 (Lee et al. 2002, 2009) [1/m].

    The absorption of CDOM *and* detritus, split from phytoplankton with QAA's ζ and ξ
    (Zhu et al. 2011 showed its use as a CDOM estimate in estuaries); a CDOM estimate
    only where non-algal particles absorb little. Extrapolated from 443 to 440 nm with
    QAA's slope.

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    .. [2] Zhu, W., Yu, Q., Tian, Y. Q., Chen, R. F., Gardner, G. B. (2011). Estimation of
       chromophoric dissolved organic matter in the Mississippi and Atchafalaya river plume
       regions using above-surface hyperspectral remote sensing. J. Geophys. Res. 116, C02011.
    """
    q = qaa_v6(rrs, wavelength_nm, at_nm=np.array([443.0]))
    return cdom_from_qaa(q)


def cdom_from_qaa(q) -> np.ndarray:
    """a_dg(440) [1/m] from a :class:`~hsiwq.retrieval.qaa.QAAResult`."""
    return q.adg443 * np.exp(q.s_dg * 3.0)
