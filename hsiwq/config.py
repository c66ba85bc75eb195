"""Site configuration: one validated TOML file per workspace.

The file is ``<HSIWQ_HOME>/sites.toml``; when absent, the bundled default describing the two
sample sites applies. Unknown keys and bad values are rejected with the file, the key and the
reason.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .alerts.rules import RULE_KINDS, GapRule, Gb3838Rule, Rule, Severity, ThresholdRule
from .alerts.subscribers import AlertingSettings, SmtpSettings, Subscriber
from .errors import ConfigError
from .ids import RegionId, SensorId, SiteId, check_id
from .maps.settings import MapSettings
from .schedule import parse_interval, parse_schedule

DEFAULT_CONFIG = Path(__file__).resolve().parent / "data" / "sites.toml"

__all__ = ["AlertingSettings", "Processing", "Rule", "Severity", "Site", "SitesConfig",
           "SmtpSettings", "StorageSettings", "Subscriber", "ThresholdRule", "load_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: URL schemes a location may use besides a plain local path.
LOCATION_SCHEMES = ("file", "s3", "memory")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_location(value: str) -> str:
    """A local path or a URL (``s3://bucket/prefix``, ``file://``, ``memory://``).

    Relative local paths are taken relative to the workspace (``HSIWQ_HOME``).
    """
    text = value.strip()
    if not text:
        raise ValueError("empty location (give a folder or s3://bucket/prefix)")
    if ".." in re.split(r"[/\\]", text):
        raise ValueError(f"{text!r} holds a '..' segment; name the folder without one "
                         "(relative locations stay inside the workspace)")
    if "://" not in text:
        return text.rstrip("/") or "/"
    scheme, _, rest = text.partition("://")
    if scheme not in LOCATION_SCHEMES:
        raise ValueError(f"unsupported scheme {scheme + '://'!r} in {text!r} "
                         f"(use a local path or {', '.join(s + '://' for s in LOCATION_SCHEMES)})")
    if scheme == "s3":
        bucket = rest.split("/", 1)[0]
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise ValueError(f"{text!r}: {bucket!r} is not a valid S3 bucket name "
                             "(3-63 lowercase letters, digits, dots and hyphens)")
    elif not rest.strip("/"):
        raise ValueError(f"{text!r} names no path")
    return text.rstrip("/")


class StorageSettings(_Strict):
    """``[storage]``: how ``s3://`` locations (inboxes, archives, quarantines, stores) are reached.

    Unset values come from the standard AWS environment: ``AWS_ENDPOINT_URL_S3`` /
    ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_DEFAULT_REGION``, ``AWS_PROFILE``. Credentials are never read from this file.
    """

    endpoint_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/.*)?$")] | None = None
    region: Annotated[str, Field(min_length=1)] | None = None
    anon: bool = False
    profile: Annotated[str, Field(min_length=1)] | None = None

    def fsspec_options(self) -> dict:
        """fsspec/s3fs options for s3:// URLs (``endpoint_url`` falls back to the AWS env)."""
        import os

        client: dict[str, str] = {}
        endpoint = (self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
                    or os.environ.get("AWS_ENDPOINT_URL"))
        if endpoint:
            client["endpoint_url"] = endpoint
        if self.region:
            client["region_name"] = self.region
        out: dict = {"client_kwargs": client} if client else {}
        if self.anon:
            out["anon"] = True
        if self.profile:
            out["profile"] = self.profile
        return out


class Processing(_Strict):
    """``[processing]``: when a cube is corrected by tiles on a Dask cluster.

    Attributes
    ----------
    tile_above_mb : float
        Water cubes whose raw data file is larger than this [MiB] are corrected by tiles of
        lines across Dask worker processes (``flows/tiles.py``); 0 disables tiling.
    tile_rows : int
        Lines per tile.
    dask_workers : int
        Worker processes of the local Dask cluster (one thread each).
    dask_address : str or None
        ``tcp://host:port`` of a running Dask scheduler to use instead of a local cluster
        (its workers must see the bundle's local staging folder).
    max_cube_mb : float
        Largest water cube accepted [MiB of float32 Rrs: lines x samples x bands x 4 bytes];
        a larger one is refused with one line (never a ``MemoryError``). Cubes above
        ``tile_above_mb`` and up to this size are corrected by tiles.
    """

    tile_above_mb: Annotated[float, Field(ge=0)] = 1024.0
    tile_rows: Annotated[int, Field(ge=8, le=65536)] = 256
    dask_workers: Annotated[int, Field(ge=1, le=256)] = 2
    dask_address: Annotated[str, Field(pattern=r"^(tcp|tls|inproc)://\S+$")] | None = None
    max_cube_mb: Annotated[float, Field(gt=0)] = 4096.0


def with_default_kind(rules: object) -> object:
    """Rule tables without ``kind`` are threshold rules."""
    if isinstance(rules, list):
        return [{"kind": "threshold", **r} if isinstance(r, dict) and "kind" not in r else r
                for r in rules]
    return rules


def check_site_rules(rules: list, target_class: str | None,
                     expected_interval: str | None = None) -> list:
    """Unique ids; GB 3838 rules get the site's target class when they name none; gap rules
    given in ``missed`` acquisitions get their minutes from the site's cadence."""
    out, seen = [], set()
    for r in rules:
        if isinstance(r, Gb3838Rule) and r.target is None:
            if target_class is None:
                raise ValueError("a gb3838 rule needs 'target' or the site's 'target_class'")
            r = r.model_copy(update={"target": target_class})
        if r.id is not None:
            check_id(r.id, "rule")
        if isinstance(r, GapRule) and r.minutes is None:
            if expected_interval is None:
                raise ValueError("a gap rule in 'missed' acquisitions needs the site's "
                                 "'expected_interval'")
            r = r.model_copy(update={"minutes": r.missed * parse_interval(expected_interval) / 60})
        if r.rule_id in seen:
            raise ValueError(f"two rules with id {r.rule_id!r}; give them distinct 'id's")
        seen.add(r.rule_id)
        out.append(r)
    return out


#: The region of the global default model: a site may always name it.
GLOBAL_REGION = "global"


class Site(_Strict):
    """One monitoring site.

    Besides position, time zone, region, water body, sensor, schedule and ROI: ``name_zh``
    (the name in Chinese messages), ``target_class`` (GB 3838-2002 target class, used by
    ``gb3838`` rules that name none) and ``rules`` (alert rules, see
    :mod:`hsiwq.alerts.rules` and docs/alerts.md).

    ``inbox``, ``archive``, ``quarantine`` and ``store`` are locations: a local folder
    (relative paths are inside the workspace) or a URL (``s3://bucket/prefix``, reached with
    the ``[storage]`` options); unset, the workspace's ``inbox/<id>``, ``archive/<id>``,
    ``quarantine/<id>`` and ``store/<id>.zarr`` (see :func:`hsiwq.inbox.site_locations`).

    ``schedule`` is when the inbox is looked at regardless (a safety net: with ``watch``, a
    bundle arriving starts the site's run at once); ``expected_interval`` is the monitor's
    nominal acquisition cadence (``"1m"``), learnt from the stored times when unset (see
    :mod:`hsiwq.schedule`).

    Ids follow :mod:`hsiwq.ids` (lowercase letters, digits and dashes, at most 64
    characters). ``region`` must be a known region (see :func:`known_regions`); unset, it is
    ``"global"``. A bundle whose ``sensor`` differs from the site's, or whose location is more
    than ``max_distance_km`` [km] from the site's ``lat``/``lon``, is quarantined.

    ``maps`` says how parameter maps are made and kept, and where the camera looks
    (:class:`hsiwq.maps.settings.MapSettings`, docs/maps.md).
    """

    id: SiteId
    name: str = ""
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    max_distance_km: Annotated[float, Field(gt=0)] = 1.0
    timezone: str = "UTC"
    region: RegionId = GLOBAL_REGION
    waterbody: Literal["lake", "reservoir", "river"] = "lake"
    sensor: SensorId | None = None
    schedule: str = "*/5 * * * *"
    expected_interval: str | None = None
    watch: bool = True
    roi: list[list[tuple[float, float]]] = Field(default_factory=list)
    name_zh: str = ""
    target_class: Literal["I", "II", "III", "IV", "V"] | None = None
    rules: list[Rule] = Field(default_factory=list)
    inbox: str | None = None
    archive: str | None = None
    quarantine: str | None = None
    store: str | None = None
    maps: MapSettings = Field(default_factory=MapSettings)

    @field_validator("inbox", "archive", "quarantine", "store")
    @classmethod
    def _valid_location(cls, v: str | None) -> str | None:
        return None if v is None else check_location(v)

    @model_validator(mode="after")
    def _distinct_locations(self) -> Site:
        given = [(k, getattr(self, k)) for k in ("inbox", "archive", "quarantine", "store")
                 if getattr(self, k) is not None]
        for i, (k1, v1) in enumerate(given):
            for k2, v2 in given[i + 1:]:
                if v1 == v2 or v2.startswith(v1 + "/") or v1.startswith(v2 + "/"):
                    raise ValueError(f"'{k1}' ({v1}) and '{k2}' ({v2}) overlap; give them "
                                     "separate folders or prefixes")
        return self

    @field_validator("rules", mode="before")
    @classmethod
    def _default_kind(cls, v: object) -> object:
        return with_default_kind(v)

    @field_validator("schedule")
    @classmethod
    def _valid_schedule(cls, v: str) -> str:
        parse_schedule(v)  # raises ValueError with the reason
        return v

    @field_validator("expected_interval")
    @classmethod
    def _valid_interval(cls, v: str | None) -> str | None:
        if v is not None:
            parse_interval(v)  # raises ValueError with the reason
        return v

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as 'Asia/Shanghai')") from None
        return v

    @model_validator(mode="after")
    def _check_rules(self) -> Site:
        object.__setattr__(self, "rules", check_site_rules(self.rules, self.target_class,
                                                           self.expected_interval))
        return self


