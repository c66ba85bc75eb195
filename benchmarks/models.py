"""Benchmark of the regional models on simulated matchups (docs/models.md).

For each of the simulator's three water types: a calibration set (``--train`` matchups,
15 % of lab values missing) and an independent test set (``--test`` spectra). Reported per
parameter, as MdSA on the test set [%]:

- ``model``: :class:`hsiwq.models.RegionCalibrator` (defaults) fitted on the calibration set;
- ``pls-raw``: PLS with 10 components on raw Rrs; ``pls-logd``: PLS on log-Rrs and its first
  derivative (components 5–20 chosen by grouped CV) — baselines fitted in the same run;
- ``limit``: the best of gradient boosting and an MLP fitted on ``--limit-samples``
  simulated matchups (with the same features, and with the physics stage too), i.e. what
  the spectra can tell at all;

then the 68 % interval coverage of the test truths, the out-of-domain rates on the other
water types' spectra and on the model's own, and timings (calibrating 11 parameters from
2,000 matchups; predicting 100,000 spectra).

Usage: ``python -m benchmarks.models [--quick] [--skip-limit] [--out FILE.md]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

WATER_TYPES = ("clear_reservoir", "eutrophic_lake", "sediment_river")


def _fit_predict(model, X, y, Xt):
    from sklearn.base import clone

    ok = np.isfinite(y) & (y > 0)
    return np.exp(np.ravel(clone(model).fit(X[ok], np.log(y[ok])).predict(Xt)))


def baselines(train, test, ids):
    """Test predictions of the two PLS baselines, per parameter."""
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from hsiwq.models.features import SpectralFeatures
    from hsiwq.models.spectra import common_grid, resample, spectra_from_table

    r, wl = spectra_from_table(train)
    rt, wlt = spectra_from_table(test)
    grid = common_grid(wl)
    f = SpectralFeatures(wavelength_nm=tuple(grid), ratios=False, algorithms=False).fit(resample(r, wl, grid))
    L, Lt = f.transform(resample(r, wl, grid)), f.transform(resample(rt, wlt, grid))
    groups = train["time"].str[:10].to_numpy()
    out = {"pls-raw": {}, "pls-logd": {}}
    for pid in ids:
        y = train[pid].to_numpy(float)
        ok = np.isfinite(y)
        out["pls-raw"][pid] = _fit_predict(make_pipeline(StandardScaler(), PLSRegression(10)), r, y, rt)
        search = GridSearchCV(make_pipeline(StandardScaler(), PLSRegression()),
                              {"plsregression__n_components": [5, 10, 15, 20]},
                              cv=GroupKFold(5), scoring="neg_median_absolute_error")
        search.fit(L[ok], np.log(y[ok]), groups=groups[ok])
        out["pls-logd"][pid] = np.exp(np.ravel(search.best_estimator_.predict(Lt)))
    return out


def information_limit(big, test, ids, seed: int = 0):
    """Best test MdSA of boosting / MLP fitted on a large simulated set, per parameter."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from hsiwq.models.features import SpectralFeatures
    from hsiwq.models.metrics import mdsa
    from hsiwq.models.physics import CONSTITUENTS, RegionalPhysics
    from hsiwq.models.spectra import common_grid, resample, spectra_from_table

    r, wl = spectra_from_table(big)
    rt, wlt = spectra_from_table(test)
    grid = common_grid(wl)
    xg, xgt = resample(r, wl, grid), resample(rt, wlt, grid)
    f = SpectralFeatures(wavelength_nm=tuple(grid)).fit(xg)
    F, Ft = f.transform(xg), f.transform(xgt)
    Yc = big[list(CONSTITUENTS)].to_numpy(float)
    ph = RegionalPhysics().fit(r, Yc, wavelength_nm=wl, features=F, groups=big["time"].str[:10].to_numpy())
    sets = {"features": (F, Ft),
            "features+physics": (np.hstack([F, ph.transform(r, wavelength_nm=wl, features=F)]),
                                 np.hstack([Ft, ph.transform(rt, wavelength_nm=wlt, features=Ft)]))}
    best = {pid: (np.inf, "") for pid in ids}
    Y = np.log(big[list(ids)].to_numpy(float))
    for set_name, (A, At) in sets.items():
        for j, pid in enumerate(ids):
            hgb = HistGradientBoostingRegressor(max_iter=1000, learning_rate=0.05, max_leaf_nodes=31,
                                                min_samples_leaf=20, early_stopping=True,
                                                validation_fraction=0.1, n_iter_no_change=30,
                                                random_state=seed).fit(A, Y[:, j])
            m = mdsa(test[pid], np.exp(hgb.predict(At)))
            if m < best[pid][0]:
                best[pid] = (m, f"hgb/{set_name}")
        sy = StandardScaler().fit(Y)
        mlp = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(256, 128), alpha=1e-4,
                                                            early_stopping=True, max_iter=300,
                                                            n_iter_no_change=15, random_state=seed))
        mlp.fit(A, sy.transform(Y))
        P = sy.inverse_transform(mlp.predict(At))
        for j, pid in enumerate(ids):
            m = mdsa(test[pid], np.exp(P[:, j]))
            if m < best[pid][0]:
                best[pid] = (m, f"mlp/{set_name}")
    return best


