"""Physics stage of regional models: regional SIOPs fitted to matchups, and a MAP inversion.

Three steps on the bio-optical forward model of docs/retrieval.md (Lee et al. 2002 with
Bricaud-shaped phytoplankton absorption, a Gaussian phycocyanin band, exponential CDOM and
non-algal absorption, power-law particle backscattering — the same equations as
:class:`hsiwq.bio_optics.forward.ForwardModel`):

1. **Regional SIOPs** (:func:`fit_siop`): with the lab chlorophyll-a, phycocyanin, TSS and
   CDOM of the matchups known, the specific IOPs (CDOM and NAP slopes, NAP absorption,
   particle backscattering and its exponent, the phytoplankton absorption scale, phycocyanin
   absorption, phytoplankton backscattering) are fitted by robust least squares to the
   matchup spectra, with each spectrum's gain error and sky-glint residual profiled out, and
   a weak prior towards the generic inland SIOPs for what the data cannot tell. This is
   what a bio-optical campaign measures with filter pads and backscattering meters
   (Babin et al. 2003; Brando et al. 2012), here estimated from the matchups.
2. **MAP inversion** (:func:`map_invert`): each spectrum's ln(Chl, PC, TSS, CDOM), gain g
   and glint residual δ are the maximum a posteriori estimate under the forward model with
   the regional SIOPs, Rrs_obs = e^g·Rrs(c) + δ·10⁻⁴·(λ/550)⁻², relative + absolute noise,
   and a Gaussian prior — by default the region's population of lab values (mean and
   covariance of their logarithms, the covariance widened by a factor chosen on the
   matchups) — an optimal-estimation retrieval (Rodgers 2000) by Levenberg–Marquardt with
   an analytic Jacobian.
3. **Posterior median** (:mod:`hsiwq.models.posterior`): a correction of the MAP estimates
   towards the posterior median of the region's population, learnt on spectra simulated from
   the fitted SIOPs, noise and lab values.

The resulting estimates are features for the per-parameter regressors: where the physics
fits the region they carry what the spectra can tell; where it does not, cross-validation
gives them little weight.

References
----------
.. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
.. [2] Brando, V. E., Dekker, A. G., Park, Y. J., Schroeder, T. (2012). Adaptive
   semianalytical inversion of ocean color radiometry in optically complex waters. Appl. Opt.
   51(15), 2808–2833.
.. [3] Rodgers, C. D. (2000). Inverse Methods for Atmospheric Sounding: Theory and Practice.
   World Scientific.
.. [4] Babin, M. et al. (2003). J. Geophys. Res. 108(C7), 3211.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from scipy.optimize import least_squares
from sklearn.base import BaseEstimator
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..bio_optics.iops import IOPModel, bricaud_coefficients
from ..bio_optics.secchi import kd_lee2013, secchi_lee2015
from ..bio_optics.water import a_w, bb_w
from ..retrieval.inversion import GENERIC_INLAND
from .posterior import PosteriorCorrection, simulate_region
from .spectra import SpectraError

#: The constituents of the forward model, in column order.
CONSTITUENTS = ("chl_a", "phycocyanin", "tss", "cdom")
#: SIOPs fitted to matchups (log-scaled except ``eta``).
FITTED_SIOPS = ("s_cdom", "a_nap_star_443", "s_nap", "b_bp_star_555", "eta", "aph_scale",
                "a_pc_star_620", "b_bph_star_555")
_LINEAR = {"eta"}
G0, G1 = 0.089, 0.125
_LOWER = np.log([0.01, 0.005, 0.01, 1e-4])
_UPPER = np.log([5000.0, 5000.0, 5000.0, 50.0])
_GLINT_UNIT = 1e-4  # δ is in units of 1e-4 sr-1
#: Fewest simulated spectra for the posterior-median correction (``posterior_samples``).
MIN_POSTERIOR_SAMPLES = 1000
#: Factors tried on the prior covariance of the MAP inversion (``prior_scale="auto"``).
PRIOR_SCALES = (1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0)


@dataclasses.dataclass(frozen=True)
class Shapes:
    """Spectral shapes of an IOP model on a band set (arrays of shape (n_band,))."""

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
    glint: np.ndarray

    @classmethod
    def of(cls, wavelength_nm: np.ndarray, m: IOPModel) -> Shapes:
        wl = np.asarray(wavelength_nm, dtype=float)
        a_coef, e = bricaud_coefficients(wl)
        return cls(wl, a_w(wl), bb_w(wl), np.log(a_coef * m.aph_scale), e,
                   m.a_pc_star_620 * np.exp(-0.5 * ((wl - 620.0) / m.pc_sigma_nm) ** 2),
                   np.exp(-m.s_cdom * (wl - 440.0)), m.a_nap_star_443 * np.exp(-m.s_nap * (wl - 443.0)),
                   m.b_bp_star_555 * (wl / 555.0) ** -m.eta, m.b_bph_star_555 * (wl / 555.0) ** -m.eta_ph,
                   (wl / 550.0) ** -2.0)


def iops(s: Shapes, logc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """a, bb [1/m] and a_ph [1/m], each (n, n_band), for ln concentrations (n, 4)."""
    c = np.exp(logc)
    aph = np.exp(logc[:, :1] * s.e + s.log_a)
    a = s.aw + aph + c[:, 1:2] * s.pc + c[:, 3:4] * s.cdom + c[:, 2:3] * s.nap
    bb = s.bbw + c[:, 2:3] * s.bbp_tss + c[:, 0:1] * s.bbp_chl
    return a, bb, aph


def forward(s: Shapes, logc: np.ndarray, jacobian: bool = False):
    """Above-water Rrs [sr-1] (n, n_band) and, optionally, dRrs/d ln c (n, n_band, 4).

    Same equations as :class:`hsiwq.bio_optics.forward.ForwardModel`.
    """
    a, bb, aph = iops(s, logc)
    tot = a + bb
    u = bb / tot
    r = u * (G0 + G1 * u)
    den = 1.0 - 1.7 * r
    rrs = 0.52 * r / den
    if not jacobian:
        return rrs
    c = np.exp(logc)
    d_r = 0.52 / den**2 * (G0 + 2 * G1 * u)
    du_da = -bb / tot**2
    du_dbb = a / tot**2
    jac = np.empty(rrs.shape + (4,))
    jac[..., 0] = d_r * (du_da * s.e * aph + du_dbb * c[:, 0:1] * s.bbp_chl)
    jac[..., 1] = d_r * du_da * c[:, 1:2] * s.pc
    jac[..., 2] = d_r * (du_da * c[:, 2:3] * s.nap + du_dbb * c[:, 2:3] * s.bbp_tss)
    jac[..., 3] = d_r * du_da * c[:, 3:4] * s.cdom
    return rrs, jac


@dataclasses.dataclass(frozen=True)
class NoiseModel:
    """Radiometric noise assumed by the inversion.

    Attributes
    ----------
    relative : float
        Independent relative error per band (and model error) [-].
    absolute : float
        Absolute error floor per band [sr-1].
    gain : float
        Standard deviation of the spectrally flat gain error [-].
    glint : float
        Standard deviation of the sky-glint residual at 550 nm [sr-1].
    """

    relative: float = 0.015
    absolute: float = 2e-5
    gain: float = 0.03
    glint: float = 2e-4

    def sigma(self, observed: np.ndarray) -> np.ndarray:
        return self.relative * np.abs(observed) + self.absolute


def _profile_nuisance(model: np.ndarray, obs: np.ndarray, w: np.ndarray, glint: np.ndarray,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per-spectrum weighted least squares of obs ≈ k·model + δ·glint; returns (k, δ)."""
    m, g = model * w, glint * w
    o = obs * w
    s_mm, s_gg, s_mg = (m * m).sum(1), (g * g).sum(1), (m * g).sum(1)
    s_mo, s_go = (m * o).sum(1), (g * o).sum(1)
    det = s_mm * s_gg - s_mg**2
    k = np.where(det > 0, (s_mo * s_gg - s_go * s_mg) / np.where(det > 0, det, 1), 1.0)
    d = np.where(det > 0, (s_go * s_mm - s_mo * s_mg) / np.where(det > 0, det, 1), 0.0)
    return k, d


