"""A long-lived Prefect worker that runs flow runs inside its own process.

Prefect's Runner and process worker start every flow run in a fresh interpreter, which costs
seconds of imports per run. :class:`InProcessWorker` polls a work pool like
any Prefect worker, but loads each deployment's flow once and runs every flow run in a thread
of its own process with ``prefect.flow_engine.run_flow``: Prefect's cost per run is then a
handful of API calls.

What it changes for a flow run, compared with a process worker:

- flow-run heartbeats are off (a sync flow run otherwise waits ≈ 1 s for its heartbeat thread
  to stop); a worker that dies leaves its runs ``Running`` until they are cancelled;
- job variables (environment, command) of the work pool do not apply: runs share the worker's
  process and environment; ``limit`` caps the runs in flight in one worker;
- a run picked up early (``prefetch_seconds``) waits for its scheduled time before it starts,
  without holding a thread;
- cancelling a run from the UI cannot kill a thread: the worker logs it and the run finishes;
- on SIGTERM the worker takes no new run and each run in flight ends after the bundle in hand
  (:data:`flows.site.STOPPING`);
- runs are not labelled with the worker's name and pool (a write that SQLite fails under load,
  see :meth:`InProcessWorker._give_worker_labels_to_flow_run`); the run record names the worker.

It uses Prefect's extension points: a ``BaseWorker`` subclass (Prefect's way to write a worker
type) that runs a flow run with ``prefect.flow_engine.run_flow`` and overrides one of
``BaseWorker``'s own methods (the run labels); nothing of Prefect is patched.
``tests/test_serve_parts.py`` pins the signatures it relies on.

Each run can be appended, as one JSON line, to a record file (``record=``): the flow run, the
worker's name, host and pid, when the worker took it, the wall time of the run and the time
spent inside the library (hsiwq functions and the bodies of the flow's tasks, measured by
wrapping them when the flow is loaded). The throughput benchmark and the scale-out test read it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import os
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
from prefect.client.schemas.objects import FlowRun
from prefect.flow_engine import run_flow
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.settings import (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_WORKER_HEARTBEAT_SECONDS,
                              PREFECT_WORKER_QUERY_SECONDS, get_current_settings,
                              temporary_settings)
from prefect.tasks import Task
from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker, BaseWorkerResult

#: The work pool type served by :class:`InProcessWorker`.
WORKER_TYPE = "hsiwq-inprocess"
#: The flow of the sites' deployments, loaded when a worker starts.
SITE_ENTRYPOINT = "flows.site.process_site"


class InProcessResult(BaseWorkerResult):
    """Outcome of one flow run executed in the worker's process."""


# --------------------------------------------------------------------------------------------
# Time spent in the library, per thread (one flow run per thread at a time)

_clock = threading.local()


