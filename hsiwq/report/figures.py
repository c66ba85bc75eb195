"""The figures of a report, drawn on matplotlib's Agg canvas and returned as PNG data URIs.

Every figure shows one source (a site over a period), so that the HTML can lay the sources of
a comparison side by side on a wide screen and one under the other on a phone. Figures of
one quantity share their axis limits and colour scales across sources (the caller computes
them with the ``*_limits`` helpers), and each quantity keeps its colours everywhere:
GB 3838 class bands, trophic-class bands, and one colour map and fixed range per parameter
on maps.

Figures are drawn with the object-oriented API (no pyplot, no global figure registry); the
style is applied per figure under a lock, so reports can be rendered from several threads.
"""

from __future__ import annotations

import base64
import io
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from ..params import PARAMETERS
from .data import Source, expected_acquisitions
from .indicators import GB_CLASS_NAMES, TLI_CLASSES, class_limits

# --- style -------------------------------------------------------------------------------
#: Width and height of a figure [in] and its resolution [dpi]: 5.4 in × 120 dpi = 648 px, with
#: fonts large enough to stay readable when a phone shows it ~370 CSS px wide (ticks ≈ 12 px).
WIDTH, HEIGHT, DPI = 5.4, 3.2, 120
STYLE = {
    "font.size": 13, "axes.titlesize": 13.5, "axes.labelsize": 12.5,
    "xtick.labelsize": 12, "ytick.labelsize": 12, "legend.fontsize": 11,
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6,
    "axes.titlelocation": "left", "axes.titleweight": "bold",
    "figure.constrained_layout.use": True,
}
SERIES = "#1f4e79"
SERIES_ESTIMATED = "#6a4c93"
THRESHOLD = "#c0392b"
REJECTED = "#7f7f7f"
OOD = "#e67e22"
#: GB 3838 class bands I, II, III, IV, V, worse than V (the customary map colours, lightened).
GB_COLORS = ("#d4f1fb", "#9fd8f2", "#b6e8b0", "#fff3a6", "#ffd08a", "#f5a3a3")
#: Trophic classes by TLI: oligo-, meso-, light, middle, hyper-eutrophic.
TLI_COLORS = ("#b9dcf2", "#b6e8b0", "#fff3a6", "#ffd08a", "#f5a3a3")
#: Fixed display range [unit] and colour map of each parameter on maps (log scale).
MAP_SCALES: dict[str, tuple[float, float, str]] = {
    "chl_a": (1.0, 300.0, "viridis"), "phycocyanin": (0.5, 300.0, "viridis"),
    "tss": (1.0, 500.0, "cividis"), "turbidity": (1.0, 500.0, "cividis"),
    "secchi": (0.05, 5.0, "Blues"), "cdom": (0.1, 10.0, "copper_r"),
    "cod_mn": (1.0, 20.0, "magma_r"), "cod": (5.0, 60.0, "magma_r"),
    "tn": (0.1, 5.0, "magma_r"), "tp": (0.005, 0.5, "magma_r"), "nh3_n": (0.02, 3.0, "magma_r"),
}
#: Beyond this many points a series is drawn as binned medians with a 10–90 % envelope.
MAX_POINTS = 1500
#: Spectra drawn in the QC figure (the newest acquisitions).
N_SPECTRA = 6

_LOCK = threading.RLock()


@contextmanager
def drawing() -> Iterator[None]:
    """Hold the drawing lock with the report style applied (rcParams are process-global)."""
    with _LOCK, matplotlib.rc_context(STYLE):
        yield


