"""Forward model from constituents to remote-sensing reflectance, with its Jacobian.

u = bb/(a + bb);  rrs = g0·u + g1·u²;  Rrs = 0.52·rrs/(1 − 1.7·rrs)
(Gordon et al. 1988; Lee et al. 1998, 2002), with a and bb the sums of pure water and the
four constituents' specific IOPs (:mod:`hsiwq.bio_optics.iops`).

This module is the one place the law is written. The kernel functions
(:func:`phytoplankton_absorption`, :func:`constituent_iops`, :func:`rrs_and_gradient`,
:func:`jacobian_ln_c` and the three steps of the law) are plain arithmetic: they run on
numpy arrays here and, compiled by numba (:mod:`hsiwq.bio_optics._compiled`), on scalars
inside the MAP inversion of :mod:`hsiwq.models._map_kernel`. Everything else — the simulator,
the published-algorithm inversion, the regional models' physics stage — calls them through
:class:`SpectralShapes`, :class:`ForwardModel` or :func:`forward_ln`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from hsiwq.bio_optics.iops import IOPModel, a_cdom, a_nap, a_pc, bb_p, bricaud_coefficients
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
    return _iop_ratio(np.asarray(a, dtype=float), np.asarray(bb, dtype=float))


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
    return _below_surface(np.asarray(u, dtype=float), g0, g1)


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
    return _above_surface(np.asarray(rrs, dtype=float))


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
    return _rrs(np.asarray(a, dtype=float), np.asarray(bb, dtype=float), g0, g1)


# --- the law as plain arithmetic (numpy arrays here; numba-compiled scalars in kernels) ----
def _iop_ratio(a, bb):
    return bb / (a + bb)


def _below_surface(u, g0, g1):
    return u * (g0 + g1 * u)


def _above_surface(r):
    return 0.52 * r / (1.0 - 1.7 * r)


def _rrs(a, bb, g0, g1):
    return _above_surface(_below_surface(_iop_ratio(a, bb), g0, g1))


def phytoplankton_absorption(ln_chl, log_a, e):
    """a_ph = A·Chl^E = exp(E·ln Chl + ln A) [1/m] (Bricaud et al. 1998), from ln Chl [ln µg/L]
    and the band's ln A (model scale included) and E."""
    return np.exp(ln_chl * e + log_a)


def constituent_iops(aph, chl, pc, tss, cdom, aw, bbw, pc_star, cdom_shape, nap_star, bbp_tss,
                     bbp_chl):
    """Total absorption and backscattering [1/m] of pure water and the four constituents.

    ``aph`` is :func:`phytoplankton_absorption`; ``chl``, ``pc`` [µg/L], ``tss`` [mg/L] and
    ``cdom`` [1/m at 440 nm] multiply the specific shapes of :class:`SpectralShapes`.
    Broadcasting arrays or scalars.
    """
    a = aw + aph + pc * pc_star + cdom * cdom_shape + tss * nap_star
    bb = tss * bbp_tss + chl * bbp_chl + bbw
    return a, bb


def rrs_and_gradient(a, bb, g0, g1):
    """Rrs [sr⁻¹] of (a, bb) [1/m] and its partial derivatives ∂Rrs/∂a, ∂Rrs/∂bb [sr⁻¹ m].

    The law of :func:`rrs_from_iops` with its analytic derivative:
    ∂Rrs/∂u = 0.52·(g0 + 2·g1·u)/(1 − 1.7·rrs)², ∂u/∂a = −bb/(a + bb)², ∂u/∂bb = a/(a + bb)².
    """
    tot = a + bb
    u = _iop_ratio(a, bb)
    r = _below_surface(u, g0, g1)
    den = 1.0 - 1.7 * r
    d_rrs_du = 0.52 / (den * den) * (g0 + 2.0 * g1 * u)
    return _above_surface(r), d_rrs_du * (-bb / (tot * tot)), d_rrs_du * (a / (tot * tot))


def jacobian_ln_c(d_a, d_bb, aph, chl, pc, tss, cdom, e, pc_star, cdom_shape, nap_star, bbp_tss,
                  bbp_chl):
    """∂Rrs/∂ln c of the four constituents (Chl, PC, TSS, CDOM), from ∂Rrs/∂a and ∂Rrs/∂bb
    (:func:`rrs_and_gradient`) by the chain rule through :func:`constituent_iops`."""
    return (d_a * e * aph + d_bb * chl * bbp_chl,
            d_a * pc * pc_star,
            d_a * tss * nap_star + d_bb * tss * bbp_tss,
            d_a * cdom * cdom_shape)


#: The plain-arithmetic functions compiled for kernels (:mod:`hsiwq.bio_optics._compiled`).
KERNEL_FUNCTIONS = (_iop_ratio, _below_surface, _above_surface, _rrs, phytoplankton_absorption,
                    constituent_iops, rrs_and_gradient, jacobian_ln_c)


