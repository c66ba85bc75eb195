"""End-to-end radiometric correction on synthetic bundles with known truth.

Bundles are built here directly (Bundle + xarray DataArrays) so that Lt = Rrs·Ed + ρ·Li holds
exactly, with ρ from ``sky_glint_factor`` for the bundle's own sun geometry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hsiwq.acquisition import AcquisitionMeta, Bundle
from hsiwq.errors import ConfigError
from hsiwq.radiometry import CorrectionOptions, correct_bundle, write_correction
from hsiwq.radiometry import qc as q
from hsiwq.radiometry.dn import counts_to_radiance, channel_coefficients
from hsiwq.radiometry.glint import sky_glint_factor
from hsiwq.radiometry.sun import relative_azimuth, solar_position
from hsiwq.sensor import ChannelCalibration, SensorCalibration

WL = np.arange(400.0, 901.0, 5.0)
ED_WL = np.arange(350.0, 951.0, 1.0)
NOON = datetime(2026, 7, 1, 3, 30, tzinfo=timezone.utc)  # ~11:30 at Taihu, sun zenith ~12°
LAT, LON = 31.40, 120.18
T_WATER, T_SKY, T_IRR = 12.0, 6.0, 4.0


def water_rrs(wl: np.ndarray = WL) -> np.ndarray:
    """Turbid-lake Rrs [sr-1] obeying the NIR similarity ratio Rrs(720)/Rrs(780) = 2.35."""
    vis = 0.002 + 0.006 * np.exp(-((wl - 565) / 55) ** 2) + 0.002 * np.exp(-((wl - 705) / 15) ** 2)
    nir = np.interp(wl, [700, 720, 780, 900], [0.0045, 0.00235, 0.001, 0.0002])
    return np.where(wl < 700, vis, nir)


def ed_spectrum(wl):
    return 1.1 + 0.6 * np.exp(-((wl - 480) / 150) ** 2) - 0.0004 * (wl - 400)   # W m-2 nm-1


def li_spectrum(wl):
    return 0.06 * (wl / 400.0) ** -4 + 0.004                               # W m-2 sr-1 nm-1


def calibration(nl=None) -> SensorCalibration:
    cwl = np.arange(397.5, 903.0, 2.5)  # the calibration's own grid: matched by wavelength
    chans = {
        "water": ChannelCalibration(cwl, 1e-4 + 5e-8 * (cwl - 400), np.full(cwl.size, 100.0),
                                    65535.0, nl),
        "sky": ChannelCalibration(WL, np.full(WL.size, 2e-4), np.full(WL.size, 90.0), 65535.0),
        "irradiance": ChannelCalibration(ED_WL, np.full(ED_WL.size, 2e-4),
                                         np.full(ED_WL.size, 50.0), 65535.0),
    }
    return SensorCalibration("HSI-0001", datetime(2026, 1, 1, tzinfo=timezone.utc), chans,
                             path=Path("calibration/sensors/HSI-0001.json"))


def da(values, wl, **coords) -> xr.DataArray:
    v = np.asarray(values, dtype=np.float32)
    c = {"wavelength": wl, "good_band": ("wavelength", np.ones(wl.size, bool))}
    c.update({k: ("wavelength", np.asarray(x)) for k, x in coords.items()})
    return xr.DataArray(v, dims=("y", "x", "wavelength"), coords=c)


def synthetic(ny=24, nx=30, *, time=NOON, wind=3.0, rrs=None, view=(40.0, 270.0),
              location=True, ed_scale=1.0, li_grey=0.0, glint_offset=None, dark=False,
              integration=(T_WATER, T_SKY, T_IRR)):
    """Bundle, calibration and truth with Lt = Rrs·Ed + ρ·Li (+ glint_offset·Ed) exactly."""
    cal = calibration()
    truth = np.tile(water_rrs(), (ny, nx, 1)) if rrs is None else rrs
    truth = truth * (1.0 + 0.2 * np.linspace(-1, 1, nx))[None, :, None] if rrs is None else truth
    ed_cam = ed_spectrum(WL) * ed_scale
    li_cam = li_spectrum(WL) + li_grey  # a grey (cloud) component raises Li(750)/Ed(750)
    sz, saz = solar_position(time, LAT, LON)
    rho, _ = sky_glint_factor(wind, sz, relative_azimuth(saz, view[1]), view[0])
    lt = truth * ed_cam + rho * li_cam
    if glint_offset is not None:
        lt = lt + glint_offset[..., None] * ed_cam
    gain = np.interp(WL, cal.channels["water"].wavelength_nm, cal.channels["water"].gain)
    dark_level = 100.0 if not dark else 130.0
    dn = lt * T_WATER / gain + dark_level
    dn_sky = li_cam * T_SKY / 2e-4 + 90.0
    dn_irr = ed_spectrum(ED_WL) * ed_scale * T_IRR / 2e-4 + 50.0
    meta = AcquisitionMeta(
        site="taihu-north", sensor="HSI-0001", time=time,
        integration_ms=dict(zip(("water", "sky", "irradiance"), integration)),
        view_zenith_deg=view[0], view_azimuth_deg=view[1],
        lat=LAT if location else None, lon=LON if location else None,
        ancillary={} if wind is None else {"wind_speed_ms": wind})
    dark_da = da(np.full((3, nx, WL.size), 130.0), WL) if dark else None
    bundle = Bundle(Path("synthetic-bundle"), meta, da(dn, WL), da(dn_sky[None, None], WL),
                    da(dn_irr[None, None], ED_WL), dark_da)
    return bundle, cal, {"rrs": truth, "rho": rho, "ed": ed_cam, "li": li_cam, "lt": lt}


def test_rrs_recovered_exactly():
    bundle, cal, truth = synthetic()
    ds = correct_bundle(bundle, cal)
    rel = np.abs(ds["rrs"].values / truth["rrs"] - 1.0)
    assert rel.max() < 0.005 and np.median(rel) < 1e-4
    assert ds["rrs"].dtype == np.float32 and ds["rrs"].dims == ("y", "x", "wavelength")
    assert ds["rrs"].attrs["units"] == "sr-1"
    assert ds["ed"].attrs["units"] == "W m-2 nm-1"
    assert ds["li"].attrs["units"] == "W m-2 sr-1 nm-1"
    assert np.allclose(ds["ed"].values, truth["ed"], rtol=1e-5)
    assert np.allclose(ds["li"].values, truth["li"], rtol=1e-5)
    assert ds["qc"].dtype == np.uint16 and (ds["qc"].values == 0).all()
    assert ds["qc"].attrs["flag_meanings"].split()[0] == "no_data"
    assert ds["valid"].dtype == bool and ds["valid"].values.all()
    a = ds.attrs
    assert a["verdict"] == "accepted" and a["verdict_reason"] == ""
    assert a["rho_method"] == "mobley1999" and a["rho"] == pytest.approx(truth["rho"])
    assert a["valid_fraction"] == 1.0 and a["time"] == "2026-07-01T03:30:00Z"
    assert a["site"] == "taihu-north" and a["sensor"] == "HSI-0001"
    assert a["calibration_file"].endswith("HSI-0001.json")
    for key in ("sun_zenith_deg", "sun_azimuth_deg", "relative_azimuth_deg", "view_zenith_deg",
                "wind_speed_ms"):
        assert np.isfinite(a[key])


def test_position_wind_and_rho_fallbacks():
    bundle, cal, truth = synthetic(wind=3.0)  # made with the wind of 3 m/s ...
    meta = replace(bundle.meta, lat=None, lon=None, ancillary={})  # ... which the bundle lacks
    bundle = replace(bundle, meta=meta)
    with pytest.raises(ConfigError, match="no position"):
        correct_bundle(bundle, cal)
    ds = correct_bundle(bundle, cal, lat=LAT, lon=LON)
    assert ds.attrs["rho_method"] == "ruddick2006" and ds.attrs["rho"] == pytest.approx(0.0256)
    assert np.isnan(ds.attrs["wind_speed_ms"])
    ds = correct_bundle(bundle, cal, lat=LAT, lon=LON, wind_speed_ms=3.0)
    assert ds.attrs["rho"] == pytest.approx(truth["rho"]) and ds.attrs["wind_speed_ms"] == 3.0
    rel = np.abs(ds["rrs"].values / truth["rrs"] - 1.0)
    assert rel.max() < 0.005


def test_bad_bands_and_uncovered_bands_are_dropped():
    bundle, cal, truth = synthetic()
    good = np.ones(WL.size, bool)
    good[[0, 50, 51]] = False
    water = bundle.water.assign_coords(good_band=("wavelength", good))
    sky = bundle.sky.isel(wavelength=slice(0, -4))  # sky spectrum ends at 880 nm
    ds = correct_bundle(replace(bundle, water=water, sky=sky), cal)
    keep = good & (WL <= 880.0)
    assert np.array_equal(ds["wavelength"].values, WL[keep])
    assert ds.attrs["n_dropped_bands"] == int((~keep).sum())
    assert np.abs(ds["rrs"].values / truth["rrs"][..., keep] - 1).max() < 0.005


def test_dark_frame_replaces_offset():
    bundle, cal, truth = synthetic(dark=True)
    ds = correct_bundle(bundle, cal)
    assert np.abs(ds["rrs"].values / truth["rrs"] - 1).max() < 0.005
    wrong = correct_bundle(replace(bundle, dark=None), cal)  # offset_dn = 100 is not the dark
    assert np.abs(wrong["rrs"].values / truth["rrs"] - 1).max() > 0.05


def test_each_pixel_rule_in_a_bundle():
    ny, nx = 24, 30
    rrs = np.tile(water_rrs(), (ny, nx, 1))
    veg = 0.01 + 0.1 / (1 + np.exp(-(WL - 715) / 10))
    rrs[2, 3] = veg                                   # vegetation → NOT_WATER
    rrs[4, 5] = 0.06                                  # concrete → NOT_WATER
    rrs[6, 7, WL == 420] = -0.0005                    # → NEGATIVE_RRS
    glint = np.zeros((ny, nx))
    glint[8, 9], glint[10, 11] = 0.004, 0.05          # → SUN_GLINT
    bundle, cal, truth = synthetic(rrs=rrs, glint_offset=glint)
    dn = bundle.water.values.copy()
    dn[12, 13, 40] = 65535.0                          # → SATURATED
    dn[14, 15, 60] = np.nan                           # → NO_DATA
    bundle = replace(bundle, water=bundle.water.copy(data=dn))
    roi = [[0, 0], [nx - 2, 0], [nx - 2, ny], [0, ny]]  # last two columns outside
    ds = correct_bundle(bundle, cal, roi=roi)
    qc = ds["qc"].values
    expected = np.zeros((ny, nx), np.uint16)
    expected[:, nx - 2:] = q.OUTSIDE_ROI
    expected[2, 3] = expected[4, 5] = q.NOT_WATER
    expected[6, 7] = q.NEGATIVE_RRS
    expected[8, 9] = expected[10, 11] = q.SUN_GLINT
    expected[12, 13] = q.SATURATED
    expected[14, 15] = q.NO_DATA
    assert np.array_equal(qc, expected), np.argwhere(qc != expected)
    assert np.array_equal(ds["valid"].values, expected == 0)
    n_roi = ny * (nx - 2)
    assert ds.attrs["valid_fraction"] == pytest.approx((n_roi - 7) / n_roi)
    assert ds.attrs["n_sun_glint"] == 2 and ds.attrs["n_outside_roi"] == 2 * ny


def test_roi_as_mask():
    bundle, cal, _ = synthetic()
    mask = np.zeros((24, 30), bool)
    mask[5:10, 5:10] = True
    ds = correct_bundle(bundle, cal, roi=mask)
    assert ds["valid"].values.sum() == 25 and ds.attrs["valid_fraction"] == 1.0


@pytest.mark.parametrize("kwargs, reason", [
    ({"time": datetime(2026, 7, 1, 16, 0, tzinfo=timezone.utc)}, "night"),
    ({"time": datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc)}, "sun too low"),
    ({"ed_scale": 0.04}, "Ed too low"),
    ({"li_grey": 0.25}, "cloud"),
    ({"integration": (T_WATER, T_SKY, 0.0)}, "integration"),
])
def test_reject_reasons_end_to_end(kwargs, reason):
    bundle, cal, _ = synthetic(**kwargs)
    ds = correct_bundle(bundle, cal)
    assert ds.attrs["verdict"] == "rejected" and reason in ds.attrs["verdict_reason"]
    assert ds["rrs"].shape == (24, 30, WL.size)  # the dataset is still returned


def test_reject_too_few_valid_water_pixels():
    rrs = np.tile(0.01 + 0.1 / (1 + np.exp(-(WL - 715) / 10)), (24, 30, 1))  # all shore
    rrs[:1, :5] = water_rrs()
    bundle, cal, _ = synthetic(rrs=rrs)
    ds = correct_bundle(bundle, cal)
    assert ds.attrs["verdict"] == "rejected" and "too few valid" in ds.attrs["verdict_reason"]


def test_saturated_irradiance_rejects():
    bundle, cal, _ = synthetic()
    irr = bundle.irradiance.values.copy()
    irr[0, 0, 100] = 65535.0
    ds = correct_bundle(replace(bundle, irradiance=bundle.irradiance.copy(data=irr)), cal)
    assert "saturated irradiance" in ds.attrs["verdict_reason"]


@pytest.mark.parametrize("layout", ["bsq", "bil", "uint16"])
def test_memory_layout_dtype_and_threads_do_not_change_results(layout):
    bundle, cal, _ = synthetic(ny=40, nx=33)
    dn = bundle.water.values.copy()
    dn[3, 4, 17] = 65535.0   # SATURATED
    dn[5, 6, 30] = np.nan    # NO_DATA
    if layout == "uint16":
        dn[5, 6, 30] = 1000.0
        dn = np.rint(dn)
    bundle = replace(bundle, water=bundle.water.copy(data=dn.astype(np.float32)))
    ref = correct_bundle(bundle, cal, options=CorrectionOptions(threads=1, block_mb=0.01))
    if layout == "bsq":
        data = np.ascontiguousarray(dn.transpose(2, 0, 1)).transpose(1, 2, 0)
    elif layout == "bil":
        data = np.ascontiguousarray(dn.transpose(0, 2, 1)).transpose(0, 2, 1)
    else:
        data = dn.astype(np.uint16)
    assert layout == "uint16" or not data.flags["C_CONTIGUOUS"]
    alt = correct_bundle(replace(bundle, water=bundle.water.copy(data=data)), cal,
                         options=CorrectionOptions(threads=2, block_mb=0.05))
    assert np.array_equal(ref["rrs"].values, alt["rrs"].values, equal_nan=True)
    assert np.array_equal(ref["qc"].values, alt["qc"].values)
    assert alt["qc"].values[3, 4] == q.SATURATED
    assert layout == "uint16" or alt["qc"].values[5, 6] == q.NO_DATA


def test_nonlinearity_hook():
    nl = np.array([2e-5])
    bundle, _, truth = synthetic()
    cal = calibration(nl=nl)
    ds = correct_bundle(bundle, cal)
    coef = channel_coefficients(bundle.water, cal.channels["water"], T_WATER)
    lt = counts_to_radiance(bundle.water.values, coef)
    expected = (lt - truth["rho"] * truth["li"]) / truth["ed"]
    assert np.allclose(ds["rrs"].values, expected, rtol=1e-4, atol=1e-7)
    assert not np.allclose(ds["rrs"].values, truth["rrs"], rtol=0.01)


def test_nir_similarity_correction_option():
    offset = np.full((24, 30), 0.0008)  # flat residual, e.g. unresolved glint
    bundle, cal, truth = synthetic(glint_offset=offset)
    plain = correct_bundle(bundle, cal)
    assert np.abs(plain["rrs"].values - truth["rrs"]).max() > 7e-4
    ds = correct_bundle(bundle, cal, options=CorrectionOptions(nir_correction=True))
    assert ds.attrs["nir_correction"] is True
    assert np.abs(ds["rrs"].values - truth["rrs"]).max() < 2e-6


def test_cloudy_rho_option():
    bundle, cal, _ = synthetic(li_grey=0.06, wind=8.0)  # Li(750)/Ed(750) ≈ 0.07: cloudy
    ds = correct_bundle(bundle, cal)
    assert ds.attrs["sky_condition"] == "cloudy" and ds.attrs["rho_method"] == "mobley1999"
    ds = correct_bundle(bundle, cal, options=CorrectionOptions(cloudy_rho=True))
    assert ds.attrs["rho_method"] == "ruddick2006" and ds.attrs["rho"] == pytest.approx(0.0256)


def test_write_correction_roundtrip(tmp_path):
    bundle, cal, _ = synthetic()
    ds = correct_bundle(bundle, cal)
    out = write_correction(ds, tmp_path / "out.zarr")
    write_correction(ds, out)  # overwriting is fine
    back = xr.open_zarr(out)
    assert np.array_equal(back["rrs"].values, ds["rrs"].values)
    assert np.array_equal(back["qc"].values, ds["qc"].values)
    assert back["valid"].dtype == bool
    assert list(back["qc"].attrs["flag_masks"]) == [1, 2, 4, 8, 16, 32]
    assert back.attrs["verdict"] == "accepted" and back.attrs["rho"] == ds.attrs["rho"]
