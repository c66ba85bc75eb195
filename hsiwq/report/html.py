"""Assembling a report: one self-contained, responsive HTML page.

Images are embedded as base64 PNG data URIs; there is no script, no external style sheet, font
or image, and the page's Content-Security-Policy forbids fetching anything (``default-src
'none'; img-src data:``), so opening a report never makes a network request.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape

import numpy as np

from ..params import PARAMETERS
from ..retrieval.service import is_calibrated
from . import figures as F
from .data import Source
from .indicators import TLI_PARAMS, class_limits, gb_class, tli, tli_class

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root{--fg:#1d2733;--muted:#5b6b7b;--line:#d9e1e8;--accent:#1f4e79;--bg:#f5f7f9}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC",
 "Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1500px;margin:0 auto;padding:0 16px}
header{padding-top:12px}
h1{font-size:1.5rem;margin:.4em 0 .2em}
h2{font-size:1.25rem;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:2px solid var(--line)}
h3{font-size:1.05rem;margin:1.1em 0 .4em}
p{margin:.4em 0}
.meta{color:var(--muted);font-size:.92rem}
nav{display:flex;flex-wrap:wrap;gap:6px;margin:10px 0}
nav a{font-size:.9rem;padding:3px 9px;border:1px solid var(--line);border-radius:14px;
 background:#fff;color:var(--accent);text-decoration:none}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,440px),1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px;min-width:0}
figure img{display:block;width:100%;height:auto}
figcaption{font-size:.85rem;color:var(--muted);padding:4px 2px 0}
figcaption b{color:var(--fg)}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 10px;min-width:0}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;font-size:.9rem;background:#fff}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef2f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
.cls{display:inline-block;min-width:2.2em;text-align:center;border-radius:3px;padding:0 4px;
 font-size:.8rem;border:1px solid rgba(0,0,0,.12)}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:.8rem;font-weight:600}
.firing{background:#c0392b;color:#fff}.resolved{background:#2e7d32;color:#fff}
.pending{background:#e67e22;color:#fff}.inactive{background:#dde3e8;color:#333}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:8px 0;font-size:.92rem}
footer{color:var(--muted);font-size:.85rem;padding-bottom:24px}
@media (max-width:640px){body{font-size:15px}header,main,footer{padding:0 8px}
 h1{font-size:1.25rem}th,td{padding:3px 5px}}
"""


def fmt_time(t: np.datetime64 | datetime | None) -> str:
    if t is None:
        return "–"
    if isinstance(t, datetime):
        t = np.datetime64(t.astimezone(timezone.utc).replace(tzinfo=None), "s")
    return str(np.datetime64(t, "m")).replace("T", " ") + " UTC"


def fmt_value(v: float | None, unit: str = "") -> str:
    if v is None or not math.isfinite(v):
        return "–"
    text = f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
    return f"{text} {unit}".strip()


def fmt_share(x: float | None) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{100 * x:.1f} %"


