"""The quasi-analytical algorithm (QAA v6) and the Secchi depth from it.

QAA derives total absorption a(λ) and backscattering bb(λ) from Rrs in closed form
(Lee et al. 2002; v6, IOCCG 2006 / Lee 2014 update); Lee et al. (2015) turn them into the
Secchi depth through Kd (Lee et al. 2013). Arrays are (n, n_wavelength).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bio_optics.secchi import kd_lee2013, secchi_lee2015
from ..bio_optics.water import a_w, bb_w
from .bands import band

G0, G1 = 0.089, 0.1245


@dataclass(frozen=True)
class QAAResult:
    """IOPs from QAA v6.

    Attributes
    ----------
    wavelength_nm : ndarray — band centres of ``a`` and ``bb`` [nm]
    a, bb : ndarray — total absorption and backscattering, (n, n_wl) [1/m]
    bbp555 : ndarray — particulate backscattering at 555 nm, (n,) [1/m]
    adg443, aph443 : ndarray — detritus+CDOM and phytoplankton absorption at 443 nm [1/m]
    s_dg : ndarray — spectral slope of a_dg [1/nm]
    """

    wavelength_nm: np.ndarray
    a: np.ndarray
    bb: np.ndarray
    bbp555: np.ndarray
    adg443: np.ndarray
    aph443: np.ndarray
    s_dg: np.ndarray


def qaa_v6(rrs: np.ndarray, wavelength_nm: np.ndarray, at_nm: np.ndarray | None = None) -> QAAResult:
    """Total IOPs from above-water Rrs by QAA v6.

    Reference wavelength 555 nm where Rrs(670) < 0.0015 sr⁻¹, else 670 nm; η from the
    443/555 ratio; a(λ) = (1 − u)·bb/u; ζ, ξ split a_ph and a_dg at 411/443 nm.

    Parameters
    ----------
    rrs : ndarray
        Above-water Rrs, shape (n, n_wavelength) or (n_wavelength,) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm], covering 411–670 nm.
    at_nm : ndarray, optional
        Bands of ``wavelength_nm`` where ``a`` and ``bb`` are wanted (default: all).

    Returns
    -------
    QAAResult
        NaN where Rrs is not positive.

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Deriving inherent optical
       properties from water color: a multiband quasi-analytical algorithm for optically deep
       waters. Appl. Opt. 41(27), 5755–5772.
    .. [2] Lee, Z. P., Lubac, B., Werdell, J., Arnone, R. (2009). An update of the
       quasi-analytical algorithm (QAA_v5). IOCCG software report.
    .. [3] IOCCG (2006). Remote sensing of inherent optical properties: fundamentals, tests of
       algorithms, and applications. Reports of the IOCCG 5; QAA v6 update (Lee 2014).
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    x = np.atleast_2d(np.asarray(rrs, dtype=float))
    out_idx = (np.arange(wl.size) if at_nm is None
               else np.array([int(np.argmin(np.abs(wl - c))) for c in np.atleast_1d(at_nm)]))
    wl_out = wl[out_idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        sub = x / (0.52 + 1.7 * x)

        def u_at(c: float) -> np.ndarray:
            r = band(sub, wl, c)
            return (-G0 + np.sqrt(G0**2 + 4 * G1 * r)) / (2 * G1)

        r = {c: band(sub, wl, c) for c in (443.0, 490.0, 555.0, 670.0)}
        R670 = band(x, wl, 670.0)
        R443, R490 = band(x, wl, 443.0), band(x, wl, 490.0)
        chi = np.log10((r[443.0] + r[490.0]) / (r[555.0] + 5 * r[670.0] / r[490.0] * r[670.0]))
        a555 = a_w(555.0) + 10 ** (-1.146 - 1.366 * chi - 0.469 * chi**2)
        a670 = a_w(670.0) + 0.39 * (R670 / (R443 + R490)) ** 1.14
        use670 = R670 >= 0.0015
        u555, u670 = u_at(555.0), u_at(670.0)
        bbp0 = np.where(use670, u670 * a670 / (1 - u670) - bb_w(670.0),
                        u555 * a555 / (1 - u555) - bb_w(555.0))
        lam0 = np.where(use670, 670.0, 555.0)
        ratio = r[443.0] / r[555.0]
        eta = 2.0 * (1 - 1.2 * np.exp(-0.9 * ratio))

        def bb_at(w: np.ndarray) -> np.ndarray:
            return bbp0[:, None] * (lam0[:, None] / w) ** eta[:, None] + bb_w(w)

        u_out = (-G0 + np.sqrt(G0**2 + 4 * G1 * sub[:, out_idx])) / (2 * G1)
        bb = bb_at(wl_out)
        a = (1 - u_out) * bb / u_out
        bbp555 = bbp0 * (lam0 / 555.0) ** eta
        zeta = 0.74 + 0.2 / (0.8 + ratio)
        s = 0.015 + 0.002 / (0.6 + ratio)
        xi = np.exp(s * (442.5 - 415.5))
        w2 = np.array([412.0, 443.0])
        u2 = np.stack([u_at(412.0), u_at(443.0)], axis=1)
        a2 = (1 - u2) * bb_at(w2) / u2
        adg = ((a2[:, 0] - zeta * a2[:, 1]) - (a_w(412.0) - zeta * a_w(443.0))) / (xi - zeta)
        aph = a2[:, 1] - adg - a_w(443.0)
    bad = ~np.all(x[:, (wl >= 400) & (wl <= 700)] > 0, axis=1)
    for arr in (a, bb):
        arr[bad] = np.nan
    for arr in (bbp555, adg, aph):
        arr[bad] = np.nan
    return QAAResult(wl_out, a, bb, bbp555, adg, aph, s)


def secchi_bands(wavelength_nm: np.ndarray, step_nm: float = 10.0) -> np.ndarray:
    """Bands of ``wavelength_nm`` in 410–700 nm at least ``step_nm`` apart (for Secchi depth)."""
    wl = np.asarray(wavelength_nm, dtype=float)
    keep, last = [], -np.inf
    for w in wl[(wl >= 410.0) & (wl <= 700.0)]:
        if w - last >= step_nm - 1e-9:
            keep.append(w)
            last = w
    return np.array(keep)


def secchi_from_qaa(q: QAAResult, rrs: np.ndarray, wavelength_nm: np.ndarray,
                    sun_zenith_deg: float = 30.0) -> np.ndarray:
    """Secchi depth [m] from QAA IOPs at the bands of :func:`secchi_bands` (Lee et al. 2015)."""
    wl = np.asarray(wavelength_nm, dtype=float)
    vis = secchi_bands(wl)
    idx_q = np.array([int(np.argmin(np.abs(q.wavelength_nm - c))) for c in vis])
    idx_r = np.array([int(np.argmin(np.abs(wl - c))) for c in vis])
    x = np.atleast_2d(rrs)[:, idx_r]
    with np.errstate(invalid="ignore", divide="ignore"):
        kd = kd_lee2013(q.a[:, idx_q], q.bb[:, idx_q], bb_w(vis), sun_zenith_deg)
        kd = np.where(kd > 0, kd, np.nan)
        out = secchi_lee2015(vis, np.where(np.isfinite(kd), kd, np.inf), x)
    return np.where(np.isfinite(out) & (out > 0), out, np.nan)


def secchi_qaa_lee2015(rrs: np.ndarray, wavelength_nm: np.ndarray,
                       sun_zenith_deg: float = 30.0) -> np.ndarray:
    """Secchi depth from QAA v6 IOPs, Kd of Lee et al. (2013) and Lee et al. (2015) [m].

    Needs no regional calibration (the semi-analytical inversion's Secchi depth, from the
    region's SIOPs, is the alternative).

    References
    ----------
    .. [1] Lee, Z. et al. (2015). Secchi disk depth: A new theory and mechanistic model for
       underwater visibility. Remote Sens. Environ. 169, 139–149.
    .. [2] Lee, Z. et al. (2013). J. Geophys. Res. Oceans 118, 4241–4255.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    x = np.atleast_2d(np.asarray(rrs, dtype=float))
    return secchi_from_qaa(qaa_v6(x, wl, at_nm=secchi_bands(wl)), x, wl, sun_zenith_deg)