def _siop_vector(m: IOPModel) -> np.ndarray:
    return np.array([getattr(m, k) if k in _LINEAR else np.log(getattr(m, k)) for k in FITTED_SIOPS])


def _siop_model(theta: np.ndarray, base: IOPModel) -> IOPModel:
    values = {k: float(v if k in _LINEAR else np.exp(v)) for k, v in zip(FITTED_SIOPS, theta)}
    return dataclasses.replace(base, **values)


def fit_siop(wavelength_nm: np.ndarray, observed: np.ndarray, concentrations: np.ndarray,
             start: IOPModel = GENERIC_INLAND, noise: NoiseModel = NoiseModel(),
             prior_sd: float = 1.0) -> tuple[IOPModel, NoiseModel]:
    """Regional SIOPs from matchup spectra with known constituents.

    Parameters
    ----------
    wavelength_nm : ndarray
        Bands fitted [nm].
    observed : ndarray
        Matchup Rrs, (n, n_band) [sr-1].
    concentrations : ndarray
        Chl-a [µg/L], PC [µg/L], TSS [mg/L], CDOM a(440) [1/m] of each row, (n, 4), all > 0.
    start : IOPModel
        Starting point and prior mean.
    noise : NoiseModel
        Weights of the residuals.
    prior_sd : float
        Standard deviation of the prior of each ln SIOP (and of ``eta``) [-].

    Returns
    -------
    siop : IOPModel
        The fitted SIOPs.
    noise : NoiseModel
        ``noise`` with its relative error, gain and glint spreads replaced by robust
        estimates from the fit (radiometric noise plus model error).

    References
    ----------
    .. [1] Brando, V. E. et al. (2012). Appl. Opt. 51(15), 2808–2833.
    """
    logc = np.log(concentrations)
    w = 1.0 / noise.sigma(observed)
    theta0 = _siop_vector(start)
    n_res = observed.size

    def residual(theta: np.ndarray) -> np.ndarray:
        s = Shapes.of(wavelength_nm, _siop_model(theta, start))
        model = forward(s, logc)
        k, d = _profile_nuisance(model, observed, w, s.glint)
        r = ((k[:, None] * model + d[:, None] * s.glint - observed) * w).ravel()
        # prior, scaled so that it weighs like a few spectra
        return np.concatenate([r, (theta - theta0) / prior_sd * np.sqrt(n_res / 50.0)])

    sol = least_squares(residual, theta0, loss="soft_l1", f_scale=3.0, max_nfev=100, x_scale=1.0)
    siop = _siop_model(sol.x, start)
    s = Shapes.of(wavelength_nm, siop)
    model = forward(s, logc)
    k, d = _profile_nuisance(model, observed, w, s.glint)
    rel = (k[:, None] * model + d[:, None] * s.glint - observed) / np.maximum(np.abs(observed), 1e-6)
    big = np.abs(observed) > 10 * noise.absolute

    def robust_sd(x: np.ndarray, fallback: float) -> float:
        x = x[np.isfinite(x)]
        return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size > 5 else fallback

    fitted = dataclasses.replace(
        noise, relative=float(np.clip(robust_sd(rel[big], noise.relative), 0.003, 0.3)),
        gain=float(np.clip(robust_sd(np.log(np.clip(k, 1e-3, None)), noise.gain), 0.003, 0.5)),
        glint=float(np.clip(robust_sd(d, noise.glint), 1e-5, 5e-3)))
    return siop, fitted


