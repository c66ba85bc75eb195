"""Delivery with real components: a local SMTP server (aiosmtpd), a local HTTP server that
verifies signed webhooks, Apprise to a local endpoint, and a channel that fails for a while
and recovers (every message arrives exactly once, in order)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from hsiwq.alerts.channels import verify
from hsiwq.alerts.notify import Outbox
from hsiwq.alerts.service import after_write, check_gaps, deliver_pending
from hsiwq.config import SitesConfig
from hsiwq.store import Record, SiteStore
from hsiwq.workspace import Workspace

T0 = datetime(2026, 7, 21, 2, 0, tzinfo=timezone.utc)  # 10:00 at Taihu
SECRET = "s3cret-hmac-key-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A local HTTP endpoint: records POSTs, can fail on purpose, verifies signatures."""

    def __init__(self, port: int = 0, secret: str | None = None) -> None:
        self.posts: list[dict] = []
        self.attempts = 0
        self.fail = 0
        self.secret = secret
        self.bad_signatures = 0
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.attempts += 1
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                if outer.secret is not None and not verify(outer.secret, self.headers, raw):
                    outer.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                outer.posts.append({"path": self.path, "headers": dict(self.headers),
                                    "body": json.loads(raw), "t": time.perf_counter()})
                outer.arrived.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(secret=SECRET)
    yield r
    r.close()


@pytest.fixture
def smtp_server(monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    def auth(server, session, envelope, mechanism, data):
        ok = (data.login, data.password) == (b"hsiwq", b"mail-pw")
        return AuthResult(success=ok, handled=False)

    monkeypatch.setenv("HSIWQ_TEST_SMTP_PW", "mail-pw")
    handler = Handler()
    ctrl = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=auth,
                      auth_require_tls=False)
    ctrl.start()
    yield ctrl, handler
    ctrl.stop()


def make_config(subscribers, rules=None, **alerting):
    rules = rules or [{"id": "chl-bloom", "param": "chl_a", "above": 50, "clear": 40, "severity": "critical"}]
    return SitesConfig.model_validate({
        "sites": {"taihu": {"lat": 31.4, "lon": 120.18, "timezone": "Asia/Shanghai",
                            "name": "Taihu north", "name_zh": "太湖北岸", "rules": rules}},
        "subscribers": subscribers, "alerting": {"retry_base_s": 10, "retry_max_s": 60, **alerting}})


def record(minutes, chl, verdict="accepted", ood=0.0, **extra):
    values = {"chl_a": chl, "chl_a_ood": ood, "valid_fraction": 0.8, **extra}
    return Record(T0 + timedelta(minutes=minutes), values,
                  {"verdict": verdict, "reason": "" if verdict == "accepted" else "cloud: Li(750)/Ed(750) = 0.4"},
                  rrs=np.array([0.01, 0.02, 0.01]), wavelength=np.array([450.0, 550.0, 650.0]))


def write(ws, config, rec, now=None, deliver=True):
    """What the pipeline does: store write, then after_write."""
    SiteStore(ws.store_path("taihu")).write(rec)
    return after_write(config.sites["taihu"], config, ws, rec, deliver=deliver,
                       now=now or rec.time + timedelta(seconds=30))


