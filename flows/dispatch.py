"""Arrivals → flow runs: one run of a site in flight, at most one more owed.

:class:`Dispatcher` receives ``arrived(site)`` from :class:`hsiwq.watch.InboxWatcher` and
creates a flow run of the site's deployment *now* (``create_flow_run_from_deployment``); a
worker of the pool picks it up. While the site's run is in flight, further arrivals are
coalesced (:class:`hsiwq.watch.Coalescer`) into one follow-up run, started when the first
ends. A run that did not complete (cancelled because the site's scheduled run held the
site's slot, crashed, failed) is followed by another after ``retry_s``, so an arrival is
never left to the schedule.

A run's end is read from the local workers' run records (``ended_feed``, a JSON line per run
written after its final state) as soon as it is written, and from the API every
``api_poll_s`` (5 s) for the rest (runs of other workers, crashes, runs the server
cancelled). Under load the server answers in seconds, not milliseconds; waiting for it to
report each end delayed the sites' follow-up runs by 10 s in the median (docs/operations.md).
A follow-up is not started when the site's inbox is already empty (``pending``): the run that
ended took what arrived while it ran. Workers started by ``hsiwq serve`` follow this
dispatcher's record (``record``) and ask for a run as soon as it is created
(:meth:`flows.worker.InProcessWorker.follow_wakes`).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from hsiwq.watch import Coalescer

log = logging.getLogger(__name__)


class Dispatcher:
    """Starts the sites' flow runs on arrival (see the module doc).

    Parameters
    ----------
    deployments : dict of str to UUID
        Deployment id of each site.
    poll_s : float
        How often the states of the runs in flight are read [s].
    retry_s : float
        Delay before a run that did not complete is followed by another [s].
    record : path, optional
        Append one JSON line per flow run started here (site, run id, why, when it was asked
        for, when the call began and when it returned) and per run ended (its state).
    ended_feed : path, optional
        JSON-lines file of ended runs (``flow_run_id``, ``state``; the records of
        :class:`flows.worker.InProcessWorker`), read as it grows.
    api_poll_s : float
        How often the API is asked for the states of the runs in flight [s].
    pending : callable, optional
        ``pending(site)`` → False when the site's inbox certainly holds nothing (then an owed
        follow-up run is not started).
    """

    def __init__(self, deployments: dict[str, UUID], *, poll_s: float = 0.25,
                 retry_s: float = 2.0, record: str | Path | None = None,
                 ended_feed: str | Path | None = None, api_poll_s: float = 5.0,
                 pending: Callable[[str], bool] | None = None) -> None:
        self.record = Path(record) if record else None
        self.feed = Feed(Path(ended_feed)) if ended_feed else None
        self.api_poll_s = api_poll_s
        self.pending = pending
        self._api_at = 0.0
        self.deployments = dict(deployments)
        self.poll_s, self.retry_s = poll_s, retry_s
        self.coalescer = Coalescer()
        self.started = 0
        self._arrivals: queue.SimpleQueue = queue.SimpleQueue()  # sites, and created runs
        self._in_flight: dict[UUID, str] = {}
        self._retry_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def arrived(self, site: str) -> None:
        """Something arrived in ``site``'s inbox (thread-safe, returns at once)."""
        if site in self.deployments:
            self._arrivals.put(site)

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self._loop, name="hsiwq-dispatch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        with get_client(sync_client=True) as client, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsiwq-create") as pool:
            self._pool = pool
            while not self._stop.is_set():
                try:
                    self._step(client)
                except Exception:  # noqa: BLE001 - the API may be busy; try again
                    log.warning("dispatch step failed", exc_info=True)
                    self._stop.wait(1.0)

    def _step(self, client) -> None:
        items = []
        try:
            items.append(self._arrivals.get(timeout=self.poll_s))
        except queue.Empty:
            pass
        while True:
            try:
                items.append(self._arrivals.get_nowait())
            except queue.Empty:
                break
        sites = [i for i in items if isinstance(i, str)]
        for _, site, run_id, why, asked, began in (i for i in items if not isinstance(i, str)):
            self._created(site, run_id, why, asked, began)
        now = time.monotonic()
        retries = [s for s, t in self._retry_at.items() if t <= now]
        for site in retries:
            del self._retry_at[site]
        for site in dict.fromkeys(sites + retries):
            if self.coalescer.request(site):
                self._start(client, site, "retry" if site in retries else "arrival")
        if not self._in_flight:
            return
        for run_id, state, completed in self._ended(client):
            site = self._in_flight.pop(run_id, None)
            if site is None:
                continue
            self._log(site=site, flow_run_id=str(run_id), ended=state)
            again = self.coalescer.done(site)
            if not completed:  # not done: try again shortly
                if again:
                    self.coalescer.done(site)
                self._retry_at[site] = time.monotonic() + self.retry_s
            elif again and self.pending is not None and not self.pending(site):
                self.coalescer.done(site)  # the run took it all: idle until the next arrival
                self._log(site=site, skipped="owed", why="inbox empty")
            elif again:
                self._start(client, site, "owed")

    def _ended(self, client) -> list[tuple[UUID, str, bool]]:
        """Runs in flight that ended: (id, state name, completed), from the feed and, every
        ``api_poll_s``, from the API."""
        out = []
        if self.feed is not None:
            for rec in self.feed.read():
                try:
                    run_id = UUID(str(rec.get("flow_run_id")))
                except ValueError:
                    continue
                if run_id in self._in_flight:
                    state = str(rec.get("state", "?"))
                    out.append((run_id, state, bool(rec.get("ok")) and state == "Completed"))
        now = time.monotonic()
        if now >= self._api_at:
            self._api_at = now + self.api_poll_s
            seen = {r for r, _, _ in out}
            ids = [r for r in self._in_flight if r not in seen]
            if ids:
                for fr in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids))):
                    if fr.state is not None and fr.state.is_final():
                        out.append((fr.id, fr.state.name, fr.state.is_completed()))
        return out

    def _start(self, client, site: str, why: str) -> None:
        """Create a run of ``site`` in the creating thread; the outcome comes back through the
        queue to :meth:`_created`, while the loop keeps reading arrivals and ends.

        One thread, measured: with four, at 120 bundles a minute on SQLite, runs were created
        sooner, so there were more of them with fewer bundles each (743 runs for 1,150 bundles
        against 524 for 1,200), each costing the server its writes: drop → stored p95 162 s and
        a backlog up to 75, against 25.6 s and about 30 with one. A slow creation lets a run
        take more bundles."""
        asked = time.time()

        def create() -> None:
            began = time.time()
            try:
                fr = client.create_flow_run_from_deployment(self.deployments[site],
                                                            tags=["hsiwq", "on-arrival"])
                self._arrivals.put(("created", site, fr.id, why, asked, began))
            except Exception:  # noqa: BLE001 - retried; the schedule is the safety net anyway
                log.warning("could not start a run of %s", site, exc_info=True)
                self._arrivals.put(("created", site, None, why, asked, began))

        if self._pool is None:
            create()
        else:
            self._pool.submit(create)

    def _created(self, site: str, run_id: UUID | None, why: str, asked: float,
                 began: float) -> None:
        if run_id is None:  # not created: the site is free again and tried shortly
            self.coalescer.done(site)
            self._retry_at[site] = time.monotonic() + self.retry_s
            return
        self._in_flight[run_id] = site
        self.started += 1
        self._log(site=site, flow_run_id=str(run_id), started=why, asked=asked, began=began)

    def _log(self, **fields) -> None:
        if self.record is not None:
            with open(self.record, "a") as fh:
                fh.write(json.dumps({"time": time.time(), **fields}) + "\n")


class Feed:
    """The complete lines appended to a JSON-lines file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0  # only what ends from now
        self.rest = b""

    def read(self) -> list[dict]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return []
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
