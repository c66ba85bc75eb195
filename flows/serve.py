"""``hsiwq serve``: a server, one deployment per site, long-lived workers, runs on arrival.

:func:`serve_sites` starts, in this order and printing a line at each step:

1. the local Prefect server (SQLite in the workspace, or the database named by
   ``PREFECT_API_DATABASE_CONNECTION_URL``; skipped when ``PREFECT_API_URL`` names one) and,
   at the same time, the worker processes (``hsiwq worker``: they import and load while the
   server starts, then wait for its API);
2. one deployment per site in the work pool (:func:`flows.pool.deploy_sites`): the site's
   schedule as a safety net, one run of a site at a time, a run due while the site's previous
   one is still running cancelled rather than queued (the running one takes what arrived);
3. the inbox watcher and the dispatcher (:mod:`hsiwq.watch`, :mod:`flows.dispatch`): a
   bundle arriving starts its site's run at once, with at most one more owed per site;
4. the read-only dashboard; then one ``ready`` line with the addresses.

It stops on SIGTERM / Ctrl-C in the reverse order: no new runs, workers finish the bundle in
hand, the server stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from hsiwq.config import SitesConfig

from .env import WORKER_READY as READY  # what a worker prints once it takes runs


class Workers:
    """``hsiwq worker`` processes of one pool, their logs in the Prefect home."""

    def __init__(self, n: int, *, pool: str, home: Path, config_file: str, url: str,
                 limit: int, poll_s: float, debug: bool = False) -> None:
        self.prefect_home = home / "prefect"
        self.record = self.prefect_home / "worker-runs.jsonl"  # a JSON line per run ended
        self.wake = self.prefect_home / "dispatch.jsonl"  # the dispatcher's: runs it created
        self.logs = [self.prefect_home / f"worker-{i + 1}.log" for i in range(n)]
        env = dict(os.environ, HSIWQ_HOME=str(home), PREFECT_API_URL=url)
        self.procs: list[subprocess.Popen] = []
        #: workers that have not printed their ready line yet
        self.pending: set[int] = set(range(n))
        for i, log_path in enumerate(self.logs):
            cmd = [sys.executable, "-m", "hsiwq", *(["--debug"] if debug else []),
                   "--config", config_file, "worker", "--pool", pool,
                   "--name", f"{pool}-{os.getpid()}-{i + 1}", "--limit", str(limit),
                   "--poll", str(poll_s), "--warm", "--wait-api", "120",
                   "--record", str(self.record), "--wake", str(self.wake)]
            with open(log_path, "wb") as log:
                self.procs.append(subprocess.Popen(cmd, env=env, stdout=log,
                                                   stderr=subprocess.STDOUT))

    def wait_ready(self, timeout_s: float, each: Callable[[int], None], need: int | None = None) -> None:
        """Wait until ``need`` workers (default: all) have printed their ready line;
        ``each(i)`` as each becomes ready. The others are reported by :meth:`poll_ready`."""
        need = len(self.procs) if need is None else min(need, len(self.procs))
        deadline = time.monotonic() + timeout_s
        while len(self.procs) - len(self.pending) < need:
            self.poll_ready(each)
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers not ready within {timeout_s:.0f} s; see {self.logs[0]}")
            time.sleep(0.1)

    def poll_ready(self, each: Callable[[int], None]) -> None:
        """``each(i)`` for each worker that has become ready since the last look."""
        for i in sorted(self.pending):
            if READY in self.logs[i].read_text(errors="replace"):
                self.pending.discard(i)
                each(i)
            elif self.procs[i].poll() is not None:
                raise RuntimeError(f"{self.logs[i]}: worker {i + 1} exited with code "
                                   f"{self.procs[i].returncode}")

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def terminate(self) -> None:
        """SIGTERM: they take no new run and finish the bundle in hand."""
        if getattr(self, "_terminated", None) is None:
            self._terminated = time.monotonic()
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 7.0) -> None:
        """:meth:`terminate`, then SIGKILL what is left ``timeout_s`` after the SIGTERM."""
        self.terminate()
        deadline = self._terminated + timeout_s
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def serve_sites(config: SitesConfig, ws, cfg_file: str, *, server=None, t0: float | None = None,
                workers: int = 1, limit: int = 4,
                pool: str = "hsiwq-local", pool_limit: int | None = None, poll_s: float = 5.0,
                watch: bool = True, dashboard_port: int | None = 8765, debug: bool = False,
                say: Callable[[str], None] = print, stop: threading.Event | None = None,
                ready: threading.Event | None = None) -> None:
    """Serve every configured site until ``stop`` is set (or a worker dies).

    Parameters
    ----------
    config, ws, cfg_file
        The configuration, the workspace and the configuration file.
    server : flows.server.LocalServer, optional
        The local server, started (and ``PREFECT_API_URL`` set to it) before Prefect was
        imported; None when ``PREFECT_API_URL`` names a server.
    t0 : float, optional
        ``time.monotonic()`` when the start began (for the progress lines).
    workers, limit : int
        Worker processes, and flow runs in flight in each.
    pool : str
        Work pool of the sites' deployments.
    pool_limit : int, optional
        Most flow runs in flight across the pool (default: unchanged, none for a new pool).
    poll_s : float
        How often each worker asks for due runs [s]; a run started on arrival is asked for
        as soon as the dispatcher has created it (its record is the workers' wake file).
    watch : bool
        Start runs on arrival (sites with ``watch = false`` still only run on their schedule).
    dashboard_port : int or None
        Port of the read-only dashboard on 127.0.0.1 (another free port when taken); None: no
        dashboard.
    say : callable
        Where the progress lines go.
    stop, ready : threading.Event, optional
        Set ``stop`` to stop; ``ready`` is set once serving (before, a signal handler should
        raise KeyboardInterrupt instead: the start is then undone).
    """
    from hsiwq.inbox import site_locations
    from hsiwq.watch import InboxWatcher

    stop = stop or threading.Event()
    t0 = time.monotonic() if t0 is None else t0

    def step(msg: str) -> None:
        say(f"[{time.monotonic() - t0:5.1f} s] {msg}")

    with ExitStack() as stack:
        url = os.environ["PREFECT_API_URL"]
        ui = None
        if server is not None:
            stack.callback(server.stop, 3.0)
            url, ui = server.url, server.ui_url
        step(f"starting {workers} worker process(es) (≤ {limit} run(s) each; logs "
             f"{ws.prefect_home}/worker-*.log)")
        procs = Workers(workers, pool=pool, home=ws.root, config_file=str(cfg_file), url=url,
                        limit=limit, poll_s=poll_s, debug=debug)
        stack.callback(procs.stop)
        from .dispatch import Dispatcher  # Prefect is imported while the server starts
        from .pool import deploy_sites

        if server is not None:
            server.wait()
            note = {"template": " (new database from the cached empty schema)",
                    "migrated": " (new database migrated; its empty schema kept for the next workspace)"}
            step(f"Prefect server up: {url}{note.get(server.schema, '')}")
        ids = deploy_sites(config, str(ws.root), str(cfg_file), pool=pool, limit=pool_limit)
        step(f"{len(ids)} deployment(s) in work pool {pool!r}: "
             + ", ".join(f"{s.id} ({s.schedule})" for s in config.sites.values()))
        # serving once one worker takes runs; the others join as they get ready
        worker_ready = lambda i: step(f"worker {i + 1} ready (pid {procs.procs[i].pid})")  # noqa: E731
        procs.wait_ready(180, worker_ready, need=1)
        watched = {s.id: site_locations(s, config, ws).inbox for s in config.sites.values()
                   if watch and s.watch}
        if watched:
            dispatcher = Dispatcher(ids, record=procs.wake,
                                    ended_feed=procs.record,
                                    pending=lambda site: _maybe_pending(watched.get(site))).start()
            stack.callback(dispatcher.stop)
            watcher = InboxWatcher(watched, dispatcher.arrived).start()
            stack.callback(watcher.stop)
            n_local = len(watcher.local)
            step(f"watching {len(watched)} inbox(es): {n_local} local (file events), "
                 f"{len(watched) - n_local} on object storage (listed every "
                 f"{watcher.list_interval_s:g} s); arrivals start their site's run")
            for site in watched:  # what arrived while we were away
                dispatcher.arrived(site)
        dash = _dashboard(ws, cfg_file, dashboard_port) if dashboard_port is not None else None
        if dash is not None:  # stopped without waiting for a request in progress
            stack.callback(lambda: threading.Thread(target=dash.shutdown, daemon=True).start())
        say(f"ready in {time.monotonic() - t0:.1f} s: dashboard "
            f"{dash.url if dash is not None else '(off)'} · Prefect UI {ui or url} · "
            "Ctrl-C or SIGTERM stops")
        stamp = _mtime(cfg_file)
        if ready is not None:
            ready.set()
        while not stop.wait(0.5):
            if not procs.alive():
                say(f"a worker exited; see {ws.prefect_home}/worker-*.log")
                break
            if procs.pending:
                procs.poll_ready(worker_ready)
            if _mtime(cfg_file) != stamp:  # new sites, schedules: deploy again
                stamp = _mtime(cfg_file)
                config = _reload(config, cfg_file, say)
                ids = deploy_sites(config, str(ws.root), str(cfg_file), pool=pool, limit=pool_limit)
                if watched:
                    dispatcher.deployments = dict(ids)
                    watcher.stop()
                    watcher = InboxWatcher({s.id: site_locations(s, config, ws).inbox
                                            for s in config.sites.values() if watch and s.watch},
                                           dispatcher.arrived).start()
                    stack.callback(watcher.stop)
                step(f"configuration changed: {len(ids)} deployment(s) updated")
        procs.terminate()  # first: their time to finish the bundle in hand starts now
        say("stopping: no new runs; workers finish the bundle in hand")
    say("stopped")


def _maybe_pending(inbox) -> bool:
    """False when a local inbox holds no entry but hidden uploads; True otherwise (an
    object-store inbox is not listed here: its watcher does that)."""
    if inbox is None or not inbox.local:
        return True
    try:
        return any(not p.name.startswith(".") for p in inbox.path.iterdir())
    except OSError:
        return True


def _mtime(path) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


def _reload(config: SitesConfig, cfg_file, say: Callable[[str], None]) -> SitesConfig:
    """The configuration read again; the old one (and a message) when it is now invalid."""
    from hsiwq.config import load_config
    from hsiwq.errors import HsiwqError

    try:
        return load_config(cfg_file)[0]
    except HsiwqError as exc:
        say(f"configuration not reloaded: {exc}")
        return config


def _dashboard(ws, cfg_file, port: int):
    """The read-only dashboard on 127.0.0.1 in a thread (another free port when taken)."""
    from hsiwq.dashboard import Dashboard
    from hsiwq.dashboard.server import DashboardServer

    from .server import free_port

    os.environ.setdefault("MPLCONFIGDIR", str(ws.root / "cache" / "matplotlib"))
    app = Dashboard(ws, str(cfg_file), loopback=True)
    try:
        server = DashboardServer(app, "127.0.0.1", port)
    except OSError:
        server = DashboardServer(app, "127.0.0.1", free_port())
    threading.Thread(target=server.serve_forever, name="hsiwq-dashboard", daemon=True).start()
    return server
