"""Benchmark on real water: the bundled GLORIA matchups, split by country and by campaign.

Two questions, each against baselines fitted in the same run (docs/models.md, "Real water"):

1. **No regional model** (a new water body): leave-one-country-out over the countries with
   at least ``--min-samples`` lab values of a parameter. hsiwq's default (the global model,
   :mod:`hsiwq.models.global_model`, trained on the other countries) against gradient
   boosting on log-Rrs and band ratios trained on the other countries, the published
   calibration-free algorithms (the best of them with values for ≥ 80 % of the country's
   samples) and the former default (the semi-analytical inversion with generic SIOPs).
   Interval coverage is cross-conformal: each country's interval is calibrated on the other
   countries' held-out residuals.
2. **Calibrated** (a region with its own lab samples): within each such country, folds by
   campaign date; ``hsiwq calibrate``'s calibrator (with the global model *trained without
   that country* as its prior) fitted on the country's other campaigns, against PLS on
   log-Rrs and gradient boosting on log-Rrs and band ratios fitted on the same rows; the
   68 % interval coverage of the held-out lab values.

Every spectrum is kept (GLORIA-flagged ones too); a country whose spectra miss the NIR bands
is calibrated on the bands all its spectra have.

Usage: ``python -m benchmarks.real [--folds 5] [--part all|no-model|calibrated] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

PARAMETERS = ("chl_a", "tss", "cdom", "secchi")
#: Published calibration-free algorithms per parameter (hsiwq.retrieval names).
PUBLISHED = {
    "chl_a": ("gilerson2010-2band", "gilerson2010-3band", "ndci-mishra2012", "gons2005", "oc4-oreilly2000"),
    "tss": ("nechad2010",),
    "cdom": ("ficek2011", "qaa-cdom"),
    "secchi": ("qaa-lee2015",),
}
#: Least share of a country's samples a published algorithm must give a value for to count.
MIN_COVERAGE = 0.8


@dataclass
class Cell:
    """Figures of one country and parameter."""

    country: str
    parameter: str
    n: int
    mdsa: dict[str, float] = field(default_factory=dict)
    coverage: float = float("nan")
    notes: dict[str, str] = field(default_factory=dict)


def _mdsa(y, p) -> float:
    from hsiwq.models.metrics import mdsa

    return mdsa(y, p)


def baseline_features(rrs: np.ndarray, wl: np.ndarray) -> np.ndarray:
    """log10 Rrs of every band (NaN kept) and the global model's band ratios."""
    from hsiwq.models.global_features import NIR_RATIOS, VIS_RATIOS

    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.where(np.isfinite(rrs), np.log10(np.maximum(rrs, 1e-5)), np.nan)
    col = {float(w): i for i, w in enumerate(wl)}
    ratios = [L[:, col[a]] - L[:, col[b]] for a, b in VIS_RATIOS + NIR_RATIOS if a in col and b in col]
    return np.column_stack([L] + ratios)