def _map_state(state: np.ndarray, chi2: np.ndarray) -> np.ndarray:
    """MAP state and ln χ², the inputs of the posterior correction besides the spectrum."""
    return np.column_stack([state, np.log(np.maximum(chi2, 1e-6))])


def _compiled_kernel():
    """The numba kernel of the MAP loop, or None (numba missing, or ``HSIWQ_NO_NUMBA`` set)."""
    if os.environ.get("HSIWQ_NO_NUMBA"):
        return None
    try:
        from ._map_kernel import map_kernel
    except ImportError:  # pragma: no cover - numba is a dependency, but stay usable without
        return None
    return map_kernel


def map_invert(s: Shapes, observed: np.ndarray, prior_mean: np.ndarray, prior_cov: np.ndarray,
               noise: NoiseModel = NoiseModel(), n_iter: int = 8, chunk: int = 4096,
               threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Maximum a posteriori ln(Chl, PC, TSS, CDOM), gain and glint of each spectrum.

    Parameters
    ----------
    s : Shapes
        Forward-model shapes of the region's SIOPs on the fitted bands.
    observed : ndarray
        Rrs, (n, n_band) [sr-1].
    prior_mean : ndarray
        Prior ln concentrations (n, 4).
    prior_cov : ndarray
        Prior covariance of the ln concentrations, (4, 4), or their standard deviations (4,).
    noise : NoiseModel
        Radiometric noise.
    n_iter : int
        Levenberg–Marquardt iterations.
    chunk : int
        Spectra per batch (bounds memory).
    threads : int
        Batches solved at once (threads; at most the number of CPUs is useful).

    Returns
    -------
    state : ndarray
        (n, 6): ln Chl, ln PC, ln TSS, ln CDOM, gain g [-], glint δ [1e-4 sr-1].
    chi2 : ndarray
        Radiometric χ² per band at the solution [-].

    References
    ----------
    .. [1] Rodgers, C. D. (2000). Inverse Methods for Atmospheric Sounding. World Scientific.

    Notes
    -----
    Runs the compiled kernel of :mod:`hsiwq.models._map_kernel` (parallel over spectra) when
    numba is available, else the numpy implementation below (batched over ``chunk`` spectra
    in ``threads`` threads); both follow the same rules.
    """
    n = observed.shape[0]
    state = np.zeros((n, 6))
    chi2 = np.zeros(n)
    kernel = _compiled_kernel()
    if kernel is not None and n:
        f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        kernel(f(observed), f(1.0 / noise.sigma(observed)), f(prior_mean), _prior_precision(prior_cov, noise),
               f(s.aw), f(s.bbw), f(s.log_a), f(s.e), f(s.pc), f(s.cdom), f(s.nap), f(s.bbp_tss),
               f(s.bbp_chl), f(s.glint * _GLINT_UNIT), f(_LOWER), f(_UPPER), int(n_iter), 1e-4,
               state, chi2)
        return state, chi2
    starts = list(range(0, n, chunk))

    def one(i: int) -> None:
        sl = slice(i, i + chunk)
        state[sl], chi2[sl] = _map_chunk(s, observed[sl], prior_mean[sl], prior_cov, noise, n_iter)

    if len(starts) > 1 and threads > 1:  # numpy releases the GIL: chunks run side by side
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, starts))
    else:
        for i in starts:
            one(i)
    return state, chi2


def _prior_precision(cov: np.ndarray, noise: NoiseModel) -> np.ndarray:
    cov = np.asarray(cov, dtype=float)
    cov4 = np.diag(cov**2) if cov.ndim == 1 else cov
    prec = np.zeros((6, 6))
    prec[:4, :4] = np.linalg.inv(cov4 + 1e-8 * np.eye(4))
    prec[4, 4] = 1.0 / noise.gain**2
    prec[5, 5] = (_GLINT_UNIT / noise.glint) ** 2
    return prec


def _map_chunk(s: Shapes, obs: np.ndarray, mu: np.ndarray, cov: np.ndarray, noise: NoiseModel,
               n_iter: int, tol: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Batched Levenberg–Marquardt on the rows still moving (an active set: most spectra
    converge in two or three steps from the data-driven prior)."""
    n, nb = obs.shape
    f32 = np.float32
    # the spectral arithmetic in single precision (twice as fast; Rrs is known to ~1e-3),
    # the state, costs and 6×6 normal equations in double
    s32 = Shapes(*(np.asarray(getattr(s, f.name), dtype=f32) for f in dataclasses.fields(Shapes)))
    obs32 = obs.astype(f32)
    w = (1.0 / noise.sigma(obs)).astype(f32)
    prec = _prior_precision(cov, noise)
    chol_t = np.linalg.cholesky(prec).T  # prec = chol_t.T @ chol_t
    prior_mu = np.hstack([mu, np.zeros((n, 2))])
    x = prior_mu.copy()
    glint = (s.glint * _GLINT_UNIT).astype(f32)

    def evaluate(x: np.ndarray, rows: np.ndarray):
        rrs, j4 = forward(s32, x[:, :4].astype(f32), jacobian=True)
        gain = np.exp(x[:, 4:5]).astype(f32)
        wr = w[rows]
        r = (gain * rrs + x[:, 5:6].astype(f32) * glint - obs32[rows]) * wr
        rp = (x - prior_mu[rows]) @ chol_t.T
        cost = np.einsum("ij,ij->i", r, r, dtype=np.float64) + (rp**2).sum(1)
        jmat = np.empty((rows.size, nb, 6), dtype=f32)
        jmat[..., :4] = j4 * (gain * wr)[..., None]
        jmat[..., 4] = gain * rrs * wr
        jmat[..., 5] = glint * wr
        return r, cost, jmat

    everyone = np.arange(n)
    r, cost, jmat = evaluate(x, everyone)
    lam = np.full(n, 1e-2)
    active = everyone
    eye = np.eye(6)
    for _ in range(n_iter):
        if not active.size:
            break
        ja = jmat[active]
        jt = ja.transpose(0, 2, 1)
        jtj = (jt @ ja).astype(np.float64) + prec
        grad = (jt @ r[active][..., None])[..., 0].astype(np.float64) + (x[active] - prior_mu[active]) @ prec
        damp = jtj + lam[active, None, None] * np.diagonal(jtj, axis1=1, axis2=2)[:, :, None] * eye
        step = np.linalg.solve(damp, -grad[..., None])[..., 0]
        trial = x[active] + step
        trial[:, :4] = np.clip(trial[:, :4], _LOWER, _UPPER)
        r_t, cost_t, j_t = evaluate(trial, active)
        ok = np.isfinite(cost_t) & (cost_t < cost[active])
        gain_rel = np.where(ok, (cost[active] - cost_t) / np.maximum(cost[active], 1e-12), 0.0)
        acc = active[ok]
        x[acc], r[acc], cost[acc], jmat[acc] = trial[ok], r_t[ok], cost_t[ok], j_t[ok]
        lam[active] = np.where(ok, lam[active] * 0.3, lam[active] * 10.0)
        moving = (ok & (gain_rel > tol)) | (~ok & (lam[active] < 1e4))
        active = active[moving]
    return x, np.einsum("ij,ij->i", r, r, dtype=np.float64) / nb


class RegionalPhysics(BaseEstimator):
    """The physics stage: regional SIOPs, a data-driven prior and the MAP inversion.

    ``fit(X, Y, wavelength_nm=..., features=...)`` takes spectra on their own band centres
    (the physics needs no resampling, which would bias sharp spectral features), the lab
    values of Chl-a [µg/L], PC [µg/L], TSS [mg/L] and CDOM [1/m] (columns of ``Y``, NaN where
    not measured) and the :class:`~hsiwq.models.features.SpectralFeatures` of the spectra
    (for the data-driven prior); ``transform`` returns the features named in
    ``feature_names_out_``: MAP ln concentrations, ln Secchi depth from the MAP IOPs
    (Lee et al. 2015), gain, glint, the posterior-median ln concentrations (``post_*``,
    :mod:`hsiwq.models.posterior`) and ln χ² (always last).

    Parameters
    ----------
    window_nm : tuple of float
        Bands used by the physics [nm].
    step_nm : float
        Least spacing of the bands used [nm].
    prior : {"population", "ridge"}
        Prior of the MAP inversion: ``population`` — the mean and covariance of the ln lab
        values (a few numbers: the stage's outputs barely depend on any one matchup, so the
        regressors stacked on them can be cross-validated honestly); ``ridge`` — a ridge
        regression on the spectral features with its cross-validated error (sharper, but
        its outputs carry the labels of the matchups it was fitted on, and a stacked
        regressor's cross-validated error is then optimistic).
    prior_scale : float or "auto"
        Factor on the prior covariance [-]. A Gaussian with the population covariance of
        the lab values shrinks too hard where the constituents spread log-uniformly and the
        spectra tell little (chlorophyll-a in clear water); ``auto`` widens it by the factor
        of :data:`PRIOR_SCALES` whose MAP estimates of the matchups used for the SIOPs have
        the lowest geometric mean over constituents of the median absolute ln error — an
        empirical-Bayes choice of one number, 1 when too few matchups are complete.
    siop : IOPModel or None
        Starting SIOPs (the region's file, if any); None: generic inland.
    fit_siop : bool
        Fit the SIOPs to the matchups (else use ``siop`` as given).
    min_complete : int
        Fewest matchups with all four constituents needed to fit SIOPs.
    max_siop_rows : int
        Most matchups used to fit the SIOPs (a random subset beyond).
    n_iter : int
        Iterations of the MAP inversion.
    sun_zenith_deg : float
        Sun zenith angle for the Secchi depth [deg].
    posterior_samples : int
        Spectra simulated from the fitted region to learn the posterior-median correction of
        the MAP estimates (:mod:`hsiwq.models.posterior`), at least
        :data:`MIN_POSTERIOR_SAMPLES`; 0: none (the ``post_*`` outputs then repeat the MAP).
        Learnt only where the SIOPs and noise were fitted to the matchups (``siop_fitted_``)
        and with the population prior, whose mean needs no features of the simulated spectra.
    random_state : int
        Seed of the simulation and of the correction's network.

    Attributes
    ----------
    siop_ : IOPModel
    noise_ : NoiseModel
    prior_models_ : list of estimators (None with the population prior, or where a
        constituent had too few labels)
    prior_sd_ : ndarray (4,)
    prior_cov_ : ndarray (4, 4)
        Covariance of the ln lab values.
    prior_scale_ : float
        Factor on ``prior_cov_`` used by the MAP inversion.
    posterior_ : PosteriorCorrection or None
        The posterior-median correction (None when not learnt).
    """

    # what a model saved before these parameters existed behaves as (get_params, clone)
    posterior_samples = 0
    random_state = 0

    def __init__(self, window_nm=(400.0, 900.0), step_nm: float = 4.0, prior: str = "population",
                 prior_scale: float | Literal["auto"] = "auto", siop: IOPModel | None = None,
                 fit_siop: bool = True, min_complete: int = 20,
                 max_siop_rows: int = 300, n_iter: int = 15, sun_zenith_deg: float = 30.0,
                 posterior_samples: int = 20000, random_state: int = 0):
        self.window_nm = window_nm
        self.step_nm = step_nm
        self.prior = prior
        self.prior_scale = prior_scale
        self.siop = siop
        self.fit_siop = fit_siop
        self.min_complete = min_complete
        self.max_siop_rows = max_siop_rows
        self.n_iter = n_iter
        self.sun_zenith_deg = sun_zenith_deg
        self.posterior_samples = posterior_samples
        self.random_state = random_state

    def bands(self, wavelength_nm) -> np.ndarray:
        """Indices of the bands of ``wavelength_nm`` used: within the window, ≥ ``step_nm`` apart."""
        wl = np.asarray(wavelength_nm, dtype=float)
        idx = np.flatnonzero((wl >= self.window_nm[0]) & (wl <= self.window_nm[1]))
        keep, last = [], -np.inf
        for i in idx:
            if wl[i] - last >= self.step_nm - 1e-9:
                keep.append(i)
                last = wl[i]
        if len(keep) < 8:
            raise ValueError(f"fewer than 8 bands within {self.window_nm} nm")
        return np.array(keep)

    def fit(self, X, Y, *, wavelength_nm, features, groups=None):
        """Fit the prior, the SIOPs and noise, and the posterior-median correction.

        Parameters
        ----------
        X : array (n, n_band)
            Spectra [sr-1] on ``wavelength_nm``.
        Y : array (n, 4)
            Lab Chl-a, PC, TSS, CDOM (NaN = not measured).
        wavelength_nm : array (n_band,)
            Band centres of ``X`` [nm], increasing.
        features : array (n, n_features)
            Spectral features of ``X`` for the data-driven prior.
        groups : array (n,), optional
            Groups for the cross-validated prior error (e.g. sampling days).

        Returns
        -------
        self
        """
        X = np.asarray(X, dtype=float)
        Y = np.asarray(Y, dtype=float)
        F = np.asarray(features, dtype=float)
        self._validate_params(X, Y, F)
        wl = np.asarray(wavelength_nm, dtype=float)
        bands = self.bands(wl)
        self._fit_prior(Y, F, groups)
        start = self.siop or GENERIC_INLAND
        complete = np.all(np.isfinite(Y) & (Y > 0), axis=1) & np.all(X[:, bands] > 0, axis=1)
        noise = NoiseModel()
        self.siop_fitted_ = bool(self.fit_siop and complete.sum() >= self.min_complete)
        rows = np.flatnonzero(complete)
        if rows.size > self.max_siop_rows:
            rows = np.sort(np.random.default_rng(0).choice(rows, self.max_siop_rows, replace=False))
        if self.siop_fitted_:
            siop, noise = fit_siop(wl[bands], X[rows][:, bands], Y[rows], start=start, noise=noise)
        else:
            siop = start
        self.siop_, self.noise_, self.prior_scale_ = siop, noise, 1.0
        if self.prior_scale != "auto":
            self.prior_scale_ = float(self.prior_scale)
        elif rows.size >= self.min_complete:
            self.prior_scale_ = self._select_prior_scale(X[rows][:, bands], np.log(Y[rows]), F[rows],
                                                         Shapes.of(wl[bands], siop))
        self.posterior_ = None
        lab_rows = np.all(np.isfinite(Y) & (Y > 0), axis=1)
        # only from what the matchups say: fitted SIOPs and noise, the population prior
        if self.posterior_samples > 0 and self.prior == "population" and self.siop_fitted_:
            self.posterior_ = self._fit_posterior(Shapes.of(wl[bands], siop), np.log(Y[lab_rows]))
        self.feature_names_out_ = np.array(
            ["phys_chl_a", "phys_phycocyanin", "phys_tss", "phys_cdom", "phys_secchi", "phys_gain",
             "phys_glint"] + [f"post_{c}" for c in CONSTITUENTS] + ["phys_chi2"], dtype=object)
        return self

    def _validate_params(self, X: np.ndarray, Y: np.ndarray, F: np.ndarray) -> None:
        if self.prior not in ("population", "ridge"):
            raise ValueError(f"prior must be 'population' or 'ridge', got {self.prior!r}")
        scale_ok = isinstance(self.prior_scale, (int, float)) and self.prior_scale > 0
        if self.prior_scale != "auto" and not scale_ok:
            raise ValueError(f"prior_scale must be 'auto' or a positive number, got {self.prior_scale!r}")
        n_sim = self.posterior_samples
        if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or not (
                n_sim == 0 or n_sim >= MIN_POSTERIOR_SAMPLES):
            raise ValueError(f"posterior_samples must be 0 (no correction) or an integer "
                             f">= {MIN_POSTERIOR_SAMPLES}, got {n_sim!r}")
        if Y.shape != (X.shape[0], 4) or F.shape[0] != X.shape[0]:
            raise ValueError(f"Y must have shape ({X.shape[0]}, 4) and features {X.shape[0]} rows")

    def _fit_prior(self, Y: np.ndarray, F: np.ndarray, groups) -> None:
        """Prior of the MAP: ``prior_models_``, ``prior_sd_``, ``prior_fallback_``, ``prior_cov_``."""
        self.prior_models_, sd, means = [], np.ones(4), np.zeros(4)
        for k in range(4):
            ok = np.isfinite(Y[:, k]) & (Y[:, k] > 0)
            ly = np.log(Y[ok, k])
            means[k] = float(np.median(ly)) if ok.any() else 0.0
            sd[k] = max(float(np.std(ly)), 0.05) if ok.sum() >= 3 else 3.0
            if self.prior != "ridge" or ok.sum() < 10:
                self.prior_models_.append(None)
                continue
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
            g = None if groups is None else np.asarray(groups)[ok]
            n_groups = ok.sum() if g is None else np.unique(g).size
            cv = GroupKFold(min(5, n_groups)) if g is not None else KFold(5, shuffle=True, random_state=0)
            oof = cross_val_predict(model, F[ok], ly, groups=g, cv=cv)
            sd[k] = max(float(np.sqrt(np.mean((oof - ly) ** 2))), 0.01)
            self.prior_models_.append(model.fit(F[ok], ly))
        cov = np.diag(sd**2)
        complete = np.all(np.isfinite(Y) & (Y > 0), axis=1)
        if self.prior == "population" and complete.sum() >= 10:
            cov = np.cov(np.log(Y[complete]).T) + np.diag((0.05 * np.ones(4)) ** 2)
        self.prior_sd_, self.prior_fallback_, self.prior_cov_ = sd, means, cov

    def _fit_posterior(self, s: Shapes, log_lab: np.ndarray) -> PosteriorCorrection:
        """The posterior-median correction, learnt on spectra simulated from the fitted region."""
        rng = np.random.default_rng(self.random_state)
        log_true, sim = simulate_region(s, log_lab, self.noise_, int(self.posterior_samples), rng)
        mu = np.tile(self.prior_fallback_, (sim.shape[0], 1))
        state, chi2 = map_invert(s, sim, np.clip(mu, _LOWER, _UPPER), self.prior_cov_ * self.prior_scale_,
                                 self.noise_, self.n_iter, threads=min(2, os.cpu_count() or 1))
        return PosteriorCorrection(random_state=self.random_state).fit(
            sim, _map_state(state, chi2), log_true, wavelength_nm=s.wavelength_nm)

    def _select_prior_scale(self, obs: np.ndarray, log_lab: np.ndarray, features: np.ndarray,
                            s: Shapes) -> float:
        """The factor of :data:`PRIOR_SCALES` whose MAP estimates of ``obs`` best match the
        lab values (geometric mean over constituents of the median absolute ln error)."""
        mu = self.prior_mean(features)
        best, best_score = 1.0, np.inf
        for scale in PRIOR_SCALES:
            state, _ = map_invert(s, obs, mu, self.prior_cov_ * scale, self.noise_, self.n_iter,
                                  threads=min(2, os.cpu_count() or 1))
            err = np.median(np.abs(state[:, :4] - log_lab), axis=0)
            score = float(np.sum(np.log(np.maximum(err, 1e-6))))
            if score < best_score:
                best, best_score = float(scale), score
        return best

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "siop_")
        return self.feature_names_out_.copy()

    def prior_mean(self, features) -> np.ndarray:
        """Prior ln concentrations (n, 4) from the data-driven models."""
        check_is_fitted(self, "siop_")
        F = np.asarray(features, dtype=float)
        mu = np.tile(self.prior_fallback_, (F.shape[0], 1))
        for k, m in enumerate(self.prior_models_):
            if m is not None:
                mu[:, k] = m.predict(F)
        return np.clip(mu, _LOWER, _UPPER)

    def transform(self, X, *, wavelength_nm, features) -> np.ndarray:
        """Physics features (n, 12; 8 for models saved before the posterior correction) of
        spectra ``X`` on ``wavelength_nm``; NaN rows where a
        used band is missing."""
        check_is_fitted(self, "siop_")
        X = np.asarray(X, dtype=float)
        wl = np.asarray(wavelength_nm, dtype=float)
        bands = self.bands(wl)
        mu = self.prior_mean(features)
        s = Shapes.of(wl[bands], self.siop_)
        obs = X[:, bands]
        finite = np.all(np.isfinite(obs), axis=1)
        obs = np.where(finite[:, None], obs, 0.0)
        scale = getattr(self, "prior_scale_", 1.0)  # models saved before it existed: 1
        state, chi2 = map_invert(s, obs, mu, self.prior_cov_ * scale, self.noise_, self.n_iter,
                                 threads=min(2, os.cpu_count() or 1))
        secchi = self._secchi(state[:, :4])
        cols = [state[:, :4], np.log(np.clip(secchi, 1e-3, 1e3)), state[:, 4:6]]
        if len(self.feature_names_out_) > 8:  # models saved before the posterior correction: 8
            cols.append(self._posterior(obs, wl[bands], state, chi2))
        out = np.column_stack(cols + [np.log(np.maximum(chi2, 1e-6))])
        out[~finite] = np.nan
        return out

    def _posterior(self, obs: np.ndarray, wl: np.ndarray, state: np.ndarray, chi2: np.ndarray) -> np.ndarray:
        """Posterior-median ln concentrations (n, 4); the MAP's where there is no correction or
        the spectra's bands do not cover the simulated ones (with a warning)."""
        post = getattr(self, "posterior_", None)
        if post is None:
            return state[:, :4]
        try:
            return post.predict(obs, _map_state(state, chi2), wavelength_nm=wl)
        except SpectraError as exc:
            warnings.warn(f"posterior-median correction not applied, the MAP is used: {exc}", stacklevel=3)
            return state[:, :4]

    def _secchi(self, logc: np.ndarray) -> np.ndarray:
        vis = np.arange(410.0, 700.1, 10.0)
        s = Shapes.of(vis, self.siop_)
        a, bb, _ = iops(s, logc)
        rrs = forward(s, logc)
        kd = kd_lee2013(a, bb, s.bbw, self.sun_zenith_deg)
        return secchi_lee2015(vis, kd, rrs)
