"""The global default model: what a water body with no regional model gets.

A site whose region has no calibrated model still needs values that someone can act on.
Semi-analytical inversions with generic optical properties and single-formula band
algorithms fail on water they were not tuned to (on the bundled real matchups, per
country: chlorophyll-a 60–177 % MdSA with generic SIOPs, 13–250 % for the best-known band
algorithms). :class:`GlobalModel` is instead *learnt from real water*: the GLORIA matchups
of 15 countries (:mod:`.gloria`), in the manner of the global machine-learning retrievals of
Pahlevan et al. (2020) and Smith et al. (2021):

- any sensor's spectrum is band-averaged to the 19 OLCI bands of the training data
  (:func:`.gloria.band_average`), so the model applies to every camera covering 400–700 nm
  (and uses the red edge and NIR where the camera covers them: two band sets, ``full``
  400–865 nm and ``vis`` 400–681 nm, each trained on every sample that has it);
- per parameter, an ensemble of two unlike learners on ln(value), whose mean is the
  estimate: gradient-boosted trees on log10 Rrs of every band and classic band ratios (red
  edge / red, green / red, blue / green, the phycocyanin trough), missing bands allowed, and
  a small multilayer perceptron on the band set's log10 Rrs, spectral shape (log Rrs minus
  its visible mean, free of a gain error) and ratios. The pair was chosen by
  leave-one-country-out MdSA on GLORIA among boosted trees, extra trees, k-nearest
  neighbours, perceptrons, country-balanced weights and published algorithms as extra
  inputs (docs/real_water.md);
- for CDOM, the published algorithms of Ficek et al. (2011) and the QAA (Zhu et al. 2011) join
  the two learners in a weighted mean, the weights learnt on the learners' leave-one-country-out
  predictions (:mod:`.blend`); chosen by a nested leave-one-country-out comparison, which
  preferred the blend for CDOM in every held-out country and perceptron seed and for no other
  parameter consistently (docs/real_water.md);
- a 68 % interval from normalised split-conformal calibration on **leave-country-out**
  residuals (the ensemble's spread and the estimate as difficulty covariates), so its
  coverage holds for a water body the model never saw, not only for new rows of known ones;
- an out-of-domain flag from a principal-component domain of the features with thresholds
  set on held-out countries (:class:`.domain.DomainModel`).

Every value it produces is labelled ``global/<version>`` in the store. The learners' inputs
are computed in :mod:`.global_features`; the fitted model bundled with hsiwq is built,
checked and loaded by :mod:`.global_bundle`.

References
----------
.. [1] Lehmann, M. K., et al. (2023). GLORIA – A globally representative hyperspectral in
   situ dataset for optical sensing of water quality. Sci. Data 10, 100.
.. [2] Pahlevan, N., Smith, B., Schalles, J., et al. (2020). Seamless retrievals of
   chlorophyll-a from Sentinel-2 (MSI) and Sentinel-3 (OLCI) in inland and coastal waters:
   A machine-learning approach. Remote Sens. Environ. 240, 111604.
.. [3] Smith, B., Pahlevan, N., Schalles, J., et al. (2021). A chlorophyll-a algorithm for
   Landsat-8 based on mixture density networks. Front. Remote Sens. 1, 623678.
.. [4] Papadopoulos, H., et al. (2002). Inductive confidence machines for regression.
   ECML 2002, LNCS 2430, 345–356.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..retrieval.published import BAND_FUNCTIONS
from .blend import blend, fit_weights
from .domain import DomainModel
from .global_features import BAND_SETS, REAL_BOOSTING, all_band_features, global_features, published_estimates
from .gloria import GLORIA_PARAMETERS, OLCI_BANDS, band_average
from .uncertainty import ConformalInterval

#: Published algorithms blended with the learners, per parameter, by their names in
#: :data:`~hsiwq.retrieval.published.BAND_FUNCTIONS`.
PUBLISHED_MEMBERS = (("cdom", ("ficek2011", "qaa-cdom")),)
#: Least share of the held-out rows a published algorithm must give a value for to be blended.
MIN_PUBLISHED_SHARE = 0.8


def _key(*parts) -> str:
    """Key of the fitted dicts: ``<parameter>/<band set>[/<group>]`` (skops needs str keys)."""
    return "/".join(map(str, parts))



#: Which features each learner sees: ``all`` (every band, gaps allowed) or ``set`` (the
#: band set's complete features).
MEMBER_VIEWS = {"hgb": "all", "mlp": "set"}


def _members(random_state: int) -> dict[str, BaseEstimator]:
    """The ensemble's learners (templates)."""
    return {
        "hgb": HistGradientBoostingRegressor(**REAL_BOOSTING, random_state=random_state),
        "mlp": make_pipeline(StandardScaler(), MLPRegressor(
            hidden_layer_sizes=(64, 64), alpha=1e-2, learning_rate_init=1e-3, max_iter=2000,
            early_stopping=True, n_iter_no_change=30, random_state=random_state)),
    }


