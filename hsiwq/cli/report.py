"""The ``report`` and ``dashboard`` commands."""

from __future__ import annotations

import dataclasses
import os
import sys
from datetime import datetime

import click

from ..errors import ConfigError
from .options import progress, time_value

TOKEN_ENV = "HSIWQ_DASHBOARD_TOKEN"
MIN_TOKEN_LENGTH = 16


def _when(option: str, text: str | None, *, end: bool = False) -> datetime | None:
    """An ISO date or time (UTC when it has no offset); a bare date as an end means its last second."""
    return time_value(text, option, end=end)


@click.command()
@click.option("--site", "sites", multiple=True, required=True, metavar="SITE",
              help="Site to report on; repeat it to compare sites side by side.")
@click.option("--start", metavar="TIME", help="Start of the period (ISO 8601, UTC); default: "
                                             "7 days before its end, or the first record.")
@click.option("--end", metavar="TIME", help="End of the period (ISO 8601, UTC; a bare date "
                                           "includes that whole day); default: the newest record.")
@click.option("--compare-period", "periods", type=(str, str), multiple=True, metavar="START END",
              help="Another period of the (one) site, shown side by side; repeatable.")
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              metavar="FILE", help="The HTML file to write.")
@click.option("--title", default=None, help="Title of the report.")
@click.option("--map-time", metavar="TIME", help="Also show the parameter maps nearest this time.")
@click.pass_obj
def report(obj, sites, start, end, periods, out, title, map_time) -> None:
    """Write a self-contained HTML report of one or more sites (or periods) to FILE.

    It holds each parameter's time series with the site's alert levels and the GB 3838
    class bands, the trophic level index, the latest maps (or ROI spectra), the latest Rrs
    spectra with their QC, the alert timeline, data completeness and the models in service.
    """
    from ..report import Period, build_report, write_report

    if periods and len(sites) != 1:
        raise click.UsageError("--compare-period compares periods of one site: give one --site")
    if len(set(sites)) != len(sites):
        raise click.UsageError("each --site once")
    config, cfg_file = obj.load_config()
    t0, t1 = _when("--start", start), _when("--end", end, end=True)
    if periods:
        fmt = "%Y-%m-%d %H:%M"
        cols = [Period(sites[0], t0, t1, label=_period_label(sites[0], t0, t1, start, end))]
        for i, (a, b) in enumerate(periods, 1):
            pa, pb = _when(f"--compare-period #{i}", a), _when(f"--compare-period #{i}", b, end=True)
            cols.append(Period(sites[0], pa, pb, label=f"{sites[0]} · {pa:{fmt}} – {pb:{fmt}}"))
    else:
        cols = [Period(s, t0, t1) for s in sites]
    if map_time:
        cols = [dataclasses.replace(c, map_time=_when("--map-time", map_time)) for c in cols]
    with progress(f"building the report of {', '.join(c.label or c.site for c in cols)}"):
        html = build_report(obj.workspace(), config, cols, title=title, config_file=cfg_file)
    path = write_report(html, out)
    click.echo(f"wrote {path} ({len(html.encode()) / 1e6:.1f} MB) for {', '.join(c.label or c.site for c in cols)}")


def _period_label(site: str, t0, t1, start, end) -> str:
    fmt = "%Y-%m-%d %H:%M"
    if start is None and end is None:
        return f"{site} · latest"
    a = f"{t0:{fmt}}" if t0 else "…"
    b = f"{t1:{fmt}}" if t1 else "newest"
    return f"{site} · {a} – {b}"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs a token.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port).")
@click.option("--token", default=None, metavar="TOKEN",
              help=f"Require this token on every request (default ${TOKEN_ENV}); mandatory "
                   f"off loopback, at least {MIN_TOKEN_LENGTH} characters.")
@click.pass_obj
def dashboard(obj, host, port, token) -> None:
    """Serve a small read-only web dashboard of the sites, their alerts and reports."""
    from ..dashboard import Dashboard, is_loopback, serve

    token = token or os.environ.get(TOKEN_ENV) or None
    loopback = is_loopback(host)
    if not loopback and not token:
        raise ConfigError("--host", f"serving on {host!r} (beyond loopback) needs a token: give "
                                    f"--token or set {TOKEN_ENV}")
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError("--token", f"too short: use at least {MIN_TOKEN_LENGTH} characters "
                                     "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')")
    ws = obj.workspace()
    # matplotlib keeps its font cache in the workspace, so the dashboard writes nowhere else
    os.environ.setdefault("MPLCONFIGDIR", str(ws.root / "cache" / "matplotlib"))
    config, cfg_file = obj.load_config()  # fail now, not on the first request
    del config
    app = Dashboard(ws, obj.config or None, token=token, loopback=loopback)

    def ready(server) -> None:
        auth = " (token required)" if token else ""
        click.echo(f"hsiwq dashboard: serving {server.url}{auth} over {ws.root} "
                   f"(read-only; reports rendered into {app.reports_dir}); Ctrl-C stops it")
        sys.stdout.flush()

    try:
        serve(app, host, port, ready=ready)
    except OSError as exc:
        raise ConfigError(f"{host}:{port}", f"cannot listen: {exc.strerror or exc}") from None


COMMANDS = [report, dashboard]
