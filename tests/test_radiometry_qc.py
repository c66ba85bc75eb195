"""Per-pixel QC rules and acquisition verdict reasons, each on a case built to trip it."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.radiometry import pixelqc as pq
from hsiwq.radiometry import qc as q

WL = np.arange(400.0, 901.0, 5.0)


def water(n: int = 1) -> np.ndarray:
    """Plausible turbid-lake Rrs [sr-1]: green peak, red trough, small NIR."""
    r = (0.002 + 0.006 * np.exp(-((WL - 565) / 55) ** 2) + 0.002 * np.exp(-((WL - 705) / 15) ** 2)
         - 0.0015 * np.clip((WL - 700) / 200, 0, 1))
    return np.tile(r.astype(np.float32), (n, 1))


OPT = q.QCOptions()


def flags_of(rrs: np.ndarray, options: q.QCOptions = OPT) -> np.ndarray:
    """Flags of a few spectra, each judged against a background of 200 clean water pixels."""
    scene = np.concatenate([water(200), rrs])
    return pq.pixel_flags(scene, WL, options)[200:]


def test_flag_table_and_cf_attributes():
    assert [int(v) for v in q.QC_FLAGS.values()] == [1, 2, 4, 8, 16, 32]
    attrs = q.qc_attrs()
    assert attrs["flag_masks"].dtype == np.uint16
    assert attrs["flag_meanings"].split() == [n.lower() for n in q.QC_FLAGS]


def test_clean_water_passes():
    assert (flags_of(water(5)) == 0).all()


def test_negative_rrs_in_400_700():
    r = water(3)
    r[1, 2] = -1e-4            # 410 nm
    r[2, -1] = -1e-3           # 900 nm: outside the tested range
    f = flags_of(r)
    assert f.tolist() == [0, int(q.NEGATIVE_RRS), 0]
    assert flags_of(r, q.QCOptions(negative_tolerance=2e-4))[1] == 0


def test_not_water_vegetation_red_edge():
    veg = (0.01 + 0.1 / (1 + np.exp(-(WL - 715) / 10))).astype(np.float32)  # R ≈ 0.35 in NIR
    veg[(WL > 640) & (WL < 690)] = 0.008
    f = flags_of(np.stack([water(1)[0], veg]))
    assert f[0] == 0 and f[1] == q.NOT_WATER


def test_not_water_bright_flat_and_very_bright():
    concrete = np.full(WL.size, 0.06, np.float32)     # flat, NIR as bright as green
    soil = (0.02 + 0.00003 * (WL - 400)).astype(np.float32)  # rising to the NIR
    white_hull = np.full(WL.size, 0.25, np.float32)
    f = flags_of(np.stack([concrete, soil, white_hull]))
    assert f.tolist() == [q.NOT_WATER] * 3  # shore, not glint, though NIR-bright


def test_turbid_water_is_not_mistaken_for_shore():
    turbid = water(300) * 5.0  # Rrs(560) ≈ 0.04 sr-1, NIR still absorbed
    assert (pq.pixel_flags(turbid, WL) == 0).all()


def test_sun_glint_from_nir_excess():
    rng = np.random.default_rng(1)
    n = 2000
    r = water(n) + rng.normal(0, 2e-5, (n, WL.size)).astype(np.float32)
    glinted = rng.choice(n, 60, replace=False)
    r[glinted] += rng.uniform(0.001, 0.2, (60, 1)).astype(np.float32)  # flat offset
    flags = pq.pixel_flags(r, WL, OPT)
    assert set(np.flatnonzero(flags)) == set(glinted.tolist())
    assert (flags[glinted] == q.SUN_GLINT).all()  # glint, even where NIR-bright


def test_glint_statistics_need_a_background():
    bands = pq.QCBands.from_wavelength(WL, OPT)
    prod = bands.products(water(5))
    nw, g, info = pq.scene_flags(prod, np.zeros(5, np.uint16), bands, OPT)
    assert not g.any() and np.isnan(info["glint_threshold"])  # < 10 pixels: no statistics
    qc = np.full(5, q.SATURATED, np.uint16)
    assert np.isnan(pq.scene_flags(bands.products(water(5)), qc, bands, OPT)[2]["glint_slope"])


def test_no_data_detects_non_finite():
    r = water(3)
    r[1, 10] = np.nan
    assert pq.no_data(r).tolist() == [False, True, False]
    assert pq.pixel_flags(np.concatenate([water(20), r]), WL)[21] == q.NO_DATA


def test_any_and_reduce_helpers():
    rng = np.random.default_rng(3)
    for n in (1, 7, 8, 13, 120):
        m = rng.random((5, 6, n)) > 0.97
        assert np.array_equal(pq.any_last(m), m.any(axis=-1))
        x = rng.random((5, 6, n)).astype(np.float32)
        assert np.array_equal(pq.reduce_last(np.minimum, x), x.min(axis=-1))


def test_camera_without_nir_skips_nir_tests():
    wl = np.arange(400.0, 701.0, 5.0)
    bands = pq.QCBands.from_wavelength(wl, OPT)
    assert not bands.has_rededge and not bands.has_glint
    r = np.full((20, wl.size), 0.005, np.float32)
    assert (pq.pixel_flags(r, wl, OPT) == 0).all()


# ---- acquisition verdict -------------------------------------------------------------------

ED_WL = np.arange(350.0, 951.0, 1.0)
GOOD = dict(integration_ms={"water": 12.0, "sky": 6.0, "irradiance": 4.0}, sun_zenith_deg=35.0,
            ed=np.full(ED_WL.size, 1.5), ed_wavelength=ED_WL,
            li=np.full(ED_WL.size, 0.03), li_wavelength=ED_WL, valid_fraction=0.8)


def verdict(**changes):
    return q.acquisition_verdict(**{**GOOD, **changes})


def test_good_acquisition_is_accepted():
    v = verdict()
    assert v.accepted and v.verdict == "accepted" and v.reason == ""


@pytest.mark.parametrize("changes, reason", [
    ({"integration_ms": {"water": 12.0, "sky": 0.0, "irradiance": 4.0}}, "integration"),
    ({"integration_ms": {"water": 12.0, "sky": 6.0}}, "integration"),
    ({"ed": np.where(ED_WL == 600, np.nan, 1.5)}, "invalid irradiance"),
    ({"ed": np.where(ED_WL == 600, -0.1, 1.5)}, "invalid irradiance"),
    ({"li": np.where(ED_WL == 600, np.inf, 0.03)}, "invalid sky"),
    ({"sun_zenith_deg": 97.0}, "night"),
    ({"sun_zenith_deg": 75.0}, "sun too low"),
    ({"ed": np.full(ED_WL.size, 0.05)}, "Ed too low"),
    ({"saturated_channels": ("irradiance",)}, "saturated irradiance"),
    ({"li": np.full(ED_WL.size, 0.45)}, "cloud"),
    ({"valid_fraction": 0.01}, "too few valid"),
])
def test_each_reject_reason(changes, reason):
    v = verdict(**changes)
    assert v.verdict == "rejected" and reason in v.reason


def test_thresholds_are_options():
    assert verdict(sun_zenith_deg=75.0, options=q.QCOptions(max_sun_zenith_deg=80.0)).accepted
    assert not verdict(li=np.full(ED_WL.size, 0.1)).reason  # ratio 0.067: cloudy but accepted
    assert verdict(li=np.full(ED_WL.size, 0.1),
                   options=q.QCOptions(max_sky_ratio=0.05)).reason.startswith("cloud")


def test_sky_ratio_on_own_grids():
    assert q.sky_ratio(np.array([0.03, 0.05]), np.array([700.0, 800.0]),
                       np.array([1.0, 1.0]), np.array([740.0, 760.0])) == pytest.approx(0.04)
    assert np.isnan(q.sky_ratio(np.ones(2), np.array([400.0, 700.0]), np.ones(2),
                                np.array([400.0, 900.0])))
