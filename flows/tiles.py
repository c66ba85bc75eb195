"""Large cubes by tiles of lines across processes: Prefect tasks on a Dask task runner.

The library does the work (:mod:`hsiwq.tiles`: pure functions of a bundle, its calibration
and a range of lines); this module wraps them as tasks and runs them on a
``prefect_dask.DaskTaskRunner``: a local cluster of ``[processing] dask_workers`` worker
processes with one thread each (``LocalCluster(n_workers=2, processes=True,
threads_per_worker=1)`` by default), or the scheduler at ``[processing] dask_address``.

Rounds (see :mod:`hsiwq.tiles`): one ``scan-tile`` task per tile → one ``scene-qc`` task
(combine: scene-wide QC, verdict, median sample) → one ``tile-spectra`` task per tile holding
sampled pixels → the band medians in the flow, then retrieval, store and alerts as for any
bundle (:func:`hsiwq.pipeline.process_bundle` with a ``corrector``). Tiles' results travel
between workers through Dask (``scene-qc`` gets the scans straight from the workers that
made them); the flow process receives only the scene summary and ≤ 32,768 spectra.

- ``process_tiled(bundle, site_id, home)``: the whole chain on one local bundle (what
  ``process-site`` runs for cubes above ``[processing] tile_above_mb``);
- ``correct_tiled(bundle, site_id, home)``: the correction only, with the worker processes
  that ran the tiles (tests, benchmarks);
- :func:`run_tiled` / :func:`run_correct_tiled`: the same with the task runner chosen from
  the configuration (a flow's task runner is fixed when it is called).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from hsiwq.config import Processing, load_config
from hsiwq.errors import require_extra
from hsiwq.inbox import open_site_store
from hsiwq.pipeline import CorrectionSummary, ProcessResult, process_bundle
from hsiwq.store import Policy
from hsiwq.tiles import (SceneQC, TileScan, combine_spectra, scan_tile, scene_qc, tile_ranges,
                         tile_spectra)
from hsiwq.workspace import Workspace

from .retry import transient

_TASK = dict(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5],
             retry_condition_fn=transient)


@task(name="scan-tile", **_TASK)
def scan_tile_task(bundle: str, calibration: Any, y0: int, y1: int, lat: float,
                   lon: float) -> TileScan:
    return scan_tile(bundle, calibration, y0, y1, lat=lat, lon=lon)


@task(name="scene-qc", **_TASK)
def scene_qc_task(bundle: str, calibration: Any, scans: list[TileScan], lat: float, lon: float,
                  roi: Any) -> SceneQC:
    return scene_qc(bundle, calibration, scans, lat=lat, lon=lon, roi=roi)


@task(name="tile-spectra", **_TASK)
def tile_spectra_task(bundle: str, calibration: Any, y0: int, y1: int, index: Any, lat: float,
                      lon: float) -> Any:
    return tile_spectra(bundle, calibration, y0, y1, index, lat=lat, lon=lon)


class TiledCorrector:
    """A :data:`hsiwq.pipeline.Corrector` submitting the tile tasks to the flow's task runner.

    Attributes
    ----------
    tile_rows : int
    pids : list of int
        Process of each tile's scan, in tile order (after a call).
    """

    def __init__(self, tile_rows: int) -> None:
        self.tile_rows = tile_rows
        self.pids: list[int] = []

    def __call__(self, bundle_path: str | Path, bundle: Any, calibration: Any,
                 site: Any) -> CorrectionSummary:
        path = str(bundle_path)
        ranges = tile_ranges(bundle.water.sizes["y"], self.tile_rows)
        scans = [scan_tile_task.submit(path, calibration, a, b, site.lat, site.lon)
                 for a, b in ranges]
        scene = scene_qc_task.submit(path, calibration, scans, site.lat, site.lon,
                                     site.roi or None).result()
        self.pids = scene.pids
        parts = [tile_spectra_task.submit(path, calibration, a, b, idx, site.lat, site.lon)
                 for a, b, idx in scene.samples if len(idx)]
        return combine_spectra(scene, [p.result() for p in parts])


def local_cluster_kwargs(processing: Processing) -> dict[str, Any]:
    """``distributed.LocalCluster`` options of ``[processing]``: processes, one thread each.

    The workers talk to this process's Prefect API (``PREFECT_API_URL``, or the embedded
    server this process runs): without it each worker would start a temporary server of its
    own (seconds each).
    """
    import logging

    return {"n_workers": processing.dask_workers, "processes": True, "threads_per_worker": 1,
            "dashboard_address": None, "silence_logs": logging.WARNING,
            "env": {"PREFECT_API_URL": prefect_api_url(),
                    "PREFECT_LOGGING_TO_API_ENABLED": "false"}}


def dask_task_runner(processing: Processing, address: str | None = None):
    """The Dask task runner of ``[processing]``: a scheduler address (``address``, else
    ``dask_address``), or a local cluster of its own (started and stopped with the flow run)."""
    require_extra("prefect_dask", "dask", "[processing] tiles")
    from prefect_dask import DaskTaskRunner

    if address or processing.dask_address:
        return DaskTaskRunner(address=address or processing.dask_address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs=local_cluster_kwargs(processing))


class TileCluster:
    """Task runners on one Dask cluster, started on first use and stopped by :meth:`close`.

    ``process-site`` keeps one for its run, so that the cubes of a run share a cluster
    (start ≈ 4 s, stop ≈ 3 s here) instead of paying for one each. With ``dask_address``,
    the runners use that scheduler and nothing is started.
    """

    def __init__(self, processing: Processing) -> None:
        self.processing = processing
        self._cluster = None

    def runner(self):
        if self.processing.dask_address:
            return dask_task_runner(self.processing)
        if self._cluster is None:
            require_extra("distributed", "dask", "[processing] tiles")
            from distributed import LocalCluster

            self._cluster = LocalCluster(**local_cluster_kwargs(self.processing))
        return dask_task_runner(self.processing, address=self._cluster.scheduler_address)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def prefect_api_url() -> str:
    """The Prefect API this process uses (starting the embedded server if need be)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return str(url)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    return server.api_url


