"""What the pipeline and the scheduler ask of alerting.

- :func:`after_write` — after each store write: evaluate the site's rules on the record,
  release changes (unless silenced), add due repeats, queue grouped notifications, deliver.
- :func:`check_gaps` — periodically (the scheduler): data-gap rules against the clock,
  repeats of firing alerts, and delivery retries, for every site.

Time: conditions use acquisition times; repeat intervals, silences and retry backoff use the
wall clock ``now`` (injectable; default ``datetime.now(UTC)``), so reprocessing a backlog
does not produce a burst of repeats.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from ..config import Site, SitesConfig
from ..store import Record
from ..workspace import Workspace
from .conditions import gap_observation, observe
from .dispatch import enqueue_group
from .engine import NOTIFIED, AlertState, Transition, make_transition, step
from .notify import Delivery, Outbox
from .rules import GapRule
from .state import Book, StateFile

log = logging.getLogger("hsiwq.alerts")


def _utc(t: datetime | None) -> datetime:
    if t is None:
        return datetime.now(timezone.utc)
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def after_write(site: Site, config: SitesConfig, workspace: Workspace, record: Record, *,
                deliver: bool = True, now: datetime | None = None) -> list[Transition]:
    """Evaluate a site's rules on a freshly stored record and queue/deliver notifications.

    Rejected acquisitions and out-of-domain values never raise, hold or clear a
    water-quality alert; they feed the data-quality rules (gaps, sensor faults).

    Parameters
    ----------
    site : Site
        The site's configuration (its rules).
    config : SitesConfig
        The whole configuration (subscribers, alerting settings).
    workspace : Workspace
        Where alert state, the outbox and the store live.
    record : Record
        The record just written to the store.
    deliver : bool
        Deliver queued notifications now (else they wait in the outbox).
    now : datetime, optional
        Wall clock (repeat intervals, silences, retries); default: now.

    Returns
    -------
    list of Transition
        The notifiable state changes this record caused (silenced ones included).
    """
    now = _utc(now)
    when = _utc(record.time)
    if when != record.time:
        record = Record(when, record.values, record.labels, record.rrs, record.wavelength)
    changes: list[Transition] = []
    outbox = Outbox(workspace.alerts_dir, workspace.root)
    with StateFile(workspace.alerts_dir).locked() as book:
        _forget_removed_rules(book, site, now)
        for rule in site.rules:
            key = f"{site.id}/{rule.rule_id}"
            state = book.states.get(key, AlertState())
            if rule.ordered and state.last_time is not None and when <= datetime.fromisoformat(state.last_time):
                continue  # late or repeated acquisition
            obs = observe(rule, state, record, site.waterbody, site.lat, site.lon)
            book.states[key], trs = step(rule, state, obs, when, site.id)
            for tr in trs:  # which model made the value, and whether it knows this region
                if tr.param and f"{tr.param}_model" in record.labels:
                    tr.detail["model"] = str(record.labels[f"{tr.param}_model"])
                    tr.detail["uncalibrated"] = tr.param in str(record.labels.get("uncalibrated", "")).split(",")
            changes += trs
        released = _release(book, site, config, changes, now)
        enqueue_group(outbox, site, config, workspace, released, book, now)
    if deliver:
        _deliver(outbox, config, now)
    return [t for t in changes if t.change in NOTIFIED]


def check_gaps(config: SitesConfig, workspace: Workspace, now: datetime | None = None, *,
               deliver: bool = True) -> list[Transition]:
    """The scheduler's periodic call: data gaps, repeats and delivery retries, all sites.

    Parameters
    ----------
    config : SitesConfig
    workspace : Workspace
    now : datetime, optional
        The clock (default: now, UTC).
    deliver : bool
        Run a delivery pass (retries included).

    Returns
    -------
    list of Transition
        Gap alert changes found now.
    """
    now = _utc(now)
    changes: list[Transition] = []
    outbox = Outbox(workspace.alerts_dir, workspace.root)
    with StateFile(workspace.alerts_dir).locked() as book:
        for site in config.sites.values():
            site_changes: list[Transition] = []
            for rule in site.rules:
                if not isinstance(rule, GapRule):
                    continue
                key = f"{site.id}/{rule.rule_id}"
                state = book.states.get(key, AlertState())
                obs = gap_observation(rule, state, site.lat, site.lon, now)
                book.states[key], trs = step(rule, state, obs, now, site.id)
                site_changes += trs
            changes += site_changes
            released = _release(book, site, config, site_changes, now)
            enqueue_group(outbox, site, config, workspace, released, book, now)
    if deliver:
        _deliver(outbox, config, now)
    return [t for t in changes if t.change in NOTIFIED]


def _forget_removed_rules(book: Book, site: Site, now: datetime) -> None:
    """Drop the state of rules no longer in the site's configuration."""
    keep = {f"{site.id}/{r.rule_id}" for r in site.rules}
    for key in [k for k in book.states if k.startswith(f"{site.id}/") and k not in keep]:
        st = book.states.pop(key)
        if st.status in ("pending", "firing"):
            book.log(now, "rule removed", site=site.id, rule=key.partition("/")[2], episode=st.episode)