@dataclasses.dataclass(frozen=True)
class SpectralShapes:
    """Specific IOPs of a model on a band set: what multiplies each constituent.

    Attributes (arrays of shape (n_band,))
    ----------
    wavelength_nm : [nm]
    aw, bbw : pure-water absorption and backscattering [1/m]
    log_a, e : ln A(λ) (with the model's ``aph_scale``) and E(λ) of a_ph = A·Chl^E
    pc : phycocyanin absorption per µg/L [m²/mg ≡ (1/m)/(µg/L)]
    cdom : CDOM absorption per unit a_CDOM(440) [-]
    nap : non-algal absorption per mg/L [(1/m)/(mg/L)]
    bbp_tss, bbp_chl : particle backscattering per mg/L TSS and per µg/L Chl [(1/m) per unit]
    """

    wavelength_nm: np.ndarray
    aw: np.ndarray
    bbw: np.ndarray
    log_a: np.ndarray
    e: np.ndarray
    pc: np.ndarray
    cdom: np.ndarray
    nap: np.ndarray
    bbp_tss: np.ndarray
    bbp_chl: np.ndarray

    @classmethod
    def of(cls, wavelength_nm: ArrayLike, model: IOPModel | None = None) -> SpectralShapes:
        """The shapes of ``model`` (default :class:`IOPModel()`) on ``wavelength_nm`` [nm]."""
        m = model or IOPModel()
        wl = np.asarray(wavelength_nm, dtype=float)
        if wl.ndim != 1:
            raise ValueError("wavelength_nm must be one-dimensional")
        a_coef, e = bricaud_coefficients(wl)
        with np.errstate(divide="ignore"):  # A = 0 beyond the table: a_ph = 0
            log_a = np.log(a_coef * m.aph_scale)
        bbp = dict(b_star_555=m.b_bp_star_555, eta=m.eta, b_ph_star_555=m.b_bph_star_555, eta_ph=m.eta_ph)
        return cls(wl, a_w(wl), bb_w(wl), log_a, e,
                   a_pc(wl, 1.0, m.a_pc_star_620, m.pc_sigma_nm), a_cdom(wl, 1.0, m.s_cdom),
                   a_nap(wl, 1.0, m.a_nap_star_443, m.s_nap), bb_p(wl, 1.0, 0.0, **bbp),
                   bb_p(wl, 0.0, 1.0, **bbp))

    def iops(self, ln_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """a, bb and a_ph [1/m], each (n, n_band), for ln concentrations ``ln_c`` (n, 4)."""
        c = np.exp(ln_c)
        aph = phytoplankton_absorption(ln_c[:, :1], self.log_a, self.e)
        a, bb = constituent_iops(aph, c[:, 0:1], c[:, 1:2], c[:, 2:3], c[:, 3:4], self.aw, self.bbw,
                                 self.pc, self.cdom, self.nap, self.bbp_tss, self.bbp_chl)
        return a, bb, aph


def forward_ln(s: SpectralShapes, ln_c: np.ndarray, jacobian: bool = False,
               g0: float = G0_LEE2002, g1: float = G1_LEE2002):
    """Above-water Rrs [sr⁻¹] (n, n_band) of ln concentrations (n, 4) and, optionally, its
    Jacobian ∂Rrs/∂ln c (n, n_band, 4).

    Parameters
    ----------
    s : SpectralShapes
        The IOP model on the bands.
    ln_c : ndarray
        ln(Chl [µg/L], PC [µg/L], TSS [mg/L], CDOM a(440) [1/m]), (n, 4).
    jacobian : bool
        Also return the Jacobian.
    g0, g1 : float
        Coefficients of rrs(u) [sr⁻¹].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    """
    a, bb, aph = s.iops(ln_c)
    if not jacobian:
        return _rrs(a, bb, g0, g1)
    rrs, d_a, d_bb = rrs_and_gradient(a, bb, g0, g1)
    c = np.exp(ln_c)
    cols = jacobian_ln_c(d_a, d_bb, aph, c[:, 0:1], c[:, 1:2], c[:, 2:3], c[:, 3:4], s.e, s.pc, s.cdom,
                         s.nap, s.bbp_tss, s.bbp_chl)
    return rrs, np.stack(cols, axis=-1)


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
        self.model = model or IOPModel()
        self.shapes = SpectralShapes.of(wavelength_nm, self.model)
        self.wavelength_nm = self.shapes.wavelength_nm
        self.g0, self.g1 = g0, g1
        self.a_w = self.shapes.aw
        self.bb_w = self.shapes.bbw

    def iops(self, chl: ArrayLike, pc: ArrayLike, tss: ArrayLike, cdom440: ArrayLike,
             ) -> tuple[np.ndarray, np.ndarray]:
        """Total absorption and backscattering.

        Parameters
        ----------
        chl, pc : array_like
            Chlorophyll-a and phycocyanin [µg/L] (≥ 0), broadcastable shapes ``S``.
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
            *(np.asarray(v, dtype=float)[..., None] for v in (chl, pc, tss, cdom440)))
        s = self.shapes
        aph = phytoplankton_absorption(np.log(np.maximum(chl, 1e-12)), s.log_a, s.e) * (chl > 0)
        return constituent_iops(aph, chl, pc, tss, cdom440, s.aw, s.bbw, s.pc, s.cdom, s.nap,
                                s.bbp_tss, s.bbp_chl)

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
        return self.rrs_from_iops(*self.iops(chl, pc, tss, cdom440))

    def rrs_from_iops(self, a: np.ndarray, bb: np.ndarray) -> np.ndarray:
        """Rrs [sr⁻¹] from a and bb [1/m]."""
        return _rrs(a, bb, self.g0, self.g1)


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
