"""How much the 68 % interval coverage of one calibration varies between draws (docs/models.md §6).

The benchmark (:mod:`benchmarks.models`) measures coverage per parameter × water type on
one training set and one test set. A conformal interval is calibrated on the held-out
residuals of ~340 lab values from ~130 sampling days, so the coverage it reaches on a test
set varies from one draw to the next even when it is right on average. This study repeats
the calibration on ``--draws`` independent training and test sets per water type (train
seeds 10·N+k, test seeds 100·N+k for draw N = 1, 2, …: draw 1 and 2 are the benchmark's
samples 1 and 2) and reports, over all parameter × water type cells:

- the mean, standard deviation, least and largest coverage, and the share of cells within
  60–76 %;
- what the binomial sampling of the calibration and test sets alone predicts for the
  standard deviation, sqrt(p(1−p)·(1/n_cal + 1/n_test)) with p = 0.68.

Usage: ``python -m benchmarks.coverage [--draws 4] [--train 400] [--test 2000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from benchmarks.models import WATER_TYPES


def coverage_cells(draw: int, train_n: int, test_n: int, jobs: int) -> list[tuple[str, str, float, int]]:
    """(water type, parameter, test coverage, calibration residuals) of one draw."""
    from hsiwq.models.calibrator import RegionCalibrator
    from hsiwq.models.predict import predict_models
    from hsiwq.models.spectra import spectra_from_table
    from hsiwq.simulate.matchups import simulate_matchups
    from hsiwq.params import PARAMETER_IDS

    ids = list(PARAMETER_IDS)
    cells = []
    for k, wt in enumerate(WATER_TYPES):
        train = simulate_matchups(wt, train_n, seed=10 * draw + k, missing_fraction=0.15)
        test = simulate_matchups(wt, test_n, seed=100 * draw + k)
        r, wl = spectra_from_table(train)
        cal = RegionCalibrator(n_jobs=jobs).fit(r, train[ids].to_numpy(float), wavelength_nm=wl,
                                                groups=train["time"].str[:10].to_numpy())
        rt, wlt = spectra_from_table(test)
        models = {p: ("study", m) for p, m in cal.result_.models.items()}
        pred = predict_models(models, rt, wlt, wt)
        for pid in models:
            y = test[pid].to_numpy(float)
            cover = float(np.mean((y >= pred.lo[pid]) & (y <= pred.hi[pid])))
            cells.append((wt, pid, cover, int(cal.result_.reports[pid].n)))
    return cells


def summarise(cells: list[tuple[str, str, float, int]], test_n: int) -> str:
    """Markdown summary of the coverage of the cells."""
    cov = np.array([c[2] for c in cells])
    n_cal = float(np.mean([c[3] for c in cells]))
    expected = np.sqrt(0.68 * 0.32 * (1.0 / n_cal + 1.0 / test_n))
    inside = np.mean((cov >= 0.60) & (cov <= 0.76))
    worst = sorted(cells, key=lambda c: abs(c[2] - 0.68), reverse=True)[:5]
    return "\n".join([
        "| cells | mean | sd | binomial sd (calibration + test sampling) | least | largest | within 60–76 % |",
        "|---|---|---|---|---|---|---|",
        f"| {cov.size} | {cov.mean():.3f} | {cov.std(ddof=1):.3f} | {expected:.3f} | {cov.min():.3f} | "
        f"{cov.max():.3f} | {100 * inside:.1f} % |",
        "",
        "Furthest from 0.68: " + ", ".join(f"{wt} {pid} {c:.3f}" for wt, pid, c, _ in worst) + ".",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=4)
    ap.add_argument("--train", type=int, default=400)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    cells = []
    for draw in range(1, args.draws + 1):
        t0 = time.perf_counter()
        got = coverage_cells(draw, args.train, args.test, args.jobs)
        cells += got
        print(f"draw {draw}: {len(got)} cells, coverage {min(c[2] for c in got):.3f}–"
              f"{max(c[2] for c in got):.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(summarise(cells, args.test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
