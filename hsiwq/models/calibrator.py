"""Calibrating a region's models from its matchups.

:class:`RegionCalibrator` is the template a region's calibration clones. ``fit`` takes the
matchup spectra (any grid), the lab values of some or all parameters (NaN = not measured)
and the sampling groups (days), and

1. resamples the spectra to a common grid and computes the spectral features;
2. splits the matchups into folds **by group**, so that samples of one day never sit on
   both sides of a split;
3. cross-fits the physics stage (regional SIOPs + MAP inversion; each fold's physics
   features come from a stage fitted without that fold) and learns the optical water types;
4. for each parameter with enough lab values, scores every candidate regressor
   (:mod:`.candidates`) by its cross-validated MdSA in log space (the mean over the
   folds, so that every campaign counts alike), and a stack of them
   (non-negative weights learnt on their held-out predictions; kept unless a single
   candidate is clearly better; for a parameter that is not optically active, its
   log-linear relation with the retrieved constituents unless another is clearly better),
   refits the choice on all the parameter's matchups, calibrates its 68 % interval on the
   held-out residuals
   (:mod:`.uncertainty`); the region's training domain (:mod:`.domain`) is learnt once,
   from all the spectra, with the held-out physics misfit.
"""

from __future__ import annotations

import time
import uuid
import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from ..bio_optics.iops import IOPModel
from ..params import PARAMETER_IDS, PARAMETERS
from .candidates import (CANDIDATES, COMBINED, COSTLY, COSTLY_MIN_WEIGHT, ENSEMBLE_MEMBERS, MeanRegressor,
                         PhysicsColumn, make_candidates, stack_weights)
from .domain import DomainModel
from .features import SpectralFeatures
from .gloria import GLORIA_PARAMETERS
from .metrics import mdsa, summary
from .owt import OpticalWaterTypes
from .physics import CONSTITUENTS, RegionalPhysics
from .pooled import PooledBoosting
from .regional import ParameterModel, RegionStages, prior_columns
from .spectra import common_grid, resample
from .uncertainty import ConformalInterval


@dataclass
class ParameterReport:
    """Cross-validation of one parameter.

    Attributes
    ----------
    parameter : str
    n : int — matchups with a lab value
    chosen : str — the candidate kept
    metrics : dict — candidate name → {mdsa, sspb, r2, rmse, n} of its held-out predictions
        and ``campaign_mdsa`` (the choice's score as MdSA [%]: :func:`_campaign_score`), and
        ``selected`` for the whole procedure including the choice of candidate
    y, oof : ndarray — lab values and the held-out predictions of the whole procedure
    seconds : float — time spent on this parameter
    """

    parameter: str
    n: int
    chosen: str
    metrics: dict[str, dict[str, float]]
    y: np.ndarray
    oof: np.ndarray
    seconds: float = 0.0
    interval_coverage: float = float("nan")


@dataclass
class CalibrationOutcome:
    """What :meth:`RegionCalibrator.fit` produced (also its ``result_`` attribute)."""

    models: dict[str, ParameterModel]
    reports: dict[str, ParameterReport]
    skipped: dict[str, str] = field(default_factory=dict)
    n_matchups: int = 0
    n_groups: int = 0
    siop: IOPModel | None = None
    seconds: float = 0.0
    #: factor on the physics stage's prior covariance (None without physics)
    prior_scale: float | None = None


#: Fewest training rows of a CV fold (fewer: the fold gives no held-out predictions; PLS
#: with 10 components needs more rows than components).
MIN_FOLD_ROWS = 12
#: Default ``stack_margin``: the stack is kept unless a single candidate's CV score is lower
#: by more than half (on a few hundred matchups the choice of one candidate among ~14 by
#: cross-validation is noise-prone). Where it was chosen and on which data, with the figures:
#: :data:`hsiwq.models.provenance.TUNED` and docs/models.md §3.
STACK_MARGIN = 0.5
#: Fewest held-out predictions a parameter needs (its interval is calibrated on them).
MIN_HELD_OUT = 10


