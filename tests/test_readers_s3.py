"""The readers of a site's store and archive follow its configured locations on object storage
(a moto S3 server on 127.0.0.1): ``hsiwq process``'s chain, the dashboard, the report's RGB
composite from the archive, ``hsiwq matchup``, reprocessing and the model flows' tasks.

taihu-north keeps its store and archive on S3; yangtze-nanjing its store in the workspace.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hsiwq.config import load_config
from hsiwq.dashboard import Dashboard
from hsiwq.inbox import open_site_store
from hsiwq.io.bundle import bundle_time
from hsiwq.pipeline import process_bundle
from hsiwq.store import Record
from hsiwq.workspace import Workspace

from .conftest import S3_CREDS, put_bundle, s3_sites_toml, sample_bundles

ROOT = "hsiwq/readers"  # this module's prefix in the shared bucket
LOOPBACK = {"host": "127.0.0.1:8765"}
UTC = timezone.utc


@pytest.fixture(scope="module")
def site(moto_s3, tmp_path_factory):
    """(workspace, configuration, taihu-north's S3 store) after two bundles were processed and
    archived on S3, plus a third acquisition stored with maps and archived under another name."""
    home = tmp_path_factory.mktemp("readers") / "home"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in S3_CREDS.items():
            mp.setenv(k, v)
        mp.setenv("HSIWQ_HOME", str(home))
        mp.delenv("HSIWQ_CALIBRATION", raising=False)
        home.mkdir(parents=True)
        (home / "sites.toml").write_text(s3_sites_toml(moto_s3.endpoint, f"s3://{ROOT}"))
        config, _ = load_config(home / "sites.toml")
        ws = Workspace(home)
        taihu = sample_bundles("taihu-north")
        for b in taihu[:2]:  # the chain writes to the configured store by default
            process_bundle(b, config.sites["taihu-north"], config, ws, deliver=False)
            put_bundle(moto_s3.fs, b, f"{ROOT}/archive/taihu-north/{b.name}")
        process_bundle(sample_bundles("yangtze-nanjing")[0], config.sites["yangtze-nanjing"],
                       config, ws, deliver=False)
        store = open_site_store("taihu-north", config, ws)
        wl = store.read()["wavelength"].values
        y, x = np.mgrid[0:32, 0:32]
        store.write(Record(time=bundle_time(taihu[2]), values={"chl_a": 30.0, "valid_fraction": 0.9},
                           labels={"verdict": "accepted"}, rrs=np.full(wl.size, 0.01), wavelength=wl,
                           maps={"chl_a": 10.0 + x, "tss": 20.0 + y}))
        put_bundle(moto_s3.fs, taihu[2], f"{ROOT}/archive/taihu-north/late-delivery")
        yield ws, config, store
    assert not ws.store_path("taihu-north").exists()  # nothing went to the local default
    assert not ws.archive("taihu-north").exists()


def test_process_writes_to_the_configured_store(site):
    ws, config, store = site
    assert store.read(with_rrs=False).sizes["time"] >= 3
    assert store.objects.url().startswith(f"s3://{ROOT}/store/taihu-north.zarr")
    assert open_site_store("yangtze-nanjing", config, ws).objects.local  # the other site: local


def test_dashboard_reads_the_configured_stores(site):
    ws, config, store = site
    app = Dashboard(ws)
    status = {s["id"]: s for s in app.status()["sites"]}
    assert status["taihu-north"]["has_data"] and status["yangtze-nanjing"]["has_data"]
    n = status["taihu-north"]["n_acquisitions"]
    assert n == store.read(with_rrs=False).sizes["time"]
    index = app.handle("GET", "/", LOOPBACK)
    assert index.status == 200 and 'href="/report/taihu-north.html"' in index.body.decode()
    report = app.handle("GET", "/report/taihu-north.html", LOOPBACK)
    assert report.status == 200 and b"maps at" in report.body
    assert app.handle("GET", "/compare.html", LOOPBACK).status == 200  # S3 and local stores
    # a write to the S3 store is seen: the cached entry and report are renewed
    wl = store.read()["wavelength"].values
    store.write(Record(time=datetime(2026, 7, 21, 9, tzinfo=UTC), values={"valid_fraction": 0.1},
                       labels={"verdict": "rejected"}, rrs=np.full(wl.size, 0.01), wavelength=wl))
    status = {s["id"]: s for s in app.status()["sites"]}
    assert status["taihu-north"]["n_acquisitions"] == n + 1
    assert status["taihu-north"]["latest_verdict"] == "rejected"
    again = app.handle("GET", "/report/taihu-north.html", LOOPBACK)
    assert again.status == 200 and again.body != report.body


def test_report_takes_the_rgb_composite_from_the_archive_on_s3(site):
    from hsiwq.report.data import load_source

    ws, config, _ = site
    src = load_source(ws, config, "taihu-north")
    assert src.maps is not None and src.maps.attrs["time"] == "2026-07-21T03:45:00"
    rgb = src.maps["rgb"].values  # found under another name than its time: by acquisition.json
    assert rgb.ndim == 3 and rgb.shape[-1] == 3 and np.isfinite(rgb).all() and rgb.max() > 0


def _lab(tmp_path):
    lab = pd.DataFrame({"time": ["2026-07-21T00:50:00Z", "2026-07-21T02:00:00Z", "2026-07-25T00:00:00Z"],
                        "sample_id": ["s1", "s2", "s3"], "chl_a": [16.5, 27.0, 5.0]})
    lab.to_csv(tmp_path / "lab.csv", index=False)
    return tmp_path / "lab.csv"


def test_matchup_command_reads_the_configured_store(site, tmp_path):
    from hsiwq.cli import cli

    ws, _, _ = site
    lab = _lab(tmp_path)
    r = CliRunner().invoke(cli, ["--home", str(ws.root), "matchup", "--site", "taihu-north",
                                 "--samples", str(lab), "--out", str(tmp_path / "mu.csv")])
    assert r.exit_code == 0, r.output
    assert "2 matchups from 3 samples" in r.output
    mu = pd.read_csv(tmp_path / "mu.csv")
    assert list(mu["acquisition_time"]) == ["2026-07-21T00:45:00Z", "2026-07-21T02:15:00Z"]


def test_reprocessing_and_the_flow_tasks_use_the_configured_store(site, tmp_path):
    from flows.recalibrate import build_matchup_table, reprocess_task
    from hsiwq.models.reprocess import reprocess_site

    ws, config, store = site
    n = store.read(with_rrs=False).sizes["time"]
    first = reprocess_site(ws, "taihu-north", "taihu", "defaults", config=config)
    assert first.rewritten + first.unchanged == n - first.without_spectrum and first.rewritten > 0
    ds = store.read(with_rrs=False)
    assert ds.sizes["time"] == n and "saa-lee1999" in str(ds["model_version"].values[0])
    # the flow's task, with the workspace's configuration: everything is up to date already
    again = reprocess_task.fn(str(ws.root), "taihu-north", "taihu", "defaults", None, None)
    assert again["rewritten"] == 0 and again["unchanged"] == first.rewritten + first.unchanged
    built = build_matchup_table.fn(str(ws.root), "taihu-north", str(_lab(tmp_path)), 30.0,
                                   str(tmp_path / "m.csv"), str(ws.config_file))
    assert built["matchups"] == 2 and built["unmatched"] == 1
