"""A simulated day with a bloom at Taihu: exactly the expected firing, repeat and resolved
notifications, none caused by rejected acquisitions or out-of-domain values; acknowledge,
silence, restarts; and a few real simulated bundles through the whole chain."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hsiwq.alerts import admin
from hsiwq.alerts.classes import sun_zenith_deg
from hsiwq.alerts.service import after_write, check_gaps
from hsiwq.config import load_config
from hsiwq.store import Record, SiteStore
from hsiwq.workspace import Workspace

from .conftest import ROOT
from .test_alerts_delivery import SECRET, Receiver

DAY = datetime(2026, 7, 20, 16, 0, tzinfo=timezone.utc)  # 2026-07-21 00:00 Beijing time
LOCAL = timezone(timedelta(hours=8))
CONFIG = """
[alerting]
repeat_minutes = 120
dashboard_url = "https://wq.example.cn/sites/{site}?param={param}"

[sites.taihu]
name = "Taihu, Meiliang Bay"
lat = 31.40
lon = 120.18
timezone = "Asia/Shanghai"
target_class = "III"

[[sites.taihu.rules]]
id = "chl-bloom"
param = "chl_a"
above = 50.0
clear = 40.0
for_count = 2
severity = "critical"

[[sites.taihu.rules]]
kind = "sensor"
fault = "rejects"
for_count = 4

[[sites.taihu.rules]]
kind = "gap"
minutes = 60

[[subscribers]]
name = "duty-officer"
channel = "file"
target = "notifications/duty-officer.jsonl"