def deliver_pending(config: SitesConfig, workspace: Workspace, now: datetime | None = None,
                    force: bool = False) -> Delivery:
    """One delivery pass over the outbox."""
    return _deliver(Outbox(workspace.alerts_dir, workspace.root), config, _utc(now), force)


def _deliver(outbox: Outbox, config: SitesConfig, now: datetime, force: bool = False) -> Delivery:
    s = config.alerting
    return outbox.deliver(now, retry_base_s=s.retry_base_s, retry_max_s=s.retry_max_s, force=force)


def _log(book: Book, now: datetime, event: str, tr: Transition, **extra: Any) -> None:
    book.log(now, event, site=tr.site, rule=tr.rule_id, time=tr.time.isoformat(), severity=tr.severity,
             value=tr.value, threshold=tr.threshold, level=tr.level or None,
             level_name=tr.level_name or None, episode=tr.episode or None, **extra)


def _release(book: Book, site: Site, config: SitesConfig, changes: list[Transition],
             now: datetime) -> list[Transition]:
    """Apply silences to a site's changes, add due repeats, and log everything."""
    rules = {r.rule_id: r for r in site.rules}
    released: list[Transition] = []
    for tr in changes:
        st = book.states[f"{site.id}/{tr.rule_id}"]
        if tr.change not in NOTIFIED:
            _log(book, now, tr.change, tr)
            continue
        silence = book.silence_for(site.id, tr.rule_id, now)
        if silence is not None or (tr.status == "resolved" and not st.notified):
            _log(book, now, tr.change, tr, suppressed=silence.id if silence else "never notified")
            if tr.status == "firing" and silence is not None and tr.change == "firing":
                st.notified = False
            continue
        _log(book, now, tr.change, tr)
        st.notified, st.notified_at = st.status == "firing", now.isoformat()
        released.append(tr)
    released += _repeats(book, site, rules, config, now, {t.rule_id for t in released})
    return released


def _repeats(book: Book, site: Site, rules: dict[str, Any], config: SitesConfig, now: datetime,
             skip: set[str]) -> list[Transition]:
    """Catch-up notifications after a silence, and repeats of the site's firing alerts.

    When one alert's repeat is due, every firing, unacknowledged, unsilenced alert of the
    site repeats with it (one grouped message).
    """
    due, eligible, out = False, [], []
    for rule_id, rule in rules.items():
        st = book.states.get(f"{site.id}/{rule_id}")
        if st is None or st.status != "firing" or rule_id in skip:
            continue
        if book.silence_for(site.id, rule_id, now) is not None:
            continue
        if not st.notified:  # its firing was silenced: tell now
            st.changes += 1
            out.append(_from_state(rule, st, site.id, "firing", now))
            continue
        if st.acked_by is not None:
            continue
        interval = rule.repeat_minutes if rule.repeat_minutes is not None else config.alerting.repeat_minutes
        if interval <= 0:
            continue
        eligible.append((rule, st))
        if st.notified_at is None or now - datetime.fromisoformat(st.notified_at) >= timedelta(minutes=interval):
            due = True
    if due:
        for rule, st in eligible:
            st.changes += 1
            out.append(_from_state(rule, st, site.id, "repeat", now))
    for tr in out:
        _log(book, now, tr.change, tr)
    return out


def _from_state(rule: Any, st: AlertState, site: str, change: str, now: datetime) -> Transition:
    st.notified, st.notified_at = True, now.isoformat()
    when = datetime.fromisoformat(st.last_time) if st.last_time else now
    return make_transition(rule, st, None, when, site, change)