def _timed(fn):
    """Wrap ``fn`` so that the outermost timed call adds its duration to the thread's clock."""
    if getattr(fn, "__hsiwq_timed__", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if getattr(_clock, "depth", 0):
            return fn(*args, **kwargs)
        _clock.depth = 1
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _clock.seconds = getattr(_clock, "seconds", 0.0) + time.perf_counter() - t0
            _clock.depth = 0

    wrapper.__hsiwq_timed__ = True  # type: ignore[attr-defined]
    return wrapper


def instrument(flow: Flow) -> None:
    """Time the library calls of a flow's module: its tasks' bodies and its hsiwq functions.

    Replaces, in the flow's module, each function imported from ``hsiwq`` by a timed wrapper
    and each task's ``fn`` likewise (a task body is library code; the task engine around it is
    Prefect's). Calls nest: only the outermost one counts.
    """
    module = sys.modules.get(getattr(flow.fn, "__module__", ""), None)
    if module is None:
        return
    for name, obj in list(vars(module).items()):
        if isinstance(obj, Task) and not inspect.iscoroutinefunction(obj.fn):
            obj.fn = _timed(obj.fn)
        elif inspect.isfunction(obj) and (obj.__module__ or "").startswith("hsiwq"):
            setattr(module, name, _timed(obj))


def library_seconds() -> float:
    """Seconds this thread spent in timed library calls so far."""
    return getattr(_clock, "seconds", 0.0)


def _stage_seconds(state: Any) -> tuple[dict[str, float], int]:
    """Seconds per stage summed over a run's results (objects with a ``timings`` dict), and
    how many results there were."""
    try:
        value = state.result(raise_on_failure=False) if state.is_completed() else None
    except Exception:  # noqa: BLE001 - a result that cannot be read just has no stages
        return {}, 0
    out: dict[str, float] = {}
    items = value if isinstance(value, list) else []
    for item in items:
        for k, v in (getattr(item, "timings", None) or {}).items():
            out[k] = out.get(k, 0.0) + float(v)
    return out, len(items)


# --------------------------------------------------------------------------------------------


class InProcessWorker(BaseWorker[BaseJobConfiguration, BaseVariables, InProcessResult]):
    """Runs the flow runs of a work pool in threads of this process (see the module doc).

    Parameters
    ----------
    work_pool_name : str
        The work pool to poll (type :data:`WORKER_TYPE`).
    record : path, optional
        Append one JSON line per flow run to this file.
    **kwargs
        As for ``prefect.workers.base.BaseWorker`` (``name``, ``limit``,
        ``prefetch_seconds``, ...).
    """

    type = WORKER_TYPE
    job_configuration = BaseJobConfiguration
    job_configuration_variables = BaseVariables
    _description = "Runs flow runs in threads of the worker's own long-lived process (hsiwq)."

    def __init__(self, work_pool_name: str, *, record: str | Path | None = None,
                 warm: Any = None, ready: Any = None, wake: str | Path | None = None,
                 **kwargs: Any):
        super().__init__(work_pool_name, **kwargs)
        self._warm, self._ready = warm, ready
        self._wake = Path(wake) if wake else None
        self._set_up: anyio.Event | None = None
        self._running = 0  # runs taken and not yet ended
        self._entrypoints: dict[UUID, str] = {}
        self._flows: dict[str, Flow] = {}
        self._record = Path(record) if record else None
        self._record_lock = threading.Lock()
        self.ident = f"{socket.gethostname()}:{os.getpid()}"
        self._threads: ThreadPoolExecutor | None = None

    async def setup(self) -> None:
        self._set_up = self._set_up or anyio.Event()
        await super().setup()
        self._threads = ThreadPoolExecutor(max_workers=self._limit or 4,
                                           thread_name_prefix="hsiwq-run")
        await self._preload()
        if self._warm is not None:  # the library's own loading (calibrations, models, kernels)
            await anyio.to_thread.run_sync(self._warm)
        if self._ready is not None:
            self._ready(self)
        self._set_up.set()

    async def follow_wakes(self) -> None:
        """Ask for due runs as soon as a run is created, not at the next poll.

        ``wake`` is the dispatcher's record (:class:`flows.dispatch.Dispatcher`): a line with
        ``started`` is a run it has just created. The worker then queries the pool once it
        has a free thread (a worker at its limit queries when one of its runs ends). The
        periodic poll stays, for scheduled runs and runs created elsewhere; with wakes it can
        be slow (each poll costs the server a query and marks the pool as polled).
        """
        if self._wake is None:
            return
        from .dispatch import Feed

        self._set_up = self._set_up or anyio.Event()
        feed = Feed(self._wake)
        await self._set_up.wait()
        owed = False
        while True:
            await anyio.sleep(WAKE_S)
            owed = any("started" in rec for rec in feed.read()) or owed
            if owed and self._running < (self._limit or 1):
                owed = False
                try:
                    await self.get_and_submit_flow_runs()
                except Exception:  # noqa: BLE001 - the periodic poll is still there
                    self._logger.debug("query on wake failed", exc_info=True)

    async def _preload(self) -> None:
        """Import the site flow and the flows of the pool's deployments now, not in runs."""
        from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

        await self._load(SITE_ENTRYPOINT)
        try:
            deployments = await self.client.read_deployments(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[self._work_pool_name])))
        except Exception:  # noqa: BLE001 - flows then load on first use
            self._logger.debug("could not list the pool's deployments", exc_info=True)
            return
        for dep in deployments:
            if not dep.entrypoint:
                continue
            self._entrypoints[dep.id] = dep.entrypoint
            try:
                await self._load(dep.entrypoint)
            except Exception:  # noqa: BLE001 - reported when a run needs it
                self._logger.warning("cannot load flow %s", dep.entrypoint, exc_info=True)

    async def _load(self, entrypoint: str) -> Flow:
        """The flow at ``entrypoint``, imported (and instrumented) once."""
        flow = self._flows.get(entrypoint)
        if flow is None:
            flow = await anyio.to_thread.run_sync(load_flow_from_entrypoint, entrypoint, False)
            instrument(flow)
            self._flows[entrypoint] = flow
        return flow

    async def teardown(self, *exc_info: Any) -> None:
        await super().teardown(*exc_info)  # waits for the runs in flight
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None

    async def _flow_for(self, flow_run: FlowRun) -> Flow:
        """The deployment's flow, imported once per entrypoint."""
        if flow_run.deployment_id is None:
            raise ValueError(f"flow run {flow_run.id} has no deployment")
        entrypoint = self._entrypoints.get(flow_run.deployment_id)
        if entrypoint is None:
            deployment = await self.client.read_deployment(flow_run.deployment_id)
            if not deployment.entrypoint:
                raise ValueError(f"deployment {deployment.name!r} has no entrypoint")
            entrypoint = self._entrypoints[flow_run.deployment_id] = deployment.entrypoint
        return await self._load(entrypoint)

    async def run(self, flow_run: FlowRun, configuration: BaseJobConfiguration,
                  task_status: anyio.abc.TaskStatus | None = None) -> InProcessResult:
        taken = time.time()
        self._running += 1
        try:
            return await self._run(flow_run, taken, task_status)
        finally:
            self._running -= 1

    async def _run(self, flow_run: FlowRun, taken: float,
                   task_status: anyio.abc.TaskStatus | None) -> InProcessResult:
        flow = await self._flow_for(flow_run)
        # a prefetched run waits here, not in a thread, for its scheduled time
        scheduled = flow_run.expected_start_time or flow_run.next_scheduled_start_time
        if scheduled is not None:
            delay = scheduled.timestamp() - time.time()
            if delay > 0:
                await anyio.sleep(delay)
        fresh = await self.client.read_flow_run(flow_run.id)
        # "started" only now: a failure above makes the worker mark the run crashed (which frees
        # the site's slot) instead of leaving it pending
        if task_status is not None:
            task_status.started(self.ident)
        future = self._threads.submit(contextvars.copy_context().run, self._execute, flow, fresh,
                                      taken)
        with anyio.CancelScope(shield=True):  # a stopping worker lets the run finish
            record = await asyncio.wrap_future(future)
        return InProcessResult(identifier=self.ident, status_code=0 if record["ok"] else 1)

    def _execute(self, flow: Flow, flow_run: FlowRun, taken: float) -> dict[str, Any]:
        """Run one flow run to its final state in this thread; its record is written here, as
        soon as it ends (``hsiwq serve``'s dispatcher reads it to start the site's next run)."""
        _clock.seconds, _clock.depth = 0.0, 0
        t0 = time.time()
        state_name, ok, stages, n = "?", True, {}, 0
        try:
            state = run_flow(flow, flow_run=flow_run, return_type="state")
            state_name = getattr(state, "name", str(state))
            stages, n = _stage_seconds(state)
        except BaseException as exc:  # noqa: BLE001 - reported as a crash by the worker
            ok, state_name = False, f"{type(exc).__name__}: {exc}"
            self._logger.exception("flow run %s crashed in the worker", flow_run.id)
        record = {
            "flow_run_id": str(flow_run.id), "flow_run": flow_run.name,
            "deployment_id": str(flow_run.deployment_id),
            "parameters": {k: v for k, v in (flow_run.parameters or {}).items()
                           if isinstance(v, (str, int, float, bool, type(None)))},
            "worker": self.name, "host": socket.gethostname(), "pid": os.getpid(),
            "thread": threading.current_thread().name,
            "started": t0, "ended": time.time(), "library_s": library_seconds(),
            "state": state_name, "ok": ok, "results": n, "stages": stages,
            "heartbeat": get_current_settings().flows.heartbeat_frequency, "taken": taken,
        }
        self._write(record)
        return record

    def _write(self, record: dict[str, Any]) -> None:
        if self._record is None:
            return
        line = json.dumps(record, default=str) + "\n"
        with self._record_lock:
            self._record.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)

    async def _give_worker_labels_to_flow_run(self, flow_run_id: UUID) -> None:
        """Leave the run's labels alone (the worker's name is in the run record instead).

        ``BaseWorker`` labels each run with its worker and pool through ``PATCH
        /flow_runs/{id}/labels``, which the server runs as a read then a write in one
        deferred transaction. On SQLite such a transaction fails at once (SQLITE_BUSY_SNAPSHOT,
        answered 503) when another write committed in between, and the client retries after
        2, 4, 8, 16 s: at 120 bundles a minute, one run in five waited 6–33 s between its
        Pending and Submitting states (docs/operations.md).
        """

    async def kill_infrastructure(self, infrastructure_pid: str, configuration: BaseJobConfiguration,
                                  grace_seconds: int = 30) -> None:
        """A run in a thread cannot be killed; it finishes (the worker process stays up)."""
        raise NotImplementedError("runs execute in the worker's threads and cannot be killed")


