"""Identifiers: the one rule for site, region, sensor and alert-rule ids.

An id is 1 to 64 characters: lowercase letters, digits and dashes, starting with a letter or
a digit (``taihu-north``, ``erhai-west``, ``chl-bloom``). Sensor ids may also hold uppercase
letters (serial numbers are printed that way: ``HSI-0001``). Ids become folder and file
names (stores, inboxes, archives, quarantines, the model registry), Prefect artifact keys
and URL path segments, so the rule keeps them portable, short and unable to name another
folder (no ``/``, ``..``, absolute paths or unicode look-alikes).

:func:`check_id` is the rule (a ``ValueError`` with the reason and, where one exists, the
id to use instead); :data:`SiteId` and friends apply it to pydantic fields; :func:`require_id`
raises the project's one-line :class:`~hsiwq.errors.ConfigError` for ids given elsewhere
(command-line options, bundle metadata).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from .errors import ConfigError

__all__ = ["MAX_ID_LENGTH", "RegionId", "RuleId", "SensorId", "SiteId", "check_id",
           "is_id", "require_id", "suggest_id"]

#: Longest id [characters].
MAX_ID_LENGTH = 64
_ID = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_SENSOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")


def suggest_id(text: str) -> str:
    """The id closest to ``text``: lowercase, runs of other characters as one dash.

    Returns ``""`` when nothing usable is left (e.g. ``"../.."``).
    """
    out = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return out[:MAX_ID_LENGTH].rstrip("-")


def is_id(value: object, kind: str = "site") -> bool:
    """Whether ``value`` follows the rule for ``kind`` ids (see :func:`check_id`)."""
    try:
        check_id(value, kind)
    except ValueError:
        return False
    return True


def check_id(value: object, kind: str = "site") -> str:
    """Return ``value`` when it is a valid ``kind`` id, else raise ``ValueError`` saying why.

    Parameters
    ----------
    value : object
        The candidate id.
    kind : {"site", "region", "sensor", "rule"}
        What it names (sensor ids may hold uppercase letters).

    Raises
    ------
    ValueError
        With the reason and, when the text can be mended, the id to use instead.
    """
    if not isinstance(value, str):
        raise ValueError(f"{kind} id must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError(f"empty {kind} id")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{kind} id is {len(value)} characters long; at most "
                         f"{MAX_ID_LENGTH} are allowed")
    pattern = _SENSOR_ID if kind == "sensor" else _ID
    if pattern.match(value):
        return value
    letters = "letters" if kind == "sensor" else "lowercase letters"
    hint = suggest_id(value)
    better = f" (use {hint!r})" if hint and hint != value else ""
    if "/" in value or "\\" in value or ".." in value:
        better = " (an id names no folder: no '/', '\\' or '..')"
    raise ValueError(f"invalid {kind} id {value!r}: use {letters}, digits and dashes, "
                     f"starting with a letter or digit, at most {MAX_ID_LENGTH} characters{better}")


def require_id(value: object, kind: str = "site", *, where: str = "--site") -> str:
    """:func:`check_id` raising the project's :class:`~hsiwq.errors.ConfigError` naming ``where``."""
    try:
        return check_id(value, kind)
    except ValueError as exc:
        raise ConfigError(where, str(exc)) from None


def _validator(kind: str) -> AfterValidator:
    return AfterValidator(lambda v: check_id(v, kind))


#: Pydantic field types applying the rule.
SiteId = Annotated[str, _validator("site")]
RegionId = Annotated[str, _validator("region")]
SensorId = Annotated[str, _validator("sensor")]
RuleId = Annotated[str, _validator("rule")]