def test_email_over_smtp_in_english_and_chinese(tmp_path, smtp_server):
    ctrl, handler = smtp_server
    config = make_config(
        [{"name": "duty", "channel": "email", "target": "duty@example.cn, chief@example.cn"},
         {"name": "zh", "channel": "email", "target": "zhiban@example.cn", "language": "zh"}],
        smtp={"host": "127.0.0.1", "port": ctrl.port, "security": "none", "username": "hsiwq",
              "password_env": "HSIWQ_TEST_SMTP_PW", "sender": "hsiwq@example.cn"})
    ws = Workspace(tmp_path)
    for i, chl in enumerate([20, 30, 45, 62]):
        write(ws, config, record(i * 60, chl))
    assert len(handler.messages) == 2
    by_rcpt = {tuple(m.rcpt_tos): message_from_bytes(m.content, policy=policy.default) for m in handler.messages}
    en = by_rcpt[("duty@example.cn", "chief@example.cn")]
    assert en["Subject"] == "FIRING [critical] taihu: chlorophyll-a 62.0 µg/L is above 50 µg/L (chl-bloom)"
    text = en.get_content()
    assert "Taihu north [taihu]" in text and "Trend of chlorophyll-a" in text and "20.0 · 30.0 · 45.0" in text
    assert "hsiwq alerts ack taihu chl-bloom" in text
    zh = by_rcpt[("zhiban@example.cn",)]
    assert zh["Subject"].startswith("【告警·严重】太湖北岸：叶绿素a 62.0 µg/L，高于阈值 50 µg/L")
    assert "近6小时叶绿素a趋势" in zh.get_content()


def test_smtp_wrong_password_keeps_the_mail_queued(tmp_path, smtp_server, monkeypatch):
    ctrl, handler = smtp_server
    config = make_config([{"name": "duty", "channel": "email", "target": "duty@example.cn"}],
                         smtp={"host": "127.0.0.1", "port": ctrl.port, "security": "none",
                               "username": "hsiwq", "password_env": "HSIWQ_TEST_SMTP_PW"})
    ws = Workspace(tmp_path)
    monkeypatch.setenv("HSIWQ_TEST_SMTP_PW", "wrong")
    write(ws, config, record(0, 80))
    assert handler.messages == []
    (doc,) = Outbox(ws.alerts_dir, ws.root).pending_docs()
    assert doc["last_error"] == "e-mail: SMTP server answered 535" and "wrong" not in json.dumps(doc)
    monkeypatch.setenv("HSIWQ_TEST_SMTP_PW", "mail-pw")
    assert deliver_pending(config, ws, now=T0 + timedelta(minutes=5)).delivered == 1
    assert len(handler.messages) == 1


def test_signed_webhook_is_verified_by_the_receiver(tmp_path, receiver, monkeypatch):
    monkeypatch.setenv("HSIWQ_WEBHOOK_SECRET", SECRET)
    config = make_config([{"name": "authority", "channel": "webhook", "target": receiver.url,
                           "secret_env": "HSIWQ_WEBHOOK_SECRET"}])
    ws = Workspace(tmp_path)
    write(ws, config, record(0, 80))
    assert receiver.bad_signatures == 0 and len(receiver.posts) == 1
    post = receiver.posts[0]
    body = post["body"]
    assert body["schema"] == "hsiwq.alerts/v1" and body["site"] == "taihu" and body["status"] == "firing"
    assert body["rule"] == "chl-bloom" and body["value"] == 80.0 and body["unit"] == "µg/L"
    assert body["alerts"][0]["threshold"] == 50 and body["alerts"][0]["clear"] == 40
    assert post["headers"]["X-Hsiwq-Id"] == body["id"]
    assert post["headers"]["X-Hsiwq-Signature"].startswith("sha256=")
    # a wrong key does not verify
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert not verify("other", post["headers"], raw)


def test_apprise_url_with_token_from_the_environment(tmp_path, receiver, monkeypatch):
    receiver.secret = None
    monkeypatch.setenv("HSIWQ_TEST_TOKEN", "tok123")
    config = make_config([{"name": "chat", "channel": "apprise", "language": "zh",
                           "target": f"json://127.0.0.1:{receiver.port}/chat/${{HSIWQ_TEST_TOKEN}}"}])
    ws = Workspace(tmp_path)
    write(ws, config, record(0, 80))
    (post,) = receiver.posts
    assert post["path"] == "/chat/tok123"
    assert post["body"]["title"].startswith("【告警·严重】太湖北岸") and "站点" in post["body"]["message"]
    sent = list((tmp_path / "alerts" / "outbox" / "sent").glob("*.json"))
    assert sent and all("tok123" not in p.read_text() for p in sent)


