"""The fused read + correction of a lazily read bundle gives exactly the eager results.

Bundles are written to disk in every ENVI variant (interleave, byte order, data type, header
offset, band order, bad bands, ignore values, saturated counts, dark frames), read eagerly and
lazily, and both corrected: the datasets must be identical, bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import xarray as xr

from hsiwq.io.bundle import read_bundle
from hsiwq.io.envi import EnviArray, envi_source, write_envi
from hsiwq.radiometry import CorrectionOptions, correct_bundle
from hsiwq.radiometry import _fused
from hsiwq.radiometry import correct as correct_module
from hsiwq.radiometry import kernel as kernel_module
from hsiwq.radiometry import qc as q

from .test_radiometry_correct import ED_WL, WL, calibration, synthetic

DTYPES = ["uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64"]
SAT_PIXEL, NAN_PIXEL, BAD_BAND_PIXEL, BOTH_PIXEL = (3, 4), (5, 6), (7, 8), (9, 10)
BAD_BANDS = (10, 50)  # bbl = 0: the kept bands then form three runs


def write_bundle(root: Path, *, dtype: str = "uint16", interleave: str = "bil",
                 byteorder: str = "little", offset: int = 0, order: str = "sorted",
                 ignore: bool = True, dark: bool = False, ny: int = 24, nx: int = 30,
                 last_nm: float = 900.0) -> tuple[Path, object, float]:
    """A bundle on disk from :func:`synthetic`, with the water cube stored as asked.

    Returns the bundle folder, its calibration and the saturation level used [DN].
    """
    bundle, cal, _ = synthetic(ny=ny, nx=nx, dark=dark)
    dn = bundle.water.values.astype(np.float64)
    if dtype == "uint8":
        dn = dn / 8.0
    sat = 250.0 if dtype == "uint8" else 1800.0 if dtype == "int16" else 4095.0
    if np.dtype(dtype).kind != "f":
        dn = np.rint(dn)
    ignore_value = -9999.0 if np.dtype(dtype).kind in "if" else 0.0
    dn[SAT_PIXEL + (17,)] = sat + 1
    if ignore:
        dn[NAN_PIXEL + (30,)] = ignore_value
        dn[BAD_BAND_PIXEL + (BAD_BANDS[0],)] = ignore_value  # a dropped band: not NO_DATA
        dn[BOTH_PIXEL + (20,)] = ignore_value
        dn[BOTH_PIXEL + (90,)] = sat  # NO_DATA and SATURATED
    bbl = np.ones(WL.size, dtype=int)
    bbl[list(BAD_BANDS)] = 0
    bbl[WL > last_nm] = 0
    perm = {"sorted": np.arange(WL.size), "reversed": np.arange(WL.size)[::-1],
            "shuffled": np.random.default_rng(5).permutation(WL.size)}[order]
    extra: dict[str, object] = {"bbl": list(bbl[perm])}
    if ignore:
        extra["data ignore value"] = ignore_value
    path = root / "bundle"
    path.mkdir(parents=True)
    hdr = write_envi(path / "water.hdr", dn[..., perm].astype(dtype), WL[perm],
                     interleave=interleave, byteorder=byteorder, extra_metadata=extra)
    if offset:
        raw = path / "water.raw"
        raw.write_bytes(b"\x5a" * offset + raw.read_bytes())
        hdr.write_text(hdr.read_text() + f"header offset = {offset}\n")
    write_envi(path / "sky.hdr", bundle.sky.values, WL, dtype="float32")
    write_envi(path / "irradiance.hdr", bundle.irradiance.values, ED_WL, dtype="float32")
    if dark:
        write_envi(path / "dark.hdr", bundle.dark.values, WL, dtype="uint16")
    m = bundle.meta
    (path / "acquisition.json").write_text(json.dumps({
        "site": m.site, "sensor": m.sensor, "time": m.time.isoformat(),
        "integration_ms": m.integration_ms,
        "view": {"zenith_deg": m.view_zenith_deg, "azimuth_deg": m.view_azimuth_deg},
        "location": {"lat": m.lat, "lon": m.lon}, "ancillary": m.ancillary}))
    water = replace(cal.channels["water"], saturation_dn=sat)
    return path, replace(cal, channels={**cal.channels, "water": water}), sat


def assert_same_correction(path: Path, cal, options: CorrectionOptions = CorrectionOptions(),
                           **kwargs) -> xr.Dataset:
    """Correct the bundle read eagerly and lazily (with each kernel): all identical.

    Returns the lazy dataset, with ``fused`` in its attributes telling whether the compiled
    one-pass kernel ran.
    """
    eager = read_bundle(path)
    assert envi_source(eager.water) is None
    ref = correct_bundle(eager, cal, options=options, **kwargs)
    fused_used = False
    chosen: list[object] = []

    def fused_kernel(*args, **kw):
        chosen.append(kernel_module._fused_kernel.__wrapped__(*args, **kw))
        return chosen[-1]

    fused_kernel.__wrapped__ = kernel_module._fused_kernel  # type: ignore[attr-defined]
    for engine in ("numpy", "auto"):
        lazy = read_bundle(path, lazy=True)
        assert envi_source(lazy.water) is not None
        chosen.clear()
        with mock.patch.object(correct_module, "run_blocks",
                               wraps=correct_module.run_blocks) as spy, \
                mock.patch.object(kernel_module, "_fused_kernel", fused_kernel):
            out = correct_bundle(lazy, cal, options=replace(options, engine=engine), **kwargs)
        if spy.called:  # the kernel was given the raw file, not loaded values
            assert isinstance(spy.call_args.args[0], EnviArray)
            if engine == "auto":
                fused_used = bool(chosen) and chosen[-1] is not None
            else:
                assert not chosen
        xr.testing.assert_identical(out, ref)
        assert np.array_equal(out["rrs"].values, ref["rrs"].values, equal_nan=True)
    return out.assign_attrs(fused=fused_used)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("byteorder", ["little", "big"])
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_lazy_equals_eager_for_every_layout(tmp_path, interleave, byteorder, dtype):
    path, cal, _ = write_bundle(tmp_path, dtype=dtype, interleave=interleave,
                                byteorder=byteorder, offset=517)
    ds = assert_same_correction(path, cal, CorrectionOptions(threads=2, block_mb=0.02))
    qc = ds["qc"].values
    assert qc[SAT_PIXEL] & q.SATURATED
    assert qc[NAN_PIXEL] & q.NO_DATA
    assert not qc[BAD_BAND_PIXEL] & q.NO_DATA
    assert qc[BOTH_PIXEL] & q.NO_DATA and qc[BOTH_PIXEL] & q.SATURATED
    assert np.isnan(ds["rrs"].values[NAN_PIXEL]).sum() == 1
    assert ds.sizes["wavelength"] == WL.size - len(BAD_BANDS)
    plain = dtype in ("uint8", "int16", "uint16", "float32") and not (
        interleave == "bsq" and byteorder == "big" and dtype != "uint8")  # mapped, not swapped
    assert ds.attrs["fused"] == (plain and _fused.kernels() is not None)


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_lazy_equals_eager_whatever_the_band_order(tmp_path, interleave, order):
    path, cal, _ = write_bundle(tmp_path, interleave=interleave, order=order,
                                byteorder="big")
    assert_same_correction(path, cal, CorrectionOptions(threads=1, block_mb=0.05))


@pytest.mark.parametrize("ignore", [True, False])
@pytest.mark.parametrize("threads, block_mb", [(1, 2.0), (1, 0.01), (2, 0.03), (3, 0.2)])
@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_lazy_equals_eager_for_any_blocking(tmp_path, interleave, threads, block_mb, ignore):
    path, cal, _ = write_bundle(tmp_path, interleave=interleave, ny=37, nx=29, ignore=ignore)
    ds = assert_same_correction(path, cal, CorrectionOptions(threads=threads,
                                                             block_mb=block_mb))
    assert ds["qc"].values[SAT_PIXEL] & q.SATURATED


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
def test_lazy_equals_eager_with_dark_nonlinearity_and_nir_correction(tmp_path, interleave):
    path, cal, _ = write_bundle(tmp_path, interleave=interleave, dark=True, dtype="float32")
    for per_sample in (False, True):
        assert_same_correction(path, cal, CorrectionOptions(dark_per_sample=per_sample,
                                                            block_mb=0.03))
    assert_same_correction(path, cal, CorrectionOptions(nir_correction=True, block_mb=0.03))
    nl = replace(cal.channels["water"], nonlinearity=np.array([2e-5]))
    assert_same_correction(path, replace(cal, channels={**cal.channels, "water": nl}),
                           CorrectionOptions(block_mb=0.03))
    roi = np.zeros((24, 30), dtype=bool)
    roi[2:20, 5:25] = True
    assert_same_correction(path, cal, roi=roi)


def test_without_ignore_value_and_with_no_usable_band(tmp_path):
    path, cal, _ = write_bundle(tmp_path, ignore=False, dtype="int16", interleave="bip")
    ds = assert_same_correction(path, cal)
    assert not (ds["qc"].values & q.NO_DATA).any()
    narrow = calibration()
    sky = replace(narrow.channels["sky"], wavelength_nm=np.array([300.0, 350.0]),
                  gain=np.full(2, 2e-4), offset_dn=np.full(2, 90.0))
    eager, lazy = read_bundle(path), read_bundle(path, lazy=True)
    sky_da = eager.sky.isel(wavelength=slice(0, 2)).assign_coords(wavelength=[300.0, 350.0])
    a = correct_bundle(replace(eager, sky=sky_da), replace(narrow, channels={
        **narrow.channels, "sky": sky}))
    b = correct_bundle(replace(lazy, sky=sky_da), replace(narrow, channels={
        **narrow.channels, "sky": sky}))
    xr.testing.assert_identical(a, b)
    assert a.sizes["wavelength"] == 0 and a.attrs["verdict"] == "rejected"


@pytest.mark.parametrize("last_nm", [690.0, 760.0])
def test_lazy_equals_eager_without_nir_bands(tmp_path, last_nm):
    path, cal, _ = write_bundle(tmp_path, interleave="bsq", last_nm=last_nm)
    ds = assert_same_correction(path, cal, CorrectionOptions(threads=2, block_mb=0.02))
    assert ds["wavelength"].values[-1] <= last_nm
    assert np.isnan(ds.attrs["glint_slope"]) == (last_nm < 700)


@pytest.mark.parametrize("ignore", [True, False])
def test_saturation_level_is_compared_in_float32(tmp_path, ignore):
    path, cal, sat = write_bundle(tmp_path, ignore=ignore)
    level = np.nextafter(sat + 1, np.inf)  # rounds to sat + 1 in float32, the counts hit it
    water = replace(cal.channels["water"], saturation_dn=level)
    ds = assert_same_correction(path, replace(cal, channels={**cal.channels, "water": water}))
    assert ds["qc"].values[SAT_PIXEL] & q.SATURATED


def test_a_sliced_lazy_cube_is_read_as_an_array(tmp_path):
    path, cal, _ = write_bundle(tmp_path)
    eager, lazy = read_bundle(path), read_bundle(path, lazy=True)
    part = lazy.water.isel(y=slice(2, 20))
    assert envi_source(part) is None
    a = correct_bundle(replace(eager, water=eager.water.isel(y=slice(2, 20))), cal)
    b = correct_bundle(replace(lazy, water=part), cal)
    xr.testing.assert_identical(a, b)