[[subscribers]]
name = "authority"
channel = "webhook"
target = "{url}"
secret_env = "HSIWQ_WEBHOOK_SECRET"
"""

# chl-a over the local day [hour, µg/L]: a bloom from 10:00, peak 120 at 13:00, over by 16:00.
PROFILE = [(0, 15), (10, 15), (11, 45), (11.5, 70), (13, 120), (15, 60), (16, 38), (17, 20), (24, 15)]
REJECTED_WILD = {"08:00": 500.0, "08:10": 480.0, "12:30": 2.0, "14:00": 1.0, "14:10": 900.0, "14:20": 0.5}
OUT_OF_DOMAIN = {"09:00": 400.0, "09:10": 420.0, "15:50": 3.0}


def day_records() -> list[Record]:
    """144 records at 10-minute steps, as the pipeline would store them."""
    out = []
    for i in range(144):
        t = DAY + timedelta(minutes=10 * i)
        hhmm = t.astimezone(LOCAL).strftime("%H:%M")
        h = (t - DAY).total_seconds() / 3600
        chl = float(np.interp(h, *zip(*PROFILE)))
        zen = float(sun_zenith_deg(np.array([t.timestamp()]), 31.4, 120.18)[0])
        values = {"chl_a": chl, "chl_a_ood": 0.0, "valid_fraction": 0.8, "sun_zenith_deg": zen}
        verdict, reason = "accepted", ""
        if zen > 70:
            verdict, reason = "rejected", (f"night: sun zenith {zen:.1f}°" if zen >= 90 else
                                           f"sun too low: zenith {zen:.1f}° > 70°")
            values.update(chl_a=float("nan"), chl_a_ood=float("nan"))
        elif hhmm in REJECTED_WILD:
            verdict, reason = "rejected", "cloud: Li(750)/Ed(750) = 0.41 > 0.2 sr-1"
            values.update(chl_a=REJECTED_WILD[hhmm])  # wild values must be ignored
        elif hhmm in OUT_OF_DOMAIN:
            values.update(chl_a=OUT_OF_DOMAIN[hhmm], chl_a_ood=1.0)
        out.append(Record(t, values, {"verdict": verdict, "reason": reason, "model_version": "test"},
                          rrs=np.array([0.01, 0.02, 0.01]), wavelength=np.array([450.0, 550.0, 650.0])))
    return out


def utc(hhmm: str) -> str:
    h, m = map(int, hhmm.split(":"))
    return (DAY + timedelta(hours=h, minutes=m)).isoformat()


@pytest.fixture
def day(tmp_path, monkeypatch):
    monkeypatch.setenv("HSIWQ_WEBHOOK_SECRET", SECRET)
    receiver = Receiver(secret=SECRET)
    cfg = tmp_path / "sites.toml"
    cfg.write_text(CONFIG.replace("{url}", receiver.url))
    config, _ = load_config(cfg)
    yield config, Workspace(tmp_path / "home"), receiver, cfg
    receiver.close()


def play(config, ws, records, hook=None):
    """Store each record and alert 30 s later; the scheduler checks every 30 min."""
    site = config.sites["taihu"]
    store = SiteStore(ws.store_path("taihu"))
    for rec in records:
        now = rec.time + timedelta(seconds=30)
        if hook:
            hook(rec, now)
        store.write(rec)
        after_write(site, config, ws, rec, now=now)
        if rec.time.minute % 30 == 0:
            check_gaps(config, ws, now=now + timedelta(minutes=1))


def notifications(ws):
    path = ws.root / "notifications" / "duty-officer.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def summary(notes):
    return [(n["change"], n["rule"], n["time"]) for n in notes]


EXPECTED = [("firing", "chl-bloom", utc("11:20")), ("repeat", "chl-bloom", utc("13:20")),
            ("repeat", "chl-bloom", utc("15:20")), ("resolved", "chl-bloom", utc("16:00"))]


def test_a_day_with_a_bloom_gives_exactly_the_expected_notifications(day):
    config, ws, receiver, _ = day
    play(config, ws, day_records())
    notes = notifications(ws)
    assert summary(notes) == EXPECTED
    assert summary([p["body"] for p in receiver.posts]) == EXPECTED  # ids differ per subscriber
    assert receiver.bad_signatures == 0
    first = notes[0]
    assert first["severity"] == "critical" and first["value"] == pytest.approx(61.667, abs=1e-3)
    assert "chlorophyll-a 61.7 µg/L is above 50 µg/L" in first["message"]
    assert "Trend of chlorophyll-a, last 6 h" in first["text"] and "https://wq.example.cn/sites/taihu?param=chl_a" in first["text"]
    assert notes[-1]["message"] == "RESOLVED taihu: chlorophyll-a back to 38.0 µg/L (clear level 40 µg/L) (chl-bloom)"
    # rejected acquisitions and out-of-domain values left no trace in the water-quality alert
    events = admin.history(ws, rule="chl-bloom", limit=None)
    assert [e["event"] for e in events] == ["pending", "firing", "repeat", "repeat", "resolved"]
    # the cloud rejects made the sensor rule pending (2, 1 and 3 in a row) but never fire (4 needed)
    assert {e["event"] for e in admin.history(ws, rule="sensor-rejects", limit=None)} == {"pending", "cleared"}
    assert not any(e["rule"] == "gap-60min" for e in admin.history(ws, limit=None) if "rule" in e)


def test_acknowledged_alert_stops_repeating_but_still_resolves(day):
    config, ws, _, _ = day

    def ack_at_noon(rec, now):
        if rec.time.isoformat() == utc("12:00"):
            admin.ack(ws, "taihu", "chl-bloom", by="li.wei", comment="boat sent", now=now)

    play(config, ws, day_records(), ack_at_noon)
    assert summary(notifications(ws)) == [EXPECTED[0], EXPECTED[-1]]
    acked = [e for e in admin.history(ws, limit=None) if e["event"] == "acked"]
    assert acked[0]["by"] == "li.wei" and acked[0]["comment"] == "boat sent"


def test_silenced_firing_is_told_when_the_silence_expires(day):
    config, ws, _, _ = day

    def silence(rec, now):
        if rec.time.isoformat() == utc("11:00"):
            admin.add_silence(ws, "taihu", "chl-*", ends=rec.time + timedelta(hours=1), by="ops",
                              reason="calibration", now=now)

    play(config, ws, day_records(), silence)
    notes = notifications(ws)
    # told at 12:00 when the silence ended; repeated 2 h later (14:00, a rejected acquisition:
    # the repeat reports the newest valid value, of 13:50); resolved as usual
    assert summary(notes) == [("firing", "chl-bloom", utc("12:00")), ("repeat", "chl-bloom", utc("13:50")),
                              ("resolved", "chl-bloom", utc("16:00"))]
    assert notes[1]["created"] == (datetime.fromisoformat(utc("14:00")) + timedelta(seconds=30)).isoformat()
    suppressed = [e for e in admin.history(ws, limit=None) if e.get("suppressed")]
    assert [e["event"] for e in suppressed] == ["firing"]


def test_state_survives_a_restart_half_way(day):
    config, ws, receiver, cfg = day
    records = day_records()
    half = 78  # up to 13:00, while the bloom fires
    code = f"""
