"""The report and the dashboard show the maps: latest maps with colour bars, ROI outline and
the extent threshold's contour, the maps at a chosen time, a strip of the day's chl-a maps,
and the dashboard's latest chl-a map per site; a real headless Chromium renders both (the
screenshots are kept in the test's folder, and copied to ``$HSIWQ_SCREENSHOTS`` when set)."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from hsiwq.cli import main
from hsiwq.config import load_config
from hsiwq.pipeline import process_bundle
from hsiwq.simulate import simulate_scene, write_bundle
from hsiwq.simulate.sensor_model import sensor_model

from .test_dashboard import Server, _chromium, _chromium_or_skip
from .test_maps_science import NO_MAINTENANCE, own_workspace, patch_mask
from .test_report import assert_self_contained

SHAPE = (96, 96)
T0 = datetime(2026, 7, 1, 1, 0, tzinfo=timezone.utc)
CONFIG = """
[sites.sim-site]
name = "Simulated bay"
lat = 31.40
lon = 120.18
timezone = "Asia/Shanghai"
roi = [[[8, 30], [88, 30], [88, 90], [8, 90]]]

[sites.sim-site.maps]
block = 8

[sites.sim-site.maps.camera]
height_m = 10.0
tilt_deg = 40.0
azimuth_deg = 135.0

[[sites.sim-site.rules]]
kind = "extent"
id = "bloom-extent"
param = "chl_a"
threshold = 45.0
fraction_above = 0.2
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("maps-report")
    home = tmp / "home"
    home.mkdir()
    (home / "sites.toml").write_text(CONFIG)
    ws = own_workspace(home)
    config, _ = load_config(ws.config_file)
    sm = sensor_model("SIM-60", n_bands=60)
    for i, r in enumerate([0.1, 0.18, 0.26, 0.3, 0.22]):
        sc = simulate_scene(water_type="eutrophic_lake", shape=SHAPE, wavelength_nm=sm.water.wavelength_nm,
                            seed=20 + i, chl=18.0, site="sim-site", time=T0 + timedelta(hours=1.5 * i))
        m = patch_mask(SHAPE, centre=(0.45, 0.55), radius=r) & sc.water_mask
        for p in ("chl_a", "phycocyanin"):
            sc.params[p] = np.where(m, sc.params[p] * 6.0, sc.params[p])
        b = write_bundle(sc, tmp / "in", sensor=sm, water_level_m=2.0 + 0.1 * i,
                         calibration_dir=ws.calibration_dir)
        assert process_bundle(b, config.sites["sim-site"], config, ws, deliver=False,
                              store_policy=NO_MAINTENANCE).verdict == "accepted"
    return home


def assert_drawn(shot: Path) -> None:
    """A PNG with a map on it: many distinct colours, not a blank page."""
    from matplotlib.image import imread

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(shot)[..., :3]
    colours = np.unique((img.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 500, f"{shot} looks blank ({len(colours)} colours)"


def keep(shot: Path, name: str) -> None:
    where = os.environ.get("HSIWQ_SCREENSHOTS")
    print(f"screenshot: {shot}")
    if where:
        shutil.copy(shot, Path(where) / name)


def test_report_shows_latest_chosen_and_day_strip(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HSIWQ_HOME", str(home))
    out = tmp_path / "report.html"
    try:
        main(["report", "--site", "sim-site", "--map-time", "2026-07-01T02:30Z", "--out", str(out)])
    except SystemExit as exc:
        raise AssertionError(capsys.readouterr().err) from exc
    html = out.read_text()
    assert_self_contained(html)
    assert 'alt="parameter maps at sim-site"' in html
    assert 'alt="chosen maps at sim-site"' in html and "maps nearest the chosen time at 2026-07-01 02:30 UTC" in html
    assert 'alt="chl-a maps of the day at sim-site"' in html
    assert "not stored for this site" not in html
    assert "camera 7.6 m above the water" in html  # 10 m above the datum, the latest level 2.4 m
    _chromium_or_skip()
    # headless Chromium draws nothing when told to scroll to #maps: show the report's own
    # style and maps section on their own page instead
    style = re.search(r"<style>.*?</style>", html, re.S).group(0)
    section = re.search(r'<section id="maps">.*?</section>', html, re.S).group(0).replace(' loading="lazy"', "")
    page = tmp_path / "maps_section.html"
    page.write_text(f'<!doctype html><html><head><meta charset="utf-8">{style}</head><body><main>'
                    f"{section}</main></body></html>")
    shot = tmp_path / "maps_report.png"
    res = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert_drawn(shot)
    keep(shot, "maps_report.png")


def test_dashboard_shows_the_latest_chl_map(home, tmp_path):
    _chromium_or_skip()
    with Server(home) as srv:
        dom = _chromium(tmp_path, "--dump-dom", srv.url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert 'alt="latest chl-a map of sim-site"' in dom.stdout
        shot = tmp_path / "maps_dashboard.png"
        res = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1300", srv.url + "#sites")
        assert res.returncode == 0, res.stderr[-2000:]
    assert_drawn(shot)
    keep(shot, "maps_dashboard.png")
