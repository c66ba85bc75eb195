"""The Prefect flow (embedded mode) over site inboxes, and the README's demo command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import cli_env, sample_bundles


def run(args, home, timeout=300):
    return subprocess.run([sys.executable, "-m", "hsiwq", *args], capture_output=True, text=True,
                          env=cli_env(home), timeout=timeout)


def test_demo_processes_both_sites_and_fires_the_bloom_alert(tmp_path):
    home = tmp_path / "demo-home"  # does not exist yet: an empty HSIWQ_HOME must work
    proc = run(["demo"], home)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    ws = Workspace(home)
    for site in ("taihu-north", "yangtze-nanjing"):
        ds = SiteStore(ws.store_path(site)).read()
        assert ds.sizes["time"] == len(sample_bundles(site))
        assert len(list(ws.archive(site).iterdir())) == len(sample_bundles(site))
        assert not any(ws.inbox(site).iterdir())
    assert "chl-bloom" in proc.stdout and "firing" in proc.stdout
    assert "chlorophyll-a" in proc.stdout and "above 50" in proc.stdout
    assert (home / "prefect").is_dir()  # Prefect's home stayed inside the workspace


def test_flow_quarantines_bad_bundles_and_keeps_going(tmp_path):
    home = tmp_path / "home"
    ws = Workspace(home)
    inbox = ws.inbox("taihu-north")
    inbox.mkdir(parents=True)
    good = sample_bundles("taihu-north")
    for b in good[:2]:
        shutil.copytree(b, inbox / b.name)
    broken = inbox / "broken"
    shutil.copytree(good[2], broken)
    (broken / "water.raw").write_bytes(b"\0" * 10)
    nojson = inbox / "nojson"
    nojson.mkdir()
    (nojson / "acquisition.json").write_text("{")
    proc = run(["run-site", "--site", "taihu-north"], home)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in ws.archive("taihu-north").iterdir()) == [b.name for b in good[:2]]
    quarantined = {p.name: (p / "QUARANTINE_REASON.txt").read_text() for p in ws.quarantine("taihu-north").iterdir()}
    assert set(quarantined) == {"broken", "nojson"}
    assert "water.raw" in quarantined["broken"] and "invalid JSON" in quarantined["nojson"]
    assert SiteStore(ws.store_path("taihu-north")).read().sizes["time"] == 2
    # running again with an empty inbox is harmless
    proc = run(["run-site", "--site", "taihu-north"], home)
    assert proc.returncode == 0
    assert SiteStore(ws.store_path("taihu-north")).read().sizes["time"] == 2
