"""Notifications: a durable outbox and the channels that deliver it.

Every notification is first written to ``<alerts>/outbox/pending/<id>.json`` (the id is
derived from the state change and the subscriber, so one state change is queued once per
subscriber), then delivered; on success it moves to ``outbox/sent/``. A channel that fails
leaves it pending for the next delivery pass, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from ..config import Subscriber
from ..params import PARAMETERS
from .engine import Transition

_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def message(tr: Transition) -> str:
    """A one-line, actionable text for a transition."""
    p = PARAMETERS[tr.param]
    when = tr.time.strftime("%Y-%m-%d %H:%M UTC")
    if tr.status == "firing":
        return (f"[{tr.severity.upper()}] {tr.site}: {p.name} {tr.value:.1f} {p.unit} is "
                f"{tr.direction} {tr.threshold:g} {p.unit} at {when} (rule {tr.rule_id})")
    return (f"[RESOLVED] {tr.site}: {p.name} back to {tr.value:.1f} {p.unit} "
            f"(clear level {tr.clear:g} {p.unit}) at {when} (rule {tr.rule_id})")


def payload(tr: Transition) -> dict[str, object]:
    """The JSON document of a notification (also the webhook body)."""
    p = PARAMETERS[tr.param]
    return {"site": tr.site, "rule": tr.rule_id, "status": tr.status, "severity": tr.severity,
            "parameter": tr.param, "parameter_name": p.name, "unit": p.unit,
            "value": round(tr.value, 4), "threshold": tr.threshold, "clear": tr.clear,
            "direction": tr.direction, "time": tr.time.isoformat(), "message": message(tr)}


def matches(sub: Subscriber, tr: Transition) -> bool:
    """Whether a subscriber's filter takes this transition."""
    if sub.sites and tr.site not in sub.sites:
        return False
    return _SEVERITY_RANK[tr.severity] >= _SEVERITY_RANK[sub.min_severity]


class Outbox:
    """The durable queue of notifications of a workspace."""

    def __init__(self, alerts_dir: str | os.PathLike[str], workspace_root: str | os.PathLike[str]) -> None:
        self.pending = Path(alerts_dir) / "outbox" / "pending"
        self.sent = Path(alerts_dir) / "outbox" / "sent"
        self.root = Path(workspace_root)

    def enqueue(self, transitions: Iterable[Transition], subscribers: Iterable[Subscriber]) -> list[Path]:
        """Write one pending notification per (transition, matching subscriber)."""
        self.pending.mkdir(parents=True, exist_ok=True)
        written = []
        subs = list(subscribers)
        for tr in transitions:
            body = payload(tr)
            for sub in subs:
                if not matches(sub, tr):
                    continue
                key = f"{tr.site}|{tr.rule_id}|{tr.status}|{tr.time.isoformat()}|{sub.name}"
                nid = hashlib.sha256(key.encode()).hexdigest()[:20]
                if (self.sent / f"{nid}.json").exists() or (self.pending / f"{nid}.json").exists():
                    continue
                doc = {"id": nid, "subscriber": sub.model_dump(), "payload": body}
                tmp = self.pending / f"{nid}.tmp"
                tmp.write_text(json.dumps(doc, ensure_ascii=False))
                os.replace(tmp, self.pending / f"{nid}.json")
                written.append(self.pending / f"{nid}.json")
        return written

    def deliver(self, timeout_s: float = 5.0) -> tuple[int, int]:
        """Try to deliver every pending notification; returns (delivered, still pending)."""
        if not self.pending.is_dir():
            return 0, 0
        self.sent.mkdir(parents=True, exist_ok=True)
        done = failed = 0
        for path in sorted(self.pending.glob("*.json")):
            doc = json.loads(path.read_text())
            sub = Subscriber.model_validate(doc["subscriber"])
            try:
                _send(sub, doc["payload"], self.root, timeout_s)
            except OSError:
                failed += 1
                continue
            os.replace(path, self.sent / path.name)
            done += 1
        return done, failed


def _send(sub: Subscriber, body: dict[str, object], root: Path, timeout_s: float) -> None:
    if sub.channel == "file":
        target = Path(sub.target)
        target = target if target.is_absolute() else root / target
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(body, ensure_ascii=False) + "\n")
    elif sub.channel == "webhook":
        req = urllib.request.Request(sub.target, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            if resp.status >= 300:
                raise OSError(f"webhook answered {resp.status}")
