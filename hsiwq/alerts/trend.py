"""The recent history of an alert's quantity, read from the site store, for messages.

Best effort: a store that cannot be read gives no trend, never a failed notification.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..store import SiteStore
from .classes import tli_series
from .engine import Transition

log = logging.getLogger("hsiwq.alerts")
SPARKS = "▁▂▃▄▅▆▇█"
TLI_PARAMS = ("chl_a", "tp", "tn", "secchi", "cod_mn")


def _valid(ds, param: str) -> np.ndarray:
    vals = np.asarray(ds[param].values, dtype=float)
    ok = np.asarray(ds["verdict"].values == "accepted") & np.isfinite(vals)
    if f"{param}_ood" in ds:
        ok &= ~(np.asarray(ds[f"{param}_ood"].values, dtype=float) >= 0.5)
    return np.where(ok, vals, np.nan)


def series_for(store: SiteStore, tr: Transition, start: datetime, end: datetime
               ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Times [s] and values of what the alert is about, with what they are."""
    if tr.kind == "tli":
        q = [x for p in TLI_PARAMS for x in (p, f"{p}_ood")]
        ds = store.read(start=start, end=end, quantities=q, with_rrs=False)
        vals = tli_series({p: _valid(ds, p) for p in TLI_PARAMS})
        what = "tli"
    elif tr.category == "data" and tr.kind != "sensor" or tr.param is None:
        ds = store.read(start=start, end=end, quantities=[], with_rrs=False)
        vals = np.asarray(ds["verdict"].values == "accepted", dtype=float)
        what = "accepted"
    else:
        ds = store.read(start=start, end=end, quantities=[tr.param, f"{tr.param}_ood"], with_rrs=False)
        vals, what = _valid(ds, tr.param), tr.param
    secs = ds["time"].values.astype("datetime64[s]").astype("int64").astype(float)
    return secs, vals, what


def trend(store: SiteStore, tr: Transition, hours: float, end: datetime) -> dict[str, Any] | None:
    """Hourly summary of the last ``hours`` before ``end``.

    Returns
    -------
    dict or None
        ``what`` (a parameter id, ``tli``, or ``accepted`` for the share of accepted
        acquisitions), ``hours``, ``points`` ([bin end ISO, median or share or None], …),
        ``first``, ``last``, ``min``, ``max``, ``n``, ``change_pct``, ``spark``.
    """
    start = end - timedelta(hours=hours)
    try:
        got = series_for(store, tr, start, end)
    except Exception as exc:  # noqa: BLE001 - a trend is a nicety, never a failure
        log.debug("no trend for %s/%s: %s", tr.site, tr.rule_id, exc)
        return None
    if got is None:
        return None
    secs, vals, what = got
    n_bins = max(int(round(hours)), 1)
    edges = np.linspace(start.timestamp(), end.timestamp(), n_bins + 1)
    points, summary = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (secs > lo) & (secs <= hi) & np.isfinite(vals)
        if what == "accepted":
            sel = (secs > lo) & (secs <= hi)
        v = float(np.mean(vals[sel]) if what == "accepted" else np.median(vals[sel])) if sel.any() else None
        points.append([datetime.fromtimestamp(hi, tz=end.tzinfo).isoformat(), v])
        summary.append(v)
    finite = vals[np.isfinite(vals)]
    if finite.size == 0:
        return {"what": what, "hours": hours, "points": points, "n": 0}
    have = [v for v in summary if v is not None]
    lo_v, hi_v = min(have), max(have)
    spark = "".join(" " if v is None else SPARKS[0 if hi_v == lo_v else
                                                  int(round((v - lo_v) / (hi_v - lo_v) * 7))]
                    for v in summary)
    first, last = float(finite[0]), float(finite[-1])
    change = None if first == 0 or what == "accepted" else round(100.0 * (last / first - 1.0), 1)
    return {"what": what, "hours": hours, "points": points, "first": first, "last": last,
            "min": float(finite.min()), "max": float(finite.max()), "n": int(finite.size),
            "change_pct": change, "spark": spark}
