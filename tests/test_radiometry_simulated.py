"""Radiometric correction of simulated bundles (hsiwq.simulate) against their ground truth.

Across winds 0–10 m/s, sun zeniths 20–65°, clear and partly cloudy skies and the three water
types, written to disk and read back as a monitor's bundle: median relative Rrs error over
450–700 nm in valid water ≤ 3 %, ≥ 95 % of glint and saturated pixels flagged, ≥ 99 % of
shore pixels rejected, ≤ 3 % of clean water pixels lost.
"""

from __future__ import annotations

import numpy as np
import pytest

import hsiwq.simulate as simulate
from hsiwq.io.bundle import read_bundle
from hsiwq.io.calibration import load_calibrations, select_calibration
from hsiwq.radiometry import correct_bundle

# (water type, wind m/s, time UTC at Taihu 31.4 N → sun zenith, cloud fraction, seed)
SCENARIOS = [
    ("eutrophic_lake", 0.0, "2026-07-01T02:40:00Z", 0.0, 11),   # θs ≈ 20°
    ("eutrophic_lake", 4.0, "2026-07-01T01:40:00Z", 0.5, 12),   # θs ≈ 33°, partly cloudy
    ("eutrophic_lake", 10.0, "2026-07-01T00:30:00Z", 0.0, 13),  # θs ≈ 48°
    ("eutrophic_lake", 7.0, "2026-06-30T23:30:00Z", 0.3, 14),   # θs ≈ 61°
    ("sediment_river", 10.0, "2026-07-01T01:40:00Z", 0.5, 15),
    ("sediment_river", 2.0, "2026-12-21T04:00:00Z", 0.0, 16),   # winter noon, θs ≈ 55°
    ("clear_reservoir", 5.0, "2026-07-01T02:40:00Z", 0.4, 17),
    ("clear_reservoir", 9.0, "2026-06-30T23:15:00Z", 0.0, 18),  # θs ≈ 64°
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("simulated")
    out = []
    for water_type, wind, time, cloud, seed in SCENARIOS:
        path = simulate.simulate_bundle(root, water_type=water_type, time=time,
                                        wind_speed_ms=wind, cloud=cloud, seed=seed,
                                        shape=(80, 72), n_bands=120)
        bundle = read_bundle(path)
        cal = select_calibration(load_calibrations(root / "calibration"), bundle.meta.sensor,
                                 bundle.meta.time)
        ds = correct_bundle(bundle, cal)
        with np.load(path / "truth.npz") as z:
            truth = {k: z[k] for k in ("rrs", "valid", "glint", "saturated", "shore", "rho")}
        out.append((ds, truth))
    return out


def test_scenarios_cover_the_required_conditions(results):
    zen = [ds.attrs["sun_zenith_deg"] for ds, _ in results]
    assert min(zen) < 25 and max(zen) > 60
    assert {ds.attrs["sky_condition"] for ds, _ in results} == {"clear", "cloudy"}
    assert all(ds.attrs["verdict"] == "accepted" for ds, _ in results), \
        [ds.attrs["verdict_reason"] for ds, _ in results]
    for ds, truth in results:  # the simulator and the correction agree on ρ
        assert ds.attrs["rho"] == pytest.approx(float(truth["rho"]), rel=1e-4)  # json rounding


def test_rrs_accuracy_in_valid_water(results):
    errors = []
    for ds, truth in results:
        wl = ds["wavelength"].values
        band = (wl >= 450) & (wl <= 700)
        use = ds["valid"].values & truth["valid"]
        rel = np.abs(ds["rrs"].values[use][:, band] / truth["rrs"][use][:, band] - 1.0)
        errors.append(float(np.median(rel)))
    assert max(errors) <= 0.03, errors


def test_glint_and_saturated_pixels_are_flagged(results):
    hits = total = 0
    for ds, truth in results:
        bad = truth["glint"] | truth["saturated"]
        hits += int(np.count_nonzero(ds["qc"].values[bad]))
        total += int(bad.sum())
        assert np.count_nonzero(ds["qc"].values[bad]) >= 0.95 * bad.sum()
    assert total > 0 and hits >= 0.95 * total


def test_shore_pixels_are_rejected(results):
    for ds, truth in results:
        shore = truth["shore"]
        assert shore.any()
        assert (~ds["valid"].values[shore]).mean() >= 0.99


def test_few_clean_water_pixels_are_lost(results):
    for ds, truth in results:
        clean = truth["valid"]
        assert (~ds["valid"].values[clean]).mean() <= 0.03
