"""Alert latency benchmark: from the store write to the signed webhook received (goal ≤ 1 s).

Usage: ``python -m benchmarks.alerts [--cycles 20] [--history-days 2] [--dir DIR]``.

A site with a realistic rule set (bloom threshold, WHO levels, rate of change, GB 3838, TLI,
data gap, sensor rejects) and two subscribers (a signed webhook served by a local HTTP
receiver that verifies the HMAC, and a JSON-lines file) gets ``--history-days`` of 10-minute
records first (so that messages read a real trend from the store). Then each cycle does what
the pipeline does — ``SiteStore.write(record)`` and ``after_write(...)`` — with chl-a
alternating above and below the bloom threshold, so every cycle fires or resolves an alert
(one grouped message per subscriber, trend included), and measures the time from the start of
the store write to the moment the receiver has the verified POST.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

GOAL_S = 1.0
SECRET = "benchmark-hmac-key"
RULES = [
    {"id": "chl-bloom", "param": "chl_a", "above": 50.0, "clear": 40.0, "severity": "critical",
     "repeat_minutes": 0},
    {"kind": "who_cyano", "guideline": "recreational-2003", "repeat_minutes": 0},
    {"kind": "rate", "param": "chl_a", "factor": 10, "window_minutes": 30, "min_value": 20},
    {"kind": "gb3838", "params": ["tp", "tn", "cod_mn", "nh3_n"], "for_count": 3},
    {"kind": "tli", "worse_than": "middle_eutrophic"},
    {"kind": "gap", "minutes": 60},
    {"kind": "sensor", "fault": "rejects", "for_count": 6},
]


class _Receiver:
    def __init__(self) -> None:
        from hsiwq.alerts.channels import verify

        self.arrivals: list[tuple[float, dict]] = []
        self.bad = 0
        self.event = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                t = time.perf_counter()
                ok = verify(SECRET, self.headers, raw)
                self.send_response(204 if ok else 401)
                self.end_headers()
                if not ok:
                    outer.bad += 1
                    return
                outer.arrivals.append((t, json.loads(raw)))
                outer.event.set()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _record(t: datetime, chl: float):
    from hsiwq.store import Record

    values = {"chl_a": chl, "chl_a_ood": 0.0, "tp": 0.04, "tp_ood": 0.0, "tn": 0.9, "tn_ood": 0.0,
              "cod_mn": 4.5, "cod_mn_ood": 0.0, "nh3_n": 0.3, "nh3_n_ood": 0.0, "secchi": 0.5,
              "secchi_ood": 0.0, "valid_fraction": 0.8, "sun_zenith_deg": 30.0}
    return Record(t, values, {"verdict": "accepted", "reason": "", "model_version": "bench"},
                  rrs=np.linspace(0.005, 0.02, 200), wavelength=np.linspace(400, 900, 200))


def bench(work: Path, cycles: int, history_days: float) -> dict:
    """Latencies [s] of ``cycles`` alert cycles after ``history_days`` of history."""
    from hsiwq.alerts.service import after_write
    from hsiwq.config import SitesConfig
    from hsiwq.store import SiteStore
    from hsiwq.workspace import Workspace

    os.environ["HSIWQ_BENCH_SECRET"] = SECRET
    rx = _Receiver()
    config = SitesConfig.model_validate({
        "sites": {"taihu": {"lat": 31.4, "lon": 120.18, "timezone": "Asia/Shanghai", "target_class": "III",
                            "rules": RULES}},
        "subscribers": [{"name": "authority", "channel": "webhook", "target": rx.url,
                         "secret_env": "HSIWQ_BENCH_SECRET"},
                        {"name": "duty-officer", "channel": "file", "target": "notifications/duty.jsonl"}]})
    site = config.sites["taihu"]
    ws = Workspace(work)
    store = SiteStore(ws.store_path("taihu"))
    t0 = datetime(2026, 7, 21, 2, 0, tzinfo=timezone.utc) - timedelta(days=history_days)
    n_hist = int(history_days * 144)
    build = time.perf_counter()
    for i in range(n_hist):
        store.write(_record(t0 + timedelta(minutes=10 * i), 20.0 + 5 * np.sin(i / 20)))
    build = time.perf_counter() - build
    out = {"history_records": n_hist, "history_build_s": build, "latency": [], "write": [], "alert": []}
    start = t0 + timedelta(minutes=10 * n_hist)
    for k in range(cycles):
        rec = _record(start + timedelta(minutes=10 * k), 80.0 if k % 2 == 0 else 30.0)
        rx.event.clear()
        n_before = len(rx.arrivals)
        a = time.perf_counter()
        store.write(rec)
        b = time.perf_counter()
        changes = after_write(site, config, ws, rec, now=rec.time + timedelta(seconds=20))
        c = time.perf_counter()
        if not rx.event.wait(5.0) or len(rx.arrivals) == n_before:
            raise RuntimeError(f"cycle {k}: no webhook received ({[t.change for t in changes]})")
        arrived = rx.arrivals[-1][0]
        out["latency"].append(arrived - a)
        out["write"].append(b - a)
        out["alert"].append(c - b)
    rx.server.shutdown()
    out["bad_signatures"] = rx.bad
    out["received"] = len(rx.arrivals)
    out["with_trend"] = sum(1 for _, body in rx.arrivals if body["alerts"][0].get("trend"))
    return out


def _stats(xs: list[float]) -> str:
    ms = sorted(1000 * x for x in xs)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"median {statistics.median(ms):7.1f}  p95 {p95:7.1f}  max {ms[-1]:7.1f} ms"


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=20, help="fire/resolve cycles measured")
    ap.add_argument("--history-days", type=float, default=2.0, help="days of 10-minute history first")
    ap.add_argument("--dir", help="work folder (default: a temporary one)")
    args = ap.parse_args(argv)
    print(f"hsiwq alert latency benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"{len(RULES)} rules, 2 subscribers (signed webhook, file), {args.cycles} cycles")
    with tempfile.TemporaryDirectory(dir=args.dir) as td:
        r = bench(Path(td), args.cycles, args.history_days)
    print(f"history: {r['history_records']} records written in {r['history_build_s']:.1f} s")
    print(f"store write                       {_stats(r['write'])}")
    print(f"after_write (evaluate+queue+send) {_stats(r['alert'])}")
    print(f"store write → webhook received    {_stats(r['latency'])}")
    ok = max(r["latency"]) <= GOAL_S and r["bad_signatures"] == 0 and r["received"] == args.cycles
    print(f"received {r['received']}/{args.cycles} (trend in {r['with_trend']}), bad signatures {r['bad_signatures']}; "
          f"goal ≤ {GOAL_S:g} s: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
