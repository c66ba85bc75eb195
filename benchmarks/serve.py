"""Serving benchmark: sites' deployments in a work pool, two in-process workers, a local server.

Usage: ``python -m benchmarks.serve [--minutes 10] [--sites 20] [--rate 120] [--size 256]
[--bands 200] [--workers 2] [--every 30] [--dir DIR]``.

A few prototype acquisitions are simulated first (``hsiwq.simulate``); each arriving bundle
is then made by hard-linking a prototype's data files and writing a fresh ``acquisition.json``
with the next acquisition time of its site (cheap on disk), and appears in the site's inbox
atomically (written under a dot-name, then renamed). Bundles arrive at ``--rate`` per minute
in total, round-robin over the sites, for ``--minutes``; the deployments (one per site, every
``--every`` seconds, one run per site at a time) are served by ``--workers`` `hsiwq worker`
processes against a local Prefect server (SQLite, loopback), all on this machine.

Reported per minute: arrivals, processed (archived), backlog (still in the inboxes at the
minute's end) and the CPU used by the workers and the server. At the end, per flow run:
Prefect's overhead = the run's wall time minus the time spent in library calls (the worker
records the latter: hsiwq functions and task bodies, see flows/worker.py), with the wall time
taken as Prefect's start → end (Running → Completed state times) and as scheduled → end;
median and p95. Then checks that every bundle was processed exactly once (store rows,
archive, empty inboxes, no quarantine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SENSOR = "HSI-BENCH-SERVE"
WATER = ("eutrophic_lake", "clear_reservoir", "sediment_river")
#: Acquisition times of the simulated bundles start here (mid-morning at Taihu).
T0 = datetime(2026, 7, 1, 1, 0, tzinfo=timezone.utc)


def site_ids(n: int) -> list[str]:
    return [f"s{i:02d}" for i in range(n)]


def sites_toml(n: int, every_s: float) -> str:
    """``n`` sites around Taihu, each on an ``every N s`` schedule."""
    out = []
    for i, sid in enumerate(site_ids(n)):
        out.append(f'[sites.{sid}]\nlat = {31.2 + 0.02 * i:.2f}\nlon = {120.0 + 0.02 * i:.2f}\n'
                   f'region = "taihu"\nsensor = "{SENSOR}"\nschedule = "every {every_s:g} s"\n')
    return "\n".join(out)


def make_prototypes(proto_dir: Path, cal_dir: Path, size: int, bands: int) -> list[Path]:
    from hsiwq.simulate import simulate_bundle

    return [simulate_bundle(proto_dir, water_type=w, site="proto", time=T0, sensor=SENSOR,
                            lat=31.3, lon=120.1, shape=(size, size), n_bands=bands, seed=i,
                            calibration_dir=cal_dir, store_truth_rrs=False)
            for i, w in enumerate(WATER)]


class Feeder:
    """Makes bundles: hard links to a prototype's files and a fresh acquisition.json."""

    def __init__(self, protos: list[Path], home: Path, sites: list[str]):
        self.home, self.sites = home, sites
        self.protos = [(p, [f for f in p.iterdir() if f.name not in ("acquisition.json", "truth.npz")],
                        json.loads((p / "acquisition.json").read_text())) for p in protos]
        self.count = {s: 0 for s in sites}
        self.total = 0

    def arrive(self) -> Path:
        site = self.sites[self.total % len(self.sites)]
        k = self.count[site]
        proto, files, meta = self.protos[(self.total + k) % len(self.protos)]
        t = T0 + timedelta(seconds=10 * k)
        name = t.strftime("%Y%m%dT%H%M%SZ")
        inbox = self.home / "inbox" / site
        tmp = inbox / f".incoming-{name}"
        tmp.mkdir(parents=True)
        for f in files:
            os.link(f, tmp / f.name)
        m = dict(meta, site=site, time=t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        (tmp / "acquisition.json").write_text(json.dumps(m))
        final = inbox / name
        os.rename(tmp, final)
        self.count[site] += 1
        self.total += 1
        return final


def _count_dirs(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(1 for site in root.iterdir() if site.is_dir()
               for b in site.iterdir() if b.is_dir() and not b.name.startswith("."))


def _cpu(procs) -> float:
    """CPU seconds of these processes and their children (psutil)."""
    import psutil

    total = 0.0
    for p in procs:
        try:
            pp = psutil.Process(p.pid)
            family = [pp] + pp.children(recursive=True)
        except psutil.Error:
            continue
        for q in family:
            try:
                t = q.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


def _pct(xs, q) -> float:
    return float(np.percentile(xs, q)) if len(xs) else float("nan")


def flow_runs(url: str, pool: str) -> list:
    """Every flow run of the pool's deployments (from the API)."""
    os.environ["PREFECT_API_URL"] = url
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    out = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_flow_runs(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
                limit=200, offset=len(out))
            out += page
            if len(page) < 200:
                return out


def run(args) -> int:
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="hsiwq-bench-serve-"))
    if work.exists() and args.dir:
        shutil.rmtree(work)
    home = work / "home"
    cal = home / "calibration" / "sensors"
    from hsiwq.workspace import bundled_calibration_dir

    shutil.copytree(bundled_calibration_dir(), cal)
    sites = site_ids(args.sites)
    (home / "sites.toml").write_text(sites_toml(args.sites, args.every))
    t = time.perf_counter()
    protos = make_prototypes(work / "proto", cal, args.size, args.bands)
    print(f"{len(protos)} prototype bundles {args.size}×{args.size}×{args.bands} simulated in "
          f"{time.perf_counter() - t:.0f} s; work folder {work}", flush=True)
    feeder = Feeder(protos, home, sites)

    env = dict(os.environ, HSIWQ_HOME=str(home), PREFECT_HOME=str(home / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL=os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"))
    env.pop("PREFECT_API_URL", None)
    os.environ.update({k: env[k] for k in ("HSIWQ_HOME", "PREFECT_HOME",
                                           "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_LOGGING_LEVEL")})
    from flows.server import local_server

    record = home / "prefect" / "worker-runs.jsonl"
    workers: list[subprocess.Popen] = []
    t = time.perf_counter()
    with local_server(home / "prefect", lean=True) as url:
        server_pid = _server_proc(home / "prefect")
        print(f"local Prefect server {url} up in {time.perf_counter() - t:.0f} s", flush=True)
        env["PREFECT_API_URL"] = url
        hsiwq = [sys.executable, "-m", "hsiwq", "--home", str(home)]
        subprocess.run([*hsiwq, "deploy", "--pool", args.pool, "--limit", str(args.limit)],
                       env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        for i in range(args.workers):
            with open(home / "prefect" / f"worker-{i + 1}.log", "wb") as log:
                workers.append(subprocess.Popen(
                    [*hsiwq, "worker", "--pool", args.pool, "--name", f"bench-w{i + 1}",
                     "--limit", str(args.worker_limit), "--poll", str(args.poll),
                     "--record", str(record)],
                    env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        try:
            _wait_started(home / "prefect", args.workers, 120)
            return _feed_and_measure(args, home, feeder, workers, server_pid, url, record)
        finally:
            for p in workers:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in workers:
                try:
                    p.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    p.kill()
            if not args.dir:
                shutil.rmtree(work, ignore_errors=True)


def _server_proc(prefect_home: Path):
    """The local server's process (for its CPU time)."""
    import psutil

    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if "prefect" in cmd and "server" in cmd and "start" in cmd and \
                    (p.info["environ"] or {}).get("PREFECT_HOME") == str(prefect_home):
                return p
        except (psutil.Error, TypeError):
            continue
    return None


def _wait_started(prefect_home: Path, n: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        logs = [prefect_home / f"worker-{i + 1}.log" for i in range(n)]
        if all(f.exists() and "started" in f.read_text(errors="replace") for f in logs):
            return
        time.sleep(0.5)
    raise RuntimeError(f"workers did not start within {timeout_s:.0f} s; see {prefect_home}/worker-*.log")


def _feed_and_measure(args, home: Path, feeder: Feeder, workers, server, url: str,
                      record: Path) -> int:
    period = 60.0 / args.rate
    minutes = args.minutes
    print(f"\n{args.sites} sites, {args.rate:g} bundles/min for {minutes:g} min, "
          f"{args.workers} workers (≤ {args.worker_limit} runs each, pool ≤ {args.limit}), "
          f"schedules every {args.every:g} s", flush=True)
    print(f"{'minute':>6s} {'arrived':>8s} {'processed':>10s} {'backlog':>8s} "
          f"{'workers CPU':>12s} {'server CPU':>11s}", flush=True)
    cpu_w0, cpu_s0 = _cpu(workers), _cpu([server] if server else [])
    start = time.monotonic()
    rows, last = [], (0, 0)
    for minute in range(int(np.ceil(minutes))):
        m_end = start + 60.0 * min(minute + 1, minutes)
        while True:
            due = start + feeder.total * period
            if due >= m_end:
                break
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            feeder.arrive()
        if time.monotonic() < m_end:
            time.sleep(m_end - time.monotonic())
        processed = _count_dirs(home / "archive") + _count_dirs(home / "quarantine")
        backlog = _count_dirs(home / "inbox")
        cpu_w, cpu_s = _cpu(workers), _cpu([server] if server else [])
        row = (minute + 1, feeder.total - last[0], processed - last[1], backlog,
               (cpu_w - cpu_w0) / 60, (cpu_s - cpu_s0) / 60)
        cpu_w0, cpu_s0 = cpu_w, cpu_s
        rows.append(row)
        last = (feeder.total, processed)
        print(f"{row[0]:6d} {row[1]:8d} {row[2]:10d} {row[3]:8d} {row[4]:10.2f} c {row[5]:9.2f} c",
              flush=True)
    t_fed, t_fed_wall = time.monotonic(), time.time()
    while _count_dirs(home / "inbox") and time.monotonic() - t_fed < args.drain:
        time.sleep(0.5)
    drained = time.monotonic() - t_fed
    backlog = _count_dirs(home / "inbox")
    print(f"after the last arrival: {'drained' if not backlog else f'{backlog} left'} "
          f"in {drained:.1f} s", flush=True)
    time.sleep(args.every + 2)  # the last runs reach their final state
    return _report(args, home, feeder, rows, url, record, t_fed_wall)


def _stage_means(recs) -> dict[str, float]:
    n = max(1, sum(r["results"] for r in recs))
    out: dict[str, float] = {}
    for r in recs:
        for k, v in r["stages"].items():
            out[k] = out.get(k, 0.0) + v / n
    return out


def _report(args, home: Path, feeder: Feeder, rows, url: str, record: Path,
            rows_end: float) -> int:
    from hsiwq.store import SiteStore
    from hsiwq.workspace import Workspace

    recs = {}
    for line in record.read_text().splitlines() if record.exists() else []:
        r = json.loads(line)
        recs[r["flow_run_id"]] = r
    runs = flow_runs(url, args.pool)
    states: dict[str, int] = {}
    after_start, after_sched, in_worker, lib = [], [], [], []
    for fr in runs:
        states[fr.state_name] = states.get(fr.state_name, 0) + 1
        r = recs.get(str(fr.id))
        if r is None or fr.start_time is None or fr.end_time is None or fr.state_name != "Completed":
            continue
        lib.append(r["library_s"])
        after_start.append((fr.end_time - fr.start_time).total_seconds() - r["library_s"])
        after_sched.append((fr.end_time - fr.expected_start_time).total_seconds() - r["library_s"])
        in_worker.append(r["ended"] - r["started"] - r["library_s"])
    per_worker: dict[str, int] = {}
    for r in recs.values():
        per_worker[r["worker"]] = per_worker.get(r["worker"], 0) + 1
    n_min = len(rows)
    cpu_w, cpu_s = sum(r[4] for r in rows) * 60, sum(r[5] for r in rows) * 60
    n_done = max(1, sum(r[2] for r in rows))
    n_runs = max(1, sum(1 for r in recs.values() if r["started"] <= rows_end))
    steady = rows[1:] or rows
    backlog = [r[3] for r in rows]
    print(f"\nflow runs: {len(runs)} ({', '.join(f'{k} {v}' for k, v in sorted(states.items()))}); "
          f"by worker: {', '.join(f'{k} {v}' for k, v in sorted(per_worker.items()))}")
    print(f"throughput: {sum(r[2] for r in rows) / n_min:.1f} processed/min over {n_min} min "
          f"(arrivals {sum(r[1] for r in rows) / n_min:.1f}/min); after minute 1 "
          f"{np.mean([r[2] for r in steady]):.1f}/min; backlog at minute ends "
          f"min {min(backlog)} max {max(backlog)} last {backlog[-1]}; "
          f"workers {np.mean([r[4] for r in rows]):.2f} cores, server {np.mean([r[5] for r in rows]):.2f} cores")
    print(f"CPU per acquisition during the arrivals: workers {cpu_w / n_done:.3f} s, server "
          f"{cpu_s / n_done:.3f} s ({n_runs} flow runs started meanwhile: "
          f"{(cpu_w + cpu_s) / n_runs:.3f} CPU s per run, all in)")
    busy = [r for r in recs.values() if r.get("results")]
    print(f"library time per bundle: {sum(r['library_s'] for r in busy) / max(1, sum(r['results'] for r in busy)):.3f} s "
          f"({', '.join(f'{k} {v:.3f}' for k, v in _stage_means(busy).items())})")
    print(f"library time per run: median {_pct(lib, 50):.3f} s, p95 {_pct(lib, 95):.3f} s")
    print(f"Prefect overhead per run [s]   {'median':>7s} {'p95':>7s} {'max':>7s}")
    for name, xs in (("start → end − library", after_start), ("scheduled → end − library", after_sched),
                     ("in the worker thread − library", in_worker)):
        print(f"  {name:29s} {_pct(xs, 50):7.3f} {_pct(xs, 95):7.3f} {max(xs, default=float('nan')):7.3f}")
    ws = Workspace(home)
    stored = sum(SiteStore(ws.store_path(s)).read(with_rrs=False).sizes["time"]
                 for s in feeder.sites if ws.store_path(s).exists())
    archived, quarantined = _count_dirs(home / "archive"), _count_dirs(home / "quarantine")
    ok = stored == archived == feeder.total and quarantined == 0 and not _count_dirs(home / "inbox")
    print(f"exactly once: {feeder.total} arrived, {stored} store rows, {archived} archived, "
          f"{quarantined} quarantined → {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--rate", type=float, default=120.0, help="bundles per minute, all sites")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bands", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-limit", type=int, default=2, help="runs at once per worker")
    ap.add_argument("--limit", type=int, default=4, help="runs at once in the pool")
    ap.add_argument("--every", type=float, default=30.0, help="each site's schedule [s]")
    ap.add_argument("--poll", type=float, default=2.0, help="workers' polling interval [s]")
    ap.add_argument("--drain", type=float, default=120.0, help="longest wait for the last bundles [s]")
    ap.add_argument("--pool", default="bench")
    ap.add_argument("--dir", help="work folder, kept (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    print(f"hsiwq serve benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"{os.cpu_count()} CPUs", flush=True)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
