"""Write simulated acquisition bundles (docs/contracts.md §2) with their ground truth.

Layout written by :func:`write_bundle` under ``out_dir``::

    <out_dir>/<site>/<YYYYmmddTHHMMSSZ>/
        acquisition.json
        water.hdr  water.raw        uint16 DN, lines × samples × bands
        sky.hdr    sky.raw          uint16 DN, 3 × 3 × bands (same grid as water)
        irradiance.hdr irradiance.raw  uint16 DN, 1 × 1 × bands of the spectrometer grid
        dark.hdr   dark.raw         uint16 DN, 4 × samples × bands dark frames
        truth.npz                   ground truth (not needed by readers)
    <calibration_dir>/<sensor>_<YYYYmmdd>.json   (default <out_dir>/calibration)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from hsiwq.io.envi import write_envi
from hsiwq.params import PARAMETER_IDS
from hsiwq.simulate.fields import rng_for
from hsiwq.simulate.files import EnviCubeWriter, NpzWriter
from hsiwq.simulate.scene import Scene, simulate_scene
from hsiwq.simulate.sensor_model import ChannelModel, SensorModel, sensor_model

#: Target counts above dark for auto-exposure [DN]: 99th percentile of the water pixels'
#: brightest band, the sky spectrum's brightest band, the irradiance's brightest band.
EXPOSURE_TARGET_DN = {"water": 3000.0, "sky": 3000.0, "irradiance": 40000.0}
#: Truth Rrs cubes larger than this are stored uncompressed (speed) [bytes].
COMPRESS_TRUTH_MAX_BYTES = 16 * 2**20
#: Pixel budget of one block of lines (bounds memory to ~ 10 × block × bands × 8 bytes).
BLOCK_PIXELS = 1 << 11


def bundle_name(time: datetime) -> str:
    """Directory name of a bundle, ``YYYYmmddTHHMMSSZ`` (UTC)."""
    return time.strftime("%Y%m%dT%H%M%SZ")


def counts(radiance: np.ndarray, channel: ChannelModel, integration_ms: float,
           rngs: list[np.random.Generator] | None, dark_dn: np.ndarray | None = None,
           ) -> np.ndarray:
    """Digital counts of a channel for a radiance block.

    DN = L·t/gain + dark (+ shot and read noise), rounded and clipped to [0, saturation].

    Parameters
    ----------
    radiance : ndarray
        Radiance [W m⁻² sr⁻¹ nm⁻¹] (irradiance [W m⁻² nm⁻¹]), shape (lines, samples, bands).
    channel : ChannelModel
        The channel.
    integration_ms : float
        Integration time [ms].
    rngs : list of numpy.random.Generator or None
        One generator per line of the block (noise-free counts when None).
    dark_dn : ndarray, optional
        True dark level per band [DN] (default ``channel.dark_level_dn``).

    Returns
    -------
    ndarray of uint16
        Counts [DN].
    """
    signal = radiance * (integration_ms / channel.gain)
    dark = channel.dark_level_dn if dark_dn is None else dark_dn
    if rngs is not None:
        z = np.stack([g.standard_normal(signal.shape[1:], dtype=np.float32) for g in rngs])
        var = np.maximum(signal, 0.0) / channel.electrons_per_dn + channel.read_noise_dn**2
        signal += np.sqrt(var) * z
    signal += dark
    np.rint(signal, out=signal)
    np.clip(signal, 0, channel.saturation_dn, out=signal)
    return signal.astype(np.uint16)


def _exposure(peak_rate: float, target: float) -> float:
    """Integration time [ms] that brings a count rate [DN/ms] to ``target`` DN, 0.1 ms steps."""
    return float(np.clip(np.round(target / max(peak_rate, 1e-9), 1), 0.1, 2000.0))


def auto_exposure(scene: Scene, sensor: SensorModel) -> dict[str, float]:
    """Integration times per channel, as a monitor's auto-exposure would choose them.

    Parameters
    ----------
    scene : Scene
        The scene.
    sensor : SensorModel
        The monitor.

    Returns
    -------
    dict of str to float
        ``water``, ``sky``, ``irradiance`` integration times [ms].
    """
    ok = scene.water_mask & ~scene.glint_mask
    iy, ix = np.nonzero(ok)
    if iy.size == 0:
        iy, ix = np.nonzero(np.ones(scene.shape, bool))
    step = max(1, iy.size // 4096)
    iy, ix = iy[::step], ix[::step]
    consts = [scene.params[k][iy, ix] for k in ("chl_a", "phycocyanin", "tss", "cdom")]
    consts = [np.nan_to_num(c, nan=1.0) for c in consts]
    lt = scene.forward.rrs(*consts) * scene.ed() + scene.rho * scene.li()
    water_rate = np.percentile((lt / sensor.water.gain).max(axis=1), 99)
    sky_rate = (scene.li() / sensor.sky.gain).max()
    irr_rate = (scene.illumination.ed(sensor.irradiance.wavelength_nm)
                / sensor.irradiance.gain).max()
    return {"water": _exposure(water_rate, EXPOSURE_TARGET_DN["water"]),
            "sky": _exposure(sky_rate, EXPOSURE_TARGET_DN["sky"]),
            "irradiance": _exposure(irr_rate, EXPOSURE_TARGET_DN["irradiance"])}


def _line_rngs(seed: int, stream: str, y0: int, y1: int) -> list[np.random.Generator]:
    return [rng_for(seed, stream, y) for y in range(y0, y1)]


def write_bundle(scene: Scene, out_dir: str | Path, *, sensor: SensorModel | str = "HSI-0001",
                 calibration_dir: str | Path | None = None,
                 integration_ms: dict[str, float] | None = None, interleave: str = "bil",
                 byteorder: str = "little", noise: bool = True,
                 water_level_m: float | None = None, n_dark_lines: int = 4,
                 sky_shape: tuple[int, int] = (3, 3), store_truth_rrs: bool = True,
                 ancillary: dict[str, Any] | None = None,
                 overwrite_calibration: bool = False) -> Path:
    """Write a scene as an acquisition bundle with its ground truth.

    Parameters
    ----------
    scene : Scene
        The simulated scene (its ``wavelength_nm`` must be the sensor's camera grid).
    out_dir : path
        Root directory; the bundle goes to ``<out_dir>/<site>/<YYYYmmddTHHMMSSZ>/``.
    sensor : SensorModel or str
        The monitor, or a sensor id for :func:`~hsiwq.simulate.sensor_model.sensor_model`
        with the scene's band count.
    calibration_dir : path, optional
        Where the sensor's calibration JSON is written (default ``<out_dir>/calibration``).
    integration_ms : dict of str to float, optional
        Integration times [ms] per channel; default from :func:`auto_exposure`.
    interleave : {"bil", "bsq", "bip"}
        Interleave of the water and dark cubes.
    byteorder : {"little", "big"}
        Byte order of all ENVI data files.
    noise : bool
        Add shot and read noise (False: exact rounded counts).
    water_level_m : float, optional
        Water level for the ancillary data [m] (default drawn between 2 and 4 m).
    n_dark_lines : int
        Lines of the dark frame [-] (0: no dark frame).
    sky_shape : tuple of int
        (lines, samples) of the sky cube [pixels].
    store_truth_rrs : bool
        Store the per-pixel truth Rrs cube in ``truth.npz``.
    ancillary : dict, optional
        Extra ancillary keys for ``acquisition.json``.
    overwrite_calibration : bool
        Replace a different calibration file of the same sensor and date.

    Returns
    -------
    Path
        The bundle directory.

    Raises
    ------
    ValueError
        If the sensor's band grid differs from the scene's, or a different calibration of the
        same sensor is already in ``calibration_dir``.
    """
    out_dir = Path(out_dir)
    if isinstance(sensor, str):
        wl = scene.wavelength_nm
        sensor = sensor_model(sensor, n_bands=wl.size, wavelength_range_nm=(wl[0], wl[-1]))
    if not np.allclose(sensor.water.wavelength_nm, scene.wavelength_nm):
        raise ValueError(f"sensor {sensor.sensor}: band grid differs from the scene's")
    sensor.write_calibration(out_dir / "calibration" if calibration_dir is None
                             else calibration_dir, overwrite=overwrite_calibration)
    t_int = integration_ms or auto_exposure(scene, sensor)
    bdir = out_dir / scene.site / bundle_name(scene.time)
    bdir.mkdir(parents=True, exist_ok=True)
    seed = scene.seed
    ny, nx = scene.shape
    nb = scene.wavelength_nm.size
    wch = sensor.water

    # Water cube and truth Rrs, one block of lines at a time.
    cube = EnviCubeWriter(bdir / "water.hdr", (ny, nx, nb), scene.wavelength_nm,
                          interleave=interleave, byteorder=byteorder, fwhm_nm=wch.fwhm_nm)
    truth = NpzWriter(bdir / "truth.npz",
                      compress=ny * nx * nb * 4 <= COMPRESS_TRUTH_MAX_BYTES)
    if store_truth_rrs:
        truth.begin("rrs", (ny, nx, nb), "<f4")
    saturated = np.zeros((ny, nx), dtype=bool)
    step = max(1, BLOCK_PIXELS // nx)
    for y0 in range(0, ny, step):
        y1 = min(ny, y0 + step)
        rrs = scene.rrs_lines(y0, y1)
        if store_truth_rrs:
            truth.write(rrs.astype("<f4"))
        lt = scene.radiance_lines(y0, y1, rrs)
        dn = counts(lt, wch, t_int["water"], _line_rngs(seed, "water", y0, y1) if noise else None)
        saturated[y0:y1] = (dn >= wch.saturation_dn).any(axis=2)
        cube.write_lines(y0, dn)
    if store_truth_rrs:
        truth.end()
    cube.close()

    # Dark frame, sky, irradiance.
    if n_dark_lines > 0:
        dark = counts(np.zeros((n_dark_lines, nx, nb)), wch, t_int["water"],
                      _line_rngs(seed, "dark", 0, n_dark_lines) if noise else None)
        write_envi(bdir / "dark.hdr", dark, scene.wavelength_nm, interleave=interleave,
                   byteorder=byteorder, dtype=np.uint16, fwhm_nm=wch.fwhm_nm)
    sky_l = np.broadcast_to(scene.li(), (*sky_shape, nb)).copy()
    sky = counts(sky_l, sensor.sky, t_int["sky"],
                 _line_rngs(seed, "sky", 0, sky_shape[0]) if noise else None)
    write_envi(bdir / "sky.hdr", sky, scene.wavelength_nm, interleave="bsq",
               byteorder=byteorder, dtype=np.uint16, fwhm_nm=sensor.sky.fwhm_nm)
    ich = sensor.irradiance
    ed_i = scene.illumination.ed(ich.wavelength_nm).reshape(1, 1, -1)
    irr = counts(ed_i, ich, t_int["irradiance"],
                 _line_rngs(seed, "irradiance", 0, 1) if noise else None)
    write_envi(bdir / "irradiance.hdr", irr, ich.wavelength_nm, interleave="bsq",
               byteorder=byteorder, dtype=np.uint16, fwhm_nm=ich.fwhm_nm)

    # acquisition.json
    if water_level_m is None:
        water_level_m = round(float(rng_for(seed, "water_level").uniform(2.0, 4.0)), 2)
    anc = {"wind_speed_ms": round(scene.wind_speed_ms, 2), "water_level_m": water_level_m}
    anc.update(ancillary or {})
    acq = {"site": scene.site, "sensor": sensor.sensor,
           "time": scene.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "integration_ms": {k: t_int[k] for k in ("water", "sky", "irradiance")},
           "view": {"zenith_deg": round(scene.view_zenith_deg, 3),
                    "azimuth_deg": round(scene.view_azimuth_deg, 3)},
           "location": {"lat": scene.lat, "lon": scene.lon},
           "ancillary": anc}
    (bdir / "acquisition.json").write_text(json.dumps(acq, indent=2) + "\n")

    _write_truth_rest(truth, scene, sensor, t_int, saturated)
    truth.close()
    return bdir


def _write_truth_rest(truth: NpzWriter, scene: Scene, sensor: SensorModel,
                      t_int: dict[str, float], saturated: np.ndarray) -> None:
    truth.add("wavelength", scene.wavelength_nm.astype(float))
    for pid in PARAMETER_IDS:
        truth.add(pid, scene.params[pid].astype("<f4"))
    truth.add("water", scene.water_mask)
    truth.add("shore", scene.shore_mask)
    truth.add("glint", scene.glint_mask)
    truth.add("saturated", saturated)
    truth.add("valid", scene.water_mask & ~scene.glint_mask & ~saturated)
    truth.add("land_class", scene.land_class)
    truth.add("glint_reflectance", scene.glint.astype("<f4"))
    truth.add("ed", scene.ed())
    truth.add("li", scene.li())
    scalars = {"rho": scene.rho, "sun_zenith_deg": scene.sun_zenith_deg,
               "sun_azimuth_deg": scene.sun_azimuth_deg,
               "view_zenith_deg": scene.view_zenith_deg,
               "view_azimuth_deg": scene.view_azimuth_deg,
               "relative_azimuth_deg": scene.relative_azimuth_deg,
               "wind_speed_ms": scene.wind_speed_ms, "cloud": scene.illumination.cloud,
               "seed": scene.seed, "bloom": scene.bloom}
    for k, v in scalars.items():
        truth.add(k, np.asarray(v))
    truth.add("rho_method", np.asarray(scene.rho_method))
    truth.add("water_type", np.asarray(scene.water_type.name))
    truth.add("sensor", np.asarray(sensor.sensor))
    truth.add("mean_params", np.asarray([scene.mean(p) for p in PARAMETER_IDS]))
    truth.add("param_ids", np.asarray(PARAMETER_IDS))


def simulate_bundle(out_dir: str | Path, *, water_type: str = "eutrophic_lake",
                    time: datetime | str = "2026-07-01T03:15:00Z", site: str = "sim-site",
                    sensor: str | None = None, lat: float = 31.40, lon: float = 120.18,
                    shape: tuple[int, int] = (64, 64), n_bands: int = 150, seed: int = 0,
                    wind_speed_ms: float = 3.0, cloud: float = 0.0, bloom: bool = False,
                    calibration_dir: str | Path | None = None, interleave: str = "bil",
                    byteorder: str = "little", noise: bool = True,
                    water_level_m: float | None = None, store_truth_rrs: bool = True,
                    **scene_kwargs: Any) -> Path:
    """Simulate one acquisition and write it as a bundle (the one-call entry point).

    Parameters
    ----------
    out_dir : path
        Root directory; the bundle goes to ``<out_dir>/<site>/<YYYYmmddTHHMMSSZ>/`` and the
        calibration to ``calibration_dir`` (default ``<out_dir>/calibration``).
    water_type : str
        ``clear_reservoir``, ``eutrophic_lake`` or ``sediment_river``.
    time : datetime or str
        Acquisition time, UTC.
    site : str
        Site id.
    sensor : str, optional
        Sensor id (default ``SIM-<n_bands>``, so that different band grids never share a
        calibration file).
    lat, lon : float
        Position [deg].
    shape : tuple of int
        (lines, samples) [pixels].
    n_bands : int
        Camera bands over 400–900 nm [-].
    seed : int
        Seed of every random stream (same seed ⇒ byte-identical files).
    wind_speed_ms : float
        Wind speed [m/s].
    cloud : float
        Cloud fraction [0–1].
    bloom : bool
        Cyanobacterial bloom (``eutrophic_lake``).
    calibration_dir : path, optional
        Calibration directory.
    interleave, byteorder : str
        ENVI layout of the water cube (see :func:`write_bundle`).
    noise : bool
        Add sensor noise.
    water_level_m : float, optional
        Ancillary water level [m].
    store_truth_rrs : bool
        Store the per-pixel truth Rrs cube.
    **scene_kwargs
        Further arguments of :func:`~hsiwq.simulate.scene.simulate_scene` (``chl``, ``pc``,
        ``tss``, ``cdom``, ``view_azimuth_deg``, ``shore_side``, ``glint_fraction`` ...).

    Returns
    -------
    Path
        The bundle directory.
    """
    sid = sensor or f"SIM-{n_bands}"
    sm = sensor_model(sid, n_bands=n_bands)
    scene = simulate_scene(water_type=water_type, time=time, site=site, lat=lat, lon=lon,
                           shape=shape, wavelength_nm=sm.water.wavelength_nm, seed=seed,
                           wind_speed_ms=wind_speed_ms, cloud=cloud, bloom=bloom,
                           **scene_kwargs)
    return write_bundle(scene, out_dir, sensor=sm, calibration_dir=calibration_dir,
                        interleave=interleave, byteorder=byteorder, noise=noise,
                        water_level_m=water_level_m, store_truth_rrs=store_truth_rrs)