def _figure(height: float = HEIGHT, width: float = WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def to_data_uri(fig: Figure) -> str:
    """The figure as a base64 PNG data URI (no metadata, nothing external)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# --- helpers -----------------------------------------------------------------------------
def _times(src: Source) -> np.ndarray:
    return src.ds["time"].values.astype("datetime64[ns]")


def _col(src: Source, name: str) -> np.ndarray:
    if name in src.ds and src.n:
        return src.ds[name].values.astype(float)
    return np.full(src.n, np.nan)


def _accepted(src: Source) -> np.ndarray:
    if "verdict" not in src.ds or not src.n:
        return np.zeros(src.n, dtype=bool)
    return src.ds["verdict"].values.astype(str) == "accepted"


def rule_id(rule: object) -> str:
    """A rule's id, whatever its kind."""
    return str(getattr(rule, "rule_id", None) or getattr(rule, "id", None) or getattr(rule, "kind", "rule"))


def alert_levels(src: Source, pid: str) -> list[tuple[float, str, str]]:
    """The site's alert levels on a parameter: (level, legend label, line style).

    Threshold rules give their level (dashed) and clear level (dotted); WHO cyanobacteria
    rules on chlorophyll-a give their alert levels (dash-dot). Other rule kinds draw nothing.
    """
    out: list[tuple[float, str, str]] = []
    for rule in src.site.rules:
        if getattr(rule, "param", None) != pid:
            continue
        rid = rule_id(rule)
        above, below = getattr(rule, "above", None), getattr(rule, "below", None)
        if above is not None or below is not None:
            level = float(above if above is not None else below)
            out.append((level, f"alert {rid} {'>' if above is not None else '<'} {level:g}", "--"))
            clear = getattr(rule, "clear", None)
            if clear is not None and clear != level:
                out.append((float(clear), f"clears at {clear:g}", ":"))
        elif getattr(rule, "kind", None) == "who_cyano":
            try:
                from ..alerts.classes import WHO_PRESETS  # type: ignore[import-not-found]

                for level, name, *_ in WHO_PRESETS[rule.guideline]:  # type: ignore[attr-defined]
                    out.append((float(level), f"{name} ({level:g})", "-."))
            except (ImportError, AttributeError, KeyError, TypeError, ValueError):
                continue
    return out


def _time_axis(ax, src: Source) -> None:
    start, end = src.start.astype("datetime64[s]"), src.end.astype("datetime64[s]")
    span = max((end - start).astype(np.int64), 600)
    pad = np.timedelta64(int(span * 0.03), "s")
    ax.set_xlim(start - pad, end + pad)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))
    ax.set_xlabel("time (UTC)")


