"""The durable outbox: every notification is written before it is sent.

Layout under ``<home>/alerts/outbox/``: ``pending/<id>.json`` (queued or failed, with
``attempts``, ``next_attempt`` and ``last_error``) and ``sent/<id>.json`` (delivered, with
``delivered_at``). The id is derived from the subscriber and the keys of the state changes
the notification carries, so the same changes are never queued twice for a subscriber.

Delivery keeps each subscriber's notifications in order: when the oldest one fails, the
subscriber's later ones wait, and the next attempt comes after a backoff of
``retry_base_s`` × 2^(attempts−1), capped at ``retry_max_s``. A channel that is down delays
its messages; none is dropped. Delivery passes of several processes are serialised by a
lock; a process killed between sending and marking a message sent may send it again on the
next pass (webhook receivers deduplicate on ``X-Hsiwq-Id``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ..logs import log_event
from .channels import DeliveryError, send

log = logging.getLogger("hsiwq.alerts")


class Delivery(NamedTuple):
    """Outcome of a delivery pass."""

    delivered: int
    failed: int
    waiting: int

    @property
    def pending(self) -> int:
        return self.failed + self.waiting


def notification_id(subscriber: str, keys: Iterable[str]) -> str:
    """Deterministic id of the notification of some state changes to one subscriber."""
    text = subscriber + "\n" + "\n".join(sorted(keys))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _write(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc, ensure_ascii=False))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Outbox:
    """The durable queue of notifications of a workspace.

    Parameters
    ----------
    alerts_dir : path
        ``<home>/alerts``.
    workspace_root : path
        Base of relative ``file`` targets.
    """

    def __init__(self, alerts_dir: str | os.PathLike[str], workspace_root: str | os.PathLike[str]) -> None:
        self.dir = Path(alerts_dir) / "outbox"
        self.pending = self.dir / "pending"
        self.sent = self.dir / "sent"
        self.root = Path(workspace_root)

    def known(self, nid: str) -> bool:
        """Whether this notification was already queued (pending or sent)."""
        return (self.pending / f"{nid}.json").exists() or (self.sent / f"{nid}.json").exists()

    def enqueue(self, nid: str, subscriber: dict[str, Any], payload: dict[str, Any],
                keys: list[str], now: datetime, smtp: dict[str, Any] | None = None) -> bool:
        """Write one notification durably; False when it was already queued."""
        self.pending.mkdir(parents=True, exist_ok=True)
        if self.known(nid):
            return False
        doc = {"id": nid, "seq": time.time_ns(), "created": now.isoformat(), "keys": keys,
               "subscriber": subscriber, "smtp": smtp if subscriber["channel"] == "email" else None,
               "payload": payload, "attempts": 0, "next_attempt": now.isoformat(), "last_error": None}
        _write(self.pending / f"{nid}.json", doc)
        return True

    def pending_docs(self) -> list[dict[str, Any]]:
        """Queued notifications, oldest first."""
        docs = []
        for path in self.pending.glob("*.json") if self.pending.is_dir() else ():
            try:
                docs.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):  # being replaced right now
                continue
        return sorted(docs, key=lambda d: d["seq"])

    def deliver(self, now: datetime | None = None, *, retry_base_s: float = 10.0,
                retry_max_s: float = 600.0, force: bool = False) -> Delivery:
        """Try each due notification once, in order per subscriber.

        Parameters
        ----------
        now : datetime, optional
            The clock (default: now, UTC); decides which retries are due.
        retry_base_s, retry_max_s : float
            Backoff after a failure.
        force : bool
            Ignore backoff (retry every pending notification now).

        Returns
        -------
        Delivery
            Counts of delivered, failed (this pass) and waiting (backoff, or behind an
            undelivered older message of the same subscriber) notifications.
        """
        now = now or datetime.now(timezone.utc)
        if not self.pending.is_dir():
            return Delivery(0, 0, 0)
        self.sent.mkdir(parents=True, exist_ok=True)
        done = failed = waiting = 0
        with open(self.dir / "outbox.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                blocked: set[str] = set()
                for doc in self.pending_docs():
                    name = doc["subscriber"]["name"]
                    path = self.pending / f"{doc['id']}.json"
                    if (self.sent / path.name).exists():  # sent, not yet unlinked (crash)
                        path.unlink(missing_ok=True)
                        continue
                    if name in blocked or (not force and datetime.fromisoformat(doc["next_attempt"]) > now):
                        blocked.add(name)
                        waiting += 1
                        continue
                    try:
                        send(doc, self.root)
                    except Exception as exc:  # noqa: BLE001 - one bad channel must not stop the others
                        reason = str(exc) if isinstance(exc, DeliveryError) else f"internal error: {type(exc).__name__}"
                        doc["attempts"] += 1
                        delay = min(retry_base_s * 2 ** (doc["attempts"] - 1), retry_max_s)
                        doc["next_attempt"] = (now + timedelta(seconds=delay)).isoformat()
                        doc["last_error"] = reason
                        _write(path, doc)
                        blocked.add(name)
                        failed += 1
                        log.warning("alert delivery to %s (%s) failed, attempt %d: %s; retry in %.0f s",
                                    name, doc["subscriber"]["channel"], doc["attempts"], reason, delay)
                        log_event("notification_failed", logging.WARNING, id=doc["id"],
                                  subscriber=name, channel=doc["subscriber"]["channel"],
                                  attempt=doc["attempts"], error=reason, retry_in_s=delay)
                        continue
                    doc["delivered_at"] = datetime.now(timezone.utc).isoformat()
                    doc["attempts"] += 1
                    _write(self.sent / path.name, doc)
                    path.unlink(missing_ok=True)
                    log_event("notification_sent", id=doc["id"], subscriber=name,
                              channel=doc["subscriber"]["channel"], attempt=doc["attempts"])
                    done += 1
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return Delivery(done, failed, waiting)

    def sent_docs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Delivered notifications, oldest first (the newest ``limit``)."""
        if not self.sent.is_dir():
            return []
        paths = sorted(self.sent.glob("*.json"), key=lambda p: p.stat().st_mtime)
        return [json.loads(p.read_text(encoding="utf-8")) for p in (paths[-limit:] if limit else paths)]
