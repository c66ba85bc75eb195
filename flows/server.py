"""A local Prefect server for ``hsiwq serve`` (SQLite in the workspace, loopback only).

Prefect's ephemeral mode runs flows but does not schedule them, so serving
scheduled deployments needs a real API. When ``PREFECT_API_URL`` is not set, ``hsiwq serve``
starts this one and stops it on exit; the user installs nothing.
"""

from __future__ import annotations

import os
import shutil
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


def sqlite_path(env: dict[str, str]) -> Path | None:
    """The file of the server's SQLite database (None for another database)."""
    url = env.get("PREFECT_API_DATABASE_CONNECTION_URL", "")
    prefix = "sqlite+aiosqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) and ":memory:" not in url else None


def schema_template(cache_dir: Path | None = None) -> Path:
    """Where an empty, migrated server database of this Prefect version is kept.

    A new SQLite database takes Prefect's ~100 migrations (about 9 s here) before the API
    answers; the empty schema is the same for every workspace on one Prefect version, so
    the first server on a machine keeps a copy (``$HSIWQ_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/hsiwq``, else ``~/.cache/hsiwq``) and a new workspace starts from it
    (the server then checks it is at the head revision, as on every start).
    """
    from importlib.metadata import version  # not `import prefect`: seconds, while the server waits

    env = os.environ
    base = cache_dir or Path(env.get("HSIWQ_CACHE_DIR")
                             or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hsiwq")
    return base / f"prefect-{version('prefect')}-empty.db"


def _keep_template(db: Path, template: Path) -> None:
    """Copy a just-migrated database to the template (SQLite backup API: consistent while
    the server runs; written beside it, then renamed)."""
    import sqlite3

    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        tmp = template.with_name(f".{template.name}.{os.getpid()}")
        src, dst = sqlite3.connect(str(db)), sqlite3.connect(str(tmp))
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        os.replace(tmp, template)
    except (OSError, sqlite3.Error):  # a cache: the next fresh start simply migrates again
        pass


class LocalServer:
    """``prefect server start`` on 127.0.0.1, started at once, waited for separately.

    A workspace without a server database starts from the migrated empty schema of
    :func:`schema_template` when there is one (and keeps one when there is not).

    Parameters
    ----------
    prefect_home : Path
        Prefect's home for the server (its SQLite database and ``server.log`` go there).
    lean, ui : bool
        As for :func:`server_env`.
    template : Path or None
        The schema template (default :func:`schema_template`).
    """

    def __init__(self, prefect_home: Path, *, lean: bool = False, ui: bool = False,
                 template: Path | None = None) -> None:
        prefect_home.mkdir(parents=True, exist_ok=True)
        self.log_path = prefect_home / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.ui_url = f"http://127.0.0.1:{self.port}/" if ui else None
        self.env = server_env(prefect_home, lean=lean, ui=ui)
        self.db = sqlite_path(self.env)
        self.template = template or schema_template()
        #: how the database began: "existing", "template" (copied) or "migrated" (created)
        self.schema = "existing"
        if self.db is not None and not self.db.exists():
            self.schema = "migrated"
            if self.template.is_file():
                try:
                    shutil.copyfile(self.template, self.db)
                    self.schema = "template"
                except OSError:
                    pass
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout_s: float = 120.0) -> str:
        """Wait until the API answers; returns its URL."""
        _wait_healthy(self.url, self.proc, timeout_s, self.log_path)
        if self.schema == "migrated" and self.db is not None:
            _keep_template(self.db, self.template)
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
