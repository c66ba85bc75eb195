"""Values from a model not calibrated for the site's region are flagged: store, report, alerts."""

from __future__ import annotations

import json

from hsiwq.config import load_config
from hsiwq.pipeline import process_bundle
from hsiwq.retrieval.service import is_calibrated, uncalibrated
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import sample_bundles


def test_the_rule():
    assert is_calibrated("taihu/v3:stack", "taihu")
    assert not is_calibrated("global/gloria-d8c1cf39", "taihu")
    assert not is_calibrated("saa-lee1999:taihu", "taihu")
    assert not is_calibrated("taihu-east/v1:stack", "taihu")  # another region's model
    algs = {"tss": "taihu/v1:gp", "chl_a": "global/gloria-x", "turbidity": "dogliotti2015"}
    assert uncalibrated(algs, "taihu") == ["chl_a", "turbidity"]  # catalogue order


def test_store_report_and_alert_say_so(home):
    config, _ = load_config(None)
    ws = Workspace.resolve()
    site = config.sites["taihu-north"]
    for bundle in sample_bundles("taihu-north"):
        process_bundle(bundle, site, config, ws)
    ds = SiteStore(ws.store_path("taihu-north")).read()
    flagged = [str(v).split(",") for v in ds["uncalibrated"].values]
    # the sample region has no regional model: every retrieved parameter is flagged
    assert all({"chl_a", "turbidity"} <= set(f) for f in flagged)
    assert all(str(m).startswith("saa-lee1999") for m in ds["chl_a_model"].values)
    # the bloom alert's notification names the model and says it is not calibrated here
    lines = (ws.root / "notifications" / "duty-officer.jsonl").read_text().splitlines()
    doc = json.loads(lines[0])
    text = json.dumps(doc, ensure_ascii=False)
    assert "not calibrated for this region" in text or "未针对本区域校准" in text
    alert = next(a for a in doc["alerts"] if a["parameter"] == "chl_a")
    assert alert["detail"]["uncalibrated"] is True and alert["detail"]["model"].startswith("saa-lee1999")
    # the report's models section marks them
    from hsiwq.report import Period, build_report

    html = build_report(ws, config, [Period("taihu-north")])
    models = html[html.index('<section id="models">'):]
    models = models[:models.index("</section>")]
    assert "not calibrated for this region" in models
