"""``hsiwq series`` and ``hsiwq compact``: export a site's time series, compact its store.

The store of a site lives in ``<home>/store/<site>.zarr`` unless ``--root`` names another
folder or an object-storage URL (``s3://bucket/store``; credentials and endpoint come from
the usual ``AWS_*`` environment variables, or ``--storage-option KEY=VALUE``).
"""

from __future__ import annotations

import json
import math
import sys

import click

from .options import (FORMATS, chosen_format, csv_header, emit, format_option, progress, time_value, write_netcdf,
                      write_rows)


def _options(pairs: tuple[str, ...]) -> dict:
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--storage-option")
        target = out
        *path, last = key.split(".")  # client_kwargs.endpoint_url=...
        for p in path:
            target = target.setdefault(p, {})
        target[last] = value
    return out


def _store(obj, site: str, root: str | None, storage_option: tuple[str, ...]):
    from ..store import SiteStore, store_root

    if not root:  # the site's configured store (a folder or URL), else the workspace's
        from ..inbox import open_site_store

        config, _ = obj.load_config()
        if site in config.sites:
            return open_site_store(config.sites[site], config, obj.workspace())
    where = root if root else obj.workspace()
    return SiteStore(store_root(site, where), _options(storage_option) or None)


_root_option = click.option("--root", metavar="DIR|URL",
                            help="Folder or fsspec URL holding <site>.zarr (default: the "
                                 "workspace's store folder).")
_so_option = click.option("--storage-option", "storage_option", multiple=True, metavar="KEY=VALUE",
                          help="fsspec option for --root URLs (repeatable), e.g. "
                               "client_kwargs.endpoint_url=http://127.0.0.1:9000.")


@click.command("series")
@click.option("--site", required=True, help="Site id.")
@click.option("--param", "params", multiple=True, required=True, metavar="ID",
              help="Parameter or quantity id, e.g. chl_a (repeatable).")
@click.option("--start", metavar="TIME", help="First acquisition time (ISO 8601, UTC).")
@click.option("--end", metavar="TIME", help="Last acquisition time (ISO 8601, UTC; a date "
                                            "alone means its end).")
