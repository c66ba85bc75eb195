"""Reading and validating acquisition bundles (docs/contracts.md §2).

A bundle is a directory with ``acquisition.json`` and the ENVI pairs ``water``, ``sky``,
``irradiance`` and, optionally, ``dark``. Every problem is reported as a
:class:`~hsiwq.errors.BundleError` naming the file at fault.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import xarray as xr

from hsiwq.acquisition import CHANNELS, AcquisitionMeta, Bundle
from hsiwq.errors import BundleError
from hsiwq.io.envi import read_envi
from hsiwq.timeutil import parse_time

#: Name of the metadata file that makes a directory a bundle.
META_FILE = "acquisition.json"
_KNOWN_KEYS = {"site", "sensor", "time", "integration_ms", "view", "location", "ancillary"}


def is_bundle(path: str | Path) -> bool:
    """Tell whether ``path`` is a directory holding ``acquisition.json``."""
    path = Path(path)
    return path.is_dir() and (path / META_FILE).is_file()


def bundle_time(path: str | Path) -> datetime:
    """Acquisition time of a bundle, reading only its ``acquisition.json`` (cheap).

    Parameters
    ----------
    path : path
        Bundle directory.

    Returns
    -------
    datetime
        Timezone-aware UTC acquisition time.

    Raises
    ------
    BundleError
        If the bundle or its JSON is missing or invalid, or has no valid ``time``.
    """
    meta_path = _meta_path(Path(path))
    return meta_time(meta_path, _load_json(meta_path))


def read_acquisition_meta(path: str | Path) -> AcquisitionMeta:
    """Parse and validate a bundle's ``acquisition.json``.

    Parameters
    ----------
    path : path
        Bundle directory.

    Returns
    -------
    AcquisitionMeta
        The metadata; unknown top-level keys are kept in ``extra``.

    Raises
    ------
    BundleError
        If the file is missing, is not valid JSON, or lacks or mis-states a required key.
    """
    meta_path = _meta_path(Path(path))
    doc = _load_json(meta_path)
    integration = _object(meta_path, doc, "integration_ms")
    integration_ms = {key: _number(meta_path, integration, key, f"integration_ms.{key}",
                                   positive=True)
                      for key in dict.fromkeys([*CHANNELS, *integration])}
    view = _object(meta_path, doc, "view")
    zenith = _number(meta_path, view, "zenith_deg", "view.zenith_deg")
    if not 0.0 <= zenith < 90.0:
        raise BundleError(meta_path, f"view.zenith_deg must be in [0, 90) degrees from nadir, "
                                     f"got {zenith:g}")
    azimuth = _number(meta_path, view, "azimuth_deg", "view.azimuth_deg") % 360.0
    lat = lon = None
    if doc.get("location") is not None:
        location = _object(meta_path, doc, "location")
        lat = _number(meta_path, location, "lat", "location.lat")
        lon = _number(meta_path, location, "lon", "location.lon")
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
            raise BundleError(meta_path, f"location ({lat:g}, {lon:g}) is not a valid "
                                         "latitude/longitude in degrees")
        lon = (lon + 180.0) % 360.0 - 180.0 if lon > 180.0 else lon
    ancillary: dict[str, Any] = {}
    if doc.get("ancillary") is not None:
        ancillary = _object(meta_path, doc, "ancillary")
        for key in ("wind_speed_ms", "water_level_m"):
            if ancillary.get(key) is not None:
                _number(meta_path, ancillary, key, f"ancillary.{key}")
    return AcquisitionMeta(
        site=_text(meta_path, doc, "site"), sensor=_text(meta_path, doc, "sensor"),
        time=meta_time(meta_path, doc), integration_ms=integration_ms,
        view_zenith_deg=zenith, view_azimuth_deg=azimuth, lat=lat, lon=lon,
        ancillary=dict(ancillary),
        extra={k: v for k, v in doc.items() if k not in _KNOWN_KEYS},
    )


def bundle_digest(path: str | Path) -> str:
    """SHA-256 (hex) of an acquisition's content: the name, size and bytes of
    ``acquisition.json`` and of each ENVI file of its channels (``water``, ``sky``,
    ``irradiance``, ``dark``: header and data), by name.

    Other files (``truth.npz`` of simulated bundles, the ``QUARANTINE_REASON.txt`` hsiwq adds)
    are left out, so the same acquisition has the same digest wherever it was delivered.

    Raises
    ------
    BundleError
        When the folder or a file cannot be read, or a file is a symbolic link.
    """
    root = Path(path)
    h = hashlib.sha256()
    stems = {*CHANNELS, "dark"}
    try:
        files = sorted(p for p in root.iterdir()
                       if p.name == META_FILE or (p.name.split(".", 1)[0] in stems and "." in p.name))
        for f in files:
            if f.is_symlink():
                raise BundleError(f, "is a symbolic link; hsiwq does not follow links in bundles")
            h.update(f"{f.name}\0{f.stat().st_size}\0".encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    except OSError as exc:
        raise BundleError(root, f"cannot read: {exc.strerror or exc}") from None
    return h.hexdigest()


def read_bundle(path: str | Path, *, lazy: bool = False) -> Bundle:
    """Read and validate an acquisition bundle.

    Parameters
    ----------
    path : path
        Bundle directory (``acquisition.json``, ``water``/``sky``/``irradiance`` ENVI pairs,
        optional ``dark`` pair).
    lazy : bool
        Do not load the water cube: it stays backed by its memory-mapped file (see
        :func:`hsiwq.io.envi.read_envi`) and :func:`hsiwq.radiometry.correct_bundle` corrects
        it straight from there, in one pass. Headers and file sizes are validated all the
        same; the small sky, irradiance and dark cubes are always loaded.

    Returns
    -------
    Bundle
        Metadata and raw counts, each cube float32 with dims ``(y, x, wavelength)`` [DN]
        and ``wavelength`` [nm] (the water cube loaded on access when ``lazy``).

    Raises
    ------
    BundleError
        Naming the file at fault and the problem, for anything missing, unreadable or
        inconsistent.
    """
    path = Path(path)
    meta = read_acquisition_meta(path)
    cubes: dict[str, xr.DataArray] = {}
    for channel in CHANNELS:
        hdr = path / f"{channel}.hdr"
        if not hdr.is_file():
            raise BundleError(hdr, f"missing {channel} ENVI header (every bundle needs "
                                   f"{channel}.hdr + {channel}.raw)")
        cubes[channel] = read_envi(hdr, name=channel, lazy=lazy and channel == "water")
    dark = None
    if (path / "dark.hdr").is_file():
        dark = read_envi(path / "dark.hdr", name="dark")
        _check_dark(path / "dark.hdr", dark, cubes["water"])
    return Bundle(path=path, meta=meta, dark=dark, **cubes)


def parse_utc(text: Any) -> datetime:
    """An ISO 8601 date and time as an aware UTC datetime (``Z`` accepted, no offset = UTC,
    as the data contracts state): :func:`hsiwq.timeutil.parse_time` with the time required.

    Raises
    ------
    ValueError
        If ``text`` is not a string holding an ISO 8601 date and time.
    """
    try:
        return parse_time(text, require_time=True)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59
        raise ValueError(f"{text!r} is out of the range of dates in UTC") from None


def _meta_path(path: Path) -> Path:
    if not path.exists():
        raise BundleError(path, "bundle not found")
    if not path.is_dir():
        raise BundleError(path, "not a directory (a bundle is a folder with acquisition.json)")
    if not any(path.iterdir()):
        raise BundleError(path, "empty bundle folder")
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise BundleError(meta_path, f"missing {META_FILE}")
    return meta_path


def _load_json(meta_path: Path) -> dict[str, Any]:
    try:
        raw = meta_path.read_bytes()
    except OSError as exc:
        raise BundleError(meta_path, f"cannot read: {exc}") from None
    return parse_meta_json(meta_path, raw)


def parse_meta_json(meta_path: str | Path, raw: bytes) -> dict[str, Any]:
    """The JSON object of an ``acquisition.json`` read as ``raw`` bytes from ``meta_path``.

    Raises
    ------
    BundleError
        Naming ``meta_path`` when the bytes are not UTF-8 JSON holding an object.
    """
    try:
        doc = json.loads(raw.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(meta_path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: "
                                     f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise BundleError(meta_path, f"cannot read: {exc}") from None
    if not isinstance(doc, dict):
        raise BundleError(meta_path, "must hold a JSON object {...}")
    return doc


def meta_time(meta_path: str | Path, doc: dict[str, Any]) -> datetime:
    """The acquisition time (UTC) of a parsed ``acquisition.json``, or a BundleError naming it."""
    if doc.get("time") in (None, ""):
        raise BundleError(meta_path, "no time (add \"time\": \"2026-07-01T03:15:00Z\", UTC)")
    try:
        return parse_utc(doc["time"])
    except ValueError:
        raise BundleError(meta_path, f"invalid time {_short(doc['time'])} (expected ISO 8601 UTC, "
                                     "e.g. \"2026-07-01T03:15:00Z\")") from None


def _text(meta_path: Path, doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if value is None or value == "":
        raise BundleError(meta_path, f"no {key}")
    if not isinstance(value, str) or not value.strip():
        raise BundleError(meta_path, f"{key} must be a non-empty string, got {_short(value)}")
    return value.strip()


def _object(meta_path: Path, doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        raise BundleError(meta_path, f"no {key}")
    if not isinstance(value, dict):
        raise BundleError(meta_path, f"{key} must be a JSON object, got {_short(value)}")
    return value


def _number(meta_path: Path, doc: dict[str, Any], key: str, label: str, *,
            positive: bool = False) -> float:
    value = doc.get(key)
    if value is None:
        raise BundleError(meta_path, f"no {label}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        raise BundleError(meta_path, f"{label} must be a finite number, got {_short(value)}")
    if positive and value <= 0:
        raise BundleError(meta_path, f"{label} must be positive, got {_short(value)}")
    return float(value)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _short(value: Any, most: int = 40) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
    return text if len(text) <= most else text[:most] + "…"


def _check_dark(hdr: Path, dark: xr.DataArray, water: xr.DataArray) -> None:
    """Raise BundleError unless the dark frame can be subtracted from the water cube."""
    if dark.sizes["wavelength"] != water.sizes["wavelength"]:
        raise BundleError(hdr, f"dark frame has {dark.sizes['wavelength']} bands, "
                               f"the water cube has {water.sizes['wavelength']}")
    shift = float(abs(dark["wavelength"].values - water["wavelength"].values).max())
    if shift > 1e-3:
        raise BundleError(hdr, f"dark frame wavelengths differ from the water cube's "
                               f"(by up to {shift:g} nm)")
    if dark.sizes["x"] not in (1, water.sizes["x"]):
        raise BundleError(hdr, f"dark frame has {dark.sizes['x']} samples, the water cube has "
                               f"{water.sizes['x']} (expected the same or 1)")
