"""The parts of `hsiwq serve` one by one: coalescing, the inbox watcher, the Prefect API the
worker relies on, schedules (croniter) and the nominal cadence behind completeness."""

from __future__ import annotations

import inspect
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from hsiwq.config import SitesConfig
from hsiwq.inbox import Location
from hsiwq.schedule import cadence_times, expected_times, learn_interval, parse_interval, parse_schedule
from hsiwq.watch import Coalescer, InboxWatcher


# --- coalescing -----------------------------------------------------------------------------
def test_coalescer_keeps_one_run_in_flight_and_at_most_one_owed():
    c = Coalescer()
    assert c.request("a") is True  # idle: start now
    assert [c.request("a") for _ in range(5)] == [False] * 5  # in flight: folded into one
    assert c.request("b") is True  # sites are independent
    assert c.owed() == {"a"}
    assert c.done("a") is True  # the one follow-up run
    assert c.busy() == {"a", "b"} and c.owed() == set()
    assert c.done("a") is False  # nothing more arrived: idle
    assert c.busy() == {"b"}
    assert c.request("a") is True


def test_coalescer_under_concurrent_requests():
    c = Coalescer()
    starts = []
    barrier = threading.Barrier(8)

    def hammer():
        barrier.wait()
        for _ in range(200):
            if c.request("x"):
                starts.append(1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(starts) == 1  # 1,600 requests, one run started, one owed
    assert c.done("x") is True and c.done("x") is False


# --- the watcher ----------------------------------------------------------------------------
def test_watcher_reports_arrivals_per_site_within_a_second(tmp_path):
    inboxes = {"a": Location.of(tmp_path / "inbox" / "a"), "b": Location.of(tmp_path / "inbox" / "b")}
    seen: list[tuple[str, float]] = []
    w = InboxWatcher(inboxes, lambda s: seen.append((s, time.monotonic()))).start()
    try:
        time.sleep(0.5)  # the watch is set up
        tmp = tmp_path / "inbox" / "a" / ".incoming-x"
        tmp.mkdir()
        (tmp / "acquisition.json").write_text("{}")
        time.sleep(0.5)
        assert seen == []  # an upload under a dot-name is not an arrival
        t0 = time.monotonic()
        tmp.rename(tmp_path / "inbox" / "a" / "20260701T010000Z")
        deadline = t0 + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [s for s, _ in seen] == ["a"]
        assert seen[0][1] - t0 < 1.0
        # a bundle leaving the inbox (archived) is not an arrival
        (tmp_path / "inbox" / "a" / "20260701T010000Z").rename(tmp_path / "gone")
        time.sleep(0.5)
        assert [s for s, _ in seen] == ["a"]
    finally:
        w.stop()
    assert w.site_of(tmp_path / "inbox" / "b" / "x" / "water.raw") == "b"
    assert w.site_of(tmp_path / "inbox" / "b" / ".tmp" / "water.raw") is None
    assert w.site_of(tmp_path / "elsewhere") is None


# --- the Prefect API the worker and the dispatcher rely on ----------------------------------
def test_the_prefect_api_hsiwq_uses_is_there():
    """Fails loudly if a Prefect upgrade moves what flows/worker.py and flows/dispatch.py use
    (a BaseWorker subclass running flow runs with run_flow, and one overridden method)."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy
    from prefect.flow_engine import run_flow
    from prefect.workers.base import BaseWorker

    import flows.worker as fw

    assert {"flow", "flow_run", "return_type"} <= set(inspect.signature(run_flow).parameters)
    assert list(inspect.signature(BaseWorker.run).parameters)[:4] == [
        "self", "flow_run", "configuration", "task_status"]
    assert issubclass(fw.InProcessWorker, BaseWorker)
    for name in ("setup", "teardown", "start", "kill_infrastructure", "get_default_base_job_template",
                 "get_and_submit_flow_runs"):
        assert hasattr(BaseWorker, name), name
    # the one BaseWorker method overridden (the run labels, a write SQLite fails under load):
    # still called, with the same arguments, when a run is submitted
    labels = "_give_worker_labels_to_flow_run"
    assert list(inspect.signature(getattr(BaseWorker, labels)).parameters) == ["self", "flow_run_id"]
    assert f"self.{labels}(flow_run.id)" in inspect.getsource(BaseWorker._submit_run_and_capture_errors)
    assert getattr(fw.InProcessWorker, labels) is not getattr(BaseWorker, labels)
    assert {"deployment_id", "tags"} <= set(
        inspect.signature(SyncPrefectClient.create_flow_run_from_deployment).parameters)
    assert ConcurrencyLimitStrategy.CANCEL_NEW.value == "CANCEL_NEW"
    source = inspect.getsource(fw)
    assert "prefect.flow_engine." not in source.replace("``prefect.flow_engine.run_flow``", "")
    assert "_internal" not in source and "__var__" not in source  # no private Prefect


# --- schedules and cadence ------------------------------------------------------------------
def test_schedules_are_read_by_croniter():
    assert parse_schedule("*/2 * * * *") == ("cron", "*/2 * * * *")
    assert parse_schedule("every 20 s") == ("interval", 20.0)
    for bad in ("61 * * * *", "* * *", "every 0 s", "hourly"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
    # Last day of February 2028 (a leap year) at 23:59, by hand: one time
    t = expected_times("59 23 29 2 *", np.datetime64("2028-01-01"), np.datetime64("2028-12-31"))
    assert [str(x) for x in t] == ["2028-02-29T23:59:00"]


def test_intervals_and_learning_the_cadence():
    assert [parse_interval(x) for x in ("1m", "30 s", "2 min", "1h", "every 10 s")] == [60, 30, 120, 3600, 10]
    with pytest.raises(ValueError):
        parse_interval("soon")
    rng = np.random.default_rng(1)
    # hourly acquisitions with a night-time gap and jitter of a few seconds
    t = np.datetime64("2026-07-01T00:00") + (np.arange(48) * 3600 + rng.integers(-5, 6, 48)).astype("timedelta64[s]")
    t = np.delete(t, range(12, 20))
    assert learn_interval(t) == pytest.approx(3600, abs=10)
    assert learn_interval(t[:3]) is None  # two intervals are not enough
    n = cadence_times(60, np.datetime64("2026-07-01T00:00:30"), np.datetime64("2026-07-01T01:00:00")).size
    assert n == 60  # 00:01 … 01:00


def test_config_takes_the_cadence(tmp_path):
    cfg = SitesConfig.model_validate({"sites": {"a": {"lat": 31, "lon": 120, "expected_interval": "1m",
                                                      "watch": False}}})
    assert cfg.sites["a"].expected_interval == "1m" and cfg.sites["a"].watch is False
    with pytest.raises(ValueError, match="not a duration"):
        SitesConfig.model_validate({"sites": {"a": {"lat": 31, "lon": 120, "expected_interval": "often"}}})


def test_report_completeness_uses_the_cadence_not_the_schedule():
    """The issue's case: hourly data polled every minute read "expected 361, completeness
    1.1 %". Against the learnt cadence, 7 of 8 hourly acquisitions over 8 hours is 7/8."""
    import xarray as xr

    from hsiwq.report.data import Source, cadence
    from hsiwq.report.figures import completeness

    t0 = np.datetime64("2026-07-01T00:00", "s")
    times = t0 + (np.array([0, 1, 2, 3, 5, 6, 7]) * 3600).astype("timedelta64[s]")  # 04:00 missing
    ds = xr.Dataset({"verdict": ("time", np.array(["accepted"] * 7)),
                     "reason": ("time", np.array([""] * 7))}, coords={"time": times})
    cfg = SitesConfig.model_validate({"sites": {"a": {"lat": 31, "lon": 120, "schedule": "* * * * *"}}})
    src = Source(site=cfg.sites["a"], label="a", start=t0, end=t0 + np.timedelta64(7 * 3600 + 1800, "s"),
                 ds=ds, alerts=None, models=[], registry_note="", maps=None, maps_note="")
    assert cadence(src)[0] == 3600
    st = completeness(src)
    assert st["expected"] == 8 and st["completeness"] == pytest.approx(7 / 8)
    configured = cfg.sites["a"].model_copy(update={"expected_interval": "30 min"})
    st = completeness(Source(**{**src.__dict__, "site": configured}))
    assert st["expected"] == 16 and st["completeness"] == pytest.approx(7 / 16)


def test_a_gap_rule_counted_in_missed_acquisitions_of_the_cadence(tmp_path):
    """20 missed acquisitions of a 30 s cadence is a 10-minute gap: nothing at 9 min, firing
    past 10 min (by the clock, as the scheduler's periodic check sees it)."""
    from hsiwq.alerts.service import check_gaps
    from hsiwq.workspace import Workspace

    site = {"lat": 31, "lon": 120, "expected_interval": "30 s",
            "rules": [{"kind": "gap", "missed": 20, "daylight_only": False}]}
    cfg = SitesConfig.model_validate({"sites": {"a": site}})
    rule = cfg.sites["a"].rules[0]
    assert rule.minutes == pytest.approx(10.0) and rule.rule_id == "gap-20missed"
    ws = Workspace(tmp_path / "home")
    t0 = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
    assert check_gaps(cfg, ws, t0, deliver=False) == []
    assert check_gaps(cfg, ws, t0 + timedelta(minutes=9), deliver=False) == []
    fired = check_gaps(cfg, ws, t0 + timedelta(minutes=10, seconds=30), deliver=False)
    assert [(t.rule_id, t.status) for t in fired] == [("gap-20missed", "firing")]
    with pytest.raises(ValueError, match="expected_interval"):
        SitesConfig.model_validate({"sites": {"a": {**site, "expected_interval": None}}})


def test_watcher_lists_object_store_inboxes(moto_s3):
    """An S3 inbox is listed every interval: a bundle counts as arrived once the listing calls
    it complete (``acquisition.json`` uploaded last), and only once."""
    import uuid

    from .conftest import put_bundle, sample_bundles

    prefix = f"hsiwq/{uuid.uuid4().hex[:8]}/inbox/taihu-north"
    inbox = Location(f"s3://{prefix}", moto_s3.options)
    seen: list[str] = []
    w = InboxWatcher({"taihu-north": inbox}, seen.append, list_interval_s=0.3).start()
    try:
        bundle = sample_bundles("taihu-north")[0]
        for f in sorted(bundle.iterdir()):  # an upload in progress: no acquisition.json yet
            if f.name not in ("truth.npz", "acquisition.json"):
                moto_s3.fs.put_file(str(f), f"{prefix}/{bundle.name}/{f.name}")
        time.sleep(1.5)
        assert seen == []
        moto_s3.fs.put_file(str(bundle / "acquisition.json"), f"{prefix}/{bundle.name}/acquisition.json")
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        assert seen == ["taihu-north"]  # once, though every listing still shows it
        put_bundle(moto_s3.fs, sample_bundles("taihu-north")[1], f"{prefix}/second")
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == ["taihu-north"] * 2
    finally:
        w.stop()


def test_a_new_workspace_starts_from_the_migrated_schema(tmp_path):
    """The first local server migrates a new SQLite database and keeps a copy; the next new
    workspace starts from that copy and its API works (Prefect checks the revision)."""
    import json
    import urllib.request

    from flows.server import LocalServer

    template = tmp_path / "cache" / "empty.db"
    kinds = []
    for k in range(2):
        server = LocalServer(tmp_path / f"ws{k}" / "prefect", lean=True, template=template)
        try:
            url = server.wait()
            req = urllib.request.Request(f"{url}/work_pools/", method="POST",
                                         data=json.dumps({"name": f"pool-{k}"}).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 201
        finally:
            server.stop()
        kinds.append(server.schema)
        assert template.is_file()
    assert kinds == ["migrated", "template"]
    # the copy is the empty schema: the second workspace does not hold the first one's pool
    import sqlite3

    names = [r[0] for r in sqlite3.connect(tmp_path / "ws1" / "prefect" / "server.db").execute(
        "select name from work_pool")]
    assert "pool-0" not in names and "pool-1" in names


# --- the dispatcher's bookkeeping (flows/dispatch.py), without a server --------------------
def test_dispatcher_reads_run_ends_from_the_workers_records_and_skips_an_empty_inbox(tmp_path):
    """A run's end comes from the workers' JSON-lines record as soon as it is written (no API
    call: ``client`` is None and must not be used); an owed follow-up is started only when
    the inbox holds something, and a run that did not complete is retried."""
    import json
    import time
    from uuid import uuid4

    from flows.dispatch import Dispatcher

    feed = tmp_path / "worker-runs.jsonl"
    feed.write_text(json.dumps({"flow_run_id": str(uuid4()), "state": "Completed", "ok": True}) + "\n")
    inbox = {"a": False, "b": True}
    d = Dispatcher({"a": uuid4(), "b": uuid4(), "c": uuid4()}, ended_feed=feed, api_poll_s=1e9,
                   pending=lambda site: inbox[site], poll_s=0.01)
    d._api_at = float("inf")  # the API is never asked in this test
    created = []
    d._start = lambda client, site, why: created.append((site, why))  # noqa: ARG005
    runs = {s: uuid4() for s in "abc"}
    for s in "abc":
        assert d.coalescer.request(s)       # a run in flight each ...
        d._created(s, runs[s], "arrival", time.time(), time.time())
        d.coalescer.request(s)              # ... and one owed each
    d._step(None)
    assert created == []                    # the old record (before the dispatcher) is ignored
    with feed.open("a") as fh:              # two ends, and half of the third's line
        for s, state in (("a", "Completed"), ("b", "Completed")):
            fh.write(json.dumps({"flow_run_id": str(runs[s]), "state": state, "ok": True}) + "\n")
        fh.write(json.dumps({"flow_run_id": str(runs["c"]), "state": "Failed", "ok": False})[:20])
    d._step(None)
    assert created == [("b", "owed")]       # a's inbox is empty: a is idle, not owed a run
    assert d.coalescer.busy() == {"b", "c"}
    with feed.open("a") as fh:
        fh.write(json.dumps({"flow_run_id": str(runs["c"]), "state": "Failed", "ok": False})[20:] + "\n")
    d._step(None)
    assert "c" not in d.coalescer.busy() and "c" in d._retry_at  # failed: tried again shortly
    d.retry_s = 0.0
    d._retry_at["c"] = time.monotonic()
    d._step(None)
    assert created[-1] == ("c", "retry")
