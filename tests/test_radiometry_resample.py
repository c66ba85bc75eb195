"""Resampling of sky and irradiance spectra to the camera's bands."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.radiometry.resample import (
    FWHM_PER_SIGMA,
    band_window,
    gaussian_srf_matrix,
    resample_spectrum,
)


def test_linear_interpolation_by_band_centre_is_exact_for_linear_spectra():
    src = np.arange(350.0, 951.0, 3.3)
    dst = np.linspace(400.0, 900.0, 77)
    out = resample_spectrum(2.0 + 0.001 * src, src, dst)
    assert np.allclose(out, 2.0 + 0.001 * dst)


def test_leading_dimensions_and_out_of_range():
    src = np.arange(400.0, 801.0, 10.0)
    values = np.stack([src, 2 * src])
    out = resample_spectrum(values, src, np.array([395.0, 399.8, 600.0, 805.0]))
    assert out.shape == (2, 4)
    assert np.isnan(out[:, 0]).all() and np.isnan(out[:, 3]).all()  # beyond 0.5 nm: NaN
    assert np.allclose(out[:, 1], [400.0, 800.0])                    # within: edge value
    assert np.allclose(out[:, 2], [600.0, 1200.0])


def test_srf_rows_sum_to_one_and_centre_on_band():
    src = np.arange(380.0, 921.0, 1.0)
    dst = np.array([450.0, 600.0, 850.0])
    w = gaussian_srf_matrix(src, dst, np.array([10.0, 10.0, 10.0]))
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.allclose(w @ src, dst, atol=1e-6)  # the SRF is symmetric about the centre
    sigma = 10.0 / FWHM_PER_SIGMA
    second_moment = (w * (src[None, :] - dst[:, None]) ** 2).sum(axis=1)
    assert np.allclose(second_moment, sigma**2, rtol=0.01)


def test_srf_convolution_used_when_source_is_finer():
    src = np.arange(400.0, 901.0, 0.5)
    line = np.exp(-0.5 * ((src - 656.5) / 0.3) ** 2)  # a narrow absorption-like feature
    spectrum = 1.0 - 0.8 * line
    dst = np.array([650.0, 656.5, 700.0])
    fwhm = np.array([8.0, 8.0, 8.0])
    conv = resample_spectrum(spectrum, src, dst, dst_fwhm=fwhm)
    lin = resample_spectrum(spectrum, src, dst)
    # interpolation sees the line's full depth; an 8 nm band averages it away to ~3 %
    assert lin[1] == pytest.approx(0.2, abs=1e-3)
    area = 0.8 * 0.3 * np.sqrt(2 * np.pi)               # integral of the dip [nm]
    peak_srf = FWHM_PER_SIGMA / (8.0 * np.sqrt(2 * np.pi))  # SRF height at its centre [1/nm]
    assert conv[1] == pytest.approx(1.0 - area * peak_srf, abs=2e-3)
    assert conv[2] == pytest.approx(1.0, abs=1e-9)


def test_coarse_source_is_interpolated_even_with_fwhm():
    src = np.arange(400.0, 901.0, 10.0)
    dst = np.array([455.0, 605.0])
    out = resample_spectrum(src**2, src, dst, dst_fwhm=np.array([5.0, 5.0]))
    assert np.allclose(out, [(450**2 + 460**2) / 2, (600**2 + 610**2) / 2])


def test_nan_in_source_propagates():
    src = np.arange(400.0, 601.0, 1.0)
    v = np.ones_like(src)
    v[100] = np.nan  # 500 nm
    out = resample_spectrum(v, src, np.array([450.0, 500.0, 550.0]), dst_fwhm=np.full(3, 10.0))
    assert np.isfinite(out[[0, 2]]).all() and np.isnan(out[1])


def test_band_window():
    wl = np.arange(400.0, 901.0, 5.0)
    assert band_window(wl, 560.0, 10.0).tolist() == [30, 31, 32, 33, 34]
    assert band_window(np.array([400.0, 900.0]), 560.0).tolist() == [0]
