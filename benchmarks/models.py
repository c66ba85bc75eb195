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

With ``--simulator sim2`` the matchups (training, test and the limit's) come from the second,
independent simulator :mod:`benchmarks.sim2` instead of the package's (the timings stay on
the package's); ``python -m benchmarks.models_sim2`` runs that.

Usage: ``python -m benchmarks.models [--quick] [--skip-limit] [--simulator sim2] [--out FILE.md]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

WATER_TYPES = ("clear_reservoir", "eutrophic_lake", "sediment_river")
#: "Within 15 % of the limit": model MdSA ≤ this × the information limit.
LIMIT_FACTOR = 1.15


@dataclass
class Row:
    """One parameter × water type of the benchmark table (MdSA in %)."""

    water_type: str
    parameter: str
    model: float
    chosen: str
    pls_raw: float
    pls_logd: float
    limit: float
    coverage: float
    false_ood: float

    @property
    def baseline(self) -> float:
        """The better baseline's MdSA [%]."""
        return min(self.pls_raw, self.pls_logd)

    @property
    def ratio(self) -> float:
        """Model MdSA / information limit [-] (NaN without a limit)."""
        return self.model / self.limit if np.isfinite(self.limit) and self.limit > 0 else float("nan")


@dataclass
class BenchmarkResult:
    """What :func:`measure` found: the table rows, out-of-domain rates on the other water
    types' spectra (model of, applied to, min and max share over parameters), timings [s]
    and the report text (markdown)."""

    rows: list[Row] = field(default_factory=list)
    ood_other: list[tuple[str, str, float, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    calibration_s: dict[str, float] = field(default_factory=dict)
    #: water type → the calibration's :class:`~hsiwq.models.calibrator.CalibrationOutcome`
    outcomes: dict = field(default_factory=dict)
    text: str = ""

    def summary(self) -> str:
        """Counts of the must-show criteria and the worst cases."""
        r = self.rows
        n = len(r)
        below = [x for x in r if x.model <= x.baseline]
        lim = [x for x in r if np.isfinite(x.ratio)]
        within = [x for x in lim if x.ratio <= LIMIT_FACTOR]
        worst_b = max(r, key=lambda x: x.model / x.baseline)
        parts = [f"{len(below)}/{n} parameter × water type at or below the better baseline "
                 f"(worst model/baseline {worst_b.model / worst_b.baseline:.3f}: {worst_b.water_type} "
                 f"{worst_b.parameter})"]
        if lim:
            worst_l = max(lim, key=lambda x: x.ratio)
            parts.append(f"{len(within)}/{len(lim)} within {100 * (LIMIT_FACTOR - 1):.0f} % of the limit "
                         f"(worst ratio {worst_l.ratio:.2f}: {worst_l.water_type} {worst_l.parameter})")
        both = [x for x in lim if x.model <= min(x.baseline, LIMIT_FACTOR * x.limit)]
        if lim:
            parts.append(f"{len(both)}/{len(lim)} ≤ min(better baseline, {LIMIT_FACTOR} × limit)")
        parts.append(f"68 % coverage {min(x.coverage for x in r):.3f}–{max(x.coverage for x in r):.3f}")
        parts.append(f"false OOD ≤ {max(x.false_ood for x in r):.3f}")
        if self.ood_other:
            parts.append(f"OOD on other water types ≥ {min(o[2] for o in self.ood_other):.3f}")
        if self.timings:
            parts.append(f"calibrate {self.timings['calibrate']:.1f} s, predict {self.timings['predict']:.2f} s")
        return "Summary: " + "; ".join(parts) + "."


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


def simulator(name: str):
    """The matchup-table function of a simulator: ``hsiwq`` (the package's) or ``sim2``."""
    if name == "sim2":
        from benchmarks.sim2 import simulate_matchups
    else:
        from hsiwq.simulate.matchups import simulate_matchups
    return simulate_matchups


def measure(args) -> BenchmarkResult:
    """Run the benchmark (sizes in ``args``, see :func:`main`); the table is printed as it comes."""
    from hsiwq.models.calibrator import RegionCalibrator
    from hsiwq.models.metrics import mdsa
    from hsiwq.models.predict import predict_models
    from hsiwq.models.spectra import spectra_from_table
    from hsiwq.params import PARAMETER_IDS, PARAMETERS

    simulate_matchups = simulator(args.simulator)
    ids = list(PARAMETER_IDS)
    res = BenchmarkResult()
    lines = _Lines()
    lines.append(f"hsiwq models benchmark ({args.simulator} simulator) — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
                 f"{os.cpu_count()} CPUs; sample {args.sample}; train {args.train} (15 % lab values missing), "
                 f"test {args.test}, "
                 f"limit {0 if args.skip_limit else args.limit_samples} simulated matchups")
    sample = args.sample  # 1: train seeds 10–12, test 100–102; 2: 20–22 and 200–202; …
    tests = {wt: simulate_matchups(wt, args.test, seed=100 * sample + k) for k, wt in enumerate(WATER_TYPES)}
    models = {}
    for k, wt in enumerate(WATER_TYPES):
        train = simulate_matchups(wt, args.train, seed=10 * sample + k, missing_fraction=0.15)
        r, wl = spectra_from_table(train)
        t0 = time.perf_counter()
        cal = RegionCalibrator(n_jobs=args.jobs).fit(r, train[ids].to_numpy(float), wavelength_nm=wl,
                                                     groups=train["time"].str[:10].to_numpy())
        secs = time.perf_counter() - t0
        res.calibration_s[wt] = secs
        out = res.outcomes[wt] = cal.result_
        models[wt] = {p: ("bench", m) for p, m in out.models.items()}
        test = tests[wt]
        rt, wlt = spectra_from_table(test)
        pred = predict_models(models[wt], rt, wlt, wt)
        base = baselines(train, test, ids)
        limit = information_limit(simulate_matchups(wt, args.limit_samples, seed=1000 + k), test, ids) \
            if not args.skip_limit else {}
        lines.append(f"\n#### {wt} (calibration {secs:.0f} s)\n")
        lines.append(f"| parameter | model MdSA % | chosen | PLS raw Rrs | PLS log-Rrs+deriv. | limit ({args.limit_samples}) "
                     "| model / limit | ≤ better baseline | 68 % coverage | false OOD |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for pid in ids:
            y = test[pid].to_numpy(float)
            row = Row(wt, pid, mdsa(y, pred.values[pid]), out.reports[pid].chosen,
                      mdsa(y, base["pls-raw"][pid]), mdsa(y, base["pls-logd"][pid]),
                      limit.get(pid, (np.nan, ""))[0],
                      float(np.mean((y >= pred.lo[pid]) & (y <= pred.hi[pid]))), float(pred.ood[pid].mean()))
            res.rows.append(row)
            star = "" if PARAMETERS[pid].optically_active else "*"
            lines.append(f"| {pid}{star} | {row.model:.2f} | {row.chosen} | {row.pls_raw:.2f} | {row.pls_logd:.2f} | "
                         f"{row.limit:.2f} | {row.ratio:.2f} | {'yes' if row.model <= row.baseline else 'NO'} | "
                         f"{row.coverage:.3f} | {row.false_ood:.3f} |")
    lines.append("\n#### Out-of-domain flags on another water type's spectra (share flagged, per parameter)\n")
    lines.append("| model of | applied to | min over parameters | max over parameters |")
    lines.append("|---|---|---|---|")
    for wt in WATER_TYPES:
        for other in WATER_TYPES:
            if other == wt:
                continue
            rt, wlt = spectra_from_table(tests[other])
            p = predict_models(models[wt], rt, wlt, wt)
            rates = [float(p.ood[pid].mean()) for pid in ids]
            res.ood_other.append((wt, other, min(rates), max(rates)))
            lines.append(f"| {wt} | {other} | {min(rates):.3f} | {max(rates):.3f} |")
    if not args.skip_timings:
        lines.append("\n#### Timings\n")
        text, res.timings = timings(args)
        lines.append(text)
    lines.append("\n" + res.summary())
    res.text = "\n".join(lines)
    return res


def run(args) -> str:
    """The benchmark report (markdown)."""
    return measure(args).text


def timings(args) -> tuple[str, dict[str, float]]:
    """Calibrating 11 parameters from 2,000 matchups; predicting 100,000 spectra.

    Returns the markdown table and the figures [s] (``calibrate``, ``workflow``,
    ``predict``, ``load``, ``service``)."""
    from hsiwq.models.calibrate import calibrate_region
    from hsiwq.models.calibrator import RegionCalibrator
    from hsiwq.models.matchups import matchups_from_table
    from hsiwq.models.predict import predict_models
    from hsiwq.models.registry import ModelRegistry
    from hsiwq.models.spectra import spectra_from_table
    from hsiwq.simulate.matchups import simulate_matchups
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
    figures = {"calibrate": fit_s, "workflow": full_s, "predict": pred_s, "load": load_s, "service": service_s}
    return "\n".join([
        "| what | seconds |", "|---|---|",
        f"| calibrate 11 parameters from {n_cal} matchups (RegionCalibrator.fit, {args.jobs} jobs) | {fit_s:.1f} |",
        f"| same, whole `hsiwq calibrate` workflow (+ defaults scored, registry, report) | {full_s:.1f} |",
        f"| predict {args.predict_spectra} spectra, 11 parameters with intervals and OOD flags | {pred_s:.2f} |",
        f"| load and verify the 11 models of a region (SHA-256 + trusted types) | {load_s:.2f} |",
        f"| `retrieve_region` on the same {args.predict_spectra} spectra (service path, cached models) | {service_s:.2f} |",
        f"(calibration registered as {run.version})"]), figures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options (``--quick`` sets small sizes)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=int, default=400)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--limit-samples", type=int, default=30000)
    ap.add_argument("--sample", type=int, default=1,
                    help="independent draw of training and test sets (seeds 10·N+k and 100·N+k; "
                         "the limit's 30k models are the same for every N)")
    ap.add_argument("--skip-limit", action="store_true")
    ap.add_argument("--simulator", choices=("hsiwq", "sim2"), default="hsiwq",
                    help="where the matchups come from: the package's simulator or the second, "
                         "independent one (benchmarks/sim2; timings stay on the package's)")
    ap.add_argument("--timing-matchups", type=int, default=2000)
    ap.add_argument("--predict-spectra", type=int, default=100000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--timings-only", action="store_true", help="only the timings")
    ap.add_argument("--skip-timings", action="store_true", help="no timings")
    ap.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = ap.parse_args(argv)
    if args.quick:
        args.train, args.test, args.limit_samples = 200, 400, 3000
        args.timing_matchups, args.predict_spectra = 300, 5000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.timings_only:
        text = timings(args)[0]
        print(text)
    else:
        text = run(args)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
