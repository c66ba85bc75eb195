"""Constituent inherent optical properties of the second simulator (pure array functions).

All spectra have shape (n_samples, n_wavelengths); per-sample quantities are arrays of
shape (n_samples,). Concentrations: chlorophyll-a and phycocyanin [mg/m3 = µg/L], TSS
[g/m3 = mg/L], CDOM as a_g(440) [1/m].
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike

#: Simis et al. (2005): phycocyanin-specific absorption at 620 nm [m2/mg].
A_PC_STAR_620 = 0.0095
#: Packaging of colonial cyanobacteria: their chl-specific absorption is Bricaud's at this
#: multiple of the sample's chlorophyll-a (stronger package effect, flatter spectrum) [-].
CYANO_PACKAGING = 8.0
#: e-folding width of the phytoplankton red band's tail beyond 700 nm [nm].
RED_TAIL_NM = 12.0


@lru_cache(maxsize=1)
def bricaud1998() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """λ [nm], A(λ) [m2/mg] and E(λ) [-] of a_ph = A·Chl^E (Bricaud et al. 1998, 400–700 nm).

    Read from the digital table shipped with hsiwq as data (``hsiwq/data/bricaud1998_aph.csv``;
    only the file, none of the package's code).

    References
    ----------
    .. [1] Bricaud, A., Morel, A., Babin, M., Allali, K., Claustre, H. (1998). Variations of
       light absorption by suspended particles with chlorophyll a concentration in oceanic
       (case 1) waters. J. Geophys. Res. 103(C13), 31033–31044.
    """
    text = resources.files("hsiwq").joinpath("data", "bricaud1998_aph.csv").read_text()
    rows = [line.split(",") for line in text.splitlines() if line and line[0].isdigit()]
    t = np.array(rows, float)
    return t[:, 0], t[:, 1], t[:, 2]


def aph_star(wavelength_nm: ArrayLike, chl: ArrayLike) -> np.ndarray:
    """Chlorophyll-specific phytoplankton absorption a*_ph(λ) = A(λ)·Chl^(E(λ)−1) [m2/mg].

    Beyond 700 nm the red band decays exponentially (width :data:`RED_TAIL_NM`).
    """
    wl_t, A, E = bricaud1998()
    wl = np.asarray(wavelength_nm, float)
    a = np.interp(wl, wl_t, A)
    e = np.interp(wl, wl_t, E)
    a = np.where(wl > wl_t[-1], A[-1] * np.exp(-(wl - wl_t[-1]) / RED_TAIL_NM), a)
    return a * np.asarray(chl, float)[:, None] ** (e - 1.0)


def a_phyto(wavelength_nm: ArrayLike, chl: ArrayLike, pc: ArrayLike, cyano_share: ArrayLike,
            aph_factor: ArrayLike, pc_width_nm: ArrayLike) -> np.ndarray:
    """Absorption by a mixture of two phytoplankton groups [1/m].

    Eukaryotes (share 1 − f of chl-a) absorb as Bricaud et al. (1998) at the sample's chl-a;
    cyanobacteria (share f) as Bricaud at :data:`CYANO_PACKAGING` × chl-a (packaged colonies),
    plus phycocyanin, a*_PC(620) = 0.0095 m2/mg (Simis et al. 2005), Gaussian band at 620 nm
    of standard deviation ``pc_width_nm``. ``aph_factor`` scales the chl-specific absorption
    of the sample (natural variability around the mean law, Bricaud et al. 1995).

    References
    ----------
    .. [1] Bricaud, A. et al. (1998). J. Geophys. Res. 103(C13), 31033–31044.
    .. [2] Bricaud, A., Babin, M., Morel, A., Claustre, H. (1995). Variability in the
       chlorophyll-specific absorption coefficients of natural phytoplankton. J. Geophys.
       Res. 100(C7), 13321–13332.
    .. [3] Simis, S. G. H., Peters, S. W. M., Gons, H. J. (2005). Remote sensing of the
       cyanobacterial pigment phycocyanin in turbid inland water. Limnol. Oceanogr. 50(1),
       237–245.
    """
    wl = np.asarray(wavelength_nm, float)
    chl, pc, f = (np.asarray(v, float) for v in (chl, pc, cyano_share))
    eu = aph_star(wl, chl) * ((1 - f) * chl)[:, None]
    cy = aph_star(wl, CYANO_PACKAGING * chl) * (f * chl)[:, None]
    band = np.exp(-0.5 * ((wl - 620.0) / np.asarray(pc_width_nm, float)[:, None]) ** 2)
    return np.asarray(aph_factor, float)[:, None] * (eu + cy) + A_PC_STAR_620 * pc[:, None] * band


def a_cdom(wavelength_nm: ArrayLike, cdom440: ArrayLike, slope: ArrayLike) -> np.ndarray:
    """CDOM absorption a_g(440)·exp(−S(λ − 440)) [1/m], S per sample [1/nm].

    References
    ----------
    .. [1] Babin, M. et al. (2003). Variations in the light absorption coefficients of
       phytoplankton, nonalgal particles, and dissolved organic matter in coastal waters
       around Europe. J. Geophys. Res. 108(C7), 3211 (S_CDOM 0.0176 ± 0.0020 /nm).
    """
    wl = np.asarray(wavelength_nm, float)
    return np.asarray(cdom440, float)[:, None] * np.exp(-np.asarray(slope, float)[:, None] * (wl - 440.0))


def a_nap(wavelength_nm: ArrayLike, tss: ArrayLike, a_star_443: ArrayLike, slope: ArrayLike) -> np.ndarray:
    """Non-algal particle absorption a*_NAP(443)·TSS·exp(−S(λ − 443)) [1/m] (Babin et al. 2003)."""
    wl = np.asarray(wavelength_nm, float)
    amp = np.asarray(a_star_443, float) * np.asarray(tss, float)
    return amp[:, None] * np.exp(-np.asarray(slope, float)[:, None] * (wl - 443.0))


def bb_particles(wavelength_nm: ArrayLike, tss: ArrayLike, chl: ArrayLike, bbp_star_555: ArrayLike,
                 gamma: ArrayLike) -> np.ndarray:
    """Particulate backscattering [1/m]: suspended solids plus phytoplankton.

    Suspended solids: b*_bp(555)·TSS·(λ/555)^−γ with b*_bp and γ per sample. Phytoplankton:
    Morel & Maritorena (2001), b_bp = 0.416·Chl^0.766·[0.002 + 0.01·(0.5 − 0.25·log10 Chl)·
    (λ/550)^ν], ν = 0.5·(log10 Chl − 0.3) below 2 mg/m3 and 0 above.

    References
    ----------
    .. [1] Morel, A., Maritorena, S. (2001). Bio-optical properties of oceanic waters: a
       reappraisal. J. Geophys. Res. 106(C4), 7163–7180.
    .. [2] Loisel, H., Nicolas, J.-M., Sciandra, A., Stramski, D., Poteau, A. (2006).
       Spectral dependency of optical backscattering by marine particles from satellite
       remote sensing of the global ocean. J. Geophys. Res. 111, C09024.
    """
    wl = np.asarray(wavelength_nm, float)
    tss, chl = np.asarray(tss, float)[:, None], np.asarray(chl, float)[:, None]
    sed = np.asarray(bbp_star_555, float)[:, None] * tss * (wl / 555.0) ** -np.asarray(gamma, float)[:, None]
    lc = np.log10(chl)
    nu = np.where(chl < 2.0, 0.5 * (lc - 0.3), 0.0)
    ratio = np.clip(0.002 + 0.01 * (0.5 - 0.25 * lc) * (wl / 550.0) ** nu, 0.0005, None)
    return sed + 0.416 * chl ** 0.766 * ratio
