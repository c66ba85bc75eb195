"""Per-site operational status: what an operator checks first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .alerts.admin import list_alerts
from .config import SitesConfig
from .errors import StoreError, is_transient
from .inbox import count_bundles, list_pending, open_site_store, site_locations
from .workspace import Workspace


@dataclass
class SiteStatus:
    """Status of one site.

    Attributes
    ----------
    site : str
    last_acquisition : datetime or None
        Newest acquisition in the store (any verdict).
    last_valid : datetime or None
        Newest accepted acquisition.
    records : int
        Acquisitions stored.
    backlog : int
        Bundles waiting in the inbox (-1 when it cannot be listed, e.g. object store down).
    quarantined : int
        Bundles in quarantine (-1 when it cannot be listed).
    firing : list of str
        Rules of the site that are firing (or pending), with severity.
    problem : str
        Why the site's store could not be read ("" when it could): one line naming the
        damaged object, or the unreachable store.
    """

    site: str
    last_acquisition: datetime | None = None
    last_valid: datetime | None = None
    records: int = 0
    backlog: int = 0
    quarantined: int = 0
    firing: list[str] = field(default_factory=list)
    problem: str = ""


def site_status(config: SitesConfig, workspace: Workspace) -> list[SiteStatus]:
    """The status of every configured site."""
    alerts = list_alerts(workspace)
    out = []
    for site_id in config.sites:
        st = SiteStatus(site_id)
        try:
            ds = open_site_store(config.sites[site_id], config, workspace).read(
                quantities=[], with_rrs=False)
        except Exception as exc:  # noqa: BLE001 - one broken store must not hide the others
            ds = None
            st.problem = _store_problem(exc)
        if ds is not None and ds.sizes.get("time", 0):
            times = ds["time"].values
            st.records = int(times.size)
            st.last_acquisition = _dt(times[-1])
            ok = np.asarray(ds["verdict"].values == "accepted")
            st.last_valid = _dt(times[ok][-1]) if ok.any() else None
        where = site_locations(config.sites[site_id], config, workspace)
        try:
            ready, unreadable = list_pending(where.inbox)
            st.backlog = len(ready) + len(unreadable)
        except Exception as exc:  # noqa: BLE001
            if not is_transient(exc):
                raise
            st.backlog = -1
        try:
            st.quarantined = count_bundles(where.quarantine)
        except Exception as exc:  # noqa: BLE001
            if not is_transient(exc):
                raise
            st.quarantined = -1
        st.firing = [f"{a['rule']} {a['status']} ({a['severity']})" for a in alerts if a["site"] == site_id]
        out.append(st)
    return out


def _store_problem(exc: Exception) -> str:
    """One line on why a store could not be read ("" for a store not written yet)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, StoreError):
        return "" if "no store here" in text else text
    if is_transient(exc):
        return f"store unreachable: {text}"
    return f"store unreadable: {type(exc).__name__}: {text}"


def _dt(t: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(np.datetime_as_string(t, unit="s")) + "+00:00")
