"""``hsiwq alerts list|ack|silence|history|check``: operate the alerts of a workspace."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime, timezone

import click

from ..errors import ConfigError
from ..timeutil import EXAMPLES, parse_time
from .options import chosen_format, format_option, write_rows


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _when(text: str | None, option: str) -> datetime | None:
    """An ISO time, or a duration meaning that long ago (``24h``)."""
    if text is None:
        return None
    from ..alerts.admin import parse_duration

    try:
        return datetime.now(timezone.utc) - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_time(text)
    except ValueError:
        raise ConfigError(option, f"{text!r} is neither an ISO time nor a duration such as 24h "
                                  f"(e.g. {EXAMPLES} or 24h)") from None


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[escape(str(x)) if x is not None else "–" for x in r])
    Console(file=sys.stdout, width=160).print(table)


def _site(obj, site: str | None):
    config, cfg_file = obj.load_config()
    if site is not None:
        config.site(site, where=cfg_file)
    return config, cfg_file


@click.group("alerts")
def alerts() -> None:
    """Alert state, acknowledgements, silences and history."""


@alerts.command("list")
@click.option("--site", help="Only this site.")
@click.option("--all", "show_all", is_flag=True, help="Also inactive and resolved alerts.")
@format_option(("table", "csv", "json"))
@click.pass_obj
def list_cmd(obj, site: str | None, show_all: bool, fmt: str, as_json: bool) -> None:
    """Pending and firing alerts, active silences, and undelivered notifications."""
    from ..alerts import admin

    _site(obj, site)
    ws = obj.workspace()
    rows = admin.list_alerts(ws, site=site, include_inactive=show_all)
    silences = [s for s in admin.list_silences(ws) if site is None or s.site in (site, "*")]
    queued = admin.outbox_status(ws)
    fmt = chosen_format(fmt, as_json)
    if fmt == "json":
        click.echo(json.dumps({"alerts": rows, "silences": [vars(s) for s in silences],
                               "undelivered": queued}, ensure_ascii=False, indent=1))
        return
    if fmt == "csv":  # the alerts (silences and the outbox are in the table and JSON forms)
        write_rows(rows, "csv", columns=list(rows[0]) if rows else ["site", "rule", "status"])
        return
    if not rows:
        click.echo("no pending or firing alerts" + (f" at {site}" if site else ""))
    else:
        _table("Alerts", ["site", "rule", "status", "severity", "since (UTC)", "value", "ack", "silenced"],
               [[r["site"], r["rule"], r["status"], r["severity"], (r["since"] or "")[:16],
                 "–" if r["value"] is None else f"{r['value']:.4g}",
                 f"{r['acked_by']} {r['acked_at'][:16]}" if r["acked_by"] else "",
                 r["silenced_by"] or ""] for r in rows])
    if silences:
        _table("Silences", ["id", "site", "rule", "until (UTC)", "by", "reason"],
               [[s.id, s.site, s.rule, s.ends[:16], s.created_by, s.reason] for s in silences])
    if queued:
        _table("Undelivered notifications", ["subscriber", "channel", "site", "attempts", "next attempt", "last error"],
               [[q["subscriber"], q["channel"], q["site"], q["attempts"], q["next_attempt"][:19],
                 q["last_error"] or "queued"] for q in queued])


@alerts.command("ack")
@click.argument("site")
@click.argument("rule")
@click.option("--by", default=_user, show_default="current user", help="Who acknowledges.")
@click.option("-m", "--comment", default="", help="What is being done about it.")
@click.pass_obj
def ack_cmd(obj, site: str, rule: str, by: str, comment: str) -> None:
    """Acknowledge the firing alert RULE at SITE: no more repeats until it resolves."""
    from ..alerts import admin

    _site(obj, site)
    st = admin.ack(obj.workspace(), site, rule, by=by, comment=comment)
    click.echo(f"acknowledged {site}/{rule} (firing since {st.since}) by {by}")


@alerts.command("silence")
@click.argument("site", required=False)
@click.argument("rule", required=False, default="*")
@click.option("--for", "duration", metavar="DURATION", help="How long, e.g. 30m, 2h, 1d.")
@click.option("--until", metavar="TIME", help="Until this ISO time (UTC unless it says).")
@click.option("-m", "--reason", default="", help="Why (shown in 'alerts list').")
@click.option("--by", default=_user, show_default="current user")
@click.option("--remove", metavar="ID", help="End the silence ID now instead.")
@click.pass_obj
def silence_cmd(obj, site: str | None, rule: str, duration: str | None, until: str | None,
                reason: str, by: str, remove: str | None) -> None:
    """Mute notifications of RULE (default: all rules; shell patterns allowed) at SITE
    (or '*') for a while. Alerts keep being evaluated and logged."""
    from ..alerts import admin

    ws = obj.workspace()
    if remove:
        s = admin.remove_silence(ws, remove, by=by)
        click.echo(f"silence {s.id} ({s.site}/{s.rule}) ended")
        return
    if site is None:
        raise click.UsageError("give SITE (or '*'), or --remove ID")
    if (duration is None) == (until is None):
        raise click.UsageError("give exactly one of --for or --until")
    config, cfg_file = obj.load_config()
    known = None
    if site != "*":
        if site not in config.sites:
            config.site(site, where=cfg_file)
        known = [r.rule_id for r in config.sites[site].rules]
    if duration is not None:
        try:
            ends = datetime.now(timezone.utc) + admin.parse_duration(duration)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--for") from None
    else:
        ends = _when(until, "--until")  # type: ignore[assignment]
        if until and admin._DURATION.match(until):
            raise click.BadParameter("give an ISO time (or use --for)", param_hint="--until")
    s = admin.add_silence(ws, site, rule, ends=ends, by=by, reason=reason, known_rules=known)
    click.echo(f"silence {s.id}: {site}/{rule} until {s.ends}")


@alerts.command("history")
@click.option("--site", help="Only this site.")
@click.option("--rule", help="Only this rule.")
@click.option("--since", metavar="TIME", help="ISO time or a duration back from now (24h, 7d).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@format_option(("table", "csv", "json", "jsonl"))
@click.pass_obj
def history_cmd(obj, site: str | None, rule: str | None, since: str | None, limit: int, fmt: str,
                as_json: bool) -> None:
    """Alert changes, notifications suppressed, acknowledgements and silences, oldest first
    (``--format json``: one JSON document; ``jsonl``: one JSON object per line)."""
    from ..alerts import admin

    _site(obj, site)
    entries = admin.history(obj.workspace(), site=site, rule=rule, since=_when(since, "--since"), limit=limit)
    fmt = "jsonl" if as_json else fmt  # the hidden --json kept its JSON lines
    if fmt == "jsonl":
        for e in entries:
            click.echo(json.dumps(e, ensure_ascii=False))
        return
    if fmt == "json":
        click.echo(json.dumps({"history": entries}, ensure_ascii=False, indent=1))
        return
    if fmt == "csv":
        columns = list(dict.fromkeys(k for e in entries for k in e)) or ["at", "event", "site", "rule"]
        write_rows(entries, "csv", columns=columns)
        return
    if not entries:
        click.echo("no alert history" + (f" for {site}" if site else ""))
        return
    _table("Alert history", ["at (UTC)", "event", "site", "rule", "severity", "value", "note"],
           [[e["at"][:19], e["event"], e.get("site", ""), e.get("rule", ""), e.get("severity", ""),
             "" if e.get("value") is None else f"{e['value']:.4g}",
             " ".join(f"{k}={e[k]}" for k in ("by", "comment", "reason", "suppressed", "silence", "ends")
                      if e.get(k))] for e in entries])


@alerts.command("check")
@click.option("--retry-now", is_flag=True, help="Retry undelivered notifications regardless of backoff.")
@click.pass_obj
def check_cmd(obj, retry_now: bool) -> None:
    """Evaluate data-gap rules against the clock, send due repeats, retry deliveries
    (what the scheduler runs periodically)."""
    from ..alerts.service import check_gaps, deliver_pending

    config, _ = obj.load_config()
    ws = obj.workspace()
    changes = check_gaps(config, ws, deliver=False)
    result = deliver_pending(config, ws, force=retry_now)
    for t in changes:
        click.echo(f"{t.site} {t.rule_id} {t.change.upper()}")
    click.echo(f"delivered {result.delivered}, undelivered {result.pending}")


COMMANDS = [alerts]
