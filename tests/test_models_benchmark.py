"""A small version of ``benchmarks/models.py`` whose table is printed into the test log.

The full benchmark (400 training matchups per water type, 2,000 test spectra, 30,000-sample
information limit, timings) runs with ``HSIWQ_BENCH=1`` (about 15 minutes on two cores);
its figures are in docs/models.md.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from benchmarks.models import baselines
from hsiwq.models.calibrator import RegionCalibrator
from hsiwq.models.metrics import mdsa
from hsiwq.models.predict import predict_models
from hsiwq.models.spectra import spectra_from_table
from hsiwq.models.synthetic import simulate_matchups
from hsiwq.params import PARAMETER_IDS, PARAMETERS


def test_small_benchmark_table(capsys):
    ids = list(PARAMETER_IDS)
    train = simulate_matchups("eutrophic_lake", 300, seed=10, missing_fraction=0.15)
    test = simulate_matchups("eutrophic_lake", 800, seed=100)
    river = simulate_matchups("sediment_river", 300, seed=101)
    r, wl = spectra_from_table(train)
    cal = RegionCalibrator(candidates=("physics", "ridge-physics", "ridge", "pls"), n_jobs=1)
    cal.fit(r, train[ids].to_numpy(float), wavelength_nm=wl, groups=train["time"].str[:10].to_numpy())
    models = {p: ("t", m) for p, m in cal.result_.models.items()}
    rt, wlt = spectra_from_table(test)
    pred = predict_models(models, rt, wlt, "t")
    rr, wlr = spectra_from_table(river)
    other = predict_models(models, rr, wlr, "t")
    base = baselines(train, test, ids)
    rows = ["", "eutrophic lake, 300 training matchups (15 % lab values missing), 800 test spectra",
            f"{'parameter':12s} {'model':>7s} {'PLS raw':>8s} {'PLS logd':>9s} {'cov68':>6s} {'OOD own':>8s} {'OOD river':>9s}"]
    for pid in ids:
        y = test[pid].to_numpy()
        m, b1, b2 = mdsa(y, pred.values[pid]), mdsa(y, base["pls-raw"][pid]), mdsa(y, base["pls-logd"][pid])
        cov = np.mean((y >= pred.lo[pid]) & (y <= pred.hi[pid]))
        rows.append(f"{pid:12s} {m:7.2f} {b1:8.2f} {b2:9.2f} {cov:6.3f} {pred.ood[pid].mean():8.3f} "
                    f"{other.ood[pid].mean():9.3f}")
        if PARAMETERS[pid].optically_active and pid != "turbidity":
            assert m <= min(b1, b2), pid
        assert 0.55 <= cov <= 0.80, (pid, cov)
        assert pred.ood[pid].mean() <= 0.05 and other.ood[pid].mean() >= 0.95
    with capsys.disabled():
        print("\n".join(rows))


@pytest.mark.skipif(not os.environ.get("HSIWQ_BENCH"), reason="full benchmark: set HSIWQ_BENCH=1")
def test_full_benchmark(capsys):
    from benchmarks.models import main

    with capsys.disabled():
        assert main([]) == 0