def gb_baseline(random_state: int = 0):
    """Gradient boosting on log-Rrs and band ratios (missing bands allowed)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.08, min_samples_leaf=10,
                                         l2_regularization=1.0, random_state=random_state)


def pls_baseline():
    """PLS on standardised log10 Rrs, its components chosen by inner CV."""
    from hsiwq.models.candidates import ComponentSelectedPLS

    return ComponentSelectedPLS(n_components=(2, 3, 5, 8))


def published(rrs: np.ndarray, wl: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Each published algorithm's estimates, by parameter then algorithm name."""
    from hsiwq.retrieval.algorithms import RetrievalContext, load_algorithms, run_algorithm

    algs = load_algorithms()
    ctx = RetrievalContext()
    out: dict[str, dict[str, np.ndarray]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pid, names in PUBLISHED.items():
            out[pid] = {n: np.asarray(run_algorithm(algs[n], rrs, wl, ctx)[pid], dtype=float) for n in names}
    return out


def former_default(rrs: np.ndarray, wl: np.ndarray) -> dict[str, np.ndarray]:
    """The semi-analytical inversion with generic inland SIOPs (the default before the global model)."""
    from hsiwq.retrieval.defaults import retrieve_defaults

    ok = np.all(np.isfinite(rrs), axis=1)
    out = {p: np.full(rrs.shape[0], np.nan) for p in PARAMETERS}
    res = retrieve_defaults(np.where(ok[:, None], rrs, 0.0), wl, choice={p: "saa-lee1999" for p in PARAMETERS},
                            parameters=PARAMETERS)
    for p in PARAMETERS:
        out[p] = np.where(ok, res.values[p], np.nan)
    return out


def test_countries(data, min_samples: int) -> dict[str, list[str]]:
    """Countries with at least ``min_samples`` lab values, per parameter."""
    out = {}
    for pid in PARAMETERS:
        y = data.values[pid]
        names, counts = np.unique(data.country[np.isfinite(y) & (y > 0)], return_counts=True)
        out[pid] = sorted(names[counts >= min_samples])
    return out


def no_regional_model(data, gm, countries: dict[str, list[str]], log=print) -> list[Cell]:
    """Part 1: leave-one-country-out, hsiwq's default against the baselines."""
    from hsiwq.models.uncertainty import ConformalInterval

    pub = published(data.rrs, data.wavelength_nm)
    old = former_default(data.rrs, data.wavelength_nm)
    F = baseline_features(data.rrs, data.wavelength_nm)
    cells = []
    for pid in PARAMETERS:
        y = data.values[pid]
        # each row's held-out estimate from the band set the model uses for it (full first)
        est = np.full(len(data), np.nan)
        members = {}
        half = np.full(len(data), np.nan)
        for band_set in ("vis", "full"):
            cv = gm.cv_.get(f"{pid}/{band_set}")
            if cv is None:
                continue
            est[cv["rows"]] = cv["estimate"]
            members[band_set] = cv
        for band_set, cv in members.items():  # cross-conformal: calibrated on the other countries
            for c in np.unique(cv["group"]):
                other = cv["group"] != c
                if other.sum() < 10:
                    continue
                interval = ConformalInterval(level=gm.level).fit(
                    cv["truth"][other] - cv["estimate"][other],
                    gm._difficulty(cv["members"][other], cv["estimate"][other]))
                mine = cv["group"] == c
                rows = cv["rows"][mine]
                keep = est[rows] == cv["estimate"][mine]  # the set actually used
                half[rows[keep]] = interval.half_width(gm._difficulty(cv["members"][mine][keep],
                                                                      cv["estimate"][mine][keep]))
        ok = np.isfinite(y) & (y > 0)
        for c in countries[pid]:
            test = ok & (data.country == c)
            train = ok & (data.country != c)
            cell = Cell(c, pid, int(test.sum()))
            cell.mdsa["hsiwq"] = _mdsa(y[test], np.exp(est[test]))
            inside = np.abs(np.log(y[test]) - est[test]) <= half[test]
            cell.coverage = float(np.mean(inside[np.isfinite(half[test])]))
            gb = gb_baseline().fit(F[train], np.log(y[train]))
            cell.mdsa["gb"] = _mdsa(y[test], np.exp(gb.predict(F[test])))
            best, best_name = np.inf, ""
            for name, v in pub[pid].items():
                share = float(np.mean(np.isfinite(v[test]) & (v[test] > 0)))
                m = _mdsa(y[test], v[test])
                cell.notes[name] = f"{m:.1f} ({100 * share:.0f} %)"
                if share >= MIN_COVERAGE and m < best:
                    best, best_name = m, name
            cell.mdsa["published"] = best
            cell.notes["published"] = best_name or "none with values for 80 %"
            cell.mdsa["former-default"] = _mdsa(y[test], old[pid][test])
            cells.append(cell)
            log(f"  no model  {pid:7s} {c[:14]:14s} n={cell.n:4d} hsiwq {cell.mdsa['hsiwq']:6.1f} "
                f"gb {cell.mdsa['gb']:6.1f} published {best:6.1f} ({best_name}) "
                f"former {cell.mdsa['former-default']:7.1f} coverage {cell.coverage:.2f}")
    return cells


def _country_bands(rrs: np.ndarray) -> np.ndarray:
    """Bands every spectrum of a set has (a country without NIR: the visible ones)."""
    return np.all(np.isfinite(rrs), axis=0)


def calibrated(data, gm, countries: list[str], folds: int, log=print, **calibrator_params) -> list[Cell]:
    """Part 2: within each country, folds by campaign date."""
    from sklearn.model_selection import GroupKFold

    from hsiwq.models.calibrator import RegionCalibrator

    cells: dict[tuple[str, str], dict] = {}
    out: list[Cell] = []
    for c in countries:
        rows = np.flatnonzero(data.country == c)
        bands = _country_bands(data.rrs[rows])
        if bands.sum() < len(bands) and np.mean(np.all(np.isfinite(data.rrs[rows][:, ~bands]), axis=1)) > 0.5:
            # most spectra have every band: keep the bands, drop the few spectra without
            bands = np.ones_like(bands)
        rows = rows[np.all(np.isfinite(data.rrs[rows][:, bands]), axis=1)]
        X, wl = data.rrs[rows][:, bands], data.wavelength_nm[bands]
        Y = np.column_stack([data.values[p][rows] for p in PARAMETERS])
        dates = data.date[rows]
        F = baseline_features(X, wl)
        prior = gm.fold(c)
        n_splits = min(folds, np.unique(dates).size)
        t0 = time.perf_counter()
        for k, (tr, te) in enumerate(GroupKFold(n_splits, shuffle=True, random_state=0).split(X, groups=dates)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cal = RegionCalibrator(parameters=PARAMETERS, prior=prior, random_state=k,
                                       **calibrator_params).fit(
                    X[tr], Y[tr], wavelength_nm=wl, groups=dates[tr])
            for j, pid in enumerate(PARAMETERS):
                y = Y[:, j]
                lab_tr = tr[np.isfinite(y[tr]) & (y[tr] > 0)]
                lab_te = te[np.isfinite(y[te]) & (y[te] > 0)]
                if lab_te.size == 0:
                    continue
                acc = cells.setdefault((c, pid), {"y": [], "hsiwq": [], "lo": [], "hi": [], "gb": [], "pls": [],
                                                  "chosen": []})
                model = cal.result_.models.get(pid)
                if model is None or lab_tr.size < 20:
                    pred = {"value": np.full(lab_te.size, np.nan), "lo": np.full(lab_te.size, np.nan),
                            "hi": np.full(lab_te.size, np.nan)}
                else:
                    pred = model.predict(X[lab_te], wl)
                    acc["chosen"].append(model.candidate)
                acc["y"].append(y[lab_te])
                acc["hsiwq"].append(pred["value"])
                acc["lo"].append(pred["lo"])
                acc["hi"].append(pred["hi"])
                if lab_tr.size >= 20:
                    gb = gb_baseline(k).fit(F[lab_tr], np.log(y[lab_tr]))
                    acc["gb"].append(np.exp(gb.predict(F[lab_te])))
                    Lr = np.log10(np.maximum(X, 1e-5))
                    pls = pls_baseline().fit(Lr[lab_tr], np.log(y[lab_tr]))
                    acc["pls"].append(np.exp(pls.predict(Lr[lab_te])))
                else:
                    acc["gb"].append(np.full(lab_te.size, np.nan))
                    acc["pls"].append(np.full(lab_te.size, np.nan))
        log(f"  calibrated {c[:14]:14s} {n_splits} folds by date, {len(rows)} spectra, "
            f"{int(bands.sum())} bands, {time.perf_counter() - t0:.0f} s")
        for pid in PARAMETERS:
            if (c, pid) in cells:
                cell = _calibrated_cell(c, pid, cells[c, pid])
                if cell is not None:
                    out.append(cell)
                    log(f"  calibrated {pid:7s} {c[:14]:14s} n={cell.n:4d} hsiwq {cell.mdsa['hsiwq']:6.1f} "
                        f"gb {cell.mdsa['gb']:6.1f} pls {cell.mdsa['pls']:6.1f} coverage {cell.coverage:.2f} "
                        f"[{cell.notes['chosen']}]")
    return out


def _calibrated_cell(c: str, pid: str, acc: dict) -> Cell | None:
    """The figures of one country and parameter from its folds' held-out predictions."""
    y = np.concatenate(acc["y"])
    if y.size < 1:
        return None
    cell = Cell(c, pid, int(y.size))
    for k in ("hsiwq", "gb", "pls"):
        cell.mdsa[k] = _mdsa(y, np.concatenate(acc[k]))
    lo, hi = np.concatenate(acc["lo"]), np.concatenate(acc["hi"])
    ok = np.isfinite(lo)
    cell.coverage = float(np.mean((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))) if ok.any() else float("nan")
    cell.notes["chosen"] = ",".join(sorted(set(acc["chosen"])))
    cell.notes["inside"] = str(int(np.sum((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))))
    cell.notes["n_interval"] = str(int(ok.sum()))
    return cell


@dataclass
class RealBenchmark:
    """Both parts and their summaries."""

    no_model: list[Cell]
    calibrated: list[Cell]
    seconds: float

    def summary(self) -> dict:
        nm = self.no_model
        beat_nm = [c for c in nm if c.mdsa["hsiwq"] <= min(c.mdsa["gb"], c.mdsa["published"])]
        cal = [c for c in self.calibrated if c.n >= 1]
        beat_cal = [c for c in cal if c.mdsa["hsiwq"] <= min(c.mdsa["gb"], c.mdsa["pls"])]
        cov = {}
        for pid in PARAMETERS:
            inside = sum(int(c.notes["inside"]) for c in cal if c.parameter == pid)
            n = sum(int(c.notes["n_interval"]) for c in cal if c.parameter == pid)
            cov[pid] = inside / n if n else float("nan")
        chl = [c.mdsa["hsiwq"] for c in nm if c.parameter == "chl_a"]
        return {"no_model_cells": len(nm), "no_model_at_or_below_both": len(beat_nm),
                "no_model_misses": [f"{c.parameter}/{c.country}" for c in nm if c not in beat_nm],
                "chl_a_no_model_worst": max(chl) if chl else float("nan"),
                "calibrated_cells": len(cal), "calibrated_at_or_below_both": len(beat_cal),
                "calibrated_share": len(beat_cal) / len(cal) if cal else float("nan"),
                "calibrated_misses": [f"{c.parameter}/{c.country}" for c in cal if c not in beat_cal],
                "calibrated_coverage": cov, "seconds": round(self.seconds, 1)}

    def markdown(self) -> str:
        lines = ["### No regional model (leave-one-country-out)", "",
                 "| parameter | country | n | hsiwq (global) | GB, other countries | best published | "
                 "former default | 68 % coverage |", "|---|---|---|---|---|---|---|---|"]
        for c in self.no_model:
            lines.append(f"| {c.parameter} | {c.country} | {c.n} | **{c.mdsa['hsiwq']:.1f}** | {c.mdsa['gb']:.1f} | "
                         f"{c.mdsa['published']:.1f} ({c.notes['published']}) | {c.mdsa['former-default']:.1f} | "
                         f"{c.coverage:.2f} |")
        lines += ["", "### Calibrated on the country's other campaigns (folds by date)", "",
                  "| parameter | country | n | hsiwq calibrated | GB | PLS | 68 % coverage | chosen |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in self.calibrated:
            lines.append(f"| {c.parameter} | {c.country} | {c.n} | **{c.mdsa['hsiwq']:.1f}** | {c.mdsa['gb']:.1f} | "
                         f"{c.mdsa['pls']:.1f} | {c.coverage:.2f} | {c.notes['chosen']} |")
        s = self.summary()
        lines += ["", f"No regional model: {s['no_model_at_or_below_both']}/{s['no_model_cells']} cells at or "
                      f"below both baselines; worst chl-a {s['chl_a_no_model_worst']:.1f} %.",
                  f"Calibrated: {s['calibrated_at_or_below_both']}/{s['calibrated_cells']} cells at or below "
                  f"the better of GB and PLS ({100 * s['calibrated_share']:.0f} %); coverage "
                  + ", ".join(f"{k} {v:.2f}" for k, v in s["calibrated_coverage"].items()) + "."]
        return "\n".join(lines)


def run(min_samples: int = 60, folds: int = 5, log=print, parts=("no-model", "calibrated"),
        **calibrator_params) -> RealBenchmark:
    """Both parts on the bundled GLORIA matchups."""
    from hsiwq.models.gloria import load_gloria
    from hsiwq.models.global_model import GlobalModel

    t0 = time.perf_counter()
    data = load_gloria()
    countries = test_countries(data, min_samples)
    held = sorted(set().union(*countries.values()))
    log(f"GLORIA: {len(data)} spectra, {len(set(data.country))} countries; held out in turn: {', '.join(held)}")
    gm = GlobalModel(holdout=held, keep_folds=True).fit(data.rrs, data.values, data.country)
    log(f"global model, leave-one-country-out: {time.perf_counter() - t0:.0f} s")
    part1 = no_regional_model(data, gm, countries, log) if "no-model" in parts else []
    part2 = calibrated(data, gm, held, folds, log, **calibrator_params) if "calibrated" in parts else []
    part2 = [c for c in part2 if c.country in countries[c.parameter]]
    return RealBenchmark(part1, part2, time.perf_counter() - t0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-samples", type=int, default=60)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--part", choices=("all", "no-model", "calibrated"), default="all")
    ap.add_argument("--stack-margin", type=float, default=None,
                    help="RegionCalibrator's stack_margin (default: its own)")
    ap.add_argument("--out", default=None, help="write the summary and cells as JSON here")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parts = ("no-model", "calibrated") if args.part == "all" else (args.part,)
    extra = {} if args.stack_margin is None else {"stack_margin": args.stack_margin}
    bench = run(args.min_samples, args.folds, log=lambda s: print(s, flush=True), parts=parts, **extra)
    print(bench.markdown())
    print(json.dumps(bench.summary(), indent=2))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"summary": bench.summary(),
                       "no_model": [c.__dict__ for c in bench.no_model],
                       "calibrated": [c.__dict__ for c in bench.calibrated]}, fh, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