def _setup(site_id: str, home: str, config_file: str | None):
    ws = Workspace.resolve(home)
    config, cfg_path = load_config(config_file or ws.config_file, workspace=ws)
    return ws, config, config.site(site_id, where=cfg_path)


@flow(name="process-bundle-tiled", log_prints=False)
def process_tiled(bundle: str, site_id: str, home: str,
                  config_file: str | None = None) -> ProcessResult:
    """The whole chain on one local bundle, its cube corrected by tiles on the task runner."""
    ws, config, site = _setup(site_id, home, config_file)
    store = open_site_store(site, config, ws, policy=Policy(maintain_probability=0))
    return process_bundle(Path(bundle), site, config, ws, store=store,
                          corrector=TiledCorrector(config.processing.tile_rows))


@flow(name="correct-tiled", log_prints=False)
def correct_tiled(bundle: str, site_id: str, home: str, config_file: str | None = None,
                  tile_rows: int | None = None) -> dict[str, Any]:
    """The correction of one bundle by tiles: ``{"summary": CorrectionSummary, "pids": [...]}``."""
    from hsiwq.io.bundle import read_bundle
    from hsiwq.io.calibration import load_calibrations, select_calibration

    ws, config, site = _setup(site_id, home, config_file)
    b = read_bundle(bundle, lazy=True)
    cal = select_calibration(load_calibrations(ws.calibration_dir), b.meta.sensor, b.meta.time)
    corrector = TiledCorrector(tile_rows or config.processing.tile_rows)
    summary = corrector(bundle, b, cal, site)
    return {"summary": summary, "pids": corrector.pids}


def _runner_for(home: str, config_file: str | None):
    ws = Workspace.resolve(home)
    config, _ = load_config(config_file or ws.config_file, workspace=ws)
    return dask_task_runner(config.processing)


def run_tiled(bundle: str, site_id: str, home: str, config_file: str | None = None, *,
              runner: Any = None) -> ProcessResult:
    """:func:`process_tiled` on ``runner`` (e.g. :meth:`TileCluster.runner`), else on the
    configured Dask task runner."""
    return process_tiled.with_options(task_runner=runner or _runner_for(home, config_file))(
        bundle, site_id, home, config_file)


def run_correct_tiled(bundle: str, site_id: str, home: str, config_file: str | None = None,
                      tile_rows: int | None = None) -> dict[str, Any]:
    """:func:`correct_tiled` on the configured Dask task runner."""
    return correct_tiled.with_options(task_runner=_runner_for(home, config_file))(
        bundle, site_id, home, config_file, tile_rows)
