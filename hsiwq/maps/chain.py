"""Maps in the processing chain: make them for an acquisition, store them, keep them bounded.

What :func:`hsiwq.pipeline.process_bundle` calls: :func:`acquisition_maps` after the ROI
retrieval (the same retrieval function, applied to every block at once) and
:func:`store_maps` after the store write.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..retrieval.defaults import Retrieval
from .blocks import BlockMaps, make_maps
from .geometry import footprints
from .settings import MapSettings
from .stats import spatial_stats

log = logging.getLogger(__name__)


@dataclass
class AcquisitionMaps:
    """One acquisition's maps and their spatial statistics (quantities for the record)."""

    maps: BlockMaps
    stats: dict[str, float]


def extent_thresholds(settings: MapSettings, rules: list[Any]) -> dict[str, list[float]]:
    """Thresholds per parameter: the configured ones plus those of the site's extent rules."""
    extra: dict[str, set[float]] = {}
    for r in rules:
        if getattr(r, "kind", "") == "extent":
            extra.setdefault(r.param, set()).add(float(r.threshold))
    params = set(settings.thresholds) | set(extra)
    return {p: settings.thresholds_for(p, tuple(extra.get(p, ()))) for p in params
            if p in settings.params}


def acquisition_maps(corrected: Any, site: Any, retrieve: Callable[[np.ndarray], Retrieval],
                     water_level_m: float | None, *, root: Path | None = None) -> AcquisitionMaps:
    """Maps and statistics of one corrected, accepted acquisition.

    Parameters
    ----------
    corrected : xarray.Dataset
        Output of :func:`hsiwq.radiometry.correct.correct_bundle` (``rrs``, ``valid``).
    site : Site
        The site (its ``maps`` settings and rules).
    retrieve : callable
        The chain's retrieval of spectra (n, bands) → :class:`Retrieval`.
    water_level_m : float or None
        The acquisition's water level [m above the camera's datum]; without it (or without
        camera geometry) maps stay in image coordinates.
    root : path, optional
        Folder of relative ``view_angles`` files.

    A water level that puts the water at or above the camera (a bad gauge reading), or an
    unreadable view-angle table, is logged and the maps stay in image coordinates: the
    acquisition is still processed.
    """
    settings: MapSettings = site.maps
    rrs = corrected["rrs"].transpose("y", "x", "wavelength").values
    valid = corrected["valid"].values
    geometry = None
    if settings.camera is not None and water_level_m is not None and np.isfinite(water_level_m):
        try:
            geometry = footprints(settings.camera, valid.shape, water_level_m, root=root)
        except (ValueError, OSError, KeyError) as exc:  # a bad gauge reading or angle table
            log.warning("site %s: maps in image coordinates, no geometry: %s", site.id, exc)
    maps = make_maps(rrs, valid, corrected["wavelength"].values, retrieve, list(settings.params),
                     block=settings.block, min_valid_fraction=settings.min_valid_fraction,
                     geometry=geometry, keep_spectra=settings.spectra_days > 0)
    return AcquisitionMaps(maps, spatial_stats(maps, extent_thresholds(settings, site.rules)))


def to_stored(maps: BlockMaps, time: datetime, lat: float, lon: float):
    """The :class:`~hsiwq.store.maps.StoredMaps` of one acquisition's maps."""
    from ..store.batch import epoch_seconds
    from ..store.maps import StoredMaps

    cells = {"n_valid": maps.n_valid[None]}
    if maps.water_area is not None:
        cells |= {"water_area": maps.water_area[None].astype("float32"),
                  "east": maps.east[None].astype("float32"),
                  "north": maps.north[None].astype("float32")}
    meta = {"block": maps.block, "image_shape": list(maps.image_shape), "algorithms": maps.algorithms,
            "height": [maps.height], "lat": float(lat), "lon": float(lon), "coarsened": 1}
    return StoredMaps(np.array([epoch_seconds(time)], "int64"), list(maps.params),
                      maps.values[None], maps.lo[None], maps.hi[None], maps.ood[None], cells, meta)


def store_maps(objects: Any, result: AcquisitionMaps, time: datetime, site: Any, *,
               maintain_probability: float = 1 / 64, stamp: int | None = None) -> str:
    """Write one acquisition's maps beside the series; now and then apply the retention."""
    from ..store.maps import MapStore

    ms = MapStore(objects)
    m = result.maps
    key = ms.write(to_stored(m, time, site.lat, site.lon), m.spectra, m.wavelength, stamp=stamp)
    if maintain_probability > 0 and random.random() < maintain_probability:
        retain(ms, site.maps)
    return key


def retain(ms: Any, settings: MapSettings, now: datetime | None = None) -> dict[str, int]:
    """Apply a site's retention settings to its map store."""
    return ms.retain(full_days=settings.full_days, coarsen_by=settings.coarsen,
                     keep_days=settings.keep_days, spectra_days=settings.spectra_days, now=now)


def regenerate(objects: Any, site: Any, time_s: int,
               retrieve: Callable[[np.ndarray, np.ndarray], Retrieval]) -> AcquisitionMaps | None:
    """Maps of a stored acquisition made again from its stored block spectra (reprocessing).

    Parameters
    ----------
    objects : ObjectStore
        The site store's objects.
    site : Site
        The site (map settings, rules).
    time_s : int
        Acquisition time [s since 1970-01-01 UTC].
    retrieve : callable
        ``retrieve(spectra, wavelength) -> Retrieval`` with the models to apply.

    Returns
    -------
    AcquisitionMaps or None
        None when the block spectra are no longer kept (``spectra_days``) or the maps were
        coarsened: those maps stay as they were.
    """
    from ..store.maps import MapStore

    from .blocks import maps_from_spectra

    ms = MapStore(objects)
    got = ms.spectra(time_s)
    old = ms.read(int(time_s))
    if got is None or old is None or int(old.time[0]) != int(time_s) or old.meta.get("coarsened", 1) != 1:
        return None
    spectra, wl = got
    geometry = None
    if "water_area" in old.cells:
        geometry = {k: old.cells[k][0] for k in ("water_area", "east", "north")}
        geometry["height"] = float(old.meta["height"][0])
    maps = maps_from_spectra(spectra, old.cells["n_valid"][0], np.isfinite(spectra).all(axis=-1), wl,
                             lambda s: retrieve(s, wl), list(old.params), block=int(old.meta["block"]),
                             image_shape=tuple(old.meta["image_shape"]), geometry=geometry,
                             keep_spectra=True)
    return AcquisitionMaps(maps, spatial_stats(maps, extent_thresholds(site.maps, site.rules)))
