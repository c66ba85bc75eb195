"""A local Prefect server for ``hsiwq serve`` (SQLite in the workspace, loopback only).

Prefect's ephemeral mode runs flows but does not schedule them, so serving
scheduled deployments needs a real API. When ``PREFECT_API_URL`` is not set, ``hsiwq serve``
starts this one and stops it on exit; the user installs nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Server services a local server for hsiwq can do without (``lean=True``): keeping every event
#: in the database (the UI's event feed), the event logger, automations (triggers), marking
#: runs late, pause expirations, the foreman (marking silent workers offline) and the clean-up
#: of runs left cancelling. Flow and task runs, schedules, work pools, concurrency limits and
#: their leases are unaffected. Each of these services writes to the database every few
#: seconds; on SQLite every write waits for the one before, and under load those waits were
#: the "database is locked" errors and the seconds-long stalls of the runs (docs/operations.md).
LEAN = {"PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false"}


def server_env(prefect_home: Path, *, lean: bool = False, ui: bool = False) -> dict[str, str]:
    """Environment of the server process: its home and database in the workspace.

    The database is SQLite in ``prefect_home`` unless the environment names another one in
    ``PREFECT_API_DATABASE_CONNECTION_URL`` (e.g. ``postgresql+asyncpg://user:pw@host/db``,
    docs/operations.md). ``lean`` turns off the services in :data:`LEAN` (unless the
    environment sets them); ``ui`` serves Prefect's web UI beside the API.
    """
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true" if ui else "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": env.get(
            "PREFECT_API_DATABASE_CONNECTION_URL",
            f"sqlite+aiosqlite:///{prefect_home / 'server.db'}"),
        "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        # a site's run that finds the previous one still running retries after 5 s, not 30 s
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS":
            env.get("PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS", "5"),
    })
    if lean:
        env.update({k: env.get(k, v) for k, v in LEAN.items()})
    return env


def database_kind(env: dict[str, str] | None = None) -> str:
    """``"PostgreSQL"`` or ``"SQLite"``: the database a local server would use."""
    url = (env or os.environ).get("PREFECT_API_DATABASE_CONNECTION_URL", "")
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


class LocalServer:
    """``prefect server start`` on 127.0.0.1, started at once, waited for separately.

    Parameters
    ----------
    prefect_home : Path
        Prefect's home for the server (its SQLite database and ``server.log`` go there).
    lean, ui : bool
        As for :func:`server_env`.
    """

    def __init__(self, prefect_home: Path, *, lean: bool = False, ui: bool = False) -> None:
        prefect_home.mkdir(parents=True, exist_ok=True)
        self.log_path = prefect_home / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.ui_url = f"http://127.0.0.1:{self.port}/" if ui else None
        self.env = server_env(prefect_home, lean=lean, ui=ui)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout_s: float = 120.0) -> str:
        """Wait until the API answers; returns its URL."""
        _wait_healthy(self.url, self.proc, timeout_s, self.log_path)
        return self.url

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server (its whole process group), SIGKILL after ``timeout_s``."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@contextmanager
def local_server(prefect_home: Path, *, timeout_s: float = 120.0, lean: bool = False,
                 ui: bool = False) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1 for the duration of the block.

    Parameters
    ----------
    prefect_home : Path
        Prefect's home for the server (its SQLite database goes there).
    timeout_s : float
        How long to wait for the API to answer [s].
    lean, ui : bool
        As for :func:`server_env`.

    Yields
    ------
    str
        The API URL (``http://127.0.0.1:<port>/api``).
    """
    server = LocalServer(prefect_home, lean=lean, ui=ui)
    try:
        yield server.wait(timeout_s)
    finally:
        server.stop()
def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log}: the local Prefect server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{log}: the local Prefect server did not answer within {timeout_s:.0f} s")
