"""What the commands share: ``--format`` and data output, time options, progress bars.

- :func:`format_option` / :func:`write_rows`: every command that outputs data takes
  ``--format table|csv|json|parquet|netcdf`` (those that make sense for it); CSV headers
  carry the units (``chl_a [ug/L]``), JSON is one document, parquet and NetCDF need ``--out``.
  ``--json`` stays as a hidden alias of ``--format json``.
- :func:`time_value`: ISO 8601 options through :func:`hsiwq.timeutil.parse_time`, one error
  style (``hsiwq: error: --start: 'x' is not an ISO 8601 date or time …``).
- :func:`progress`: a rich progress bar on standard error when it is a terminal, nothing
  otherwise (pipes, logs, CI).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click

from ..errors import ConfigError
from ..timeutil import parse_time

#: Every output format a data command may offer.
FORMATS = ("table", "csv", "json", "parquet", "netcdf")
#: Formats written to a file only.
FILE_FORMATS = ("parquet", "netcdf")


def format_option(formats: Sequence[str] = FORMATS, default: str = "table") -> Callable:
    """The ``--format`` option (``fmt``) and its hidden ``--json`` alias (``as_json``)."""
    def decorate(f: Callable) -> Callable:
        f = click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")(f)
        return click.option("--format", "fmt", type=click.Choice(tuple(formats)), default=default,
                            show_default=True, help="Output format"
                            + (" (parquet and netcdf need --out)." if set(formats) & set(FILE_FORMATS) else "."))(f)
    return decorate


def chosen_format(fmt: str, as_json: bool, out: str | None = None) -> str:
    """The format asked for (``--json`` wins); a file format without ``--out`` is an error."""
    fmt = "json" if as_json else fmt
    if fmt in FILE_FORMATS and not out:
        raise ConfigError("--format", f"{fmt} needs --out FILE")
    return fmt


def time_value(text: str | None, option: str, *, end: bool = False) -> datetime | None:
    """An ISO 8601 option value as UTC (a bare date as an end means its last second)."""
    if text is None:
        return None
    try:
        return parse_time(text, end_of_day=end)
    except ValueError as exc:
        raise ConfigError(option, str(exc)) from None


def csv_header(name: str, units: str | None) -> str:
    """A CSV column name with its units: ``chl_a [ug/L]`` (no suffix without units)."""
    return f"{name} [{units}]" if units and units != "1" else name


def plain(v: Any) -> Any:
    """A value as JSON has it: non-finite floats as None, numpy scalars as Python ones,
    datetimes as ISO text, through nested lists and dicts."""
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        return plain(v.item())
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def write_rows(rows: Sequence[Mapping[str, Any]], fmt: str, out: str | None = None, *,
               columns: Sequence[str] | None = None, units: Mapping[str, str] | None = None,
               title: str = "", meta: Mapping[str, Any] | None = None,
               table_cell: Callable[[str, Any], str] | None = None) -> None:
    """Write records (dicts) as a rich table, CSV, JSON, parquet or NetCDF.

    Parameters
    ----------
    rows : sequence of mapping
        One mapping per row.
    fmt : str
        One of :data:`FORMATS`.
    out : str, optional
        File to write (standard output when None; required for parquet and netcdf).
    columns : sequence of str, optional
        Column order (default: the keys of the first row).
    units : mapping, optional
        Units by column: in CSV headers, in JSON ``units``, NetCDF ``units`` attributes.
    title : str
        Table title (table format).
    meta : mapping, optional
        Extra top-level keys of the JSON document and NetCDF global attributes.
    table_cell : callable, optional
        ``(column, value) -> str`` for the table format.
    """
    import pandas as pd

    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    units = dict(units or {})
    if fmt == "json":
        doc = {**(meta or {}), "units": {c: u for c, u in units.items() if c in cols},
               "rows": [{c: plain(r.get(c)) for c in cols} for r in rows]}
        emit(json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n", out)
        return
    if fmt == "table":
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=title or None)
        for c in cols:
            table.add_column(csv_header(c.replace("_", " "), units.get(c)))
        cell = table_cell or (lambda c, v: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
        for r in rows:
            table.add_row(*(escape(cell(c, r.get(c))) for c in cols))
        Console(file=sys.stdout, width=160).print(table)
        return
    frame = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    if fmt == "csv":
        text = frame.rename(columns={c: csv_header(c, units.get(c)) for c in cols}).to_csv(
            index=False, lineterminator="\n")
        emit(text, out)
    elif fmt == "parquet":
        frame.to_parquet(out, index=False)
    elif fmt == "netcdf":
        write_netcdf(frame, out, units=units, attrs=meta)
    else:  # pragma: no cover - click.Choice guards it
        raise ConfigError("--format", f"unknown format {fmt!r}")


def write_netcdf(frame, out: str, *, units: Mapping[str, str] | None = None, index: str | None = None,
                 attrs: Mapping[str, Any] | None = None) -> None:
    """A table as a NetCDF file (one variable per column, ``units`` attributes; ``index``
    — e.g. ``time`` — as the dimension, else ``row``)."""
    import pandas as pd
    import xarray as xr

    frame = frame.copy()
    for c in frame.columns:  # xarray stores naive datetimes (UTC), not tz-aware ones
        if isinstance(frame[c].dtype, pd.DatetimeTZDtype):
            frame[c] = frame[c].dt.tz_convert("UTC").dt.tz_localize(None)
    ds = xr.Dataset.from_dataframe(frame.set_index(index) if index else frame.rename_axis("row"))
    for c, u in (units or {}).items():
        if c in ds and u:
            ds[c].attrs["units"] = u
    ds.attrs.update({k: str(v) for k, v in (attrs or {}).items()})
    ds.attrs.setdefault("Conventions", "CF-1.8")
    ds.to_netcdf(out)


def emit(text: str, out: str | None) -> None:
    """Write text to ``out`` (UTF-8), or to standard output."""
    if out:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Callable[..., None]]:
    """A progress bar on standard error while the block runs — only on a terminal.

    Yields ``advance(n=1, description=None, total=None)``; with ``total=None`` the bar is a
    pulse with the elapsed time (work whose size is unknown).
    """
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn)

    console = Console(stderr=True)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, disable=not console.is_terminal, transient=True)
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: float = 1, description: str | None = None, total: float | None = None) -> None:
            kw: dict[str, Any] = {"advance": n}
            if description is not None:
                kw["description"] = description
            if total is not None:
                kw["total"] = total
            bar.update(task, **kw)

        yield advance


def write_results(results: Sequence[Any], fmt: str, out: str | None = None) -> None:
    """Processed acquisitions (:class:`hsiwq.pipeline.ProcessResult`) as the results table
    (``table``) or, one row each with every parameter and its units, in another format."""
    from ..params import PARAMETERS
    from ..tables import results_table

    if fmt == "table":
        results_table(results, file=sys.stdout)
        return
    rows = [{"site": r.site, "time": r.time.isoformat(), "verdict": r.verdict, "reason": r.reason,
             **{p: r.values.get(p, math.nan) for p in PARAMETERS},
             "alerts": "; ".join(f"{t.rule_id} {t.status}" for t in r.transitions)} for r in results]
    columns = ["site", "time", "verdict", "reason", *PARAMETERS, "alerts"]
    write_rows(rows, fmt, out, columns=columns, units={p: v.unit for p, v in PARAMETERS.items()},
               title="Acquisitions processed")
