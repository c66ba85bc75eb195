"""Site configuration: one validated TOML file per workspace.

The file is ``<HSIWQ_HOME>/sites.toml``; when absent, the bundled default describing the two
sample sites applies. Unknown keys and bad values are rejected with the file, the key and the
reason.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError
from .params import PARAMETER_IDS

DEFAULT_CONFIG = Path(__file__).resolve().parent / "data" / "sites.toml"

Severity = Literal["info", "warning", "critical"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdRule(_Strict):
    """Alert when a parameter stays beyond a threshold, with hysteresis.

    It fires after ``for_count`` consecutive valid acquisitions beyond ``above`` (or below
    ``below``) and resolves once a valid value is back past ``clear``.
    """

    kind: Literal["threshold"] = "threshold"
    id: str | None = None
    param: str
    above: float | None = None
    below: float | None = None
    clear: float | None = None
    for_count: Annotated[int, Field(ge=1)] = 1
    severity: Severity = "warning"

    @model_validator(mode="after")
    def _check(self) -> ThresholdRule:
        if self.param not in PARAMETER_IDS:
            raise ValueError(f"unknown parameter {self.param!r}; known: {', '.join(PARAMETER_IDS)}")
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of 'above' or 'below'")
        if self.clear is not None:
            if self.above is not None and self.clear > self.above:
                raise ValueError("'clear' must not exceed 'above' (hysteresis)")
            if self.below is not None and self.clear < self.below:
                raise ValueError("'clear' must not be below 'below' (hysteresis)")
        return self

    @property
    def rule_id(self) -> str:
        """Stable id of the rule within its site."""
        if self.id:
            return self.id
        side = f"above-{self.above:g}" if self.above is not None else f"below-{self.below:g}"
        return f"{self.param}-{side}"


class Site(_Strict):
    """One monitoring site."""

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
    rules: list[ThresholdRule] = Field(default_factory=list)


class Subscriber(_Strict):
    """Someone who receives alert notifications through one channel."""

    name: str
    channel: Literal["file", "webhook"]
    target: str
    sites: list[str] = Field(default_factory=list)
    min_severity: Severity = "info"


class SitesConfig(_Strict):
    """The whole configuration file."""

    sites: dict[str, Site]
    subscribers: list[Subscriber] = Field(default_factory=list)

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
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(file, f"{key}: {msg}{more}") from None
