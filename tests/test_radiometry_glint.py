"""ρ (sky-glint factor): Ruddick 2006 formula, Mobley 1999 table, interpolation, NIR similarity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hsiwq.radiometry.glint import (
    MOBLEY1999_RELATIVE_AZIMUTH_DEG,
    MOBLEY1999_RHO_40,
    MOBLEY1999_SUN_ZENITH_DEG,
    MOBLEY1999_WIND_MS,
    fresnel_reflectance,
    nir_similarity_correction,
    rho_mobley1999,
    rho_ruddick2006,
    sky_glint_factor,
)


@pytest.mark.parametrize("wind, expected", [
    (0.0, 0.0256),                      # flat surface, θv = 40°
    (5.0, 0.0256 + 0.00195 + 0.00085),  # 0.0294
    (10.0, 0.0256 + 0.0039 + 0.0034),   # 0.0329
])
def test_ruddick2006_formula(wind, expected):
    assert rho_ruddick2006(wind) == pytest.approx(expected, abs=1e-12)
    assert np.allclose(rho_ruddick2006(np.array([wind, wind])), expected)


# (wind m/s, sun zenith °, relative azimuth °, ρ) read from Mobley's rhoTable_AO1999 at θv = 40°
MOBLEY_ENTRIES = [
    (0.0, 30.0, 135.0, 0.0256),
    (2.0, 20.0, 90.0, 0.0270),
    (4.0, 30.0, 135.0, 0.0276),
    (6.0, 30.0, 135.0, 0.0290),
    (8.0, 50.0, 45.0, 0.0527),
    (10.0, 40.0, 135.0, 0.0329),
    (12.0, 0.0, 90.0, 0.1014),
    (14.0, 60.0, 120.0, 0.0364),
    (14.0, 80.0, 180.0, 0.0352),
]


@pytest.mark.parametrize("wind, sz, phi, expected", MOBLEY_ENTRIES)
def test_mobley1999_table_entries(wind, sz, phi, expected):
    assert rho_mobley1999(wind, sz, phi) == pytest.approx(expected, abs=1e-9)
    rho, method = sky_glint_factor(wind, sz, phi, 40.0)
    assert method == "mobley1999" and rho == pytest.approx(expected, abs=1e-9)


def test_mobley1999_table_shape_and_calm_surface():
    assert MOBLEY1999_RHO_40.shape == (8, 9, 13)
    # a calm surface reflects like a Fresnel mirror whatever the sun: 0.0256–0.0257 at 40°
    assert np.all(np.abs(MOBLEY1999_RHO_40[0] - 0.02565) <= 0.0001)
    # the usual recommendation (Mobley 1999): ρ ≈ 0.028 at 5 m/s, θs = 30°, φ = 135°
    assert rho_mobley1999(5.0, 30.0, 135.0) == pytest.approx(0.028, abs=0.0005)


def test_mobley1999_interpolation_lies_between_neighbours():
    rng = np.random.default_rng(7)
    grids = (MOBLEY1999_WIND_MS, MOBLEY1999_SUN_ZENITH_DEG, MOBLEY1999_RELATIVE_AZIMUTH_DEG)
    for _ in range(300):
        idx = [int(rng.integers(0, g.size - 1)) for g in grids]
        frac = rng.random(3)
        point = [g[i] + f * (g[i + 1] - g[i]) for g, i, f in zip(grids, idx, frac)]
        corners = [MOBLEY1999_RHO_40[idx[0] + a, idx[1] + b, idx[2] + c]
                   for a, b, c in itertools.product((0, 1), repeat=3)]
        rho = rho_mobley1999(*point)
        assert min(corners) - 1e-12 <= rho <= max(corners) + 1e-12


def test_mobley1999_interpolates_not_snaps():
    lo, hi = rho_mobley1999(4.0, 30.0, 135.0), rho_mobley1999(6.0, 30.0, 135.0)
    assert rho_mobley1999(5.0, 30.0, 135.0) == pytest.approx(0.5 * (lo + hi), abs=1e-12)
    a, b = rho_mobley1999(8.0, 40.0, 120.0), rho_mobley1999(8.0, 40.0, 135.0)
    assert rho_mobley1999(8.0, 40.0, 125.0) == pytest.approx(a + (b - a) / 3.0, abs=1e-12)
    a, b = rho_mobley1999(10.0, 30.0, 90.0), rho_mobley1999(10.0, 40.0, 90.0)
    assert rho_mobley1999(10.0, 37.5, 90.0) == pytest.approx(a + 0.75 * (b - a), abs=1e-12)


def test_mobley1999_clamps_and_folds():
    assert rho_mobley1999(20.0, 30.0, 135.0) == rho_mobley1999(14.0, 30.0, 135.0)
    assert rho_mobley1999(5.0, 85.0, 135.0) == rho_mobley1999(5.0, 80.0, 135.0)
    assert rho_mobley1999(5.0, 30.0, 225.0) == rho_mobley1999(5.0, 30.0, 135.0)
    assert rho_mobley1999(5.0, 30.0, -135.0) == rho_mobley1999(5.0, 30.0, 135.0)


def test_sky_glint_factor_falls_back_to_ruddick():
    assert sky_glint_factor(None) == (pytest.approx(0.0256), "ruddick2006")
    assert sky_glint_factor(5.0) == (pytest.approx(rho_ruddick2006(5.0)), "ruddick2006")
    assert sky_glint_factor(5.0, 30.0, None)[1] == "ruddick2006"
    assert sky_glint_factor(float("nan"), 30.0, 135.0)[1] == "ruddick2006"
    assert sky_glint_factor(5.0, 30.0, 135.0)[1] == "mobley1999"


def test_view_zenith_adjustment_uses_fresnel_ratio():
    assert fresnel_reflectance(0.0) == pytest.approx(0.0211, abs=1e-4)
    rho40, _ = sky_glint_factor(4.0, 30.0, 135.0, 40.0)
    rho35, _ = sky_glint_factor(4.0, 30.0, 135.0, 35.0)
    assert rho35 == pytest.approx(rho40 * fresnel_reflectance(35.0) / fresnel_reflectance(40.0))
    assert rho35 < rho40


def test_nir_similarity_correction_removes_flat_offset():
    wl = np.arange(400.0, 901.0, 5.0)
    # NIR water-leaving shape with Rrs(720)/Rrs(780) = 2.35, plus a flat residual ε
    water = 0.004 * np.interp(wl, [400, 700, 720, 780, 900], [1.0, 1.0, 2.35, 1.0, 0.2]) * 0.3
    eps = np.array([0.0, 0.0004, -0.0002])[:, None]
    measured = (water[None, :] + eps).astype(np.float32)
    corrected, est = nir_similarity_correction(measured, wl)
    assert np.allclose(est, eps[:, 0], atol=2e-7)
    assert np.allclose(corrected, water[None, :], atol=2e-7)
    with pytest.raises(ValueError):
        nir_similarity_correction(measured[:, :50], wl[:50])
