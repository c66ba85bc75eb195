"""Serving benchmark: ``hsiwq serve`` with its default flags, bundles dropped into inboxes.

Usage: ``python -m benchmarks.serve [--scenario all|latency|throughput|postgres|sigterm]
[--minutes 10] [--sites 20] [--rate 120] [--size 256] [--bands 200] [--dir DIR]``.

Every scenario starts ``hsiwq serve`` (no flags: its local Prefect server, two long-lived
workers, the inbox watcher) in a fresh workspace, as a user would, and drops bundles into
the inboxes: each is made by hard-linking the data files of one of a few simulated prototypes
and writing a fresh ``acquisition.json`` (the site's next acquisition time), under a
dot-name, then renamed into the inbox (atomic). Measured:

- **start → ready**: from starting the process to its ``ready`` line, with a fresh workspace
  on a machine where hsiwq has never served (the server's database migrated), again on a
  restart (the database exists), and for another fresh workspace (the database copied from
  the empty schema the first start kept, ``flows.server.schema_template``);
- **drop → stored**: from the rename to the ``acquisition_processed`` event of the structured
  log (written after the store write and the alerts);
- **drop → alert**: from the rename to the webhook POST received by a local HTTP receiver
  (a threshold rule on chl-a; the prototypes alternate between a bloom and clear water, so
  every bundle changes the alert's state);
- **exactly once**: store rows = archived = dropped, results summed over the flow runs =
  dropped, empty inboxes, no quarantine; and the backlog at each minute's end;
- **SIGTERM** (``sigterm``): the serve process is sent SIGTERM while bundles arrive; the time
  until every process it started is gone, and that each bundle is either archived *and*
  stored, or still in the inbox, and that no archive folder is incomplete.

Scenarios: ``latency`` (2 sites, one bundle every 6 s each), ``throughput`` (``--sites`` sites,
``--rate`` bundles a minute in all for ``--minutes``), ``postgres`` (the latency and a shorter
throughput run against a server on PostgreSQL, with two worker processes: initdb/pg_ctl on
127.0.0.1 in a temporary folder), ``sigterm``.
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
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SENSOR = "HSI-BENCH-SERVE"
#: Prototypes: a bloom and clear water, alternating (every bundle changes the alert's state).
WATER = (("eutrophic_lake", True), ("clear_reservoir", False))
#: Acquisition times of the simulated bundles start here (mid-morning at Taihu).
T0 = datetime(2026, 7, 1, 1, 0, tzinfo=timezone.utc)


def site_ids(n: int) -> list[str]:
    return [f"s{i:02d}" for i in range(n)]


def site_position(site: str) -> tuple[float, float]:
    """Latitude and longitude [deg] of a benchmark site (``s07``: the eighth along the shore)."""
    i = int(site[1:])
    return round(31.2 + 0.02 * i, 2), round(120.0 + 0.02 * i, 2)


def sites_toml(n: int, *, webhook: str | None = None, schedule: str = "*/5 * * * *") -> str:
    """``n`` sites around Taihu; a chl-a threshold rule and a webhook subscriber if given."""
    out = []
    for sid in site_ids(n):
        lat, lon = site_position(sid)
        out.append(f'[sites.{sid}]\nlat = {lat:.2f}\nlon = {lon:.2f}\n'
                   f'region = "taihu"\nsensor = "{SENSOR}"\nschedule = "{schedule}"\n'
                   f'expected_interval = "6 s"\n')
        if webhook:
            out.append(f'[[sites.{sid}.rules]]\nid = "chl-high"\nparam = "chl_a"\nabove = 30.0\n'
                       f'clear = 25.0\n')
    if webhook:
        out.append(f'[[subscribers]]\nname = "bench"\nchannel = "webhook"\ntarget = "{webhook}"\n')
    return "\n".join(out)


def make_prototypes(proto_dir: Path, cal_dir: Path, size: int, bands: int) -> list[Path]:
    from hsiwq.simulate import simulate_bundle

    return [simulate_bundle(proto_dir / f"p{i}", water_type=w, bloom=bloom, site="proto", time=T0,
                            sensor=SENSOR, lat=31.3, lon=120.1, shape=(size, size), n_bands=bands,
                            seed=i, calibration_dir=cal_dir, store_truth_rrs=False)
            for i, (w, bloom) in enumerate(WATER)]


class Feeder:
    """Makes bundles: hard links to a prototype's files and a fresh acquisition.json.

    ``dropped[(site, iso time)]`` is the wall time of each bundle's rename into the inbox.
    """

    def __init__(self, protos: list[Path], home: Path, sites: list[str], step_s: float = 6.0):
        self.home, self.sites, self.step_s = home, sites, step_s
        self.protos = [([f for f in p.iterdir() if f.name not in ("acquisition.json", "truth.npz")],
                        json.loads((p / "acquisition.json").read_text())) for p in protos]
        self.count = {s: 0 for s in sites}
        self.dropped: dict[tuple[str, str], float] = {}
        self.total = 0

    def arrive(self, site: str | None = None) -> Path:
        site = site or self.sites[self.total % len(self.sites)]
        k = self.count[site]
        files, meta = self.protos[k % len(self.protos)]
        t = T0 + timedelta(seconds=self.step_s * k)
        iso = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        name = t.strftime("%Y%m%dT%H%M%SZ")
        inbox = self.home / "inbox" / site
        tmp = inbox / f".incoming-{name}"
        tmp.mkdir(parents=True)
        for f in files:
            os.link(f, tmp / f.name)
        # the monitor reports its own position (the site's: the pipeline refuses a bundle
        # from farther than the site's max_distance_km)
        lat, lon = site_position(site)
        doc = dict(meta, site=site, time=iso, location={"lat": lat, "lon": lon})
        (tmp / "acquisition.json").write_text(json.dumps(doc))
        final = inbox / name
        os.rename(tmp, final)
        self.dropped[(site, iso)] = time.time()
        self.count[site] += 1
        self.total += 1
        return final


class Receiver(ThreadingHTTPServer):
    """A local webhook receiver: ``received[(site, iso time)]`` = wall time of the first POST."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: dict[tuple[str, str], float] = {}
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                self.send_response(204)
                self.end_headers()
                doc = json.loads(body)
                t = datetime.fromisoformat(doc["time"].replace("Z", "+00:00"))
                outer.posts += 1
                outer.received.setdefault((doc["site"], t.strftime("%Y-%m-%dT%H:%M:%SZ")), now)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


