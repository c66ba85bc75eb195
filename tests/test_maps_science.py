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
from hsiwq.store import SiteStore
from hsiwq.store.maps import MapStore
from hsiwq.workspace import Workspace

SHAPE = (128, 128)
BLOCK = 8
BLOOM = 45.0  # µg/L: between the lake (~12-25) and the patch (×5)
SITE = """
[sites.sim-site]
lat = 31.40
lon = 120.18
timezone = "Asia/Shanghai"

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


def process(tmp_path, sc, sm, *, height=None, level=2.0, block=BLOCK, name="run"):
    """Write the scene as a bundle and run the chain; returns (maps, record values, site)."""
    home = tmp_path / name
    cam = CAMERA.format(height=height) if height is not None else ""
    (home).mkdir(parents=True)
    (home / "sites.toml").write_text(SITE.format(block=block, bloom=BLOOM, camera=cam))
    ws = Workspace(home)
    bundle = write_bundle(sc, tmp_path / f"{name}-in", sensor=sm, water_level_m=level,
                          calibration_dir=ws.calibration_dir)
    config, _ = load_config(ws.config_file)
    site = config.sites["sim-site"]
    res = process_bundle(bundle, site, config, ws, deliver=False)
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