def _break_gaps(t: np.ndarray, *ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert NaN between points further apart than 3 × the median spacing (and > 1 h)."""
    if t.size < 3:
        return (t, *ys)
    dt = np.diff(t).astype("timedelta64[s]").astype(np.int64)
    limit = max(3 * float(np.median(dt)), 3600.0)
    cut = np.flatnonzero(dt > limit)
    if not cut.size:
        return (t, *ys)
    t2 = np.insert(t, cut + 1, t[cut] + (t[cut + 1] - t[cut]) // 2)
    return (t2, *(np.insert(y.astype(float), cut + 1, np.nan) for y in ys))


def _bin_rule(t: np.ndarray) -> str:
    span_h = (t[-1] - t[0]).astype("timedelta64[s]").astype(np.int64) / 3600
    for rule, hours in (("15min", 0.25), ("1h", 1), ("3h", 3), ("6h", 6), ("1D", 24)):
        if span_h / hours <= 600:
            return rule
    return "7D"


def thin(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Long series as binned medians with 10 and 90 % quantiles; short ones unchanged.

    Returns (time, median, q10, q90, bin rule or '').
    """
    ok = np.isfinite(y)
    if ok.sum() <= MAX_POINTS:
        return t, y, np.full_like(y, np.nan), np.full_like(y, np.nan), ""
    rule = _bin_rule(t[ok])
    s = pd.Series(y[ok], index=pd.DatetimeIndex(t[ok]))
    g = s.resample(rule)
    med, q10, q90 = g.median(), g.quantile(0.1), g.quantile(0.9)
    return (med.index.values, med.values, q10.values, q90.values, rule)


def _nice_top(top: float) -> float:
    return float(top) if top > 0 else 1.0


# --- axis limits shared across sources ---------------------------------------------------
def parameter_limits(sources: list[Source], pid: str) -> tuple[float, float]:
    """y limits of a parameter's panels: from 0 to above the data, the alert levels and the
    next GB 3838 class limit above the data."""
    top = 0.0
    for src in sources:
        for name in (pid, f"{pid}_hi"):
            v = _col(src, name)
            v = v[np.isfinite(v)]
            if v.size:
                top = max(top, float(v.max()))
    data_top = top
    for src in sources:
        for level, _, _ in alert_levels(src, pid):
            top = max(top, level)
        limits, _ = class_limits(pid, src.site.waterbody)
        if limits and data_top > 0:
            above = [x for x in limits if x > data_top * 1.02]
            top = max(top, above[0] if above else limits[-1] * 1.1)
        elif limits:  # no value: show the whole class scale
            top = max(top, limits[-1] * 1.15)
    if top <= 0:
        top = PARAMETERS[pid].valid_range[0] * 10
    return 0.0, _nice_top(top * 1.08)


def spectra_limits(sources: list[Source]) -> tuple[float, float]:
    """y limits of the spectra panels [sr-1]."""
    lo, hi = 0.0, 0.0
    for src in sources:
        if "rrs" in src.ds and src.n:
            r = src.ds["rrs"].values[-N_SPECTRA:]
            r = r[np.isfinite(r)]
            if r.size:
                lo, hi = min(lo, float(r.min())), max(hi, float(r.max()))
    hi = hi if hi > 0 else 0.01
    return lo * 1.1 if lo < 0 else 0.0, hi * 1.08


# --- parameter time series ---------------------------------------------------------------
def parameter_figure(src: Source, pid: str, ylim: tuple[float, float],
                     title: str | None = None) -> tuple[str, list[str]]:
    """A parameter's time series with its interval, alert levels and GB 3838 class bands.

    Returns the data URI and caption notes. ``title`` defaults to the parameter's name.
    """
    p = PARAMETERS[pid]
    notes: list[str] = []
    fig = _figure()
    ax = fig.add_subplot()
    limits, limit_note = class_limits(pid, src.site.waterbody)
    if limits:
        _class_bands(ax, limits, ylim)
        notes.append(f"bands: {limit_note}, classes I–V")
    elif p.gb3838_limits is not None:
        notes.append(limit_note)
    t = _times(src)
    y = _col(src, pid)
    colour = SERIES if p.optically_active else SERIES_ESTIMATED
    finite = np.isfinite(y)
    handles: list[object] = []
    if finite.any():
        tt, med, q10, q90, rule = thin(t, y)
        if rule:
            tt, med, q10, q90 = _break_gaps(tt, med, q10, q90)
            ax.fill_between(tt, q10, q90, color=colour, alpha=0.25, lw=0)
            ax.plot(tt, med, color=colour, lw=1.5)
            notes.append(f"{finite.sum()} values drawn as {rule} medians, shaded 10–90 %")
        else:
            lo, hi = _col(src, f"{pid}_lo"), _col(src, f"{pid}_hi")
            keep = finite
            tk, yk, lk, hk = _break_gaps(t[keep], y[keep], lo[keep], hi[keep])
            if np.isfinite(lk).any() and np.isfinite(hk).any():
                ax.fill_between(tk, lk, hk, color=colour, alpha=0.22, lw=0)
                handles.append(_patch(colour, "68 % interval"))
            ax.plot(tk, yk, "-", color=colour, lw=1.6, marker="o" if keep.sum() <= 300 else None,
                    ms=4.5)
            ood = _col(src, f"{pid}_ood") == 1
            if ood.any():
                ax.plot(t[ood & finite], y[ood & finite], "o", mfc="white", mec=OOD, mew=1.6,
                        ms=7, ls="none")
                handles.append(Line2D([], [], marker="o", mfc="white", mec=OOD, ls="none",
                                      label="outside model domain"))
    else:
        why = "no value in this period"
        if not p.optically_active:
            why += "\n(not optically active: needs a regional model)"
        ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center",
                color="#555", fontsize=12.5, bbox={"fc": "white", "ec": "#bbb", "alpha": 0.85})
    rejected = ~_accepted(src)
    if rejected.any():
        tr = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(t[rejected], np.full(rejected.sum(), 0.03), "|", color=REJECTED, ms=9, mew=1.4,
                transform=tr, ls="none")
        handles.append(Line2D([], [], marker="|", color=REJECTED, ls="none", ms=9,
                              label="rejected acquisition"))
    for level, label, style in alert_levels(src, pid):
        ax.axhline(level, color=THRESHOLD, ls=style, lw=1.5 if style == "--" else 1.3)
        handles.append(Line2D([], [], color=THRESHOLD, ls=style, label=label))
    if handles:
        ax.legend(handles=handles, loc="upper left", framealpha=0.85, ncols=2 if len(handles) > 2 else 1)
    ax.set_ylim(*ylim)
    ax.set_ylabel(p.unit)
    ax.set_title(title or (p.name + ("" if p.optically_active else " (estimated)")))
    _time_axis(ax, src)
    return to_data_uri(fig), notes


