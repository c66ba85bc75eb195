"""In-memory form of an acquisition bundle (docs/contracts.md §2).

Readers in :mod:`hsiwq.io` build these objects after validating the files; the rest of the
library trusts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import xarray as xr

#: The channels of a monitor: the water camera, the sky radiance and the irradiance sensor.
CHANNELS = ("water", "sky", "irradiance")


@dataclass(frozen=True)
class AcquisitionMeta:
    """Metadata of one acquisition (the content of ``acquisition.json``).

    Attributes
    ----------
    site : str
        Site id.
    sensor : str
        Sensor (monitor) id, used to choose the radiometric calibration.
    time : datetime
        Acquisition time, timezone-aware UTC.
    integration_ms : dict of str to float
        Integration time per channel ``water``, ``sky``, ``irradiance`` [ms].
    view_zenith_deg : float
        Water camera viewing zenith angle from nadir [deg].
    view_azimuth_deg : float
        Water camera viewing azimuth, clockwise from north [deg].
    lat, lon : float or None
        Position [deg]; None when the bundle does not give it (the site's applies).
    ancillary : dict
        Optional ancillary values (``wind_speed_ms`` [m/s], ``water_level_m`` [m], ...);
        unknown keys are kept.
    extra : dict
        Any other top-level keys of ``acquisition.json``, kept verbatim.
    """

    site: str
    sensor: str
    time: datetime
    integration_ms: dict[str, float]
    view_zenith_deg: float
    view_azimuth_deg: float
    lat: float | None = None
    lon: float | None = None
    ancillary: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def wind_speed_ms(self) -> float | None:
        """Wind speed [m/s] from the ancillary data, or None."""
        value = self.ancillary.get("wind_speed_ms")
        return None if value is None else float(value)


@dataclass(frozen=True)
class Bundle:
    """A validated acquisition bundle with its raw counts.

    Attributes
    ----------
    path : Path
        The bundle directory.
    meta : AcquisitionMeta
        Parsed ``acquisition.json``.
    water : xarray.DataArray
        Raw counts of the water camera, dims ``(y, x, wavelength)``, float32 [DN];
        ``wavelength`` coordinate in nm; optional ``fwhm`` [nm] and boolean ``good_band``
        coordinates along ``wavelength``; ignored values are NaN. Read with
        ``read_bundle(path, lazy=True)``, it is backed by the memory-mapped file and loaded
        only on access (:func:`hsiwq.io.envi.envi_source` gives the raw source).
    sky : xarray.DataArray
        Raw counts of sky radiance, dims ``(y, x, wavelength)`` [DN].
    irradiance : xarray.DataArray
        Raw counts of downwelling irradiance, dims ``(y, x, wavelength)`` [DN]
        (usually 1 × 1); its band set may differ from the camera's.
    dark : xarray.DataArray or None
        Dark frame(s) of the water camera, dims ``(y, x, wavelength)`` [DN], or None.
    """

    path: Path
    meta: AcquisitionMeta
    water: xr.DataArray
    sky: xr.DataArray
    irradiance: xr.DataArray
    dark: xr.DataArray | None = None