class SitesConfig(_Strict):
    """The whole configuration file: sites, alert subscribers and ``[alerting]`` settings."""

    sites: dict[str, Site]
    subscribers: list[Subscriber] = Field(default_factory=list)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    processing: Processing = Field(default_factory=Processing)

    @model_validator(mode="after")
    def _check_subscribers(self) -> SitesConfig:
        names = set()
        for i, sub in enumerate(self.subscribers):
            if sub.name in names:
                raise ValueError(f"subscribers.{i}: two subscribers named {sub.name!r}")
            names.add(sub.name)
            unknown = [s for s in sub.sites if s not in self.sites]
            if unknown:
                raise ValueError(f"subscribers.{i} ({sub.name}): unknown site {unknown[0]!r} in 'sites'")
            if sub.channel == "email" and self.alerting.smtp is None:
                raise ValueError(f"subscribers.{i} ({sub.name}): e-mail needs an [alerting.smtp] server")
        return self

    @model_validator(mode="before")
    @classmethod
    def _ids_from_keys(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("sites"), dict):
            data = dict(data)
            data["sites"] = {
                k: ({"id": k, **v} if isinstance(v, dict) and "id" not in v else v)
                for k, v in data["sites"].items()
            }
            for k, v in data["sites"].items():
                if isinstance(v, dict) and v.get("id") != k:
                    raise ValueError(f"sites.{k}: 'id' ({v.get('id')!r}) differs from the "
                                     "table name; drop 'id' or make them equal")
        return data

    def site(self, site_id: str, *, where: str | Path = "sites.toml") -> Site:
        """The site with this id, or a ConfigError naming the known ones."""
        try:
            return self.sites[site_id]
        except KeyError:
            known = ", ".join(sorted(self.sites)) or "none"
            raise ConfigError(where, f"unknown site {site_id!r}; configured sites: {known}") from None


