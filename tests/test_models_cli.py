"""``hsiwq calibrate | predict | models | matchup`` end to end, and their one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hsiwq.models.physics import PRIOR_SCALES
from hsiwq.models.registry import ModelRegistry
from hsiwq.simulate.matchups import simulate_matchups
from hsiwq.params import PARAMETER_IDS
from hsiwq.workspace import Workspace

from .conftest import cli_env

FAST = ["--candidates", "ridge-physics,ridge", "--jobs", "1", "--folds", "3"]


def run(args, home, timeout=300):
    return subprocess.run([sys.executable, "-m", "hsiwq", *args], capture_output=True, text=True,
                          env=cli_env(home), timeout=timeout)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables")
    simulate_matchups("eutrophic_lake", 140, seed=1, missing_fraction=0.15).to_csv(d / "m.csv", index=False)
    spectra = simulate_matchups("eutrophic_lake", 30, seed=2)
    spectra.to_csv(d / "rrs.csv", index=False)
    return d


def test_calibrate_predict_and_the_registry(tables, tmp_path):
    home = tmp_path / "home"
    p = run(["calibrate", "--region", "lake", "--matchups", str(tables / "m.csv"), *FAST], home)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "registered lake v1" in out and "default MdSA%" in out and "in service MdSA%" in out
    for pid in PARAMETER_IDS:
        assert pid in out
    assert "not optically active" in out
    assert "physics stage: regional SIOPs fitted" in out and "MAP prior widened ×" in out
    meta = ModelRegistry(Workspace(home).registry_dir).metadata("lake", "chl_a", "v1")
    assert meta["physics_prior_scale"] in PRIOR_SCALES and meta["siop"]["aph_scale"] > 0
    report = home / "reports" / "lake-v1"
    assert (report / "index.html").is_file() and (report / "chl_a.png").stat().st_size > 1000
    page = (report / "index.html").read_text()
    assert "Physics stage" in page and "aph_scale" in page and f"× {meta['physics_prior_scale']:.3g}" in page
    # not promoted: predict uses the defaults (the global model, with its interval, for chl-a;
    # the inversion, without one, for phycocyanin), non-optical parameters stay empty
    p = run(["predict", "--region", "lake", "--rrs", str(tables / "rrs.csv"), "--out", str(tmp_path / "a.csv")], home)
    assert p.returncode == 0, p.stderr
    a = pd.read_csv(tmp_path / "a.csv")
    assert a["tn"].isna().all() and a["chl_a"].notna().all() and a["chl_a_lo"].notna().all()
    assert a["phycocyanin_lo"].isna().all()
    assert "chl_a_input" in a.columns  # input lab values are kept apart
    # promote, predict again: every parameter with interval and flag
    assert run(["models", "promote", "--region", "lake", "--version", "v1"], home).returncode == 0
    p = run(["predict", "--region", "lake", "--rrs", str(tables / "rrs.csv"), "--out", str(tmp_path / "b.csv")], home)
    assert p.returncode == 0, p.stderr
    b = pd.read_csv(tmp_path / "b.csv")
    for pid in PARAMETER_IDS:
        assert {pid, f"{pid}_lo", f"{pid}_hi", f"{pid}_ood"} <= set(b.columns)
        assert (b[f"{pid}_lo"] <= b[pid]).all() and (b[pid] <= b[f"{pid}_hi"]).all()
        assert set(b[f"{pid}_ood"].unique()) <= {0.0, 1.0}
    assert "lake/v1:" in b["model_version"].iloc[0] and "owt" in b.columns
    # calibrating again compares with the model in service
    p = run(["calibrate", "--region", "lake", "--matchups", str(tables / "m.csv"), *FAST], home)
    assert p.returncode == 0 and "(v1)" in p.stdout and "registered lake v2" in p.stdout
    p = run(["models", "list", "--region", "lake"], home)
    assert p.returncode == 0 and p.stdout.count("* lake") == 11 and " v2 " in p.stdout
    p = run(["models", "rollback", "--region", "lake", "--param", "chl_a"], home)
    assert p.returncode == 0 and "default algorithm" in p.stdout


@pytest.mark.parametrize("args,where,problem", [
    (["calibrate", "--region", "r", "--matchups", "nope.csv"], "nope.csv", "no such file"),
    (["calibrate", "--region", "r", "--matchups", "{bad}"], "bad.csv", "Rrs_<nm>"),
    (["calibrate", "--region", "r", "--matchups", "{text}"], "text.csv", "not a number"),
    (["calibrate", "--region", "r", "--matchups", "{m}", "--candidates", "svm"], "--candidates", "unknown svm"),
    (["predict", "--region", "r", "--rrs", "{bad}", "--out", "o.csv"], "bad.csv", "Rrs_<nm>"),
    (["models", "promote", "--region", "r", "--version", "v1"], "r", "no model of version"),
    (["models", "rollback", "--region", "r"], "r", "no model in service"),
    (["matchup", "--site", "taihu-north", "--samples", "{lab}"], "taihu-north.zarr", "no store"),
])
def test_bad_input_gives_one_line_and_exit_2(args, where, problem, tables, tmp_path, monkeypatch, capsys):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    t = pd.read_csv(tables / "m.csv").head(20)
    t["tss"] = t["tss"].astype(object)
    t.loc[3, "tss"] = "high"
    t.to_csv(tmp_path / "text.csv", index=False)
    pd.DataFrame({"time": ["2026-07-21T02:00:00Z"], "chl_a": [20.0]}).to_csv(tmp_path / "lab.csv", index=False)
    names = {"bad": tmp_path / "bad.csv", "text": tmp_path / "text.csv", "m": tables / "m.csv",
             "lab": tmp_path / "lab.csv"}
    args = [a.format(**names) for a in args]
    monkeypatch.setenv("HSIWQ_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    from hsiwq.cli import main

    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert where in lines[0] and problem in lines[0]


def test_matchup_pairs_samples_with_stored_spectra(tmp_path):
    from hsiwq.config import load_config
    from hsiwq.pipeline import process_bundle
    from hsiwq.workspace import Workspace

    from .conftest import sample_bundles

    home = tmp_path / "home"
    config, _ = load_config(None)
    ws = Workspace(home)
    for b in sample_bundles("taihu-north")[:2]:
        process_bundle(b, config.sites["taihu-north"], config, ws, deliver=False)
    lab = pd.DataFrame({"time": ["2026-07-21T00:50:00Z", "2026-07-21T02:00:00Z", "2026-07-25T00:00:00Z"],
                        "sample_id": ["s1", "s2", "s3"], "chl_a": [16.5, 27.0, 5.0]})
    lab.to_csv(tmp_path / "lab.csv", index=False)
    p = run(["matchup", "--site", "taihu-north", "--samples", str(tmp_path / "lab.csv"),
             "--out", str(tmp_path / "mu.csv")], home)
    assert p.returncode == 0, p.stderr
    assert "2 matchups from 3 samples (1 without" in p.stdout
    mu = pd.read_csv(tmp_path / "mu.csv")
    assert list(mu["sample_id"]) == ["s1", "s2"]
    assert list(mu["acquisition_time"]) == ["2026-07-21T00:45:00Z", "2026-07-21T02:15:00Z"]
    assert list(mu["time_offset_min"]) == [-5.0, 15.0]
    rrs = mu[[c for c in mu.columns if c.startswith("Rrs_")]].to_numpy()
    assert rrs.shape[1] == 120 and np.isfinite(rrs).all()