#: Seconds between a worker's heartbeats to the API.
HEARTBEAT_S = 300.0
#: Seconds between a worker's looks at its wake file (a local ``stat`` and read).
WAKE_S = 0.05


def run_worker(pool: str, *, name: str | None = None, limit: int = 2, poll_s: float = 2.0,
               prefetch_s: float = 2.0, record: str | Path | None = None, warm=None,
               wait_api_s: float = 0.0, wake: str | Path | None = None,
               printer=print) -> None:
    """Serve a work pool in this process until SIGTERM / SIGINT, then finish the runs in flight.

    Parameters
    ----------
    pool : str
        Work pool name (created with type :data:`WORKER_TYPE` when missing).
    name : str, optional
        Worker name (default ``hsiwq-<host>-<pid>``).
    limit : int
        Flow runs in flight in this worker.
    poll_s, prefetch_s : float
        How often the worker asks for scheduled runs, and how far ahead [s].
    record : path, optional
        JSON-lines file of the runs this worker executed.
    warm : callable, optional
        Called once before the worker takes runs (e.g. :func:`flows.site.warm_up`); with
        ``wait_api_s``, before waiting for the API.
    wait_api_s : float
        How long to wait for the API to answer before starting [s] (a worker started beside
        its server).
    wake : path, optional
        The dispatcher's record: the worker asks for due runs as soon as a line says a run
        was created (:meth:`InProcessWorker.follow_wakes`), besides every ``poll_s``.

    On SIGTERM / SIGINT the worker takes no new run, each run in flight ends after the bundle
    in hand (:data:`flows.site.STOPPING`), and the worker exits.
    """
    import signal

    from .env import WORKER_READY as READY
    from .site import STOPPING

    name = name or f"hsiwq-{socket.gethostname()}-{os.getpid()}"
    if wait_api_s > 0:  # and for the pool: workers creating it at once lock SQLite
        if warm is not None:  # the library's loading needs no API: do it while the server starts
            warm()
            warm = None
        wait_for_api(get_current_settings().api.url or "", wait_api_s, pool=pool)

    async def main() -> None:
        worker = InProcessWorker(pool, name=name, limit=limit, prefetch_seconds=prefetch_s,
                                 record=record, warm=warm, wake=wake,
                                 ready=lambda w: printer(f"{READY} {name} (pid {os.getpid()})"))
        async with anyio.create_task_group() as tg:
            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        printer(f"worker {name}: stopping after the bundles in hand")
                        STOPPING.set()
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(stop_on_signal)
            tg.start_soon(worker.follow_wakes)
            await worker.start(printer=printer)
            tg.cancel_scope.cancel()  # the worker ended: so does following wakes

    # settings of this process, inherited by the runs' threads (anyio copies the context);
    # the worker's heartbeat every 5 min, not 30 s: on SQLite its write was the one that
    # timed out ("database is locked") under load, and no service of the lean local server
    # reads it (the foreman is off)
    with temporary_settings({PREFECT_WORKER_QUERY_SECONDS: poll_s,
                             PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                             PREFECT_WORKER_HEARTBEAT_SECONDS: HEARTBEAT_S}):
        anyio.run(main)


def wait_for_api(url: str, timeout_s: float, *, pool: str | None = None) -> None:
    """Wait until the Prefect API at ``url`` answers its health check (and has ``pool``).

    Raises
    ------
    RuntimeError
        When it does not answer within ``timeout_s`` [s].
    """
    import urllib.request

    deadline = time.monotonic() + timeout_s
    paths = ["health"] + ([f"work_pools/{pool}"] if pool else [])
    while True:
        try:
            while paths:
                req = urllib.request.Request(f"{url.rstrip('/')}/{paths[0]}")
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status != 200:
                        break
                paths.pop(0)
            if not paths:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Prefect API at {url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)