class _Lines(list):
    """Report lines, also printed as they come (a long run shows its progress)."""

    def append(self, line: str) -> None:
        super().append(line)
        print(line, flush=True)


def run(args) -> str:
    from hsiwq.models.calibrator import RegionCalibrator
    from hsiwq.models.metrics import mdsa
    from hsiwq.models.predict import predict_models
    from hsiwq.models.spectra import spectra_from_table
    from hsiwq.models.synthetic import simulate_matchups
    from hsiwq.params import PARAMETER_IDS, PARAMETERS

    ids = list(PARAMETER_IDS)
    lines = _Lines()
    lines.append(f"hsiwq models benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
                 f"{os.cpu_count()} CPUs; train {args.train} (15 % lab values missing), test {args.test}, "
                 f"limit {0 if args.skip_limit else args.limit_samples} simulated matchups")
    tests = {wt: simulate_matchups(wt, args.test, seed=100 + k) for k, wt in enumerate(WATER_TYPES)}
    models, ood_rows, summary = {}, [], []
    for k, wt in enumerate(WATER_TYPES):
        train = simulate_matchups(wt, args.train, seed=10 + k, missing_fraction=0.15)
        r, wl = spectra_from_table(train)
        t0 = time.perf_counter()
        cal = RegionCalibrator(n_jobs=args.jobs).fit(r, train[ids].to_numpy(float), wavelength_nm=wl,
                                                     groups=train["time"].str[:10].to_numpy())
        secs = time.perf_counter() - t0
        out = cal.result_
        models[wt] = {p: ("bench", m) for p, m in out.models.items()}
        test = tests[wt]
        rt, wlt = spectra_from_table(test)
        pred = predict_models(models[wt], rt, wlt, wt)
        base = baselines(train, test, ids)
        limit = information_limit(simulate_matchups(wt, args.limit_samples, seed=1000 + k), test, ids) \
            if not args.skip_limit else {}
        lines.append(f"\n### {wt} (calibration {secs:.0f} s)\n")
        lines.append("| parameter | model MdSA % | chosen | PLS raw Rrs | PLS log-Rrs+deriv. | limit (30k) "
                     "| model / limit | ≤ better baseline | 68 % coverage | false OOD |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for pid in ids:
            y = test[pid].to_numpy(float)
            mm = mdsa(y, pred.values[pid])
            b1, b2 = mdsa(y, base["pls-raw"][pid]), mdsa(y, base["pls-logd"][pid])
            cov = float(np.mean((y >= pred.lo[pid]) & (y <= pred.hi[pid])))
            lim = limit.get(pid, (np.nan, ""))[0]
            ratio = mm / lim if np.isfinite(lim) else np.nan
            star = "" if PARAMETERS[pid].optically_active else "*"
            lines.append(f"| {pid}{star} | {mm:.2f} | {out.reports[pid].chosen} | {b1:.2f} | {b2:.2f} | "
                         f"{lim:.2f} | {ratio:.2f} | {'yes' if mm <= min(b1, b2) else 'NO'} | {cov:.3f} | "
                         f"{pred.ood[pid].mean():.3f} |")
            summary.append((wt, pid, mm, min(b1, b2), lim, cov, pred.ood[pid].mean()))
    lines.append("\n### Out-of-domain flags on another water type's spectra (share flagged, per parameter)\n")
    lines.append("| model of | applied to | min over parameters | max over parameters |")
    lines.append("|---|---|---|---|")
    for wt in WATER_TYPES:
        for other in WATER_TYPES:
            if other == wt:
                continue
            rt, wlt = spectra_from_table(tests[other])
            p = predict_models(models[wt], rt, wlt, wt)
            rates = [p.ood[pid].mean() for pid in ids]
            ood_rows.append(min(rates))
            lines.append(f"| {wt} | {other} | {min(rates):.3f} | {max(rates):.3f} |")
    lines.append("\n### Timings\n")
    lines.append(timings(args))
    s = np.array([(m, b, li, c, o) for _, _, m, b, li, c, o in summary], dtype=float)
    within = np.sum(s[:, 0] <= 1.15 * s[:, 2]) if not args.skip_limit else 0
    lines.append(f"\nSummary: {int(np.sum(s[:, 0] <= s[:, 1]))}/{len(s)} parameter × water type "
                 f"at or below the better baseline; {int(within)}/{len(s)} within 15 % of the limit; "
                 f"coverage {s[:, 3].min():.3f}–{s[:, 3].max():.3f}; false OOD ≤ {s[:, 4].max():.3f}; "
                 f"OOD on other water types ≥ {min(ood_rows):.3f}.")
    return "\n".join(lines)


def timings(args) -> str:
    """Calibrating 11 parameters from 2,000 matchups; predicting 100,000 spectra."""
    from hsiwq.models.calibrate import calibrate_region
    from hsiwq.models.calibrator import RegionCalibrator
    from hsiwq.models.matchups import matchups_from_table
    from hsiwq.models.predict import predict_models
    from hsiwq.models.registry import ModelRegistry
    from hsiwq.models.spectra import spectra_from_table
    from hsiwq.models.synthetic import simulate_matchups
    from hsiwq.params import PARAMETER_IDS
    from hsiwq.retrieval.service import retrieve_region
    from hsiwq.workspace import Workspace

    n_cal = args.timing_matchups
    table = simulate_matchups("eutrophic_lake", n_cal, seed=7, missing_fraction=0.15)
    r, wl = spectra_from_table(table)
    t0 = time.perf_counter()
    cal = RegionCalibrator(n_jobs=args.jobs).fit(r, table[list(PARAMETER_IDS)].to_numpy(float), wavelength_nm=wl,
                                                 groups=table["time"].str[:10].to_numpy())
    fit_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as td:
        ws = Workspace(Path(td))
        t0 = time.perf_counter()
        run = calibrate_region(matchups_from_table(table, "bench"), "bench", ws,
                               calibrator=RegionCalibrator(n_jobs=args.jobs), promote=True)
        full_s = time.perf_counter() - t0
        spectra = simulate_matchups("eutrophic_lake", args.predict_spectra, seed=8)
        rp, wlp = spectra_from_table(spectra)
        models = {p: ("v", m) for p, m in cal.result_.models.items()}
        t0 = time.perf_counter()
        predict_models(models, rp, wlp, "bench")
        pred_s = time.perf_counter() - t0
        reg = ModelRegistry(ws.registry_dir)
        t0 = time.perf_counter()
        reg.load_service("bench")
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        retrieve_region(rp, wlp, region="bench", workspace=ws)
        service_s = time.perf_counter() - t0
    return "\n".join([
        "| what | seconds |", "|---|---|",
        f"| calibrate 11 parameters from {n_cal} matchups (RegionCalibrator.fit, {args.jobs} jobs) | {fit_s:.1f} |",
        f"| same, whole `hsiwq calibrate` workflow (+ defaults scored, registry, report) | {full_s:.1f} |",
        f"| predict {args.predict_spectra} spectra, 11 parameters with intervals and OOD flags | {pred_s:.2f} |",
        f"| load and verify the 11 models of a region (SHA-256 + trusted types) | {load_s:.2f} |",
        f"| `retrieve_region` on the same {args.predict_spectra} spectra (service path, cached models) | {service_s:.2f} |",
        f"(calibration registered as {run.version})"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=400)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--limit-samples", type=int, default=30000)
    ap.add_argument("--skip-limit", action="store_true")
    ap.add_argument("--timing-matchups", type=int, default=2000)
    ap.add_argument("--predict-spectra", type=int, default=100000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--timings-only", action="store_true", help="only the timings")
    ap.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = ap.parse_args(argv)
    if args.quick:
        args.train, args.test, args.limit_samples = 200, 400, 3000
        args.timing_matchups, args.predict_spectra = 300, 5000
    warnings.filterwarnings("ignore")
    if args.timings_only:
        text = timings(args)
        print(text)
    else:
        text = run(args)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
