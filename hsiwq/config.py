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

from .alerts.rules import RULE_KINDS, Gb3838Rule, Rule, Severity, ThresholdRule
from .alerts.subscribers import AlertingSettings, SmtpSettings, Subscriber
from .errors import ConfigError
from .maps.settings import MapSettings
from .schedule import parse_schedule

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
    """

    tile_above_mb: Annotated[float, Field(ge=0)] = 1024.0
    tile_rows: Annotated[int, Field(ge=8, le=65536)] = 256
    dask_workers: Annotated[int, Field(ge=1, le=256)] = 2
    dask_address: Annotated[str, Field(pattern=r"^(tcp|tls|inproc)://\S+$")] | None = None


def with_default_kind(rules: object) -> object:
    """Rule tables without ``kind`` are threshold rules."""
    if isinstance(rules, list):
        return [{"kind": "threshold", **r} if isinstance(r, dict) and "kind" not in r else r
                for r in rules]
    return rules


def check_site_rules(rules: list, target_class: str | None) -> list:
    """Unique ids; GB 3838 rules get the site's target class when they name none."""
    out, seen = [], set()
    for r in rules:
        if isinstance(r, Gb3838Rule) and r.target is None:
            if target_class is None:
                raise ValueError("a gb3838 rule needs 'target' or the site's 'target_class'")
            r = r.model_copy(update={"target": target_class})
        if r.rule_id in seen:
            raise ValueError(f"two rules with id {r.rule_id!r}; give them distinct 'id's")
        seen.add(r.rule_id)
        out.append(r)
    return out


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
    ``maps`` says how parameter maps are made and kept, and where the camera looks
    (:class:`hsiwq.maps.settings.MapSettings`, docs/maps.md).
    """

    id: str
    name: str = ""
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    timezone: str = "UTC"
    region: str = "default"
    waterbody: Literal["lake", "reservoir", "river"] = "lake"
    sensor: str | None = None
    schedule: str = "*/5 * * * *"
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
        object.__setattr__(self, "rules", check_site_rules(self.rules, self.target_class))
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
        return data

    def site(self, site_id: str, *, where: str | Path = "sites.toml") -> Site:
        """The site with this id, or a ConfigError naming the known ones."""
        try:
            return self.sites[site_id]
        except KeyError:
            known = ", ".join(sorted(self.sites)) or "none"
            raise ConfigError(where, f"unknown site {site_id!r}; configured sites: {known}") from None


def load_config(path: str | Path | None = None) -> tuple[SitesConfig, Path]:
    """Read and validate a site configuration file.

    Parameters
    ----------
    path : path, optional
        The TOML file; the bundled default when None or missing.

    Returns
    -------
    (SitesConfig, Path)
        The configuration and the file it came from.

    Raises
    ------
    ConfigError
        With the file, the key and the reason, for unreadable TOML and invalid values.
    """
    file = Path(path) if path is not None and Path(path).is_file() else DEFAULT_CONFIG
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(file, f"cannot read: {exc.strerror}") from None
    try:
        return SitesConfig.model_validate(raw), file
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for i, p in enumerate(first["loc"])
               if not (p in RULE_KINDS and i and isinstance(first["loc"][i - 1], int))]
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(file, f"{'.'.join(loc) + ': ' if loc else ''}{msg}{more}") from None
