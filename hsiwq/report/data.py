"""What a report shows, gathered from the workspace: store series, alerts, models, maps.

Everything here reads; nothing writes. The parts that other modules own (alert history, the
model registry, parameter maps) are read through their public functions where those exist,
and a missing or failing part becomes a note in the report instead of an error.
"""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..config import Site, SitesConfig
from ..errors import ConfigError, HsiwqError, StoreError
from ..inbox import Location, open_site_store, site_locations
from ..params import PARAMETERS
from ..schedule import cadence_times, learn_interval, parse_interval
from ..store import SiteStore
from ..timeutil import try_parse_time
from ..workspace import Workspace

log = logging.getLogger(__name__)

#: Length of the default period (ending at the newest record).
DEFAULT_DAYS = 7


@dataclass
class AlertEvent:
    """One alert state change (a notification), de-duplicated over subscribers."""

    time: datetime
    site: str
    rule: str
    status: str
    severity: str
    parameter: str
    value: float | None
    message: str


@dataclass
class AlertInfo:
    """The alert timeline of one site and period, and the current state of its rules."""

    events: list[AlertEvent] = field(default_factory=list)
    #: Current state by rule id: {"status", "since", "last_value"}.
    states: dict[str, dict[str, object]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def firing(self) -> list[str]:
        """Rule ids firing now."""
        return sorted(r for r, s in self.states.items() if s.get("status") == "firing")


@dataclass
class ModelInService:
    """One model-version label of the store and where it was used."""

    label: str
    by_parameter: dict[str, str]
    first: np.datetime64
    last: np.datetime64
    n: int
    #: Registry metadata per parameter (CV metrics etc.), when the registry has any.
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)


@dataclass
class Source:
    """One column of a report: a site over a period."""

    site: Site
    label: str
    start: np.datetime64
    end: np.datetime64
    ds: xr.Dataset
    alerts: AlertInfo
    models: list[ModelInService]
    registry_note: str
    maps: xr.Dataset | None
    maps_note: str
    #: Maps at a time asked for (``map_time``), and a strip of the latest map's local day.
    map_chosen: xr.Dataset | None = None
    map_strip: list[xr.Dataset] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.ds.sizes.get("time", 0))


def cadence(src: Source) -> tuple[float | None, str]:
    """The site's nominal acquisition interval [s] and how it is known.

    The configured ``expected_interval`` when there is one, else the interval learnt from the
    period's acquisition times (:func:`hsiwq.schedule.learn_interval`); never the polling
    schedule.

    Returns
    -------
    (seconds or None, description)
    """
    if src.site.expected_interval:
        return parse_interval(src.site.expected_interval), f"configured {src.site.expected_interval}"
    learnt = learn_interval(src.ds["time"].values) if src.n else None
    if learnt is None:
        return None, "unknown (no expected_interval configured, too few acquisitions to learn it)"
    return learnt, f"learnt from the data: {learnt:g} s"


def expected_acquisitions(src: Source) -> tuple[np.ndarray | None, str]:
    """The acquisition times the site's cadence expects over the period, and the cadence's
    description (see :func:`cadence`); None when the cadence is unknown."""
    interval, how = cadence(src)
    if interval is None:
        return None, how
    return cadence_times(interval, src.start, src.end), how


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def _pydt(t: np.datetime64) -> datetime:
    return np.datetime64(t, "s").astype(datetime).replace(tzinfo=timezone.utc)


def _dt64(t: datetime) -> np.datetime64:
    return np.datetime64(_utc(t).replace(tzinfo=None), "s")


