"""Tests of hsiwq.io.calibration: validating calibration files and choosing one by date."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hsiwq.errors import CalibrationError
from hsiwq.io.calibration import load_calibration, load_calibrations, select_calibration


def channel(n: int = 5, saturation: float = 4095) -> dict[str, Any]:
    return {"wavelength_nm": list(np.linspace(400.0, 800.0, n)), "gain": [0.01] * n,
            "offset_dn": [100.0] * n, "saturation_dn": saturation}


def calibration_doc(sensor: str = "HSI-0001", valid_from: str = "2026-01-01T00:00:00Z",
                    **water: Any) -> dict[str, Any]:
    doc = {"sensor": sensor, "valid_from": valid_from,
           "channels": {"water": channel(), "sky": channel(), "irradiance": channel(7, 65535)}}
    doc["channels"]["water"].update(water)
    return doc


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def expect_error(path: Path, *words: str) -> None:
    with pytest.raises(CalibrationError) as info:
        load_calibration(path)
    assert Path(info.value.where) == path
    for word in words:
        assert word in info.value.problem, (word, info.value.problem)


@pytest.fixture
def calibrations(tmp_path) -> list:
    folder = tmp_path / "sensors"
    folder.mkdir()
    write(folder / "a-2026.json", calibration_doc("HSI-0001", "2026-01-01T00:00:00Z"))
    write(folder / "a-2026b.json", calibration_doc("HSI-0001", "2026-06-01T08:00:00+08:00"))
    write(folder / "b-2025.json", calibration_doc("HSI-0002", "2025-03-01T00:00:00Z"))
    return load_calibrations(folder)


# --- loading ---------------------------------------------------------------------------------


def test_load_calibration(tmp_path):
    cal = load_calibration(write(tmp_path / "c.json", calibration_doc()))
    assert cal.sensor == "HSI-0001"
    assert cal.valid_from == utc(2026, 1, 1)
    assert set(cal.channels) == {"water", "sky", "irradiance"}
    water = cal.channels["water"]
    assert np.allclose(water.wavelength_nm, np.linspace(400.0, 800.0, 5))
    assert np.allclose(water.gain, 0.01) and np.allclose(water.offset_dn, 100.0)
    assert water.saturation_dn == 4095.0 and water.nonlinearity is None
    assert cal.channels["irradiance"].gain.size == 7
    assert cal.path == tmp_path / "c.json"


def test_nonlinearity_is_optional(tmp_path):
    cal = load_calibration(write(tmp_path / "c.json", calibration_doc(nonlinearity=[1e-6, 0])))
    assert np.array_equal(cal.channels["water"].nonlinearity, [1e-6, 0.0])
    assert cal.channels["sky"].nonlinearity is None


def test_load_calibrations_reads_every_json_sorted(calibrations):
    assert [(c.sensor, c.valid_from) for c in calibrations] == [
        ("HSI-0001", utc(2026, 1, 1)), ("HSI-0001", utc(2026, 6, 1)),
        ("HSI-0002", utc(2025, 3, 1))]


def test_load_calibrations_names_the_bad_file(tmp_path):
    write(tmp_path / "good.json", calibration_doc())
    bad = write(tmp_path / "bad.json", calibration_doc(gain=[0.01, 0.01, -1.0, 0.01, 0.01]))
    with pytest.raises(CalibrationError) as info:
        load_calibrations(tmp_path)
    assert Path(info.value.where) == bad and "gain must be positive" in info.value.problem


def test_load_calibrations_rejects_duplicates(tmp_path):
    write(tmp_path / "a.json", calibration_doc())
    write(tmp_path / "b.json", calibration_doc(valid_from="2026-01-01T08:00:00+08:00"))
    with pytest.raises(CalibrationError, match="same sensor HSI-0001 and valid_from"):
        load_calibrations(tmp_path)


def test_load_calibrations_missing_directory(tmp_path):
    with pytest.raises(CalibrationError, match="calibration directory not found"):
        load_calibrations(tmp_path / "none")


def test_missing_file(tmp_path):
    expect_error(tmp_path / "none.json", "calibration file not found")


def test_bad_json(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"sensor": "x",\n "valid_from": }')
    expect_error(path, "invalid JSON at line 2, column 16")


@pytest.mark.parametrize("doc, words", [
    ([], ["JSON object"]),
    ({**calibration_doc(), "sensor": ""}, ["'sensor' must be a non-empty string"]),
    ({**calibration_doc(), "valid_from": None}, ["no valid_from"]),
    ({**calibration_doc(), "valid_from": "soon"}, ["invalid valid_from 'soon'"]),
    ({**calibration_doc(), "channels": []}, ["'channels' must be a JSON object"]),
    ({**calibration_doc(), "channels": {"water": channel(), "sky": channel()}},
     ["missing channel(s): irradiance"]),
    (calibration_doc(gain=[0.01] * 4), ["arrays must have the same", "gain 4"]),
    (calibration_doc(offset_dn=None), ["no water.offset_dn"]),
    (calibration_doc(gain=[0.01, 0.01, 0.0, 0.01, 0.01]),
     ["'water': gain must be positive, got 0 at 600 nm"]),
    (calibration_doc(gain=["a"] * 5), ["water.gain must be a list of numbers"]),
    (calibration_doc(wavelength_nm=[400, 500, 450, 600, 700]), ["strictly increasing"]),
    (calibration_doc(saturation_dn=0), ["saturation_dn must be a positive number"]),
    (calibration_doc(nonlinearity="x"), ["water.nonlinearity must be a list of numbers"]),
])
def test_invalid_calibration(tmp_path, doc, words):
    expect_error(write(tmp_path / "c.json", doc), *words)


# --- selection by sensor and date ------------------------------------------------------------


def test_between_two_calibrations_the_earlier_applies(calibrations):
    cal = select_calibration(calibrations, "HSI-0001", utc(2026, 3, 15, 12))
    assert cal.valid_from == utc(2026, 1, 1)


def test_after_the_last_calibration_the_last_applies(calibrations):
    cal = select_calibration(calibrations, "HSI-0001", utc(2027, 1, 1))
    assert cal.valid_from == utc(2026, 6, 1)


def test_exactly_at_valid_from(calibrations):
    assert select_calibration(calibrations, "HSI-0001", utc(2026, 6, 1)).valid_from == \
        utc(2026, 6, 1)
    just_before = datetime(2026, 5, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert select_calibration(calibrations, "HSI-0001", just_before).valid_from == \
        utc(2026, 1, 1)


def test_naive_time_is_utc(calibrations):
    cal = select_calibration(calibrations, "HSI-0001", datetime(2026, 6, 1, 0, 0))
    assert cal.valid_from == utc(2026, 6, 1)


def test_other_sensors_are_ignored(calibrations):
    assert select_calibration(calibrations, "HSI-0002", utc(2026, 7, 1)).sensor == "HSI-0002"


def test_before_the_first_calibration(calibrations):
    with pytest.raises(CalibrationError) as info:
        select_calibration(calibrations, "HSI-0001", utc(2025, 12, 31, 23))
    assert info.value.where == "HSI-0001"
    assert info.value.problem == ("no calibration valid at 2025-12-31T23:00:00Z "
                                  "(earliest valid_from 2026-01-01T00:00:00Z)")


def test_unknown_sensor(calibrations):
    with pytest.raises(CalibrationError) as info:
        select_calibration(calibrations, "HSI-9999", utc(2026, 7, 1))
    assert info.value.where == "HSI-9999"
    assert "unknown sensor" in info.value.problem
    assert info.value.problem.endswith("known: HSI-0001, HSI-0002")


def test_no_calibrations_at_all():
    with pytest.raises(CalibrationError, match="known: none"):
        select_calibration([], "HSI-0001", utc(2026, 7, 1))
