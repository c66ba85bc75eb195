"""CLI manners: ``--format`` on every data-output command (valid JSON for ``--format json``),
units in CSV headers, NetCDF export, progress on a terminal only, the ``reprocess`` and
``recalibrate`` commands, and the one promotion policy shared by the CLI and the flow."""

from __future__ import annotations

import io
import json
import math
import os
import pty
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import xarray as xr

from hsiwq.cli import main
from hsiwq.models.promotion import better_parameters
from hsiwq.models.registry import ModelRegistry
from hsiwq.params import PARAMETER_IDS
from hsiwq.simulate.matchups import simulate_matchups
from hsiwq.store import Policy, Record, SiteStore
from hsiwq.workspace import Workspace

from .conftest import cli_env
from .test_models_flows import _fill_store

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture
def store(home):
    s = SiteStore(Workspace.resolve().store_path("lake-a"), policy=Policy(maintain_probability=0))
    for m in (0, 10):
        s.write(Record(T0 + timedelta(minutes=m), {"chl_a": 5.0 + m, "chl_a_lo": 4.0, "chl_a_hi": 20.0,
                                                    "chl_a_ood": 0.0},
                       {"verdict": "accepted", "chl_a_model": "saa-lee1999:taihu"}))
    return s


DATA_COMMANDS = [
    ["status"],
    ["models", "list"],
    ["alerts", "list"],
    ["alerts", "history"],
    ["series", "--site", "lake-a", "--param", "chl_a"],
]


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_data_command_prints_valid_json(store, capsys, command):
    code, out, err = run(capsys, *command, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)  # one document, not lines
    assert isinstance(doc, dict)
    if command[0] == "status":
        sites = {r["site"] for r in doc["rows"]}
        assert sites and all(isinstance(r["records"], int) for r in doc["rows"])
    if command[0] == "series":
        assert [r["chl_a"] for r in doc["rows"]] == [5.0, 15.0]