from tests.test_alerts_scenario import day_records, play
from hsiwq.config import load_config
from hsiwq.workspace import Workspace
config, _ = load_config({str(cfg)!r})
play(config, Workspace.resolve({str(ws.root)!r}), day_records()[:{half}])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={"HSIWQ_WEBHOOK_SECRET": SECRET, "PATH": "/usr/bin:/bin"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert summary(notifications(ws)) == EXPECTED[:1]
    play(config, ws, records[half:])
    assert summary(notifications(ws)) == EXPECTED
    assert len(receiver.posts) == 4


def test_real_simulated_bundles_through_the_chain(tmp_path, monkeypatch):
    from hsiwq.pipeline import process_bundle
    from hsiwq.simulate.bundle import simulate_bundle

    monkeypatch.setenv("HSIWQ_CALIBRATION", str(tmp_path / "cal"))
    config, _ = load_config(None)
    site = config.sites["taihu-north"]
    ws = Workspace(tmp_path / "home")
    seen = []
    for i, (chl, cloud) in enumerate([(20, 0.0), (80, 0.0), (90, 1.0), (25, 0.0)]):
        b = simulate_bundle(tmp_path / "b", time=f"2026-07-21T03:{10 * i:02d}:00Z", site="taihu-north",
                            sensor=site.sensor, chl=chl, cloud=cloud, shape=(32, 32), n_bands=60, seed=i,
                            calibration_dir=tmp_path / "cal", store_truth_rrs=False)
        r = process_bundle(b, site, config, ws)
        seen.append((r.verdict, [t.change for t in r.transitions]))
    assert seen == [("accepted", []), ("accepted", ["firing"]), ("rejected", []), ("accepted", ["resolved"])]
    notes = notifications(ws)
    assert [(n["status"], n["rule"]) for n in notes] == [("firing", "chl-bloom"), ("resolved", "chl-bloom")]


GAP_CONFIG = """
[sites.taihu]
lat = 31.40
lon = 120.18
timezone = "Asia/Shanghai"

[[sites.taihu.rules]]
kind = "gap"
minutes = 60
severity = "warning"

[[subscribers]]
name = "ops"
channel = "file"
target = "notifications/ops.jsonl"
language = "zh"

[[subscribers]]
name = "duty-officer"
channel = "file"
target = "notifications/duty-officer.jsonl"
"""


def test_data_gap_by_the_clock_counts_daylight_only(tmp_path):
    cfg = tmp_path / "sites.toml"
    cfg.write_text(GAP_CONFIG)
    config, _ = load_config(cfg)
    ws = Workspace(tmp_path / "home")
    records = [r for r in day_records() if r.labels["verdict"] == "accepted"]
    until_10 = [r for r in records if r.time.astimezone(LOCAL).hour < 10]
    play(config, ws, until_10)  # the monitor goes silent after 09:50
    local = lambda hhmm, day=0: datetime.fromisoformat(utc(hhmm)) + timedelta(days=day)  # noqa: E731
    assert check_gaps(config, ws, now=local("10:45")) == []
    (tr,) = check_gaps(config, ws, now=local("10:51"))  # 61 min of daylight since 09:50
    assert (tr.rule_id, tr.change, tr.category) == ("gap-60min", "firing", "data")
    assert check_gaps(config, ws, now=local("11:30")) == []  # still firing: nothing new
    site = config.sites["taihu"]
    back = [r for r in records if r.time.isoformat() == utc("12:00")][0]
    (tr,) = after_write(site, config, ws, back, now=local("12:01"))
    assert tr.change == "resolved"
    last = [r for r in records if r.time.astimezone(LOCAL).strftime("%H:%M") == "16:50"][0]
    after_write(site, config, ws, last, now=local("16:51"))
    # the evening and the night do not count: no gap until an hour of daylight next morning
    for hhmm in ("18:00", "23:00"):
        assert check_gaps(config, ws, now=local(hhmm)) == []
    assert check_gaps(config, ws, now=local("07:10", day=1)) == []  # 30 min last evening + 18 this morning
    fired = check_gaps(config, ws, now=local("07:25", day=1))
    assert [t.change for t in fired] == ["firing"]
    notes = notifications(ws)
    assert [n["change"] for n in notes] == ["firing", "resolved", "firing"]
    assert "no valid acquisition for 61 min of daylight (limit 60 min); last valid: 2026-07-21 09:50" in notes[0]["message"]
    assert "Accepted acquisitions per hour" in notes[0]["text"]
    zh = [json.loads(x) for x in (ws.root / "notifications" / "ops.jsonl").read_text().splitlines()]
    assert zh[0]["message"].startswith("【告警·警告】taihu：已 61 分钟无有效采集（仅计白天）")


def test_rejected_acquisitions_raise_a_gap_but_not_a_water_alert(tmp_path):
    cfg = tmp_path / "sites.toml"
    cfg.write_text(GAP_CONFIG + '\n[[sites.taihu.rules]]\nid = "chl-bloom"\nparam = "chl_a"\nabove = 50.0\n')
    config, _ = load_config(cfg)
    ws = Workspace(tmp_path / "home")
    site = config.sites["taihu"]
    changes = []
    for i in range(10):  # 10:00–11:30 local, every acquisition rejected with absurd values
        rec = Record(datetime.fromisoformat(utc("10:00")) + timedelta(minutes=10 * i),
                     {"chl_a": 5000.0, "chl_a_ood": 0.0}, {"verdict": "rejected", "reason": "cloud: Li/Ed"})
        changes += after_write(site, config, ws, rec, now=rec.time + timedelta(seconds=30))
    assert [(t.rule_id, t.change) for t in changes] == [("gap-60min", "firing")]
