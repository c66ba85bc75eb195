"""The calibration report: scatter plots (PNG) and an HTML page of the metrics.

Written with matplotlib's Agg backend (no display needed). One PNG per parameter shows the
cross-validated predictions of the new model against the lab values on log axes, with the
1:1 line and ±MdSA band, and the default algorithm's values where it has one.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import numpy as np

from ..params import PARAMETERS
from .physics import FITTED_SIOPS


def _scatter(path: Path, pid: str, y: np.ndarray, oof: np.ndarray, default: np.ndarray | None,
             title: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    p = PARAMETERS[pid]
    fig, ax = plt.subplots(figsize=(4.6, 4.4), dpi=110)
    ok = np.isfinite(y) & np.isfinite(oof) & (y > 0) & (oof > 0)
    vals = [y[ok], oof[ok]]
    if default is not None:
        dok = np.isfinite(default) & (default > 0) & np.isfinite(y) & (y > 0)
        ax.scatter(y[dok], default[dok], s=8, c="0.7", label="default", zorder=1)
        vals.append(default[dok])
    ax.scatter(y[ok], oof[ok], s=10, c="tab:blue", label="new model (held out)", zorder=2)
    allv = np.concatenate([v for v in vals if v.size]) if any(v.size for v in vals) else np.array([1.0])
    lo, hi = np.nanmin(allv) / 1.3, np.nanmax(allv) * 1.3
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
           xlabel=f"lab {p.name} [{p.unit}]", ylabel=f"retrieved [{p.unit}]", title=title)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return f"{x:.3g}" if isinstance(x, float) else html.escape(str(x))


def _physics_section(outcome) -> str:
    """The regional SIOPs fitted to the matchups and the widening of the MAP prior (HTML)."""
    if outcome.siop is None:
        return ("<h2>Physics stage</h2><p>Not used: chlorophyll-a, phycocyanin, TSS and CDOM "
                "need enough matchups with all four lab values.</p>")
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(float(getattr(outcome.siop, k)))}</td></tr>"
                   for k in FITTED_SIOPS)
    return (f"<h2>Physics stage</h2><p>Regional specific IOPs fitted to the matchups (units in "
            f"<code>hsiwq.bio_optics.iops.IOPModel</code>); prior covariance of the MAP inversion "
            f"widened × {_fmt(outcome.prior_scale)}, chosen on the matchups.</p>"
            f"<table><tr><th>SIOP</th><th>fitted</th></tr>{rows}</table>")


def write_report(directory: str | Path, run) -> Path:
    """Write ``index.html``, ``summary.json`` and ``<parameter>.png`` for a calibration run.

    Parameters
    ----------
    directory : path
        Output folder (created).
    run : hsiwq.models.calibrate.CalibrationRun
        The run.

    Returns
    -------
    Path
        The HTML page.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rows, figs = [], []
    for pid, rep in run.outcome.reports.items():
        default = run.default_predictions.get(pid)
        m = rep.metrics[rep.chosen]
        title = f"{pid}: MdSA {m['mdsa']:.1f} % ({rep.chosen})"
        _scatter(out / f"{pid}.png", pid, rep.y, rep.oof, None if default is None else default[run.rows_of(pid)], title)
        figs.append(pid)
        d = run.default_metrics.get(pid, {})
        s = run.service_metrics.get(pid, {})
        rows.append([pid, rep.n, rep.chosen, m["mdsa"], m["sspb"], m["r2"], m["rmse"],
                     rep.metrics["selected"]["mdsa"], rep.interval_coverage,
                     d.get("mdsa"), run.default_labels.get(pid, "–"), s.get("mdsa"),
                     run.service_versions.get(pid, "–")])
    head = ["parameter", "n", "chosen", "CV MdSA %", "SSPB %", "R² (log)", "RMSE (log)",
            "CV MdSA % incl. choice", "68 % interval coverage (CV)", "default MdSA %", "default",
            "in service MdSA %", "in service"]
    table = "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(
        "<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>"
    cand_rows = []
    for pid, rep in run.outcome.reports.items():
        cand_rows.append("<tr><td>" + pid + "</td>" + "".join(
            f"<td>{_fmt(rep.metrics.get(c, {}).get('mdsa'))} / {_fmt(rep.metrics.get(c, {}).get('campaign_mdsa'))}</td>"
            for c in run.candidate_names) + "</tr>")
    cands = ("<table><tr><th>parameter</th>" + "".join(f"<th>{c}</th>" for c in run.candidate_names)
             + "</tr>" + "".join(cand_rows) + "</table>")
    physics = _physics_section(run.outcome)
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in run.outcome.skipped.items())
    nonopt = [p for p in run.outcome.reports if not PARAMETERS[p].optically_active]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>hsiwq calibration {html.escape(run.region)} {html.escape(run.version)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}img{{margin:4px}}</style></head><body>
<h1>Calibration of region {html.escape(run.region)}, version {html.escape(run.version)}</h1>
<p>{run.outcome.n_matchups} matchups from {run.outcome.n_groups} {html.escape(run.group_by)} groups,
source {html.escape(run.source)}, training data SHA-256 <code>{run.training_sha256[:16]}…</code>;
cross-validation grouped by {html.escape(run.group_by)}; fitted in {run.outcome.seconds:.1f} s.
{'Promoted to service.' if run.promoted else 'Registered, not in service (hsiwq models promote).'}</p>
<h2>Metrics (held-out, log space; after Morley et al. 2018, Pahlevan et al. 2020)</h2>{table}
<p>“in service” is the model serving before this calibration, evaluated on these matchups
(which it may have been trained on). Not optically active, estimated through regional
covariance only (lower confidence): {', '.join(nonopt) or 'none'}.</p>
<h2>Candidates (CV MdSA %: over all held-out matchups / mean over the folds, the score the choice uses)</h2>{cands}
{physics}
{'<h2>Skipped</h2><ul>' + skipped + '</ul>' if skipped else ''}
<h2>Held-out predictions against lab values</h2>
{''.join(f'<img src="{p}.png" alt="{p}">' for p in figs)}
</body></html>"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    summary = {"region": run.region, "version": run.version, "promoted": run.promoted,
               "rows": [dict(zip(head, r)) for r in rows],
               "siop": None if run.outcome.siop is None else dataclasses.asdict(run.outcome.siop),
               "physics_prior_scale": run.outcome.prior_scale}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float), encoding="utf-8")
    return index
