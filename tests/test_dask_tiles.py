"""A large cube corrected by tiles on the Dask task runner gives the untiled result.

The tiled flows run in a child process (Prefect's embedded mode, a ``LocalCluster`` of two
worker processes with one thread each); the reference is the whole-cube path in this process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hsiwq.config import load_config
from hsiwq.io.bundle import read_bundle
from hsiwq.io.calibration import load_calibrations, select_calibration
from hsiwq.pipeline import process_bundle, summarise
from hsiwq.radiometry.correct import correct_bundle
from hsiwq.store import SiteStore
from hsiwq.tiles import correct_tiled_serial
from hsiwq.workspace import Workspace

from .conftest import cli_env

pytest.importorskip("prefect_dask")
pytestmark = pytest.mark.slow

SITES = textwrap.dedent('''
    [sites.big-lake]
    lat = 31.40
    lon = 120.18
    region = "taihu"
    sensor = "HSI-SIM"
    roi = [[[10.0, 5.0], [370.0, 5.0], [370.0, 500.0], [10.0, 500.0]]]

    [processing]
    tile_above_mb = 1       # the 45 MiB test cube is "large"
    tile_rows = 64
    dask_workers = 2
    ''')

CHILD = textwrap.dedent('''
    import json, shutil, sys
    from pathlib import Path
    import numpy as np
    from hsiwq.workspace import Workspace
    from flows.env import configure_prefect
    home, bundle, out = sys.argv[1:4]
    ws = Workspace.resolve(home)
    configure_prefect(ws)
    from flows.tiles import run_correct_tiled
    from flows.site import process_site
    res = run_correct_tiled(bundle, "big-lake", home)
    s = res["summary"]
    np.save(out + "/rrs_median.npy", s.rrs_median)
    attrs = {k: (v if isinstance(v, (str, bool, int)) or v is None else float(v)) for k, v in s.attrs.items()}
    json.dump({"pids": res["pids"], "n_valid": s.n_valid, "attrs": attrs}, open(out + "/tiled.json", "w"))
    # the same bundle through process-site, which tiles cubes above [processing] tile_above_mb
    import flows.tiles
    calls, run_tiled = [], flows.tiles.run_tiled
    def spy(*args, **kwargs):
        calls.append(args[0])
        return run_tiled(*args, **kwargs)
    flows.tiles.run_tiled = spy
    shutil.copytree(bundle, ws.inbox("big-lake") / Path(bundle).name)
    results = process_site("big-lake", home)
    json.dump({"values": [r.values for r in results], "tiled_calls": len(calls)},
              open(out + "/site.json", "w"))
''')


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 512 x 384 x 120 band-sequential bundle with glint and shore, and its calibration."""
    from hsiwq.simulate.bundle import simulate_bundle

    root = tmp_path_factory.mktemp("big")
    path = simulate_bundle(root / "bundles", site="big-lake", sensor="HSI-SIM", shape=(512, 384),
                           n_bands=120, seed=11, interleave="bsq",
                           calibration_dir=root / "calibration" / "sensors",
                           store_truth_rrs=False)
    return Path(path), root / "calibration" / "sensors"


def _workspace(tmp: Path, cal: Path, monkeypatch) -> Workspace:
    tmp.mkdir(parents=True)
    (tmp / "sites.toml").write_text(SITES)
    shutil.copytree(cal, tmp / "calibration" / "sensors")
    return Workspace(tmp)


def test_dask_tiles_give_the_untiled_result_across_processes(big, tmp_path, monkeypatch):
    bundle, cal = big
    monkeypatch.delenv("HSIWQ_CALIBRATION", raising=False)
    ws_ref = _workspace(tmp_path / "ref", cal, monkeypatch)
    ws_dask = _workspace(tmp_path / "dask", cal, monkeypatch)
    config, _ = load_config(ws_ref.config_file)
    site = config.sites["big-lake"]

    # the reference: the whole cube in this process
    b = read_bundle(bundle, lazy=True)
    calib = select_calibration(load_calibrations(ws_ref.calibration_dir), b.meta.sensor, b.meta.time)
    corrected = correct_bundle(b, calib, lat=site.lat, lon=site.lon, roi=site.roi)
    _, spectrum = summarise(corrected, site.region, ws_ref)
    n_valid = int(corrected["valid"].values.sum())
    assert n_valid > 4 * 32768  # the ROI median takes a systematic sample
    assert corrected.attrs["n_sun_glint"] > 0 and corrected.attrs["n_not_water"] > 0
    assert corrected.attrs["n_outside_roi"] > 0
    # the tile functions one after another in this process: the same numbers
    serial = correct_tiled_serial(bundle, calib, 100, lat=site.lat, lon=site.lon, roi=site.roi)
    assert np.array_equal(serial.rrs_median, spectrum) and serial.n_valid == n_valid
    process_bundle(bundle, site, config, ws_ref, deliver=False)

    out = tmp_path / "out"
    out.mkdir()
    env = cli_env(ws_dask.root)
    p = subprocess.run([sys.executable, "-c", CHILD, str(ws_dask.root), str(bundle), str(out)],
                       capture_output=True, text=True, env=env, timeout=500,
                       cwd=Path(__file__).resolve().parent.parent)
    assert p.returncode == 0, p.stderr[-4000:]
    tiled = json.loads((out / "tiled.json").read_text())

    # tiles ran in two worker processes, neither of them the child's own
    assert len(set(tiled["pids"])) >= 2
    assert len(tiled["pids"]) == 8  # 512 lines / 64
    # same median spectrum (the same sampled pixels), same QC and verdict
    np.testing.assert_array_equal(np.load(out / "rrs_median.npy"), spectrum)
    assert tiled["n_valid"] == n_valid
    for k, v in corrected.attrs.items():
        got = tiled["attrs"][k]
        if k in ("bundle", "calibration_file"):  # paths in the two workspaces
            assert Path(got).name == Path(v).name
            continue
        if isinstance(v, (float, np.floating)) and np.isnan(v):
            assert np.isnan(got), k
        elif isinstance(v, (float, np.floating)):
            assert got == pytest.approx(float(v), rel=1e-12, abs=0), k
        else:
            assert got == v, k

    # process-site took the tiled path; its stored record equals the untiled one
    ref = SiteStore(ws_ref.store_path("big-lake")).read()
    got = SiteStore(ws_dask.store_path("big-lake")).read()
    assert got.sizes["time"] == 1 and not any(ws_dask.inbox("big-lake").iterdir())
    assert len(list(ws_dask.archive("big-lake").iterdir())) == 1
    for name, var in ref.data_vars.items():
        if name == "processed_at":
            continue
        a, g = var.values, got[name].values
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(g, a, err_msg=name)  # NaN == NaN here
        else:
            assert (a == g).all(), name
    assert got["valid_fraction"].values[0] == ref["valid_fraction"].values[0]
    site_run = json.loads((out / "site.json").read_text())
    assert site_run["tiled_calls"] == 1
    assert site_run["values"][0]["chl_a"] == pytest.approx(float(ref["chl_a"].values[0]), rel=1e-6)
