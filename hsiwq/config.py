"""Site configuration: one validated TOML file per workspace.

The file is ``<HSIWQ_HOME>/sites.toml``; when absent, the bundled default describing the two
sample sites applies. Unknown keys and bad values are rejected with the file, the key and the
reason.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .alerts.rules import RULE_KINDS, Gb3838Rule, Rule, Severity, ThresholdRule
from .alerts.subscribers import AlertingSettings, SmtpSettings, Subscriber
from .errors import ConfigError
from .schedule import parse_schedule

DEFAULT_CONFIG = Path(__file__).resolve().parent / "data" / "sites.toml"

__all__ = ["AlertingSettings", "Rule", "Severity", "Site", "SitesConfig", "SmtpSettings",
           "Subscriber", "ThresholdRule", "load_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
