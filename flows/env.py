"""Prefect settings for hsiwq, applied before Prefect is imported."""

from __future__ import annotations

import os

from hsiwq.workspace import Workspace


def configure_prefect(workspace: Workspace, *, quiet: bool = True) -> None:
    """Point Prefect at the workspace and turn telemetry off.

    Prefect's home (its SQLite database, logs and settings) goes under ``<home>/prefect``;
    without ``PREFECT_API_URL`` flows run in Prefect's embedded (ephemeral) mode, with no
    server to install. Must run before ``import prefect``; values already set in the
    environment win.
    """
    workspace.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(workspace.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


#: The line a worker process prints once it is ready to take runs (``hsiwq serve`` waits for it).
WORKER_READY = "hsiwq worker ready:"
