"""Per-region models: the shared stages and one fitted model per parameter.

A region's calibration (:class:`hsiwq.models.calibrator.RegionCalibrator`) produces

- one :class:`RegionStages` — the common grid, the spectral features, the physics stage
  (regional SIOPs + MAP inversion) and the optical water types, shared by all parameters of
  that calibration; and
- one :class:`ParameterModel` per parameter — the regressor chosen by cross-validation, its
  conformal interval, its training domain and the range of its training values.

Each :class:`ParameterModel` carries its stages, so it is stored, promoted and rolled back
on its own; at prediction, parameters whose stages are the same object identity (the same
``key``) share one computation of them through a cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sklearn

from .domain import DomainModel
from .features import SpectralFeatures
from .owt import OpticalWaterTypes
from .physics import RegionalPhysics
from .spectra import resample
from .uncertainty import ConformalInterval

#: Margin (factor) beyond the training range of a parameter before a value is out of domain.
RANGE_MARGIN = 1.5


@dataclass
class StageOutput:
    """The shared stages evaluated on spectra (rows ``valid`` only carry values; the
    arrays hold those rows only)."""

    valid: np.ndarray
    features: np.ndarray
    physics: np.ndarray
    owt: np.ndarray
    outside: np.ndarray  # 1 where the spectrum lies outside the training domain
    prior: np.ndarray | None = None  # ln estimates of the global model (its parameters)
    _design: np.ndarray | None = None

    def design(self) -> np.ndarray:
        """The stacked design matrix [features | physics | prior | water-type memberships]
        (built once)."""
        if self._design is None:
            prior = self.prior if self.prior is not None else np.zeros((self.features.shape[0], 0))
            self._design = np.hstack([self.features, self.physics, prior, self.owt])
        return self._design


class RegionStages:
    """The stages a region's parameter models share (fitted by the calibrator).

    Attributes
    ----------
    key : str
        Identity of this set of stages (shared-computation cache key).
    grid : ndarray
        Common wavelength grid of the features [nm].
    features : SpectralFeatures
    physics : RegionalPhysics or None
    owt : OpticalWaterTypes or None
    domain : DomainModel
        Training domain of the region's spectra (features and, with physics, its misfit).
    prior : GlobalModel, str or None
        The global model whose ln estimates are features (``glob_<parameter>``) and the
        ``global`` candidate: what real water elsewhere says, for small regional sets. The
        bundled model is referenced by its label (``global/<version>``, resolved at use)
        rather than copied into every parameter's file.
    """

    #: for models saved before the prior stage existed
    prior = None

    def __init__(self, key: str, grid: np.ndarray, features: SpectralFeatures,
                 physics: RegionalPhysics | None, owt: OpticalWaterTypes | None,
                 domain: DomainModel, prior=None):
        self.key = key
        self.grid = np.asarray(grid, dtype=float)
        self.features = features
        self.physics = physics
        self.owt = owt
        self.domain = domain
        self.prior = prior

    @property
    def n_physics(self) -> int:
        return 0 if self.physics is None else len(self.physics.feature_names_out_)

    @property
    def n_owt(self) -> int:
        return 0 if self.owt is None else int(self.owt.n_types_)

    @property
    def prior_model(self):
        """The prior as a fitted model (the bundled one when referenced by label)."""
        if self.prior is None or not isinstance(self.prior, str):
            return self.prior
        from .global_bundle import resolve_global

        return resolve_global(self.prior)

    @property
    def prior_names(self) -> list[str]:
        """Names of the prior's columns, ``glob_<parameter>``."""
        return [] if self.prior is None else [f"glob_{p}" for p in self.prior_model.parameters]

    def feature_names(self) -> list[str]:
        names = list(self.features.feature_names_out_)
        if self.physics is not None:
            names += list(self.physics.feature_names_out_)
        names += self.prior_names
        if self.owt is not None:
            names += [f"owt_{n}" for n in self.owt.names_]
        return names

    def transform(self, rrs: np.ndarray, wavelength_nm: np.ndarray) -> StageOutput:
        """Evaluate the stages on spectra ``rrs`` (n, n_band) [sr-1] on ``wavelength_nm``."""
        rrs = np.atleast_2d(np.asarray(rrs, dtype=float))
        wl = np.asarray(wavelength_nm, dtype=float)
        xg = resample(rrs, wl, self.grid)
        valid = np.all(np.isfinite(xg), axis=1)
        feats = self.features.transform(xg[valid])
        phys = np.zeros((feats.shape[0], self.n_physics))
        if self.physics is not None and feats.shape[0]:
            phys = self.physics.transform(rrs[valid], wavelength_nm=wl, features=feats)
            ok = np.all(np.isfinite(phys), axis=1)  # a band the physics needs is missing
            if not ok.all():
                valid[np.flatnonzero(valid)[~ok]] = False
                feats, phys = feats[ok], phys[ok]
        prior = None
        if self.prior is not None:
            prior = prior_columns(self.prior_model, rrs[valid], wl)
            ok = np.all(np.isfinite(prior), axis=1)  # the spectrum misses a band the prior needs
            if not ok.all():
                valid[np.flatnonzero(valid)[~ok]] = False
                feats, phys, prior = feats[ok], phys[ok], prior[ok]
        owt = (self.owt.transform(xg[valid]) if self.owt is not None and feats.shape[0]
               else np.zeros((feats.shape[0], self.n_owt)))
        misfit = np.exp(phys[:, -1]) if self.physics is not None else None
        outside = (self.domain.flag(feats, misfit) if feats.shape[0]
                   else np.zeros(0, dtype=np.int8))
        return StageOutput(valid, feats, phys, owt, outside, prior)


