"""Radiometric model of a simulated monitor and its calibration file (docs/contracts.md §3).

The water camera and the sky channel share one band grid (default 400–900 nm); the
cosine-collector irradiance spectrometer has its own (350–950 nm every 3.3 nm, like a
TriOS RAMSES). Counts follow DN = L·t/gain + dark, with shot noise (``electrons_per_dn``)
and read noise, rounded and clipped at ``saturation_dn``. A sensor's gains and offsets are a
deterministic function of its id and band grid, so the same sensor always yields the same
calibration file.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from hsiwq.sensor import ChannelCalibration, SensorCalibration


@dataclass(frozen=True)
class ChannelModel:
    """One channel of a simulated monitor.

    Attributes
    ----------
    wavelength_nm : ndarray
        Band centres [nm].
    fwhm_nm : ndarray
        Band widths [nm] (written to the header; the spectra are smooth enough that the
        simulator samples them at band centres).
    gain : ndarray
        Radiance per count rate [W m⁻² sr⁻¹ nm⁻¹ per (DN/ms)] (irradiance: W m⁻² nm⁻¹ per
        (DN/ms)), as written to the calibration file.
    offset_dn : ndarray
        Dark level in the calibration file [DN].
    saturation_dn : float
        Full-scale count [DN].
    electrons_per_dn : float
        Conversion gain for shot noise [e⁻/DN].
    read_noise_dn : float
        Read noise [DN, 1σ].
    dark_drift_dn : float
        Offset of the true dark level from ``offset_dn`` [DN] (e.g. sensor warm-up); only the
        water camera delivers a dark frame that shows it.
    """

    wavelength_nm: np.ndarray
    fwhm_nm: np.ndarray
    gain: np.ndarray
    offset_dn: np.ndarray
    saturation_dn: float
    electrons_per_dn: float
    read_noise_dn: float
    dark_drift_dn: float = 0.0

    @property
    def dark_level_dn(self) -> np.ndarray:
        """True dark level per band [DN]."""
        return self.offset_dn + self.dark_drift_dn

    def to_calibration(self) -> ChannelCalibration:
        """The channel's :class:`hsiwq.sensor.ChannelCalibration`."""
        return ChannelCalibration(np.asarray(self.wavelength_nm, dtype=float),
                                  np.asarray(self.gain, dtype=float),
                                  np.asarray(self.offset_dn, dtype=float),
                                  float(self.saturation_dn))

    def calibration_dict(self) -> dict:
        """The channel as in the calibration JSON (docs/contracts.md §3)."""
        return {"wavelength_nm": [float(w) for w in self.wavelength_nm],
                "gain": [float(g) for g in self.gain],
                "offset_dn": [float(o) for o in self.offset_dn],
                "saturation_dn": int(self.saturation_dn)}


