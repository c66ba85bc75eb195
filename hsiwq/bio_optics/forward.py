"""Forward model from constituents to remote-sensing reflectance.

u = bb/(a + bb);  rrs = g0·u + g1·u²;  Rrs = 0.52·rrs/(1 − 1.7·rrs)
(Gordon et al. 1988; Lee et al. 1998, 2002).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hsiwq.bio_optics.iops import IOPModel, bricaud_coefficients
from hsiwq.bio_optics.water import a_w, bb_w

#: Lee et al. (2002) coefficients of rrs = g0·u + g1·u² [sr⁻¹].
G0_LEE2002 = 0.089
G1_LEE2002 = 0.125
#: Gordon et al. (1988) coefficients [sr⁻¹] (their rrs = 0.0949·u + 0.0794·u²).
G0_GORDON1988 = 0.0949
G1_GORDON1988 = 0.0794


def u_from_iops(a: ArrayLike, bb: ArrayLike) -> np.ndarray:
    """The IOP ratio u = bb/(a + bb).

    Parameters
    ----------
    a : array_like
        Total absorption [1/m].
    bb : array_like
        Total backscattering [1/m].

    Returns
    -------
    ndarray
        u [-].

    References
    ----------
    .. [1] Gordon, H. R., Brown, O. B., Evans, R. H., Brown, J. W., Smith, R. C., Baker,
       K. S., Clark, D. K. (1988). A semianalytic radiance model of ocean color. J. Geophys.
       Res. 93(D9), 10909–10924.
    """
    a = np.asarray(a, dtype=float)
    bb = np.asarray(bb, dtype=float)
    return bb / (a + bb)


def subsurface_rrs(u: ArrayLike, g0: float = G0_LEE2002, g1: float = G1_LEE2002) -> np.ndarray:
    """Below-surface remote-sensing reflectance rrs = g0·u + g1·u².

    Parameters
    ----------
    u : array_like
        bb/(a + bb) [-].
    g0, g1 : float
        Coefficients [sr⁻¹]; default Lee et al. (2002): 0.089, 0.125.

    Returns
    -------
    ndarray
        rrs(0⁻) [sr⁻¹].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Deriving inherent optical
       properties from water color: a multiband quasi-analytical algorithm for optically deep
       waters. Appl. Opt. 41(27), 5755–5772.
    .. [2] Gordon, H. R. et al. (1988). J. Geophys. Res. 93(D9), 10909–10924.
    """
    u = np.asarray(u, dtype=float)
    return u * (g0 + g1 * u)


def above_surface_rrs(rrs: ArrayLike) -> np.ndarray:
    """Above-surface Rrs from below-surface rrs: Rrs = 0.52·rrs/(1 − 1.7·rrs).

    Parameters
    ----------
    rrs : array_like
        rrs(0⁻) [sr⁻¹].

    Returns
    -------
    ndarray
        Rrs(0⁺) [sr⁻¹].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Mobley, C. D., Steward, R. G., Patch, J. S. (1998).
       Hyperspectral remote sensing for shallow waters. 1. A semianalytical model. Appl. Opt.
       37(27), 6329–6338.
    .. [2] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    """
    r = np.asarray(rrs, dtype=float)
    return 0.52 * r / (1.0 - 1.7 * r)


def below_surface_rrs(Rrs: ArrayLike) -> np.ndarray:  # noqa: N803 (physics symbol)
    """Inverse of :func:`above_surface_rrs`: rrs = Rrs/(0.52 + 1.7·Rrs).

    Parameters
    ----------
    Rrs : array_like
        Rrs(0⁺) [sr⁻¹].

    Returns
    -------
    ndarray
        rrs(0⁻) [sr⁻¹].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    """
    r = np.asarray(Rrs, dtype=float)
    return r / (0.52 + 1.7 * r)


def rrs_from_iops(a: ArrayLike, bb: ArrayLike, g0: float = G0_LEE2002,
                  g1: float = G1_LEE2002) -> np.ndarray:
    """Above-surface Rrs from total absorption and backscattering (optically deep water).

    Parameters
    ----------
    a : array_like
        Total absorption [1/m].
    bb : array_like
        Total backscattering [1/m].
    g0, g1 : float
        Coefficients of rrs(u) [sr⁻¹] (Lee et al. 2002 by default).

    Returns
    -------
    ndarray
        Rrs [sr⁻¹].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    """
    return above_surface_rrs(subsurface_rrs(u_from_iops(a, bb), g0, g1))


class ForwardModel:
    """Forward model on a fixed wavelength grid, with the spectral shapes precomputed.

    Use it when the same grid is evaluated many times (e.g. per block of image lines).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,), within 380–906 nm.
    model : IOPModel, optional
        Specific IOPs (default :class:`IOPModel()`).
    g0, g1 : float
        Coefficients of rrs(u) [sr⁻¹].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    .. [2] Bricaud, A. et al. (1998). J. Geophys. Res. 103(C13), 31033–31044.
    """

    def __init__(self, wavelength_nm: ArrayLike, model: IOPModel | None = None,
                 g0: float = G0_LEE2002, g1: float = G1_LEE2002) -> None:
        m = model or IOPModel()
        wl = np.asarray(wavelength_nm, dtype=float)
        if wl.ndim != 1:
            raise ValueError("wavelength_nm must be one-dimensional")
        self.wavelength_nm = wl
        self.model = m
        self.g0, self.g1 = g0, g1
        self.a_w = a_w(wl)
        self.bb_w = bb_w(wl)
        a_coef, self._e = bricaud_coefficients(wl)
        self._log_a = np.log(a_coef * m.aph_scale)
        self._pc = m.a_pc_star_620 * np.exp(-0.5 * ((wl - 620.0) / m.pc_sigma_nm) ** 2)
        self._cdom = np.exp(-m.s_cdom * (wl - 440.0))
        self._nap = m.a_nap_star_443 * np.exp(-m.s_nap * (wl - 443.0))
        self._bbp_tss = m.b_bp_star_555 * (wl / 555.0) ** -m.eta
        self._bbp_chl = m.b_bph_star_555 * (wl / 555.0) ** -m.eta_ph

    def iops(self, chl: ArrayLike, pc: ArrayLike, tss: ArrayLike, cdom440: ArrayLike,
             ) -> tuple[np.ndarray, np.ndarray]:
        """Total absorption and backscattering.

        Parameters
        ----------
        chl, pc : array_like
            Chlorophyll-a and phycocyanin [µg/L] (> 0), broadcastable shapes ``S``.
        tss : array_like
            Total suspended solids [mg/L].
        cdom440 : array_like
            CDOM absorption at 440 nm [1/m].

        Returns
        -------
        a, bb : ndarray
            [1/m], shape ``S + (n_wl,)``.
        """
        chl, pc, tss, cdom440 = np.broadcast_arrays(
            *(np.asarray(v, dtype=float) for v in (chl, pc, tss, cdom440)))
        c = chl[..., None]
        log_c = np.log(np.maximum(c, 1e-12))
        a = log_c * self._e
        a += self._log_a
        np.exp(a, out=a)
        a *= c > 0
        a += self.a_w
        a += pc[..., None] * self._pc
        a += cdom440[..., None] * self._cdom
        a += tss[..., None] * self._nap
        bb = tss[..., None] * self._bbp_tss
        bb += c * self._bbp_chl
        bb += self.bb_w
        return a, bb

    def rrs(self, chl: ArrayLike, pc: ArrayLike, tss: ArrayLike, cdom440: ArrayLike,
            ) -> np.ndarray:
        """Above-surface remote-sensing reflectance.

        Parameters
        ----------
        chl, pc : array_like
            Chlorophyll-a and phycocyanin [µg/L].
        tss : array_like
            Total suspended solids [mg/L].
        cdom440 : array_like
            CDOM absorption at 440 nm [1/m].

        Returns
        -------
        ndarray
            Rrs [sr⁻¹], shape ``S + (n_wl,)``.
        """
        a, bb = self.iops(chl, pc, tss, cdom440)
        return self.rrs_from_iops(a, bb)

    def rrs_from_iops(self, a: np.ndarray, bb: np.ndarray) -> np.ndarray:
        """Rrs [sr⁻¹] from a and bb [1/m] (overwrites ``a``)."""
        a += bb
        u = np.divide(bb, a, out=a)
        r = u * self.g1
        r += self.g0
        r *= u
        # Rrs = 0.52 r / (1 − 1.7 r)
        den = 1.0 - 1.7 * r
        r *= 0.52
        r /= den
        return r


def rrs_from_constituents(wavelength_nm: ArrayLike, chl: ArrayLike, pc: ArrayLike,
                          tss: ArrayLike, cdom440: ArrayLike, *,
                          model: IOPModel | None = None, g0: float = G0_LEE2002,
                          g1: float = G1_LEE2002) -> np.ndarray:
    """Remote-sensing reflectance of optically deep water from its constituents.

    Vectorised over pixels: concentrations of (broadcast) shape ``S`` give Rrs of shape
    ``S + (n_wl,)``.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], shape (n_wl,), within 380–906 nm.
    chl : array_like
        Chlorophyll-a [µg/L].
    pc : array_like
        Phycocyanin [µg/L].
    tss : array_like
        Total suspended solids [mg/L].
    cdom440 : array_like
        CDOM absorption at 440 nm [1/m].
    model : IOPModel, optional
        Specific IOPs (default :class:`IOPModel()`).
    g0, g1 : float
        rrs(u) coefficients [sr⁻¹]; Lee et al. (2002) 0.089 and 0.125 by default.

    Returns
    -------
    ndarray
        Rrs [sr⁻¹].

    References
    ----------
    .. [1] Gordon, H. R. et al. (1988). A semianalytic radiance model of ocean color.
       J. Geophys. Res. 93(D9), 10909–10924.
    .. [2] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Deriving inherent optical
       properties from water color: a multiband quasi-analytical algorithm for optically deep
       waters. Appl. Opt. 41(27), 5755–5772.
    """
    return ForwardModel(wavelength_nm, model, g0, g1).rrs(chl, pc, tss, cdom440)