def _short(key: str, most: int = 40) -> str:
    return key if len(key) <= most else f"{key[:most]}…"


def known_regions(workspace: object) -> list[str]:
    """Regions a site may name: ``global``, each ``<regions dir>/<region>.json`` and each
    region of the model registry (``<home>/registry/<region>``), sorted.

    ``workspace`` is a :class:`hsiwq.workspace.Workspace`.
    """
    found = {GLOBAL_REGION}
    for folder, pattern in ((Path(workspace.regions_dir), "*.json"),
                            (Path(workspace.registry_dir), "*")):
        if folder.is_dir():
            found.update(p.stem if pattern != "*" else p.name for p in folder.glob(pattern)
                         if (p.is_file() if pattern != "*" else p.is_dir()))
    return sorted(found)


def check_regions(config: SitesConfig, file: str | Path, workspace: object) -> None:
    """Raise a ConfigError (file, key, reason, known regions) for a site's unknown region."""
    known = None
    for sid, site in config.sites.items():
        if site.region == GLOBAL_REGION:
            continue
        known = known or known_regions(workspace)
        if site.region not in known:
            raise ConfigError(file, f"sites.{sid}.region: unknown region {site.region!r} (no "
                                    f"region file and no registered model); known regions: "
                                    f"{', '.join(known)} (\"global\" uses the global default model)")


def load_config(path: str | Path | None = None, *, workspace: object | None = None,
                ) -> tuple[SitesConfig, Path]:
    """Read and validate a site configuration file.

    Parameters
    ----------
    path : path, optional
        The TOML file; the bundled default when None or missing.
    workspace : Workspace, optional
        Whose region files and model registry make a region known (see
        :func:`known_regions`); default: the workspace of ``HSIWQ_HOME``.

    Returns
    -------
    (SitesConfig, Path)
        The configuration and the file it came from.

    Raises
    ------
    ConfigError
        With the file, the key and the reason, for unreadable TOML and invalid values.
    """
    from .workspace import Workspace

    file = Path(path) if path is not None and Path(path).is_file() else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise ConfigError(file, f"cannot read: {exc.strerror}") from None
    try:
        config = SitesConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [_short(str(p)) for i, p in enumerate(first["loc"])
               if not (p in RULE_KINDS and i and isinstance(first["loc"][i - 1], int))]
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(file, f"{'.'.join(loc) + ': ' if loc else ''}{msg}{more}") from None
    check_regions(config, file, workspace if workspace is not None else Workspace.resolve())
    return config, file
