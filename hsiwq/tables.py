"""Terminal tables of results and alerts (rich)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .params import PARAMETERS


def results_table(results: Iterable, file: TextIO | None = None,
                  params: tuple[str, ...] = ("chl_a", "phycocyanin", "tss", "turbidity", "secchi", "cdom")) -> None:
    """Print one row per processed acquisition: site, time, verdict, parameters, alerts."""
    table = Table(title="Acquisitions processed")
    for col in ("site", "time (UTC)", "verdict"):
        table.add_column(col)
    for pid in params:
        table.add_column(escape(f"{pid}\n[{PARAMETERS[pid].unit}]"), justify="right")
    table.add_column("alerts")
    for r in results:
        cells = [r.site, r.time.strftime("%Y-%m-%d %H:%M"),
                 r.verdict + (f" ({r.reason})" if r.reason else "")]
        for pid in params:
            v = r.values.get(pid, math.nan)
            cells.append("–" if not math.isfinite(v) else f"{v:.3g}")
        cells.append(", ".join(f"{t.rule_id} {t.status.upper()}" for t in r.transitions))
        table.add_row(*map(escape, cells))
    Console(file=file, width=140).print(table)


def alerts_table(notifications: Iterable[dict], file: TextIO | None = None) -> None:
    """Print the notifications that were sent."""
    table = Table(title="Alerts sent")
    for col in ("site", "rule", "status", "severity", "message"):
        table.add_column(col)
    for n in notifications:
        table.add_row(*(escape(str(n[k])) for k in ("site", "rule", "status", "severity", "message")))
    Console(file=file, width=160).print(table)
