"""Maps against the simulator's truth: block maps of simulated scenes with a localized bloom
patch, ranked like the truth averaged to the same blocks (Spearman), and the bloom's area in
m² for two pole heights × two water levels; one footprint against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from hsiwq.config import load_config
from hsiwq.maps.blocks import block_sums
from hsiwq.maps.geometry import CameraGeometry, footprints
from hsiwq.pipeline import process_bundle
from hsiwq.simulate import simulate_scene, write_bundle
from hsiwq.simulate.scene import _secchi_map
from hsiwq.simulate.sensor_model import sensor_model
from hsiwq.store import Policy, SiteStore
from hsiwq.store.maps import MapStore
from hsiwq.workspace import Workspace

SHAPE = (128, 128)
#: Past-dated acquisitions: no random retention on the write path (it would coarsen them).
NO_MAINTENANCE = Policy(maintain_probability=0)
BLOCK = 8
BLOOM = 45.0  # µg/L: between the lake (~12-25) and the patch (×5)
SITE = """
[sites.sim-site]
lat = 31.40
lon = 120.18
timezone = "Asia/Shanghai"
region = "taihu"  # the simulator's eutrophic-lake SIOPs: the maps, not the model, are tested

[sites.sim-site.maps]
block = {block}
thresholds = {{ chl_a = [{bloom}] }}
{camera}
"""
CAMERA = """
[sites.sim-site.maps.camera]
height_m = {height}
tilt_deg = 40.0
azimuth_deg = 135.0
fov_x_deg = 30.0
fov_y_deg = 30.0
"""


def patch_mask(shape, centre=(0.35, 0.6), radius=0.2):
    """A disk-shaped patch [fractions of the image]."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    cy, cx, r = centre[0] * shape[0], centre[1] * shape[1], radius * min(shape)
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def bloom_scene(seed: int, factor: float = 5.0, **patch):
    """A eutrophic-lake scene whose chl-a and phycocyanin are ``factor`` × higher in a disk.

    Turbidity and Secchi depth are re-derived from the changed constituents. The turbidity
    truth is the particles' (k_tss·TSS + k_chl·Chl) times the scene's acquisition-level
    factor: the simulator's per-pixel covariate scatter around it (a turbidity that no
    particle in the forward model causes, invisible to any optical sensor) is left out.
    """
    sm = sensor_model("SIM-100", n_bands=100)
    sc = simulate_scene(water_type="eutrophic_lake", shape=SHAPE, wavelength_nm=sm.water.wavelength_nm,
                        seed=seed, chl=15.0 * (1 + 0.3 * (seed % 3)), site="sim-site",
                        time="2026-07-01T03:15:00Z", view_zenith_deg=40.0)
    m = patch_mask(SHAPE, **patch) & sc.water_mask
    p = sc.params
    cov = sc.water_type.covariance
    old = cov.turbidity_per_tss * p["tss"] + cov.turbidity_per_chl * p["chl_a"]
    p["chl_a"] = np.where(m, p["chl_a"] * factor, p["chl_a"])
    p["phycocyanin"] = np.where(m, p["phycocyanin"] * factor, p["phycocyanin"])
    new = cov.turbidity_per_tss * p["tss"] + cov.turbidity_per_chl * p["chl_a"]
    factor_acq = np.exp(np.nanmean(np.log(p["turbidity"] / old)[sc.water_mask]))
    p["turbidity"] = new * factor_acq
    p["secchi"] = np.where(sc.water_mask, _secchi_map(sc.water_type, *(np.nan_to_num(p[k], nan=1.0) for k in (
        "chl_a", "phycocyanin", "tss", "cdom")), sc.sun_zenith_deg), np.nan)
    return sc, sm, m


def own_workspace(home) -> Workspace:
    """A workspace with its own sensor-calibration folder (never the repository's)."""
    (home / "calibration" / "sensors").mkdir(parents=True, exist_ok=True)
    ws = Workspace(home)
    assert ws.calibration_dir == home / "calibration" / "sensors", "unset HSIWQ_CALIBRATION"
    return ws