def prior_columns(prior, rrs: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """ln estimates of the prior (global) model, one column per parameter it knows.

    Parameters
    ----------
    prior : GlobalModel
        A fitted :class:`hsiwq.models.global_model.GlobalModel`.
    rrs : ndarray
        Spectra (n, n_band) [sr-1].
    wavelength_nm : ndarray
        Their band centres [nm].

    Returns
    -------
    ndarray
        (n, len(prior.parameters)); NaN where the spectra do not cover its bands. The
        estimates are the global model's perceptron's (:meth:`GlobalModel.estimate`): the
        stage runs on every spectrum the regional models see, and its boosted trees would
        cost more than the rest of the prediction.
    """
    if rrs.shape[0] == 0:
        return np.zeros((0, len(prior.parameters)))
    pred = prior.estimate(rrs, wavelength_nm)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.column_stack([np.log(pred[p]) for p in prior.parameters])


class ParameterModel:
    """A fitted regional model of one parameter (made by the calibrator).

    Attributes
    ----------
    parameter : str
        Parameter id.
    stages : RegionStages
        The shared stages it was trained on.
    candidate : str
        Name of the chosen regressor.
    regressor : estimator
        Fitted on the stacked design matrix, predicting ln(value).
    interval : ConformalInterval
        Calibrated on cross-validated residuals.
    log_range : tuple of float
        ln of the 0.5 % and 99.5 % quantiles of its training values.
    n_train : int
        Number of training matchups.
    """

    def __init__(self, parameter: str, stages: RegionStages, candidate: str, regressor,
                 interval: ConformalInterval, log_range: tuple[float, float], n_train: int):
        self.parameter = parameter
        self.stages = stages
        self.candidate = candidate
        self.regressor = regressor
        self.interval = interval
        self.log_range = (float(log_range[0]), float(log_range[1]))
        self.n_train = int(n_train)

    @property
    def wavelength_range_nm(self) -> tuple[float, float]:
        return float(self.stages.grid[0]), float(self.stages.grid[-1])

    def difficulty(self, log_pred: np.ndarray, out: StageOutput) -> np.ndarray:
        """Covariates of the interval width: ln ŷ and, with physics, ln χ² of the MAP fit."""
        cols = [log_pred]
        if self.stages.physics is not None:
            cols.append(out.physics[:, -1])
        return np.column_stack(cols)

    def predict(self, rrs: np.ndarray, wavelength_nm: np.ndarray,
                cache: dict[str, StageOutput] | None = None) -> dict[str, np.ndarray]:
        """Values, interval bounds and out-of-domain flags of spectra.

        Parameters
        ----------
        rrs : ndarray
            Spectra (n, n_band) [sr-1].
        wavelength_nm : ndarray
            Their band centres [nm].
        cache : dict, optional
            Shared stage outputs by stage key (filled on first use).

        Returns
        -------
        dict of str to ndarray
            ``value``, ``lo``, ``hi`` [catalogue unit] and ``ood`` (1/0), each (n,); ``ood``
            is 1 where the spectrum is outside the region's training domain or the value
            beyond the parameter's training range (by a factor :data:`RANGE_MARGIN`);
            unusable spectra give NaN values and ``ood`` 1.
        """
        rrs = np.atleast_2d(np.asarray(rrs, dtype=float))
        n = rrs.shape[0]
        if cache is not None and self.stages.key in cache:
            out = cache[self.stages.key]
        else:
            out = self.stages.transform(rrs, wavelength_nm)
            if cache is not None:
                cache[self.stages.key] = out
        result = {k: np.full(n, np.nan) for k in ("value", "lo", "hi")}
        result["ood"] = np.ones(n, dtype=np.int8)
        if not out.valid.any():
            return result
        with sklearn.config_context(assume_finite=True):  # rows are finite (``valid``)
            log_pred = np.ravel(self.regressor.predict(out.design()))
        half = self.interval.half_width(self.difficulty(log_pred, out))
        lo_r, hi_r = self.log_range
        margin = np.log(RANGE_MARGIN)
        beyond = (log_pred < lo_r - margin) | (log_pred > hi_r + margin)
        ood = out.outside | beyond.astype(np.int8)
        v = out.valid
        with np.errstate(over="ignore"):  # ln values beyond ~709 (far outside): inf, and ``beyond``
            result["value"][v] = np.exp(log_pred)
            result["lo"][v] = np.exp(log_pred - half)
            result["hi"][v] = np.exp(log_pred + half)
        result["ood"][v] = ood
        return result
