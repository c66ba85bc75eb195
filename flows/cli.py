"""CLI commands that run the Prefect flows (plugged into ``hsiwq`` by entry points)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

import hsiwq

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
        inbox = ws.inbox(site_id)
        inbox.mkdir(parents=True, exist_ok=True)
        for bundle in sorted(p for p in (samples / site_id).iterdir() if p.is_dir()):
            shutil.copytree(bundle, inbox / bundle.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("truth.npz"))
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
        click.echo(f"store: {ws.store_path(site_id)}")


@click.command("serve")
@click.option("--limit", type=int, default=4, show_default=True,
              help="Most flow runs at once across all sites.")
@click.pass_obj
def serve(obj, limit: int) -> None:
    """Serve one scheduled deployment per configured site until stopped (Ctrl-C / SIGTERM).

    Uses the Prefect API at PREFECT_API_URL when set; otherwise starts a local Prefect
    server (SQLite in <home>/prefect, loopback only) and stops it on exit.
    """
    import os
    import signal

    from .env import configure_prefect
    from .server import local_server

    ws = obj.workspace().ensure()
    config, cfg_file = obj.load_config()

    def _stop(signum, frame):  # SIGTERM → the same clean shutdown as Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    configure_prefect(ws, quiet=not obj.debug)
    if os.environ.get("PREFECT_API_URL"):
        _serve(config, ws, cfg_file, limit, os.environ["PREFECT_API_URL"])
        return
    with local_server(ws.prefect_home) as url:
        _serve(config, ws, cfg_file, limit, url)


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
