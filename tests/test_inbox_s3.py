"""Inbox, archive, quarantine and store on object storage (a moto S3 server on 127.0.0.1).

``process-site`` runs in Prefect's embedded mode in a child process, against two sites:
one whose inbox, archive and store are on S3 with a local quarantine, and one with a local
inbox and store and an archive on S3 — good, duplicate, broken and out-of-order bundles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hsiwq.config import load_config
from hsiwq.inbox import REASON_FILE, Location, list_pending, move_bundle
from hsiwq.io.bundle import bundle_time
from hsiwq.status import site_status
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import S3_CREDS, cli_env, put_bundle, s3_sites_toml, sample_bundles


FLOW = textwrap.dedent('''
    import json, sys
    from hsiwq.workspace import Workspace
    from flows.env import configure_prefect
    ws = Workspace.resolve(sys.argv[1])
    configure_prefect(ws)
    from flows.site import process_site
    out = {}
    for site in sys.argv[2:]:
        out[site] = [{"time": r.time.isoformat(), "verdict": r.verdict, "chl_a": r.values.get("chl_a")}
                     for r in process_site(site, str(ws.root))]
    print("RESULT " + json.dumps(out))
''')


def _run(home: Path, *sites: str) -> dict:
    env = cli_env(home)
    env.update(S3_CREDS)
    p = subprocess.run([sys.executable, "-c", FLOW, str(home), *sites], capture_output=True,
                       text=True, env=env, timeout=400, cwd=Path(__file__).resolve().parent.parent)
    assert p.returncode == 0, p.stderr[-4000:]
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _names(fs, prefix: str) -> set[str]:
    return {p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(prefix, refresh=True)} \
        if fs.exists(prefix) else set()


def test_process_site_with_inbox_archive_quarantine_and_store_on_s3(moto_s3, home, monkeypatch):
    endpoint, fs = moto_s3.endpoint, moto_s3.fs
    for k, v in S3_CREDS.items():
        monkeypatch.setenv(k, v)
    home.mkdir(parents=True)
    (home / "sites.toml").write_text(s3_sites_toml(endpoint))
    config, _ = load_config(home / "sites.toml")
    ws = Workspace(home)
    taihu = sample_bundles("taihu-north")
    inbox = "hsiwq/inbox/taihu-north"
    # out of order: names sort opposite to acquisition times
    put_bundle(fs, taihu[0], f"{inbox}/z-early")
    put_bundle(fs, taihu[2], f"{inbox}/a-late")
    put_bundle(fs, taihu[0], f"{inbox}/m-early-again")          # the same acquisition delivered twice
    put_bundle(fs, taihu[1], f"{inbox}/broken")
    fs.pipe_file(f"{inbox}/broken/water.raw", b"\0" * 10)  # truncated cube
    fs.pipe_file(f"{inbox}/nojson/acquisition.json", b"{")
    fs.pipe_file(f"{inbox}/nojson/water.hdr", b"ENVI")
    fs.pipe_file(f"{inbox}/uploading/water.hdr", b"ENVI")  # still arriving: left alone
    # a crash during an earlier archive copy left an incomplete copy of 'a-late'
    fs.pipe_file("hsiwq/archive/taihu-north/a-late/water.hdr", b"partial")
    # second site: local inbox, archive on S3
    yangtze = sample_bundles("yangtze-nanjing")
    for b in yangtze[:2]:
        shutil.copytree(b, ws.inbox("yangtze-nanjing") / b.name,
                        ignore=shutil.ignore_patterns("truth.npz"))

    where = Location.of("s3://hsiwq/inbox/taihu-north", config.storage.fsspec_options())
    ready, bad = list_pending(where)
    assert [p.name for p in ready] == ["m-early-again", "z-early", "broken", "a-late"]  # by time, then name
    assert {p.name for p, _ in bad} == {"nojson"}
    before = {s.site: s for s in site_status(config, ws)}
    assert before["taihu-north"].backlog == 5 and before["taihu-north"].quarantined == 0
    assert before["yangtze-nanjing"].backlog == 2

    out = _run(home, "taihu-north", "yangtze-nanjing")

    t0, t2 = bundle_time(taihu[0]), bundle_time(taihu[2])
    assert [r["time"] for r in out["taihu-north"]] == [t0.isoformat(), t0.isoformat(), t2.isoformat()]
    # store on S3: one row per acquisition time (the duplicate replaced, not added)
    store = SiteStore("s3://hsiwq/store/taihu-north.zarr", config.storage.fsspec_options())
    ds = store.read()
    assert ds.sizes["time"] == 2
    assert [str(t)[:19] for t in ds["time"].values] == [t0.strftime("%Y-%m-%dT%H:%M:%S"),
                                                        t2.strftime("%Y-%m-%dT%H:%M:%S")]
    assert set(ds["verdict"].values) <= {"accepted", "rejected"}
    assert not (ws.store_path("taihu-north")).exists()  # nothing went to the local default
    # inbox emptied, archive complete (the crashed copy completed in place, no duplicate name)
    assert _names(fs, inbox) == {"uploading"}
    assert _names(fs, "hsiwq/archive/taihu-north") == {"z-early", "m-early-again", "a-late"}
    archived = _names(fs, "hsiwq/archive/taihu-north/a-late")
    assert archived == {p.name for p in taihu[2].iterdir() if p.name != "truth.npz"}
    assert fs.cat_file("hsiwq/archive/taihu-north/a-late/water.hdr") == (taihu[2] / "water.hdr").read_bytes()
    # quarantine is a local folder inside the workspace, with the reasons
    q = home / "quarantine-local" / "taihu-north"
    reasons = {p.name: (p / REASON_FILE).read_text() for p in q.iterdir()}
    assert set(reasons) == {"broken", "nojson"}
    assert "water.raw" in reasons["broken"] and "invalid JSON" in reasons["nojson"]
    assert (q / "broken" / "acquisition.json").is_file()  # the files came along
    # second site: local store, archive on S3, local inbox emptied
    assert SiteStore(ws.store_path("yangtze-nanjing")).read().sizes["time"] == 2
    assert _names(fs, "hsiwq/archive/yangtze-nanjing") == {b.name for b in yangtze[:2]}
    assert not any(ws.inbox("yangtze-nanjing").iterdir())
    after = {s.site: s for s in site_status(config, ws)}
    assert after["taihu-north"].backlog == 0 and after["taihu-north"].quarantined == 2
    assert after["taihu-north"].records == 2
    assert after["yangtze-nanjing"].backlog == 0 and after["yangtze-nanjing"].records == 2

    # a re-delivery after the run and a re-run: harmless
    put_bundle(fs, taihu[2], f"{inbox}/a-late")
    again = _run(home, "taihu-north")
    assert [r["time"] for r in again["taihu-north"]] == [t2.isoformat()]
    assert store.read().sizes["time"] == 2
    names = _names(fs, "hsiwq/archive/taihu-north")
    assert len(names) == 4 and any(n.startswith("a-late.") for n in names)  # kept both copies


def test_moves_between_local_and_s3_copy_then_delete(moto_s3, tmp_path):
    fs, opts = moto_s3.fs, moto_s3.options
    src = tmp_path / "inbox" / "b1"
    shutil.copytree(sample_bundles("taihu-north")[0], src)
    remote = Location.of("s3://hsiwq/t2/archive", opts)
    moved = move_bundle(Location.of(src), remote)
    assert moved.url == "s3://hsiwq/t2/archive/b1" and not src.exists()
    back = move_bundle(moved, Location.of(tmp_path / "quarantine"), extra={REASON_FILE: b"why\n"})
    assert Path(back.url) == tmp_path / "quarantine" / "b1"
    assert (tmp_path / "quarantine" / "b1" / REASON_FILE).read_text() == "why\n"
    assert not fs.exists("hsiwq/t2/archive/b1")
    assert sorted(p.name for p in (tmp_path / "quarantine" / "b1").iterdir()) == sorted(
        [p.name for p in sample_bundles("taihu-north")[0].iterdir()] + [REASON_FILE])
