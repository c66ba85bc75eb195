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
        log_event(logger, "acquisition_processed", site="taihu-north", seconds=0.25,
                  verdict="valid", name="clashes with LogRecord.name", n=3)
        log_event(logger, "bundle_quarantined", level=logging.WARNING, site="dianchi",
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
