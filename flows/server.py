"""A local Prefect server for ``hsiwq serve`` (SQLite in the workspace, loopback only).

Prefect's ephemeral mode runs flows but does not schedule them (docs/operations.md), so serving
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
#: in the database (the UI's event feed), the event logger, and automations (triggers). Flow
#: and task runs, schedules, work pools and concurrency limits are unaffected. They take about
#: a fifth of the server's CPU when 40 flow runs a minute are served (docs/operations.md).
LEAN = {"PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false"}


def server_env(prefect_home: Path, *, lean: bool = False) -> dict[str, str]:
    """Environment of the server process: its home and database in the workspace.

    ``lean`` turns off the services in :data:`LEAN` (unless the environment sets them).
    """
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{prefect_home / 'server.db'}",
        "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
        # a site's run that finds the previous one still running retries after 5 s, not 30 s
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS":
            env.get("PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS", "5"),
    })
    if lean:
        env.update({k: env.get(k, v) for k, v in LEAN.items()})
    return env


@contextmanager
def local_server(prefect_home: Path, *, timeout_s: float = 120.0, lean: bool = False) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1 for the duration of the block.

    Parameters
    ----------
    prefect_home : Path
        Prefect's home for the server (its SQLite database goes there).
    timeout_s : float
        How long to wait for the API to answer [s].
    lean : bool
        Without the services of :data:`LEAN` (used with workers, see ``hsiwq serve --workers``).

    Yields
    ------
    str
        The API URL (``http://127.0.0.1:<port>/api``).
    """
    prefect_home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(prefect_home / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port)],
        env=server_env(prefect_home, lean=lean), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(url, proc, timeout_s, prefect_home / "server.log")
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


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
