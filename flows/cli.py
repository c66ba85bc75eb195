"""CLI commands that run the Prefect flows (plugged into ``hsiwq`` by entry points)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

import hsiwq
from hsiwq.inbox import site_locations

SAMPLES = Path(hsiwq.__file__).resolve().parent.parent / "sample_cubes"


def _run_flow(ws, site_id: str, config_file: str | None):
    from .env import configure_prefect

    configure_prefect(ws)
    from .site import process_site

    return process_site(site_id, str(ws.root), config_file)


@click.command("run-site")
@click.option("--site", "sites", multiple=True, required=True, help="Site id (repeatable).")
@click.pass_obj
def run_site(obj, sites: tuple[str, ...]) -> None:
    """Process the new bundles in each SITE's inbox under the Prefect flow (embedded mode)."""
    from hsiwq.tables import results_table

    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()
    for s in sites:
        config.site(s, where=cfg_file)
    results = []
    for s in sites:
        results += _run_flow(ws, s, str(cfg_file))
    results_table(results, file=sys.stdout)


@click.command("demo")
@click.option("--samples", "samples_dir", type=click.Path(exists=True, file_okay=False),
              default=str(SAMPLES), show_default=True, help="Sample bundles, one folder per site.")
@click.pass_obj
def demo(obj, samples_dir: str) -> None:
    """Process the sample cubes of both sample sites under the Prefect flow.

    Copies each site's sample bundles into its inbox in the workspace, runs the site's flow,
    and prints the parameters, the alerts sent and where the store is.
    """
    from hsiwq.tables import alerts_table, results_table

    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()
    samples = Path(samples_dir)
    sites = sorted(p.name for p in samples.iterdir() if p.is_dir() and p.name in config.sites)
    if not sites:
        raise click.ClickException(f"{samples}: no sample folder matches a configured site "
                                   f"({', '.join(config.sites)})")
    click.echo(f"workspace: {ws.root}")
    results = []
    for site_id in sites:
        inbox = site_locations(config.sites[site_id], config, ws).inbox
        for bundle in sorted(p for p in (samples / site_id).iterdir() if p.is_dir()):
            _deliver(bundle, inbox)
        click.echo(f"running flow process-site for {site_id} ...")
        results += _run_flow(ws, site_id, str(cfg_file))
    results_table(results, file=sys.stdout)
    sent = []
    for sub in config.subscribers:
        if sub.channel == "file":
            target = Path(sub.target) if Path(sub.target).is_absolute() else ws.root / sub.target
            if target.is_file():
                sent += [json.loads(line) for line in target.read_text().splitlines() if line]
    alerts_table(sent, file=sys.stdout)
    for site_id in sites:
        click.echo(f"store: {site_locations(config.sites[site_id], config, ws).store}")


def _deliver(bundle: Path, inbox) -> None:
    """Copy a sample bundle (without the simulator's truth) into a site's inbox, local or not."""
    files = [f for f in sorted(bundle.iterdir()) if f.is_file() and f.name != "truth.npz"]
    if inbox.local:
        dest = inbox.path / bundle.name
        dest.mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy2(f, dest / f.name)
        return
    fs, base = inbox.fs, f"{inbox.fs_path}/{bundle.name}"
    for f in sorted(files, key=lambda f: f.name == "acquisition.json"):  # the JSON last
        fs.put_file(str(f), f"{base}/{f.name}")


@click.command("serve")
@click.option("--limit", type=int, default=4, show_default=True,
              help="Most flow runs at once across all sites.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Run the sites' deployments in a work pool served by this many worker "
                   "processes (`hsiwq worker`) instead of from this process.")
@click.option("--pool", default="hsiwq-local", show_default=True,
              help="Work pool used with --workers.")
@click.pass_obj
def serve(obj, limit: int, workers: int, pool: str) -> None:
    """Serve one scheduled deployment per configured site until stopped (Ctrl-C / SIGTERM).

    Uses the Prefect API at PREFECT_API_URL when set; otherwise starts a local Prefect
    server (SQLite in <home>/prefect, loopback only) and stops it on exit. With --workers N,
    registers the deployments in a work pool and starts N worker processes (stopped on exit).
    """
    import os
    import signal

    from .env import configure_prefect
    from .server import local_server

    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()
    if workers < 0:
        raise click.BadParameter("must be ≥ 0", param_hint="--workers")

    def _stop(signum, frame):  # SIGTERM → the same clean shutdown as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    configure_prefect(ws, quiet=not obj.debug)
    run = _serve_pool if workers else _serve
    extra = {"workers": workers, "pool": pool, "debug": obj.debug} if workers else {}
    if os.environ.get("PREFECT_API_URL"):
        run(config, ws, cfg_file, limit, os.environ["PREFECT_API_URL"], **extra)
        return
    with local_server(ws.prefect_home, lean=bool(workers)) as url:
        run(config, ws, cfg_file, limit, url, **extra)


