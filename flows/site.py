"""The per-site processing flow: take the inbox's new bundles, process each once.

Inbox, archive, quarantine and store are the site's configured locations (local folders or
``s3://`` URLs, in any mix; see :func:`hsiwq.inbox.site_locations`). Bundles on an object
store are downloaded into a temporary folder for processing. Cubes larger than
``[processing] tile_above_mb`` are corrected by tiles on a Dask task runner
(:mod:`flows.tiles`).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hsiwq.alerts.service import check_gaps
from hsiwq.config import load_config
from hsiwq.errors import HsiwqError, require_extra
from hsiwq.inbox import (Location, Pending, archive_bundle, download_bundle, list_pending,
                         open_site_store, quarantine_bundle, site_locations)
from hsiwq.logs import attach_json_log
from hsiwq.pipeline import ProcessResult, process_bundle
from hsiwq.store import Policy
from hsiwq.store.integrity import DamagedObject
from hsiwq.tiles import cube_bytes
from hsiwq.workspace import Workspace

from .retry import retrying, transient

_IO = dict(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=transient,
           cache_policy=NO_CACHE)


def process_one(bundle: str, site_id: str, home: str, config_file: str | None) -> ProcessResult:
    """Process one (local) bundle through the library's chain into the site's store (retried
    on transient failures; not a task run: each task run cost the server state writes that
    SQLite serialises, docs/operations.md — the run's artifact lists every bundle instead)."""
    return retrying(_process_one, bundle, site_id, home, config_file)


def _process_one(bundle: str, site_id: str, home: str, config_file: str | None) -> ProcessResult:
    ws = Workspace.resolve(home)
    config, _ = load_config(config_file, workspace=ws)
    site = config.sites[site_id]
    store = open_site_store(site, config, ws, policy=Policy(maintain_probability=0))
    return process_bundle(Path(bundle), site, config, ws, store=store)


def list_inbox(inbox: Location) -> tuple[list[Pending], list[tuple[Pending, str]]]:
    """The inbox's bundles in acquisition-time order, and those that cannot be dated
    (retried on transient failures; not a task run: listing is cheaper than one)."""
    return retrying(list_pending, inbox)


@task(**_IO)
def stage(bundle: Location, tmp_dir: str) -> str:
    """A local folder with the bundle's files (itself when local, else a download)."""
    if bundle.local:
        return str(bundle.path)
    shutil.rmtree(Path(tmp_dir) / bundle.name, ignore_errors=True)  # a failed try's leftovers
    return str(download_bundle(bundle, tmp_dir))


def archive(bundle: Location, archive_dir: Location) -> str:
    """Move a processed bundle to the archive (retried on transient failures; not a task run:
    a rename or a copy costs less than one)."""
    return str(retrying(archive_bundle, bundle, archive_dir))


@task(**_IO)
def quarantine_task(bundle: Location, quarantine: Location, reason: str) -> str:
    return str(quarantine_bundle(bundle, quarantine, reason))


def upkeep(site_id: str, home: str, config_file: str | None) -> dict[str, int]:
    """After a run: fold/compact the site's store, then data-gap checks, repeats and retries
    (retried on transient failures; not a task run: it is usually a few milliseconds)."""
    return retrying(_upkeep, site_id, home, config_file)


def _upkeep(site_id: str, home: str, config_file: str | None) -> dict[str, int]:
    ws = Workspace.resolve(home)
    config, _ = load_config(config_file, workspace=ws)
    store = open_site_store(config.sites[site_id], config, ws)
    done = store.maintain() if store.exists() else {}
    one_site = config.model_copy(update={"sites": {site_id: config.sites[site_id]}})
    check_gaps(one_site, ws)
    return done


#: Set by a worker that is stopping: a run then ends after the bundle in hand, leaving the
#: rest in the inbox for the next run.
STOPPING = threading.Event()


@flow(name="process-site", log_prints=False)
def process_site(site_id: str, home: str, config_file: str | None = None) -> list[ProcessResult]:
    """Process a site's inbox in acquisition-time order; archive or quarantine each bundle.

    The inbox is listed again after each batch, so bundles that arrive during the run are
    taken by it (a run ends when a listing finds nothing new). One bad bundle never stops the
    run: it goes to quarantine with its reason. A transient failure that outlasts the retries
    (e.g. the object store is down) fails the run with the remaining bundles left in the inbox,
    for the next run; so does a stopping worker (:data:`STOPPING`), after the bundle in hand.
    """
    logger = get_run_logger()
    ws = Workspace.resolve(home)
    attach_json_log(ws.event_log)
    config, cfg_path = load_config(config_file or ws.config_file, workspace=ws)
    site = config.site(site_id, where=cfg_path)
    where = site_locations(site, config, ws)
    tile_bytes = config.processing.tile_above_mb * 2**20
    results: list[ProcessResult] = []
    seen: set[str] = set()
    cluster = None  # one Dask cluster for the run's large cubes, started on first need
    try:
        while not STOPPING.is_set():
            ready, unreadable = list_inbox(where.inbox)
            for pending, reason in unreadable:
                quarantine_task(pending.location, where.quarantine, reason)
                logger.warning("quarantined %s: %s", pending.name, reason)
            batch = [p for p in ready if p.location.url not in seen]
            if not batch:
                break
            for pending in batch:
                if STOPPING.is_set():
                    break
                seen.add(pending.location.url)
                result, cluster = _one(pending, site_id, ws, cfg_path, where, tile_bytes, cluster,
                                       logger)
                if result is not None:
                    results.append(result)
    finally:
        if cluster is not None:
            cluster.close()
    if not STOPPING.is_set():  # a stopping worker leaves the upkeep to the next run
        upkeep(site_id, str(ws.root), str(cfg_path))
    if results:
        create_markdown_artifact(key=f"site-{site_id}", markdown=results_markdown(site_id, results),
                                 description=f"hsiwq results of {site_id}")
    return results


def _one(pending: Pending, site_id: str, ws: Workspace, cfg_path, where, tile_bytes: float,
         cluster, logger):
    """Process, then archive (or quarantine) one bundle; (result or None, Dask cluster)."""
    tmp = tempfile.mkdtemp(prefix="hsiwq-stage-")
    try:
        local = str(pending.location.path) if pending.location.local else stage(pending.location, tmp)
        tiled = bool(tile_bytes) and cube_bytes(local) > tile_bytes
        if tiled:  # a missing extra fails the run; the bundle stays in the inbox
            require_extra("prefect_dask", "dask", f"{pending.name}: tile_above_mb")
        try:
            if tiled:
                from .tiles import TileCluster, run_tiled

                config, _ = load_config(cfg_path)
                cluster = cluster or TileCluster(config.processing)
                result = run_tiled(local, site_id, str(ws.root), str(cfg_path),
                                   runner=cluster.runner())
            else:
                result = process_one(local, site_id, str(ws.root), str(cfg_path))
        except HsiwqError as exc:
            if isinstance(exc, DamagedObject):  # the store, not the bundle: fail the
                raise                           # run, keep the bundle in the inbox
            quarantine_task(pending.location, where.quarantine, str(exc))
            logger.warning("quarantined %s: %s", pending.name, exc)
            return None, cluster
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    archive(pending.location, where.archive)
    return result, cluster


def results_markdown(site_id: str, results: list[ProcessResult]) -> str:
    """A markdown table of each processed acquisition's parameters and QC verdict."""
    params = sorted({k for r in results for k in r.values})
    head = "| time (UTC) | verdict | " + " | ".join(params) + " | alerts |"
    rows = [head, "|" + "---|" * (len(params) + 3)]
    for r in results:
        cells = [f"{r.values[p]:.3g}" if r.values.get(p) == r.values.get(p) else "–" for p in params]
        alerts = ", ".join(f"{t.rule_id} {t.status}" for t in r.transitions)
        verdict = r.verdict + (f" ({r.reason})" if r.reason else "")
        rows.append(f"| {r.time:%Y-%m-%d %H:%M} | {verdict} | " + " | ".join(cells) + f" | {alerts} |")
    return f"# {site_id}\n\n" + "\n".join(rows) + "\n"


def warm_up(home: str, config_file: str | None) -> None:
    """Load now what a site's first run would: the configuration, the sensor calibrations and
    each region's models in service, and run the retrieval once per region (its kernels).

    A long-lived worker calls it at start, so that a bundle costs its processing time only.
    Models are reloaded by the library when the registry's promotions change.
    """
    import numpy as np

    from hsiwq.io.calibration import load_calibrations
    from hsiwq.retrieval.service import retrieve_region

    ws = Workspace.resolve(home)
    config, _ = load_config(config_file or ws.config_file)
    load_calibrations(ws.calibration_dir)
    wavelength = np.arange(400.0, 901.0, 5.0)
    rrs = np.clip(0.004 + 0.002 * np.sin(wavelength / 60.0), 1e-4, None)
    for region in sorted({s.region for s in config.sites.values()}):
        retrieve_region(rrs, wavelength, region=region, workspace=ws)