def test_channel_down_then_up_gets_every_message_exactly_once_in_order(tmp_path, monkeypatch, caplog):
    """Connection refused, then HTTP 503, then recovery: nothing lost, nothing twice."""
    monkeypatch.setenv("HSIWQ_WEBHOOK_SECRET", SECRET)
    port = free_port()
    config = make_config([{"name": "authority", "channel": "webhook", "secret_env": "HSIWQ_WEBHOOK_SECRET",
                           "target": f"http://127.0.0.1:{port}/hook"},
                          {"name": "file", "channel": "file", "target": "n/f.jsonl"}], repeat_minutes=60)
    ws = Workspace(tmp_path)
    caplog.set_level(logging.WARNING, logger="hsiwq.alerts")
    # firing at 0, repeat due at 60 (wall clock), resolved at 90 — all while the endpoint is down
    values = [(0, 80), (10, 85), (60, 90), (90, 30)]
    for minutes, chl in values:
        write(ws, config, record(minutes, chl))
    box = Outbox(ws.alerts_dir, ws.root)
    assert [d["subscriber"]["name"] for d in box.pending_docs()] == ["authority"] * 3
    assert len((tmp_path / "n/f.jsonl").read_text().splitlines()) == 3  # the file channel is unaffected
    receiver = Receiver(port=port, secret=SECRET)
    try:
        receiver.fail = 2
        now = T0 + timedelta(minutes=91)
        d = box.deliver(now, retry_base_s=10, retry_max_s=60)
        assert d.waiting == 3 and receiver.attempts == 0  # still in backoff: nothing tried
        d = box.deliver(now + timedelta(minutes=2), retry_base_s=10, retry_max_s=60)
        assert (d.delivered, d.failed, receiver.attempts) == (0, 1, 1)  # 503; the others wait behind it
        check_gaps(config, ws, now=now + timedelta(minutes=2, seconds=5))  # backoff 60 s: no attempt
        assert receiver.attempts == 1
        check_gaps(config, ws, now=now + timedelta(minutes=4))  # 503 again
        assert receiver.attempts == 2 and receiver.posts == []
        check_gaps(config, ws, now=now + timedelta(minutes=6))  # recovered
        for later in (8, 30):
            check_gaps(config, ws, now=now + timedelta(minutes=later))
    finally:
        receiver.close()
    bodies = [p["body"] for p in receiver.posts]
    assert [(b["change"], b["status"]) for b in bodies] == [("firing", "firing"), ("repeat", "firing"),
                                                          ("resolved", "resolved")]
    assert len({b["id"] for b in bodies}) == 3 and receiver.bad_signatures == 0
    assert box.pending_docs() == []
    assert "503" in caplog.text and SECRET not in caplog.text


def test_grouping_simultaneous_alerts_of_a_site_into_one_message(tmp_path, receiver):
    receiver.secret = None
    rules = [{"id": "chl-bloom", "param": "chl_a", "above": 50, "clear": 40, "severity": "critical"},
             {"id": "pc-high", "param": "phycocyanin", "above": 30, "severity": "warning"},
             {"kind": "sensor", "fault": "rejects", "for_count": 2}]
    config = make_config([{"name": "hook", "channel": "webhook", "target": receiver.url},
                          {"name": "chl-only", "channel": "file", "target": "n/chl.jsonl", "parameters": ["chl_a"]},
                          {"name": "no-data", "channel": "file", "target": "n/water.jsonl", "categories": ["water"]}],
                         rules=rules)
    ws = Workspace(tmp_path)
    write(ws, config, record(0, 80, phycocyanin=60.0, phycocyanin_ood=0.0))
    write(ws, config, record(10, 1000, verdict="rejected"))
    write(ws, config, record(20, 1000, verdict="rejected"))
    first, second = [p["body"] for p in receiver.posts]
    assert [a["rule"] for a in first["alerts"]] == ["chl-bloom", "pc-high"]
    assert first["severity"] == "critical" and first["message"].endswith("(+1 more)")
    assert [a["rule"] for a in second["alerts"]] == ["sensor-rejects"]
    assert second["also_firing"][0]["rule"] == "chl-bloom"
    chl_only = [json.loads(x) for x in (tmp_path / "n/chl.jsonl").read_text().splitlines()]
    assert [[a["rule"] for a in n["alerts"]] for n in chl_only] == [["chl-bloom"], ["sensor-rejects"]]
    water = [json.loads(x) for x in (tmp_path / "n/water.jsonl").read_text().splitlines()]
    assert len(water) == 1