def load_source(workspace: Workspace, config: SitesConfig, site_id: str, *,
                start: datetime | None = None, end: datetime | None = None,
                label: str | None = None, config_file: str | Path = "sites.toml",
                map_time: datetime | None = None) -> Source:
    """Read one site over one period.

    Parameters
    ----------
    workspace : Workspace
        Where the store, alert state and registry live.
    config : SitesConfig
        The site configuration (rules, water body, schedule).
    site_id : str
        A configured site.
    start, end : datetime, optional
        Inclusive period (UTC). Without ``end``, the period ends at the newest record;
        without ``start``, it covers the 7 days before its end, or starts at the first record
        when that is later.
    label : str, optional
        Caption of this column (default: the site id).
    map_time : datetime, optional
        Also show the parameter maps nearest to this time.

    Raises
    ------
    ConfigError
        Unknown site.
    StoreError
        No store for the site (an empty period is not an error: the report says so).
    """
    site = config.site(site_id, where=config_file)
    store = open_site_store(site, config, workspace)  # the configured store (folder or URL)
    if not store.exists():
        raise StoreError(store.path, f"no results stored for site {site.id!r} yet "
                                     "(process some acquisitions first)")
    start, end = _utc(start), _utc(end)
    if start is not None and end is not None and end < start:
        raise ConfigError("period", f"it ends ({end:%Y-%m-%d %H:%M}) before it starts "
                                   f"({start:%Y-%m-%d %H:%M})")
    if start is None or end is None:
        times = store.read(quantities=["valid_fraction"], with_rrs=False)["time"].values
        if times.size == 0:
            raise StoreError(store.path, "the store holds no record yet")
        first, newest = (_pydt(times.min()), _pydt(times.max()))
        if end is None:
            end = newest if start is None or newest >= start else start + timedelta(days=DEFAULT_DAYS)
        if start is None:  # the last week, or since the first record when that is later
            start = min(max(end - timedelta(days=DEFAULT_DAYS), first), end)
    ds = store.read(start=start, end=end)
    models, registry_note = models_in_service(ds, site, workspace)
    block = read_block_maps(store, site, start, end, _utc(map_time))
    legacy = (read_maps(store, start, end, site_locations(site, config, workspace).archive)
              if block is None or map_time is None else (None, ""))
    newer = (block is not None and block[0] is not None and legacy[0] is not None
             and str(legacy[0].attrs.get("time", "")) > str(block[0].attrs.get("time", "")))
    if block is not None and not newer:  # the chain's block maps, unless the record-kept ones are newer
        maps, maps_note, chosen, strip = block
    else:
        maps, maps_note = legacy
        chosen, strip = None, []
    return Source(site=site, label=label or site.id, start=_dt64(start), end=_dt64(end), ds=ds,
                  alerts=read_alerts(workspace, config, site.id, start, end),
                  models=models, registry_note=registry_note, maps=maps, maps_note=maps_note,
                  map_chosen=chosen, map_strip=strip)


# --- alerts ------------------------------------------------------------------------------
#: Alert changes drawn on the timeline (acknowledgements, silences and repeats are listed).
TIMELINE_EVENTS = ("firing", "escalated", "deescalated", "resolved")


def read_alerts(workspace: Workspace, config: SitesConfig, site_id: str,
                start: datetime | None = None, end: datetime | None = None) -> AlertInfo:
    """A site's alert changes in a period and the current state of its rules.

    Read through ``hsiwq.alerts.admin`` (``list_alerts`` and ``history``) when the alerts
    package offers it; otherwise from the state file and the notifications of the outbox
    (each change once, whatever the number of subscribers) or, failing that, the file
    subscribers' JSONL. Unreadable parts become notes, never errors.
    """
    info = AlertInfo()
    try:
        from ..alerts import admin  # type: ignore[attr-defined]
    except ImportError:
        admin = None
    if admin is not None and callable(getattr(admin, "list_alerts", None)) \
            and callable(getattr(admin, "history", None)):
        try:
            _alerts_from_admin(admin, workspace, site_id, info)
        except Exception as exc:  # noqa: BLE001  degrade: the report still renders
            log.warning("alert history unreadable: %s", exc)
            info.notes.append(f"alert history unreadable ({type(exc).__name__}: {exc})")
    else:
        _alerts_from_files(workspace, config, site_id, info)
    lo, hi = _utc(start), _utc(end)
    seen: set[tuple] = set()
    kept = []
    for e in sorted(info.events, key=lambda e: (e.time, e.rule)):
        key = (e.rule, e.status, e.time)
        if key in seen or (lo and e.time < lo) or (hi and e.time > hi):
            continue
        seen.add(key)
        kept.append(e)
    info.events = kept
    return info


