"""Sensor radiometric calibration (docs/contracts.md §3) as validated objects.

Loading and choosing calibration files is done by :mod:`hsiwq.io.calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ChannelCalibration:
    """Radiometric calibration of one channel.

    Radiance = gain × (DN − dark) / integration_ms.

    Attributes
    ----------
    wavelength_nm : ndarray
        Band centres [nm].
    gain : ndarray
        Gain per band [W m-2 sr-1 nm-1 per (DN/ms)] for ``water`` and ``sky``,
        [W m-2 nm-1 per (DN/ms)] for ``irradiance``.
    offset_dn : ndarray
        Dark level per band used when no dark frame is delivered [DN].
    saturation_dn : float
        Counts at or above which a band is saturated [DN].
    nonlinearity : ndarray or None
        Optional polynomial coefficients ``c`` of a count non-linearity correction,
        DN_corrected = DN × (1 + c[0]·DN + c[1]·DN² + ...) (None: linear sensor).
    """

    wavelength_nm: np.ndarray
    gain: np.ndarray
    offset_dn: np.ndarray
    saturation_dn: float
    nonlinearity: np.ndarray | None = None


@dataclass(frozen=True)
class SensorCalibration:
    """Calibration of a monitor valid from a given time.

    Attributes
    ----------
    sensor : str
        Sensor id.
    valid_from : datetime
        Start of validity, timezone-aware UTC.
    channels : dict of str to ChannelCalibration
        ``water``, ``sky`` and ``irradiance``.
    path : Path or None
        File it was read from.
    """

    sensor: str
    valid_from: datetime
    channels: dict[str, ChannelCalibration]
    path: Path | None = field(default=None, compare=False)
