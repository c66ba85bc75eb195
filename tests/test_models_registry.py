"""The model registry: versions, metadata, promotion and rollback, refusal of changed or
foreign files, and the service using promoted models (falling back to the defaults)."""

from __future__ import annotations

import json
import logging
import pickle

import numpy as np
import pytest
import skops.io as sio

from hsiwq.models.registry import ModelRegistry, RegistryError, check_trusted, sha256_file
from hsiwq.models.spectra import spectra_from_table
from hsiwq.models.synthetic import simulate_matchups
from hsiwq.retrieval.service import retrieve_region
from hsiwq.workspace import Workspace

from .test_models_calibration import small_calibration


class Evil:
    """A type no hsiwq model contains."""


def _register(ws: Workspace, region: str = "lake", params=("chl_a", "tss")) -> tuple[ModelRegistry, str]:
    cal, _ = small_calibration()
    reg = ModelRegistry(ws.registry_dir)
    models = {p: cal.result_.models[p] for p in params}
    meta = {"training_data_sha256": "ab" * 32,
            "parameters": {p: {"cv": cal.result_.reports[p].metrics[cal.result_.reports[p].chosen]} for p in params}}
    return reg, reg.register(region, models, meta, author="tester")


def test_register_writes_versioned_files_with_metadata(tmp_path):
    ws = Workspace(tmp_path)
    reg, v1 = _register(ws)
    _, v2 = _register(ws)
    assert (v1, v2) == ("v1", "v2")
    meta = reg.metadata("lake", "chl_a", "v2")
    for key in ("training_data_sha256", "file_sha256", "cv", "libraries", "created_at", "author",
                "wavelength_range_nm", "candidate", "n_train"):
        assert key in meta
    assert meta["author"] == "tester" and meta["format"] == "skops"
    assert meta["file_sha256"] == sha256_file(tmp_path / "registry/lake/chl_a/v2.skops")
    assert {"scikit-learn", "numpy", "skops"} <= set(meta["libraries"])
    assert reg.in_service("lake") == {}
    rows = reg.list("lake")
    assert [(r.parameter, r.version) for r in rows] == [("chl_a", "v1"), ("chl_a", "v2"), ("tss", "v1"), ("tss", "v2")]


def test_promote_and_rollback_keep_a_history(tmp_path):
    reg, _ = _register(Workspace(tmp_path))
    _register(Workspace(tmp_path))
    assert reg.promote("lake", "v1") == ["chl_a", "tss"]
    assert reg.promote("lake", "v2", ["chl_a"]) == ["chl_a"]
    assert reg.in_service("lake") == {"chl_a": "v2", "tss": "v1"}
    assert reg.rollback("lake", ["chl_a"]) == {"chl_a": "v1"}
    assert reg.rollback("lake") == {"chl_a": None, "tss": None}
    assert reg.in_service("lake") == {}
    with pytest.raises(RegistryError, match="no model in service"):
        reg.rollback("lake")
    with pytest.raises(RegistryError, match="no model of version"):
        reg.promote("lake", "v7")
    audit = (tmp_path / "registry/lake/audit.jsonl").read_text().splitlines()
    assert [json.loads(a)["action"] for a in audit].count("rollback") == 2


def test_loaded_model_predicts_like_the_original(tmp_path):
    reg, v = _register(Workspace(tmp_path))
    cal, _ = small_calibration()
    t = simulate_matchups("eutrophic_lake", 20, seed=3)
    rrs, wl = spectra_from_table(t)
    a = cal.result_.models["chl_a"].predict(rrs, wl)
    b = reg.load("lake", "chl_a", v).predict(rrs, wl)
    for k in ("value", "lo", "hi", "ood"):
        assert np.allclose(a[k], b[k], equal_nan=True)


def test_a_changed_file_is_refused(tmp_path):
    reg, v = _register(Workspace(tmp_path))
    path = tmp_path / "registry/lake/chl_a/v1.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="SHA-256 differs"):
        reg.load("lake", "chl_a", v)
    with pytest.raises(RegistryError, match="SHA-256 differs"):
        reg.promote("lake", v, ["chl_a"])


def test_a_foreign_file_is_refused_even_with_a_matching_hash(tmp_path):
    reg, v = _register(Workspace(tmp_path))
    cal, _ = small_calibration()
    model = cal.result_.models["tss"]
    model.payload = Evil()  # a crafted model carrying an unknown type
    path = tmp_path / "registry/lake/tss/v1.skops"
    try:
        sio.dump(model, path)
    finally:
        del model.payload
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["file_sha256"] = sha256_file(path)  # an attacker who can write both files
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="trusted list.*Evil"):
        reg.load("lake", "tss", v)
    # a pickle is not a skops file
    pkl = tmp_path / "model.skops"
    pkl.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(RegistryError, match="not a skops model file"):
        check_trusted(pkl)


def test_service_uses_promoted_models_else_defaults(tmp_path, caplog):
    ws = Workspace(tmp_path)
    t = simulate_matchups("eutrophic_lake", 12, seed=21)
    t = t[t.chl_a < 150].head(4)  # within the training range (no extreme bloom)
    rrs, wl = spectra_from_table(t)
    before = retrieve_region(rrs, wl, region="lake", workspace=ws)
    # no model yet: the global model learnt on real water, with its interval and flag
    assert before.algorithms["chl_a"].startswith("global/gloria-")
    assert set(before.lo) == {"chl_a", "tss", "cdom", "secchi"}
    assert np.all(before.lo["chl_a"] <= before.values["chl_a"])
    assert "tn" not in before.values  # no honest default for non-optical parameters
    reg, v = _register(ws, params=("chl_a", "tss", "tn"))
    reg.promote("lake", v)
    after = retrieve_region(rrs, wl, region="lake", workspace=ws)
    assert after.algorithms["chl_a"].startswith("lake/v1:")
    assert after.algorithms["phycocyanin"].startswith("saa-lee1999")  # no model: default
    assert set(after.lo) == {"chl_a", "tss", "tn", "cdom", "secchi"}  # models, and the global default
    assert np.all(after.lo["chl_a"] <= after.values["chl_a"])
    assert np.all(after.ood["chl_a"] == 0)
    assert mdsa_ok(t["chl_a"], after.values["chl_a"], 10)
    # a changed file in service: logged, never used, defaults instead
    path = tmp_path / "registry/lake/chl_a/v1.skops"
    path.write_bytes(path.read_bytes() + b"x")
    (tmp_path / "registry/lake/chl_a/service.json").touch()  # as a promotion would
    import os
    st = os.stat(tmp_path / "registry/lake/chl_a/service.json")
    os.utime(tmp_path / "registry/lake/chl_a/service.json", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with caplog.at_level(logging.ERROR):
        again = retrieve_region(rrs, wl, region="lake", workspace=ws)
    assert again.algorithms["chl_a"].startswith("global/gloria-")
    assert again.algorithms["tss"].startswith("lake/v1:")
    assert "SHA-256 differs" in caplog.text


def mdsa_ok(y, v, limit):
    from hsiwq.models.metrics import mdsa

    return mdsa(y, v) < limit
