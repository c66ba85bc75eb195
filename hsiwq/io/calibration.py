"""Loading and choosing sensor radiometric calibrations (docs/contracts.md §3).

One JSON file per sensor and calibration date; for an acquisition, the calibration of its
sensor with the latest ``valid_from`` not after the acquisition time applies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hsiwq.acquisition import CHANNELS
from hsiwq.errors import CalibrationError
from hsiwq.io.bundle import parse_utc
from hsiwq.sensor import ChannelCalibration, SensorCalibration

_ARRAYS = ("wavelength_nm", "gain", "offset_dn")


def load_calibration(path: str | Path) -> SensorCalibration:
    """Read and validate one calibration file.

    Parameters
    ----------
    path : path
        JSON file with ``sensor``, ``valid_from`` (ISO 8601, UTC) and ``channels``
        ``water``, ``sky``, ``irradiance``, each with equal-length ``wavelength_nm`` [nm]
        (strictly increasing), ``gain`` (> 0) and ``offset_dn`` [DN] lists, a positive
        ``saturation_dn`` [DN] and an optional ``nonlinearity`` coefficient list.

    Returns
    -------
    SensorCalibration

    Raises
    ------
    CalibrationError
        Naming the file and the problem.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(path, "calibration file not found") from None
    except json.JSONDecodeError as exc:
        raise CalibrationError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: "
                                     f"{exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(path, f"cannot read: {exc}") from None
    if not isinstance(doc, dict):
        raise CalibrationError(path, "must hold a JSON object {...}")
    sensor = doc.get("sensor")
    if not isinstance(sensor, str) or not sensor.strip():
        raise CalibrationError(path, f"'sensor' must be a non-empty string, got {sensor!r}")
    if doc.get("valid_from") is None:
        raise CalibrationError(path, "no valid_from")
    try:
        valid_from = parse_utc(doc["valid_from"])
    except ValueError:
        raise CalibrationError(path, f"invalid valid_from {doc.get('valid_from')!r} (expected "
                                     "ISO 8601 UTC, e.g. \"2026-01-01T00:00:00Z\")") from None
    channels = doc.get("channels")
    if not isinstance(channels, dict):
        raise CalibrationError(path, "'channels' must be a JSON object with water, sky, "
                                     "irradiance")
    missing = [c for c in CHANNELS if c not in channels]
    if missing:
        raise CalibrationError(path, "missing channel(s): " + ", ".join(missing))
    return SensorCalibration(
        sensor=sensor.strip(), valid_from=valid_from, path=path,
        channels={c: _channel(path, c, channels[c]) for c in CHANNELS},
    )


def load_calibrations(directory: str | Path) -> list[SensorCalibration]:
    """Load every ``*.json`` calibration of a directory.

    Parameters
    ----------
    directory : path
        Directory such as ``calibration/sensors``.

    Returns
    -------
    list of SensorCalibration
        Sorted by sensor, then ``valid_from``.

    Raises
    ------
    CalibrationError
        If the directory does not exist, a file is invalid (naming it), or two files give
        the same sensor and ``valid_from``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CalibrationError(directory, "calibration directory not found")
    calibrations = [load_calibration(p) for p in sorted(directory.glob("*.json"))]
    seen: dict[tuple[str, datetime], Path | None] = {}
    for cal in calibrations:
        key = (cal.sensor, cal.valid_from)
        if key in seen:
            raise CalibrationError(cal.path or directory,
                                   f"same sensor {cal.sensor} and valid_from "
                                   f"{_iso(cal.valid_from)} as {seen[key]}")
        seen[key] = cal.path
    return sorted(calibrations, key=lambda c: (c.sensor, c.valid_from))


def select_calibration(calibrations: Iterable[SensorCalibration], sensor: str,
                       time: datetime) -> SensorCalibration:
    """The calibration of ``sensor`` with the latest ``valid_from`` not after ``time``.

    Parameters
    ----------
    calibrations : iterable of SensorCalibration
        Candidates, e.g. from :func:`load_calibrations`.
    sensor : str
        Sensor id.
    time : datetime
        Acquisition time (naive means UTC).

    Returns
    -------
    SensorCalibration

    Raises
    ------
    CalibrationError
        If no calibration is known for ``sensor`` or none is valid yet at ``time``.
    """
    calibrations = list(calibrations)
    if time.tzinfo is None:
        time = time.replace(tzinfo=timezone.utc)
    own = [c for c in calibrations if c.sensor == sensor]
    if not own:
        known = ", ".join(sorted({c.sensor for c in calibrations})) or "none"
        raise CalibrationError(sensor, f"unknown sensor: no calibration for it; known: {known}")
    valid = [c for c in own if c.valid_from <= time]
    if not valid:
        earliest = min(c.valid_from for c in own)
        raise CalibrationError(sensor, f"no calibration valid at {_iso(time)} "
                                       f"(earliest valid_from {_iso(earliest)})")
    return max(valid, key=lambda c: c.valid_from)


def _iso(time: datetime) -> str:
    return time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _channel(path: Path, name: str, doc: Any) -> ChannelCalibration:
    """Validate one channel block."""
    if not isinstance(doc, dict):
        raise CalibrationError(path, f"channel {name!r} must be a JSON object")
    arrays = {key: _floats(path, f"{name}.{key}", doc.get(key)) for key in _ARRAYS}
    sizes = {key: a.size for key, a in arrays.items()}
    if len(set(sizes.values())) != 1 or sizes["wavelength_nm"] == 0:
        raise CalibrationError(path, f"channel {name!r}: arrays must have the same non-zero "
                                     f"length, got " + ", ".join(f"{k} {n}" for k, n in
                                                                 sizes.items()))
    if np.any(np.diff(arrays["wavelength_nm"]) <= 0):
        raise CalibrationError(path, f"channel {name!r}: wavelength_nm must be strictly "
                                     "increasing")
    if np.any(arrays["gain"] <= 0):
        band = int(np.flatnonzero(arrays["gain"] <= 0)[0])
        raise CalibrationError(path, f"channel {name!r}: gain must be positive, got "
                                     f"{arrays['gain'][band]:g} at "
                                     f"{arrays['wavelength_nm'][band]:g} nm")
    saturation = doc.get("saturation_dn")
    if (isinstance(saturation, bool) or not isinstance(saturation, (int, float))
            or not math.isfinite(saturation) or saturation <= 0):
        raise CalibrationError(path, f"channel {name!r}: saturation_dn must be a positive "
                                     f"number, got {saturation!r}")
    nonlinearity = None
    if doc.get("nonlinearity") is not None:
        nonlinearity = _floats(path, f"{name}.nonlinearity", doc["nonlinearity"])
        nonlinearity = nonlinearity if nonlinearity.size else None
    return ChannelCalibration(wavelength_nm=arrays["wavelength_nm"], gain=arrays["gain"],
                              offset_dn=arrays["offset_dn"], saturation_dn=float(saturation),
                              nonlinearity=nonlinearity)


def _floats(path: Path, label: str, value: Any) -> np.ndarray:
    """A JSON list of finite numbers as a float64 array."""
    if value is None:
        raise CalibrationError(path, f"no {label}")
    if not isinstance(value, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise CalibrationError(path, f"{label} must be a list of numbers")
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise CalibrationError(path, f"{label} has non-finite values")
    return array
