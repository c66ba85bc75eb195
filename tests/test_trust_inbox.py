"""Inboxes that do not trust what arrives: links, uploads in progress, conflicts, wrong sensor
or place, unknown regions. Each case from a fresh workspace through the real CLI (issue 17)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from hsiwq.io.bundle import bundle_digest
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import sample_bundles
from .trust_cases import TAIHU, copy_bundle, hsiwq, one_line_error, snapshot, taihu, workspace


def _reasons(ws: Workspace, site: str) -> dict[str, str]:
    q = ws.quarantine(site)
    return {p.name: (p / "QUARANTINE_REASON.txt").read_text() for p in q.iterdir()} if q.is_dir() else {}


@pytest.mark.timeout(1200)  # two Prefect runs and three CLI calls: slow on a loaded machine
def test_run_site_quarantines_links_conflicts_wrong_sensor_and_place_and_waits_for_uploads(tmp_path):
    home = workspace(tmp_path, TAIHU)
    ws = Workspace(home)
    inbox = ws.inbox("taihu-north")
    inbox.mkdir(parents=True)
    samples = sample_bundles("taihu-north")
    first = copy_bundle(samples[1], inbox / "a-first")
    # same site and time, other content: one count changed in the water cube
    other = copy_bundle(samples[1], inbox / "b-other")
    raw = bytearray((other / "water.raw").read_bytes())
    raw[1000] ^= 0x01
    (other / "water.raw").write_bytes(bytes(raw))
    # a directory link to a bundle outside the workspace
    outside = tmp_path / "outside"
    copy_bundle(samples[2], outside / "bundle")
    os.symlink(outside / "bundle", inbox / "linked")
    # a bundle whose water cube is a link to a file outside
    linkfile = copy_bundle(samples[0], inbox / "c-linkfile")
    secret = outside / "secret.raw"
    (linkfile / "water.raw").rename(secret)
    os.symlink(secret, linkfile / "water.raw")
    # the monitor's sensor is not the site's; the bundle was made 11 km away
    copy_bundle(samples[0], inbox / "sensor", sensor="HSI-0002")
    copy_bundle(samples[3], inbox / "far", location={"lat": 31.50, "lon": 120.18})
    # an upload in progress (no acquisition.json yet), and one abandoned an hour ago
    arriving = inbox / "arriving"
    copy_bundle(samples[2], arriving)
    (arriving / "acquisition.json").unlink()
    stale = copy_bundle(samples[2], inbox / "stale")
    (stale / "acquisition.json").unlink()
    hour_ago = time.time() - 3600
    for p in [*stale.iterdir(), stale]:
        os.utime(p, (hour_ago, hour_ago))
    before_outside = snapshot(outside, outside / "nothing")

    proc = hsiwq(["run-site", "--site", "taihu-north"], home)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in ws.archive("taihu-north").iterdir()] == ["a-first"]
    assert sorted(p.name for p in inbox.iterdir()) == ["arriving"]  # left for the next run
    reasons = _reasons(ws, "taihu-north")
    assert sorted(reasons) == ["b-other", "c-linkfile", "far", "linked", "sensor", "stale"]
    assert f"c-linkfile/water.raw: is a symbolic link (to {secret})" in reasons["c-linkfile"]
    assert "symbolic link" in reasons["linked"] and str(outside / "bundle") in reasons["linked"]
    assert "conflicts with the acquisition stored for 2026-07-21T02:15:00Z" in reasons["b-other"]
    assert bundle_digest(first.parent.parent.parent / "archive" / "taihu-north" / "a-first")[:16] \
        in reasons["b-other"]
    assert "sensor 'HSI-0002' differs from site 'taihu-north''s sensor 'HSI-0001'" in reasons["sensor"]
    assert "11.12 km from site 'taihu-north'" in reasons["far"]  # 0.1° of latitude
    assert "max_distance_km = 1" in reasons["far"]
    assert "missing acquisition.json" in reasons["stale"]
    print("\nFIGURE quarantine reasons:\n" + "".join(f"  {k}: {v}" for k, v in sorted(reasons.items())))
    # the link was moved as a link, nothing was written through it
    assert snapshot(outside, outside / "nothing") == before_outside
    assert (ws.quarantine("taihu-north") / "linked" / "LINK").is_symlink()
    assert not (outside / "bundle" / "QUARANTINE_REASON.txt").exists()
    store = SiteStore(ws.store_path("taihu-north"))
    ds = store.read()
    assert ds.sizes["time"] == 1
    digest_a = str(ds["bundle_digest"].values[0])
    chl_a = float(ds["chl_a"].values[0])

    # the upload completes: the next run takes it
    shutil.copy(samples[2] / "acquisition.json", arriving / "acquisition.json")
    proc = hsiwq(["run-site", "--site", "taihu-north"], home)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in ws.archive("taihu-north").iterdir()) == ["a-first", "arriving"]

    # the same content again is harmless; other content is refused unless --replace
    proc = hsiwq(["process", str(samples[1]), "--site", "taihu-north"], home)
    assert proc.returncode == 0, proc.stderr
    conflict = ws.quarantine("taihu-north") / "b-other"
    err = one_line_error(hsiwq(["process", str(conflict), "--site", "taihu-north"], home))
    assert "conflicts with the acquisition stored" in err and digest_a in err
    print(f"FIGURE process conflict: exit 2: {err}")
    ds = store.read()
    assert ds.sizes["time"] == 2 and str(ds["bundle_digest"].values[0]) == digest_a
    assert float(ds["chl_a"].values[0]) == chl_a
    proc = hsiwq(["process", str(conflict), "--site", "taihu-north", "--replace"], home)
    assert proc.returncode == 0, proc.stderr
    ds = store.read()
    assert ds.sizes["time"] == 2
    assert str(ds["bundle_digest"].values[0]) == bundle_digest(conflict)[:16] != digest_a


def test_unknown_region_refused_at_load_known_ones_accepted(tmp_path):
    home = workspace(tmp_path, TAIHU.replace('region = "taihu"', 'region = "tahu"'))
    err = one_line_error(hsiwq(["process", str(taihu()), "--site", "taihu-north"], home))
    assert "sites.taihu-north.region: unknown region 'tahu'" in err
    assert "known regions: global, taihu, yangtze" in err
    print(f"\nFIGURE tahu: {err}")
    assert not (home / "store").exists()
    # "global" is always known; a region is known by its file or by the model registry
    (home / "sites.toml").write_text(TAIHU.replace('region = "taihu"', 'region = "global"'))
    assert hsiwq(["status"], home).returncode == 0
    (home / "sites.toml").write_text(TAIHU.replace('region = "taihu"', 'region = "erhai"'))
    (home / "registry" / "erhai").mkdir(parents=True)
    assert hsiwq(["status"], home).returncode == 0
