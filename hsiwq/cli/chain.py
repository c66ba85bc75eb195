"""The built-in ``hsiwq`` subcommands: simulate, correct, process."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..errors import HsiwqError
from .options import FORMATS, chosen_format, format_option, write_results, write_rows

WATER_TYPES = ("clear_reservoir", "eutrophic_lake", "sediment_river")


@click.command()
@click.option("--samples", "samples_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Regenerate the bundled sample cubes (both sample sites) into DIR.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write one simulated bundle into DIR.")
@click.option("--water-type", type=click.Choice(WATER_TYPES), default="eutrophic_lake", show_default=True)
@click.option("--time", "time_", default="2026-07-01T03:00:00Z", show_default=True, help="UTC time.")
@click.option("--site", default="sim-site", show_default=True)
@click.option("--sensor", default="HSI-SIM", show_default=True)
@click.option("--lat", type=float, default=31.40, show_default=True)
@click.option("--lon", type=float, default=120.18, show_default=True)
@click.option("--size", type=(int, int), default=(64, 64), show_default=True, metavar="LINES SAMPLES")
@click.option("--bands", type=int, default=150, show_default=True)
@click.option("--wind", type=float, default=3.0, show_default=True, help="Wind speed [m/s].")
@click.option("--bloom", is_flag=True, help="Simulate a cyanobacteria bloom.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--calibration-out", type=click.Path(file_okay=False), metavar="DIR",
              help="Where to write the matching sensor calibration (default: beside the bundle).")
def simulate(samples_dir, out_dir, water_type, time_, site, sensor, lat, lon, size, bands,
             wind, bloom, seed, calibration_out) -> None:
    """Write acquisition bundles (and their truth) from the bio-optical simulator."""
    from ..simulate import samples as sample_mod
    from ..simulate.bundle import simulate_bundle

    if bool(samples_dir) == bool(out_dir):
        raise click.UsageError("give exactly one of --samples DIR or --out DIR")
    if samples_dir:
        from .options import progress

        with progress("simulating sample bundles", total=len(sample_mod.SAMPLE_ACQUISITIONS)) as step:
            paths = sample_mod.make_samples(Path(samples_dir), progress=lambda done, total: step())
        click.echo(f"wrote {len(paths)} sample bundles under {samples_dir}")
        return
    path = simulate_bundle(Path(out_dir), water_type=water_type, time=time_, site=site,
                           sensor=sensor, lat=lat, lon=lon, shape=tuple(size), n_bands=bands,
                           wind_speed_ms=wind, bloom=bloom, seed=seed,
                           calibration_dir=Path(calibration_out) if calibration_out else None)
    click.echo(f"wrote {path}")


@click.command()
@click.argument("bundle", type=click.Path())
@click.option("--out", required=True, type=click.Path(), metavar="OUT.zarr", help="Zarr output.")
@click.option("--calibration", "calibration_dir", type=click.Path(), metavar="DIR",
              help="Folder of sensor calibration files (default: the workspace's).")
@click.option("--site", default=None, help="Site whose position and ROI apply (default: the bundle's).")
@click.pass_obj
def correct(obj, bundle, out, calibration_dir, site) -> None:
    """Radiometric correction only: Rrs, QC mask and valid-water mask into OUT.zarr."""
    from ..io.bundle import read_bundle
    from ..io.calibration import load_calibrations, select_calibration
    from ..radiometry.correct import correct_bundle, write_correction

    ws = obj.workspace()
    b = read_bundle(bundle)
    cal_dir = Path(calibration_dir) if calibration_dir else ws.calibration_dir
    cal = select_calibration(load_calibrations(cal_dir), b.meta.sensor, b.meta.time)
    config, cfg_file = obj.load_config()
    site_cfg = config.sites.get(site or b.meta.site)
    if site is not None and site_cfg is None:
        config.site(site, where=cfg_file)
    kwargs = {}
    if site_cfg is not None:
        kwargs = {"lat": site_cfg.lat, "lon": site_cfg.lon, "roi": site_cfg.roi or None}
    ds = correct_bundle(b, cal, **kwargs)
    write_correction(ds, out)
    a = ds.attrs
    click.echo(f"{bundle}: {a['verdict']}{' (' + a['verdict_reason'] + ')' if a.get('verdict_reason') else ''}; "
               f"valid water {100 * float(a.get('valid_fraction', 0)):.1f} %; "
               f"rho {a['rho']:.4f} ({a['rho_method']}); wrote {out}")


@click.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path())
@click.option("--site", required=True, help="Site id (from the site configuration).")
@format_option(FORMATS)
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Output file of the results (default: standard output; required for parquet "
                   "and netcdf).")
@click.option("--replace", is_flag=True,
              help="Replace stored acquisitions of the same time whose bundle had other content "
                   "(by default such a bundle is refused as a conflict).")
@click.pass_obj
def process(obj, bundles: Sequence[str], site: str, fmt: str, as_json: bool, out: str | None,
            replace: bool) -> None:
    """The whole chain into the store, with alerts, for each BUNDLE in time order.

    A bundle that cannot be read is reported and skipped; the others are processed. The
    exit status is non-zero when any bundle failed.
    """
    from ..io.bundle import bundle_time
    from ..pipeline import process_bundle
    from ..logs import attach_json_log

    fmt = chosen_format(fmt, as_json, out)
    ws = obj.workspace().ensure()
    attach_json_log(ws.event_log)
    config, cfg_file = obj.load_config()
    site_cfg = config.site(site, where=cfg_file)
    ordered, failures = _in_time_order(bundles, bundle_time)
    results = []
    from .options import progress

    with progress(f"processing {len(ordered)} bundles of {site}", total=len(ordered)) as step:
        for path in ordered:
            step(0, description=f"processing {Path(path).name}")
            try:
                results.append(process_bundle(path, site_cfg, config, ws, replace=replace))
            except HsiwqError as exc:
                if obj.debug:
                    raise
                failures.append(str(exc))
            step()
    if results:
        write_results(results, fmt, out)
    for line in failures:
        click.echo(f"hsiwq: error: {line}", err=True)
    if failures:
        sys.exit(2)


def _in_time_order(bundles, bundle_time) -> tuple[list[str], list[str]]:
    dated, failures = [], []
    for path in bundles:
        try:
            dated.append((bundle_time(path), path))
        except HsiwqError as exc:
            failures.append(str(exc))
    return [p for _, p in sorted(dated)], failures


@click.command()
@format_option(FORMATS)
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Output file (default: standard output; required for parquet and netcdf).")
@click.pass_obj
def status(obj, fmt: str, as_json: bool, out: str | None) -> None:
    """Per site: last acquisition, last valid one, backlog, quarantine and firing alerts."""
    from ..status import site_status

    fmt = chosen_format(fmt, as_json, out)
    config, _ = obj.load_config()
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None  # noqa: E731
    statuses = site_status(config, obj.workspace())
    rows = [{"site": st.site, "last_acquisition": iso(st.last_acquisition), "last_valid": iso(st.last_valid),
             "records": "BROKEN" if st.problem else st.records,
             "backlog": st.backlog if st.backlog >= 0 else None,
             "quarantined": st.quarantined if st.quarantined >= 0 else None, "alerts": ", ".join(st.firing),
             "problem": st.problem or None}
            for st in statuses]

    def cell(column: str, value) -> str:
        if column in ("last_acquisition", "last_valid"):
            return value[:16].replace("T", " ") if value else "–"
        if column in ("backlog", "quarantined"):
            return "? (unreachable)" if value is None else str(value)
        return str(value) if value not in (None, "") else "–"

    write_rows(rows, fmt, out, columns=["site", "last_acquisition", "last_valid", "records", "backlog",
                                        "quarantined", "alerts"],
               title=f"Sites ({obj.workspace().root})", meta={"workspace": str(obj.workspace().root)},
               table_cell=cell)
    broken = [st for st in statuses if st.problem]
    for st in broken:  # one line each, in full (a table would cut them)
        click.echo(f"hsiwq: error: site {st.site}: {st.problem}", err=True)
    if broken:
        sys.exit(1)
