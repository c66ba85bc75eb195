"""Extent alerts from the maps: a bloom patch that grows, stays and shrinks, through the whole
chain, gives exactly one firing, one repeat and one all-clear on a real local webhook; the
message says where the patch is (bearing and distance from the pole, or image quadrant)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hsiwq.alerts.conditions import extent_observation
from hsiwq.alerts.engine import AlertState
from hsiwq.alerts.messages import headline
from hsiwq.alerts.rules import ExtentRule
from hsiwq.alerts.service import after_write
from hsiwq.config import load_config
from hsiwq.maps.geometry import CameraGeometry, footprints
from hsiwq.pipeline import process_bundle
from hsiwq.simulate import simulate_scene, write_bundle
from hsiwq.simulate.sensor_model import sensor_model
from hsiwq.store import Record, SiteStore
from hsiwq.workspace import Workspace

from .test_alerts_delivery import SECRET, Receiver
from .test_maps_science import NO_MAINTENANCE, own_workspace, patch_mask

SHAPE = (64, 64)
T0 = datetime(2026, 7, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
CAMERA = CameraGeometry(height_m=10.0, tilt_deg=40.0, azimuth_deg=135.0)
LEVEL = 2.0
# patch radius [fraction of the image] per 10-minute acquisition: grows, stays, shrinks
RADII = [0.0, 0.1, 0.25, 0.27, 0.27, 0.27, 0.27, 0.08]
CONFIG = """
[alerting]
repeat_minutes = 30

[sites.sim-site]
lat = 31.40
lon = 120.18
timezone = "Asia/Shanghai"

[sites.sim-site.maps]
block = 8
thresholds = {{ chl_a = [45.0] }}

[sites.sim-site.maps.camera]
height_m = 10.0
tilt_deg = 40.0
azimuth_deg = 135.0
{rules}
"""
RULE = """
[[sites.sim-site.rules]]
kind = "extent"
id = "bloom-extent"
param = "chl_a"
threshold = 45.0
area_above_m2 = {limit}
clear = {clear}
for_count = 2
severity = "critical"

[[subscribers]]
name = "authority"
channel = "webhook"
target = "{url}"
secret_env = "HSIWQ_WEBHOOK_SECRET"
"""


def patch_area(radius: float) -> float:
    fp = footprints(CAMERA, SHAPE, LEVEL)
    return float(fp.area[patch_mask(SHAPE, radius=radius)].sum()) if radius > 0 else 0.0


def bundle(tmp, i, radius, ws):
    sm = sensor_model("SIM-60", n_bands=60)
    sc = simulate_scene(water_type="eutrophic_lake", shape=SHAPE, wavelength_nm=sm.water.wavelength_nm,
                        seed=10 + i, chl=15.0, site="sim-site", time=T0 + timedelta(minutes=10 * i),
                        shore_side=None)
    if radius > 0:
        m = patch_mask(SHAPE, radius=radius)
        for p in ("chl_a", "phycocyanin"):
            sc.params[p] = np.where(m, sc.params[p] * 6.0, sc.params[p])
    return write_bundle(sc, tmp / "in", sensor=sm, water_level_m=LEVEL, calibration_dir=ws.calibration_dir)


def stored_record(store: SiteStore, t: datetime) -> Record:
    ds = store.read(start=t, end=t, with_rrs=False)
    values = {k: float(ds[k].values[0]) for k in ds.data_vars if ds[k].dtype.kind == "f"}
    labels = {k: str(ds[k].values[0]) for k in ds.data_vars if ds[k].dtype.kind in "OU"}
    return Record(t, values, labels)


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("HSIWQ_WEBHOOK_SECRET", SECRET)
    r = Receiver(secret=SECRET)
    yield r
    r.close()


def test_patch_grows_stays_shrinks(tmp_path, receiver):
    limit = patch_area(0.2)
    home = tmp_path / "home"
    home.mkdir()
    # the chain runs without the rule; the rule is evaluated on what was stored, on the
    # acquisitions' clock (30 s after each), with its own alert state
    (home / "sites.toml").write_text(CONFIG.format(rules=""))
    with_rule = tmp_path / "alerting.toml"
    with_rule.write_text(CONFIG.format(rules=RULE.format(limit=round(limit, 3), clear=round(0.8 * limit, 3),
                                                         url=receiver.url)))
    ws, alert_ws = own_workspace(home), Workspace(tmp_path / "alerting")
    chain_cfg, _ = load_config(ws.config_file)
    alert_cfg, _ = load_config(with_rule)
    store = SiteStore(ws.store_path("sim-site"))
    areas = []
    for i, r in enumerate(RADII):
        res = process_bundle(bundle(tmp_path, i, r, ws), chain_cfg.sites["sim-site"], chain_cfg, ws,
                             store_policy=NO_MAINTENANCE)
        assert res.verdict == "accepted"
        rec = stored_record(store, res.time)
        areas.append(rec.values["chl_a_above1_area"])
        after_write(alert_cfg.sites["sim-site"], alert_cfg, alert_ws, rec, now=res.time + timedelta(seconds=30))
    print("bloom areas [m²]:", [round(a, 2) for a in areas], "limit", round(limit, 2))
    got = [(p["body"]["alerts"][0]["change"], p["body"]["alerts"][0]["time"][11:16]) for p in receiver.posts]
    print("webhook:", got)
    assert got == [("firing", "02:30"), ("repeat", "03:00"), ("resolved", "03:10")]
    firing = receiver.posts[0]["body"]
    text = firing["alerts"][0]["message"]
    print(text)
    assert "m² of the water has chlorophyll-a above 45 µg/L (limit " in text
    assert " m SE of the pole (bearing 1" in text
    d = firing["alerts"][0]["detail"]
    assert 100 <= d["bearing_deg"] <= 170 and 5 < d["distance_m"] < 30


def test_extent_without_geometry_says_image_quadrant():
    rule = ExtentRule(kind="extent", param="chl_a", threshold=50.0, fraction_above=0.2)
    t = datetime(2026, 7, 1, 3, tzinfo=timezone.utc)
    values = {"chl_a_above1_threshold": 50.0, "chl_a_above1_fraction": 0.31, "chl_a_above1_area": float("nan"),
              "chl_a_above1_col": 0.8, "chl_a_above1_row": 0.2}
    obs = extent_observation(rule, AlertState(), Record(t, values, {"verdict": "accepted"}))
    assert obs.level == 1 and obs.detail["quadrant"] == "upper-right"
    # rejected acquisitions and a threshold the maps did not keep give no information
    assert extent_observation(rule, AlertState(), Record(t, values, {"verdict": "rejected"})).level is None
    other = ExtentRule(kind="extent", param="chl_a", threshold=80.0, fraction_above=0.2)
    assert extent_observation(other, AlertState(), Record(t, values, {"verdict": "accepted"})).level is None
    with pytest.raises(ValueError, match="exactly one"):
        ExtentRule(kind="extent", param="chl_a", threshold=50.0)
    with pytest.raises(ValueError, match="not mapped"):
        ExtentRule(kind="extent", param="tp", threshold=0.1, fraction_above=0.1)