# --- a local PostgreSQL (initdb + pg_ctl on 127.0.0.1 in a temporary folder) ---------------
def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    raise FileNotFoundError(f"{name} not found: install PostgreSQL (Debian: apt-get install postgresql)")


@contextmanager
def local_postgres():
    """A PostgreSQL server on 127.0.0.1 for the block; yields the asyncpg URL of database
    ``prefect``. As root, the server runs as the ``postgres`` user (initdb refuses root)."""
    from flows.server import free_port

    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    work = Path(tempfile.mkdtemp(prefix="hsiwq-pg-"))
    data = work / "data"
    if as_root:
        shutil.chown(work, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True,  # noqa: E731
                                      text=True, cwd=work)
    run(_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(_pg_bin("pg_ctl"), "-D", str(data), "-l", str(work / "pg.log"), "-w", "-t", "60",
        "-o", f"-h 127.0.0.1 -p {port} -k {work} -c max_connections=200", "start")
    try:
        run(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "prefect")
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect"
    finally:
        subprocess.run([*prefix, _pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, cwd=work)
        shutil.rmtree(work, ignore_errors=True)


# --- a served workspace ---------------------------------------------------------------------
class Served:
    """``hsiwq serve`` (default flags) over a workspace; its stderr in ``log``."""

    def __init__(self, home: Path, env: dict[str, str], args: tuple[str, ...] = ()):
        self.home, self.env, self.args = home, env, args
        self.log = home / "serve.log"
        self.proc: subprocess.Popen | None = None
        self.ready_s = float("nan")
        self.family: list = []

    def start(self, timeout_s: float = 300.0) -> float:
        """Start and wait for the ready line; returns start → ready [s]."""
        t = time.monotonic()
        with open(self.log, "a") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "hsiwq", "serve", *self.args],
                                         env=self.env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        n0 = self.log.read_text().count("ready in ")
        while self.log.read_text().count("ready in ") == n0:
            if self.proc.poll() is not None or time.monotonic() - t > timeout_s:
                raise RuntimeError(f"hsiwq serve did not get ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        self.ready_s = time.monotonic() - t
        self.family = _family(self.proc.pid)
        self.ready_cpu_s = _cpu(self.family)
        return self.ready_s

    def stop(self, timeout_s: float = 60.0) -> float:
        """SIGTERM; returns the seconds until every process it started is gone."""
        import psutil

        family = _family(self.proc.pid) or self.family
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        gone, alive = psutil.wait_procs(family, timeout=timeout_s)
        took = time.monotonic() - t
        for p in alive:
            p.kill()
        self.proc.wait()
        return took if not alive else float("inf")

    def ready_line(self) -> str:
        return [ln for ln in self.log.read_text().splitlines() if ln.startswith("ready in ")][-1]


def _cpu(procs) -> float:
    """CPU seconds (user + system) used so far by these processes."""
    import psutil

    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _roles(procs) -> dict[str, float]:
    """CPU seconds so far by role: the Prefect server, the workers, serve itself (the rest)."""
    import psutil

    out = {"server": 0.0, "workers": 0.0, "serve": 0.0}
    for p in procs:
        try:
            cmd = " ".join(p.cmdline())
            t = p.cpu_times()
        except psutil.Error:
            continue
        role = ("server" if "uvicorn" in cmd or ("prefect" in cmd and "server" in cmd)
                else "workers" if "worker" in cmd else "serve")
        out[role] += t.user + t.system
    return out


def _family(pid: int) -> list:
    import psutil

    try:
        p = psutil.Process(pid)
        return [p] + p.children(recursive=True)
    except psutil.Error:
        return []


def workspace(work: Path, n_sites: int, *, webhook: str | None = None, size: int = 256,
              bands: int = 200, pg_url: str | None = None) -> tuple[Path, dict[str, str], Feeder]:
    """A fresh workspace with ``n_sites`` sites, the prototypes and a feeder; serve's env."""
    from hsiwq.workspace import bundled_calibration_dir

    home = work / "home"
    cal = home / "calibration" / "sensors"
    shutil.copytree(bundled_calibration_dir(), cal)
    (home / "sites.toml").write_text(sites_toml(n_sites, webhook=webhook))
    protos = make_prototypes(work / "proto", cal, size, bands)
    # an empty cache per scenario: its first start is a first start on this machine (the
    # server database migrated, not copied from hsiwq's cached empty schema)
    env = dict(os.environ, HSIWQ_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               HSIWQ_CACHE_DIR=str(work / "cache"))
    env.pop("PREFECT_API_URL", None)
    env.pop("PREFECT_HOME", None)
    if pg_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = pg_url
    return home, env, Feeder(protos, home, site_ids(n_sites))


def count_dirs(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(1 for site in root.iterdir() if site.is_dir()
               for b in site.iterdir() if b.is_dir() and not b.name.startswith("."))


def stored_events(home: Path) -> dict[tuple[str, str], float]:
    """Wall time of each ``acquisition_processed`` event, by (site, acquisition time)."""
    out: dict[tuple[str, str], float] = {}
    log = home / "logs" / "hsiwq.jsonl"
    for line in log.read_text().splitlines() if log.exists() else []:
        ev = json.loads(line)
        if ev.get("event") != "acquisition_processed":
            continue
        t = datetime.fromisoformat(ev["acquired"]).astimezone(timezone.utc)
        when = datetime.fromisoformat(ev["time"].replace("Z", "+00:00")).timestamp()
        out.setdefault((ev["site"], t.strftime("%Y-%m-%dT%H:%M:%SZ")), when)
    return out


def latencies(dropped: dict, done: dict) -> np.ndarray:
    return np.array([done[k] - t for k, t in dropped.items() if k in done])


def pct(xs, q) -> float:
    return float(np.percentile(xs, q)) if len(xs) else float("nan")


def feed(feeder: Feeder, home: Path, rate_per_min: float, minutes: float, *,
         say=print) -> list[int]:
    """Drop bundles round-robin at ``rate_per_min`` for ``minutes``; the backlog at each
    minute's end."""
    period = 60.0 / rate_per_min
    start = time.monotonic()
    backlog, n0 = [], feeder.total
    for minute in range(int(np.ceil(minutes))):
        m_end = start + 60.0 * min(minute + 1, minutes)
        while True:
            due = start + (feeder.total - n0) * period
            if due >= m_end:
                break
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            feeder.arrive()
        if time.monotonic() < m_end:
            time.sleep(m_end - time.monotonic())
        backlog.append(count_dirs(home / "inbox"))
        say(f"  minute {minute + 1}: {feeder.total - n0} dropped so far, backlog {backlog[-1]}, "
            f"archived {count_dirs(home / 'archive')}")
    return backlog


def drain(home: Path, timeout_s: float = 180.0) -> float:
    t = time.monotonic()
    while count_dirs(home / "inbox") and time.monotonic() - t < timeout_s:
        time.sleep(0.2)
    time.sleep(1.0)  # the last run's events and alerts
    return time.monotonic() - t


def exactly_once(home: Path, feeder: Feeder) -> dict[str, int | bool]:
    """Store rows, archived, quarantined, inbox, results over the runs, against the dropped."""
    from hsiwq.store import SiteStore
    from hsiwq.workspace import Workspace

    ws = Workspace(home)
    rows = sum(SiteStore(ws.store_path(s)).read(with_rrs=False).sizes["time"]
               for s in feeder.sites if ws.store_path(s).exists())
    rec = home / "prefect" / "worker-runs.jsonl"
    results = sum(json.loads(ln)["results"] for ln in rec.read_text().splitlines()) if rec.exists() else -1
    out = {"dropped": feeder.total, "rows": rows, "archived": count_dirs(home / "archive"),
           "results": results, "quarantined": count_dirs(home / "quarantine"),
           "inbox": count_dirs(home / "inbox")}
    out["ok"] = (rows == out["archived"] == results == feeder.total and not out["quarantined"]
                 and not out["inbox"])
    return out


def database_locked(home: Path) -> int:
    log = home / "prefect" / "server.log"
    return log.read_text(errors="replace").count("database is locked") if log.exists() else 0


# --- scenarios ------------------------------------------------------------------------------
def scenario_latency(work: Path, args, *, pg_url: str | None = None, label: str = "SQLite",
                     serve_args: tuple[str, ...] = ()) -> dict:
    """Two sites, one bundle every 6 s each; start → ready, drop → stored, drop → alert."""
    rx = Receiver()
    home, env, feeder = workspace(work, 2, webhook=rx.url, size=args.size, bands=args.bands,
                                  pg_url=pg_url)
    served = Served(home, env, serve_args)
    first = served.start()
    first_cpu = served.ready_cpu_s
    print(f"[{label}] start → ready, fresh workspace: {first:.1f} s ({first_cpu:.1f} CPU-s, load "
          f"average {os.getloadavg()[0]:.1f})\n  {served.ready_line()}", flush=True)
    backlog = feed(feeder, home, 20.0, args.latency_minutes)
    drain(home)
    stop_s = served.stop()
    again = served.start()
    print(f"[{label}] start → ready, restart: {again:.1f} s ({served.ready_cpu_s:.1f} CPU-s); "
          f"SIGTERM → all gone: {stop_s:.1f} s", flush=True)
    stop2 = served.stop()
    # another new workspace on the same machine: its database from the cached empty schema
    home2 = work / "home2"
    home2.mkdir()
    shutil.copytree(home / "calibration", home2 / "calibration")
    shutil.copy(home / "sites.toml", home2 / "sites.toml")
    other = Served(home2, dict(env, HSIWQ_HOME=str(home2)), serve_args)
    second = other.start()
    stop3 = other.stop()
    how = "the same PostgreSQL database" if pg_url else "schema cached"
    print(f"[{label}] start → ready, another fresh workspace ({how}): {second:.1f} s "
          f"({other.ready_cpu_s:.1f} CPU-s)", flush=True)
    lat = latencies(feeder.dropped, stored_events(home))
    alert = latencies(feeder.dropped, rx.received)
    once = exactly_once(home, feeder)
    out = {"label": label, "ready_first_s": first, "ready_restart_s": again, "ready_fresh_cached_s": second,
           "stop_s": max(stop_s, stop2, stop3),
           "stored_p50": pct(lat, 50), "stored_p95": pct(lat, 95), "stored_max": float(np.max(lat)) if len(lat) else float("nan"),
           "alert_p50": pct(alert, 50), "alert_p95": pct(alert, 95), "alerts": len(alert),
           "n": len(lat), "backlog": backlog, "locked": database_locked(home), **once}
    print(f"[{label}] 2 sites × one bundle / 6 s: drop → stored p50 {out['stored_p50']:.2f} s, "
          f"p95 {out['stored_p95']:.2f} s, max {out['stored_max']:.2f} s (n {len(lat)}); "
          f"drop → webhook p50 {out['alert_p50']:.2f} s, p95 {out['alert_p95']:.2f} s "
          f"({len(alert)} alerts); exactly once {once}; 'database is locked' {out['locked']}",
          flush=True)
    rx.shutdown()
    return out


def scenario_throughput(work: Path, args, *, pg_url: str | None = None, label: str = "SQLite",
                        minutes: float | None = None, serve_args: tuple[str, ...] = ()) -> dict:
    """``--sites`` sites, ``--rate`` a minute for ``minutes``: latency, backlog, exactly once."""
    import psutil

    minutes = args.minutes if minutes is None else minutes
    home, env, feeder = workspace(work, args.sites, size=args.size, bands=args.bands, pg_url=pg_url)
    served = Served(home, env, serve_args)
    ready = served.start()
    print(f"[{label}] {args.sites} sites, {args.rate:g}/min for {minutes:g} min; ready in "
          f"{ready:.1f} s ({served.ready_cpu_s:.1f} CPU-s); load average {os.getloadavg()[0]:.1f}",
          flush=True)
    fam = _family(served.proc.pid)
    cpu0, roles0 = _cpu(fam), _roles(fam)
    t = time.monotonic()
    backlog = feed(feeder, home, args.rate, minutes)
    wall = time.monotonic() - t
    cpu = _cpu(fam) - cpu0
    roles = {k: v - roles0[k] for k, v in _roles(fam).items()}
    drained = drain(home)
    stop_s = served.stop()
    lat = latencies(feeder.dropped, stored_events(home))
    once = exactly_once(home, feeder)
    out = {"label": label, "ready_s": ready, "stored_p50": pct(lat, 50), "stored_p95": pct(lat, 95),
           "stored_max": float(np.max(lat)) if len(lat) else float("nan"), "n": len(lat), "backlog": backlog,
           "drained_s": drained, "stop_s": stop_s, "cores": cpu / wall, "locked": database_locked(home),
           "load": os.getloadavg()[0], "cpu_per_bundle": {k: v / max(feeder.total - (backlog[-1] if backlog else 0), 1)
                               for k, v in roles.items()},
           **once}
    print(f"[{label}] drop → stored p50 {out['stored_p50']:.2f} s, p95 {out['stored_p95']:.2f} s, "
          f"max {out['stored_max']:.2f} s (n {len(lat)}); backlog at minute ends {backlog}; "
          f"drained {drained:.1f} s after the last drop; serve's processes used {out['cores']:.2f} "
          f"cores; SIGTERM → gone {stop_s:.1f} s; exactly once {once}; 'database is locked' "
          f"{out['locked']}; load average {out['load']:.1f} (psutil {psutil.__version__})", flush=True)
    print(f"[{label}] CPU-s per bundle processed while feeding: " + ", ".join(
        f"{k} {v:.2f}" for k, v in out["cpu_per_bundle"].items()), flush=True)
    return out


def scenario_sigterm(work: Path, args) -> dict:
    """SIGTERM while bundles arrive: all gone in time, each bundle archived+stored or in the inbox."""
    from hsiwq.io.bundle import META_FILE

    home, env, feeder = workspace(work, 2, size=args.size, bands=args.bands)
    served = Served(home, env)
    served.start()
    stop = threading.Event()

    def drop() -> None:
        while not stop.is_set():
            feeder.arrive()
            stop.wait(0.25)

    th = threading.Thread(target=drop, daemon=True)
    th.start()
    time.sleep(15)
    took = served.stop()
    stop.set()
    th.join()
    stored = set(stored_events(home))
    archived = {(s, p.name) for s in feeder.sites for p in (home / "archive" / s).glob("*")}
    inbox = {(s, p.name) for s in feeder.sites for p in (home / "inbox" / s).glob("[!.]*")}
    incomplete = [p for s in feeder.sites for p in (home / "archive" / s).glob("*")
                  if not (p / META_FILE).exists() or not (p / "water.raw").exists()]
    names = {(s, datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y%m%dT%H%M%SZ")): (s, iso)
             for s, iso in feeder.dropped}
    lost = [k for k in names if k not in archived and k not in inbox]
    archived_not_stored = [k for k in archived if names[k] not in stored]
    out = {"stop_s": took, "dropped": feeder.total, "archived": len(archived), "inbox": len(inbox),
           "lost": len(lost), "archived_not_stored": len(archived_not_stored),
           "incomplete": len(incomplete), "ok": took <= 15 and not lost and not archived_not_stored
           and not incomplete}
    print(f"[SIGTERM] all processes gone {took:.1f} s after SIGTERM; {out}", flush=True)
    return out


#: The PostgreSQL runs: two worker processes (two runs at once each).
TWO = ("--workers", "2", "--limit", "2")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", nargs="+", default=["all"],
                    choices=["all", "latency", "throughput", "postgres", "sigterm"])
    ap.add_argument("--minutes", type=float, default=10.0, help="throughput run [min]")
    ap.add_argument("--latency-minutes", type=float, default=2.0)
    ap.add_argument("--pg-minutes", type=float, default=3.0, help="throughput run on PostgreSQL [min]")
    ap.add_argument("--sites", type=int, default=20)
    ap.add_argument("--rate", type=float, default=120.0, help="bundles per minute, all sites")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--bands", type=int, default=200)
    ap.add_argument("--dir", help="work folder, kept (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    todo = {"latency", "throughput", "postgres", "sigterm"} if "all" in args.scenario else set(args.scenario)
    print(f"hsiwq serve benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="hsiwq-bench-serve-"))
    if args.dir and base.exists():
        shutil.rmtree(base)
    results = []
    try:
        for name in ("latency", "sigterm", "postgres", "throughput"):
            if name not in todo:
                continue
            work = base / name
            work.mkdir(parents=True)
            if name == "latency":
                results.append(scenario_latency(work, args))
            elif name == "sigterm":
                results.append(scenario_sigterm(work, args))
            elif name == "throughput":
                results.append(scenario_throughput(work, args))
            else:
                with local_postgres() as url:
                    results.append(scenario_latency(work / "latency", args, pg_url=url,
                                                    label="PostgreSQL, 2 workers", serve_args=TWO))
                with local_postgres() as url:
                    results.append(scenario_throughput(work / "throughput", args, pg_url=url,
                                                       label="PostgreSQL, 2 workers",
                                                       minutes=args.pg_minutes, serve_args=TWO))
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
