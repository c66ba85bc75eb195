"""CLI commands that run the Prefect flows (plugged into ``hsiwq`` by entry points)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

import hsiwq
from hsiwq.cli.options import FORMATS, chosen_format, format_option, write_results
from hsiwq.inbox import site_locations

SAMPLES = Path(hsiwq.__file__).resolve().parent.parent / "sample_cubes"


def _run_flow(ws, site_id: str, config_file: str | None):
    from .env import configure_prefect

    configure_prefect(ws)
    from .site import process_site

    return process_site(site_id, str(ws.root), config_file)


@click.command("run-site")
@click.option("--site", "sites", multiple=True, required=True, help="Site id (repeatable).")
@format_option(FORMATS)
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Output file of the results (default: standard output; required for parquet "
                   "and netcdf).")
@click.pass_obj
def run_site(obj, sites: tuple[str, ...], fmt: str, as_json: bool, out: str | None) -> None:
    """Process the new bundles in each SITE's inbox under the Prefect flow (embedded mode)."""
    fmt = chosen_format(fmt, as_json, out)
    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()
    for s in sites:
        config.site(s, where=cfg_file)
    results = []
    for s in sites:
        results += _run_flow(ws, s, str(cfg_file))
    write_results(results, fmt, out)


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
@click.option("--workers", type=int, default=None,
              help="Long-lived worker processes running the sites' flow runs (default: one per "
                   "CPU core, at most 4: a worker's Python runs on one core at a time).")
@click.option("--limit", type=int, default=4, show_default=True,
              help="Flow runs at once in each worker (threads).")
@click.option("--pool", default="hsiwq-local", show_default=True, help="Work pool of the sites.")
@click.option("--poll", type=float, default=5.0, show_default=True,
              help="Seconds between the workers' queries for due runs (a run started on "
                   "arrival is asked for at once).")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Start a site's run as soon as a bundle arrives in its inbox (else only on "
                   "the site's schedule).")
@click.option("--dashboard-port", type=int, default=8765, show_default=True,
              help="Port of the read-only dashboard on 127.0.0.1 (another one when taken; "
                   "0: no dashboard).")
@click.pass_obj
def serve(obj, workers: int | None, limit: int, pool: str, poll: float, watch: bool,
          dashboard_port: int) -> None:
    """Serve every configured site until stopped (Ctrl-C / SIGTERM).

    Starts a local Prefect server (SQLite in <home>/prefect, loopback only; or the database in
    PREFECT_API_DATABASE_CONNECTION_URL) unless PREFECT_API_URL names one, one deployment per
    site in a work pool (the site's schedule as a safety net), long-lived worker processes
    that keep the library loaded, and an inbox watcher that starts a site's run as soon as a
    bundle arrives. Everything it started stops with it.
    """
    import os
    import signal
    import threading
    import time

    from .env import configure_prefect

    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))
    if workers < 1:
        raise click.BadParameter("must be ≥ 1", param_hint="--workers")
    if limit < 1:
        raise click.BadParameter("must be ≥ 1", param_hint="--limit")
    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()
    stop, ready = threading.Event(), threading.Event()

    def on_signal(signum, frame):
        stop.set()
        if not ready.is_set():  # still starting: undo the start at once
            raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    configure_prefect(ws, quiet=not obj.debug)
    t0 = time.monotonic()
    click.echo(f"hsiwq serve: {len(config.sites)} site(s) from {cfg_file}, workspace {ws.root}",
               err=True)
    server = None
    if not os.environ.get("PREFECT_API_URL"):  # before Prefect is imported: it reads it once
        from .server import LocalServer, database_kind

        click.echo(f"[{0.0:5.1f} s] starting the local Prefect server ({database_kind()}, "
                   f"home {ws.prefect_home}, 127.0.0.1 only)", err=True)
        server = LocalServer(ws.prefect_home, lean=True, ui=True)
        os.environ["PREFECT_API_URL"] = server.url
        # plain http on loopback: no certificate store to load for each API client (≈ 0.1 s
        # of CPU per client, one per flow run); the environment wins
        os.environ.setdefault("PREFECT_API_TLS_INSECURE_SKIP_VERIFY", "true")
    try:
        from .serve import serve_sites

        serve_sites(config, ws, str(cfg_file), server=server, t0=t0, workers=workers, limit=limit,
                    pool=pool, poll_s=poll, watch=watch, dashboard_port=dashboard_port or None,
                    debug=obj.debug, say=lambda m: click.echo(m, err=True), stop=stop,
                    ready=ready)
    except KeyboardInterrupt:
        click.echo("stopped during the start", err=True)
    finally:
        if server is not None:
            server.stop(3.0)
    if server is not None:
        # Prefect's exit handlers would try to deliver this process's pending events to the
        # server just stopped, retrying for a long while: everything is stopped, so leave now
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


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
@click.option("--warm", is_flag=True,
              help="Load calibrations and the sites' models before taking runs.")
@click.option("--wait-api", type=float, default=0.0,
              help="Seconds to wait for PREFECT_API_URL to answer before starting.")
@click.option("--wake", type=click.Path(dir_okay=False), default=None,
              help="A dispatcher's record (hsiwq serve's prefect/dispatch.jsonl): ask for due "
                   "runs as soon as it says a run was created, besides every --poll seconds.")
@click.pass_obj
def worker(obj, pool: str, limit: int, name: str | None, poll: float, record: str | None,
           warm: bool, wait_api: float, wake: str | None) -> None:
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

    warm_up = None
    if warm:
        from .site import warm_up as _warm

        cfg = str(obj.load_config()[1])
        warm_up = lambda: _warm(str(ws.root), cfg)  # noqa: E731
    run_worker(pool, name=name, limit=limit, poll_s=poll, prefetch_s=max(poll, 1.0),
               record=record, warm=warm_up, wait_api_s=wait_api, wake=wake,
               printer=lambda m: click.echo(m, err=True))
