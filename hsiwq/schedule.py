"""Site schedules: parsing them, and the acquisitions they expect in a period.

A site's ``schedule`` is a five-field cron expression (``"*/2 * * * *"``, UTC, as the Prefect
deployments use it) or ``"every N s|min"``.
"""

from __future__ import annotations

import re

import numpy as np

_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(s|sec|seconds|m|min|minutes)$", re.IGNORECASE)
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
          "sep": 9, "oct": 10, "nov": 11, "dec": 12,
          "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
#: Longest period expanded minute by minute (longer ones are not counted).
MAX_MINUTES = 2 * 366 * 24 * 60


def _field(text: str, lo: int, hi: int) -> tuple[set[int], bool]:
    """The values of one cron field and whether it was restricted (not ``*``)."""
    values: set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/", 1)
            step = int(s)
            if step < 1:
                raise ValueError("step must be positive")
        if part in ("*", ""):
            a, b = lo, hi
        elif "-" in part:
            x, y = part.split("-", 1)
            a, b = int(_NAMES.get(x, x)), int(_NAMES.get(y, y))
        else:
            a = int(_NAMES.get(part, part))
            b = hi if step > 1 else a
        if not (lo <= a <= hi and lo <= b <= hi and a <= b):
            raise ValueError(f"{text!r} out of range {lo}-{hi}")
        values.update(range(a, b + 1, step))
    return values, text.strip() != "*"


def parse_schedule(schedule: str) -> tuple[str, float | str]:
    """Validate a schedule.

    Returns
    -------
    ("interval", seconds) or ("cron", expression)

    Raises
    ------
    ValueError
        With the reason, for anything else.
    """
    text = schedule.strip()
    m = _EVERY.match(text)
    if m:
        step = float(m.group(1)) * (60 if m.group(2).lower().startswith("m") else 1)
        if step <= 0:
            raise ValueError(f"{text!r}: the interval must be positive")
        return "interval", step
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"{text!r} is neither a 5-field cron expression nor 'every N s|min'")
    for p, (name, lo, hi) in zip(parts, _FIELDS, strict=True):
        try:
            _field(p, lo, hi)
        except ValueError as exc:
            raise ValueError(f"{text!r}: bad {name} field ({exc})") from None
    return "cron", text


def expected_times(schedule: str, start: np.datetime64, end: np.datetime64) -> np.ndarray | None:
    """The scheduled acquisition times in ``[start, end]`` (UTC, datetime64[s]).

    Returns None when the schedule cannot be read or the period is too long to expand.
    """
    text = schedule.strip()
    start = np.datetime64(start, "s")
    end = np.datetime64(end, "s")
    if end < start:
        return np.zeros(0, dtype="datetime64[s]")
    m = _EVERY.match(text)
    if m:
        step = float(m.group(1)) * (60 if m.group(2).lower().startswith("m") else 1)
        if step <= 0:
            return None
        # interval schedules are anchored on the epoch, as Prefect anchors them by default
        s0 = int(np.ceil(start.astype(np.int64) / step) * step)
        n = int((end.astype(np.int64) - s0) // step) + 1
        if n > MAX_MINUTES * 60:
            return None
        return (s0 + np.arange(max(n, 0)) * step).astype("int64").astype("datetime64[s]")
    parts = text.split()
    if len(parts) != 5:
        return None
    try:
        sets = [_field(p, lo, hi) for p, (_, lo, hi) in zip(parts, _FIELDS, strict=True)]
    except ValueError:
        return None
    first = start.astype("datetime64[m]")
    if first < start:
        first += np.timedelta64(1, "m")
    n = int((end.astype("datetime64[m]") - first).astype(int)) + 1
    if n > MAX_MINUTES:
        return None
    t = first + np.arange(max(n, 0)).astype("timedelta64[m]")
    minute = t.astype(np.int64) % 60
    hour = (t.astype("datetime64[h]").astype(np.int64)) % 24
    day = t.astype("datetime64[D]")
    dom = (day - day.astype("datetime64[M]")).astype(int) + 1
    month = day.astype("datetime64[M]").astype(int) % 12 + 1
    dow = (day.astype(np.int64) + 4) % 7  # 1970-01-01 was a Thursday; Sunday = 0
    (mins, _), (hours, _), (doms, dom_r), (months, _), (dows, dow_r) = sets
    dows = {d % 7 for d in dows}
    ok = np.isin(minute, list(mins)) & np.isin(hour, list(hours)) & np.isin(month, list(months))
    in_dom, in_dow = np.isin(dom, list(doms)), np.isin(dow, list(dows))
    # cron: when both day fields are restricted, either may match
    ok &= (in_dom | in_dow) if (dom_r and dow_r) else (in_dom & in_dow)
    return t[ok].astype("datetime64[s]")