def _alerts_from_admin(admin, workspace: Workspace, site_id: str, info: AlertInfo) -> None:
    outbox = _outbox_docs(workspace, site_id, info)
    headlines = {(d.get("rule"), d.get("change") or d.get("status"), _parse_time(d.get("time"))): d.get("message")
                 for d in outbox}
    for row in admin.list_alerts(workspace, site=site_id, include_inactive=True):
        info.states[str(row.get("rule"))] = {"status": row.get("status"), "since": row.get("since"),
                                            "last_value": row.get("value"),
                                            "severity": row.get("severity")}
    for h in admin.history(workspace, site=site_id, limit=None):
        event = str(h.get("event", ""))
        if event not in TIMELINE_EVENTS + ("repeat", "acked", "silenced", "unsilenced"):
            continue
        when = _parse_time(h.get("time") or h.get("at"))
        if when is None:
            continue
        value = h.get("value")
        parts = [f"{event}: rule {h.get('rule', '?')}"]
        if isinstance(value, (int, float)):
            parts.append(f"value {value:.3g}")
        if isinstance(h.get("threshold"), (int, float)):
            parts.append(f"threshold {h['threshold']:g}")
        if h.get("level_name"):
            parts.append(str(h["level_name"]))
        if h.get("by"):
            parts.append(f"by {h['by']}")
        message = headlines.get((h.get("rule"), event, when)) or ", ".join(parts)
        info.events.append(AlertEvent(time=when, site=site_id, rule=str(h.get("rule", "?")),
                                      status=event, severity=str(h.get("severity") or ""),
                                      parameter=str(h.get("param") or h.get("parameter") or ""),
                                      value=float(value) if isinstance(value, (int, float)) else None,
                                      message=str(message)))
    if not info.events:  # a workspace from before the history was kept: its notifications
        _events_from_docs(outbox, site_id, info)


def _outbox_docs(workspace: Workspace, site_id: str, info: AlertInfo) -> list[dict]:
    """The alert changes of a site in the outbox's notifications (sent and pending), one per
    change and subscriber; a notification grouping several changes lists them in ``alerts``."""
    docs: list[dict] = []
    outbox = workspace.alerts_dir / "outbox"
    for folder in ("sent", "pending"):
        for path in sorted((outbox / folder).glob("*.json")) if (outbox / folder).is_dir() else ():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                info.notes.append(f"notification {path.name} unreadable ({exc})")
                continue
            payload = doc.get("payload", doc) if isinstance(doc, dict) else None
            if not isinstance(payload, dict) or payload.get("site") != site_id:
                continue
            items = payload.get("alerts") if isinstance(payload.get("alerts"), list) else [payload]
            docs += [{"site": site_id, **a} for a in items if isinstance(a, dict)]
    return docs


def _alerts_from_files(workspace: Workspace, config: SitesConfig, site_id: str, info: AlertInfo) -> None:
    state_file = workspace.alerts_dir / "state.json"
    try:
        if state_file.is_file():
            for key, st in json.loads(state_file.read_text(encoding="utf-8")).items():
                site, _, rule = key.partition("/")
                if site == site_id and isinstance(st, dict):
                    info.states[rule] = {"status": st.get("status"), "since": st.get("since"),
                                         "last_value": st.get("last_value"),
                                         "severity": st.get("severity")}
    except (OSError, ValueError) as exc:
        info.notes.append(f"alert state unreadable ({exc})")
    docs = _outbox_docs(workspace, site_id, info)
    if not docs:
        for sub in config.subscribers:
            if getattr(sub, "channel", None) != "file":
                continue
            target = Path(sub.target)
            target = target if target.is_absolute() else workspace.root / target
            try:
                resolved = target.resolve()
                if not resolved.is_relative_to(workspace.root.resolve()) or not resolved.is_file():
                    continue
                docs += [json.loads(x) for x in resolved.read_text(encoding="utf-8").splitlines() if x.strip()]
            except (OSError, ValueError) as exc:
                info.notes.append(f"subscriber log {sub.target} unreadable ({exc})")
    _events_from_docs(docs, site_id, info)


def _events_from_docs(docs: list[dict], site_id: str, info: AlertInfo) -> None:
    for d in docs:
        if not isinstance(d, dict) or d.get("site") != site_id:
            continue
        when = _parse_time(d.get("time"))
        if when is None:
            continue
        value = d.get("value")
        info.events.append(AlertEvent(time=when, site=site_id, rule=str(d.get("rule", "?")),
                                      status=str(d.get("change") or d.get("status", "?")),
                                      severity=str(d.get("severity", "")),
                                      parameter=str(d.get("parameter", "")),
                                      value=float(value) if isinstance(value, (int, float)) else None,
                                      message=str(d.get("message", ""))))


def _parse_time(text: object) -> datetime | None:
    return try_parse_time(str(text)) if text is not None else None


