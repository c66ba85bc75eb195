"""Operating alerts: list them, acknowledge, silence (with expiry), read the history.

Used by ``hsiwq alerts list|ack|silence|history``; every change is recorded in the
history with who did it.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from ..workspace import Workspace
from .engine import AlertState
from .notify import Outbox
from .state import AlertError, Silence, StateFile

__all__ = ["AlertError", "ack", "add_silence", "history", "list_alerts", "list_silences",
           "outbox_status", "parse_duration", "remove_silence"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1.5d``, ``1w`` → timedelta."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 2h, 1d)")
    n = float(m.group(1))
    unit = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
    return timedelta(**{unit: n})


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def list_alerts(workspace: Workspace, *, site: str | None = None, include_inactive: bool = False,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """Alerts by site and rule: status, severity, since, value, acknowledgement, silence."""
    now = _now(now)
    book = StateFile(workspace.alerts_dir).load()
    rows = []
    for key, st in sorted(book.states.items()):
        s, _, rule = key.partition("/")
        if site and s != site:
            continue
        if not include_inactive and st.status not in ("pending", "firing"):
            continue
        silence = book.silence_for(s, rule, now)
        rows.append({"site": s, "rule": rule, "status": st.status, "severity": st.severity,
                     "level": st.level, "since": st.since, "value": st.last_value,
                     "threshold": st.threshold, "last_time": st.last_time,
                     "acked_by": st.acked_by, "acked_at": st.acked_at, "ack_comment": st.ack_comment,
                     "silenced_by": silence.id if silence else None,
                     "notified_at": st.notified_at, "detail": st.detail})
    return rows


def list_silences(workspace: Workspace, *, now: datetime | None = None,
                  include_expired: bool = False) -> list[Silence]:
    """Silences, active (and future) ones unless ``include_expired``."""
    now = _now(now)
    book = StateFile(workspace.alerts_dir).load()
    return [s for s in book.silences if include_expired or not s.expired(now)]


def outbox_status(workspace: Workspace) -> list[dict[str, Any]]:
    """Notifications not yet delivered: subscriber, attempts, next attempt, last error."""
    box = Outbox(workspace.alerts_dir, workspace.root)
    return [{"id": d["id"], "subscriber": d["subscriber"]["name"], "channel": d["subscriber"]["channel"],
             "site": d["payload"].get("site"), "message": d["payload"].get("message"),
             "attempts": d["attempts"], "next_attempt": d["next_attempt"], "last_error": d["last_error"]}
            for d in box.pending_docs()]


def ack(workspace: Workspace, site: str, rule: str, *, by: str, comment: str = "",
        now: datetime | None = None) -> AlertState:
    """Acknowledge a firing alert: no more repeats in this episode (the resolved notice is
    still sent)."""
    now = _now(now)
    with StateFile(workspace.alerts_dir).locked() as book:
        st = book.states.get(f"{site}/{rule}")
        if st is None or st.status != "firing":
            firing = [k.partition("/")[2] for k, v in book.states.items()
                      if k.startswith(f"{site}/") and v.status == "firing"]
            raise AlertError(f"{site}/{rule}", "no such firing alert; firing at this site: "
                                               + (", ".join(sorted(firing)) or "none"))
        st.acked_by, st.acked_at, st.ack_comment = by, now.isoformat(), comment or None
        book.log(now, "acked", site=site, rule=rule, by=by, comment=comment or None, episode=st.episode)
        return st


def add_silence(workspace: Workspace, site: str, rule: str = "*", *, ends: datetime,
                by: str = "", reason: str = "", now: datetime | None = None,
                known_rules: list[str] | None = None) -> Silence:
    """Mute notifications of matching alerts until ``ends`` (state keeps evolving).

    Parameters
    ----------
    site, rule : str
        Site and rule ids or shell patterns (``*``).
    ends : datetime
        When the silence expires.
    known_rules : list of str, optional
        Rule ids of the site; a rule that matches none of them is refused.
    """
    now = _now(now)
    if ends <= now:
        raise AlertError("silence", f"ends in the past ({ends.isoformat()})")
    if known_rules is not None and not any(fnmatch.fnmatchcase(r, rule) for r in known_rules):
        raise AlertError(f"{site}/{rule}", "matches no rule of the site; rules: "
                                           + (", ".join(known_rules) or "none"))
    silence = Silence(id="s-" + uuid.uuid4().hex[:8], site=site, rule=rule, starts=now.isoformat(),
                      ends=ends.isoformat(), created_by=by, reason=reason)
    with StateFile(workspace.alerts_dir).locked() as book:
        book.silences = [s for s in book.silences if now - datetime.fromisoformat(s.ends) < timedelta(days=30)]
        book.silences.append(silence)
        book.log(now, "silenced", site=site, rule=rule, by=by, reason=reason or None,
                 silence=silence.id, ends=silence.ends)
    return silence


def remove_silence(workspace: Workspace, silence_id: str, *, by: str = "",
                   now: datetime | None = None) -> Silence:
    """End a silence now."""
    now = _now(now)
    with StateFile(workspace.alerts_dir).locked() as book:
        for s in book.silences:
            if s.id == silence_id:
                s.ends = min(datetime.fromisoformat(s.ends), now).isoformat()
                book.log(now, "unsilenced", site=s.site, rule=s.rule, by=by, silence=s.id)
                return s
    raise AlertError(silence_id, "no such silence (see 'hsiwq alerts list')")


def history(workspace: Workspace, *, site: str | None = None, rule: str | None = None,
            since: datetime | None = None, limit: int | None = 50) -> list[dict[str, Any]]:
    """History entries, oldest first."""
    return StateFile(workspace.alerts_dir).history(site=site, rule=rule, since=since, limit=limit)
