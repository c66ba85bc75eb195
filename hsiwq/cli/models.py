"""``hsiwq`` commands of the models: calibrate, predict, models (list|promote|rollback), matchup.

See docs/models.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import HsiwqError
from .options import (FORMATS, chosen_format, format_option, plain, progress, time_value, write_netcdf,
                      write_rows)


class ModelsCommandError(HsiwqError):
    """A models command was given bad input."""


def _registry(obj):
    from ..models.registry import ModelRegistry

    return ModelRegistry(obj.workspace().registry_dir)


def _fmt(x, digits: int = 1) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–" if x in (None, "") else str(x)
    return "–" if v != v else f"{v:.{digits}f}"


def _template(jobs: int, folds: int | None, candidates: str | None):
    """The RegionCalibrator the options ask for."""
    from ..models.calibrator import RegionCalibrator

    template = RegionCalibrator(n_jobs=jobs, n_splits=folds)
    if candidates:
        from ..models.candidates import CANDIDATES

        names = tuple(c.strip() for c in candidates.split(",") if c.strip())
        unknown = sorted(set(names) - set(CANDIDATES))
        if unknown or not names:
            raise ModelsCommandError("--candidates", f"unknown {', '.join(unknown) or '(none given)'}; "
                                                     f"known: {', '.join(CANDIDATES)}")
        template.set_params(candidates=names)
    return template


#: ``--format`` of the commands that print a calibration's results.
_RUN_FORMAT = click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
                           show_default=True, help="Output format of the results (json: one document: "
                                                   "per parameter the chosen candidate and its metrics, "
                                                   "the defaults', the model in service's).")


@click.command("calibrate")
@click.option("--region", required=True, help="Region id (the site's 'region').")
@click.option("--matchups", "matchups_file", required=True, type=click.Path(dir_okay=False),
              metavar="FILE.csv", help="Matchup table: Rrs_<nm> columns and lab values (docs/models.md).")
@click.option("--promote", is_flag=True, help="Put the new version in service for the parameters whose "
                                           "new model is at least as good as what serves them now.")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Relative MdSA margin a new model may be worse by and still be promoted.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Report folder (default <home>/reports/<region>-<version>).")
@click.option("--author", default=None, help="Recorded in the registry (default: user name).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Parameters fitted in parallel.")
@click.option("--folds", type=click.IntRange(3, 20), default=None,
              help="Cross-validation folds (default 5, or 3 beyond 1,000 matchups).")
@click.option("--candidates", default=None, metavar="A,B,...",
              help="Candidate regressors to compare (default all: physics, posterior, ridge-conc, ridge-physics, "
                   "ridge, pls, pls-logd, gp, hgb, ensemble, stack).")
@_RUN_FORMAT
@click.pass_obj
def calibrate(obj, region, matchups_file, promote, tolerance, report_dir, author, jobs, folds, candidates,
              fmt) -> None:
    """Fit every parameter present in the matchups, cross-validated by sampling day,
    print the metrics beside the defaults and the model in service, register the new
    version (and promote it with --promote), and write a report with scatter plots."""
    from ..models.calibrate import calibrate_region
    from ..models.matchups import read_matchups

    ws = obj.workspace().ensure()
    m = read_matchups(matchups_file)
    (click.echo if fmt == "table" else _to_stderr)(
        f"{m.source}: {len(m.table)} matchups, {m.wavelength_nm.size} bands "
        f"{m.wavelength_nm[0]:g}–{m.wavelength_nm[-1]:g} nm, parameters: {', '.join(m.present)}; "
        f"cross-validation grouped by {m.group_by}")
    template = _template(jobs, folds, candidates)
    with progress(f"calibrating {len(m.present)} parameters (cross-validated)") as bar:
        run = calibrate_region(m, region, ws, calibrator=template, promote=promote,
                               report_dir=report_dir, author=author, tolerance=tolerance,
                               progress=_steps(bar))
    if fmt == "table":
        _print_run(run, promote)
    else:
        _json_run(run)


def _to_stderr(text: str) -> None:
    click.echo(text, err=True)


def _json_run(run) -> None:
    """A calibration's results as one JSON document on standard output."""
    from ..params import PARAMETERS

    doc = {"region": run.region, "version": run.version, "report": str(run.report),
           "matchups": run.outcome.n_matchups, "n_dropped": run.n_dropped,
           "promoted": list(run.promoted_parameters),
           "physics_stage": run.outcome.siop is not None,
           "parameters": {pid: {"units": PARAMETERS[pid].unit, "n": rep.n, "chosen": rep.chosen,
                                "cv": plain(rep.metrics[rep.chosen]),
                                "interval_coverage_68": plain(rep.interval_coverage),
                                "default": plain(run.default_metrics.get(pid)),
                                "default_algorithm": run.default_labels.get(pid),
                                "in_service": plain(run.service_metrics.get(pid)),
                                "in_service_version": run.service_versions.get(pid)}
                          for pid, rep in run.outcome.reports.items()},
           "skipped": dict(run.outcome.skipped)}
    click.echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))


