"""The one parser of ISO 8601 times given by users and files.

Every time hsiwq reads — command-line options (``--start``, ``--since``), acquisition and
calibration files, alert state — goes through :func:`parse_time`: a date or a date and
time, ``Z`` or ``z`` or an offset accepted, no offset meaning UTC (as the data contracts
state), returned as an aware UTC :class:`~datetime.datetime`. Bad input is one
:class:`ValueError` whose message callers prefix with the file or option it came from.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timezone
from typing import Any

#: Examples quoted in error messages.
EXAMPLES = "2026-07-21 or 2026-07-21T03:15:00Z"
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_time(text: Any, *, end_of_day: bool = False, require_time: bool = False) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime.

    Parameters
    ----------
    text : str
        ``2026-07-21``, ``2026-07-21T03:15``, ``2026-07-21T03:15:00Z``, ``…+08:00``; without
        an offset the time is UTC.
    end_of_day : bool
        A bare date means its last second (23:59:59) instead of midnight (for the end of a
        period).
    require_time : bool
        Refuse a bare date (an acquisition or validity time needs the time of day).

    Returns
    -------
    datetime
        Timezone-aware, in UTC.

    Raises
    ------
    ValueError
        One line: ``'<text>' is not an ISO 8601 date and time (e.g. …)``.
    """
    stripped = text.strip() if isinstance(text, str) else None
    date_only = stripped is not None and _DATE_ONLY.fullmatch(stripped) is not None
    what, examples = ("date and time", "2026-07-21T03:15:00Z") if require_time else ("date or time", EXAMPLES)
    if stripped is None or (require_time and date_only):
        raise ValueError(f"{text!r} is not an ISO 8601 {what} (e.g. {examples})")
    iso = stripped[:-1] + "+00:00" if stripped.endswith(("Z", "z")) else stripped
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 {what} (e.g. {examples})") from None
    if end_of_day and date_only:
        t = datetime.combine(t.date(), time(23, 59, 59))
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def try_parse_time(text: Any) -> datetime | None:
    """:func:`parse_time`, or None where ``text`` is not a time (for display code)."""
    try:
        return parse_time(text)
    except ValueError:
        return None
