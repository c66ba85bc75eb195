"""The processing chain of one acquisition: read → correct → retrieve → store → alert.

A thin orchestration layer over the domain modules; the Prefect flows and the CLI both call
:func:`process_bundle`.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .alerts.engine import Transition
from .alerts.service import after_write
from .config import Site, SitesConfig
from .errors import BundleError, ConflictError
from .inbox import open_site_store
from .io.bundle import bundle_digest, read_bundle
from .io.calibration import load_calibrations, select_calibration
from .logs import log_event
from .radiometry.correct import correct_bundle
from .retrieval.defaults import Retrieval
from .retrieval.service import retrieve_region, uncalibrated
from .summary import MEDIAN_PIXELS, CorrectionSummary, band_medians, median_sample_step  # noqa: F401
from .store import Policy, Record, SiteStore
from .workspace import Workspace


@dataclass
class ProcessResult:
    """What processing one bundle produced.

    Attributes
    ----------
    site, bundle, time : the acquisition.
    verdict, reason : the acquisition QC verdict ("accepted" / "rejected") and its reason.
    values : dict of str to float
        ROI-median value per parameter [catalogue units].
    transitions : list of Transition
        Alert state changes caused by this acquisition.
    timings : dict of str to float
        Seconds spent per stage.
    """

    site: str
    bundle: Path
    time: datetime
    verdict: str
    reason: str
    values: dict[str, float] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


#: A replacement for the whole-cube correction (e.g. by tiles on a Dask cluster, see
#: flows/tiles.py): ``corrector(bundle_path, bundle, calibration, site) -> CorrectionSummary``.
Corrector = Callable[..., CorrectionSummary]


def summarise(corrected: xr.Dataset, region: str, workspace: Workspace) -> tuple[Retrieval, np.ndarray]:
    """Parameters of the ROI-median Rrs spectrum of a corrected acquisition.

    Parameters
    ----------
    corrected : xarray.Dataset
        Output of :func:`hsiwq.radiometry.correct.correct_bundle`.
    region : str
        The site's region (chooses SIOPs and models).
    workspace : Workspace
        Where regional calibration and models live.

    Returns
    -------
    retrieval : Retrieval
        One value per parameter (NaN when no pixel is valid).
    rrs_median : ndarray
        Median Rrs over valid pixels [sr-1], shape (n_wavelength,).
    """
    wl = corrected["wavelength"].values
    valid = corrected["valid"].values
    rows = np.flatnonzero(valid.ravel())
    # a systematic sample: the median of 32k pixels is exact enough
    rows = rows[::median_sample_step(rows.size)]
    ys, xs = np.unravel_index(rows, valid.shape)
    pixels = corrected["rrs"].values[ys, xs]  # (n, n_wl), whatever the cube's memory layout
    spectrum = band_medians(pixels) if pixels.shape[0] else np.full(wl.size, np.nan, dtype="float32")
    return retrieve_spectrum(spectrum, wl, corrected.attrs, region, workspace), spectrum


def retrieve_spectrum(spectrum: np.ndarray, wavelength: np.ndarray, attrs: dict[str, Any],
                      region: str, workspace: Workspace) -> Retrieval:
    """Parameters of an ROI-median spectrum (the sun zenith comes from the correction's attrs)."""
    sun_zenith = float(attrs.get("sun_zenith_deg", 30.0))
    return retrieve_region(spectrum, wavelength, region=region, workspace=workspace,
                           sun_zenith_deg=sun_zenith if np.isfinite(sun_zenith) else 30.0)


def process_bundle(bundle_path: str | Path, site: Site, config: SitesConfig,
                   workspace: Workspace, *, deliver: bool = True,
                   store_policy: Policy | None = None, store: SiteStore | None = None,
                   corrector: Corrector | None = None, replace: bool = False) -> ProcessResult:
    """Run the whole chain on one bundle and record its results.

    Parameters
    ----------
    bundle_path : path
        The acquisition bundle directory.
    site : Site
        Configuration of the site the bundle belongs to.
    config : SitesConfig
        The whole configuration (for subscribers).
    workspace : Workspace
        Where the store, alert state and outbox live.
    deliver : bool
        Deliver queued notifications right away (else leave them in the outbox).
    store_policy : Policy, optional
        When the store write may fold or compact by itself; a scheduler that runs
        ``SiteStore.maintain()`` after each run passes ``Policy(maintain_probability=0)``
        to keep that work off the write path.
    store : SiteStore, optional
        Where to write (default: the site's configured store, see
        :func:`hsiwq.inbox.open_site_store`).
    corrector : callable, optional
        Replaces the whole-cube correction and ROI median (see :data:`Corrector`); by
        default, cubes above ``[processing] tile_above_mb`` are corrected by tiles in this
        process (:func:`hsiwq.tiles.correct_tiled_serial`).
    replace : bool
        Replace a stored acquisition of the same time whose bundle had other content
        (default: refuse, see :func:`check_conflict`).

    Returns
    -------
    ProcessResult

    Raises
    ------
    BundleError, CalibrationError
        When the bundle cannot be read, does not match the site (site id, sensor, location:
        :func:`check_bundle_matches`), is larger than ``[processing] max_cube_mb``, or no
        calibration applies (nothing is stored).
    ConflictError
        When another bundle of the same time is stored and ``replace`` is False.
    """
    timings: dict[str, float] = {}
    t0 = _time.perf_counter()
    bundle = read_bundle(bundle_path, lazy=True)  # the water cube is read by correct_bundle
    check_bundle_matches(bundle, site)
    from .tiles import check_cube_size, correct_tiled_serial, cube_bytes

    check_cube_size(bundle, config.processing.max_cube_mb)
    store = store or open_site_store(site, config, workspace, policy=store_policy)
    digest = bundle_digest(bundle_path)[:16]
    if not replace:
        check_conflict(store, bundle.meta.time, digest, Path(bundle_path))
    calibration = select_calibration(load_calibrations(workspace.calibration_dir),
                                     bundle.meta.sensor, bundle.meta.time)
    timings["read"] = _time.perf_counter() - t0
    t0 = _time.perf_counter()
    tile_mb = config.processing.tile_above_mb
    if corrector is None and tile_mb and cube_bytes(bundle_path) > tile_mb * 2**20:
        def corrector(path, _bundle, cal, site_):  # noqa: E306 - the serial tiled correction
            return correct_tiled_serial(path, cal, config.processing.tile_rows, lat=site_.lat,
                                        lon=site_.lon, roi=site_.roi or None)
    if corrector is None:
        corrected = correct_bundle(bundle, calibration, lat=site.lat, lon=site.lon,
                                   roi=site.roi or None)
        timings["correct"] = _time.perf_counter() - t0
        t0 = _time.perf_counter()
        retrieval, rrs_median = summarise(corrected, site.region, workspace)
    else:
        corrected = corrector(bundle_path, bundle, calibration, site)
        timings["correct"] = _time.perf_counter() - t0
        t0 = _time.perf_counter()
        rrs_median = corrected.rrs_median
        retrieval = retrieve_spectrum(rrs_median, corrected.wavelength, corrected.attrs,
                                      site.region, workspace)
    accepted = corrected.attrs["verdict"] == "accepted"
    values = {k: float(v[0]) if accepted else float("nan") for k, v in retrieval.values.items()}
    timings["retrieve"] = _time.perf_counter() - t0
    t0 = _time.perf_counter()
    maps = (_maps(corrected, site, workspace, bundle.meta.ancillary)
            if corrector is None and accepted and site.maps.enabled else None)
    if maps is not None:
        timings["maps"] = _time.perf_counter() - t0
        t0 = _time.perf_counter()
    record = _record(bundle.meta.time, corrected, retrieval, accepted, rrs_median,
                     bundle.meta.ancillary, digest=digest, region=site.region)
    if maps is not None:
        record = dataclasses.replace(record, values={**record.values, **maps.stats})
    store.write(record)
    if maps is not None:
        from .maps.chain import store_maps
        store_maps(store.objects, maps, bundle.meta.time, site,
                   maintain_probability=store.policy.maintain_probability / 2)
    timings["store"] = _time.perf_counter() - t0
    t0 = _time.perf_counter()
    transitions = after_write(site, config, workspace, record, deliver=deliver)
    timings["alerts"] = _time.perf_counter() - t0
    result = ProcessResult(site=site.id, bundle=Path(bundle_path), time=bundle.meta.time,
                           verdict=corrected.attrs["verdict"],
                           reason=corrected.attrs.get("verdict_reason", ""),
                           values=values, transitions=transitions, timings=timings)
    log_event("acquisition_processed", site=site.id, bundle=Path(bundle_path).name,
              acquired=bundle.meta.time.isoformat(), verdict=result.verdict,
              reason=result.reason, n_values=int(np.isfinite(np.array(list(values.values()), float)).sum()),
              models=sorted(set(retrieval.algorithms.values())),
              alerts=[f"{t.rule_id}:{t.status}" for t in transitions],
              seconds=round(sum(timings.values()), 4),
              timings={k: round(v, 4) for k, v in timings.items()})
    return result


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points [km] (haversine, mean Earth radius 6371 km).

    References
    ----------
    .. [1] Sinnott, R. W. (1984). Virtues of the haversine. Sky and Telescope 68(2), 159.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2)
    return float(2 * 6371.0 * np.arcsin(np.sqrt(min(1.0, a))))


