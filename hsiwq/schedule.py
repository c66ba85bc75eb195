"""Site schedules and cadence: when the inbox is polled, and how often a monitor acquires.

Two different clocks:

- a site's ``schedule`` is when its inbox is looked at even if nothing announced a bundle (a
  safety net: bundles normally start a run as they arrive). It is a five-field cron expression
  (``"*/2 * * * *"``, UTC, read by croniter) or ``"every N s|min"``;
- a site's ``expected_interval`` is its monitor's nominal **acquisition cadence** (``"1m"``,
  ``"30 s"``, ``"1h"``). Completeness, the report and status count against it, never against
  the schedule; when it is not configured it is learnt from the stored times
  (:func:`learn_interval`).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
from croniter import croniter

_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*(s|sec|seconds|m|min|minutes)$", re.IGNORECASE)
_DURATION = re.compile(r"^(?:every\s+)?(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|"
                       r"h|hr|hours?|d|days?)$", re.IGNORECASE)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: Most expected times expanded for one period (longer periods are not counted).
MAX_TIMES = 2 * 366 * 24 * 60


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
    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise ValueError(f"{text!r} is neither a valid 5-field cron expression nor 'every N s|min'")
    return "cron", text


def parse_interval(text: str) -> float:
    """Seconds of a duration such as ``"1m"``, ``"30 s"``, ``"2 min"``, ``"1h"`` [s].

    Raises
    ------
    ValueError
        When it is not a positive duration.
    """
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a duration (e.g. '1m', '30 s', '1h')")
    seconds = float(m.group(1)) * _UNIT_S[m.group(2)[0].lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r}: the interval must be positive")
    return seconds


def learn_interval(times: np.ndarray, *, min_intervals: int = 3) -> float | None:
    """A monitor's nominal acquisition interval learnt from its acquisition times [s].

    The median of the positive intervals between consecutive times: gaps (outages, nights)
    and the odd duplicate do not move it as long as most intervals are nominal.

    Parameters
    ----------
    times : ndarray of datetime64
        Acquisition times (any order).
    min_intervals : int
        Fewest positive intervals needed to learn anything.

    Returns
    -------
    float or None
        The interval [s], or None with too few acquisitions.
    """
    t = np.unique(np.asarray(times).astype("datetime64[s]").astype(np.int64))
    d = np.diff(t)
    d = d[d > 0]
    if d.size < min_intervals:
        return None
    return float(np.median(d))


def cadence_times(interval_s: float, start: np.datetime64, end: np.datetime64) -> np.ndarray | None:
    """The acquisition times a cadence of ``interval_s`` expects in ``[start, end]``.

    Anchored on the epoch (a 1-minute cadence expects every whole minute), UTC,
    datetime64[s]. None when the period would expand to more than :data:`MAX_TIMES` times.
    """
    start, end = np.datetime64(start, "s"), np.datetime64(end, "s")
    if end < start:
        return np.zeros(0, dtype="datetime64[s]")
    s0 = int(np.ceil(start.astype(np.int64) / interval_s) * interval_s)
    n = int((end.astype(np.int64) - s0) // interval_s) + 1
    if n > MAX_TIMES:
        return None
    return (s0 + np.arange(max(n, 0)) * interval_s).astype("int64").astype("datetime64[s]")


def expected_times(schedule: str, start: np.datetime64, end: np.datetime64) -> np.ndarray | None:
    """The times a schedule falls due in ``[start, end]`` (UTC, datetime64[s]).

    Returns None when the schedule cannot be read or the period is too long to expand.
    """
    try:
        kind, value = parse_schedule(schedule)
    except ValueError:
        return None
    if kind == "interval":
        return cadence_times(float(value), start, end)
    start, end = np.datetime64(start, "s"), np.datetime64(end, "s")
    if end < start:
        return np.zeros(0, dtype="datetime64[s]")
    t0 = datetime.fromtimestamp(int(start.astype(np.int64)) - 1, timezone.utc)
    it = croniter(str(value), t0)
    stop = int(end.astype(np.int64))
    out: list[int] = []
    while True:
        t = int(it.get_next(float))
        if t > stop:
            return np.asarray(out, dtype="int64").astype("datetime64[s]")
        out.append(t)
        if len(out) > MAX_TIMES:
            return None