# --- models ------------------------------------------------------------------------------
def parse_model_label(label: str) -> dict[str, str]:
    """``"chl_a=saa-lee1999:taihu;secchi=lee2015:taihu"`` → {parameter: model version}."""
    out: dict[str, str] = {}
    for part in str(label).split(";"):
        pid, sep, version = part.partition("=")
        if sep and pid.strip():
            out[pid.strip()] = version.strip()
    return out


def models_in_service(ds: xr.Dataset, site: Site, workspace: Workspace) -> tuple[list[ModelInService], str]:
    """The model versions behind a period's values, newest first, with registry metadata."""
    n = ds.sizes.get("time", 0)
    per_param = [pid for pid in PARAMETERS if f"{pid}_model" in ds]
    if per_param and not any((ds[f"{pid}_model"].values.astype(str) != "").any() for pid in per_param):
        per_param = []  # an older store: only the joined label
    keys = [f"{pid}_model" for pid in per_param] or (["model_version"] if "model_version" in ds else [])
    if n == 0 or not keys:
        return [], "no values in this period"
    df = pd.DataFrame({k: ds[k].values.astype(str) for k in keys})
    df["time"] = ds["time"].values
    found: dict[str, ModelInService] = {}
    for key, g in df.groupby(keys, sort=False)["time"]:
        key = key if isinstance(key, tuple) else (key,)
        if per_param:
            by_parameter = {pid: v for pid, v in zip(per_param, key, strict=True) if v}
        else:
            by_parameter = parse_model_label(key[0])
        if not by_parameter:
            continue
        label = ";".join(f"{pid}={v}" for pid, v in by_parameter.items())
        found[label] = ModelInService(label, by_parameter, g.min().to_datetime64(),
                                      g.max().to_datetime64(), int(g.size))
    models = sorted(found.values(), key=lambda m: m.last, reverse=True)
    note = _attach_registry_metadata(models, site, workspace)
    return models, note


def _attach_registry_metadata(models: list[ModelInService], site: Site, workspace: Workspace) -> str:
    """Fill ``metadata`` from the model registry; returns a note on what was found."""
    lookup = _registry_lookup()
    if lookup is None:
        return "none: hsiwq.models exposes no model registry yet; the published default " \
               "algorithms carry no cross-validation metrics"
    n_found = 0
    for m in models:
        for pid, version in m.by_parameter.items():
            try:
                meta = lookup(workspace, site.region, pid, version)
            except Exception as exc:  # noqa: BLE001
                log.debug("registry lookup failed for %s %s: %s", pid, version, exc)
                meta = None
            if meta:
                m.metadata[pid] = dict(meta)
                n_found += 1
    if n_found == 0:
        return "none: the registry has no entry for these versions (published default " \
               "algorithms carry no cross-validation metrics)"
    return f"registry metadata for {n_found} parameter model(s)"


def _registry_lookup():
    """The model registry's metadata lookup, ``(workspace, region, parameter, version) →
    dict or None`` (CV metrics and the like), or None while ``hsiwq.models`` has no registry.

    This is the one place to connect the registry when it lands.
    """
    return None


# --- maps --------------------------------------------------------------------------------
#: Most maps in the strip of a day.
STRIP_MAPS = 8