def _serve(config, ws, cfg_file, limit: int, url: str) -> None:
    import os

    os.environ["PREFECT_API_URL"] = url
    from .serve import serve_sites

    click.echo(f"serving {len(config.sites)} site(s) against {url}: "
               + ", ".join(f"{s.id} ({s.schedule})" for s in config.sites.values()), err=True)
    try:
        serve_sites(config, str(ws.root), str(cfg_file), limit=limit)
    except KeyboardInterrupt:
        pass
    click.echo("stopped", err=True)


def _serve_pool(config, ws, cfg_file, limit: int, url: str, *, workers: int, pool: str,
                debug: bool) -> None:
    """Deployments in a work pool, served by ``workers`` `hsiwq worker` subprocesses."""
    import os
    import signal
    import subprocess
    import time

    os.environ["PREFECT_API_URL"] = url
    from .pool import deploy_sites

    deploy_sites(config, str(ws.root), str(cfg_file), pool=pool, limit=limit)
    click.echo(f"{len(config.sites)} site deployment(s) in work pool {pool!r} on {url}, "
               f"{workers} worker(s); logs in {ws.prefect_home}", err=True)
    env = dict(os.environ, HSIWQ_HOME=str(ws.root), PREFECT_API_URL=url)
    procs = []
    try:
        for i in range(workers):
            log = open(ws.prefect_home / f"worker-{i + 1}.log", "ab")
            cmd = [sys.executable, "-m", "hsiwq", *(["--debug"] if debug else []),
                   "--config", str(cfg_file), "worker", "--pool", pool,
                   "--name", f"{pool}-{os.getpid()}-{i + 1}",
                   "--record", str(ws.prefect_home / "worker-runs.jsonl")]
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
            log.close()
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        failed = [i + 1 for i, p in enumerate(procs) if p.poll() is not None]
        click.echo(f"worker(s) {failed} exited; see {ws.prefect_home}/worker-*.log", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 120  # runs in flight finish first
        for p in procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    click.echo("stopped", err=True)


def _need_api() -> str:
    import os

    url = os.environ.get("PREFECT_API_URL")
    if not url:
        raise click.ClickException(
            "PREFECT_API_URL is not set: this command needs a Prefect server "
            "(e.g. `prefect server start`, then PREFECT_API_URL=http://HOST:4200/api); "
            "`hsiwq serve --workers N` starts a local one")
    return url


@click.command("deploy")
@click.option("--pool", default="hsiwq", show_default=True, help="Work pool (created if missing).")
@click.option("--limit", type=int, default=None,
              help="Most flow runs at once in the pool, all sites (default: unchanged; none "
                   "for a new pool).")
@click.pass_obj
def deploy(obj, pool: str, limit: int | None) -> None:
    """Register one deployment per configured site in a work pool on PREFECT_API_URL.

    Each runs the site's flow on the site's schedule, one run of a site at a time; deployments
    of sites no longer configured are removed. Start `hsiwq worker --pool POOL` to run them.
    """
    from .env import configure_prefect

    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()
    configure_prefect(ws, quiet=not obj.debug)
    url = _need_api()
    from .pool import deploy_sites

    ids = deploy_sites(config, str(ws.root), str(cfg_file), pool=pool, limit=limit)
    for site_id, dep_id in ids.items():
        click.echo(f"site-{site_id}\t{config.sites[site_id].schedule}\t{dep_id}")
    click.echo(f"{len(ids)} deployment(s) in work pool {pool!r} on {url}", err=True)


@click.command("worker")
@click.option("--pool", default="hsiwq", show_default=True, help="Work pool to serve.")
@click.option("--limit", type=int, default=2, show_default=True,
              help="Flow runs at once in this worker (threads of this process).")
@click.option("--name", default=None, help="Worker name (default hsiwq-<host>-<pid>).")
@click.option("--poll", type=float, default=2.0, show_default=True,
              help="Seconds between queries for scheduled runs.")
@click.option("--record", type=click.Path(dir_okay=False), default=None,
              help="Append one JSON line per executed flow run to this file.")
@click.pass_obj
def worker(obj, pool: str, limit: int, name: str | None, poll: float, record: str | None) -> None:
    """Run the flow runs of a work pool in this process until stopped (Ctrl-C / SIGTERM).

    Flows are loaded once and each run executes in a thread of this process, so Prefect's
    cost per run is small. The workspace (HSIWQ_HOME) must be the one the deployments name.
    On SIGTERM the runs in flight finish first.
    """
    from .env import configure_prefect

    if limit < 1:
        raise click.BadParameter("must be ≥ 1", param_hint="--limit")
    ws = obj.workspace().ensure()
    configure_prefect(ws, quiet=not obj.debug)
    _need_api()
    from .worker import run_worker

    run_worker(pool, name=name, limit=limit, poll_s=poll, prefetch_s=max(poll, 1.0),
               record=record, printer=lambda m: click.echo(m, err=True))