def check_bundle_matches(bundle: Any, site: Site) -> None:
    """Raise a BundleError naming ``acquisition.json`` when a bundle does not fit its site.

    The bundle's ``site`` must be the site's id; its ``sensor`` the site's (when the site
    names one); its ``location`` (when given) within the site's ``max_distance_km`` of the
    site's ``lat``/``lon``.
    """
    meta, where = bundle.meta, Path(bundle.path) / "acquisition.json"
    if meta.site != site.id:
        raise BundleError(where, f"belongs to site {meta.site!r}, not {site.id!r}")
    if site.sensor is not None and meta.sensor != site.sensor:
        raise BundleError(where, f"sensor {meta.sensor!r} differs from site {site.id!r}'s "
                                 f"sensor {site.sensor!r}")
    if meta.lat is not None and meta.lon is not None:
        limit = site.max_distance_km
        d = distance_km(site.lat, site.lon, meta.lat, meta.lon)
        if d > limit:
            raise BundleError(where, f"location ({meta.lat:.5f}, {meta.lon:.5f}) is {d:,.2f} km "
                                     f"from site {site.id!r} ({site.lat:.5f}, {site.lon:.5f}); "
                                     f"more than its max_distance_km = {limit:g}")


def check_conflict(store: SiteStore, time: datetime, digest: str, bundle_path: Path) -> None:
    """Raise a ConflictError when the store holds the same time from a bundle of other content.

    Same content (the same ``bundle_digest``) is a re-delivery: writing it again is harmless.
    A stored record without a digest (written before digests were kept) is not a conflict.
    """
    if not store.exists():
        return
    ds = store.read(start=time, end=time, quantities=["processed_at"], labels=["bundle_digest"],
                    with_rrs=False)
    if ds.sizes.get("time", 0) == 0:
        return
    stored = str(ds["bundle_digest"].values[-1])
    if stored in ("", "None", "nan") or stored == digest:
        return
    when = ds["processed_at"].values[-1]
    at = (datetime.fromtimestamp(float(when), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
          if np.isfinite(when) else "unknown time")
    raise ConflictError(bundle_path, f"conflicts with the acquisition stored for "
                                     f"{time:%Y-%m-%dT%H:%M:%SZ} (bundle digest {stored}, processed "
                                     f"{at}): this bundle's content differs (digest {digest}); "
                                     "use 'hsiwq process --replace' to replace the stored one")
def _maps(corrected: xr.Dataset, site: Site, workspace: Workspace, ancillary: dict[str, object]):
    """The acquisition's parameter maps (:mod:`hsiwq.maps`), retrieved as the ROI spectrum."""
    from .maps.chain import acquisition_maps

    wl = corrected["wavelength"].values
    return acquisition_maps(
        corrected, site, lambda s: retrieve_spectrum(s, wl, corrected.attrs, site.region, workspace),
        _float(ancillary.get("water_level_m")), root=workspace.root)


def _record(time: datetime, corrected: xr.Dataset | CorrectionSummary, retrieval: Retrieval,
            accepted: bool,
            rrs_median: np.ndarray, ancillary: dict[str, object], digest: str = "",
            region: str | None = None) -> Record:
    """The store record of one acquisition (parameters are NaN when it was rejected).

    Carries each parameter with its interval, out-of-domain flag and model, the QC summary
    (pixel flag counts, ρ, Li/Ed, Ed(550)), the geometry and the ancillary measurements; with
    ``region``, the label ``uncalibrated`` lists the parameters whose model was not
    calibrated for it (:func:`hsiwq.retrieval.service.uncalibrated`).
    """
    from .store import LABELS, QUANTITIES

    a = corrected.attrs
    numeric: dict[str, float] = {}
    for kind, suffix in ((retrieval.values, ""), (retrieval.lo, "_lo"), (retrieval.hi, "_hi"),
                         (retrieval.ood, "_ood")):
        for pid, arr in kind.items():
            numeric[pid + suffix] = float(arr[0]) if accepted else float("nan")
    flag_out_of_range(numeric)
    if isinstance(corrected, CorrectionSummary):
        numeric["n_valid"], wavelength = float(corrected.n_valid), corrected.wavelength
    else:
        numeric["n_valid"] = float(corrected["valid"].values.sum())
        wavelength = corrected["wavelength"].values
    for name in ("valid_fraction", "rho", "sky_ratio_750", "ed_550", "n_dropped_bands",
                 "sun_zenith_deg", "sun_azimuth_deg", "relative_azimuth_deg", "view_zenith_deg",
                 "view_azimuth_deg", "n_no_data", "n_saturated", "n_outside_roi", "n_not_water",
                 "n_sun_glint", "n_negative_rrs", "wind_speed_ms"):
        numeric[name] = _float(a.get(name))
    for name in ("wind_speed_ms", "water_level_m"):  # the station's measurement, when given
        measured = _float(ancillary.get(name))
        if not np.isnan(measured) or name not in numeric:
            numeric[name] = measured
    numeric["processed_at"] = datetime.now(timezone.utc).timestamp()
    labels = {"verdict": str(a["verdict"]), "reason": str(a.get("verdict_reason", "")),
              "sky_condition": str(a.get("sky_condition", "")), "rho_method": str(a.get("rho_method", "")),
              "model_version": ";".join(f"{k}={v}" for k, v in sorted(retrieval.algorithms.items())),
              "bundle_digest": digest}
    if region is not None:
        labels["uncalibrated"] = ",".join(uncalibrated(retrieval.algorithms, region))
    labels.update({f"{pid}_model": str(v) for pid, v in retrieval.algorithms.items()})
    return Record(time=time, values={k: v for k, v in numeric.items() if k in QUANTITIES},
                  labels={k: v for k, v in labels.items() if k in LABELS}, rrs=rrs_median,
                  wavelength=wavelength)


def flag_out_of_range(numeric: dict[str, float]) -> None:
    """Flag parameter values outside the catalogue's range, in place.

    A value outside :attr:`hsiwq.params.Parameter.valid_range` (e.g. chl-a 0.05 µg/L, below
    the 0.1 µg/L the algorithms are validated for) is kept, with ``<id>_ood = 1``; a negative
    value (physically impossible) is clipped to 0, the store's ``valid_min``, and flagged.
    """
    from .params import PARAMETERS

    for pid, p in PARAMETERS.items():
        v = numeric.get(pid, float("nan"))
        if np.isfinite(v) and not p.valid_range[0] <= v <= p.valid_range[1]:
            numeric[f"{pid}_ood"] = 1.0
            if v < 0:
                numeric[pid] = 0.0


def _float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
