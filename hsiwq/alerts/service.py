"""What the pipeline asks of alerting after each store write."""

from __future__ import annotations

from ..config import Site, SitesConfig
from ..store import Record
from ..workspace import Workspace
from .engine import AlertState, Transition, evaluate_threshold
from .notify import Outbox
from .state import StateFile


def after_write(site: Site, config: SitesConfig, workspace: Workspace, record: Record, *,
                deliver: bool = True) -> list[Transition]:
    """Evaluate a site's rules on a freshly stored record and queue/deliver notifications.

    Rejected acquisitions and out-of-domain values never raise or clear a water-quality
    alert.

    Parameters
    ----------
    site : Site
        The site's configuration (its rules).
    config : SitesConfig
        The whole configuration (subscribers).
    workspace : Workspace
        Where alert state and the outbox live.
    record : Record
        The record just written to the store.
    deliver : bool
        Deliver queued notifications now (else they wait in the outbox).

    Returns
    -------
    list of Transition
        The state changes this record caused.
    """
    accepted = record.labels.get("verdict") == "accepted"
    transitions: list[Transition] = []
    with StateFile(workspace.alerts_dir).locked() as states:
        for rule in site.rules:
            key = f"{site.id}/{rule.rule_id}"
            value = record.values.get(rule.param) if accepted else None
            if record.values.get(f"{rule.param}_ood") == 1:
                value = None
            new, tr = evaluate_threshold(rule, states.get(key, AlertState()), value, record.time, site.id)
            states[key] = new
            if tr is not None:
                transitions.append(tr)
    outbox = Outbox(workspace.alerts_dir, workspace.root)
    outbox.enqueue(transitions, config.subscribers)
    if deliver:
        outbox.deliver()
    return transitions