def test_json_alias_and_csv_of_the_same_rows(store, capsys):
    _, as_format, _ = run(capsys, "alerts", "list", "--format", "json")
    _, as_alias, _ = run(capsys, "alerts", "list", "--json")
    assert json.loads(as_format) == json.loads(as_alias)
    code, out, _ = run(capsys, "status", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == ("site,last_acquisition,last_valid,records,backlog,"
                                                 "quarantined,alerts")


def test_series_csv_units_and_netcdf(store, capsys, tmp_path):
    _, out, _ = run(capsys, "series", "--site", "lake-a", "--param", "chl_a", "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert header[:3] == ["time", "chl_a [µg/L]", "chl_a_lo [µg/L]"] and "chl_a_ood" in header
    target = tmp_path / "s.nc"
    code, _, err = run(capsys, "series", "--site", "lake-a", "--param", "chl_a", "--format", "netcdf",
                       "--out", str(target))
    assert code == 0 and "2 rows" in err
    with xr.open_dataset(target) as ds:
        assert ds["chl_a"].attrs["units"] == "µg/L" and ds.attrs["site"] == "lake-a"
        assert ds["chl_a"].values.tolist() == [5.0, 15.0]
        assert pd.Timestamp(ds["time"].values[1]) == pd.Timestamp("2026-07-01T03:10:00")
    code, _, err = run(capsys, "series", "--site", "lake-a", "--param", "chl_a", "--format", "netcdf")
    assert code == 2 and "needs --out" in err


def test_time_options_share_one_parser_and_one_error_style(store, capsys):
    for args in (["series", "--site", "lake-a", "--param", "chl_a", "--start", "yesterday"],
                 ["reprocess", "--site", "lake-a", "--region", "r", "--end", "yesterday"]):
        code, _, err = run(capsys, *args)
        assert code == 2
        assert err.strip().startswith("hsiwq: error: --") and "'yesterday' is not an ISO 8601 date or time" in err


def test_promotion_policy_by_hand():
    new = {"a": 10.0, "b": 12.0, "c": 30.0, "d": 5.0, "e": 20.0}
    service = {"a": 11.0, "e": 15.0}
    default = {"a": 50.0, "b": 11.5, "c": math.nan, "e": 99.0}
    # a beats the served model; b is within 5 % of the default (12 ≤ 11.5·1.05 = 12.075);
    # c has a NaN reference and d none; e is worse than the served model (20 > 15.75)
    assert better_parameters(new, service, default, tolerance=0.05) == ["a", "b", "c", "d"]
    assert better_parameters(new, service, default) == ["a", "c", "d"]
    with pytest.raises(ValueError):
        better_parameters(new, service, default, tolerance=-0.1)


def test_the_flow_uses_the_library_policy():
    from flows.recalibrate import compare

    summary = {"new": {"a": 10.0, "b": 12.0}, "service": {"a": 9.0}, "default": {"b": 13.0}}
    assert compare.fn(summary, 0.0) == better_parameters(summary["new"], summary["service"],
                                                         summary["default"]) == ["b"]
    assert compare.fn(summary, 0.2) == ["a", "b"]


def _run_on_a_terminal(args, env) -> tuple[int, str]:
    """Run a command with its standard error on a pseudo-terminal; (exit code, what it showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def test_reprocess_command_with_progress_only_on_a_terminal(tmp_path):
    home = tmp_path / "home"
    ws = Workspace(home)
    table = simulate_matchups("eutrophic_lake", 12, seed=31)
    _fill_store(ws, "lake-1", table)
    env = cli_env(home)
    env.pop("FORCE_COLOR", None)
    cmd = [sys.executable, "-m", "hsiwq", "reprocess", "--site", "lake-1", "--region", "lake",
           "--version", "defaults"]
    code, shown = _run_on_a_terminal(cmd, env)
    assert code == 0, shown
    assert "reprocessing lake-1" in shown  # the bar, on the terminal
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""  # not a terminal: no bar
    assert again.stdout.startswith(f"lake-1: 0 records rewritten, {len(table)} already up to date")
    ds = SiteStore(ws.store_path("lake-1")).read()
    assert "saa-lee1999" in str(ds["model_version"].values[0])


def test_recalibrate_command_promotes_by_the_policy(tmp_path):
    home = tmp_path / "home"
    ws = Workspace(home)
    table = simulate_matchups("eutrophic_lake", 90, seed=41, missing_fraction=0.1)
    _fill_store(ws, "lake-1", table)
    lab = table[["sample_id", "time", *PARAMETER_IDS]].copy()
    lab["time"] = (pd.to_datetime(lab["time"], utc=True) + timedelta(minutes=7)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    lab.to_csv(tmp_path / "lab.csv", index=False)
    p = subprocess.run([sys.executable, "-m", "hsiwq", "recalibrate", "--region", "lake", "--site", "lake-1",
                        "--samples", str(tmp_path / "lab.csv"), "--window", "20", "--promote", "--jobs", "1",
                        "--folds", "3", "--candidates", "ridge-physics,ridge"],
                       capture_output=True, text=True, env=cli_env(home), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "90 matchups from 90 samples" in p.stdout and "registered lake v1" in p.stdout
    served = ModelRegistry(ws.registry_dir).in_service("lake")
    promoted = [pid for pid in PARAMETER_IDS if served.get(pid) == "v1"]
    # the same rule as the flow: a parameter is promoted iff its new model is as good as the
    # default (nothing served before), read back from what the registry recorded
    reg = ModelRegistry(ws.registry_dir)
    metas = {pid: reg.metadata("lake", pid, "v1") for pid in PARAMETER_IDS if "v1" in reg.versions("lake", pid)}
    expected = better_parameters({pid: m["cv"]["mdsa"] for pid, m in metas.items()}, {},
                                 {pid: m["default"]["mdsa"] for pid, m in metas.items() if m.get("default")})
    assert promoted == [pid for pid in PARAMETER_IDS if pid in expected] and promoted
    (line,) = [x for x in p.stdout.splitlines() if "promoted to service for " in x]
    said = line.split("promoted to service for ")[1].split(" (not for")[0].split(", ")
    assert set(said) == set(expected)


def test_predict_writes_json_and_netcdf_with_units(home, capsys, tmp_path):
    simulate_matchups("eutrophic_lake", 5, seed=2).to_csv(tmp_path / "rrs.csv", index=False)
    for fmt in ("json", "netcdf"):
        code, _, err = run(capsys, "predict", "--region", "lake", "--rrs", str(tmp_path / "rrs.csv"), "--version",
                           "defaults", "--out", str(tmp_path / f"p.{fmt}"), "--format", fmt)
        assert code == 0, err
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["units"]["chl_a"] == "µg/L" and len(doc["rows"]) == 5 and doc["rows"][0]["chl_a"] > 0
    with xr.open_dataset(tmp_path / "p.netcdf") as ds:
        assert ds["chl_a"].attrs["units"] == "µg/L" and ds.sizes["row"] == 5
        assert ds["chl_a"].values.tolist() == [r["chl_a"] for r in doc["rows"]]


def test_process_results_as_json_and_csv(home, capsys):
    from .conftest import sample_bundles

    bundle = str(sample_bundles("taihu-north")[0])
    code, out, err = run(capsys, "process", "--site", "taihu-north", "--format", "json", bundle)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["units"]["chl_a"] == "µg/L" and doc["units"]["secchi"] == "m"
    (row,) = doc["rows"]
    assert row["site"] == "taihu-north" and row["verdict"] == "accepted"
    assert set(PARAMETER_IDS) <= set(row) and 0 < row["chl_a"] < 1000
    # the same acquisition again (already stored, same content) as CSV with units in the header
    code, out, err = run(capsys, "process", "--site", "taihu-north", "--format", "csv", bundle)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert "chl_a [µg/L]" in frame.columns and frame["chl_a [µg/L]"].iloc[0] == pytest.approx(row["chl_a"], rel=1e-6)
    code, _, err = run(capsys, "process", "--site", "taihu-north", "--format", "parquet", bundle)
    assert code != 0 and "needs --out" in err


def test_calibrate_results_as_json(home, capsys, tmp_path):
    table = simulate_matchups("eutrophic_lake", 60, seed=5, missing_fraction=0.1)
    table.to_csv(tmp_path / "m.csv", index=False)
    code, out, err = run(capsys, "calibrate", "--region", "lake", "--matchups", str(tmp_path / "m.csv"),
                         "--jobs", "1", "--folds", "3", "--candidates", "ridge-physics,ridge", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)  # standard output is the document alone (the summary line goes to stderr)
    assert doc["region"] == "lake" and doc["version"] == "v1" and "60 matchups" in err
    chl = doc["parameters"]["chl_a"]
    assert chl["units"] == "µg/L" and chl["chosen"] in ("ridge-physics", "ridge")
    # the figures are the registry's own record of the version
    meta = ModelRegistry(Workspace.resolve().registry_dir).metadata("lake", "chl_a", "v1")
    assert chl["cv"]["mdsa"] == pytest.approx(meta["cv"]["mdsa"])
    assert chl["default"]["mdsa"] == pytest.approx(meta["default"]["mdsa"])