class _Ensemble:
    """Fitted members of one parameter and band set; ln predictions of each."""

    def __init__(self, fitted: list[BaseEstimator], views: list[str]):
        self.fitted = fitted
        self.views = views

    def predict_all(self, F_set: np.ndarray, F_all: np.ndarray, views=None) -> np.ndarray:
        """(n, n_members) ln predictions from the band set's and the all-band features (only
        the members of ``views``, when given)."""
        return np.column_stack([np.ravel(m.predict(F_all if v == "all" else F_set))
                                for m, v in zip(self.fitted, self.views) if views is None or v in views])


class GlobalModel(BaseEstimator):
    """Global model of the optically active parameters, learnt on real matchups.

    Parameters
    ----------
    parameters : tuple of str
        Parameter ids to learn (those with lab values in the training data).
    members : tuple of str
        Learners of each ensemble (``hgb``, ``mlp``).
    seeds : int
        Seeds per learner (the ensemble is members × seeds).
    published : tuple of (str, tuple of str)
        Per parameter, published algorithms (:mod:`hsiwq.retrieval.algorithms` names) blended
        with the learners, with weights learnt on the held-out predictions (:mod:`.blend`;
        only when ``fit`` cross-validates; an algorithm giving values for fewer than
        :data:`MIN_PUBLISHED_SHARE` of the held-out rows is left out).
    level : float
        Coverage of the prediction interval [-].
    min_group : int
        Fewest lab values of a parameter for a group to be held out in turn (smaller
        groups always stay in training).
    holdout : sequence of str or None
        The groups held out in turn for every parameter instead (e.g. a benchmark's test
        countries, so that a fold never saw its group's lab values of any parameter).
    keep_folds : bool
        Keep each held-out group's ensemble (``folds_``), e.g. to use it as the prior of a
        regional calibration of that group in a benchmark.
    random_state : int
        Base seed.

    Attributes
    ----------
    models_ : dict
        ``<parameter>/<band set>`` → fitted ensemble.
    intervals_ : dict
        ``<parameter>/<band set>`` → :class:`~.uncertainty.ConformalInterval`.
    domains_ : dict
        band set → :class:`~.domain.DomainModel`.
    log_range_ : dict
        parameter → ln of the 0.5 % and 99.5 % quantiles of its training values.
    cv_ : dict
        ``<parameter>/<band set>`` → held-out (leave-one-group-out) ``rows`` (indices into the
        training data), ``members`` (ln predictions of each learner), ``estimate`` (the ln
        estimate: the members' mean, or their blend with the published algorithms, its
        weights learnt without the row's group), ``truth`` (ln) and ``group``.
    weights_ : dict
        ``<parameter>/<band set>`` → (names of the published algorithms blended, weights of
        the learners then of those algorithms), where ``published`` names some.
    folds_ : dict
        ``<parameter>/<band set>/<group>`` → the ensemble fitted without that group (with
        ``keep_folds``).
    fold_weights_ : dict
        ``<parameter>/<band set>/<group>`` → the blend weights learnt without that group, as
        in ``weights_`` (with ``keep_folds``).
    """

    # what a model saved before the parameter existed behaves as (get_params, clone)
    published = ()

    def __init__(self, parameters=GLORIA_PARAMETERS, members=("hgb", "mlp"), seeds: int = 1,
                 published=PUBLISHED_MEMBERS, level: float = 0.68, min_group: int = 60, holdout=None,
                 keep_folds: bool = False, random_state: int = 0):
        self.parameters = parameters
        self.members = members
        self.seeds = seeds
        self.published = published
        self.level = level
        self.min_group = min_group
        self.holdout = holdout
        self.keep_folds = keep_folds
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def _templates(self) -> list[tuple[str, BaseEstimator]]:
        out = []
        for s in range(int(self.seeds)):
            pool = _members(self.random_state + s)
            out += [(MEMBER_VIEWS[m], pool[m]) for m in self.members]
        return out

    def _fit_ensemble(self, F_set: np.ndarray, F_all: np.ndarray, ly: np.ndarray, shared: dict) -> _Ensemble:
        """Members fitted on the band set's rows; an ``all``-view member is fitted once on
        every labelled row and shared by the band sets (``shared``: its cache)."""
        fitted, views = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for i, (view, template) in enumerate(self._templates()):
                if view == "all":
                    if i not in shared:
                        shared[i] = clone(template).fit(*shared["all_data"])
                    fitted.append(shared[i])
                else:
                    fitted.append(clone(template).fit(F_set, ly))
                views.append(view)
        for m in fitted:  # the optimiser's state is for training only: keep files small
            last = m[-1] if hasattr(m, "steps") else m
            if isinstance(last, MLPRegressor):
                last._optimizer = None
                last._best_coefs = last._best_intercepts = None
        return _Ensemble(fitted, views)

    def fit(self, rrs_olci, values: dict, groups, *, cv: bool = True):
        """Learn from spectra on the OLCI bands.

        Parameters
        ----------
        rrs_olci : ndarray
            (n, 19) [sr-1], NaN where a band was not measured.
        values : dict of str to ndarray
            Lab values per parameter id (n,), NaN = not measured.
        groups : ndarray
            Group of each sample (country). Each group with at least ``min_group`` lab values
            of a parameter is held out in turn (leave-one-group-out); its held-out
            predictions calibrate the interval and the domain.
        cv : bool
            Calibrate intervals and domains on held-out groups (False: point estimates
            only, e.g. inside a benchmark's own cross-validation).

        Returns
        -------
        self
        """
        X = np.atleast_2d(np.asarray(rrs_olci, dtype=float))
        if X.shape[1] != len(OLCI_BANDS):
            raise ValueError(f"expected spectra on the {len(OLCI_BANDS)} OLCI bands, got {X.shape[1]} columns")
        g = np.asarray(groups).astype(str)
        if g.shape[0] != X.shape[0]:
            raise ValueError("groups must have one entry per spectrum")
        unknown = set(self.parameters) - set(values)
        if unknown:
            raise ValueError(f"no lab values for {sorted(unknown)}")
        self.models_, self.intervals_, self.domains_, self.log_range_, self.cv_ = {}, {}, {}, {}, {}
        self.folds_, self.weights_, self.fold_weights_ = {}, {}, {}
        published = dict(self.published)
        for pid, names in published.items():
            unknown = [n for n in names if n not in BAND_FUNCTIONS]
            if unknown:
                raise ValueError(f"published={self.published!r}: unknown published algorithms "
                                 f"{unknown}; known: {', '.join(BAND_FUNCTIONS)}")
            wrong = [n for n in names if BAND_FUNCTIONS[n].parameter != pid]
            if wrong:
                raise ValueError(f"published={self.published!r}: {wrong} do not estimate {pid!r}; "
                                 f"list each algorithm under its own parameter")
        A = all_band_features(X)
        sets = {b: global_features(X, b) for b in BAND_SETS}
        has = {b: np.all(np.isfinite(sets[b]), axis=1) for b in BAND_SETS}
        if cv:
            for band_set in BAND_SETS:
                if np.unique(g[has[band_set]]).size >= 3:
                    self.domains_[band_set] = DomainModel(
                        n_splits=min(5, np.unique(g[has[band_set]]).size),
                        random_state=self.random_state).fit(sets[band_set][has[band_set]], groups=g[has[band_set]])
        for pid in self.parameters:
            y = np.asarray(values[pid], dtype=float)
            lab = np.isfinite(y) & (y > 0) & has["vis"]
            if lab.sum() < 30:
                continue
            ly_all = np.log(np.where(lab, y, 1.0))
            self.log_range_[pid] = (float(np.quantile(ly_all[lab], 0.005)), float(np.quantile(ly_all[lab], 0.995)))
            shared = {"all_data": (A[lab], ly_all[lab])}
            for band_set in BAND_SETS:
                rows = lab & has[band_set]
                if rows.sum() < 30:
                    continue
                self.models_[_key(pid, band_set)] = self._fit_ensemble(sets[band_set][rows], A[rows],
                                                                       ly_all[rows], shared)
            if cv:
                pub = published_estimates(X, published[pid]) if published.get(pid) else None
                self._cross_validate(pid, sets, has, A, ly_all, lab, g, pub)
        self.n_features_in_ = X.shape[1]
        return self

    def _cross_validate(self, pid, sets, has, A, ly, lab, g, pub=None) -> None:
        """Leave-one-group-out predictions of the groups large enough to judge on, the blend
        weights of the published algorithms ``pub`` (ln estimates, (n, k)) learnt on them, and
        the interval of each band set calibrated on them."""
        names, counts = np.unique(g[lab], return_counts=True)
        held_groups = (names[counts >= self.min_group] if self.holdout is None
                       else np.array(sorted(set(map(str, self.holdout)))))
        if held_groups.size < 3:
            return
        n_members = len(self._templates())
        held = {b: np.full((g.size, n_members), np.nan) for b in BAND_SETS}
        for name in held_groups:
            te, tr = lab & (g == name), lab & (g != name)
            shared = {"all_data": (A[tr], ly[tr])}
            for band_set in BAND_SETS:
                key = _key(pid, band_set)
                if key not in self.models_:
                    continue
                if not te.any():
                    if self.keep_folds:  # no lab value of this parameter in the group
                        self.folds_[_key(pid, band_set, name)] = self.models_[key]
                    continue
                rows = tr & has[band_set]
                ens = self._fit_ensemble(sets[band_set][rows], A[rows], ly[rows], shared)
                mine = te & has[band_set]
                if mine.any():
                    held[band_set][mine] = ens.predict_all(sets[band_set][mine], A[mine])
                if self.keep_folds:
                    self.folds_[_key(pid, band_set, name)] = ens
        for band_set in BAND_SETS:
            ok = np.all(np.isfinite(held[band_set]), axis=1)
            if ok.sum() < 10:
                continue
            members, key = held[band_set][ok], _key(pid, band_set)
            estimate = members.mean(axis=1)
            if pub is not None:
                estimate = self._fit_blend(key, members, pub[ok], ly[ok], g[ok])
            self.cv_[key] = {"rows": np.flatnonzero(ok), "members": members, "estimate": estimate,
                             "truth": ly[ok], "group": g[ok]}
            self.intervals_[key] = ConformalInterval(level=self.level).fit(
                ly[ok] - estimate, self._difficulty(members, estimate))

    def _fit_blend(self, key: str, members: np.ndarray, pub: np.ndarray, truth: np.ndarray,
                   group: np.ndarray) -> np.ndarray:
        """Blend weights of the learners' held-out predictions and the published estimates
        (``weights_[key]``); returns each row's blended estimate with weights learnt without
        the row's group, so that the interval is calibrated on honest residuals."""
        names = dict(self.published)[key.split("/")[0]]

        def weights(rows: np.ndarray) -> tuple[list[int], np.ndarray]:
            cols = [i for i in range(pub.shape[1]) if np.mean(np.isfinite(pub[rows, i])) >= MIN_PUBLISHED_SHARE]
            M = np.hstack([members, pub[:, cols]])
            return cols, fit_weights(M[rows], truth[rows], group[rows])

        estimate = np.empty(truth.size)
        for name in np.unique(group):
            mine = group == name
            cols, w = weights(~mine)
            estimate[mine] = blend(np.hstack([members[mine], pub[mine][:, cols]]), w)
            if self.keep_folds:
                self.fold_weights_[_key(key, name)] = (tuple(names[i] for i in cols), w)
        cols, w = weights(np.ones(truth.size, dtype=bool))
        self.weights_[key] = (tuple(names[i] for i in cols), w)
        return estimate

    @staticmethod
    def _difficulty(member_preds: np.ndarray, estimate: np.ndarray | None = None) -> np.ndarray:
        """Covariates of the interval width: the estimate (default: the members' mean) and the
        members' spread (ln)."""
        mean = member_preds.mean(axis=1) if estimate is None else estimate
        spread = np.log(member_preds.std(axis=1) + 0.02) if member_preds.shape[1] > 1 else np.zeros_like(mean)
        return np.column_stack([mean, spread])

    # -- prediction ------------------------------------------------------------------------
    def predict(self, rrs, wavelength_nm) -> dict[str, dict[str, np.ndarray]]:
        """Every parameter of spectra on any grid.

        Parameters
        ----------
        rrs : ndarray
            Spectra (n, n_band) [sr-1].
        wavelength_nm : ndarray
            Their band centres [nm]; band-averaged to the OLCI bands first.

        Returns
        -------
        dict
            parameter → {``value``, ``lo``, ``hi`` [catalogue unit], ``ood`` (1/0),
            ``band_set`` (0 = full, 1 = visible only, -1 = none)} each (n,). Spectra that
            do not cover 400–681 nm give NaN and ``ood`` 1.
        """
        check_is_fitted(self, "models_")
        olci = band_average(rrs, wavelength_nm)
        return self.predict_olci(olci)

    def fold(self, group: str) -> "GlobalModel":
        """The model fitted without ``group``: its learners, and its blend weights learnt
        without ``group``'s lab values (on the other groups' held-out predictions, as in
        ``cv_``); point estimates only; needs ``keep_folds``. Its ``held_out_`` names the
        group (a regional calibration with it as prior leaves that group out of its pool)."""
        check_is_fitted(self, "folds_")
        out = clone(self)
        out.models_ = {k: self.folds_.get(_key(k, group), m) for k, m in self.models_.items()}
        missing = [k for k in self.models_ if _key(k, group) not in self.folds_]
        if missing:
            raise ValueError(f"no fold without {group!r} for {missing} (fit with keep_folds=True "
                             "and the group among the held-out ones)")
        out.intervals_, out.domains_, out.cv_, out.folds_, out.fold_weights_ = {}, {}, {}, {}, {}
        weights = getattr(self, "weights_", {})  # models saved before blending: none
        if weights and not hasattr(self, "fold_weights_"):
            warnings.warn("this model was saved before fold blend weights were kept: the fold "
                          f"without {group!r} blends with weights learnt with it; refit with "
                          "keep_folds=True", UserWarning, stacklevel=2)
        # a group without lab values of a parameter was never in its blend's training rows
        fold_weights = getattr(self, "fold_weights_", {})
        out.weights_ = {k: fold_weights.get(_key(k, group), w) for k, w in weights.items()}
        out.log_range_ = dict(self.log_range_)
        out.n_features_in_ = self.n_features_in_
        out.held_out_ = (str(group),)
        return out

    def estimate(self, rrs, wavelength_nm, views=("set",)) -> dict[str, np.ndarray]:
        """Point estimates only, from the members of ``views`` (default: the perceptron):
        the cheap path of a regional model's prior stage, which runs on every spectrum the
        region's models see (boosted trees cost ~0.2 s per 10⁵ spectra and parameter).

        Returns
        -------
        dict of str to ndarray
            parameter → estimate (n,) [catalogue unit], NaN where the bands are missing.
        """
        check_is_fitted(self, "models_")
        olci = band_average(rrs, wavelength_nm)
        feats = {b: global_features(olci, b) for b in BAND_SETS}
        use = {b: np.all(np.isfinite(feats[b]), axis=1) for b in BAND_SETS}
        use["vis"] &= ~use["full"]
        A = all_band_features(olci) if views is None or "all" in views else None
        out = {}
        for pid in self.parameters:
            v = np.full(olci.shape[0], np.nan)
            for band_set in BAND_SETS:
                rows, ens = use[band_set], self.models_.get(_key(pid, band_set))
                if ens is not None and rows.any():
                    P = ens.predict_all(feats[band_set][rows], None if A is None else A[rows], views)
                    v[rows] = np.exp(P.mean(axis=1))
            out[pid] = v
        return out

    def _estimate(self, key: str, members: np.ndarray, olci: np.ndarray) -> np.ndarray:
        """ln estimate from the members' ln predictions: their mean, or their blend with the
        published algorithms where weights were learnt."""
        blended = getattr(self, "weights_", {}).get(key)  # models saved before blending: none
        if blended is None:
            return members.mean(axis=1)
        names, w = blended
        return blend(np.hstack([members, published_estimates(olci, names)]), w)

    def predict_olci(self, olci: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """:meth:`predict` for spectra already on the OLCI bands (n, 19) [sr-1]."""
        n = olci.shape[0]
        A = all_band_features(olci)
        feats = {b: global_features(olci, b) for b in BAND_SETS}
        use = {b: np.all(np.isfinite(feats[b]), axis=1) for b in BAND_SETS}
        use["vis"] &= ~use["full"]
        out: dict[str, dict[str, np.ndarray]] = {}
        for pid in self.parameters:
            res = {k: np.full(n, np.nan) for k in ("value", "lo", "hi")}
            res["ood"] = np.ones(n, dtype=np.int8)
            res["band_set"] = np.full(n, -1, dtype=np.int8)
            for code, band_set in enumerate(BAND_SETS):
                rows = use[band_set]
                ens = self.models_.get(_key(pid, band_set))
                if ens is None or not rows.any():
                    continue
                P = ens.predict_all(feats[band_set][rows], A[rows])
                lp = self._estimate(_key(pid, band_set), P, olci[rows])
                res["value"][rows] = np.exp(lp)
                interval = self.intervals_.get(_key(pid, band_set))
                if interval is not None:
                    half = interval.half_width(self._difficulty(P, lp))
                    res["lo"][rows], res["hi"][rows] = np.exp(lp - half), np.exp(lp + half)
                lo_r, hi_r = self.log_range_[pid]
                beyond = (lp < lo_r - np.log(1.5)) | (lp > hi_r + np.log(1.5))
                domain = self.domains_.get(band_set)
                outside = (domain.flag(feats[band_set][rows]) if domain is not None
                           else np.zeros(rows.sum(), dtype=np.int8))
                res["ood"][rows] = (outside.astype(bool) | beyond).astype(np.int8)
                res["band_set"][rows] = code
            out[pid] = res
        return out
