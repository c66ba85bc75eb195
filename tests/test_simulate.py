"""Tests of hsiwq.simulate: bundle layout, DN bookkeeping, truth, reproducibility, samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from spectral.io import envi

from hsiwq.bio_optics import ForwardModel, kd_lee2013, secchi_lee2015
from hsiwq.io.envi import write_envi
from hsiwq.params import PARAMETER_IDS
from hsiwq.radiometry.glint import sky_glint_factor
from hsiwq.simulate import (
    SAMPLE_ACQUISITIONS,
    make_samples,
    sensor_model,
    simulate_bundle,
    simulate_scene,
    write_bundle,
)
from hsiwq.simulate import bundle as bundle_mod
from hsiwq.simulate.files import EnviCubeWriter
from hsiwq.simulate.scene import SECCHI_WAVELENGTH_NM

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_cubes"
BUNDLE_FILES = {"acquisition.json", "water.hdr", "water.raw", "sky.hdr", "sky.raw",
                "irradiance.hdr", "irradiance.raw", "dark.hdr", "dark.raw", "truth.npz"}
TIME = "2026-07-21T02:15:00Z"


def _load(path: Path) -> np.ndarray:
    return np.asarray(envi.open(str(path)).load(), dtype=float)


def invert(bundle: Path, calibration_dir: Path) -> np.ndarray:
    """Minimal independent radiometric correction: DN → radiance → (Lt − ρ·Li)/Ed."""
    acq = json.loads((bundle / "acquisition.json").read_text())
    cal_file = next(calibration_dir.glob(f"{acq['sensor']}_*.json"))
    cal = json.loads(cal_file.read_text())["channels"]
    t = acq["integration_ms"]
    cw, cs, ci = cal["water"], cal["sky"], cal["irradiance"]
    dark = _load(bundle / "dark.hdr").mean(axis=(0, 1))
    lt = np.array(cw["gain"]) * (_load(bundle / "water.hdr") - dark) / t["water"]
    li = (np.array(cs["gain"]) * (_load(bundle / "sky.hdr") - np.array(cs["offset_dn"]))
          / t["sky"]).mean(axis=(0, 1))
    ed = (np.array(ci["gain"]) * (_load(bundle / "irradiance.hdr")[0, 0]
                                   - np.array(ci["offset_dn"])) / t["irradiance"])
    ed_cam = np.interp(cw["wavelength_nm"], ci["wavelength_nm"], ed)
    rho = float(np.load(bundle / "truth.npz")["rho"])
    return (lt - rho * li) / ed_cam


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# --- bundle layout ---------------------------------------------------------------------------

def test_bundle_layout_and_acquisition_json(tmp_path):
    b = simulate_bundle(tmp_path, water_type="eutrophic_lake", time=TIME, site="taihu-x",
                        shape=(20, 16), n_bands=50, seed=5, wind_speed_ms=4.0)
    assert b == tmp_path / "taihu-x" / "20260721T021500Z"
    assert {p.name for p in b.iterdir()} == BUNDLE_FILES
    assert (tmp_path / "calibration" / "SIM-50_20260101.json").is_file()
    acq = json.loads((b / "acquisition.json").read_text())
    assert acq["site"] == "taihu-x" and acq["sensor"] == "SIM-50" and acq["time"] == TIME
    assert set(acq["integration_ms"]) == {"water", "sky", "irradiance"}
    assert acq["view"]["zenith_deg"] == 40.0
    assert acq["ancillary"]["wind_speed_ms"] == 4.0 and "water_level_m" in acq["ancillary"]
    assert acq["location"] == {"lat": 31.4, "lon": 120.18}
    w = envi.open(str(b / "water.hdr"))
    assert w.shape == (20, 16, 50) and np.dtype(w.dtype) == np.uint16
    assert w.metadata["interleave"] == "bil"
    assert len(w.metadata["wavelength"]) == 50 and "fwhm" in w.metadata
    assert envi.open(str(b / "sky.hdr")).shape == (3, 3, 50)
    irr = envi.open(str(b / "irradiance.hdr"))
    assert irr.shape[:2] == (1, 1) and irr.shape[2] != 50
    wl_i = np.array(irr.metadata["wavelength"], dtype=float)
    assert wl_i[0] <= 350.0 and wl_i[-1] >= 940.0
    assert envi.open(str(b / "dark.hdr")).shape == (4, 16, 50)


def test_typical_water_counts_and_saturation(tmp_path):
    b = simulate_bundle(tmp_path, water_type="eutrophic_lake", time=TIME, shape=(48, 48),
                        n_bands=80, seed=2)
    dn = _load(b / "water.hdr")
    z = np.load(b / "truth.npz")
    peak = dn[z["valid"]].max(axis=1)
    assert 1500 < np.median(peak) < 3500 and peak.max() < 4095
    assert dn.max() <= 4095 and dn.min() >= 0
    # Saturated pixels are exactly those with a band at full scale.
    np.testing.assert_array_equal(z["saturated"], (dn >= 4095).any(axis=2))
    assert (z["saturated"] & z["water"] & ~z["glint"]).sum() == 0
    assert z["saturated"][z["glint"]].any()  # some glint saturates ...
    assert not z["saturated"][z["glint"]].all()  # ... but not all


# --- DN bookkeeping ---------------------------------------------------------------------------

@pytest.mark.parametrize(("water_type", "kwargs"), [
    ("eutrophic_lake", {}),
    ("eutrophic_lake", {"bloom": True, "interleave": "bsq", "byteorder": "big"}),
    ("clear_reservoir", {"interleave": "bip"}),
    ("sediment_river", {"cloud": 0.6, "byteorder": "big"}),
])
def test_inversion_recovers_truth_rrs(tmp_path, water_type, kwargs):
    b = simulate_bundle(tmp_path, water_type=water_type, time=TIME, shape=(40, 40),
                        n_bands=120, seed=11, **kwargs)
    rrs = invert(b, tmp_path / "calibration")
    z = np.load(b / "truth.npz")
    wl = z["wavelength"]
    sel = (wl >= 450) & (wl <= 700)
    v = z["valid"]
    ratio = rrs[v][:, sel] / z["rrs"][v][:, sel]
    assert np.median(np.abs(ratio - 1)) < 0.02
    assert np.all(np.abs(np.median(ratio, axis=0) - 1) < 0.02)


def test_noise_free_inversion_is_exact_to_quantisation(tmp_path):
    b = simulate_bundle(tmp_path, water_type="sediment_river", time=TIME, shape=(16, 16),
                        n_bands=60, seed=1, noise=False)
    rrs = invert(b, tmp_path / "calibration")
    z = np.load(b / "truth.npz")
    sel = (z["wavelength"] >= 450) & (z["wavelength"] <= 700)
    v = z["valid"]
    np.testing.assert_allclose(rrs[v][:, sel], z["rrs"][v][:, sel], rtol=0.01)


# --- truth ------------------------------------------------------------------------------------

def test_truth_contents(tmp_path):
    b = simulate_bundle(tmp_path, water_type="eutrophic_lake", time=TIME, shape=(32, 24),
                        n_bands=40, seed=3, chl=42.0, tss=33.0, cdom=0.8, pc=20.0)
    z = np.load(b / "truth.npz")
    assert z["rrs"].shape == (32, 24, 40) and z["rrs"].dtype == np.float32
    assert z["wavelength"].shape == (40,)
    for pid in PARAMETER_IDS:
        assert z[pid].shape == (32, 24)
        assert np.all(np.isnan(z[pid][z["shore"]])) and np.all(np.isfinite(z[pid][z["water"]]))
    assert np.all(np.isnan(z["rrs"][z["shore"]])) and np.all(z["rrs"][z["water"]] > 0)
    assert z["shore"].any() and z["glint"].any()
    np.testing.assert_array_equal(z["water"], ~z["shore"])
    assert not (z["glint"] & z["shore"]).any()
    means = dict(zip(z["param_ids"], z["mean_params"], strict=True))
    assert means["chl_a"] == pytest.approx(42.0) and means["tss"] == pytest.approx(33.0)
    assert means["phycocyanin"] == pytest.approx(20.0) and means["cdom"] == pytest.approx(0.8)
    chl = z["chl_a"][z["water"]]
    assert 0.03 < np.std(np.log(chl)) < 0.4  # smooth spatial variability of 10–20 %
    rho, method = sky_glint_factor(float(z["wind_speed_ms"]), float(z["sun_zenith_deg"]),
                                   float(z["relative_azimuth_deg"]),
                                   float(z["view_zenith_deg"]))
    assert float(z["rho"]) == pytest.approx(rho) and str(z["rho_method"]) == method
    assert 90 <= float(z["relative_azimuth_deg"]) <= 135


def test_secchi_truth_is_lee2015_of_the_true_iops(tmp_path):
    scene = simulate_scene(water_type="clear_reservoir", time=TIME, shape=(8, 8), seed=4)
    fm = ForwardModel(SECCHI_WAVELENGTH_NM, scene.water_type.iop)
    iy, ix = np.nonzero(scene.water_mask)
    c = [scene.params[k][iy, ix] for k in ("chl_a", "phycocyanin", "tss", "cdom")]
    a, bb = fm.iops(*c)
    kd = kd_lee2013(a, bb, fm.bb_w, scene.sun_zenith_deg)
    zsd = secchi_lee2015(SECCHI_WAVELENGTH_NM, kd, fm.rrs_from_iops(a, bb))
    np.testing.assert_allclose(scene.params["secchi"][iy, ix], zsd)
    assert np.all((zsd > 1.0) & (zsd < 10.0))  # a clear reservoir


def test_scene_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown water type"):
        simulate_scene(water_type="ocean", time=TIME)
    with pytest.raises(ValueError, match="no bloom"):
        simulate_scene(water_type="sediment_river", time=TIME, bloom=True)
    with pytest.raises(ValueError, match="sun too low"):
        simulate_scene(water_type="eutrophic_lake", time="2026-07-21T14:00:00Z")


def test_calibration_conflict_is_reported(tmp_path):
    simulate_bundle(tmp_path, time=TIME, sensor="HSI-9", n_bands=30, shape=(8, 8))
    simulate_bundle(tmp_path, time="2026-07-21T02:16:00Z", sensor="HSI-9", n_bands=30,
                    shape=(8, 8))  # same calibration: fine
    with pytest.raises(ValueError, match="different calibration"):
        simulate_bundle(tmp_path, time=TIME, sensor="HSI-9", n_bands=31, shape=(8, 8))


# --- reproducibility and I/O ------------------------------------------------------------------

def test_same_seed_byte_identical_files(tmp_path):
    kw = dict(water_type="sediment_river", time=TIME, shape=(24, 20), n_bands=64, seed=9,
              interleave="bsq", byteorder="big")
    simulate_bundle(tmp_path / "a", **kw)
    simulate_bundle(tmp_path / "b", **kw)
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert fa.keys() == fb.keys() and len(fa) == len(BUNDLE_FILES) + 1
    assert fa == fb
    simulate_bundle(tmp_path / "c", **{**kw, "seed": 10})
    key = "sim-site/20260721T021500Z/water.raw"
    assert _files(tmp_path / "c")[key] != fa[key]


def test_files_do_not_depend_on_block_size(tmp_path, monkeypatch):
    kw = dict(water_type="eutrophic_lake", time=TIME, shape=(33, 17), n_bands=20, seed=1)
    simulate_bundle(tmp_path / "a", **kw)
    monkeypatch.setattr(bundle_mod, "BLOCK_PIXELS", 50)
    simulate_bundle(tmp_path / "b", **kw)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_streaming_writer_matches_write_envi(tmp_path, interleave, byteorder):
    data = np.random.default_rng(0).integers(0, 4096, (5, 7, 3)).astype(np.uint16)
    wl, fwhm = [400.0, 500.5, 612.25], [5.0, 5.0, 5.0]
    write_envi(tmp_path / "a.hdr", data, wl, interleave=interleave, byteorder=byteorder,
               fwhm_nm=fwhm)
    w = EnviCubeWriter(tmp_path / "b.hdr", data.shape, wl, interleave=interleave,
                       byteorder=byteorder, fwhm_nm=fwhm)
    w.write_lines(0, data[:2])
    w.write_lines(2, data[2:])
    w.close()
    assert (tmp_path / "a.hdr").read_text() == (tmp_path / "b.hdr").read_text()
    assert (tmp_path / "a.raw").read_bytes() == (tmp_path / "b.raw").read_bytes()


def test_write_bundle_two_step(tmp_path):
    sm = sensor_model("HSI-7", n_bands=40)
    scene = simulate_scene(water_type="clear_reservoir", time=TIME, site="res",
                           wavelength_nm=sm.water.wavelength_nm, shape=(12, 10), seed=2,
                           shore_side=None, glint_fraction=0.0)
    b = write_bundle(scene, tmp_path, sensor=sm, calibration_dir=tmp_path / "cal",
                     integration_ms={"water": 20.0, "sky": 5.0, "irradiance": 4.0},
                     store_truth_rrs=False)
    assert json.loads((b / "acquisition.json").read_text())["integration_ms"]["water"] == 20.0
    z = np.load(b / "truth.npz")
    assert "rrs" not in z and z["water"].all() and not z["glint"].any()
    cal = json.loads((tmp_path / "cal" / "HSI-7_20260101.json").read_text())
    assert cal["channels"]["water"]["gain"] == [float(g) for g in sm.water.gain]
    assert cal["channels"]["irradiance"]["saturation_dn"] == 65535


# --- sample cubes -----------------------------------------------------------------------------

def test_sample_cubes_size_and_layout():
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total <= 20 * 2**20
    assert (SAMPLES / "README.md").is_file()
    bundles = sorted(p.parent for p in SAMPLES.rglob("acquisition.json"))
    assert len(bundles) == len(SAMPLE_ACQUISITIONS) == 8
    assert {b.parent.name for b in bundles} == {"taihu-north", "yangtze-nanjing"}
    for b in bundles:
        assert {p.name for p in b.iterdir()} == BUNDLE_FILES
    chl = [float(dict(zip(z["param_ids"], z["mean_params"], strict=True))["chl_a"])
           for z in (np.load(b / "truth.npz") for b in bundles if "taihu" in str(b))]
    assert chl == sorted(chl) and chl[-1] > 50 and chl[0] < 50


def test_sample_calibrations_are_the_ones_used():
    for name, sensor, date in (("taihu-north", "HSI-0001", "20260101"),
                               ("yangtze-nanjing", "HSI-0002", "20260315")):
        cal = REPO / "calibration" / "sensors" / f"{sensor}_{date}.json"
        for b in (SAMPLES / name).iterdir():
            assert json.loads((b / "acquisition.json").read_text())["sensor"] == sensor
            rrs = invert(b, cal.parent)
            z = np.load(b / "truth.npz")
            sel = (z["wavelength"] >= 450) & (z["wavelength"] <= 700)
            ratio = rrs[z["valid"]][:, sel] / z["rrs"][z["valid"]][:, sel]
            assert np.median(np.abs(ratio - 1)) < 0.02, b


def test_sample_cubes_regenerate_byte_identically(tmp_path):
    make_samples(tmp_path / "sample_cubes")
    fresh = _files(tmp_path / "sample_cubes")
    committed = {k: v for k, v in _files(SAMPLES).items() if k != "README.md"}
    stale = sorted(k for k in committed if fresh.get(k) != committed[k])
    assert fresh.keys() == committed.keys()
    assert not stale, (
        "sample_cubes/ is stale (e.g. after a change to sky_glint_factor or the simulator): "
        "regenerate with `hsiwq simulate --samples sample_cubes` (hsiwq.simulate.make_samples)"
        f" and commit; differing files: {stale[:5]}")
    for cal in (tmp_path / "calibration" / "sensors").iterdir():
        assert cal.read_bytes() == (REPO / "calibration" / "sensors" / cal.name).read_bytes()
