"""Evaluating alert rules on new results: the pending → firing → resolved lifecycle."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..config import ThresholdRule

Status = Literal["inactive", "pending", "firing", "resolved"]


@dataclass
class AlertState:
    """State of one rule at one site.

    Attributes
    ----------
    status : {"inactive", "pending", "firing", "resolved"}
    count : int
        Consecutive valid acquisitions beyond the threshold.
    since : str or None
        ISO time the current status began.
    last_value : float or None
        Last valid value seen [parameter unit].
    last_time : str or None
        ISO time of the newest acquisition evaluated; older or repeated acquisitions (late
        arrivals, reprocessing) do not move the state.
    """

    status: Status = "inactive"
    count: int = 0
    since: str | None = None
    last_value: float | None = None
    last_time: str | None = None


@dataclass(frozen=True)
class Transition:
    """A state change that subscribers hear about."""

    site: str
    rule_id: str
    param: str
    status: Literal["firing", "resolved"]
    severity: str
    value: float
    threshold: float
    clear: float
    direction: Literal["above", "below"]
    time: datetime
    extra: dict[str, object] = field(default_factory=dict)


def evaluate_threshold(rule: ThresholdRule, state: AlertState, value: float | None,
                       time: datetime, site: str) -> tuple[AlertState, Transition | None]:
    """Advance a threshold rule's state by one acquisition.

    Parameters
    ----------
    rule : ThresholdRule
        The rule.
    state : AlertState
        Its state before this acquisition.
    value : float or None
        The parameter's value from a *valid, in-domain* result, or None/NaN when the
        acquisition was rejected or the value is unusable (the state is then unchanged: a
        rejected acquisition never raises or clears a water-quality alert).
    time : datetime
        Acquisition time.
    site : str
        Site id.

    Returns
    -------
    (AlertState, Transition or None)
        The new state and the transition to notify, if any.
    """
    if value is None or not math.isfinite(value):
        return state, None
    if state.last_time is not None and time <= datetime.fromisoformat(state.last_time):
        return state, None
    above = rule.above is not None
    threshold = float(rule.above if above else rule.below)  # type: ignore[arg-type]
    clear = float(rule.clear if rule.clear is not None else threshold)
    beyond = value > threshold if above else value < threshold
    cleared = value <= clear if above else value >= clear
    iso = time.isoformat()
    new = AlertState(state.status, state.count, state.since, float(value), iso)
    fire = False
    if state.status == "firing":
        if cleared:
            new.status, new.count, new.since = "resolved", 0, iso
            return new, _transition(rule, site, "resolved", value, threshold, clear, above, time)
        return new, None
    if beyond:
        new.count = state.count + 1
        fire = new.count >= rule.for_count
        if fire:
            new.status, new.since = "firing", iso
        elif state.status != "pending":
            new.status, new.since = "pending", iso
    else:
        new.count = 0
        if state.status == "pending":
            new.status, new.since = "inactive", iso
    if fire:
        return new, _transition(rule, site, "firing", value, threshold, clear, above, time)
    return new, None


def _transition(rule: ThresholdRule, site: str, status: Literal["firing", "resolved"],
                value: float, threshold: float, clear: float, above: bool,
                time: datetime) -> Transition:
    return Transition(site=site, rule_id=rule.rule_id, param=rule.param, status=status,
                      severity=rule.severity, value=float(value), threshold=threshold,
                      clear=clear, direction="above" if above else "below", time=time)