def _steps(bar):
    """A calibration's ``progress(step, done, total)`` on a progress bar."""
    seen = [0]

    def step(text: str, done: int, total: int) -> None:
        bar(done - seen[0], description=f"calibrating: {text}", total=total)
        seen[0] = done
    return step


def _print_run(run, promote: bool) -> None:
    """The metrics table and summary lines of a calibration."""
    from ..params import PARAMETERS

    region = run.region

    head = (f"{'parameter':12s} {'n':>5s} {'chosen':14s} {'MdSA%':>7s} {'SSPB%':>7s} {'R2':>6s} "
            f"{'RMSE':>6s} {'cov68':>6s} {'default MdSA%':>14s} {'in service MdSA%':>17s}")
    click.echo(head)
    for pid, rep in run.outcome.reports.items():
        mt = rep.metrics[rep.chosen]
        d = run.default_metrics.get(pid, {})
        s = run.service_metrics.get(pid, {})
        star = "" if PARAMETERS[pid].optically_active else " *"
        click.echo(f"{pid + star:12s} {rep.n:5d} {rep.chosen:14s} {_fmt(mt['mdsa']):>7s} {_fmt(mt['sspb']):>7s} "
                   f"{_fmt(mt['r2'], 2):>6s} {_fmt(mt['rmse'], 3):>6s} {_fmt(rep.interval_coverage, 2):>6s} "
                   f"{_fmt(d.get('mdsa')):>14s} "
                   f"{(_fmt(s.get('mdsa')) + ' (' + run.service_versions[pid] + ')') if pid in run.service_versions else '–':>17s}")
    for pid, why in run.outcome.skipped.items():
        click.echo(f"{pid:12s} skipped: {why}")
    click.echo("* not optically active: estimated through regional covariance only (lower confidence)")
    if run.n_dropped:
        click.echo(f"{run.n_dropped} matchups dropped: spectra incomplete over the model grid")
    if run.outcome.siop is not None:
        click.echo(f"physics stage: regional SIOPs fitted (aph_scale {run.outcome.siop.aph_scale:.3g}, "
                   f"b_bp*(555) {run.outcome.siop.b_bp_star_555:.3g} m²/g), MAP prior widened "
                   f"× {run.outcome.prior_scale:.3g}; all SIOPs in the report")
    else:
        click.echo("physics stage: not used (needs matchups with chl_a, phycocyanin, tss and cdom)")
    promoted = run.promoted_parameters
    note = ""
    if promoted:
        kept = [p for p in run.outcome.models if p not in promoted]
        note = (f"; promoted to service for {', '.join(promoted)}"
                + (f" (not for {', '.join(kept)}: not as good as what serves them)" if kept else ""))
    elif promote:
        note = "; nothing promoted (no new model as good as what serves it)"
    click.echo(f"registered {region} {run.version} ({len(run.outcome.models)} parameters, "
               f"{run.outcome.seconds:.1f} s){note}")
    click.echo(f"report: {run.report}")