def read_block_maps(store: SiteStore, site: Site, start: datetime, end: datetime,
                    map_time: datetime | None = None
                    ) -> tuple[xr.Dataset | None, str, xr.Dataset | None, list[xr.Dataset]] | None:
    """The chain's parameter maps (:mod:`hsiwq.store.maps`): the newest of the period, the
    one nearest ``map_time``, and up to :data:`STRIP_MAPS` of the newest one's local day.

    None when the site's store holds no such maps at all (the older layout may).
    """
    from zoneinfo import ZoneInfo

    from ..maps.dataset import to_dataset
    from ..store.maps import MapStore

    ms = MapStore(store.objects)
    try:
        times = ms.times(start, end)
        if not times.size and not ms.times().size:
            return None
        chosen = None
        if map_time is not None:
            m = ms.read(map_time)
            chosen = to_dataset(m, 0, site=site.id) if m is not None else None
        if not times.size:
            return None, "no parameter maps in this period", chosen, []
        latest = to_dataset(ms.read(int(times[-1])), 0, site=site.id)
        day = datetime.fromtimestamp(int(times[-1]), ZoneInfo(site.timezone)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        today = ms.times(day, day + timedelta(days=1) - timedelta(seconds=1))
        pick = today[np.unique(np.linspace(0, today.size - 1, min(STRIP_MAPS, today.size)).round().astype(int))]
        strip = [to_dataset(ms.read(int(t)), 0, ["chl_a"], site=site.id) for t in pick]
    except (OSError, ValueError, KeyError) as exc:
        return None, f"parameter maps unreadable ({type(exc).__name__}: {exc})", None, []
    latest.attrs["time"] = str(latest["time"].values)[:19]
    latest.attrs["hsiwq_maps"] = 1
    return latest, "", chosen, [d for d in strip if "chl_a" in d]


def read_maps(store: SiteStore, start: datetime | None, end: datetime | None,
              archive: Location | None = None) -> tuple[xr.Dataset | None, str]:
    """The newest stored parameter maps of the period, if the store keeps maps.

    Returns a Dataset of 2-D maps (``y``, ``x``) named by parameter id, with ``rgb``
    (``y``, ``x``, ``band``: an RGB composite of the acquisition's cube, when its bundle is in
    the site's ``archive``, a folder or an object-store location) and the map's ``time`` in
    its attributes; or None and the reason.
    """
    try:
        accepts = "with_maps" in inspect.signature(store.read).parameters
    except (TypeError, ValueError):
        accepts = False
    if not accepts:
        return None, "parameter maps are not stored for this site"
    try:
        kwargs = {"quantities": ["valid_fraction"], "with_rrs": False, "with_maps": True}
        if "labels" in inspect.signature(store.read).parameters:
            kwargs["labels"] = []
        ds = store.read(start=start, end=end, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return None, f"parameter maps unreadable ({type(exc).__name__}: {exc})"
    if "maps" not in ds or ds.sizes.get("map_time", 0) == 0:
        return None, "parameter maps are not stored for this site in this period"
    last = ds["maps"].isel(map_time=-1)
    t = ds["map_time"].values[-1]
    maps = xr.Dataset({str(p): (("y", "x"), last.sel(map_parameter=p).values.astype(float))
                       for p in ds["map_parameter"].values if str(p) in PARAMETERS},
                      attrs={"time": str(np.datetime64(t, "s"))})
    if archive is not None:
        rgb = archived_rgb(archive, _pydt(t))
        if rgb is not None:
            maps["rgb"] = (("cube_y", "cube_x", "band"), rgb)
    return maps, ""


def archived_rgb(archive: Location, when: datetime, limit: int = 500) -> np.ndarray | None:
    """A true-colour composite (y, x, 3; 0–1) of the water cube of the archived bundle of
    one acquisition, or None when the bundle is not in the archive (a local folder or an
    object-store location, whose bundle is downloaded for the while).

    The folder named by the acquisition time is tried first, then up to ``limit`` others,
    newest name first.
    """
    from ..inbox import location_time, staged, subfolders
    from ..io.bundle import read_bundle

    named = archive.join(when.strftime("%Y%m%dT%H%M%SZ"))
    try:
        others = [f for f in reversed(subfolders(archive)) if f.name != named.name][:limit]
    except OSError as exc:
        log.debug("no RGB composite: cannot list %s: %s", archive, exc)
        return None
    for folder in [named, *others]:
        try:
            if location_time(folder) != when:
                continue
        except (HsiwqError, OSError):  # not a bundle (or not there): look further
            continue
        try:
            with staged(folder) as path:
                cube = read_bundle(path).water
                img = np.stack([cube.sel(wavelength=w, method="nearest").values.astype(float)
                                for w in (640.0, 550.0, 460.0)], axis=-1)
            return _stretch(img)
        except Exception as exc:  # noqa: BLE001  no composite is not an error
            log.debug("no RGB composite from %s: %s", folder, exc)
            return None
    return None


def _stretch(img: np.ndarray) -> np.ndarray:
    """Per-channel 2–98 % stretch with a mild gamma (white balance on the scene)."""
    out = np.zeros_like(img, dtype=float)
    for k in range(img.shape[-1]):
        ch = img[..., k]
        finite = ch[np.isfinite(ch)]
        if not finite.size:
            continue
        lo, hi = np.percentile(finite, [2, 98])
        out[..., k] = np.clip((ch - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return np.nan_to_num(out, nan=0.0) ** (1 / 1.4)