def process(tmp_path, sc, sm, *, height=None, level=2.0, block=BLOCK, name="run"):
    """Write the scene as a bundle and run the chain; returns (maps, record values, site)."""
    home = tmp_path / name
    cam = CAMERA.format(height=height) if height is not None else ""
    (home).mkdir(parents=True)
    (home / "sites.toml").write_text(SITE.format(block=block, bloom=BLOOM, camera=cam))
    ws = own_workspace(home)
    bundle = write_bundle(sc, tmp_path / f"{name}-in", sensor=sm, water_level_m=level,
                          calibration_dir=ws.calibration_dir)
    config, _ = load_config(ws.config_file)
    site = config.sites["sim-site"]
    res = process_bundle(bundle, site, config, ws, deliver=False, store_policy=NO_MAINTENANCE)
    assert res.verdict == "accepted", res.reason
    store = SiteStore(ws.store_path("sim-site"))
    return MapStore(store.objects).read(), store.read(), site


def truth_blocks(values, water, block=BLOCK):
    """The truth averaged over each block's water pixels."""
    s = block_sums(np.where(water, values, 0.0), block)
    n = block_sums(water.astype(float), block)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_maps_rank_like_the_truth(tmp_path, seed):
    sc, sm, _ = bloom_scene(seed)
    maps, ds, _ = process(tmp_path, sc, sm)
    got = {}
    for j, p in enumerate(maps.params):
        est = maps.values[0, j]
        truth = truth_blocks(sc.params[p], sc.water_mask)
        ok = np.isfinite(est) & np.isfinite(truth)
        assert ok.sum() >= 0.7 * est.size
        got[p] = spearmanr(est[ok], truth[ok]).statistic
    print(f"seed {seed}: Spearman rho " + ", ".join(f"{p} {r:.3f}" for p, r in got.items()))
    for p in ("chl_a", "tss", "turbidity"):
        assert got[p] >= 0.9, (p, got[p])


@pytest.mark.parametrize("seed", [2, 4])
def test_red_band_turbidity_misreads_a_bloom(tmp_path, seed):
    """Why the bloom region takes near-infrared turbidity: Dogliotti's switching algorithm, on
    the same block spectra, reads the patch's pigment absorption at 645 nm as clearer water."""
    from hsiwq.retrieval.sediment import turbidity_dogliotti2015
    sc, sm, _ = bloom_scene(seed)
    maps, _, _ = process(tmp_path, sc, sm)
    assert maps.meta["algorithms"]["turbidity"] == "dogliotti2015-nir"
    store = SiteStore(Workspace(tmp_path / "run").store_path("sim-site"))
    spectra, wavelength = MapStore(store.objects).spectra(int(maps.time[0]))
    truth = truth_blocks(sc.params["turbidity"], sc.water_mask)
    red = turbidity_dogliotti2015(spectra, wavelength)
    ok = np.isfinite(red) & np.isfinite(truth)
    assert spearmanr(red[ok], truth[ok]).statistic < 0.8


def test_footprint_matches_a_hand_computation():
    # nadir, 10 m above the water, 60° FOV over 100 pixels: (2·10·tan 30° / 100)² each
    cam = CameraGeometry(height_m=12.0, tilt_deg=0.0, azimuth_deg=0.0, fov_x_deg=60.0, fov_y_deg=60.0)
    fp = footprints(cam, (100, 100), water_level_m=2.0)
    side = 2 * 10 * math.tan(math.radians(30)) / 100
    assert np.allclose(fp.area, side**2, rtol=1e-9)
    assert fp.area.sum() == pytest.approx((2 * 10 * math.tan(math.radians(30))) ** 2, rel=1e-9)
    # tilted 40° towards the south-east: the central pixel of 101 sees the water at range
    # R = h / cos 40° and obliquely, A ≈ R² δ² / cos 40° with δ its angular size
    cam = CameraGeometry(height_m=12.0, tilt_deg=40.0, azimuth_deg=135.0, fov_x_deg=20.0, fov_y_deg=20.0)
    fp = footprints(cam, (101, 101), water_level_m=2.0)
    delta = 2 * math.tan(math.radians(10)) / 101
    rng = 10 / math.cos(math.radians(40))
    assert fp.area[50, 50] == pytest.approx(rng**2 * delta**2 / math.cos(math.radians(40)), rel=1e-3)
    # and it lies on the optical axis: 10·tan 40° = 8.39 m towards 135°
    d = 10 * math.tan(math.radians(40))
    assert fp.east[50, 50] == pytest.approx(d * math.sin(math.radians(135)), abs=1e-9)
    assert fp.north[50, 50] == pytest.approx(d * math.cos(math.radians(135)), abs=1e-9)
    # the far (top) pixels are larger than the near ones, as perspective says
    assert fp.area[0, 50] > fp.area[50, 50] > fp.area[100, 50]


