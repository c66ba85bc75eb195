"""Structured JSON-lines logs."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from hsiwq.logs import attach_json_log, log_event


def test_events_are_json_lines_with_their_fields(tmp_path):
    path = tmp_path / "logs" / "hsiwq.jsonl"
    handler = attach_json_log(path, logger_name="hsiwq.test_logs")
    assert attach_json_log(path, logger_name="hsiwq.test_logs") is handler  # once per path
    logger = logging.getLogger("hsiwq.test_logs.pipeline")
    try:
        log_event("acquisition_processed", logger=logger, site="taihu-north", seconds=0.25,
                  verdict="valid", name="clashes with LogRecord.name", n=3)
        log_event("bundle_quarantined", logging.WARNING, logger=logger, site="dianchi",
                  reason="bad header \u9519")
    finally:
        logging.getLogger("hsiwq.test_logs").removeHandler(handler)
        handler.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [l["event"] for l in lines] == ["acquisition_processed", "bundle_quarantined"]
    first, second = lines
    assert first["logger"] == "hsiwq.test_logs.pipeline" and first["level"] == "INFO"
    assert first["site"] == "taihu-north" and first["seconds"] == 0.25 and first["n"] == 3
    assert first["name_"] == "clashes with LogRecord.name"
    assert second["level"] == "WARNING" and second["reason"].endswith("\u9519")
    t = datetime.strptime(first["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - t).total_seconds()) < 60


def test_events_stay_off_the_console(tmp_path, capsys):
    logging.basicConfig()  # a console handler on the root logger
    log_event("bundle_quarantined", logging.WARNING, site="dianchi", reason="bad header")
    handler = attach_json_log(tmp_path / "e.jsonl")
    try:
        log_event("bundle_archived", site="dianchi")
    finally:
        logging.getLogger("hsiwq.events").removeHandler(handler)
        handler.close()
    captured = capsys.readouterr()
    assert "bundle" not in captured.err + captured.out
    assert [json.loads(l)["event"] for l in (tmp_path / "e.jsonl").read_text().splitlines()] == [
        "bundle_archived"]


def test_the_chain_writes_its_events(tmp_path):
    """``hsiwq process`` on a sample bundle and a broken one: JSON lines for each event."""
    import shutil
    import subprocess
    import sys

    from .conftest import cli_env, sample_bundles

    home = tmp_path / "home"
    good = sample_bundles("taihu-north")[2]
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    (broken / "water.hdr").write_text("not a header")
    r = subprocess.run([sys.executable, "-m", "hsiwq", "process", "--site", "taihu-north",
                        str(good), str(broken)], env=cli_env(home), capture_output=True, text=True)
    assert r.returncode != 0 and "broken" in r.stderr  # the broken one is reported
    events = [json.loads(l) for l in (home / "logs" / "hsiwq.jsonl").read_text().splitlines()]
    processed = [e for e in events if e["event"] == "acquisition_processed"]
    assert len(processed) == 1
    e = processed[0]
    assert e["site"] == "taihu-north" and e["bundle"] == good.name and e["verdict"] == "accepted"
    assert e["n_values"] >= 6 and e["seconds"] > 0 and set(e["timings"]) >= {"read", "correct"}
    assert e["alerts"] == ["chl-bloom:firing"]  # the sample bloom bundle crosses 50 ug/L
    assert [x["event"] for x in events].count("notification_sent") >= 1