@click.command("predict")
@click.option("--region", required=True, help="Region id.")
@click.option("--rrs", "rrs_file", required=True, type=click.Path(dir_okay=False), metavar="FILE.csv",
              help="Spectra table: Rrs_<nm> columns [sr-1], other columns carried through.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False), metavar="OUT.csv")
@click.option("--version", default=None,
              help="Model version to use instead of those in service ('defaults': none).")
@click.option("--sun-zenith", type=float, default=30.0, show_default=True,
              help="Sun zenith angle [deg] for the default Secchi depth.")
@click.option("--format", "fmt", type=click.Choice(("csv", "json", "parquet", "netcdf")), default="csv",
              show_default=True, help="Format of OUT (json: one document with the units).")
@click.pass_obj
def predict(obj, region, rrs_file, out_file, version, sun_zenith, fmt) -> None:
    """Every parameter of each spectrum with <id>_lo, <id>_hi (68 % interval) and <id>_ood
    (1: outside the model's training domain; empty for defaults, which have none).

    Other columns are carried through (parameter columns of the input as <id>_input); 'owt'
    is the optical water type and 'model_version' what produced each parameter."""
    import numpy as np

    from ..models.registry import ModelRegistry
    from ..models.reprocess import models_for
    from ..models.spectra import read_csv_table, spectra_from_table
    from ..params import PARAMETER_IDS
    from ..retrieval.regions import load_region
    from ..retrieval.service import retrieve_with_models

    ws = obj.workspace()
    path = Path(rrs_file)
    table = read_csv_table(path)
    rrs, wl = spectra_from_table(table, where=str(path))
    models = models_for(ModelRegistry(ws.registry_dir), region, version)
    with progress(f"retrieving {len(table)} spectra ({region})"):
        r = retrieve_with_models(models, region, load_region(region, ws.regions_dir), rrs, wl, sun_zenith)
    keep = [c for c in table.columns if not str(c).startswith("Rrs_")]
    # parameter columns of the input (e.g. lab values of a matchup table) are kept as <id>_input
    out = table[keep].rename(columns={p: f"{p}_input" for p in PARAMETER_IDS if p in keep}).copy()
    n = len(table)
    for pid in PARAMETER_IDS:
        out[pid] = r.values.get(pid, np.full(n, np.nan))
        out[f"{pid}_lo"] = r.lo.get(pid, np.full(n, np.nan))
        out[f"{pid}_hi"] = r.hi.get(pid, np.full(n, np.nan))
        out[f"{pid}_ood"] = r.ood.get(pid, np.full(n, np.nan))
    if r.owt is not None:
        out["owt"] = r.owt
    out["model_version"] = ";".join(f"{k}={v}" for k, v in sorted(r.algorithms.items()))
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        out.to_csv(out_file, index=False)
    else:
        from ..params import PARAMETERS

        units = {f"{p}{sfx}": PARAMETERS[p].unit for p in PARAMETER_IDS for sfx in ("", "_lo", "_hi")}
        if fmt == "netcdf":
            write_netcdf(out, out_file, units=units, attrs={"region": region})
        else:
            write_rows(out.to_dict(orient="records"), fmt, out_file, columns=list(out.columns), units=units,
                       meta={"region": region})
    from_models = sorted(models)
    click.echo(f"wrote {out_file}: {n} spectra; regional models for {', '.join(from_models) or 'none'}"
               f"; defaults for {', '.join(p for p in r.algorithms if p not in models) or 'none'}")


@click.group("models")
def models() -> None:
    """The model registry: list, promote, roll back."""


@models.command("list")
@click.option("--region", default=None, help="Only this region.")
@format_option(FORMATS)
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Output file (default: standard output; required for parquet and netcdf).")
@click.pass_obj
def models_list(obj, region, fmt, as_json, out) -> None:
    """Registered models with their CV metrics; '*' marks those in service.

    Each model file is verified (SHA-256 against the one recorded at registration, skops
    trusted types, as before loading): a damaged one shows ``DAMAGED`` in the ``file``
    column, its problem is printed on standard error and the exit status is 1.
    """
    fmt = chosen_format(fmt, as_json, out)
    reg = _registry(obj)
    entries = reg.list(region)
    if not entries and fmt == "table":
        click.echo("no registered models" + (f" for region {region}" if region else ""))
        return
    damaged, problems = [], {}
    for e in entries:
        problem = reg.problem(e.region, e.parameter, e.version)
        problems[e.region, e.parameter, e.version] = problem
        if problem:
            damaged.append(f"{e.region}/{e.parameter}/{e.version}"
                           f"{' (in service)' if e.in_service else ''}: {problem}")
    if fmt == "table":
        click.echo(f"{'':1s} {'region':12s} {'parameter':12s} {'version':8s} {'file':8s} {'created':20s} "
                   f"{'candidate':14s} {'n':>5s} {'MdSA%':>7s} {'SSPB%':>7s} {'author':10s}")
        for e in entries:
            cv = e.meta.get("cv", {})
            bad = problems[e.region, e.parameter, e.version]
            click.echo(f"{'*' if e.in_service else ' '} {e.region:12s} {e.parameter:12s} {e.version:8s} "
                       f"{'DAMAGED' if bad else 'ok':8s} "
                       f"{e.meta.get('created_at', ''):20s} {e.meta.get('candidate', ''):14s} "
                       f"{e.meta.get('n_train', 0):5d} {_fmt(cv.get('mdsa')):>7s} {_fmt(cv.get('sspb')):>7s} "
                       f"{str(e.meta.get('author', '')):10s}")
    else:
        rows = [{"in_service": e.in_service, "region": e.region, "parameter": e.parameter, "version": e.version,
                 "file": "DAMAGED" if problems[e.region, e.parameter, e.version] else "ok",
                 "created": e.meta.get("created_at", ""), "candidate": e.meta.get("candidate", ""),
                 "n": e.meta.get("n_train", 0), "mdsa": e.meta.get("cv", {}).get("mdsa"),
                 "sspb": e.meta.get("cv", {}).get("sspb"), "author": str(e.meta.get("author", ""))}
                for e in entries]
        write_rows(rows, fmt, out, columns=_MODEL_COLUMNS, units={"mdsa": "%", "sspb": "%"},
                   meta={"region": region} if region else None)
    for line in damaged:
        click.echo(f"hsiwq: damaged model: {line}", err=True)
    if damaged:
        sys.exit(1)


_MODEL_COLUMNS = ("in_service", "region", "parameter", "version", "file", "created", "candidate", "n", "mdsa",
                  "sspb", "author")


@models.command("promote")
@click.option("--region", required=True)
@click.option("--version", required=True, help="Version to put in service (e.g. v3).")
@click.option("--param", "params", multiple=True, help="Only these parameters (repeatable).")
@click.pass_obj
def models_promote(obj, region, version, params) -> None:
    """Put a registered version in service (all its parameters, or --param ones)."""
    changed = _registry(obj).promote(region, version, list(params) or None)
    click.echo(f"{region} {version} in service for {', '.join(changed) or 'nothing new (already in service)'}")


@models.command("rollback")
@click.option("--region", required=True)
@click.option("--param", "params", multiple=True, help="Only these parameters (repeatable).")
@click.pass_obj
def models_rollback(obj, region, params) -> None:
    """Put back the previously served version (or the defaults when there was none)."""
    out = _registry(obj).rollback(region, list(params) or None)
    for pid, v in out.items():
        click.echo(f"{region}/{pid}: now {v or 'the default algorithm (no model)'}")


@click.command("matchup")
@click.option("--site", required=True, help="Site whose store (the configured one) holds the "
                                            "acquisitions.")
@click.option("--samples", "samples_file", required=True, type=click.Path(dir_okay=False),
              metavar="LAB.csv", help="Lab samples: a 'time' column (UTC) and parameter columns.")
@click.option("--window", type=float, default=30.0, show_default=True,
              help="Largest time difference between sample and acquisition [min].")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), metavar="FILE.csv",
              help="Output (default <LAB>_matchups.csv beside the lab table).")