def fmt_duration(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def class_chip(name: str) -> str:
    if not name:
        return ""
    i = ("I", "II", "III", "IV", "V", "worse than V").index(name)
    return (f'<span class="cls" style="background:{F.GB_COLORS[i]}" title="GB 3838 class">'
            f'{escape("> V" if i == 5 else name)}</span>')


def _latest(src: Source, name: str) -> tuple[float, np.datetime64 | None]:
    if name not in src.ds or not src.n:
        return math.nan, None
    v = src.ds[name].values.astype(float)
    ok = np.flatnonzero(np.isfinite(v))
    if not ok.size:
        return math.nan, None
    return float(v[ok[-1]]), src.ds["time"].values[ok[-1]]


def _table(head: list[str], rows: list[list[str]], cls: list[str] | None = None) -> str:
    """A table; cells are HTML already escaped by the caller."""
    cls = cls or [""] * len(head)
    out = ['<div class="table-wrap"><table><thead><tr>']
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="{c}">{x}</td>' if c else f"<td>{x}</td>"
                                    for x, c in zip(row, cls, strict=False)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _figure(uri: str, alt: str, caption: str, id: str | None = None, **data: str) -> str:  # noqa: A002
    attrs = (f' id="{escape(id)}"' if id else "") + "".join(f' data-{k}="{escape(v)}"' for k, v in data.items())
    return (f'<figure{attrs}><img src="{uri}" alt="{escape(alt)}" loading="lazy">'
            f"<figcaption>{caption}</figcaption></figure>")


# --- sections ----------------------------------------------------------------------------
def _summary(sources: list[Source], tlis: list[np.ndarray]) -> str:
    head = ["", *(escape(s.label) for s in sources)]
    rows: list[list[str]] = []
    rows.append(["site", *(escape(f"{s.site.name or s.site.id} ({s.site.waterbody})") for s in sources)])
    rows.append(["period", *(escape(f"{fmt_time(s.start)} – {fmt_time(s.end)}") for s in sources)])
    rows.append(["acquisitions", *(f"{s.n}" for s in sources)])
    last = []
    for s in sources:
        if s.n:
            v = str(s.ds["verdict"].values[-1])
            r = str(s.ds["reason"].values[-1]) if "reason" in s.ds else ""
            last.append(escape(f"{fmt_time(s.ds['time'].values[-1])}, {v}" + (f" ({r})" if r else "")))
        else:
            last.append("no acquisition in this period")
    rows.append(["newest acquisition", *last])
    firing = []
    for s in sources:
        names = s.alerts.firing
        firing.append(" ".join(f'<span class="badge firing">{escape(n)}</span>' for n in names) or "none")
    rows.append(["alerts firing now", *firing])
    for pid, p in PARAMETERS.items():
        cells = []
        for s in sources:
            v, _ = _latest(s, pid)
            limits, _ = class_limits(pid, s.site.waterbody)
            cells.append(f"{escape(fmt_value(v, p.unit))} {class_chip(gb_class(v, limits))}")
        label = escape(p.name) + ("" if p.optically_active else " <small>(estimated)</small>")
        rows.append([label, *cells])
    cells = []
    for s, idx in zip(sources, tlis, strict=True):
        ok = np.flatnonzero(np.isfinite(idx))
        cells.append(escape(f"{idx[ok[-1]]:.1f} – {tli_class(idx[ok[-1]])}") if ok.size else "–")
    rows.append(["TLI(Σ)", *cells])
    return ('<section id="summary"><h2>Latest values</h2>'
            "<p class=meta>Latest valid value of each parameter in the period, with its GB 3838 "
            "class where the standard sets limits.</p>"
            + _table(head, rows, ["", *["num"] * len(sources)]) + "</section>")


def _parameters(sources: list[Source]) -> str:
    out = ['<section id="parameters"><h2>Parameters over time</h2>',
           "<p class=meta>ROI median of each accepted acquisition; shaded: 68 % interval where "
           "the model gives one; background: GB 3838-2002 class bands (I–V, &gt;V); dashed: "
           "the site's alert level, dotted: its clear level; grey ticks: rejected "
           "acquisitions. Panels of one parameter share their scale.</p>"]
    single = len(sources) == 1
    if single:
        out.append('<div class="grid">')
    for pid, p in PARAMETERS.items():
        ylim = F.parameter_limits(sources, pid)
        if not single:
            out.append(f'<h3 id="param-{pid}">{escape(p.name)} [{escape(p.unit)}]</h3><div class="grid">')
        for src in sources:
            uri, notes = F.parameter_figure(src, pid, ylim, title=None if single else src.label)
            if not p.optically_active:
                notes.append("not optically active: estimated from regional covariance (lower confidence)")
            cap = f"<b>{escape(src.label)}</b> · {escape(p.id)} [{escape(p.unit)}]"
            if notes:
                cap += " · " + escape("; ".join(notes))
            out.append(_figure(uri, f"{p.name} at {src.label}", cap, id=f"param-{pid}" if single else None,
                               param=pid, source=src.label))
        if not single:
            out.append("</div>")
    if single:
        out.append("</div>")
    out.append("</section>")
    return "".join(out)


def _tli(sources: list[Source], tlis: list[np.ndarray]) -> str:
    top = max([100.0] + [float(np.nanmax(i)) + 5 for i in tlis if np.isfinite(i).any()])
    out = ['<section id="tli"><h2>Trophic state: TLI(Σ)</h2>',
           "<p class=meta>China's comprehensive trophic level index from chlorophyll-a (the "
           "reference, required) and TP, TN, Secchi depth and COD<sub>Mn</sub> where present "
           "(weights r²/Σr² over the components available at each acquisition); classes &lt;30 "
           "oligotrophic, 30–50 mesotrophic, 50–60 light, 60–70 middle, &gt;70 hypereutrophic.</p><div class=grid>"]
    for src, idx in zip(sources, tlis, strict=True):
        have = [pid for pid in TLI_PARAMS if pid in src.ds and np.isfinite(src.ds[pid].values).any()]
        missing = [pid for pid in TLI_PARAMS if pid not in have]
        cap = f"<b>{escape(src.label)}</b> · from {escape(', '.join(have) or 'nothing')}"
        if missing:
            cap += escape(f" (no values of {', '.join(missing)})")
        out.append(_figure(F.tli_figure(src, idx, (0.0, top)), f"TLI at {src.label}", cap,
                           source=src.label))
    out.append("</div></section>")
    return "".join(out)


def _map_caption(src: Source, ds, what: str) -> str:
    when = str(ds["time"].values)[:16].replace("T", " ")
    b = ds.attrs.get("block_pixels", "")
    where = (f"; camera {ds.attrs['camera_height_above_water_m']:.1f} m above the water"
             if "camera_height_above_water_m" in ds.attrs else "; image coordinates (no camera geometry)")
    return (f"<b>{escape(src.label)}</b> · {what} at {escape(when)} UTC · medians of "
            f"{escape(str(b))} × {escape(str(b))}-pixel blocks{escape(where)}; grey: too few valid "
            "pixels; dashed white: ROI; red: thresholds of the extent statistics")


def _block_maps(src: Source) -> str:
    """The chain's maps of a source: latest, chosen time, a strip of the latest day."""
    parts = ['<div class=card>', _figure(F.block_maps_figure(src.maps, src.site),
                                         f"parameter maps at {src.label}",
                                         _map_caption(src, src.maps, "latest maps"), source=src.label)]
    if src.map_chosen is not None:
        parts.append(_figure(F.block_maps_figure(src.map_chosen, src.site), f"chosen maps at {src.label}",
                             _map_caption(src, src.map_chosen, "maps nearest the chosen time"),
                             source=src.label))
    if len(src.map_strip) > 1:
        parts.append(_figure(F.map_strip_figure(src.map_strip), f"chl-a maps of the day at {src.label}",
                             f"<b>{escape(src.label)}</b> · chl-a maps through the day of the latest "
                             "map (up to 8, evenly spaced), one colour scale", source=src.label))
    parts.append("</div>")
    return "".join(parts)


def _maps(sources: list[Source], spectra_ylim: tuple[float, float]) -> str:
    out = ['<section id="maps"><h2>Latest parameter maps</h2><div class=grid>']
    for src in sources:
        if src.maps is not None and src.maps.attrs.get("hsiwq_maps"):
            out.append(_block_maps(src))
        elif src.maps is not None:
            when = src.maps.attrs.get("time", "")
            cap = (f"<b>{escape(src.label)}</b> · maps at {escape(str(when).replace('T', ' '))} UTC "
                   "over the RGB composite of the cube; fixed log colour scale per parameter")
            out.append(_figure(F.maps_figure(src.maps), f"parameter maps at {src.label}", cap,
                               source=src.label))
        else:
            cap = f"<b>{escape(src.label)}</b> · the newest accepted ROI spectrum"
            i = F.latest_index(src)
            rows = []
            if i is not None:
                for pid, p in PARAMETERS.items():
                    v = float(src.ds[pid].values[i]) if pid in src.ds else math.nan
                    if math.isfinite(v):
                        limits, _ = class_limits(pid, src.site.waterbody)
                        rows.append([escape(p.name), f"{escape(fmt_value(v, p.unit))} "
                                                     f"{class_chip(gb_class(v, limits))}"])
            out.append('<div class=card><p class="note">' + escape(src.label) + ": "
                       + escape(src.maps_note) + " — showing the latest ROI spectrum instead.</p>"
                       + _figure(F.latest_spectrum_figure(src, spectra_ylim),
                                 f"latest ROI spectrum at {src.label}", cap, source=src.label)
                       + (_table(["retrieved from it", ""], rows, ["", "num"]) if rows else "")
                       + "</div>")
    out.append("</div></section>")
    return "".join(out)


def _spectra(sources: list[Source], ylim: tuple[float, float]) -> str:
    out = ['<section id="spectra"><h2>Latest Rrs spectra and their QC</h2>',
           "<p class=meta>ROI-median remote-sensing reflectance of the newest acquisitions "
           "(accepted in colour, newest darkest; rejected dashed grey), with the acquisition "
           "QC.</p><div class=grid>"]
    for src in sources:
        rows = []
        if src.n:
            sl = slice(-F.N_SPECTRA, None)
            t = src.ds["time"].values[sl]
            cols = {k: (src.ds[k].values[sl] if k in src.ds else np.full(t.size, np.nan))
                    for k in ("valid_fraction", "n_valid", "sun_zenith_deg", "rho", "wind_speed_ms")}
            for i in range(t.size - 1, -1, -1):
                verdict = str(src.ds["verdict"].values[sl][i])
                reason = str(src.ds["reason"].values[sl][i]) if "reason" in src.ds else ""
                badge = "resolved" if verdict == "accepted" else "firing"
                nv = float(cols["n_valid"][i])
                rows.append([escape(fmt_time(t[i])),
                             f'<span class="badge {badge}">{escape(verdict)}</span>',
                             escape(reason or "–"),
                             escape(fmt_share(float(cols["valid_fraction"][i]))),
                             escape(f"{nv:.0f}" if math.isfinite(nv) else "–"),
                             escape(fmt_value(float(cols["sun_zenith_deg"][i]), "°")),
                             escape(fmt_value(float(cols["rho"][i]))),
                             escape(fmt_value(float(cols["wind_speed_ms"][i]), "m/s"))])
        table = _table(["time", "verdict", "reason", "valid ROI", "valid px", "sun zenith", "ρ", "wind"],
                       rows, ["t", "", "", "num", "num", "num", "num", "num"]) if rows else \
            "<p>No acquisition in this period.</p>"
        out.append('<div class=card>' + _figure(F.spectra_figure(src, ylim), f"Rrs spectra at {src.label}",
                                                f"<b>{escape(src.label)}</b> · Rrs [sr⁻¹]",
                                                source=src.label) + table + "</div>")
    out.append("</div></section>")
    return "".join(out)


def _alerts(sources: list[Source]) -> str:
    out = ['<section id="alerts"><h2>Alert timeline</h2>',
           "<p class=meta>Notifications sent for each rule (▲ firing, ▼ resolved) and the "
           "periods the rule was firing; the current state of each rule below.</p><div class=grid>"]
    for src in sources:
        parts = ['<div class=card>',
                 _figure(F.alerts_figure(src), f"alert timeline at {src.label}",
                         f"<b>{escape(src.label)}</b>", source=src.label)]
        if src.alerts.events:
            rows = [[escape(fmt_time(e.time)), escape(e.rule),
                     f'<span class="badge {escape(e.status)}">{escape(e.status)}</span>',
                     escape(e.severity), escape(e.message)] for e in src.alerts.events]
            parts.append(_table(["time", "rule", "status", "severity", "message"], rows,
                                ["t", "", "", "", ""]))
        else:
            parts.append("<p>No alert notification in this period.</p>")
        if src.alerts.states:
            items = []
            for rule, st in sorted(src.alerts.states.items()):
                status = str(st.get("status", "?"))
                since = st.get("since")
                lv = st.get("last_value")
                items.append(f'<li><b>{escape(rule)}</b> <span class="badge {escape(status)}">'
                             f"{escape(status)}</span>"
                             + (escape(f" since {fmt_time(datetime.fromisoformat(str(since)))}") if since else "")
                             + (escape(f"; last value {lv:.3g}") if isinstance(lv, (int, float)) else "")
                             + "</li>")
            parts.append("<p>Current state:</p><ul>" + "".join(items) + "</ul>")
        for note in src.alerts.notes:
            parts.append(f'<p class="note">{escape(note)}</p>')
        parts.append("</div>")
        out.append("".join(parts))
    out.append("</div></section>")
    return "".join(out)


def _completeness(sources: list[Source]) -> str:
    out = ['<section id="completeness"><h2>Data completeness</h2>',
           "<p class=meta>Acquisitions received per hour (per day beyond three weeks), accepted "
           "and rejected, against what the site's nominal acquisition cadence expects.</p><div class=grid>"]
    for src in sources:
        st = F.completeness(src)
        uri, unit = F.completeness_figure(src, st)
        expected = st["expected"]
        reasons = ", ".join(f"{k}: {v}" for k, v in st["reasons"].items()) or "–"
        rows = [["acquisitions received", escape(str(st["n"]))],
                ["expected at the cadence", escape(f"{expected} ({st['cadence']})" if expected is not None
                                                   else str(st["cadence"]))],
                ["completeness", escape(fmt_share(st["completeness"]))],
                ["accepted", escape(str(st["accepted"]))],
                ["rejected share", escape(fmt_share(st["rejected_share"]))],
                ["rejection reasons", escape(reasons)],
                ["longest gap", escape(fmt_duration(st["longest_gap_s"]))]]
        out.append('<div class=card>' + _figure(uri, f"acquisitions per {unit} at {src.label}",
                                                f"<b>{escape(src.label)}</b> · acquisitions per {unit}",
                                                source=src.label)
                   + _table(["", ""], rows, ["", "num"]) + "</div>")
    out.append("</div></section>")
    return "".join(out)


def _models(sources: list[Source]) -> str:
    out = ['<section id="models"><h2>Models in service</h2>',
           "<p class=meta>The model version behind each parameter (from the store's "
           "<code>model_version</code> label), when it was used, and its cross-validation "
           "metrics from the model registry. A model not calibrated for the site's region "
           "(the global default, a published algorithm) gives indicative values.</p><div class=grid>"]
    for src in sources:
        parts = [f"<div class=card><h3>{escape(src.label)}</h3>"]
        if not src.models:
            parts.append("<p>No model version recorded in this period.</p>")
        for m in src.models:
            rows = []
            for pid, version in sorted(m.by_parameter.items()):
                meta = m.metadata.get(pid, {})
                metrics = "; ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                    for k, v in meta.items()) or "none"
                mark = "" if is_calibrated(version, src.site.region) else " <b>(not calibrated for this region)</b>"
                rows.append([escape(pid), escape(version) + mark, escape(metrics)])
            parts.append(f"<p>{escape(fmt_time(m.first))} – {escape(fmt_time(m.last))}, "
                         f"{m.n} acquisition{'s' if m.n != 1 else ''}</p>"
                         + _table(["parameter", "model version", "CV metrics"], rows))
        parts.append(f"<p class=meta>Registry metadata: {escape(src.registry_note)}.</p></div>")
        out.append("".join(parts))
    out.append("</div></section>")
    return "".join(out)


NAV = (("summary", "Latest"), ("parameters", "Parameters"), ("tli", "TLI"), ("maps", "Maps"),
       ("spectra", "Spectra & QC"), ("alerts", "Alerts"), ("completeness", "Completeness"),
       ("models", "Models"))


def render(sources: list[Source], *, title: str | None = None, back_link: str | None = None,
           generated: datetime | None = None) -> str:
    """The whole report page for one or more sources (a comparison when several)."""
    generated = generated or datetime.now(timezone.utc)
    title = title or ("Water quality: " + " vs ".join(s.label for s in sources))
    tlis = [tli({pid: s.ds[pid].values for pid in TLI_PARAMS if pid in s.ds})[0] if s.n
            else np.zeros(0) for s in sources]
    with F.drawing():
        y_spectra = F.spectra_limits(sources)
        body = [_summary(sources, tlis), _parameters(sources), _tli(sources, tlis),
                _maps(sources, y_spectra), _spectra(sources, y_spectra), _alerts(sources),
                _completeness(sources), _models(sources)]
    nav = "".join(f'<a href="#{a}">{escape(b)}</a>' for a, b in NAV)
    back = f'<a href="{escape(back_link)}">← all sites</a>' if back_link else ""
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header>{back}<h1>{escape(title)}</h1>"
        f'<p class="meta">Generated {escape(fmt_time(generated))} by hsiwq. Times are UTC; '
        "units are those of the parameter catalogue.</p>"
        f"<nav>{nav}</nav></header><main>" + "".join(body) + "</main>"
        "<footer><p>Sources: GB 3838-2002 Environmental quality standards for surface water "
        "(Table 1 class limits; TP limits for rivers or for lakes and reservoirs, TN for lakes "
        "and reservoirs only); TLI(Σ) after Jin et al. (1990) and Wang et al. (2002). "
        "Permanganate index, COD, total nitrogen, total phosphorus and ammonia nitrogen are not "
        "optically active: they are estimated from their regional covariance with the optical "
        "parameters and carry lower confidence.</p></footer></body></html>\n")
