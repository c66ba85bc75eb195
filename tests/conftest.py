"""Shared fixtures: the bundled sample cubes and an isolated workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_cubes"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty HSIWQ_HOME for the test, with Prefect kept inside it and telemetry off."""
    h = tmp_path / "home"
    monkeypatch.setenv("HSIWQ_HOME", str(h))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.delenv("HSIWQ_CALIBRATION", raising=False)
    return h


def sample_bundles(site: str) -> list[Path]:
    return sorted(p for p in (SAMPLES / site).iterdir() if p.is_dir())


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HSIWQ_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_HOME": str(home / "prefect")})
    return env