@click.option("--format", "fmt", type=click.Choice(("csv", "json", "parquet")), default="csv", show_default=True,
              help="Output format (csv is what 'hsiwq calibrate' reads).")
@click.pass_obj
def matchup(obj, site, samples_file, window, out_file, fmt) -> None:
    """Build a matchup table: each lab sample with the ROI spectrum of the nearest valid
    acquisition of the site within the window."""
    from ..inbox import open_site_store
    from ..models.matchup_builder import MatchupError, build_matchups
    from ..models.spectra import read_csv_table

    path = Path(samples_file)
    samples = read_csv_table(path, error=MatchupError)
    config, _ = obj.load_config()
    with progress(f"matching {len(samples)} samples with {site}'s store"):
        ds = open_site_store(site, config, obj.workspace()).read()  # the configured store
        result = build_matchups(ds, samples, window_minutes=window, where=str(path))
    target = Path(out_file) if out_file else path.with_name(f"{path.stem}_matchups.{fmt}")
    if fmt == "csv":
        result.table.to_csv(target, index=False)
    elif fmt == "json":
        result.table.to_json(target, orient="records", date_format="iso", indent=1)
    else:
        result.table.to_parquet(target, index=False)
    click.echo(f"wrote {target}: {len(result.table)} matchups from {result.n_samples} samples "
               f"({result.n_unmatched} without a valid acquisition within ±{window:g} min)")


