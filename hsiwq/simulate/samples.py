"""The repository's sample cubes: two sites, four acquisitions each, fixed seeds.

``make_samples("sample_cubes")`` regenerates ``sample_cubes/`` and the two sensor calibrations
in ``calibration/sensors/`` byte-identically (same numpy / spectral versions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hsiwq.simulate.bundle import write_bundle
from hsiwq.simulate.scene import simulate_scene
from hsiwq.simulate.sensor_model import sensor_model

#: Bands of the sample cubes' camera (400–900 nm) [-].
SAMPLE_BANDS = 120
#: (lines, samples) of the sample cubes [pixels]; deliberately not square.
SAMPLE_SHAPE = (64, 48)


@dataclass(frozen=True)
class SampleSite:
    """A sample monitoring site.

    Attributes
    ----------
    site : str
        Site id.
    water_type : str
        Simulator water type.
    lat, lon : float
        Position [deg].
    sensor : str
        Sensor id.
    calibration_date : datetime
        ``valid_from`` of the sensor's calibration (UTC).
    layout : dict
        ``interleave``, ``byteorder`` of the water cube and ``shore_side``.
    water_level_m : float
        Typical water level of the site [m].
    """

    site: str
    water_type: str
    lat: float
    lon: float
    sensor: str
    calibration_date: datetime
    layout: dict[str, Any] = field(default_factory=dict)
    water_level_m: float = 3.0


@dataclass(frozen=True)
class SampleAcquisition:
    """One sample acquisition.

    Attributes
    ----------
    site : SampleSite
        Where.
    time : str
        When (UTC, ISO 8601).
    seed : int
        Seed of the scene.
    chl, pc, tss, cdom : float
        Acquisition means: chlorophyll-a [µg/L], phycocyanin [µg/L], TSS [mg/L],
        CDOM a_g(440) [1/m].
    wind_speed_ms : float
        Wind [m/s].
    cloud : float
        Cloud fraction [0–1].
    bloom : bool
        Cyanobacterial bloom.
    """

    site: SampleSite
    time: str
    seed: int
    chl: float
    pc: float
    tss: float
    cdom: float
    wind_speed_ms: float
    cloud: float = 0.0
    bloom: bool = False


TAIHU = SampleSite("taihu-north", "eutrophic_lake", 31.40, 120.18, "HSI-0001",
                   datetime(2026, 1, 1, tzinfo=UTC),
                   {"interleave": "bil", "byteorder": "little", "shore_side": "left"}, 3.21)
YANGTZE = SampleSite("yangtze-nanjing", "sediment_river", 32.06, 118.74, "HSI-0002",
                     datetime(2026, 3, 15, tzinfo=UTC),
                     {"interleave": "bsq", "byteorder": "big", "shore_side": "right"}, 7.84)

#: The sample acquisitions. At Taihu a calm summer morning lets a cyanobacterial bloom gather
#: at the surface: chlorophyll-a rises from 16 to 110 µg/L and crosses 50 µg/L in the last
#: two acquisitions. On the Yangtze two acquisitions are 5 min apart and one is under cloud.
SAMPLE_ACQUISITIONS: tuple[SampleAcquisition, ...] = (
    SampleAcquisition(TAIHU, "2026-07-21T00:45:00Z", 101, 16.0, 8.0, 38.0, 0.90, 3.8),
    SampleAcquisition(TAIHU, "2026-07-21T02:15:00Z", 102, 28.0, 17.0, 42.0, 0.90, 3.0),
    SampleAcquisition(TAIHU, "2026-07-21T03:45:00Z", 103, 55.0, 44.0, 35.0, 0.95, 2.0,
                      cloud=0.2),
    SampleAcquisition(TAIHU, "2026-07-21T05:15:00Z", 104, 110.0, 165.0, 30.0, 1.00, 1.2,
                      bloom=True),
    SampleAcquisition(YANGTZE, "2026-07-22T01:00:00Z", 201, 4.0, 0.8, 150.0, 1.10, 4.5),
    SampleAcquisition(YANGTZE, "2026-07-22T01:05:00Z", 202, 4.1, 0.8, 155.0, 1.10, 4.6),
    SampleAcquisition(YANGTZE, "2026-07-22T03:30:00Z", 203, 5.2, 1.0, 120.0, 1.00, 3.0,
                      cloud=0.6),
    SampleAcquisition(YANGTZE, "2026-07-22T06:30:00Z", 204, 6.0, 1.2, 95.0, 0.90, 2.5,
                      cloud=0.1),
)


def make_samples(out_dir: str | Path, calibration_dir: str | Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write the sample cubes (and their sensor calibrations), reproducibly.

    Parameters
    ----------
    out_dir : path
        Root of the sample cubes (the repository's ``sample_cubes``); bundles go to
        ``<out_dir>/<site>/<YYYYmmddTHHMMSSZ>/`` with ``truth.npz``.
    calibration_dir : path, optional
        Where the sensors' calibration JSON files go; default
        ``<out_dir>/../calibration/sensors`` (the repository layout). Existing files of the
        same sensor and date are replaced.
    progress : callable, optional
        Called as ``progress(done, total)`` after each bundle.

    Returns
    -------
    list of Path
        The bundle directories, in time order per site.
    """
    out_dir = Path(out_dir)
    cal_dir = (out_dir.resolve().parent / "calibration" / "sensors" if calibration_dir is None
               else Path(calibration_dir))
    paths = []
    for acq in SAMPLE_ACQUISITIONS:
        s = acq.site
        sm = sensor_model(s.sensor, n_bands=SAMPLE_BANDS, valid_from=s.calibration_date)
        scene = simulate_scene(water_type=s.water_type, time=acq.time, site=s.site, lat=s.lat,
                               lon=s.lon, shape=SAMPLE_SHAPE,
                               wavelength_nm=sm.water.wavelength_nm, seed=acq.seed,
                               wind_speed_ms=acq.wind_speed_ms, cloud=acq.cloud,
                               bloom=acq.bloom, chl=acq.chl, pc=acq.pc, tss=acq.tss,
                               cdom=acq.cdom, shore_side=s.layout["shore_side"])
        paths.append(write_bundle(scene, out_dir, sensor=sm, calibration_dir=cal_dir,
                                  interleave=s.layout["interleave"],
                                  byteorder=s.layout["byteorder"],
                                  water_level_m=s.water_level_m, overwrite_calibration=True))
        if progress is not None:
            progress(len(paths), len(SAMPLE_ACQUISITIONS))
    return paths
