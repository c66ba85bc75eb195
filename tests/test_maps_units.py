"""Small pieces of the maps: block medians against numpy, statistics by hand, retrieval in one
call, a bad gauge reading, bearings."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hsiwq.config import SitesConfig
from hsiwq.maps.blocks import block_medians, make_maps
from hsiwq.maps.chain import acquisition_maps
from hsiwq.maps.geometry import bearing_distance, compass
from hsiwq.maps.stats import spatial_stats, weighted_quantiles
from hsiwq.retrieval.defaults import Retrieval


def test_block_medians_match_numpy_on_partial_blocks_and_invalid_pixels():
    rng = np.random.default_rng(3)
    cube = rng.random((37, 29, 5)).astype("float32")
    valid = rng.random((37, 29)) > 0.3
    valid[:8, :8] = False  # an empty block
    med, counts = block_medians(cube, valid, 8)
    assert med.shape == (5, 4, 5) and counts[0, 0] == 0 and np.isnan(med[0, 0]).all()
    for i in range(5):
        for j in range(4):
            sl = (slice(8 * i, 8 * i + 8), slice(8 * j, 8 * j + 8))
            px = cube[sl][valid[sl]]
            assert counts[i, j] == px.shape[0]
            if px.shape[0]:
                np.testing.assert_allclose(med[i, j], np.median(px, axis=0), rtol=1e-6)


def test_one_retrieval_call_for_all_blocks_and_sparse_blocks_counted():
    calls = []

    def retrieve(spectra):
        calls.append(spectra.shape)
        return Retrieval({"chl_a": spectra[:, 0] * 100}, {"chl_a": "test"}, ood={"chl_a": np.zeros(len(spectra))})

    cube = np.ones((32, 32, 3), "float32") * np.linspace(0.1, 0.4, 32)[None, :, None]
    valid = np.ones((32, 32), bool)
    valid[:16, :16] = False          # block (0, 0) empty
    valid[16:24, 16:32:2] = False    # blocks (2, 2), (2, 3) half valid: kept at 0.5
    valid[24:32, 0:8:1] = np.arange(8)[None, :] < 2   # block (3, 0): 16 of 64 valid, sparse
    m = make_maps(cube, valid, np.array([500.0, 600.0, 700.0]), retrieve, ["chl_a"], block=8)
    assert calls == [(16 - 4 - 1, 3)]   # one call, the usable blocks only
    assert np.isnan(m.values[0, 0, 0]) and np.isnan(m.values[0, 3, 0]) and np.isfinite(m.values[0, 2, 2])
    st = spatial_stats(m, {"chl_a": [25.0]})
    assert (st["map_blocks_valid"], st["map_blocks_sparse"], st["map_blocks_empty"]) == (11, 1, 4)
    # without geometry: fractions of the valid pixels of the mapped cells
    v, w = m.values[0], m.n_valid.astype(float)
    ok = np.isfinite(v)
    assert st["chl_a_above1_fraction"] == pytest.approx(w[ok & (v > 25)].sum() / w[ok].sum())
    assert np.isnan(st["chl_a_above1_area"]) and 0.5 < st["chl_a_above1_col"] < 1


def test_weighted_quantiles_by_hand():
    v = np.array([1.0, 2.0, 3.0, np.nan])
    w = np.array([1.0, 1.0, 2.0, 5.0])
    # midpoints of the cumulative weights: 0.125, 0.375, 0.75 → the median is 2 + (0.5-0.375)/0.375
    assert weighted_quantiles(v, w, [0.5])[0] == pytest.approx(2 + 0.125 / 0.375)
    assert np.isnan(weighted_quantiles(np.array([np.nan]), np.ones(1), [0.5])[0])


def test_a_bad_gauge_reading_keeps_the_maps_in_image_coordinates(caplog):
    cfg = SitesConfig.model_validate({"sites": {"s": {"lat": 31.0, "lon": 120.0, "maps": {
        "block": 8, "camera": {"height_m": 5.0, "tilt_deg": 30.0, "azimuth_deg": 90.0}}}}})
    wl = np.array([500.0, 600.0])
    ds = xr.Dataset({"rrs": (("y", "x", "wavelength"), np.full((16, 16, 2), 0.01, "float32")),
                     "valid": (("y", "x"), np.ones((16, 16), bool))}, coords={"wavelength": wl})

    def retrieve(s):
        return Retrieval({"chl_a": np.full(len(s), 10.0)}, {"chl_a": "test"})

    good = acquisition_maps(ds, cfg.sites["s"], retrieve, 2.0)
    assert good.maps.water_area is not None and good.maps.height == pytest.approx(3.0)
    bad = acquisition_maps(ds, cfg.sites["s"], retrieve, 7.5)  # water 2.5 m above the camera
    assert bad.maps.water_area is None and np.isnan(bad.stats["map_water_area"])
    assert "no geometry" in caplog.text


def test_bearings():
    assert bearing_distance(1.0, 1.0) == pytest.approx((45.0, 2**0.5))
    assert bearing_distance(-3.0, 0.0)[0] == pytest.approx(270.0)
    assert [compass(b) for b in (0, 44, 46, 135, 200, 359)] == ["N", "NE", "NE", "SE", "S", "N"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_block_medians_equal_numpy_median_in_every_memory_layout(seed):
    """Pixel-interleaved, band-sequential and Fortran-ordered cubes, partial and empty blocks,
    ties: each block's median is numpy's median of its valid pixels."""
    rng = np.random.default_rng(seed)
    ny, nx, nb = int(rng.integers(20, 70)), int(rng.integers(20, 70)), 7
    cube = rng.random((ny, nx, nb)).astype("float32")
    cube[rng.random(cube.shape) < 0.2] = 0.25  # ties
    valid = rng.random((ny, nx)) > rng.uniform(0.1, 0.8)
    valid[:16, :16] = False  # an empty block
    for layout in (cube, np.asfortranarray(cube),
                   np.ascontiguousarray(cube.transpose(2, 0, 1)).transpose(1, 2, 0)):
        for block in (4, 8, 16):
            med, counts = block_medians(layout, valid, block)
            for i in range(counts.shape[0]):
                for j in range(counts.shape[1]):
                    sl = (slice(block * i, block * i + block), slice(block * j, block * j + block))
                    px = cube[sl][valid[sl]]
                    assert counts[i, j] == px.shape[0]
                    if px.shape[0]:
                        np.testing.assert_array_equal(med[i, j], np.median(px, axis=0))
                    else:
                        assert np.isnan(med[i, j]).all()
