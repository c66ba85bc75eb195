"""Arrivals → flow runs: one run of a site in flight, at most one more owed.

:class:`Dispatcher` receives ``arrived(site)`` from :class:`hsiwq.watch.InboxWatcher` and
creates a flow run of the site's deployment *now* (``create_flow_run_from_deployment``); a
worker polling the pool picks it up. While the site's run is in flight, further arrivals are
coalesced (:class:`hsiwq.watch.Coalescer`) into one follow-up run, started when the first
ends. A run that did not complete (cancelled because the site's scheduled run held the
site's slot, crashed, failed) is followed by another after ``retry_s``, so an arrival is
never left to the schedule.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
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
        Append one JSON line per flow run started here (site, run id, why, when) and per run
        ended (its state).
    """

    def __init__(self, deployments: dict[str, UUID], *, poll_s: float = 0.25,
                 retry_s: float = 2.0, record: str | Path | None = None) -> None:
        self.record = Path(record) if record else None
        self.deployments = dict(deployments)
        self.poll_s, self.retry_s = poll_s, retry_s
        self.coalescer = Coalescer()
        self.started = 0
        self._arrivals: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._in_flight: dict[UUID, str] = {}
        self._retry_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        with get_client(sync_client=True) as client:
            while not self._stop.is_set():
                try:
                    self._step(client)
                except Exception:  # noqa: BLE001 - the API may be busy; try again
                    log.warning("dispatch step failed", exc_info=True)
                    self._stop.wait(1.0)

    def _step(self, client) -> None:
        try:
            sites = [self._arrivals.get(timeout=self.poll_s)]
        except queue.Empty:
            sites = []
        while True:
            try:
                sites.append(self._arrivals.get_nowait())
            except queue.Empty:
                break
        now = time.monotonic()
        retries = [s for s, t in self._retry_at.items() if t <= now]
        for site in retries:
            del self._retry_at[site]
        for site in dict.fromkeys(sites + retries):
            if self.coalescer.request(site):
                self._start(client, site, "retry" if site in retries else "arrival")
        if not self._in_flight:
            return
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=list(self._in_flight))))
        for fr in runs:
            if fr.state is None or not fr.state.is_final():
                continue
            site = self._in_flight.pop(fr.id)
            self._log(site=site, flow_run_id=str(fr.id), ended=fr.state.name)
            again = self.coalescer.done(site)
            if not fr.state.is_completed():  # not done: try again shortly
                if again:
                    self.coalescer.done(site)
                self._retry_at[site] = time.monotonic() + self.retry_s
            elif again:
                self._start(client, site, "owed")

    def _start(self, client, site: str, why: str) -> None:
        try:
            fr = client.create_flow_run_from_deployment(self.deployments[site],
                                                        tags=["hsiwq", "on-arrival"])
        except Exception:  # noqa: BLE001 - retried; the schedule is the safety net anyway
            log.warning("could not start a run of %s", site, exc_info=True)
            self.coalescer.done(site)
            self._retry_at[site] = time.monotonic() + self.retry_s
            return
        self._in_flight[fr.id] = site
        self.started += 1
        self._log(site=site, flow_run_id=str(fr.id), started=why)

    def _log(self, **fields) -> None:
        if self.record is not None:
            with open(self.record, "a") as fh:
                fh.write(json.dumps({"time": time.time(), **fields}) + "\n")
