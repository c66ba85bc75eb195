"""Inherent optical properties (IOPs) of optically significant constituents.

All functions broadcast: a concentration of shape ``S`` and wavelengths of shape ``(n_wl,)``
give a result of shape ``S + (n_wl,)``.

Concentration units follow the parameter catalogue (docs/contracts.md §1): chlorophyll-a and phycocyanin in µg/L (= mg/m³),
total suspended solids in mg/L (= g/m³), CDOM as its absorption at 440 nm [1/m].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike

#: Width (standard deviation) of the Gaussian tail that continues the red chlorophyll band of
#: the Bricaud et al. (1998) table beyond 700 nm [nm]; it matches A(700)/A(676) ≈ 0.14.
APH_TAIL_SIGMA_NM = 12.0
#: Centre of the red chlorophyll absorption band used for the tail [nm].
APH_RED_PEAK_NM = 676.0


@dataclass(frozen=True)
class IOPModel:
    """Specific IOPs and spectral shapes of a water type.

    Attributes
    ----------
    s_cdom : float
        Spectral slope of CDOM absorption [1/nm] (typically 0.014–0.018).
    a_nap_star_443 : float
        Mass-specific absorption of non-algal particles at 443 nm [m²/g].
    s_nap : float
        Spectral slope of non-algal particle absorption [1/nm].
    b_bp_star_555 : float
        Mass-specific particulate backscattering of suspended solids at 555 nm [m²/g].
    eta : float
        Spectral exponent of TSS backscattering [-], bb ∝ (λ/555)^−η.
    b_bph_star_555 : float
        Chlorophyll-specific extra backscattering of living phytoplankton at 555 nm
        [m²/mg].
    eta_ph : float
        Spectral exponent of the phytoplankton backscattering term [-].
    a_pc_star_620 : float
        Phycocyanin-specific absorption at 620 nm [m²/mg].
    pc_sigma_nm : float
        Standard deviation of the Gaussian phycocyanin absorption band [nm].
    aph_scale : float
        Multiplier of the Bricaud et al. (1998) chlorophyll-specific absorption [-]. Bricaud's
        case-1 relation gives a*_ph(665) ≈ 0.008 m²/mg at 30 µg/L; eutrophic inland waters
        show about twice that (0.0161 m²/mg in Gons et al. 2002; 0.0153 in Simis et al.
        2005), so the inland water types use 2.

    References
    ----------
    .. [1] Babin, M., Stramski, D., Ferrari, G. M., Claustre, H., Bricaud, A., Obolensky, G.,
       Hoepffner, N. (2003). Variations in the light absorption coefficients of phytoplankton,
       nonalgal particles, and dissolved organic matter in coastal waters around Europe.
       J. Geophys. Res. 108(C7), 3211.
    .. [2] Babin, M., Morel, A., Fournier-Sicre, V., Fell, F., Stramski, D. (2003). Light
       scattering properties of marine particles in coastal and open ocean waters as related
       to the particle mass concentration. Limnol. Oceanogr. 48(2), 843–859.
    .. [3] Simis, S. G. H., Peters, S. W. M., Gons, H. J. (2005). Remote sensing of the
       cyanobacterial pigment phycocyanin in turbid inland water. Limnol. Oceanogr. 50(1),
       237–245.
    """

    s_cdom: float = 0.015
    a_nap_star_443: float = 0.031
    s_nap: float = 0.0123
    b_bp_star_555: float = 0.0086
    eta: float = 0.8
    b_bph_star_555: float = 0.0004
    eta_ph: float = 0.5
    a_pc_star_620: float = 0.007
    pc_sigma_nm: float = 25.0
    aph_scale: float = 1.0


def _wl(wavelength_nm: ArrayLike) -> np.ndarray:
    wl = np.asarray(wavelength_nm, dtype=float)
    if wl.ndim != 1:
        raise ValueError("wavelength_nm must be one-dimensional")
    return wl


def _conc(value: ArrayLike) -> np.ndarray:
    return np.asarray(value, dtype=float)[..., np.newaxis]


@lru_cache(maxsize=1)
def bricaud1998_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Bricaud et al. (1998) coefficients of a_ph = A·Chl^E, 400–700 nm every 2 nm.

    Returns
    -------
    wavelength_nm : ndarray
        Wavelengths [nm].
    A : ndarray
        a_ph at Chl = 1 mg/m³ [1/m].
    E : ndarray
        Exponent [-].

    References
    ----------
    .. [1] Bricaud, A., Morel, A., Babin, M., Allali, K., Claustre, H. (1998). Variations of
       light absorption by suspended particles with chlorophyll a concentration in oceanic
       (case 1) waters: Analysis and implications for bio-optical models. J. Geophys. Res.
       103(C13), 31033–31044.
    """
    text = resources.files("hsiwq").joinpath("data", "bricaud1998_aph.csv").read_text()
    rows = [ln.split(",") for ln in text.splitlines()
            if ln and not ln.startswith("#") and not ln.startswith("wavelength")]
    arr = np.array(rows, dtype=float)
    out = (arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy())
    for a in out:
        a.setflags(write=False)
    return out