def test_camera_geometry_is_validated():
    with pytest.raises(ValueError, match="horizon"):
        CameraGeometry(height_m=10, tilt_deg=80, azimuth_deg=0, fov_y_deg=30)
    cam = CameraGeometry(height_m=3.0, tilt_deg=30, azimuth_deg=0)
    with pytest.raises(ValueError, match="not below the camera"):
        footprints(cam, (10, 10), water_level_m=3.5)


@pytest.mark.parametrize("height", [8.0, 15.0])
def test_bloom_area_in_square_metres(tmp_path, height):
    sc, sm, m = bloom_scene(4)
    cam = CameraGeometry(height_m=height, tilt_deg=40.0, azimuth_deg=135.0, fov_x_deg=30.0, fov_y_deg=30.0)
    areas = {}
    for level in (1.0, 3.0):
        _, ds, _ = process(tmp_path, sc, sm, height=height, level=level, name=f"h{height}-l{level}")
        est = float(ds["chl_a_above1_area"].values[0])
        fp = footprints(cam, SHAPE, level)
        truth = float(fp.area[sc.water_mask & (sc.params["chl_a"] > BLOOM)].sum())
        print(f"pole {height} m, water level {level} m: bloom area {est:.1f} m² (truth {truth:.1f} m², "
              f"{100 * (est / truth - 1):+.1f} %)")
        assert float(ds["chl_a_above1_threshold"].values[0]) == BLOOM
        assert est == pytest.approx(truth, rel=0.15)
        areas[level] = est
    # same image, water 2 m higher: every footprint shrinks by ((H-3)/(H-1))²
    assert areas[3.0] / areas[1.0] == pytest.approx(((height - 3) / (height - 1)) ** 2, rel=1e-3)


def test_per_pixel_view_angles_agree_with_the_pinhole(tmp_path):
    """A laboratory table of per-pixel angles (here: the pinhole's own) gives the same
    positions, and footprints within 1 % inside the image."""
    from hsiwq.maps.geometry import _rays

    cam = CameraGeometry(height_m=10.0, tilt_deg=35.0, azimuth_deg=200.0, fov_x_deg=24.0, fov_y_deg=18.0)
    ny, nx = 60, 80
    tx, ty = math.tan(math.radians(12)), math.tan(math.radians(9))
    u = ((np.arange(nx) + 0.5) / nx * 2 - 1) * tx
    v = ((np.arange(ny) + 0.5) / ny * 2 - 1) * ty
    d = _rays(cam, *np.meshgrid(u, v))
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    np.savez(tmp_path / "angles.npz", zenith_deg=np.degrees(np.arccos(-d[..., 2])),
             azimuth_deg=np.degrees(np.arctan2(d[..., 0], d[..., 1])) % 360)
    table = CameraGeometry(height_m=10.0, tilt_deg=35.0, azimuth_deg=200.0, view_angles="angles.npz")
    a, b = footprints(cam, (ny, nx), 1.0), footprints(table, (ny, nx), 1.0, root=tmp_path)
    np.testing.assert_allclose(b.east, a.east, atol=1e-9)
    np.testing.assert_allclose(b.north, a.north, atol=1e-9)
    np.testing.assert_allclose(b.area[1:-1, 1:-1], a.area[1:-1, 1:-1], rtol=0.01)
    with pytest.raises(ValueError, match="view angles of shape"):
        footprints(table, (ny, nx + 1), 1.0, root=tmp_path)
