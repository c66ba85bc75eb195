"""End to end: `hsiwq serve` with three sites, a local Prefect server, and messy inboxes."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hsiwq.simulate import simulate_bundle
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import cli_env, sample_bundles, workspace_with

CONFIG = """
[sites.taihu-north]
lat = 31.40
lon = 120.18
region = "taihu"
schedule = "every 4 s"
[[sites.taihu-north.rules]]
id = "chl-bloom"
param = "chl_a"
above = 50.0
clear = 40.0

[sites.yangtze-nanjing]
lat = 32.06
lon = 118.74
region = "yangtze"
waterbody = "river"
schedule = "every 4 s"

[sites.dianchi]
lat = 24.95
lon = 102.70
region = "taihu"
schedule = "every 4 s"

[[subscribers]]
name = "ops"
channel = "file"
target = "notifications/ops.jsonl"
"""


def _wait(cond, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(ws: Workspace, site: str) -> int:
    try:
        return SiteStore(ws.store_path(site)).read(with_rrs=False).sizes["time"]
    except Exception:
        return 0


@pytest.mark.timeout(400)
def test_serve_three_sites(tmp_path):
    home = tmp_path / "home"
    ws, cal = workspace_with(home, CONFIG)
    dianchi = [simulate_bundle(tmp_path / "sim", water_type="eutrophic_lake", site="dianchi",
                               time=f"2026-08-01T0{h}:00:00Z", sensor="HSI-0003", lat=24.95,
                               lon=102.70, shape=(32, 32), n_bands=120, seed=h, calibration_dir=cal,
                               store_truth_rrs=False)
               for h in (2, 3, 4)]
    taihu = sample_bundles("taihu-north")
    yangtze = sample_bundles("yangtze-nanjing")
    # out of order: the newest Taihu bundles arrive first
    for b in taihu[2:]:
        shutil.copytree(b, ws.inbox("taihu-north") / b.name, ignore=shutil.ignore_patterns("truth.npz"))
    for b in yangtze[:2]:
        shutil.copytree(b, ws.inbox("yangtze-nanjing") / b.name)
    broken = ws.inbox("yangtze-nanjing") / "broken"
    shutil.copytree(yangtze[2], broken)
    (broken / "irradiance.raw").unlink()
    for b in dianchi:
        shutil.copytree(b, ws.inbox("dianchi") / b.name)
    log = tmp_path / "serve.log"  # a file, not a pipe: a full pipe would block the server
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "hsiwq", "serve", "--limit", "2"],
                                env=cli_env(home), stdout=fh, stderr=subprocess.STDOUT, text=True)
    try:
        _wait(lambda: _rows(ws, "taihu-north") == 2 and _rows(ws, "dianchi") == 3
              and _rows(ws, "yangtze-nanjing") == 2, 240, "first runs")
        # then the older Taihu bundles, and a re-delivered duplicate
        for b in taihu[:2]:
            shutil.copytree(b, ws.inbox("taihu-north") / b.name)
        shutil.copytree(taihu[3], ws.inbox("taihu-north") / (taihu[3].name + "-again"))
        _wait(lambda: not any(ws.inbox("taihu-north").iterdir()) and _rows(ws, "taihu-north") == 4,
              120, "late Taihu bundles")
    except AssertionError:
        raise AssertionError(f"{log.read_text()[-3000:]}") from None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode in (0, -signal.SIGTERM, 130), log.read_text()[-3000:]
    ds = SiteStore(ws.store_path("taihu-north")).read()
    assert list(ds["time"].values) == sorted(ds["time"].values)  # time order despite arrival order
    assert ds.sizes["time"] == 4  # the duplicate replaced, not added
    assert len(list(ws.archive("taihu-north").iterdir())) == 5
    assert [p.name for p in ws.quarantine("yangtze-nanjing").iterdir()] == ["broken"]
    reason = (ws.quarantine("yangtze-nanjing") / "broken" / "QUARANTINE_REASON.txt").read_text()
    assert "irradiance" in reason
    notes = [json.loads(l) for l in (home / "notifications" / "ops.jsonl").read_text().splitlines()]
    assert [(n["site"], n["status"]) for n in notes] == [("taihu-north", "firing")]
    # the server it started stopped with it: its port no longer answers, no process is left
    port = re.search(r"http://127\.0\.0\.1:(\d+)/api", log.read_text()).group(1)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert f"--port {port}" not in procs