def bricaud_coefficients(wavelength_nm: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """A(λ) and E(λ) of a_ph = A·Chl^E at any wavelength.

    Linear interpolation of the Bricaud et al. (1998) table in 400–700 nm; below 400 nm the
    400 nm values are used; above 700 nm A(λ) continues as the Gaussian tail of the red
    chlorophyll band centred at 676 nm (σ = 12 nm, continuous at 700 nm; 2 % of A(700) at
    720 nm, < 10⁻⁶ of it beyond 750 nm) and E keeps its 700 nm value.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], one-dimensional.

    Returns
    -------
    A : ndarray
        [1/m per (mg/m³)^E].
    E : ndarray
        [-].

    References
    ----------
    .. [1] Bricaud, A., Morel, A., Babin, M., Allali, K., Claustre, H. (1998). J. Geophys.
       Res. 103(C13), 31033–31044.
    """
    wl = _wl(wavelength_nm)
    wl_t, a_t, e_t = bricaud1998_table()
    a = np.interp(wl, wl_t, a_t)
    e = np.interp(wl, wl_t, e_t)
    red = wl > wl_t[-1]
    if np.any(red):
        d0 = (wl_t[-1] - APH_RED_PEAK_NM) ** 2
        tail = np.exp(-((wl[red] - APH_RED_PEAK_NM) ** 2 - d0) / (2 * APH_TAIL_SIGMA_NM**2))
        a[red] = a_t[-1] * tail
    return a, e


def a_ph(wavelength_nm: ArrayLike, chl: ArrayLike, scale: float = 1.0) -> np.ndarray:
    """Phytoplankton absorption, a_ph(λ) = A(λ)·Chl^E(λ) (Bricaud et al. 1998).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,).
    chl : array_like
        Chlorophyll-a concentration [µg/L = mg/m³], any shape ``S``; values ≤ 0 give 0.
    scale : float
        Multiplier of A(λ) (see :attr:`IOPModel.aph_scale`) [-].

    Returns
    -------
    ndarray
        a_ph [1/m], shape ``S + (n_wl,)``.

    References
    ----------
    .. [1] Bricaud, A., Morel, A., Babin, M., Allali, K., Claustre, H. (1998). Variations of
       light absorption by suspended particles with chlorophyll a concentration in oceanic
       (case 1) waters. J. Geophys. Res. 103(C13), 31033–31044.
    """
    a, e = bricaud_coefficients(wavelength_nm)
    a = a * scale
    c = _conc(chl)
    with np.errstate(divide="ignore"):
        logc = np.log(np.where(c > 0, c, 1.0))
    out = a * np.exp(e * logc)
    return np.where(c > 0, out, 0.0)


def a_pc(wavelength_nm: ArrayLike, pc: ArrayLike, a_star_620: float = 0.007,
         sigma_nm: float = 25.0, center_nm: float = 620.0) -> np.ndarray:
    """Phycocyanin absorption as a Gaussian band at 620 nm.

    a_PC(λ) = a*_PC(620)·PC·exp(−(λ − 620)²/(2σ²)).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,).
    pc : array_like
        Phycocyanin concentration [µg/L = mg/m³], any shape ``S``.
    a_star_620 : float
        Specific absorption at the peak [m²/mg]; ~0.007 (Simis et al. 2005 report
        0.0070–0.0095 m²/mg).
    sigma_nm : float
        Band standard deviation [nm] (25 nm ⇒ FWHM ≈ 59 nm).
    center_nm : float
        Band centre [nm].

    Returns
    -------
    ndarray
        a_PC [1/m], shape ``S + (n_wl,)``.

    References
    ----------
    .. [1] Simis, S. G. H., Peters, S. W. M., Gons, H. J. (2005). Remote sensing of the
       cyanobacterial pigment phycocyanin in turbid inland water. Limnol. Oceanogr. 50(1),
       237–245.
    """
    wl = _wl(wavelength_nm)
    shape = a_star_620 * np.exp(-0.5 * ((wl - center_nm) / sigma_nm) ** 2)
    return _conc(pc) * shape


def a_cdom(wavelength_nm: ArrayLike, cdom440: ArrayLike, slope: float = 0.015) -> np.ndarray:
    """CDOM absorption, a_g(λ) = a_g(440)·exp(−S·(λ − 440)).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,).
    cdom440 : array_like
        CDOM absorption at 440 nm [1/m], any shape ``S``.
    slope : float
        Spectral slope S [1/nm] (0.014–0.018 typical).

    Returns
    -------
    ndarray
        a_g [1/m], shape ``S + (n_wl,)``.

    References
    ----------
    .. [1] Bricaud, A., Morel, A., Prieur, L. (1981). Absorption by dissolved organic matter
       of the sea (yellow substance) in the UV and visible domains. Limnol. Oceanogr. 26(1),
       43–53.
    """
    wl = _wl(wavelength_nm)
    return _conc(cdom440) * np.exp(-slope * (wl - 440.0))


def a_nap(wavelength_nm: ArrayLike, tss: ArrayLike, a_star_443: float = 0.031,
          slope: float = 0.0123) -> np.ndarray:
    """Non-algal particle absorption, a_NAP(λ) = a*_NAP(443)·TSS·exp(−S_NAP·(λ − 443)).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,).
    tss : array_like
        Total suspended solids [mg/L = g/m³], any shape ``S``.
    a_star_443 : float
        Mass-specific NAP absorption at 443 nm [m²/g] (Babin et al. 2003 mean ≈ 0.031).
    slope : float
        Spectral slope [1/nm] (Babin et al. 2003 mean 0.0123).

    Returns
    -------
    ndarray
        a_NAP [1/m], shape ``S + (n_wl,)``.

    References
    ----------
    .. [1] Babin, M., Stramski, D., Ferrari, G. M., Claustre, H., Bricaud, A., Obolensky, G.,
       Hoepffner, N. (2003). Variations in the light absorption coefficients of phytoplankton,
       nonalgal particles, and dissolved organic matter in coastal waters around Europe.
       J. Geophys. Res. 108(C7), 3211.
    """
    wl = _wl(wavelength_nm)
    return _conc(tss) * (a_star_443 * np.exp(-slope * (wl - 443.0)))


def bb_p(wavelength_nm: ArrayLike, tss: ArrayLike, chl: ArrayLike = 0.0, *,
         b_star_555: float = 0.0086, eta: float = 0.8, b_ph_star_555: float = 0.0004,
         eta_ph: float = 0.5) -> np.ndarray:
    """Particulate backscattering of suspended solids plus living phytoplankton.

    bb_p(λ) = b*_bp(555)·TSS·(λ/555)^−η + b*_bph(555)·Chl·(λ/555)^−η_ph.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,).
    tss : array_like
        Total suspended solids [mg/L = g/m³], shape ``S``.
    chl : array_like
        Chlorophyll-a [µg/L = mg/m³], broadcastable to ``S``.
    b_star_555 : float
        Mass-specific backscattering at 555 nm [m²/g]; ~0.0086 for b_p/SPM ≈ 0.5 m²/g and a
        backscattering ratio ≈ 0.018 (Babin et al. 2003b); 0.005–0.012 across water types.
    eta : float
        Spectral exponent [-].
    b_ph_star_555 : float
        Chlorophyll-specific extra backscattering of living cells (e.g. gas vacuoles of
        cyanobacteria) [m²/mg]; 10⁻⁴–10⁻³ (Vaillancourt et al. 2004).
    eta_ph : float
        Spectral exponent of the phytoplankton term [-].

    Returns
    -------
    ndarray
        bb_p [1/m], shape ``S + (n_wl,)``.

    References
    ----------
    .. [1] Babin, M., Morel, A., Fournier-Sicre, V., Fell, F., Stramski, D. (2003). Light
       scattering properties of marine particles in coastal and open ocean waters as related
       to the particle mass concentration. Limnol. Oceanogr. 48(2), 843–859.
    .. [2] Vaillancourt, R. D., Brown, C. W., Guillard, R. R. L., Balch, W. M. (2004). Light
       backscattering properties of marine phytoplankton: relationships to cell size,
       chemical composition and taxonomy. J. Plankton Res. 26(2), 191–212.
    """
    wl = _wl(wavelength_nm)
    x = wl / 555.0
    return _conc(tss) * (b_star_555 * x**-eta) + _conc(chl) * (b_ph_star_555 * x**-eta_ph)


def total_iops(wavelength_nm: ArrayLike, chl: ArrayLike, pc: ArrayLike, tss: ArrayLike,
               cdom440: ArrayLike, model: IOPModel | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Total absorption and backscattering of water plus constituents.

    a = a_w + a_ph(Chl) + a_PC(PC) + a_g(CDOM) + a_NAP(TSS); bb = bb_w + bb_p(TSS, Chl).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,), within 380–906 nm.
    chl, pc : array_like
        Chlorophyll-a and phycocyanin [µg/L].
    tss : array_like
        Total suspended solids [mg/L].
    cdom440 : array_like
        CDOM absorption at 440 nm [1/m].
    model : IOPModel, optional
        Specific IOPs (default :class:`IOPModel()`).

    Returns
    -------
    a : ndarray
        Total absorption [1/m], shape ``broadcast(S) + (n_wl,)``.
    bb : ndarray
        Total backscattering [1/m], same shape.

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Deriving inherent optical
       properties from water color: a multiband quasi-analytical algorithm for optically deep
       waters. Appl. Opt. 41(27), 5755–5772.
    """
    from hsiwq.bio_optics.water import a_w, bb_w

    m = model or IOPModel()
    wl = _wl(wavelength_nm)
    a = (a_w(wl) + a_ph(wl, chl, m.aph_scale) + a_pc(wl, pc, m.a_pc_star_620, m.pc_sigma_nm)
         + a_cdom(wl, cdom440, m.s_cdom) + a_nap(wl, tss, m.a_nap_star_443, m.s_nap))
    bb = bb_w(wl) + bb_p(wl, tss, chl, b_star_555=m.b_bp_star_555, eta=m.eta,
                         b_ph_star_555=m.b_bph_star_555, eta_ph=m.eta_ph)
    return a, bb
