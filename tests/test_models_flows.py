"""Reprocessing a site's history and the Prefect recalibration / reprocessing flows."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from hsiwq.models.registry import ModelRegistry
from hsiwq.models.reprocess import reprocess_site
from hsiwq.models.spectra import spectra_from_table
from hsiwq.simulate.matchups import simulate_matchups
from hsiwq.params import PARAMETER_IDS
from hsiwq.store import Record, SiteStore
from hsiwq.workspace import Workspace

from .conftest import cli_env
from .test_models_calibration import small_calibration


def _fill_store(ws: Workspace, site: str, table: pd.DataFrame) -> list[datetime]:
    """Write one accepted record per row (ROI spectrum only, as before any model)."""
    rrs, wl = spectra_from_table(table)
    store = SiteStore(ws.store_path(site))
    times = []
    for i, t in enumerate(pd.to_datetime(table["time"], utc=True)):
        when = t.to_pydatetime()
        store.write(Record(time=when, values={"sun_zenith_deg": 35.0},
                           labels={"verdict": "accepted", "reason": "", "model_version": "none"},
                           rrs=rrs[i], wavelength=wl))
        times.append(when)
    return times


def test_reprocessing_rewrites_history_once(tmp_path):
    ws = Workspace(tmp_path)
    table = simulate_matchups("eutrophic_lake", 12, seed=31)
    table = table[table.chl_a < 200]
    _fill_store(ws, "lake-1", table)
    cal, _ = small_calibration()
    reg = ModelRegistry(ws.registry_dir)
    v = reg.register("lake", {p: cal.result_.models[p] for p in ("chl_a", "tp")}, {})
    first = reprocess_site(ws, "lake-1", "lake", v)
    assert first.rewritten == len(table) and first.unchanged == 0
    again = reprocess_site(ws, "lake-1", "lake", v)
    assert again.rewritten == 0 and again.unchanged == len(table)  # idempotent
    ds = SiteStore(ws.store_path("lake-1")).read()
    assert ds.sizes["time"] == len(table)
    assert "chl_a=lake/v1:" in str(ds["model_version"].values[0])
    assert np.isfinite(ds["tp"].values).all() and np.isfinite(ds["tp_lo"].values).all()
    assert (ds["chl_a_ood"].values == 0).mean() > 0.8
    assert np.isnan(ds["tn"].values).all()  # no model, no default for TN
    assert np.allclose(ds["sun_zenith_deg"].values, 35.0)  # other figures kept
    # back to the defaults
    back = reprocess_site(ws, "lake-1", "lake", "defaults")
    assert back.rewritten == len(table)
    ds = SiteStore(ws.store_path("lake-1")).read()
    assert "saa-lee1999" in str(ds["model_version"].values[0]) and np.isnan(ds["tp"].values).all()


FLOW_SCRIPT = textwrap.dedent('''
    import json, sys
    from flows.env import configure_prefect
    from hsiwq.workspace import Workspace
    home, samples = sys.argv[1], sys.argv[2]
    configure_prefect(Workspace.resolve(home))
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from flows.recalibrate import recalibrate, reprocess
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        r = recalibrate(home, "lake", "lake-1", samples, window_minutes=20, promote=True,
                        jobs=1, candidates=["ridge-physics", "ridge"])
        p1 = reprocess(home, "lake-1", region="lake")
        p2 = reprocess(home, "lake-1", region="lake")
    print(json.dumps({"recalibrate": r, "first": p1, "second": p2}, default=str))
''')


def test_recalibration_and_reprocessing_flows(tmp_path):
    home = tmp_path / "home"
    ws = Workspace(home)
    table = simulate_matchups("eutrophic_lake", 90, seed=41, missing_fraction=0.1)
    _fill_store(ws, "lake-1", table)
    lab = table[["sample_id", "time", *PARAMETER_IDS]].copy()
    lab["time"] = (pd.to_datetime(lab["time"], utc=True) + timedelta(minutes=7)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    lab.loc[0, "time"] = (datetime(2030, 1, 1, tzinfo=timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lab.to_csv(tmp_path / "lab.csv", index=False)
    p = subprocess.run([sys.executable, "-c", FLOW_SCRIPT, str(home), str(tmp_path / "lab.csv")],
                       capture_output=True, text=True, env=cli_env(home), timeout=400)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    rec = out["recalibrate"]
    assert rec["matchups"]["matchups"] == 89 and rec["matchups"]["unmatched"] == 1
    assert rec["version"] == "v1" and set(rec["promoted"]) == set(PARAMETER_IDS)  # nothing served before
    assert ModelRegistry(ws.registry_dir).in_service("lake")["chl_a"] == "v1"
    assert out["first"]["rewritten"] == 90 and out["second"]["rewritten"] == 0
    assert "chl_a=lake/v1:" in out["first"]["labels"]
