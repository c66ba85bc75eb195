"""Reprocessing a site's history with a given model version, from the stored ROI spectra.

Every stored acquisition with a complete ROI-median spectrum is retrieved again with the
chosen models and its record rewritten through the store's API (same acquisition time, so
the new row replaces the old one; verdict, reason, QC and geometry figures are kept). Its
parameter maps are made again from their stored block spectra while those are kept
(:mod:`hsiwq.maps.chain`, ``spectra_days``), with their spatial statistics; older maps, and
the downsampled maps of the older layout, are kept as they were.
Records already carrying the same model labels are skipped, so running it twice changes
nothing the second time (idempotent). Rejected acquisitions stay without values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ..config import SitesConfig, load_config
from ..inbox import open_site_store
from ..params import PARAMETER_IDS
from ..retrieval.regions import load_region
from ..retrieval.service import retrieve_with_models
from ..store import LABELS, QUANTITIES, Record
from ..workspace import Workspace
from .registry import ModelRegistry, RegistryError

#: ``version`` value meaning: published defaults only, no regional model.
DEFAULTS = "defaults"


@dataclass
class ReprocessResult:
    """How many records were rewritten, skipped (already up to date) or left (no spectrum)."""

    site: str
    rewritten: int
    unchanged: int
    without_spectrum: int
    labels: str


def models_for(registry: ModelRegistry, region: str, version: str | None) -> dict:
    """The models to use: those in service, with ``version``'s replacing them where it has one;
    ``"defaults"`` gives none."""
    if version == DEFAULTS:
        return {}
    models = {pid: (v, registry.load(region, pid, v)) for pid, v in registry.in_service(region).items()}
    if version is not None:
        found = False
        for pid in PARAMETER_IDS:
            try:
                registry.metadata(region, pid, version)
            except RegistryError:
                continue
            models[pid] = (version, registry.load(region, pid, version))
            found = True
        if not found:
            raise RegistryError(region, f"no model of version {version!r}")
    return models


def reprocess_site(workspace: Workspace, site: str, region: str, version: str | None = None, *,
                   start: datetime | None = None, end: datetime | None = None,
                   config: SitesConfig | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ReprocessResult:
    """Recompute a site's parameters from its stored ROI spectra.

    Parameters
    ----------
    workspace : Workspace
    site : str
        Site id: its configured store (a folder or an object-store URL), else the
        workspace's ``store/<site>.zarr``.
    region : str
        The site's region (its models and SIOPs).
    version : str or None
        Model version to apply (``None``: those in service; ``"defaults"``: no model).
    start, end : datetime, optional
        Time range (UTC, inclusive).
    config : SitesConfig, optional
        The site configuration (default: the workspace's ``sites.toml``, else the bundled one).
    progress : callable, optional
        Called as ``progress(done, total)`` after each record.

    Returns
    -------
    ReprocessResult
    """
    if config is None:
        config, _ = load_config(workspace.config_file)
    store = open_site_store(site, config, workspace)
    ds = store.read(start=start, end=end, with_maps=True)
    registry = ModelRegistry(workspace.registry_dir)
    models = models_for(registry, region, version)
    settings = load_region(region, workspace.regions_dir)
    wl = ds["wavelength"].values
    quantities = [q for q in QUANTITIES if q in ds]
    model_labels = {"model_version"} | {f"{p}_model" for p in PARAMETER_IDS}
    kept_labels = [k for k in LABELS if k in ds and k not in model_labels]
    maps_at: dict = {}
    if "maps" in ds:
        params = [str(p) for p in ds["map_parameter"].values]
        for j, t in enumerate(ds["map_time"].values):
            maps_at[np.datetime64(t, "s")] = {p: ds["maps"].values[j, k] for k, p in enumerate(params)}
    rewritten = unchanged = missing = 0
    labels = ""
    site_cfg = config.sites.get(site)
    total = ds.sizes["time"]
    for i in range(total):
        if progress is not None and i:
            progress(i, total)
        spectrum = ds["rrs"].values[i].astype(float)
        accepted = str(ds["verdict"].values[i]) == "accepted"
        if not np.all(np.isfinite(spectrum)):
            missing += 1
            continue
        sza = float(ds["sun_zenith_deg"].values[i]) if "sun_zenith_deg" in ds else 30.0
        r = retrieve_with_models(models, region, settings, spectrum[None, :], wl,
                                 sza if np.isfinite(sza) else 30.0)
        labels = ";".join(f"{k}={v}" for k, v in sorted(r.algorithms.items()))
        if str(ds["model_version"].values[i]) == labels:
            unchanged += 1
            continue
        values = {q: float(ds[q].values[i]) for q in quantities}
        for pid in PARAMETER_IDS:  # the new retrieval replaces every parameter column
            for suffix in ("", "_lo", "_hi", "_ood"):
                values[pid + suffix] = float("nan")
        for kind, suffix in ((r.values, ""), (r.lo, "_lo"), (r.hi, "_hi"), (r.ood, "_ood")):
            for pid, arr in kind.items():
                values[pid + suffix] = float(arr[0]) if accepted else float("nan")
        values["processed_at"] = datetime.now(timezone.utc).timestamp()
        t_s = int(ds["time"].values[i].astype("datetime64[s]").astype(np.int64))
        maps = None
        if accepted and site_cfg is not None:
            from ..maps.chain import regenerate

            maps = regenerate(store.objects, site_cfg, t_s, lambda s, w: retrieve_with_models(
                models, region, settings, s, w, sza if np.isfinite(sza) else 30.0))
        if maps is not None:
            values.update(maps.stats)
        new_labels = {k: str(ds[k].values[i]) for k in kept_labels}
        new_labels["model_version"] = labels
        new_labels.update({f"{pid}_model": str(v) for pid, v in r.algorithms.items()})
        t64 = ds["time"].values[i].astype("datetime64[s]")
        t = datetime.fromtimestamp(int(t64.astype(np.int64)), tz=timezone.utc)
        store.write(Record(time=t, values={k: v for k, v in values.items() if k in QUANTITIES},
                           labels={k: v for k, v in new_labels.items() if k in LABELS},
                           rrs=spectrum, wavelength=wl, maps=maps_at.get(t64)))
        if maps is not None:
            from ..maps.chain import store_maps

            store_maps(store.objects, maps, t, site_cfg, maintain_probability=0)
        rewritten += 1
    if progress is not None:
        progress(total, total)
    return ReprocessResult(site, rewritten, unchanged, missing, labels)