def _patch(colour: str, label: str):
    from matplotlib.patches import Patch

    return Patch(color=colour, alpha=0.3, label=label)


def _class_bands(ax, limits: tuple[float, ...], ylim: tuple[float, float]) -> None:
    edges = [0.0, *limits, max(ylim[1], limits[-1]) * 10]
    tr = blended_transform_factory(ax.transAxes, ax.transData)
    for i, name in enumerate(GB_CLASS_NAMES):
        lo, hi = edges[i], edges[i + 1]
        if hi <= lo:
            continue
        ax.axhspan(lo, hi, color=GB_COLORS[i], lw=0, zorder=0)
        mid = (lo + min(hi, ylim[1])) / 2
        if lo < ylim[1] and (min(hi, ylim[1]) - lo) > 0.05 * (ylim[1] - ylim[0]):
            ax.text(0.995, mid, "> V" if i == 5 else name, transform=tr, ha="right", va="center",
                    fontsize=11, color="#444", zorder=1)


# --- TLI ---------------------------------------------------------------------------------
def tli_figure(src: Source, index: np.ndarray, ylim: tuple[float, float]) -> str:
    """TLI(Σ) over time over the trophic-class bands."""
    fig = _figure()
    ax = fig.add_subplot()
    bounds = [0.0] + [b for b, _ in TLI_CLASSES[:-1]] + [max(ylim[1], 100.0) * 2]
    tr = blended_transform_factory(ax.transAxes, ax.transData)
    for i, (_, name) in enumerate(TLI_CLASSES):
        ax.axhspan(bounds[i], bounds[i + 1], color=TLI_COLORS[i], lw=0, zorder=0)
        mid = (bounds[i] + min(bounds[i + 1], ylim[1])) / 2
        if bounds[i] < ylim[1]:
            ax.text(0.995, mid, name, transform=tr, ha="right", va="center", fontsize=11,
                    color="#444")
    t = _times(src)
    ok = np.isfinite(index)
    if ok.any():
        tt, med, q10, q90, rule = thin(t, index)
        tt, med, q10, q90 = _break_gaps(tt, med, q10, q90)
        if rule:
            ax.fill_between(tt, q10, q90, color=SERIES, alpha=0.25, lw=0)
        ax.plot(tt, med, "-", color=SERIES, lw=1.6, marker="o" if ok.sum() <= 300 and not rule else None,
                ms=4.5)
    else:
        ax.text(0.5, 0.5, "no TLI: no chlorophyll-a value in this period", transform=ax.transAxes,
                ha="center", va="center", color="#555")
    ax.set_ylim(*ylim)
    ax.set_ylabel("TLI(Σ)")
    ax.set_title("trophic level index TLI(Σ)")
    _time_axis(ax, src)
    return to_data_uri(fig)


# --- spectra -----------------------------------------------------------------------------
def spectra_figure(src: Source, ylim: tuple[float, float]) -> str:
    """The newest ROI-median Rrs spectra; accepted in colour (older lighter), rejected dashed grey."""
    fig = _figure(height=4.4)
    ax = fig.add_subplot()
    if "rrs" not in src.ds or not src.n:
        ax.text(0.5, 0.5, "no spectrum in this period", transform=ax.transAxes, ha="center")
    else:
        wl = src.ds["wavelength"].values
        rrs = src.ds["rrs"].values[-N_SPECTRA:]
        times = _times(src)[-N_SPECTRA:]
        acc = _accepted(src)[-N_SPECTRA:]
        vf = _col(src, "valid_fraction")[-N_SPECTRA:]
        cmap = matplotlib.colormaps["viridis"]
        k = len(rrs)
        for i in range(k):
            when = str(np.datetime64(times[i], "m")).replace("T", " ")[5:]  # MM-DD hh:mm
            share = f", {vf[i]:.0%} valid" if np.isfinite(vf[i]) else ""
            if acc[i]:  # newest darkest
                ax.plot(wl, rrs[i], color=cmap(0.9 - 0.75 * (i + 1) / k), lw=1.7,
                        label=f"{when}{share}")
            else:
                ax.plot(wl, rrs[i], color=REJECTED, lw=1.3, ls="--", label=f"{when} rejected")
        fig.legend(loc="outside lower center", ncols=2, fontsize=10.5, frameon=False)
    ax.axhline(0, color="#333", lw=0.8)
    ax.set_ylim(*ylim)
    ax.set_xlim(400, 900)
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("Rrs [sr⁻¹]")
    ax.set_title("newest ROI-median Rrs spectra")
    return to_data_uri(fig)


