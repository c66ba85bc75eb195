"""DN → radiance: dark subtraction, integration time, gain, non-linearity, saturation."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hsiwq.errors import CalibrationError
from hsiwq.radiometry.dn import (
    apply_nonlinearity,
    calibration_on_bands,
    channel_coefficients,
    counts_to_radiance,
    saturated,
    spectrum_radiance,
)
from hsiwq.sensor import ChannelCalibration

WL = np.array([400.0, 500.0, 600.0, 700.0])


def cube(values, wl=WL):
    v = np.asarray(values, dtype=np.float32)
    return xr.DataArray(v, dims=("y", "x", "wavelength"), coords={"wavelength": wl})


def cal(gain=(1e-3, 2e-3, 3e-3, 4e-3), offset=(100.0, 110.0, 120.0, 130.0), sat=4095.0,
        wl=WL, nl=None):
    return ChannelCalibration(np.asarray(wl, float), np.asarray(gain, float),
                              np.asarray(offset, float), sat, nl)


def test_offset_dark_integration_and_gain():
    dn = np.full((2, 3, 4), 1100.0)
    coef = channel_coefficients(cube(dn), cal(), integration_ms=10.0)
    rad = counts_to_radiance(dn.astype(np.float32), coef)
    expected = np.array([1e-3, 2e-3, 3e-3, 4e-3]) * (1100.0 - np.array([100, 110, 120, 130])) / 10
    assert rad.dtype == np.float32
    assert np.allclose(rad, expected, rtol=1e-6)


def test_dark_frame_mean_replaces_offset():
    dark = np.full((5, 3, 4), 200.0)
    dark[0, 0, 0] = np.nan  # ignored value in the dark frame
    dark[1] += 10.0         # mean over lines and samples: 202
    coef = channel_coefficients(cube(np.zeros((1, 3, 4))), cal(), 5.0, dark=cube(dark))
    assert np.allclose(coef.dark_dn[1:], 202.0, atol=1e-4)
    assert coef.dark_dn[0] == pytest.approx((11 * 200.0 + 3 * 210.0) / 14)  # NaN ignored
    per_x = channel_coefficients(cube(np.zeros((1, 3, 4))), cal(), 5.0, dark=cube(dark),
                                 dark_per_sample=True)
    assert per_x.dark_dn.shape == (3, 4)


def test_calibration_matched_by_wavelength():
    # calibration on a shifted, finer grid with gain linear in λ: interpolation is exact
    cwl = np.arange(395.0, 706.0, 2.5)
    c = ChannelCalibration(cwl, 1e-5 * cwl, 0.1 * cwl, 4095.0)
    on = calibration_on_bands(c, WL)
    assert np.allclose(on["gain"], 1e-5 * WL)
    assert np.allclose(on["offset_dn"], 0.1 * WL)


def test_calibration_not_covering_the_bands_is_an_error():
    with pytest.raises(CalibrationError, match="calibrated for 400–700 nm"):
        calibration_on_bands(cal(), np.array([400.0, 800.0]), where="cal.json")


def test_nonlinearity_polynomial():
    s = np.array([[100.0, 1000.0]], dtype=np.float32)
    out = apply_nonlinearity(s.copy(), np.array([1e-5, 1e-9]))
    expected = s * (1 + 1e-5 * s + 1e-9 * s**2)
    assert np.allclose(out, expected, rtol=1e-6)
    coef = channel_coefficients(cube(np.zeros((1, 1, 4))), cal(nl=np.array([1e-5])), 1.0)
    rad = counts_to_radiance(np.full((1, 1, 4), 1100.0, np.float32), coef)
    sig = 1100.0 - np.array([100, 110, 120, 130])
    assert np.allclose(rad[0, 0], np.array([1e-3, 2e-3, 3e-3, 4e-3]) * sig * (1 + 1e-5 * sig))


def test_saturation_any_band_of_raw_counts():
    dn = np.full((2, 2, 4), 1000.0, dtype=np.float32)
    dn[0, 1, 2] = 4095.0
    dn[1, 0, 0] = np.nan
    sat = saturated(dn, 4095.0)
    assert sat.tolist() == [[False, True], [False, False]]


def test_invalid_integration_gives_nan_not_an_exception():
    coef = channel_coefficients(cube(np.zeros((1, 1, 4))), cal(), 0.0)
    assert np.isnan(coef.scale).all()


def test_spectrum_radiance_mean_and_saturation():
    dn = np.stack([np.full((1, 4), 1100.0), np.full((1, 4), 1300.0)])  # (2, 1, 4)
    dn[1, 0, 3] = np.nan
    wl, rad, sat = spectrum_radiance(cube(dn), cal(), 10.0)
    mean_dn = np.array([1200.0, 1200.0, 1200.0, 1100.0])
    assert np.allclose(rad, np.array([1e-3, 2e-3, 3e-3, 4e-3]) * (mean_dn - [100, 110, 120, 130]) / 10)
    assert not sat and np.array_equal(wl, WL)
    dn[0, 0, 0] = 5000.0
    assert spectrum_radiance(cube(dn), cal(), 10.0)[2]
