"""Tests of hsiwq.io.bundle: reading acquisition bundles and reporting broken ones."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hsiwq.errors import BundleError
from hsiwq.io.bundle import bundle_time, is_bundle, read_acquisition_meta, read_bundle
from hsiwq.io.envi import write_envi

WATER_NM = np.round(np.linspace(400.0, 880.0, 13), 4)
IRRADIANCE_NM = np.round(np.linspace(350.0, 950.0, 21), 4)
META: dict[str, Any] = {
    "site": "taihu-north", "sensor": "HSI-0001", "time": "2026-07-01T03:15:00Z",
    "integration_ms": {"water": 12.0, "sky": 6.0, "irradiance": 4.0},
    "view": {"zenith_deg": 40.0, "azimuth_deg": 135.0},
    "location": {"lat": 31.40, "lon": 120.18},
    "ancillary": {"wind_speed_ms": 3.2, "water_level_m": 2.41, "air_temp_c": 28.5},
    "firmware": "1.4.2",
}


def make_bundle(root: Path, meta: dict[str, Any] | None = None, *, dark: bool = False,
                name: str = "b1") -> Path:
    """Write a small valid bundle (7 x 5 x 13 water cube) and return its folder."""
    path = root / name
    path.mkdir(parents=True)
    (path / "acquisition.json").write_text(json.dumps(META if meta is None else meta))
    rng = np.random.default_rng(0)
    write_envi(path / "water.hdr", rng.integers(0, 4096, (7, 5, 13)).astype("uint16"), WATER_NM,
               interleave="bil")
    write_envi(path / "sky.hdr", rng.integers(0, 4096, (1, 1, 13)).astype("uint16"), WATER_NM)
    write_envi(path / "irradiance.hdr", rng.random((1, 1, 21)).astype("float32"),
               IRRADIANCE_NM, byteorder="big")
    if dark:
        write_envi(path / "dark.hdr", np.full((2, 5, 13), 100, dtype="uint16"), WATER_NM)
    return path


def meta_with(**changes: Any) -> dict[str, Any]:
    """META with top-level keys replaced (a value of None removes the key)."""
    meta = json.loads(json.dumps(META))
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def expect_error(path: Path, where: Path, *words: str) -> BundleError:
    with pytest.raises(BundleError) as info:
        read_bundle(path)
    err = info.value
    assert Path(err.where) == where
    assert "\n" not in str(err)
    for word in words:
        assert word in err.problem, (word, err.problem)
    return err


# --- valid bundles -------------------------------------------------------------------------


def test_reads_a_complete_bundle(tmp_path):
    bundle = read_bundle(make_bundle(tmp_path, dark=True))
    meta = bundle.meta
    assert (meta.site, meta.sensor) == ("taihu-north", "HSI-0001")
    assert meta.time == datetime(2026, 7, 1, 3, 15, tzinfo=timezone.utc)
    assert meta.time.utcoffset() == timedelta(0)
    assert meta.integration_ms == {"water": 12.0, "sky": 6.0, "irradiance": 4.0}
    assert (meta.view_zenith_deg, meta.view_azimuth_deg) == (40.0, 135.0)
    assert (meta.lat, meta.lon) == (31.40, 120.18)
    assert meta.wind_speed_ms == 3.2
    assert meta.ancillary["air_temp_c"] == 28.5  # unknown ancillary keys are kept
    assert meta.extra == {"firmware": "1.4.2"}
    assert bundle.water.shape == (7, 5, 13) and bundle.water.dtype == np.float32
    assert bundle.sky.shape == (1, 1, 13)
    assert bundle.irradiance.shape == (1, 1, 21)
    assert np.allclose(bundle.irradiance["wavelength"].values, IRRADIANCE_NM)
    assert bundle.dark is not None and float(bundle.dark.mean()) == 100.0
    assert bundle.path == tmp_path / "b1"


def test_dark_is_optional_and_location_too(tmp_path):
    bundle = read_bundle(make_bundle(tmp_path, meta_with(location=None, ancillary=None)))
    assert bundle.dark is None
    assert bundle.meta.lat is None and bundle.meta.lon is None
    assert bundle.meta.ancillary == {} and bundle.meta.wind_speed_ms is None


@pytest.mark.parametrize("stamp, expected", [
    ("2026-07-01T11:15:00+08:00", datetime(2026, 7, 1, 3, 15, tzinfo=timezone.utc)),
    ("2026-07-01T03:15:00", datetime(2026, 7, 1, 3, 15, tzinfo=timezone.utc)),
    ("2026-07-01T03:15:00.250Z", datetime(2026, 7, 1, 3, 15, 0, 250000, tzinfo=timezone.utc)),
])
def test_time_is_converted_to_utc(tmp_path, stamp, expected):
    meta = read_acquisition_meta(make_bundle(tmp_path, meta_with(time=stamp)))
    assert meta.time == expected and meta.time.tzinfo == timezone.utc


def test_is_bundle(tmp_path):
    assert is_bundle(make_bundle(tmp_path))
    assert not is_bundle(tmp_path)
    assert not is_bundle(tmp_path / "nowhere")


def test_bundle_time_sorts_an_inbox_reading_only_the_json(tmp_path):
    times = ["2026-07-01T03:17:00Z", "2026-07-01T03:15:00Z", "2026-07-01T03:16:00Z"]
    paths = [make_bundle(tmp_path, meta_with(time=t), name=f"b{i}") for i, t in enumerate(times)]
    (paths[0] / "water.raw").unlink()  # cubes are not read
    assert sorted(paths, key=bundle_time) == [paths[1], paths[2], paths[0]]
    (paths[1] / "acquisition.json").write_text(json.dumps(meta_with(time=None)))
    with pytest.raises(BundleError, match="no time"):
        bundle_time(paths[1])


# --- broken bundles --------------------------------------------------------------------------


def test_missing_path(tmp_path):
    expect_error(tmp_path / "nope", tmp_path / "nope", "bundle not found")


def test_path_is_a_file(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    expect_error(tmp_path / "x.json", tmp_path / "x.json", "not a directory")


def test_empty_folder(tmp_path):
    (tmp_path / "b").mkdir()
    expect_error(tmp_path / "b", tmp_path / "b", "empty bundle folder")


def test_missing_acquisition_json(tmp_path):
    path = make_bundle(tmp_path)
    (path / "acquisition.json").unlink()
    expect_error(path, path / "acquisition.json", "missing acquisition.json")


def test_bad_json_gives_line_and_column(tmp_path):
    path = make_bundle(tmp_path)
    (path / "acquisition.json").write_text('{"site": "a",\n  "sensor": "b",,\n}')
    expect_error(path, path / "acquisition.json", "invalid JSON at line 2, column 17")


def test_json_not_an_object(tmp_path):
    path = make_bundle(tmp_path, [1, 2])  # type: ignore[arg-type]
    expect_error(path, path / "acquisition.json", "JSON object")


@pytest.mark.parametrize("changes, words", [
    ({"time": None}, ["no time"]),
    ({"time": "yesterday"}, ["invalid time 'yesterday'", "ISO 8601"]),
    ({"time": "2026-07-01"}, ["invalid time '2026-07-01'"]),
    ({"time": 1751339700}, ["invalid time 1751339700"]),
    ({"sensor": None}, ["no sensor"]),
    ({"sensor": 7}, ["sensor must be a non-empty string"]),
    ({"site": None}, ["no site"]),
    ({"integration_ms": None}, ["no integration_ms"]),
    ({"integration_ms": {"water": 12.0, "sky": 6.0}}, ["no integration_ms.irradiance"]),
    ({"integration_ms": {"water": 0, "sky": 6.0, "irradiance": 4}},
     ["integration_ms.water must be positive"]),
    ({"integration_ms": {"water": "12", "sky": 6.0, "irradiance": 4}},
     ["integration_ms.water must be a finite number"]),
    ({"view": None}, ["no view"]),
    ({"view": {"zenith_deg": 40.0}}, ["no view.azimuth_deg"]),
    ({"view": {"zenith_deg": 95.0, "azimuth_deg": 0}}, ["view.zenith_deg must be in [0, 90)"]),
    ({"location": {"lat": 31.4}}, ["no location.lon"]),
    ({"location": {"lat": 131.4, "lon": 0}}, ["not a valid latitude/longitude"]),
    ({"ancillary": {"wind_speed_ms": "calm"}}, ["ancillary.wind_speed_ms must be a finite"]),
])
def test_invalid_metadata(tmp_path, changes, words):
    path = make_bundle(tmp_path, meta_with(**changes))
    expect_error(path, path / "acquisition.json", *words)


@pytest.mark.parametrize("channel", ["water", "sky", "irradiance"])
def test_missing_channel(tmp_path, channel):
    path = make_bundle(tmp_path)
    (path / f"{channel}.hdr").unlink()
    expect_error(path, path / f"{channel}.hdr", f"missing {channel} ENVI header")


@pytest.mark.parametrize("channel", ["water", "sky", "irradiance"])
def test_missing_channel_data(tmp_path, channel):
    path = make_bundle(tmp_path)
    (path / f"{channel}.raw").unlink()
    expect_error(path, path / f"{channel}.raw", "missing data file")


def test_truncated_water_data(tmp_path):
    path = make_bundle(tmp_path)
    raw = path / "water.raw"
    raw.write_bytes(raw.read_bytes()[:500])
    expect_error(path, raw, "data file has 500 bytes, header implies 910", "truncated")


def test_header_disagreeing_with_file_size(tmp_path):
    path = make_bundle(tmp_path)
    hdr = path / "sky.hdr"
    hdr.write_text(hdr.read_text().replace("lines = 1", "lines = 2"))
    expect_error(path, path / "sky.raw", "data file has 26 bytes, header implies 52")


def test_broken_header(tmp_path):
    path = make_bundle(tmp_path)
    (path / "irradiance.hdr").write_text("ENVI\nsamples = 1\n")
    expect_error(path, path / "irradiance.hdr", "lacks mandatory key")


def test_dark_with_other_bands(tmp_path):
    path = make_bundle(tmp_path)
    write_envi(path / "dark.hdr", np.zeros((1, 5, 12), "uint16"), WATER_NM[:12])
    expect_error(path, path / "dark.hdr", "dark frame has 12 bands, the water cube has 13")


def test_dark_with_other_wavelengths(tmp_path):
    path = make_bundle(tmp_path)
    write_envi(path / "dark.hdr", np.zeros((1, 5, 13), "uint16"), WATER_NM + 2.5)
    expect_error(path, path / "dark.hdr", "wavelengths differ", "2.5 nm")


def test_dark_with_other_samples(tmp_path):
    path = make_bundle(tmp_path)
    write_envi(path / "dark.hdr", np.zeros((1, 4, 13), "uint16"), WATER_NM)
    expect_error(path, path / "dark.hdr", "dark frame has 4 samples")


def test_dark_of_one_pixel_is_accepted(tmp_path):
    path = make_bundle(tmp_path)
    write_envi(path / "dark.hdr", np.full((1, 1, 13), 7, "uint16"), WATER_NM)
    assert read_bundle(path).dark.shape == (1, 1, 13)
