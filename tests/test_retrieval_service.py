"""The pipeline's seam: defaults without models, the region's promoted models with them."""

from __future__ import annotations

import numpy as np

from hsiwq.config import load_config
from hsiwq.models.registry import ModelRegistry
from hsiwq.pipeline import process_bundle
from hsiwq.store import SiteStore
from hsiwq.workspace import Workspace

from .conftest import sample_bundles
from .test_models_calibration import small_calibration


def test_chain_records_the_promoted_model_with_intervals(home):
    config, _ = load_config(None)
    ws = Workspace.resolve()
    site = config.sites["taihu-north"]
    cal, _ = small_calibration()  # simulated eutrophic-lake matchups, the Taihu sample's water
    reg = ModelRegistry(ws.registry_dir)
    version = reg.register("taihu", dict(cal.result_.models), {"training_data_sha256": "0" * 64})
    reg.promote("taihu", version, ["chl_a", "tss", "tp"])
    bundle = sample_bundles("taihu-north")[1]
    result = process_bundle(bundle, site, config, ws, deliver=False)
    truth = np.load(bundle / "truth.npz")
    true_chl = float(np.median(truth["chl_a"][truth["valid"]]))
    assert abs(result.values["chl_a"] / true_chl - 1) <= 0.25
    ds = SiteStore(ws.store_path("taihu-north")).read()
    assert str(ds["chl_a_model"].values[0]).startswith("taihu/v1:")
    assert str(ds["phycocyanin_model"].values[0]).startswith("saa-lee1999:taihu")  # no model: default
    lo, v, hi = (float(ds[k].values[0]) for k in ("chl_a_lo", "chl_a", "chl_a_hi"))
    assert lo < v < hi and float(ds["chl_a_ood"].values[0]) in (0.0, 1.0)
    assert np.isfinite(ds["tp"].values[0]) and np.isnan(ds["tn"].values[0])
    assert "tp=taihu/v1:" in str(ds["model_version"].values[0])