@click.command("recalibrate")
@click.option("--region", required=True, help="Region whose models are recalibrated.")
@click.option("--site", required=True, help="Site whose stored spectra are matched with the samples.")
@click.option("--samples", "samples_file", required=True, type=click.Path(dir_okay=False),
              metavar="LAB.csv", help="Lab samples: a 'time' column (UTC) and parameter columns.")
@click.option("--window", type=float, default=30.0, show_default=True,
              help="Largest time difference between sample and acquisition [min].")
@click.option("--promote", is_flag=True, help="Put the new models in service where they are at least "
                                           "as good as what serves them now.")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Relative MdSA margin a new model may be worse by and still be promoted.")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Parameters fitted in parallel.")
@click.option("--folds", type=click.IntRange(3, 20), default=None, help="Cross-validation folds.")
@click.option("--candidates", default=None, metavar="A,B,...", help="Candidate regressors to compare.")
@_RUN_FORMAT
@click.pass_obj
def recalibrate(obj, region, site, samples_file, window, promote, tolerance, jobs, folds, candidates,
                fmt) -> None:
    """Lab samples → matchups from the site's store → calibration → promotion by the policy
    of ``calibrate --promote`` (what the ``recalibrate-region`` flow does, in one command)."""
    from datetime import datetime, timezone

    from ..inbox import open_site_store
    from ..models.calibrate import calibrate_region
    from ..models.matchup_builder import MatchupError, build_matchups
    from ..models.matchups import read_matchups
    from ..models.spectra import read_csv_table

    ws = obj.workspace().ensure()
    path = Path(samples_file)
    samples = read_csv_table(path, error=MatchupError)
    config, _ = obj.load_config()
    template = _template(jobs, folds, candidates)
    with progress(f"matching {len(samples)} samples with {site}'s store"):
        result = build_matchups(open_site_store(site, config, ws).read(), samples, window_minutes=window,
                                where=str(path))
    target = ws.root / "matchups" / f"{site}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(target, index=False)
    (click.echo if fmt == "table" else _to_stderr)(
        f"wrote {target}: {len(result.table)} matchups from {result.n_samples} samples "
        f"({result.n_unmatched} without a valid acquisition within ±{window:g} min)")
    with progress(f"calibrating {region} (cross-validated)") as bar:
        run = calibrate_region(read_matchups(target), region, ws, calibrator=template, promote=promote,
                               tolerance=tolerance, progress=_steps(bar))
    if fmt == "table":
        _print_run(run, promote)
    else:
        _json_run(run)


@click.command("reprocess")
@click.option("--site", required=True, help="Site whose history is recomputed (its configured store).")
@click.option("--region", default=None, help="Region of the models (default: the site's).")
@click.option("--version", default=None,
              help="Model version to apply (default: those in service; 'defaults': the published algorithms).")
@click.option("--start", metavar="TIME", help="First acquisition time (ISO 8601, UTC).")
@click.option("--end", metavar="TIME", help="Last acquisition time (ISO 8601, UTC; a date alone means its end).")
@click.pass_obj
def reprocess(obj, site, region, version, start, end) -> None:
    """Recompute a site's parameters from its stored ROI spectra with a model version,
    idempotently (records already produced by the same models are left alone)."""
    from ..models.reprocess import reprocess_site

    config, where = obj.load_config()
    region = region or config.site(site, where=where).region
    t0, t1 = time_value(start, "--start"), time_value(end, "--end", end=True)
    with progress(f"reprocessing {site}") as step:
        r = reprocess_site(obj.workspace(), site, region, version, start=t0, end=t1, config=config,
                           progress=lambda done, total: step(1, total=total))
    click.echo(f"{site}: {r.rewritten} records rewritten, {r.unchanged} already up to date, "
               f"{r.without_spectrum} without a spectrum" + (f"; models: {r.labels}" if r.labels else ""))


COMMANDS = [calibrate, predict, models, matchup, recalibrate, reprocess]
