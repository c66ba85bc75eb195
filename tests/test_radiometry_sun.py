"""Sun position against the NREL SPA reference example; relative azimuth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hsiwq.radiometry.sun import relative_azimuth, solar_position

# Reda & Andreas (2004), NREL SPA paper, Table A5.1 example: 2003-10-17 12:30:30 local time,
# UTC−7, 39.742476 N, 105.1786 W, 1830.14 m, 820 mbar, 11 °C, ΔT = 67 s →
# topocentric zenith 50.11162°, azimuth 194.34024°.
SPA_TIME = datetime(2003, 10, 17, 12, 30, 30, tzinfo=timezone(timedelta(hours=-7)))
SPA_LAT, SPA_LON = 39.742476, -105.1786


def test_spa_reference_example_exact_conditions():
    zen, az = solar_position(SPA_TIME, SPA_LAT, SPA_LON, altitude_m=1830.14, pressure_pa=82000.0,
                             temperature_c=11.0, delta_t_s=67.0)
    assert zen == pytest.approx(50.11162, abs=1e-4)
    assert az == pytest.approx(194.34024, abs=1e-4)


def test_spa_reference_example_default_conditions():
    # sea-level pressure and pvlib's ΔT change refraction by ~0.004°: within 0.01°
    zen, az = solar_position(SPA_TIME, SPA_LAT, SPA_LON)
    assert zen == pytest.approx(50.11162, abs=0.01)
    assert az == pytest.approx(194.34024, abs=0.01)


def test_naive_time_is_utc():
    naive = SPA_TIME.astimezone(timezone.utc).replace(tzinfo=None)
    assert solar_position(naive, SPA_LAT, SPA_LON) == solar_position(SPA_TIME, SPA_LAT, SPA_LON)


@pytest.mark.parametrize("sun, view, expected", [
    (135.0, 0.0, 135.0), (0.0, 135.0, 135.0), (350.0, 10.0, 20.0), (10.0, 350.0, 20.0),
    (90.0, 270.0, 180.0), (200.0, 200.0, 0.0), (-45.0, 90.0, 135.0),
])
def test_relative_azimuth_folds_to_0_180(sun, view, expected):
    assert relative_azimuth(sun, view) == pytest.approx(expected)