def test_missing_secret_keeps_the_message_and_says_which_variable(tmp_path, receiver, monkeypatch):
    monkeypatch.delenv("HSIWQ_WEBHOOK_SECRET", raising=False)
    config = make_config([{"name": "authority", "channel": "webhook", "target": receiver.url,
                           "secret_env": "HSIWQ_WEBHOOK_SECRET"}])
    ws = Workspace(tmp_path)
    write(ws, config, record(0, 80))
    (doc,) = Outbox(ws.alerts_dir, ws.root).pending_docs()
    assert doc["last_error"] == "webhook signing key: environment variable HSIWQ_WEBHOOK_SECRET is not set"
    assert receiver.attempts == 0  # never sent unsigned
    monkeypatch.setenv("HSIWQ_WEBHOOK_SECRET", SECRET)
    assert deliver_pending(config, ws, force=True).delivered == 1 and receiver.bad_signatures == 0


def test_secrets_never_reach_logs_or_files(tmp_path, monkeypatch, caplog):
    """Token in the URL, HMAC key and SMTP password come from the environment only."""
    monkeypatch.setenv("HSIWQ_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("HSIWQ_TEST_TOKEN", "tok-XYZ-987")
    monkeypatch.setenv("HSIWQ_TEST_SMTP_PW", "pw-ABC-123")
    port = free_port()  # nothing listens: every channel fails
    config = make_config(
        [{"name": "hook", "channel": "webhook", "secret_env": "HSIWQ_WEBHOOK_SECRET",
          "target": f"http://127.0.0.1:{port}/send?key=${{HSIWQ_TEST_TOKEN}}"},
         {"name": "chat", "channel": "apprise", "target": f"json://127.0.0.1:{port}/${{HSIWQ_TEST_TOKEN}}"},
         {"name": "mail", "channel": "email", "target": "a@b.cn"}],
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "username": "u",
              "password_env": "HSIWQ_TEST_SMTP_PW"})
    ws = Workspace(tmp_path)
    caplog.set_level(logging.DEBUG)
    write(ws, config, record(0, 80))
    docs = Outbox(ws.alerts_dir, ws.root).pending_docs()
    assert len(docs) == 3 and all(d["last_error"] for d in docs)
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and "store" not in p.parts)
    for secret in (SECRET, "tok-XYZ-987", "pw-ABC-123"):
        assert secret not in caplog.text and secret not in files
    assert "${HSIWQ_TEST_TOKEN}" in files  # the placeholder, not its value, is kept


def test_concurrent_delivery_passes_send_each_message_once(tmp_path, receiver):
    """Pipeline and scheduler delivering at the same time: the outbox lock serialises them."""
    receiver.secret = None
    config = make_config([{"name": "hook", "channel": "webhook", "target": receiver.url}])
    ws = Workspace(tmp_path)
    for i, chl in enumerate([80, 30] * 5):  # 10 state changes, queued while nobody delivers
        write(ws, config, record(i * 10, chl), deliver=False)
    assert len(Outbox(ws.alerts_dir, ws.root).pending_docs()) == 10
    threads = [threading.Thread(target=deliver_pending, args=(config, ws)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(receiver.posts) == 10 and len({p["body"]["id"] for p in receiver.posts}) == 10
    assert [p["body"]["status"] for p in receiver.posts] == ["firing", "resolved"] * 5
