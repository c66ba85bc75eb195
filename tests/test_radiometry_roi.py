"""Region-of-interest masks and statistics."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hsiwq.radiometry.roi import polygon_mask, roi_mask, roi_statistics


def test_rectangle_is_half_open():
    m = polygon_mask((6, 8), [[1, 1], [5, 1], [5, 4], [1, 4]])
    expected = np.zeros((6, 8), bool)
    expected[1:4, 1:5] = True
    assert np.array_equal(m, expected)


def test_triangle_and_vertex_order():
    tri = [[0, 0], [10, 0], [0, 10]]
    m = polygon_mask((12, 12), tri)
    yy, xx = np.mgrid[0:12, 0:12]
    assert np.array_equal(m, (xx + yy < 10))
    assert np.array_equal(polygon_mask((12, 12), tri[::-1]), m)


def test_even_odd_hole_from_self_overlap():
    # outer square traced, then an inner square traced back: the inner one is a hole
    ring = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0], [3, 3], [3, 7], [7, 7], [7, 3], [3, 3]]
    m = polygon_mask((10, 10), ring)
    assert m[1, 1] and m[8, 8] and not m[5, 5]


def test_polygons_are_united_and_masks_pass_through():
    a = [[0, 0], [2, 0], [2, 2], [0, 2]]
    b = [(5, 5), (7, 5), (7, 7), (5, 7)]
    m = roi_mask((8, 8), [a, b])
    assert m.sum() == 8 and m[0, 0] and m[5, 6]
    assert np.array_equal(roi_mask((8, 8), a), polygon_mask((8, 8), a))
    mask = np.eye(8, dtype=bool)
    assert np.array_equal(roi_mask((8, 8), mask), mask)
    assert np.array_equal(roi_mask((8, 8), xr.DataArray(mask)), mask)
    assert roi_mask((8, 8), None).all() and roi_mask((8, 8), []).all()


def test_bad_rois_are_errors():
    with pytest.raises(ValueError):
        roi_mask((4, 4), np.ones((3, 4), bool))
    with pytest.raises(ValueError):
        roi_mask((4, 4), np.ones((4, 4), int))
    with pytest.raises(ValueError):
        polygon_mask((4, 4), [[0, 0], [1, 1]])


def test_roi_statistics_known_values():
    ny, nx = 10, 10
    values = np.arange(ny * nx, dtype=np.float32).reshape(ny, nx)
    spectra = np.stack([values, 2 * values], axis=-1)
    valid = np.ones((ny, nx), bool)
    valid[0, :] = False          # 10 invalid pixels
    spectra[9, 4, 1] = np.nan    # one more (not all bands finite)
    region = np.zeros((ny, nx), bool)
    region[:, :5] = True         # 50 pixels, 5 of them in the invalid row
    stats = roi_statistics(spectra, valid, roi=region)
    use = valid & region
    use[9, 4] = False
    used = values[use]
    assert stats["n_pixels"] == 50 and stats["n_valid"] == 44
    assert stats["valid_fraction"] == pytest.approx(44 / 50)
    for key, q in (("median", 50), ("p10", 10), ("p25", 25), ("p75", 75), ("p90", 90)):
        assert np.allclose(stats[key], [np.percentile(used, q), 2 * np.percentile(used, q)])
    scalar = roi_statistics(values, valid)
    assert isinstance(scalar["median"], float)
    assert scalar["median"] == pytest.approx(np.median(values[1:]))


def test_roi_statistics_without_valid_pixels():
    stats = roi_statistics(np.ones((3, 3, 2)), np.zeros((3, 3), bool))
    assert stats["n_valid"] == 0 and stats["valid_fraction"] == 0.0
    assert np.isnan(stats["median"]).all()
