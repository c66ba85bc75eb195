"""The alert lifecycle: inactive → pending → firing → resolved, with levels and severity.

A rule's condition (see :mod:`hsiwq.alerts.conditions`) turns each acquisition into an
:class:`Observation`: no information (rejected, out of domain, missing), not met (level 0)
or met at a level ≥ 1. :func:`step` advances the rule's :class:`AlertState` by one
observation and returns the state changes worth telling people about (:class:`Transition`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

Status = Literal["inactive", "pending", "firing", "resolved"]
#: Changes that are notified; "pending" and "cleared" (pending → inactive) are only logged.
NOTIFIED = ("firing", "escalated", "deescalated", "repeat", "resolved")


@dataclass
class AlertState:
    """State of one rule at one site (saved as JSON; unknown keys are ignored on load).

    Attributes
    ----------
    status : {"inactive", "pending", "firing", "resolved"}
    level : int
        Level while firing (1 for single-level rules), else 0.
    count : int
        Consecutive acquisitions meeting the condition.
    first_active : str or None
        ISO time of the first of them.
    since : str or None
        ISO time the current status began.
    episode : str or None
        Id of the current (or last) firing episode: the time it started.
    severity : str or None
        Severity at the current level.
    last_value : float or None
        Last value observed [parameter unit].
    last_time : str or None
        Newest acquisition time evaluated; older or repeated acquisitions (late arrivals,
        reprocessing) do not move ordered rules.
    threshold, clear : float or None
        Threshold and clear level of the current level.
    detail : dict
        What the condition reported last (class, TLI, ratio, gap …).
    memory : dict
        What the condition keeps between acquisitions (rate window, last valid time …).
    notified : bool
        Whether the current episode's firing has been released to subscribers (False while
        it is silenced).
    notified_at : str or None
        Wall-clock ISO time of the last notification of this episode (repeat interval).
    changes : int
        Notified changes in this episode (keys notifications).
    acked_by, acked_at, ack_comment : str or None
        Acknowledgement of the current episode (stops repeats; cleared when it resolves).
    """

    status: Status = "inactive"
    level: int = 0
    count: int = 0
    first_active: str | None = None
    since: str | None = None
    episode: str | None = None
    severity: str | None = None
    last_value: float | None = None
    last_time: str | None = None
    threshold: float | None = None
    clear: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    notified: bool = False
    notified_at: str | None = None
    changes: int = 0
    acked_by: str | None = None
    acked_at: str | None = None
    ack_comment: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AlertState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass(frozen=True)
class Observation:
    """What a rule's condition says about one acquisition (or one clock tick).

    ``level`` None means no information: the state does not move.
    """

    level: int | None
    value: float | None = None
    param: str | None = None
    threshold: float | None = None
    clear: float | None = None
    level_name: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] | None = None


@dataclass(frozen=True)
class Transition:
    """A change of an alert that subscribers hear about (or that is logged)."""

    site: str
    rule_id: str
    param: str | None
    status: Literal["firing", "resolved"]
    severity: str
    value: float | None
    threshold: float | None
    clear: float | None
    direction: Literal["above", "below"] | None
    time: datetime
    change: str = ""
    kind: str = "threshold"
    category: str = "water"
    level: int = 1
    level_name: str = ""
    episode: str = ""
    since: str | None = None
    seq: int = 0
    params: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of this change: one notification per subscriber, ever."""
        return f"{self.site}|{self.rule_id}|{self.episode}|{self.seq}|{self.change}"


def _minutes(a: str, b: datetime) -> float:
    return (b - datetime.fromisoformat(a)).total_seconds() / 60.0


def step(rule: Any, state: AlertState, obs: Observation, time: datetime,
         site: str) -> tuple[AlertState, list[Transition]]:
    """Advance a rule's state by one observation.

    Parameters
    ----------
    rule : a rule of :mod:`hsiwq.alerts.rules`
    state : AlertState
        Its state before the observation.
    obs : Observation
        The condition's verdict on this acquisition.
    time : datetime
        Acquisition time (or the clock, for data-gap checks).
    site : str
        Site id.

    Returns
    -------
    (AlertState, list of Transition)
        The new state and its changes ("pending", "cleared", "firing", "escalated",
        "deescalated", "resolved"); only those in :data:`NOTIFIED` reach subscribers.
    """
    if obs.level is None:
        return state, []
    iso = time.isoformat()
    new = replace(state, detail=dict(obs.detail), memory=dict(state.memory if obs.memory is None else obs.memory))
    if state.last_time is None or time > datetime.fromisoformat(state.last_time):
        new.last_time = iso
    if obs.value is not None:
        new.last_value = float(obs.value)
    new.count = state.count + 1 if obs.level > 0 else 0
    out: list[str] = []
    if state.status == "firing":
        if obs.level == 0:
            new.status, new.level, new.count, new.first_active, new.since = "resolved", 0, 0, None, iso
            new.acked_by = new.acked_at = new.ack_comment = None
            out.append("resolved")
        elif obs.level != state.level:
            out.append("escalated" if obs.level > state.level else "deescalated")
            new.level, new.severity = obs.level, rule.severity_for(obs.level)
            new.threshold, new.clear = obs.threshold, obs.clear
    elif obs.level > 0:
        new.first_active = state.first_active or iso
        if new.count >= rule.for_count and _minutes(new.first_active, time) >= rule.for_minutes:
            new.status, new.level, new.since, new.severity = "firing", obs.level, iso, rule.severity_for(obs.level)
            new.episode, new.changes, new.notified, new.notified_at = iso, 0, False, None
            new.acked_by = new.acked_at = new.ack_comment = None
            new.threshold, new.clear = obs.threshold, obs.clear
            out.append("firing")
        elif state.status != "pending":
            new.status, new.since = "pending", iso
            out.append("pending")
    else:
        new.count, new.first_active = 0, None
        if state.status == "pending":
            new.status, new.since = "inactive", iso
            out.append("cleared")
    transitions = []
    for change in out:
        if change in NOTIFIED:
            new.changes += 1
        transitions.append(make_transition(rule, new, obs, time, site, change))
    return new, transitions


def make_transition(rule: Any, state: AlertState, obs: Observation | None, time: datetime,
                    site: str, change: str) -> Transition:
    """A :class:`Transition` of a rule in a state (``obs`` None: from the state alone)."""
    above = getattr(rule, "below", None) is None
    resolved = change in ("resolved", "cleared")
    level = state.level if not resolved else 0
    return Transition(
        site=site, rule_id=rule.rule_id, param=(obs.param if obs and obs.param else getattr(rule, "param", None)),
        status="resolved" if resolved else "firing", severity=state.severity or rule.severity_for(1),
        value=obs.value if obs is not None else state.last_value,
        threshold=(obs.threshold if obs is not None and obs.threshold is not None else state.threshold),
        clear=(obs.clear if obs is not None and obs.clear is not None else state.clear),
        direction=("above" if above else "below") if rule.kind == "threshold" else None,
        time=time, change=change, kind=rule.kind, category=rule.category, level=level,
        level_name=(obs.level_name if obs is not None and obs.level_name else rule.level_name(max(level, 1))),
        episode=state.episode or "", since=state.since if not resolved else state.episode,
        seq=state.changes, params=rule.params,
        detail={**(obs.detail if obs is not None else state.detail), "consecutive": state.count})
