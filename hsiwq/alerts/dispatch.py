"""From alert changes to queued notifications: filter, group per site, render, enqueue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..inbox import open_site_store
from ..workspace import Workspace
from .engine import Transition
from .messages import SCHEMA, _site_name, alert_doc, body, headline, order
from .notify import Outbox, notification_id
from .rules import SEVERITY_RANK
from .state import Book
from .trend import trend


def enqueue_group(outbox: Outbox, site: Any, config: Any, workspace: Workspace,
                  transitions: list[Transition], book: Book, now: datetime) -> list[str]:
    """Queue one grouped notification per matching subscriber for a site's changes.

    Parameters
    ----------
    outbox : Outbox
    site : Site
        The site the changes belong to.
    config : SitesConfig
        Subscribers and alerting settings.
    workspace : Workspace
        Where the site store is (for trends).
    transitions : list of Transition
        The changes released in this evaluation (not silenced).
    book : Book
        Alert state (for the site's other firing alerts).
    now : datetime
        Wall clock.

    Returns
    -------
    list of str
        Ids of the notifications queued.
    """
    if not transitions:
        return []
    settings = config.alerting
    trends: dict[str, dict | None] = {}
    cache: dict[tuple, dict | None] = {}
    store = open_site_store(site, config, workspace)  # the configured store (local or URL)
    queued = []
    for sub in config.subscribers:
        trs = order([t for t in transitions if sub.takes(site.id, t.params, t.category, t.severity)])
        if not trs:
            continue
        keys = [t.key for t in trs]
        nid = notification_id(sub.name, keys)
        if outbox.known(nid):
            continue
        for t in trs:
            if t.key not in trends:  # alerts on the same quantity at the same time share a read
                what = (t.kind == "tli", t.category == "data" and t.kind != "sensor" or t.param is None,
                        t.param, t.time)
                if what not in cache:
                    cache[what] = trend(store, t, settings.trend_hours, t.time) if store.exists() else None
                trends[t.key] = cache[what]
        lang = sub.language or settings.language
        payload = build_payload(nid, site, trs, lang, trends, _also_firing(book, site.id, trs), settings, now)
        smtp = settings.smtp.model_dump() if settings.smtp is not None else None
        if outbox.enqueue(nid, sub.model_dump(), payload, keys, now, smtp):
            queued.append(nid)
    return queued


def _also_firing(book: Book, site: str, trs: list[Transition]) -> list[dict[str, Any]]:
    mine = {t.rule_id for t in trs}
    out = []
    for key, st in sorted(book.states.items()):
        s, _, rule = key.partition("/")
        if s == site and st.status == "firing" and rule not in mine:
            out.append({"rule": rule, "severity": st.severity, "since": st.since,
                        "acknowledged": st.acked_by is not None})
    return out


def build_payload(nid: str, site: Any, trs: list[Transition], lang: str, trends: dict[str, dict | None],
                  also_firing: list[dict[str, Any]], settings: Any, now: datetime) -> dict[str, Any]:
    """The notification document (schema ``hsiwq.alerts/v1``; see docs/alerts.md)."""
    lead = trs[0]
    name = _site_name(site, lang)
    head = headline(lead, lang, name, site.timezone)
    if len(trs) > 1:
        head += f"（另有 {len(trs) - 1} 条）" if lang == "zh" else f" (+{len(trs) - 1} more)"
    links = {"dashboard": settings.dashboard_url.format(site=site.id, param=lead.param or "", rule=lead.rule_id)
             if settings.dashboard_url else None,
             "cli": f"hsiwq alerts list --site {site.id}"}
    alerts = [alert_doc(t, lang, site, trends.get(t.key)) for t in trs]
    return {
        "schema": SCHEMA, "id": nid, "site": site.id, "site_name": site.name_zh if lang == "zh" and site.name_zh else site.name,
        "status": lead.status, "change": lead.change, "rule": lead.rule_id,
        "severity": max((t.severity for t in trs), key=SEVERITY_RANK.__getitem__),
        "parameter": lead.param, "value": alerts[0]["value"], "unit": alerts[0]["unit"],
        "threshold": lead.threshold, "time": lead.time.isoformat(), "language": lang,
        "message": head,
        "text": body(trs, lang, site, trends, also_firing, links, _runbooks(site)),
        "alerts": alerts, "also_firing": also_firing, "links": links, "created": now.isoformat(),
    }


def _runbooks(site: Any) -> dict[str, str]:
    return {r.rule_id: r.runbook for r in site.rules if r.runbook}
