"""Prefect flows of the models: recalibration and reprocessing (thin layers over hsiwq).

- ``recalibrate-region``: lab samples → matchup table from the ROI spectra in the site's
  configured store (a folder or an object-store URL) →
  calibration (registered as a new version) → comparison with the models in service →
  optional promotion of the parameters whose new model is at least as good.
- ``reprocess-site``: recompute a site's history from its stored ROI spectra with a given
  model version (or those in service), rewriting records through the store's API;
  idempotent (records already produced by the same models are left alone).

Call them like functions (Prefect's embedded mode), after
:func:`flows.env.configure_prefect`; or deploy them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task

from .retry import transient as _transient


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def build_matchup_table(home: str, site: str, samples_csv: str, window_minutes: float, out_csv: str,
                        config_file: str | None = None) -> dict:
    """Pair lab samples with the site's nearest valid acquisitions; write the matchup CSV."""
    import pandas as pd

    from hsiwq.config import load_config
    from hsiwq.inbox import open_site_store
    from hsiwq.models.matchup_builder import build_matchups
    from hsiwq.workspace import Workspace

    ws = Workspace.resolve(home)
    config, _ = load_config(config_file or ws.config_file)
    result = build_matchups(open_site_store(site, config, ws).read(), pd.read_csv(samples_csv),
                            window_minutes=window_minutes, where=samples_csv)
    Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out_csv, index=False)
    return {"path": out_csv, "matchups": len(result.table), "unmatched": result.n_unmatched}


@task
def calibrate_task(home: str, region: str, matchups_csv: str, jobs: int = 2,
                   candidates: tuple[str, ...] | None = None) -> dict:
    """Calibrate and register (not promote); the metrics of the new, default and served models."""
    from hsiwq.models.calibrate import calibrate_region
    from hsiwq.models.calibrator import RegionCalibrator
    from hsiwq.models.matchups import read_matchups
    from hsiwq.models.promotion import run_scores
    from hsiwq.workspace import Workspace

    ws = Workspace.resolve(home).ensure()
    template = RegionCalibrator(n_jobs=jobs)
    if candidates:
        template.set_params(candidates=tuple(candidates))
    run = calibrate_region(read_matchups(matchups_csv), region, ws, calibrator=template)
    return {"version": run.version, "report": str(run.report), **run_scores(run),
            "service_versions": dict(run.service_versions)}


@task
def compare(summary: dict, tolerance: float = 0.0) -> list[str]:
    """Parameters whose new model is at least as good as what serves them now: the library's
    promotion policy (:func:`hsiwq.models.promotion.better_parameters`), the same as
    ``hsiwq calibrate --promote``."""
    from hsiwq.models.promotion import better_parameters

    return better_parameters(summary["new"], summary["service"], summary["default"], tolerance)


@task
def promote_task(home: str, region: str, version: str, parameters: list[str]) -> list[str]:
    from hsiwq.models.registry import ModelRegistry
    from hsiwq.workspace import Workspace

    if not parameters:
        return []
    return ModelRegistry(Workspace.resolve(home).registry_dir).promote(region, version, parameters,
                                                                       by="recalibrate-flow")


@flow(name="recalibrate-region", log_prints=False)
def recalibrate(home: str, region: str, site: str, samples_csv: str, *, window_minutes: float = 30.0,
                promote: bool = False, tolerance: float = 0.0, jobs: int = 2,
                candidates: list[str] | None = None, config_file: str | None = None) -> dict:
    """Matchups from a site's store → calibration → comparison → optional promotion.

    Parameters
    ----------
    home : str
        Workspace folder.
    region : str
        Region whose models are recalibrated.
    site : str
        Site whose stored spectra are matched with the samples.
    samples_csv : str
        Lab samples (a ``time`` column and parameter columns).
    window_minutes : float
        Matchup time window [min].
    promote : bool
        Promote the parameters whose new model is at least as good (the library's promotion
        policy, :mod:`hsiwq.models.promotion`).
    tolerance : float
        Relative MdSA margin a new model may be worse by and still count as good as [-].
    jobs : int
        Parameters fitted in parallel.
    candidates : list of str, optional
        Candidate regressors (default: all).
    config_file : str, optional
        Site configuration naming the site's store (default: the workspace's, else the
        bundled one).

    Returns
    -------
    dict
        The version, the per-parameter metrics, the parameters found better and promoted.
    """
    logger = get_run_logger()
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    out_csv = str(Path(home) / "matchups" / f"{site}-{stamp}.csv")
    built = build_matchup_table(home, site, samples_csv, window_minutes, out_csv, config_file)
    logger.info("%s: %d matchups (%d samples unmatched)", site, built["matchups"], built["unmatched"])
    summary = calibrate_task(home, region, built["path"], jobs, tuple(candidates) if candidates else None)
    better = compare(summary, tolerance)
    promoted = promote_task(home, region, summary["version"], better) if promote else []
    logger.info("%s %s registered; better: %s; promoted: %s", region, summary["version"],
                ", ".join(better) or "none", ", ".join(promoted) or "none")
    return {**summary, "matchups": built, "better": better, "promoted": promoted}


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def reprocess_task(home: str, site: str, region: str, version: str | None,
                   start: datetime | None, end: datetime | None,
                   config_file: str | None = None) -> dict:
    from hsiwq.config import load_config
    from hsiwq.models.reprocess import reprocess_site
    from hsiwq.workspace import Workspace

    ws = Workspace.resolve(home)
    config, _ = load_config(config_file or ws.config_file)
    r = reprocess_site(ws, site, region, version, start=start, end=end, config=config)
    return {"site": r.site, "rewritten": r.rewritten, "unchanged": r.unchanged,
            "without_spectrum": r.without_spectrum, "labels": r.labels}


@flow(name="reprocess-site", log_prints=False)
def reprocess(home: str, site: str, *, region: str | None = None, version: str | None = None,
              start: datetime | None = None, end: datetime | None = None,
              config_file: str | None = None) -> dict:
    """Recompute a site's history with a model version (None: those in service;
    ``"defaults"``: the published algorithms), idempotently.

    ``region`` defaults to the site's region in the configuration; the site's configured
    store (a folder or an object-store URL) is rewritten.
    """
    if region is None:
        from hsiwq.config import load_config
        from hsiwq.workspace import Workspace

        config, where = load_config(config_file or Workspace.resolve(home).config_file)
        region = config.site(site, where=where).region
    result = reprocess_task(home, site, region, version, start, end, config_file)
    get_run_logger().info("%s: %d records rewritten, %d already up to date", site,
                          result["rewritten"], result["unchanged"])
    return result
