"""Scale-out: a local Prefect server, a work pool, two `hsiwq worker` processes sharing the sites.

Slow (a real server and three Prefect processes, about 1–2 minutes); `.ci/run` runs it.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from flows.server import local_server
from hsiwq.simulate import simulate_bundle
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import ROOT, cli_env, workspace_with

SITES = {"lake-a": (31.40, 120.18), "lake-b": (31.20, 120.40), "lake-c": (24.95, 102.70)}
CONFIG = "\n".join(f'[sites.{s}]\nlat = {lat}\nlon = {lon}\nregion = "taihu"\nschedule = "every 4 s"\n'
                   for s, (lat, lon) in SITES.items())


def _bundles(tmp: Path, cal: Path, site: str, hours: list[int]) -> list[Path]:
    lat, lon = SITES[site]
    return [simulate_bundle(tmp / "sim", water_type="eutrophic_lake", site=site,
                            time=f"2026-08-01T{h:02d}:00:00Z", sensor="HSI-0003", lat=lat, lon=lon,
                            shape=(24, 24), n_bands=120, seed=h, calibration_dir=cal,
                            store_truth_rrs=False)
            for h in hours]


def _wait(cond, timeout_s: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _rows(ws: Workspace, site: str) -> int:
    try:
        return SiteStore(ws.store_path(site)).read(with_rrs=False).sizes["time"]
    except Exception:
        return 0


def _flow_runs(url: str) -> list[dict]:
    """The flow runs that left the Scheduled/Pending states (from the API)."""
    body = {"limit": 200, "flow_runs": {"state": {"type": {"any_": [
        "RUNNING", "COMPLETED", "FAILED", "CRASHED", "CANCELLED", "CANCELLING"]}}}}
    req = urllib.request.Request(f"{url}/flow_runs/filter", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_two_workers_share_the_sites(tmp_path):
    home = tmp_path / "home"
    ws, cal = workspace_with(home, CONFIG)
    waves = {s: (_bundles(tmp_path, cal, s, [1, 2, 3]), _bundles(tmp_path, cal, s, [4, 5])) for s in SITES}
    for site, (first, _) in waves.items():
        for b in reversed(first):  # newest first: the runs still take them in time order
            shutil.copytree(b, ws.inbox(site) / b.name)
    broken = ws.inbox("lake-b") / "broken"
    shutil.copytree(waves["lake-b"][0][0], broken)
    (broken / "acquisition.json").write_text("{not json")
    n_good = sum(len(a) + len(b) for a, b in waves.values())

    prefect_home = home / "prefect"
    record = tmp_path / "runs.jsonl"
    logs = [tmp_path / "deploy.log", tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers: list[subprocess.Popen] = []
    with local_server(prefect_home, lean=True) as url:
        logs.append(prefect_home / "server.log")
        env = dict(cli_env(home), PREFECT_API_URL=url)
        hsiwq = [sys.executable, "-m", "hsiwq"]
        with open(logs[0], "w") as fh:
            done = subprocess.run([*hsiwq, "deploy", "--pool", "test-pool", "--limit", "2"], env=env,
                                  cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, timeout=180)
        assert done.returncode == 0, logs[0].read_text()
        assert logs[0].read_text().count("site-") == 3
        try:
            for i in (1, 2):
                with open(logs[i], "w") as fh:
                    workers.append(subprocess.Popen(
                        [*hsiwq, "worker", "--pool", "test-pool", "--name", f"w{i}", "--limit", "1",
                         "--poll", "1", "--record", str(record)],
                        env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT))
            _wait(lambda: all(_rows(ws, s) == 3 for s in SITES), 240, "the first bundles", logs)
            for site, (_, second) in waves.items():
                for b in second:
                    tmp = ws.inbox(site) / f".incoming-{b.name}"  # appears atomically
                    shutil.copytree(b, tmp)
                    tmp.rename(ws.inbox(site) / b.name)
            _wait(lambda: all(_rows(ws, s) == 5 for s in SITES)
                  and {r["worker"] for r in _records(record)} == {"w1", "w2"},
                  150, "the second bundles, and runs on both workers", logs)
            _wait(lambda: not any(p.name[0] != "." for s in SITES for p in ws.inbox(s).iterdir()),
                  30, "empty inboxes", logs)
        finally:
            for p in workers:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            codes = []
            for p in workers:
                try:
                    codes.append(p.wait(timeout=60))
                except subprocess.TimeoutExpired:
                    p.kill()
                    codes.append(p.wait())
        runs = _flow_runs(url)
    assert codes == [0, 0], "\n".join(p.read_text()[-2000:] for p in logs[1:3])

    recs = _records(record)
    by_worker = {w: [r for r in recs if r["worker"] == w] for w in ("w1", "w2")}
    assert all(by_worker.values()), f"both workers must have executed runs: {recs}"
    assert len({r["pid"] for r in recs}) == 2  # two processes
    assert all(r["ok"] and r["state"] == "Completed" for r in recs), recs
    assert all(r["heartbeat"] is None for r in recs)  # the in-process runs' settings
    # every bundle processed exactly once, whichever worker ran its site
    assert sum(r["results"] for r in recs) == n_good
    for site in SITES:
        ds = SiteStore(ws.store_path(site)).read(with_rrs=False)
        assert ds.sizes["time"] == 5
        assert list(ds["time"].values) == sorted(ds["time"].values)
        assert len(list(ws.archive(site).iterdir())) == 5
    assert [p.name for p in ws.quarantine("lake-b").iterdir()] == ["broken"]
    assert not any(ws.quarantine(s).exists() for s in ("lake-a", "lake-c"))
    # never two runs of one site at once (deployment concurrency 1), even on two workers
    for site in SITES:
        spans = sorted((r["started"], r["ended"]) for r in recs if r["parameters"]["site_id"] == site)
        assert all(a_end <= b_start + 0.05 for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans
    # the server agrees: each recorded run completed there, none crashed or failed
    by_id = {r["id"]: r for r in runs}
    assert all(by_id[r["flow_run_id"]]["state_type"] == "COMPLETED" for r in recs)
    assert not [r for r in runs if r["state_type"] in ("CRASHED", "FAILED")]


def _api(url: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(f"{url}/{path}", data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_worker_takes_a_created_run_on_wake_not_at_its_next_poll(tmp_path):
    """A worker polling every 120 s leaves a new run scheduled; a line in its wake file (as
    hsiwq serve's dispatcher writes one per run it creates) makes it take the run at once."""
    home = tmp_path / "home"
    ws, _ = workspace_with(home, '[sites.lake-a]\nlat = 31.4\nlon = 120.18\nregion = "taihu"\n'
                                 'schedule = "0 0 1 1 *"\n')
    record, wake = tmp_path / "runs.jsonl", tmp_path / "dispatch.jsonl"
    wake.write_text("")
    logs = [tmp_path / "deploy.log", tmp_path / "worker.log"]
    with local_server(home / "prefect", lean=True) as url:
        env = dict(cli_env(home), PREFECT_API_URL=url)
        hsiwq = [sys.executable, "-m", "hsiwq"]
        with open(logs[0], "w") as fh:
            done = subprocess.run([*hsiwq, "deploy", "--pool", "wake-pool"], env=env, cwd=ROOT,
                                  stdout=fh, stderr=subprocess.STDOUT, timeout=180)
        assert done.returncode == 0, logs[0].read_text()
        deployment = logs[0].read_text().split("site-lake-a\t", 1)[1].split("\t")[1].split()[0]
        with open(logs[1], "w") as fh:
            worker = subprocess.Popen([*hsiwq, "worker", "--pool", "wake-pool", "--name", "w1",
                                       "--poll", "120", "--record", str(record), "--wake", str(wake)],
                                      env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        try:
            _wait(lambda: "hsiwq worker ready" in logs[1].read_text(), 180, "the worker", logs)
            time.sleep(2)  # its first poll is done: the next one is 2 minutes away
            run = _api(url, f"deployments/{deployment}/create_flow_run", {})
            time.sleep(10)
            assert _api(url, f"flow_runs/{run['id']}")["state_type"] == "SCHEDULED"
            assert not _records(record)
            with open(wake, "a") as fh:  # what the dispatcher appends after creating a run
                fh.write(json.dumps({"time": time.time(), "site": "lake-a",
                                     "flow_run_id": run["id"], "started": "arrival"}) + "\n")
            woke = time.time()
            _wait(lambda: _records(record), 60, "the run on wake", logs)
            rec = _records(record)[0]
            assert rec["flow_run_id"] == run["id"] and rec["state"] == "Completed"
            assert rec["taken"] - woke < 5.0, rec
            assert _api(url, f"flow_runs/{run['id']}")["state_type"] == "COMPLETED"
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                assert worker.wait(timeout=60) == 0, logs[1].read_text()[-2000:]
            except subprocess.TimeoutExpired:
                worker.kill()
                raise