def _oof_predictions(template, Z: np.ndarray, ly: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    oof = np.full(ly.size, np.nan)
    for train, test in folds:
        if train.size < MIN_FOLD_ROWS or test.size == 0:
            continue
        oof[test] = np.ravel(clone(template).fit(Z[train], ly[train]).predict(Z[test]))
    return oof


@dataclass(frozen=True)
class ChoiceRule:
    """How a parameter's regressor is chosen from the candidates' cross-validated scores.

    The candidate of lowest score, except that ``prefer`` (if given) is kept when its score
    is within a factor 1 + ``prefer_margin`` of the lowest, else ``stack`` when its score is
    within a factor 1 + ``stack_margin`` of it (ties go to the earlier name).

    Attributes
    ----------
    stack_margin : float
        Share by which another candidate must beat the stack [-].
    prefer : str or None
        A candidate kept unless beaten by more than ``prefer_margin`` (``ridge-conc`` for
        parameters that are not optically active).
    prefer_margin : float
        Share by which another candidate must beat ``prefer`` [-].
    """

    stack_margin: float = 0.0
    prefer: str | None = None
    prefer_margin: float = 0.0

    def choose(self, score: dict[str, float], names: tuple[str, ...]) -> str:
        """The chosen name among ``score`` (by candidate: :func:`_campaign_score`, the mean
        over CV folds of the median absolute ln residual)."""
        best = min(score, key=lambda k: (score[k], names.index(k)))
        for name, margin in ((self.prefer, self.prefer_margin), ("stack", self.stack_margin)):
            if name in score and np.isfinite(score[name]) and score[name] <= (1.0 + margin) * score[best]:
                return name
        return best


def _fit_parameter(pid: str, Z: np.ndarray, y: np.ndarray,
                   folds: list[tuple[np.ndarray, np.ndarray]], candidates: dict, names: tuple[str, ...],
                   chi2: np.ndarray | None, level: float, threads: int | None, rule: ChoiceRule = ChoiceRule()):
    """Select, refit and calibrate one parameter's regressor (runs in a worker)."""
    t0 = time.perf_counter()
    with threadpool_limits(limits=threads), warnings.catch_warnings():
        # GP hyperparameters at their bounds are normal here (irrelevant ARD dimensions)
        warnings.simplefilter("ignore", ConvergenceWarning)
        rows = np.flatnonzero(np.isfinite(y) & (y > 0))
        pos = np.full(y.size, -1)
        pos[rows] = np.arange(rows.size)
        sub_folds = [(pos[tr][pos[tr] >= 0], pos[te][pos[te] >= 0]) for tr, te in folds]
        Zr, ly = Z[rows], np.log(y[rows])
        oofs: dict[str, np.ndarray] = {}
        for name in names:
            if name in COMBINED:
                continue
            oofs[name] = _oof_predictions(candidates[name], Zr, ly, sub_folds)
        if "ensemble" in names and all(m in oofs for m in ENSEMBLE_MEMBERS if m in candidates):
            oofs["ensemble"] = np.mean([oofs[m] for m in ENSEMBLE_MEMBERS if m in candidates], axis=0)
        members = [k for k in oofs if k not in COMBINED]
        dear = np.array([k in COSTLY for k in members])
        floor = np.where(dear, COSTLY_MIN_WEIGHT, 0.02)
        if "stack" in names and len(members) > 1:
            oofs["stack"] = _stacked_oof(np.column_stack([oofs[k] for k in members]), ly, sub_folds, floor, dear)
        truth = np.exp(ly)
        score = {k: _campaign_score(v, ly, sub_folds) for k, v in oofs.items()}
        metrics = {k: summary(truth, np.exp(v)) | {"campaign_mdsa": 100.0 * float(np.expm1(score[k]))}
                   for k, v in oofs.items()}
        chosen = rule.choose(score, names)
        if chosen == "stack":
            P = np.column_stack([oofs[k] for k in members])
            ok = np.all(np.isfinite(P), axis=1)
            w = stack_weights(P[ok], ly[ok], floor, dear)
            regressor = MeanRegressor([(k, candidates[k]) for k, wk in zip(members, w) if wk > 0],
                                      weights=[float(wk) for wk in w if wk > 0]).fit(Zr, ly)
        else:
            regressor = clone(candidates[chosen]).fit(Zr, ly)
        honest = _selection_aware(oofs, ly, sub_folds, names, rule)
        if np.sum(np.isfinite(honest)) < MIN_HELD_OUT:
            return pid, None, f"{int(np.sum(np.isfinite(honest)))} held-out predictions (folds too small; " \
                              f"at least {MIN_HELD_OUT} needed to calibrate the interval)"
        difficulty = [honest] + ([chi2[rows]] if chi2 is not None else [])
        interval = ConformalInterval(level=level).fit(ly - honest, np.column_stack(difficulty))
        log_range = (float(np.quantile(ly, 0.005)), float(np.quantile(ly, 0.995)))
        oof = honest
    metrics["selected"] = summary(truth, np.exp(oof))
    return pid, chosen, regressor, interval, log_range, metrics, truth, np.exp(oof), time.perf_counter() - t0


def _stacked_oof(P: np.ndarray, ly: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                 min_weight=0.02, costly=None) -> np.ndarray:
    """Held-out predictions of the stack: each fold's weights learnt on the other folds'
    held-out predictions (:func:`~.candidates.stack_weights`), applied to this fold's."""
    out = np.full(ly.size, np.nan)
    ok = np.all(np.isfinite(P), axis=1)
    for _, test in folds:
        train = np.ones(ly.size, bool)
        train[test] = False
        train &= ok
        if train.sum() < 10:
            continue
        out[test] = P[test] @ stack_weights(P[train], ly[train], min_weight, costly)
    return out


def _campaign_score(pred: np.ndarray, ly: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean over CV folds of each fold's median absolute ln residual [-].

    The folds hold whole sampling days, so every fold counts alike whatever its size: the
    score estimates the error on the *next campaign*, not on the next matchup, as
    scikit-learn's ``GridSearchCV`` ranks by the unweighted mean of its fold scores. Pooling
    the residuals instead lets one large, well-fitted campaign hide a candidate's failure on
    the others (docs/real_water.md, "Every campaign counts alike"). Folds without a finite
    held-out prediction are skipped; none at all gives ``inf``.
    """
    r = np.abs(pred - ly)
    per = [np.nanmedian(r[test]) for _, test in folds if np.isfinite(r[test]).any()]
    return float(np.mean(per)) if per else np.inf


def _selection_aware(oofs: dict[str, np.ndarray], ly: np.ndarray,
                     folds: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...],
                     rule: ChoiceRule = ChoiceRule()) -> np.ndarray:
    """Held-out predictions of the whole procedure *including* the choice of candidate.

    For each fold, the candidate is chosen on the other folds' held-out predictions and its
    prediction for this fold is kept; choosing on the same residuals that calibrate the
    interval would make it too narrow (selection optimism).
    """
    out = np.full(ly.size, np.nan)
    for i, (_, test) in enumerate(folds):
        others = folds[:i] + folds[i + 1:]
        best = rule.choose({k: _campaign_score(v, ly, others) for k, v in oofs.items()}, names)
        out[test] = oofs[best][test]
    return out


class RegionCalibrator(BaseEstimator):
    """Template of a region's calibration (see the module docstring).

    Parameters
    ----------
    parameters : sequence of str or None
        Ids of the columns of ``Y`` (default: the 11 catalogue parameters in order).
    candidates : sequence of str
        Candidate regressors to compare (:data:`hsiwq.models.candidates.CANDIDATES`).
    n_splits : int or None
        Cross-validation folds (by group); None: 5 up to 1,000 matchups, 3 beyond (the
        training folds are then large enough, and calibration stays within a minute).
    interval_level : float
        Coverage of the prediction interval [-].
    physics : bool
        Use the physics stage (regional SIOPs + MAP inversion) when chlorophyll-a,
        phycocyanin, TSS and CDOM have lab values.
    owt : bool
        Use optical-water-type memberships as features.
    grid_step_nm : float
        Spacing of the common grid [nm].
    min_samples : int
        Fewest lab values a parameter needs to get a model.
    siop : IOPModel or None
        Starting SIOPs of the physics stage (the region's file, if any).
    stack_margin : float
        The ``stack`` candidate (non-negative weights of the others, learnt on their
        cross-validated predictions) is kept unless another candidate's CV MdSA is lower by
        more than this share [-]: with a few hundred matchups, the CV scores of eleven
        candidates differ by their noise, and a weighted mean is the more robust choice
        (default :data:`STACK_MARGIN`, 0.5).
    constituent_margin : float
        A parameter that is not optically active (COD_Mn, COD, TN, TP, NH3-N) keeps
        ``ridge-conc`` — a log-linear relation with the four retrieved constituents — unless
        another candidate's (or the stack's) CV MdSA is lower by more than this share [-].
        Such a parameter has no spectral signature: what a spectrum tells about it passes
        through the optically active constituents, and the empirical limnological relations
        are log-linear in them (Dillon & Rigler 1974; Carlson 1977). Default 0: ``ridge-conc``
        is kept where its CV score is the lowest, else the rule of ``stack_margin`` applies.
        A margin of 0.10 helped on the project's own simulator, whose non-optical parameters
        are log-linear in the constituents by construction, and cost 3 % on average on the
        second simulator, whose are not (docs/models.md); raise it for a region where that
        relation is known to hold.
    posterior_samples : int
        Spectra the physics stage simulates from the fitted region to learn its
        posterior-median correction (:mod:`hsiwq.models.posterior`; the ``posterior``
        candidate and the ``post_*`` physics features); 0: no correction (faster).
    prior : "global", GlobalModel or None
        A model of real water elsewhere whose ln estimates become features
        (``glob_<parameter>``) and, for its parameters, the ``global`` candidate (its estimate
        with the region's median bias removed): "global" is the bundled global model
        (:mod:`hsiwq.models.global_model`), None none. With a few dozen matchups, what other
        lakes teach is often worth more than what a regression learns from the region
        alone; cross-validation decides. Used, like the ``pls-l`` and ``hgb-l`` candidates,
        when the region has no physics stage.
    pool : bool
        With a prior, add the ``hgb-pool`` candidate for chlorophyll-a, TSS, CDOM and Secchi
        depth: gradient boosting on the region's matchups pooled with the bundled real
        matchups (GLORIA) of other water bodies, both sets weighted alike, with a column
        marking the region's own (:mod:`hsiwq.models.pooled`). A prior fitted without some
        countries (``GlobalModel.fold``) leaves them out of the pool too.
    n_jobs : int
        Parameters fitted in parallel (processes).
    random_state : int
        Seed of the folds and the estimators.

    Attributes
    ----------
    result_ : CalibrationOutcome

    References
    ----------
    .. [1] Dillon, P. J., Rigler, F. H. (1974). The phosphorus-chlorophyll relationship in
       lakes. Limnol. Oceanogr. 19(5), 767–773.
    .. [2] Carlson, R. E. (1977). A trophic state index for lakes. Limnol. Oceanogr. 22(2),
       361–369.
    """

    def __init__(self, parameters=None, candidates=CANDIDATES, n_splits: int | None = None,
                 interval_level: float = 0.68, physics: bool = True, owt: bool = True,
                 grid_step_nm: float = 5.0, min_samples: int = 20, siop: IOPModel | None = None,
                 stack_margin: float = STACK_MARGIN, constituent_margin: float = 0.0,
                 posterior_samples: int = 20000, prior="global", pool: bool = True, n_jobs: int = 1,
                 random_state: int = 0):
        self.parameters = parameters
        self.candidates = candidates
        self.n_splits = n_splits
        self.interval_level = interval_level
        self.physics = physics
        self.owt = owt
        self.grid_step_nm = grid_step_nm
        self.min_samples = min_samples
        self.siop = siop
        self.stack_margin = stack_margin
        self.constituent_margin = constituent_margin
        self.posterior_samples = posterior_samples
        self.prior = prior
        self.pool = pool
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _prior_stage(self, X: np.ndarray, wl: np.ndarray):
        """The prior model and its ln estimates of the matchups (None and no columns when
        there is none, or when it cannot estimate every matchup: a region whose spectra
        miss the prior's visible bands)."""
        prior, ref = self.prior, self.prior
        if isinstance(prior, str):
            if prior != "global":
                raise ValueError(f"prior must be 'global', a GlobalModel or None, not {prior!r}")
            from .global_bundle import bundled_global_model

            prior = bundled_global_model()
            ref = f"global/{prior.version_}"  # referenced, not copied into every model file
        if prior is None:
            return None, np.zeros((X.shape[0], 0))
        G = prior_columns(prior, X, wl)
        if not np.all(np.isfinite(G)):
            warnings.warn("the global prior cannot estimate every matchup (bands missing); "
                          "calibrating without it", stacklevel=3)
            return None, np.zeros((X.shape[0], 0))
        return ref, G

    def _validate(self, X, Y, wavelength_nm, groups):
        ids = tuple(self.parameters or PARAMETER_IDS)
        unknown = set(ids) - set(PARAMETER_IDS)
        if unknown:
            raise ValueError(f"unknown parameter ids {sorted(unknown)}")
        bad = set(self.candidates) - set(CANDIDATES)
        if bad or not self.candidates:
            raise ValueError(f"unknown candidates {sorted(bad)}; known: {', '.join(CANDIDATES)}")
        for name in ("stack_margin", "constituent_margin"):
            _check_share(name, getattr(self, name))
        X = np.atleast_2d(np.asarray(X, dtype=float))
        Y = np.asarray(Y, dtype=float).reshape(X.shape[0], -1)
        wl = np.asarray(wavelength_nm, dtype=float)
        if X.shape[1] != wl.size:
            raise ValueError(f"spectra have {X.shape[1]} bands but {wl.size} wavelengths")
        if Y.shape[1] != len(ids):
            raise ValueError(f"Y has {Y.shape[1]} columns for {len(ids)} parameters")
        g = np.arange(X.shape[0]) if groups is None else np.asarray(groups)
        if g.shape[0] != X.shape[0]:
            raise ValueError("groups must have one entry per spectrum")
        return ids, X, Y, wl, g

    def fit(self, X, Y, *, wavelength_nm, groups=None, progress=None):
        """Calibrate from matchup spectra ``X`` (n, n_band) [sr-1] and lab values ``Y`` (n, p).

        Parameters
        ----------
        progress : callable, optional
            Called as ``progress(step, done, total)`` when a stage starts (``done`` 0) and
            after each parameter is calibrated (``done`` of ``total`` parameters).

        Returns
        -------
        self
        """
        t_start = time.perf_counter()
        with threadpool_limits(limits=1):
            return self._fit(X, Y, wavelength_nm, groups, t_start, progress or _quiet)

    def _fit(self, X, Y, wavelength_nm, groups, t_start: float, progress):
        ids, X, Y, wl, g = self._validate(X, Y, wavelength_nm, groups)
        grid = common_grid(wl, self.grid_step_nm)
        xg = resample(X, wl, grid)
        usable = np.all(np.isfinite(xg), axis=1)
        X, xg, Y, g = X[usable], xg[usable], Y[usable], g[usable]
        n_groups = np.unique(g).size
        if n_groups < 3:
            raise ValueError(f"need matchups from at least 3 groups (days), got {n_groups}")
        n_splits = self.n_splits or (5 if xg.shape[0] <= 1000 else 3)
        splitter = GroupKFold(min(n_splits, n_groups), shuffle=True, random_state=self.random_state)
        folds = list(splitter.split(xg, groups=g))
        features = SpectralFeatures(wavelength_nm=tuple(grid)).fit(xg)
        F = features.transform(xg)

        physics, P = None, np.zeros((xg.shape[0], 0))
        cols = [ids.index(c) if c in ids else None for c in CONSTITUENTS]
        if self.physics and None not in cols:
            progress("physics stage (cross-fitted SIOP inversion)", 0, len(ids))
            Yc = Y[:, cols]
            template = RegionalPhysics(siop=self.siop, posterior_samples=self.posterior_samples,
                                       random_state=self.random_state)
            if np.sum(np.all(np.isfinite(Yc), axis=1)) >= template.min_complete:
                physics, P = _cross_fit_physics(template, X, Yc, wl, F, g, folds)
        # the global prior and the baselines' own forms (pls-l, hgb-l) serve regions without a
        # physics stage (lab tables without every constituent, as real ones mostly are); with
        # one, its features carry what they add, and adding them cost the simulator
        # benchmark's clear-water COD 7 % (docs/real_water.md)
        if physics is None and self.prior is not None:
            progress("global prior on the matchup spectra", 0, len(ids))
        prior, G = self._prior_stage(X, wl) if physics is None else (None, np.zeros((X.shape[0], 0)))
        owt, O = None, np.zeros((xg.shape[0], 0))
        if self.owt:
            owt = OpticalWaterTypes(wavelength_nm=tuple(grid), random_state=self.random_state).fit(xg)
            O = owt.transform(xg)
        misfit = np.exp(P[:, -1]) if physics is not None else None  # held-out misfits
        domain = DomainModel(random_state=self.random_state).fit(F, groups=g, misfit=misfit)
        stages = RegionStages(uuid.uuid4().hex, grid, features, physics, owt, domain, prior)
        Z = np.hstack([F, P, G, O])
        n_spectral = sum(1 for n in features.feature_names_out_ if n.startswith(("L_", "dL_")))
        candidates = make_candidates(F.shape[1], P.shape[1] + G.shape[1] + O.shape[1],
                                     n_physics=P.shape[1] + G.shape[1],
                                     n_spectral=n_spectral, n_level=grid.size if physics is None else None,
                                     random_state=self.random_state)
        chi2 = P[:, -1] if physics is not None else None

        #: column of the design matrix by (candidate, parameter) where a physics feature
        #: estimates the parameter directly
        names = list(physics.feature_names_out_) if physics is not None else []
        names += stages.prior_names
        direct = {(cand, n[len(prefix):]): F.shape[1] + i for i, n in enumerate(names)
                  for cand, prefix in (("physics", "phys_"), ("posterior", "post_"), ("global", "glob_"))
                  if n.startswith(prefix) and n[len(prefix):] in PARAMETERS}
        todo, skipped = [], {}
        for j, pid in enumerate(ids):
            n_lab = int(np.sum(np.isfinite(Y[:, j]) & (Y[:, j] > 0)))
            if n_lab < self.min_samples:
                skipped[pid] = f"{n_lab} lab values (at least {self.min_samples} needed)"
            else:
                todo.append((pid, Y[:, j]))
        n_jobs = max(1, min(int(self.n_jobs), len(todo) or 1))
        threads = 1  # two cores: one thread per worker beats oversubscribed BLAS/OpenMP
        # real water elsewhere, pooled with the region's matchups (what the prior learnt from,
        # less the groups it was fitted without)
        pooled = bool(self.pool) and prior is not None
        excluded = tuple(map(str, getattr(self.prior, "held_out_", ())))

        def own(pid: str) -> tuple[dict, tuple[str, ...]]:
            cands = dict(candidates)
            for name in ("physics", "posterior", "global"):
                if (name, pid) in direct and name in self.candidates:
                    cands[name] = PhysicsColumn(column=direct[name, pid])
            if pooled and pid in GLORIA_PARAMETERS:
                cands["hgb-pool"] = PooledBoosting(parameter=pid, grid=tuple(map(float, grid)),
                                                   log_scale=features.log_scale, exclude=excluded,
                                                   random_state=self.random_state)
            return cands, tuple(c for c in CANDIDATES if c in self.candidates and c in cands)

        def preferred(pid: str) -> str | None:
            return None if PARAMETERS[pid].optically_active else "ridge-conc"

        jobs = (delayed(_fit_parameter)(pid, Z, y, folds, *own(pid), chi2, self.interval_level, threads,
                                        ChoiceRule(float(self.stack_margin), preferred(pid),
                                                   float(self.constituent_margin)))
                for pid, y in todo)
        progress(f"candidates of {len(todo)} parameters", 0, len(todo))
        runner = (Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs) if n_jobs > 1
                  else jobs_to_list(jobs))
        results = []
        for res in runner:
            results.append(res)
            progress(f"{res[0]} calibrated", len(results), len(todo))
        order = [pid for pid, _ in todo]
        results.sort(key=lambda r: order.index(r[0]))
        models, reports = {}, {}
        for res in results:
            if res[1] is None:  # too few held-out predictions
                skipped[res[0]] = res[2]
                continue
            pid, chosen, reg, interval, log_range, metrics, truth, oof, secs = res
            n_train = int(truth.size)
            models[pid] = ParameterModel(pid, stages, chosen, reg, interval, log_range, n_train)
            y = Y[:, ids.index(pid)]
            lab = np.isfinite(y) & (y > 0)  # the rows of truth and oof
            difficulty = [np.log(oof)] + ([chi2[lab]] if chi2 is not None else [])
            half = interval.half_width(np.column_stack(difficulty))
            inside = np.abs(np.log(truth / oof)) <= half
            reports[pid] = ParameterReport(pid, n_train, chosen, metrics, truth, oof, secs,
                                           float(np.mean(inside)))
        self.result_ = CalibrationOutcome(models, reports, skipped, int(xg.shape[0]), int(n_groups),
                                          None if physics is None else physics.siop_,
                                          time.perf_counter() - t_start,
                                          None if physics is None else physics.prior_scale_)
        return self


def _cross_fit_physics(template: RegionalPhysics, X: np.ndarray, Yc: np.ndarray, wl: np.ndarray,
                       F: np.ndarray, g: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]):
    """The physics stage fitted on all matchups, and its cross-fitted features (each fold's
    from a stage fitted without it; a fold's NaN rows filled with the column medians)."""
    P, learnt = None, []
    for train, test in folds:
        stage = clone(template).fit(X[train], Yc[train], wavelength_nm=wl, features=F[train], groups=g[train])
        if P is None:
            P = np.full((X.shape[0], len(stage.feature_names_out_)), np.nan)
        P[test] = stage.transform(X[test], wavelength_nm=wl, features=F[test])
        learnt.append(stage.posterior_ is not None)
    physics = clone(template).fit(X, Yc, wavelength_nm=wl, features=F, groups=g)
    if physics.posterior_ is not None and not all(learnt):
        # a fold too small to learn the correction: its post_* columns are the MAP's, so the
        # stage in service must not correct either (same meaning in CV and in use)
        physics.posterior_ = None
        names = list(physics.feature_names_out_)
        for c in CONSTITUENTS:
            P[:, names.index(f"post_{c}")] = P[:, names.index(f"phys_{c}")]
    return physics, np.where(np.isfinite(P), P, np.nanmedian(P, axis=0))


def _check_share(name: str, value) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is a number within [0, 1)."""
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = float("nan")
    if not 0.0 <= share < 1.0:
        raise ValueError(f"{name} must be a number within [0, 1), got {value!r}")


def _quiet(step: str, done: int, total: int) -> None:
    """No progress reporting."""


def jobs_to_list(jobs):
    """Run delayed calls in this process."""
    for fn, args, kwargs in jobs:
        yield fn(*args, **kwargs)
