"""Site reports: one self-contained HTML page of a site's water quality over a period.

A report shows, for each site (or each period of one site, side by side when several): the
time series of every parameter with the site's alert levels and the GB 3838 class bands, the
trophic level index TLI(Σ), the latest parameter maps (or, when the store keeps none, the
latest ROI spectrum), the latest Rrs spectra with their QC, the alert timeline, data
completeness against the schedule, and the models in service.

>>> html = build_report(workspace, config, [Period("taihu-north")])   # doctest: +SKIP
>>> write_report(html, "report.html")                                  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import SitesConfig
from ..workspace import Workspace
from .data import Source, load_source

__all__ = ["Period", "build_report", "load_sources", "write_report"]


@dataclass(frozen=True)
class Period:
    """One column of a report: a site, optionally over a period (UTC, inclusive)."""

    site: str
    start: datetime | None = None
    end: datetime | None = None
    label: str | None = None
    map_time: datetime | None = None


def load_sources(workspace: Workspace, config: SitesConfig, periods: list[Period], *,
                 config_file: str | os.PathLike[str] = "sites.toml") -> list[Source]:
    """Read every column of a report (see :func:`hsiwq.report.data.load_source`)."""
    return [load_source(workspace, config, p.site, start=p.start, end=p.end, label=p.label,
                        config_file=config_file, map_time=p.map_time) for p in periods]


def build_report(workspace: Workspace, config: SitesConfig, periods: list[Period], *,
                 title: str | None = None, back_link: str | None = None,
                 config_file: str | os.PathLike[str] = "sites.toml") -> str:
    """The HTML of a report over one or more sites or periods.

    Raises
    ------
    ConfigError
        An unknown site or a period that ends before it starts.
    StoreError
        A site without a store.
    """
    from .html import render

    return render(load_sources(workspace, config, periods, config_file=config_file),
                  title=title, back_link=back_link)


def write_report(html: str, out: str | os.PathLike[str]) -> Path:
    """Write a report atomically (a reader never sees half a file); returns its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