def latest_index(src: Source) -> int | None:
    """Row of the newest accepted acquisition, or None."""
    acc = np.flatnonzero(_accepted(src))
    return int(acc[-1]) if acc.size and "rrs" in src.ds else None


def latest_spectrum_figure(src: Source, ylim: tuple[float, float]) -> str:
    """The newest accepted ROI spectrum (the values retrieved from it go beside it, in HTML)."""
    fig = _figure(height=3.4)
    ax = fig.add_subplot()
    i = latest_index(src)
    if i is not None:
        ax.plot(src.ds["wavelength"].values, src.ds["rrs"].values[i], color=SERIES, lw=1.8)
        when = str(np.datetime64(_times(src)[i], "m")).replace("T", " ")
        ax.set_title(f"ROI spectrum at {when} UTC")
    else:
        ax.text(0.5, 0.5, "no accepted acquisition in this period", transform=ax.transAxes,
                ha="center")
        ax.set_title("latest ROI spectrum")
    ax.axhline(0, color="#333", lw=0.8)
    ax.set_ylim(*ylim)
    ax.set_xlim(400, 900)
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("Rrs [sr⁻¹]")
    return to_data_uri(fig)


# --- maps --------------------------------------------------------------------------------
def maps_figure(maps) -> str:
    """The stored parameter maps over the RGB composite of the cube (when there is one), each
    parameter on its fixed log colour scale (:data:`MAP_SCALES`)."""
    pids = [p for p in PARAMETERS if p in maps and np.asarray(maps[p]).ndim == 2]
    ncols = 2 if len(pids) > 1 else 1
    nrows = max(1, math.ceil(len(pids) / ncols))
    rgb = np.clip(np.asarray(maps["rgb"].values, dtype=float), 0, 1) if "rgb" in maps else None
    shape = rgb.shape[:2] if rgb is not None else (np.asarray(maps[pids[0]]).shape if pids else (1, 1))
    aspect = shape[0] / shape[1]
    fig = _figure(height=(WIDTH / ncols) * aspect * nrows * 0.95 + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    extent = (0.0, 1.0, 1.0, 0.0)  # maps and cube cover the same camera image
    for ax, pid in zip(axes.flat, pids, strict=False):
        vmin, vmax, cmap = MAP_SCALES[pid]
        field = np.asarray(maps[pid].values, dtype=float)
        if rgb is not None:
            ax.imshow(rgb, extent=extent, aspect=aspect, interpolation="bilinear")
        im = ax.imshow(np.ma.masked_invalid(np.clip(field, vmin, vmax)), cmap=cmap,
                       norm=mcolors.LogNorm(vmin, vmax), alpha=0.7 if rgb is not None else 1.0,
                       extent=extent, aspect=aspect, interpolation="nearest")
        p = PARAMETERS[pid]
        ax.set_title(f"{pid} [{p.unit}]", fontsize=11.5)
        fig.colorbar(im, ax=ax, shrink=0.85)
    if not pids:
        axes.flat[0].text(0.5, 0.5, "no 2-D map among the stored maps", ha="center")
    return to_data_uri(fig)


def block_maps_figure(ds, site) -> str:
    """The chain's maps of one acquisition (:mod:`hsiwq.maps`): each parameter on its fixed
    log colour scale with a colour bar, the site's ROI outlined (dashed white) and the
    thresholds of its extent statistics contoured (red)."""
    from ..maps.chain import extent_thresholds
    from ..maps.figures import draw_map

    pids = [p for p in PARAMETERS if p in ds]
    ncols = 2 if len(pids) > 1 else 1
    nrows = max(1, math.ceil(len(pids) / ncols))
    lines = ds.attrs.get("image_lines") or ds.sizes["y"]
    samples = ds.attrs.get("image_samples") or ds.sizes["x"]
    thresholds = extent_thresholds(site.maps, site.rules)
    with drawing():
        fig = _figure(height=(WIDTH / ncols) * lines / samples * nrows * 0.92 + 0.3)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.flat[len(pids):]:
            ax.set_axis_off()
        for ax, pid in zip(axes.flat, pids, strict=False):
            draw_map(fig, ax, ds, pid, MAP_SCALES[pid], roi=site.roi, thresholds=thresholds.get(pid, ()),
                     title=pid)
        return to_data_uri(fig)


def map_strip_figure(datasets, param: str = "chl_a") -> str:
    """A day's maps of one parameter side by side on one colour scale (local times)."""
    from ..maps.figures import draw_map

    n = max(len(datasets), 1)
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    with drawing():
        fig = _figure(height=(WIDTH / ncols) * nrows * 1.05 + 0.4)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax in axes.flat:
            ax.set_axis_off()
        im = None
        for ax, ds in zip(axes.flat, datasets, strict=False):
            ax.set_axis_on()
            im = draw_map(fig, ax, ds, param, MAP_SCALES[param], colorbar=False,
                          title=str(ds["time"].values)[11:16] + " UTC")
        if im is not None:
            cb = fig.colorbar(im, ax=list(axes.flat), shrink=0.9, pad=0.02)
            cb.set_label(f"{param} [{PARAMETERS[param].unit}]")
        return to_data_uri(fig)


# --- alerts ------------------------------------------------------------------------------
def alert_intervals(src: Source) -> dict[str, list[tuple[np.datetime64, np.datetime64, bool]]]:
    """Firing intervals by rule: (start, end, still firing at the end of the period)."""
    start, end = src.start.astype("datetime64[s]"), src.end.astype("datetime64[s]")
    rules = [rule_id(r) for r in src.site.rules]
    for e in src.alerts.events:
        if e.rule not in rules:
            rules.append(e.rule)
    out: dict[str, list[tuple[np.datetime64, np.datetime64, bool]]] = {r: [] for r in rules}
    for rule in rules:
        opened: np.datetime64 | None = None
        events = [e for e in src.alerts.events if e.rule == rule]
        for e in events:
            t = np.datetime64(e.time.replace(tzinfo=None), "s")
            if e.status in ("firing", "escalated", "deescalated", "repeat") and opened is None:
                opened = t
            elif e.status == "resolved":
                out[rule].append((opened if opened is not None else start, t, False))
                opened = None
        state = src.alerts.states.get(rule, {})
        if opened is None and not events and state.get("status") == "firing" and state.get("since"):
            from datetime import datetime as _dt

            since = np.datetime64(_dt.fromisoformat(str(state["since"])).replace(tzinfo=None), "s")
            if since <= end:
                opened = max(since, start)
        if opened is not None:
            out[rule].append((opened, end, True))
    return out


def alerts_figure(src: Source) -> str:
    """One row per rule: firing intervals as red bars, firing ▲ and resolved ▼ notifications."""
    intervals = alert_intervals(src)
    rules = list(intervals)
    fig = _figure(height=1.9 + 0.45 * max(len(rules), 1))
    ax = fig.add_subplot()
    for i, rule in enumerate(rules):
        for a, b, still in intervals[rule]:
            x0 = mdates.date2num(a)
            w = max(mdates.date2num(b) - x0, 1e-4)
            ax.broken_barh([(x0, w)], (i - 0.28, 0.56), color=THRESHOLD, alpha=0.35 if still else 0.55, lw=0)
    for e in src.alerts.events:
        if e.rule not in rules:
            continue
        i = rules.index(e.rule)
        t = np.datetime64(e.time.replace(tzinfo=None), "s")
        if e.status in ("firing", "escalated"):
            ax.plot(t, i, "^", color=THRESHOLD, ms=10, mec="white")
        elif e.status == "resolved":
            ax.plot(t, i, "v", color="#2e7d32", ms=10, mec="white")
        else:  # de-escalations, repeats, acknowledgements, silences
            ax.plot(t, i, "o", color="#555", ms=5)
    if not src.alerts.events and not any(intervals.values()):
        ax.text(0.5, 0.5, "no alert in this period", transform=ax.transAxes, ha="center",
                va="center", color="#555")
    ax.set_yticks(range(len(rules)), rules)
    ax.set_ylim(max(len(rules), 1) - 0.4, -1.5)  # rules top-down in configuration order, room for the legend
    ax.grid(axis="y", visible=False)
    handles = [Line2D([], [], marker="^", color=THRESHOLD, ls="none", label="firing sent"),
               Line2D([], [], marker="v", color="#2e7d32", ls="none", label="resolved sent"),
               _patch(THRESHOLD, "firing")]
    ax.legend(handles=handles, loc="upper left", ncols=3, fontsize=10.5, framealpha=0.85,
              bbox_to_anchor=(0, 1.0))
    ax.set_title("alert timeline")
    _time_axis(ax, src)
    return to_data_uri(fig)


# --- completeness ------------------------------------------------------------------------
def completeness(src: Source) -> dict[str, object]:
    """Acquisitions received, accepted and rejected against the site's nominal cadence."""
    t = _times(src).astype("datetime64[s]")
    acc = _accepted(src)
    expected, how = expected_acquisitions(src)
    reasons: dict[str, int] = {}
    if src.n and "reason" in src.ds:
        for r, a in zip(src.ds["reason"].values.astype(str), acc, strict=True):
            if not a:
                reasons[r or "unspecified"] = reasons.get(r or "unspecified", 0) + 1
    gaps = np.diff(np.concatenate([[src.start], t, [src.end]]).astype("datetime64[s]")).astype(np.int64)
    return {
        "n": int(src.n), "accepted": int(acc.sum()), "rejected": int(src.n - acc.sum()),
        "expected": None if expected is None else int(expected.size),
        "completeness": None if expected is None or expected.size == 0 else src.n / expected.size,
        "rejected_share": (src.n - acc.sum()) / src.n if src.n else None,
        "reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "longest_gap_s": int(gaps.max()) if gaps.size else 0,
        "expected_times": expected,
        "cadence": how,
    }


def completeness_figure(src: Source, stats: dict[str, object]) -> tuple[str, str]:
    """Acquisitions per hour (per day past 3 weeks), accepted and rejected, vs the cadence.

    Returns the data URI and the bin name ("hour" or "day").
    """
    start, end = src.start.astype("datetime64[s]"), src.end.astype("datetime64[s]")
    span_days = (end - start).astype(np.int64) / 86400
    unit, step = ("hour", np.timedelta64(1, "h")) if span_days <= 21 else ("day", np.timedelta64(1, "D"))
    first = start.astype(f"datetime64[{'h' if unit == 'hour' else 'D'}]").astype("datetime64[s]")
    n_bins = int(np.ceil((end - first) / step)) or 1
    edges = first + np.arange(n_bins + 1) * step.astype("timedelta64[s]")
    e = edges.astype(np.int64)
    t = _times(src).astype("datetime64[s]").astype(np.int64)
    acc = _accepted(src)
    n_acc, _ = np.histogram(t[acc], bins=e)
    n_rej, _ = np.histogram(t[~acc], bins=e)
    fig = _figure()
    ax = fig.add_subplot()
    width = step.astype("timedelta64[s]").astype(np.int64) / 86400 * 0.85
    x = mdates.date2num(edges[:-1]) + width / 0.85 / 2
    ax.bar(x, n_acc, width=width, color="#4c9a5b", label="accepted")
    ax.bar(x, n_rej, width=width, bottom=n_acc, color="#b0b0b0", label="rejected")
    expected = stats.get("expected_times")
    if expected is not None:
        n_exp, _ = np.histogram(expected.astype(np.int64), bins=e)
        ax.stairs(n_exp, mdates.date2num(edges), color="#222", lw=1.4, label="expected (cadence)")
    ax.legend(loc="upper right", fontsize=10.5, framealpha=0.85, ncols=3)
    ax.set_ylabel(f"acquisitions per {unit}")
    ax.set_title(f"acquisitions per {unit}")
    top = max(int(n_acc.max(initial=0) + n_rej.max(initial=0)),
              int(np.histogram(expected.astype(np.int64), bins=e)[0].max(initial=0)) if expected is not None else 0, 1)
    ax.set_ylim(0, top * 1.25)
    _time_axis(ax, src)
    return to_data_uri(fig), unit
