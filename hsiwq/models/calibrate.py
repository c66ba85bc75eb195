"""A region's calibration from a matchup table: fit, compare, register, report, promote.

:func:`calibrate_region` is what ``hsiwq calibrate`` and the recalibration flow run:

1. validate the matchups (:mod:`.matchups`); spectra that do not cover the common grid are
   dropped (counted);
2. clone the calibrator template and fit every parameter present (:mod:`.calibrator`),
   starting the physics stage from the region's SIOP file when it has one;
3. score, on the same matchups, the region's default algorithms and the models in service;
4. register the new models as one version (:mod:`.registry`), optionally promote it;
5. write the calibration report (:mod:`.report`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import clone

from ..params import PARAMETER_IDS
from ..retrieval.defaults import DEFAULT_ALGORITHMS, retrieve_defaults
from ..retrieval.regions import load_region
from ..workspace import Workspace
from .calibrator import CalibrationOutcome, RegionCalibrator
from .candidates import CANDIDATES
from .matchups import Matchups
from .metrics import summary
from .predict import predict_models
from .promotion import parameters_to_promote
from .registry import ModelRegistry, RegistryError
from .spectra import SpectraError, common_grid, resample


@dataclass
class CalibrationRun:
    """The result of :func:`calibrate_region`.

    Attributes
    ----------
    region, version : str
    outcome : CalibrationOutcome
        Models and cross-validation reports.
    default_metrics, service_metrics : dict
        Parameter → metrics of the default algorithm / the model in service before this
        run, on the same matchups.
    default_predictions : dict
        Parameter → default values for every usable matchup row.
    default_labels, service_versions : dict
        What the default is, and which version served, per parameter.
    training_sha256, group_by, source : str
    promoted : bool
        Whether any parameter was put in service.
    promoted_parameters : list of str
        Those put in service (:mod:`hsiwq.models.promotion`).
    report : Path or None
    n_dropped : int
        Matchups whose spectra did not cover the model grid.
    """

    region: str
    version: str
    outcome: CalibrationOutcome
    values: np.ndarray
    default_metrics: dict[str, dict] = field(default_factory=dict)
    default_predictions: dict[str, np.ndarray] = field(default_factory=dict)
    default_labels: dict[str, str] = field(default_factory=dict)
    service_metrics: dict[str, dict] = field(default_factory=dict)
    service_versions: dict[str, str] = field(default_factory=dict)
    training_sha256: str = ""
    group_by: str = ""
    source: str = ""
    promoted: bool = False
    promoted_parameters: list[str] = field(default_factory=list)
    report: Path | None = None
    n_dropped: int = 0
    candidate_names: tuple[str, ...] = CANDIDATES

    def rows_of(self, pid: str) -> np.ndarray:
        """Rows (of the usable matchups) with a lab value of ``pid``."""
        y = self.values[:, PARAMETER_IDS.index(pid)]
        return np.flatnonzero(np.isfinite(y) & (y > 0))


def calibrate_region(matchups: Matchups, region: str, workspace: Workspace, *,
                     calibrator: RegionCalibrator | None = None, promote: bool = False,
                     report_dir: str | Path | None = None, author: str | None = None,
                     compare: bool = True, tolerance: float = 0.0,
                     progress: Callable[[str, int, int], None] | None = None) -> CalibrationRun:
    """Calibrate, register (and optionally promote) a region's models.

    Parameters
    ----------
    matchups : Matchups
        Validated matchup table.
    region : str
        Region id.
    workspace : Workspace
        Where the registry (and the region's SIOP file) live.
    calibrator : RegionCalibrator, optional
        Template (cloned); default ``RegionCalibrator(n_jobs=2)``.
    promote : bool
        Put the new version in service for the parameters the promotion policy
        (:func:`hsiwq.models.promotion.parameters_to_promote`) finds at least as good as
        what serves them now.
    report_dir : path, optional
        Report folder (default ``<home>/reports/<region>-<version>``); ``False``-y paths
        other than None are not accepted.
    author : str, optional
        Recorded in the registry.
    compare : bool
        Score the defaults and the models in service on the matchups (without it, the
        promotion policy has nothing to compare with and promotes every parameter).
    tolerance : float
        Relative MdSA margin of the promotion policy [-].
    progress : callable, optional
        ``progress(step, done, total)`` during the fit
        (:meth:`hsiwq.models.calibrator.RegionCalibrator.fit`).

    Returns
    -------
    CalibrationRun
    """
    registry = ModelRegistry(workspace.registry_dir)
    settings = load_region(region, workspace.regions_dir)
    template = calibrator if calibrator is not None else RegionCalibrator(n_jobs=2)
    est = clone(template).set_params(parameters=list(PARAMETER_IDS))
    if settings.siop_name != "generic-inland" and est.siop is None:
        est.set_params(siop=settings.siop)
    # bands most spectra lack (real tables: spectrometers that stop at 700 nm) are left out,
    # rather than every spectrum that lacks them
    kept = np.mean(np.isfinite(matchups.rrs), axis=0) >= 0.5
    wl = matchups.wavelength_nm[kept]
    if wl.size < 2:
        raise SpectraError(matchups.source, "fewer than 2 bands are measured in most spectra")
    grid = common_grid(wl, est.grid_step_nm)
    usable = np.all(np.isfinite(resample(matchups.rrs[:, kept], wl, grid)), axis=1)
    if usable.sum() < 10:
        raise SpectraError(matchups.source, f"only {int(usable.sum())} spectra are complete over "
                                            f"{grid[0]:g}–{grid[-1]:g} nm")
    rrs, values, groups = matchups.rrs[usable][:, kept], matchups.values[usable], matchups.groups[usable]
    try:
        est.fit(rrs, values, wavelength_nm=wl, groups=groups, progress=progress)
    except ValueError as exc:
        raise SpectraError(matchups.source, str(exc)) from None
    outcome: CalibrationOutcome = est.result_
    if not outcome.models:
        raise SpectraError(matchups.source, "no parameter has enough lab values for a model: "
                                            + "; ".join(f"{k}: {v}" for k, v in outcome.skipped.items()))
    run = CalibrationRun(region, "", outcome, values, training_sha256=matchups.sha256(),
                         group_by=matchups.group_by, source=matchups.source,
                         n_dropped=int((~usable).sum()),
                         candidate_names=tuple(c for c in CANDIDATES if c in est.candidates) + ("selected",))
    step = progress or (lambda *_: None)
    n = len(outcome.reports)
    if compare:
        step("scoring the defaults and the models in service", n, n)
        _compare(run, rrs, wl, values, region, workspace, settings, registry)
    meta = {
        "training_data_sha256": run.training_sha256, "source": matchups.source,
        "n_matchups": outcome.n_matchups, "n_groups": outcome.n_groups, "cv_grouped_by": run.group_by,
        "grid_step_nm": est.grid_step_nm, "interval_level": est.interval_level,
        "siop": None if outcome.siop is None else dataclasses.asdict(outcome.siop),
        "physics_prior_scale": outcome.prior_scale,
        "parameters": {pid: {"cv": rep.metrics[rep.chosen], "cv_all": rep.metrics,
                             "cv_including_choice": rep.metrics["selected"],
                             "interval_coverage_cv": rep.interval_coverage,
                             "default": run.default_metrics.get(pid),
                             "default_algorithm": run.default_labels.get(pid)}
                       for pid, rep in outcome.reports.items()},
    }
    run.version = registry.register(region, outcome.models, meta, author=author)
    if promote:
        chosen = [p for p in parameters_to_promote(run, tolerance) if p in outcome.models]
        if chosen:
            registry.promote(region, run.version, chosen, by=author)
        run.promoted_parameters, run.promoted = chosen, bool(chosen)
    from .report import write_report

    step("writing the report", n, n)
    target = Path(report_dir) if report_dir else workspace.root / "reports" / f"{region}-{run.version}"
    run.report = write_report(target, run)
    return run


def _compare(run: CalibrationRun, rrs, wl, values, region, workspace, settings, registry) -> None:
    present = [p for p in run.outcome.reports]
    with_default = [p for p in present if p in DEFAULT_ALGORITHMS]
    if with_default:
        d = retrieve_defaults(rrs, wl, siop=settings.siop, siop_name=settings.siop_name,
                              choice=settings.algorithms, parameters=with_default)
        for pid in with_default:
            rows = run.rows_of(pid)
            run.default_predictions[pid] = d.values[pid]
            run.default_metrics[pid] = summary(values[rows, PARAMETER_IDS.index(pid)], d.values[pid][rows])
            run.default_labels[pid] = d.algorithms[pid]
    serving = {}
    for pid, version in registry.in_service(region).items():
        if pid in present:
            try:
                serving[pid] = (version, registry.load(region, pid, version))
            except RegistryError as exc:
                run.service_versions[pid] = f"{version} (not loadable: {exc.problem})"
    if serving:
        pred = predict_models(serving, rrs, wl, region)
        for pid, (version, _) in serving.items():
            rows = run.rows_of(pid)
            run.service_metrics[pid] = summary(values[rows, PARAMETER_IDS.index(pid)], pred.values[pid][rows])
            run.service_versions[pid] = version
