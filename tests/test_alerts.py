"""Threshold alerts: hysteresis, consecutive counts, rejected data, durable outbox."""

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from hsiwq.alerts.engine import AlertState, evaluate_threshold
from hsiwq.alerts.notify import Outbox
from hsiwq.config import Subscriber, ThresholdRule

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)


def run(rule, values):
    state, out = AlertState(), []
    for i, v in enumerate(values):
        state, tr = evaluate_threshold(rule, state, v, T0 + timedelta(minutes=i), "s")
        out.append(tr.status if tr else None)
    return state, out


def test_fires_once_and_resolves_with_hysteresis():
    rule = ThresholdRule(param="chl_a", above=50, clear=40)
    state, out = run(rule, [10, 55, 60, 45, 52, 39, 45])
    assert out == [None, "firing", None, None, None, "resolved", None]
    assert state.status == "resolved"


def test_for_count_needs_consecutive_values():
    rule = ThresholdRule(param="chl_a", above=50, for_count=3)
    _, out = run(rule, [60, 60, 10, 60, 60, 60])
    assert out == [None, None, None, None, None, "firing"]


def test_rejected_or_nan_values_change_nothing():
    rule = ThresholdRule(param="chl_a", above=50)
    _, out = run(rule, [None, float("nan"), 60, None, float("nan")])
    assert out == [None, None, "firing", None, None]


def test_below_rule():
    rule = ThresholdRule(param="secchi", below=0.5, clear=0.7)
    _, out = run(rule, [1.0, 0.4, 0.6, 0.8])
    assert out == [None, "firing", None, "resolved"]


@pytest.mark.parametrize("kw,msg", [({"param": "chl", "above": 1}, "unknown parameter"),
                                    ({"param": "chl_a"}, "exactly one"),
                                    ({"param": "chl_a", "above": 5, "clear": 6}, "hysteresis")])
def test_rule_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        ThresholdRule(**kw)


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail > 0:
            _Receiver.fail -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_outbox_delivers_to_file_and_webhook_exactly_once(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received, _Receiver.fail = [], 2
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    subs = [Subscriber(name="f", channel="file", target="n/f.jsonl"),
            Subscriber(name="w", channel="webhook", target=url)]
    rule = ThresholdRule(param="chl_a", above=50)
    _, tr = evaluate_threshold(rule, AlertState(), 80.0, T0, "taihu")
    box = Outbox(tmp_path / "alerts", tmp_path)
    assert len(box.enqueue([tr], subs)) == 2
    assert box.enqueue([tr], subs) == []  # the same state change is queued once
    assert box.deliver(timeout_s=2) == (1, 1)  # webhook down: kept pending
    assert box.deliver(timeout_s=2) == (0, 1)
    assert box.deliver(timeout_s=2) == (1, 0)  # recovered
    assert box.deliver(timeout_s=2) == (0, 0)
    server.shutdown()
    lines = (tmp_path / "n/f.jsonl").read_text().splitlines()
    assert len(lines) == 1 and len(_Receiver.received) == 1
    assert _Receiver.received[0]["value"] == 80.0 and _Receiver.received[0]["status"] == "firing"
    assert "chlorophyll-a 80.0 µg/L is above 50" in json.loads(lines[0])["message"]


def test_late_or_repeated_acquisitions_do_not_move_the_state():
    rule = ThresholdRule(param="chl_a", above=50, clear=40)
    state, tr = evaluate_threshold(rule, AlertState(), 80.0, T0, "s")
    assert tr.status == "firing"
    state2, tr2 = evaluate_threshold(rule, state, 10.0, T0 - timedelta(minutes=5), "s")
    assert tr2 is None and state2 == state
    state3, tr3 = evaluate_threshold(rule, state, 10.0, T0, "s")
    assert tr3 is None and state3.status == "firing"
