"""Who hears about alerts, through which channel, and the global alerting settings.

Secrets never appear in the configuration: a webhook's HMAC key, the SMTP password and
tokens inside chat URLs come from environment variables named here (``secret_env``,
``password_env``, ``${NAME}`` placeholders in ``target``). A Prefect flow can set those
variables from a Secret block before it calls the library; the library never imports
Prefect.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..params import PARAMETER_IDS
from .rules import SEVERITY_RANK, Severity

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def expand_env(text: str) -> str:
    """Replace ``${NAME}`` placeholders by environment variables.

    Raises
    ------
    KeyError
        Naming the first variable that is not set (never its value).
    """
    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise KeyError(m.group(1))
        return value

    return _PLACEHOLDER.sub(sub, text)


class Subscriber(_Strict):
    """Someone who receives alert notifications through one channel.

    ``target`` is, by channel: ``file`` a JSON-lines file (relative to the workspace);
    ``webhook`` an http(s) URL; ``email`` one or more addresses separated by commas;
    ``apprise`` an Apprise URL (``dingtalk://``, ``wecombot://``, ``feishu://``,
    ``slack://``, ``workflows://`` for Teams …). ``${NAME}`` placeholders in webhook and
    apprise targets are filled from the environment at delivery time.

    Filters: ``sites`` and ``parameters`` (empty = all; alerts without a parameter, such as
    data gaps, pass a parameter filter), ``categories`` (``water`` quality, ``data``
    quality) and ``min_severity``.
    """

    name: Annotated[str, Field(min_length=1, pattern=r"^[\w.@+-]+$")]
    channel: Literal["file", "webhook", "email", "apprise"]
    target: Annotated[str, Field(min_length=1)]
    sites: list[str] = Field(default_factory=list)
    parameters: list[str] = Field(default_factory=list)
    categories: list[Literal["water", "data"]] = Field(default_factory=lambda: ["water", "data"])
    min_severity: Severity = "info"
    language: Literal["en", "zh"] | None = None
    secret_env: str | None = None
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 5.0

    @model_validator(mode="after")
    def _check(self) -> Subscriber:
        for p in self.parameters:
            if p not in PARAMETER_IDS:
                raise ValueError(f"unknown parameter {p!r} in 'parameters'; known: {', '.join(PARAMETER_IDS)}")
        if self.channel == "webhook" and not self.target.startswith(("http://", "https://")):
            raise ValueError("a webhook target must be an http:// or https:// URL")
        if self.channel == "email":
            bad = [a for a in self.addresses if "@" not in a]
            if bad or not self.addresses:
                raise ValueError(f"not an e-mail address: {(bad or [self.target])[0]!r}")
        if self.channel == "apprise" and "://" not in self.target:
            raise ValueError("an apprise target must be an Apprise URL such as dingtalk://${TOKEN}/")
        if self.secret_env is not None:
            if self.channel != "webhook":
                raise ValueError("'secret_env' (HMAC signing key) applies to webhooks only")
            if not _ENV_NAME.match(self.secret_env):
                raise ValueError(f"'secret_env' must name an environment variable, not {self.secret_env!r}")
        return self

    @property
    def addresses(self) -> list[str]:
        """E-mail recipients of an ``email`` subscriber."""
        return [a.strip() for a in self.target.split(",") if a.strip()]

    def takes(self, site: str, params: tuple[str, ...], category: str, severity: str) -> bool:
        """Whether this subscriber's filters let an alert through."""
        if self.sites and site not in self.sites:
            return False
        if category not in self.categories:
            return False
        if self.parameters and params and not set(params) & set(self.parameters):
            return False
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.min_severity]


class SmtpSettings(_Strict):
    """The outgoing mail server (``[alerting.smtp]``)."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str = "hsiwq@localhost"
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0

    @model_validator(mode="after")
    def _check(self) -> SmtpSettings:
        if self.password_env is not None and not _ENV_NAME.match(self.password_env):
            raise ValueError(f"'password_env' must name an environment variable, not {self.password_env!r}")
        if self.password_env is not None and self.username is None:
            raise ValueError("'password_env' needs 'username'")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"none": 25, "starttls": 587, "ssl": 465}[self.security]


class AlertingSettings(_Strict):
    """Global alerting settings (``[alerting]``).

    Attributes
    ----------
    repeat_minutes : float
        Repeat interval of a firing, unacknowledged alert (0: never), unless a rule says.
    language : {"en", "zh"}
        Message language of subscribers that do not choose one.
    trend_hours : float
        Hours of history summarised in messages.
    dashboard_url : str or None
        Where to see more: a URL template with ``{site}``, ``{param}`` and ``{rule}``.
    retry_base_s, retry_max_s : float
        Delivery retry backoff: base × 2^(attempt−1), capped.
    smtp : SmtpSettings or None
        Needed by ``email`` subscribers.
    """

    repeat_minutes: Annotated[float, Field(ge=0)] = 240.0
    language: Literal["en", "zh"] = "en"
    trend_hours: Annotated[float, Field(gt=0, le=168)] = 6.0
    dashboard_url: str | None = None
    retry_base_s: Annotated[float, Field(gt=0)] = 10.0
    retry_max_s: Annotated[float, Field(gt=0)] = 600.0
    smtp: SmtpSettings | None = None