@dataclass(frozen=True)
class SensorModel:
    """A simulated monitor: water camera, sky channel and irradiance spectrometer.

    Attributes
    ----------
    sensor : str
        Sensor id.
    valid_from : datetime
        Start of validity of its calibration (UTC).
    water, sky, irradiance : ChannelModel
        The three channels.
    """

    sensor: str
    valid_from: datetime
    water: ChannelModel
    sky: ChannelModel
    irradiance: ChannelModel

    @property
    def channels(self) -> dict[str, ChannelModel]:
        """The channels by name."""
        return {"water": self.water, "sky": self.sky, "irradiance": self.irradiance}

    @property
    def calibration_filename(self) -> str:
        """File name of the calibration, ``<sensor>_<YYYYmmdd>.json``."""
        return f"{self.sensor}_{self.valid_from:%Y%m%d}.json"

    def calibration_dict(self) -> dict:
        """The calibration JSON content (docs/contracts.md §3)."""
        return {"sensor": self.sensor,
                "valid_from": self.valid_from.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "channels": {k: c.calibration_dict() for k, c in self.channels.items()}}

    def calibration_json(self) -> str:
        """The calibration file's text."""
        return json.dumps(self.calibration_dict(), indent=1) + "\n"

    def to_calibration(self) -> SensorCalibration:
        """The :class:`hsiwq.sensor.SensorCalibration` of this sensor."""
        return SensorCalibration(self.sensor, self.valid_from,
                                 {k: c.to_calibration() for k, c in self.channels.items()})

    def write_calibration(self, directory: str | Path, overwrite: bool = False) -> Path:
        """Write the calibration JSON into ``directory``.

        Parameters
        ----------
        directory : path
            Calibration directory (created if needed).
        overwrite : bool
            Replace a different calibration of the same sensor and date.

        Returns
        -------
        Path
            The file written (or already present with identical content).

        Raises
        ------
        ValueError
            If a different calibration of the same sensor and date is already there (e.g. the
            same sensor id simulated with another band count).
        """
        path = Path(directory) / self.calibration_filename
        text = self.calibration_json()
        if path.exists():
            if path.read_text() == text:
                return path
            if not overwrite:
                raise ValueError(
                    f"{path}: a different calibration of sensor {self.sensor} already exists "
                    "(another band grid?); use another sensor id or calibration directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    """Round to significant digits (values as written to JSON are then exact)."""
    return np.array([float(f"{v:.{digits - 1}e}") for v in np.asarray(x, dtype=float)])


def _ripple(wl: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Smooth band-to-band sensitivity ripple of a spectrometer [-]."""
    span = wl.max() - wl.min() if wl.size > 1 else 1.0
    out = np.ones_like(wl)
    for period in (0.5, 0.23, 0.11):
        phase = rng.uniform(0, 2 * np.pi)
        out += amplitude / 3 * np.sin(2 * np.pi * (wl - wl.min()) / (period * span) + phase)
    return out


def _channel(wl: np.ndarray, fwhm: np.ndarray, peak_responsivity: float, offset: float,
             saturation: float, e_per_dn: float, read_noise: float, drift: float,
             rng: np.random.Generator, qe_centre: float, qe_width: float) -> ChannelModel:
    # Responsivity [DN/ms per radiance unit]: silicon QE × photon energy (∝ λ) × ripple.
    qe = np.exp(-(((wl - qe_centre) / qe_width) ** 2))
    resp = peak_responsivity * qe * (wl / qe_centre) * _ripple(wl, rng, 0.03)
    gain = _round_sig(1.0 / resp, 7)
    offs = np.round(offset + 4.0 * _ripple(wl, rng, 1.0) - 4.0 + rng.normal(0, 0.8, wl.size), 2)
    return ChannelModel(wl, fwhm, gain, offs, saturation, e_per_dn, read_noise, drift)


def sensor_model(sensor: str = "HSI-0001", *, n_bands: int = 120,
                 wavelength_range_nm: tuple[float, float] = (400.0, 900.0),
                 irradiance_range_nm: tuple[float, float] = (350.0, 950.0),
                 irradiance_step_nm: float = 3.3,
                 valid_from: datetime = datetime(2026, 1, 1, tzinfo=UTC),
                 snr_scale: float = 1.0) -> SensorModel:
    """The simulated monitor with a given id and band count.

    Defaults give a 12-bit camera (4095 DN) whose signal-to-noise ratio is ≈ 280 at 2000 DN
    above dark (40 e⁻/DN, 1.5 DN read noise), and a 16-bit irradiance spectrometer.

    Parameters
    ----------
    sensor : str
        Sensor id; seeds the band-to-band gain and offset pattern.
    n_bands : int
        Bands of the water camera and the sky channel [-].
    wavelength_range_nm : tuple of float
        First and last band centre of the camera [nm].
    irradiance_range_nm : tuple of float
        Range of the irradiance spectrometer's band centres [nm].
    irradiance_step_nm : float
        Band spacing of the irradiance spectrometer [nm].
    valid_from : datetime
        Start of validity of the calibration (UTC).
    snr_scale : float
        Multiplies the shot-noise-limited SNR (electrons per DN scale with its square).

    Returns
    -------
    SensorModel
    """
    if n_bands < 2:
        raise ValueError("n_bands must be at least 2")
    rng = np.random.default_rng([zlib.crc32(sensor.encode()), n_bands])
    wl = np.round(np.linspace(*wavelength_range_nm, n_bands), 4)
    step = (wavelength_range_nm[1] - wavelength_range_nm[0]) / (n_bands - 1)
    fwhm = np.full(n_bands, round(1.2 * step, 4))
    lo, hi = irradiance_range_nm
    wl_i = np.round(np.arange(lo, hi + 1e-9, irradiance_step_nm), 4)
    fwhm_i = np.full(wl_i.size, 10.0)
    e_scale = snr_scale**2
    water = _channel(wl, fwhm, 17000.0 * rng.uniform(0.95, 1.05), 100.0, 4095, 40.0 * e_scale,
                     1.5, 2.0, rng, 580.0, 320.0)
    sky = _channel(wl, fwhm, 17000.0 * rng.uniform(0.95, 1.05), 96.0, 4095, 40.0 * e_scale,
                   1.5, 0.0, rng, 580.0, 320.0)
    irr = _channel(wl_i, fwhm_i, 6500.0 * rng.uniform(0.95, 1.05), 480.0, 65535,
                   4.0 * e_scale, 3.0, 0.0, rng, 600.0, 330.0)
    return SensorModel(sensor, valid_from.astimezone(UTC), water, sky, irr)
