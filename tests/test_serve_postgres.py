"""`hsiwq serve --workers 2` on a Prefect server backed by PostgreSQL.

A PostgreSQL server is started on 127.0.0.1 in a temporary folder (Debian's initdb/pg_ctl;
`make test` installs the `postgresql` package when missing), and ``hsiwq serve`` is given it
through ``PREFECT_API_DATABASE_CONNECTION_URL`` (asyncpg is Prefect's driver). Two worker
processes (one run at a time each) share three sites while bundles arrive in bursts: every
bundle processed exactly once, both workers used, Prefect's flow runs in PostgreSQL, and no
"database is locked".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from benchmarks.serve import Served, _pg_bin, local_postgres
from hsiwq.simulate import simulate_bundle
from hsiwq.store import SiteStore

from .conftest import cli_env, workspace_with

SITES = {"lake-a": (31.40, 120.18), "lake-b": (31.20, 120.40), "lake-c": (24.95, 102.70)}
CONFIG = "\n".join(f'[sites.{s}]\nlat = {lat}\nlon = {lon}\nregion = "taihu"\n'
                   f'schedule = "0 0 1 1 *"\n' for s, (lat, lon) in SITES.items())


def _postgres_available() -> bool:
    try:
        _pg_bin("initdb")
        return True
    except FileNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.skipif(not _postgres_available() and os.environ.get("CI") != "true",
                    reason="PostgreSQL server binaries not installed (`make test` installs "
                           "Debian's postgresql as root; in CI the test runs and fails instead)")
def test_serve_two_workers_on_postgres(tmp_path):
    home = tmp_path / "home"
    ws, cal = workspace_with(home, CONFIG)
    bundles = {s: [simulate_bundle(tmp_path / "sim" / s / str(i), water_type="eutrophic_lake", site=s,
                                   time=f"2026-08-01T03:{i:02d}:00Z", sensor="HSI-0003", lat=lat,
                                   lon=lon, shape=(24, 24), n_bands=120, seed=i, calibration_dir=cal,
                                   store_truth_rrs=False)
                   for i in range(6)]
               for s, (lat, lon) in SITES.items()}
    with local_postgres() as url:
        env = dict(cli_env(home), PREFECT_API_DATABASE_CONNECTION_URL=url)
        served = Served(home, env, ("--workers", "2", "--limit", "1"))
        served.start(timeout_s=900)
        try:
            assert "(PostgreSQL," in served.log.read_text()
            for wave in (range(0, 3), range(3, 6)):  # bursts into all sites at once
                for s in SITES:
                    for i in wave:
                        b = bundles[s][i]
                        tmp = ws.inbox(s) / f".incoming-{b.name}"
                        shutil.copytree(b, tmp)
                        tmp.rename(ws.inbox(s) / b.name)
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline and not all(
                        _rows(home, s) == wave.stop for s in SITES):
                    time.sleep(0.3)
            deadline = time.monotonic() + 240  # and the runs that stored them have ended
            while time.monotonic() < deadline and _results(home) < 18:
                time.sleep(0.3)
        finally:
            took = served.stop()
        log = served.log.read_text()
        port = url.rsplit(":", 1)[1].split("/")[0]
        psql = subprocess.run([_pg_bin("psql"), "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                               "-d", "prefect", "-tAc", "select count(*) from flow_run"],
                              capture_output=True, text=True, check=True)
    assert took <= 15
    recs = [json.loads(line) for line in (home / "prefect" / "worker-runs.jsonl").read_text().splitlines()]
    assert all(_rows(home, s) == 6 for s in SITES), log[-3000:]
    assert sum(r["results"] for r in recs) == 18  # exactly once over both workers
    assert len({r["worker"] for r in recs if r["results"]}) == 2, recs
    assert all(r["state"] == "Completed" for r in recs)
    for s in SITES:
        assert len(list(ws.archive(s).iterdir())) == 6 and not any(ws.inbox(s).iterdir())
        spans = sorted((r["started"], r["ended"]) for r in recs if r["parameters"]["site_id"] == s)
        assert all(a_end <= b_start + 0.05 for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    assert int(psql.stdout.strip()) >= len(recs)  # Prefect's runs are in PostgreSQL
    server_log = (home / "prefect" / "server.log").read_text(errors="replace")
    assert "database is locked" not in server_log


def _results(home) -> int:
    rec = home / "prefect" / "worker-runs.jsonl"
    return sum(json.loads(line)["results"] for line in rec.read_text().splitlines()) if rec.exists() else 0


def _rows(home, site: str) -> int:
    try:
        return SiteStore(home / "store" / f"{site}.zarr").read(with_rrs=False).sizes["time"]
    except Exception:
        return 0