@format_option(FORMATS, default="csv")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Output file (default: standard output; required for parquet and netcdf).")
@_root_option
@_so_option
@click.pass_obj
def series(obj, site: str, params: tuple[str, ...], start: str | None, end: str | None, fmt: str,
           as_json: bool, out: str | None, root: str | None, storage_option: tuple[str, ...]) -> None:
    """Export the time series of parameters of a site.

    One row per acquisition time, in time order: each parameter with its 68 % interval
    (_lo, _hi), out-of-domain flag (_ood) and model (_model), then the verdict and reason.
    CSV headers carry the units (``chl_a [µg/L]``); NetCDF variables their ``units``.
    """
    from ..params import PARAMETERS
    from ..store import LABELS, QUANTITIES

    unknown = [p for p in params if p not in QUANTITIES]
    if unknown:
        raise click.BadParameter(f"unknown {', '.join(unknown)}; parameters are "
                                 f"{', '.join(PARAMETERS)}", param_hint="--param")
    fmt = chosen_format(fmt, as_json, out)
    t0, t1 = time_value(start, "--start"), time_value(end, "--end", end=True)
    if t0 and t1 and t1 < t0:
        raise click.BadParameter("--end is before --start", param_hint="--end")
    quantities: list[str] = []
    labels: list[str] = []
    for p in params:
        group = [p, f"{p}_lo", f"{p}_hi", f"{p}_ood"] if p in PARAMETERS else [p]
        quantities += [q for q in group if q not in quantities]
        if f"{p}_model" in LABELS:
            labels.append(f"{p}_model")
    labels += ["verdict", "reason"]
    ds = _store(obj, site, root, storage_option).read(start=t0, end=t1, quantities=quantities,
                                                      labels=labels, with_rrs=False)
    frame = ds.to_dataframe().reset_index()[["time", *quantities, *labels]]
    frame["time"] = frame["time"].dt.tz_localize("UTC")
    units = {q: str(ds[q].attrs["units"]) for q in quantities if ds[q].attrs.get("units")}
    if fmt == "parquet":
        frame.to_parquet(out, index=False)
    elif fmt == "netcdf":
        write_netcdf(frame, out, units=units, index="time", attrs={"site": site})
    elif fmt == "csv":
        frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        text = frame.rename(columns={q: csv_header(q, units.get(q)) for q in quantities}).to_csv(
            index=False, lineterminator="\n")
        emit(text, out)
    elif fmt == "table":
        frame["time"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
        write_rows(frame.to_dict(orient="records"), "table", None, units=units, title=f"{site}")
    else:
        frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                for r in frame.to_dict(orient="records")]
        doc = {"site": site, "columns": {q: {k: str(v) for k, v in ds[q].attrs.items()
                                             if k in ("units", "long_name")} for q in quantities},
               "rows": rows}
        emit(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", out)
    if out:
        click.echo(f"{len(frame)} rows of {site} written to {out}", err=True)


@click.command("compact")
@click.option("--site", "sites", multiple=True, metavar="ID",
              help="Site id (repeatable; default: every site with a store).")
@click.option("--full", is_flag=True, help="Rewrite every month, not only those with new rows "
                                           "(e.g. after a change of chunking).")
@_root_option
@_so_option
@click.pass_obj
def compact(obj, sites: tuple[str, ...], full: bool, root: str | None,
            storage_option: tuple[str, ...]) -> None:
    """Merge a site's recent records into its monthly history.

    Drops superseded rows, sorts by time, rewrites only the months that changed; safe to
    interrupt at any point and to run while the pipeline writes.
    """
    from ..errors import StoreError

    if not sites:
        if root:
            raise click.BadParameter("name the sites to compact with --site", param_hint="--site")
        store_dir = obj.workspace().store_dir
        sites = tuple(sorted(p.name[:-5] for p in store_dir.glob("*.zarr"))) if store_dir.is_dir() else ()
        if not sites:
            raise StoreError(store_dir, "no site stores here")
    failed: list[StoreError] = []
    for site in sites:
        store = _store(obj, site, root, storage_option)
        try:
            with progress(f"compacting {site}"):
                result = store.compact(full=full)
        except StoreError as exc:  # one broken site does not stop the others
            if len(sites) == 1:
                raise
            click.echo(f"hsiwq: error: {exc}", err=True)
            failed.append(exc)
            continue
        stats = store.stats()
        gen = result["generation"]
        state = ("another compaction committed first; nothing changed" if gen is None
                 else f"generation {gen}")
        click.echo(f"{site}: {state}; {result['merged_rows']} recent rows merged, "
                   f"{result['parts_written']} month(s) rewritten; {stats['compacted_rows']} rows, "
                   f"{stats['bytes'] / 1e6:.2f} MB")
    if failed:
        sys.exit(2)


@click.command("store-info")
@click.option("--site", required=True, help="Site id.")
@click.option("--verify", is_flag=True, help="Check every object against the checksums written "
                                             "when it was committed.")
@click.option("--repair", is_flag=True, help="With --verify: restore damaged objects that have "
                                             "another copy (journal, segment, older part, head copy).")
@click.option("--discard", is_flag=True, help="With --repair: move damaged journal entries and "
                                              "segments that have no other copy to damaged/ "
                                              "(their rows are lost).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True,
              help="Output format (json: one document with the location, figures and findings).")
@_root_option
@_so_option
@click.pass_obj
def store_info(obj, site: str, verify: bool, repair: bool, discard: bool, fmt: str, root: str | None,
               storage_option: tuple[str, ...]) -> None:
    """Show where a site's store is and what it holds; verify and repair it.

    With --verify, the exit status is 0 when every object is intact (or was repaired) and 2
    when damage remains; each damaged object is named on its own line.
    """
    from ..errors import StoreError
    from ..store.fsck import verify as verify_store

    if (repair or discard) and not verify:
        raise click.BadParameter("--repair and --discard need --verify", param_hint="--repair")
    store = _store(obj, site, root, storage_option)
    doc: dict = {"site": site, "store": store.objects.url()}
    say = click.echo if fmt == "table" else (lambda *_a, **_k: None)
    say(f"store: {doc['store']}")
    if verify:
        with progress(f"verifying {site}'s objects against their checksums"):
            report = verify_store(store, repair=repair, discard=discard)
        for f in report.findings:
            say(f"  {f.line()}")
        for note in report.notes:
            say(f"  note: {note}")
        say(f"  verified: {report.checked} objects, {len(report.findings)} damaged, "
            f"{len(report.findings) - len(report.damaged)} repaired")
        say("  checksums: " + (f"none for {len(report.unverified)} object(s) written before "
                               "checksums (unverified)" if report.unverified else "all verified"))
        doc["verify"] = {"checked": report.checked, "findings": [f.line() for f in report.findings],
                         "notes": list(report.notes), "damaged": len(report.damaged),
                         "unverified": len(report.unverified)}
        if report.damaged:
            if fmt == "json":
                click.echo(json.dumps(doc, indent=1, default=str))
            first = report.damaged[0]
            more = f" (and {len(report.damaged) - 1} more)" if len(report.damaged) > 1 else ""
            hint = "" if repair else "; `--verify --repair` restores what has another copy"
            raise StoreError(first.key, f"{first.problem}{more}{hint}")
    store._check_readable()
    stats = store.stats()
    for k, v in stats.items():
        say(f"  {k}: {v}")
    if fmt == "json":
        doc["stats"] = stats
        click.echo(json.dumps(doc, indent=1, default=str))


COMMANDS = [series, compact, store_info]
