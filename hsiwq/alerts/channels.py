"""Delivery channels: JSON-lines file, signed webhook, e-mail over SMTP, chat via Apprise.

Every sender raises :class:`DeliveryError` with a message safe to log: it never contains
a secret, a token-bearing URL or a password.

Webhook signature: with ``secret_env`` set, each POST carries

- ``X-Hsiwq-Id``: the notification id (the same on every retry: deduplicate on it);
- ``X-Hsiwq-Timestamp``: Unix seconds when it was sent;
- ``X-Hsiwq-Signature``: ``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>`` with
  the secret as key (:func:`sign`, :func:`verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

from .subscribers import expand_env


class DeliveryError(Exception):
    """A notification could not be delivered now (it stays in the outbox)."""


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Hsiwq-Signature`` value of a webhook body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, headers: Any, body: bytes, tolerance_s: float = 300.0,
           now: float | None = None) -> bool:
    """Check a received webhook: signature matches and timestamp is recent.

    Parameters
    ----------
    secret : str or bytes
        The shared HMAC key.
    headers : mapping
        The request headers (case as sent, or an ``http.client`` message).
    body : bytes
        The raw request body.
    tolerance_s : float
        Largest accepted age of the timestamp [s] (replay protection).
    """
    ts = headers.get("X-Hsiwq-Timestamp") or ""
    got = headers.get("X-Hsiwq-Signature") or ""
    try:
        fresh = abs((time.time() if now is None else now) - float(ts)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(got, sign(secret, ts, body))


def _env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise DeliveryError(f"{what}: environment variable {name} is not set")
    return value


def _expand(target: str, what: str) -> str:
    try:
        return expand_env(target)
    except KeyError as exc:
        raise DeliveryError(f"{what}: environment variable {exc.args[0]} is not set") from None


def send_file(sub: dict[str, Any], payload: dict[str, Any], root: Path) -> None:
    """Append the notification as one JSON line."""
    target = Path(sub["target"])
    target = target if target.is_absolute() else root / target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(payload, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise DeliveryError(f"file: cannot append to {target}: {exc.strerror}") from None


def send_webhook(sub: dict[str, Any], payload: dict[str, Any], nid: str) -> None:
    """POST the notification as JSON (signed when the subscriber has a secret)."""
    url = _expand(sub["target"], "webhook")
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "hsiwq-alerts/1",
               "X-Hsiwq-Id": nid, "X-Hsiwq-Timestamp": ts}
    if sub.get("secret_env"):
        headers["X-Hsiwq-Signature"] = sign(_env(sub["secret_env"], "webhook signing key"), ts, body)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=float(sub.get("timeout_s", 5.0))) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc.reason).__name__}") from None
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
        raise DeliveryError(f"webhook failed: {type(exc).__name__}") from None


def send_email(sub: dict[str, Any], smtp: dict[str, Any] | None, payload: dict[str, Any], nid: str) -> None:
    """Send the notification as a plain-text UTF-8 e-mail."""
    if not smtp:
        raise DeliveryError("e-mail: no [alerting.smtp] server configured")
    msg = EmailMessage()
    msg["Subject"] = str(payload.get("message", "hsiwq alert"))[:240]
    msg["From"] = smtp.get("sender") or "hsiwq@localhost"
    msg["To"] = ", ".join(a.strip() for a in sub["target"].split(",") if a.strip())
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{nid}@hsiwq>"
    msg["X-Hsiwq-Id"] = nid
    msg.set_content(str(payload.get("text") or payload.get("message", "")))
    port = smtp.get("port") or {"none": 25, "starttls": 587, "ssl": 465}[smtp.get("security", "starttls")]
    timeout = float(smtp.get("timeout_s", 10.0))
    try:
        if smtp.get("security") == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp["host"], port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp["host"], port, timeout=timeout)
        with client:
            if smtp.get("security") == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.get("username"):
                password = _env(smtp["password_env"], "SMTP password") if smtp.get("password_env") else ""
                client.login(smtp["username"], password)
            client.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"e-mail: SMTP server answered {exc.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError("e-mail: all recipients refused") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"e-mail: {type(exc).__name__}") from None


def send_apprise(sub: dict[str, Any], payload: dict[str, Any]) -> None:
    """Send through an Apprise URL (DingTalk, WeCom, Feishu, Slack, Teams …)."""
    import apprise

    url = _expand(sub["target"], "apprise")
    scheme = sub["target"].split("://", 1)[0]
    with _quiet("apprise", "urllib3"):  # they log URLs, and chat URLs carry tokens
        ap = apprise.Apprise()
        if not ap.add(url):
            raise DeliveryError(f"apprise: cannot use a {scheme}:// URL (unknown service or malformed)")
        ok = ap.notify(title=str(payload.get("message", ""))[:240], body=str(payload.get("text", "")),
                       body_format=apprise.NotifyFormat.TEXT)
    if not ok:
        raise DeliveryError(f"apprise: {scheme} delivery failed")


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence some libraries' loggers for the duration of a call."""
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, before):
            lg.disabled = was


def send(doc: dict[str, Any], root: Path) -> None:
    """Deliver one outbox document through its subscriber's channel."""
    sub, payload = doc["subscriber"], doc["payload"]
    channel = sub["channel"]
    if channel == "file":
        send_file(sub, payload, root)
    elif channel == "webhook":
        send_webhook(sub, payload, doc["id"])
    elif channel == "email":
        send_email(sub, doc.get("smtp"), payload, doc["id"])
    elif channel == "apprise":
        send_apprise(sub, payload)
    else:
        raise DeliveryError(f"unknown channel {channel!r}")
