"""The models benchmark (``benchmarks/models.py``), its table printed into the test log.

``test_small_benchmark_table`` is a quick version (one water type, cheap candidates);
``test_full_benchmark`` runs the benchmark at full size — three water types, 400 training
matchups (15 % lab values missing), 2,000 test spectra, the 30,000-sample information limit
and the timings (calibrating 11 parameters from 2,000 matchups, predicting 100,000 spectra)
— and asserts the figures issue 4 must show, each against what the same run measured
(baselines, limit). It takes 10–12 minutes alone on two cores, ~20 under load (``slow``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmarks.models import baselines
from hsiwq.models.calibrator import RegionCalibrator
from hsiwq.models.metrics import mdsa
from hsiwq.models.predict import predict_models
from hsiwq.models.spectra import spectra_from_table
from hsiwq.simulate.matchups import simulate_matchups
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


#: Known misses today: cell -> (check, the most model MdSA may be over that check's bound as
#: a factor). Reported as xfail while exactly these miss and by no more; any other miss fails.
#: COD in the clear reservoir, whose cross-validated choice sits on a knife edge: 14.95 %
#: (stack) against PLS 14.85 % (docs/models.md §6). The sediment river's COD, listed here
#: until 2026-12-07 (14.88 %, 1.153 x its limit of 12.90 %), has met its bound since the
#: single stack margin (13.57 %) and must keep meeting it.
KNOWN_GAPS = {"clear_reservoir/cod": ("baseline", 1.02)}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_full_benchmark(capsys):
    """The full benchmark: the table in the log, then every must-show figure checked."""
    from benchmarks.models import LIMIT_FACTOR, measure, parse_args

    with capsys.disabled(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print()
        res = measure(parse_args([]))  # prints the table into the log as it goes
    problems, known = [], []

    def miss(cell: str, check: str, model: float, bound: float, line: str) -> None:
        kind, slack = KNOWN_GAPS.get(cell, ("", 0.0))
        (known if kind == check and model <= slack * bound else problems).append(line)

    for r in res.rows:
        cell = f"{r.water_type}/{r.parameter}"
        if not r.model <= r.baseline:
            miss(cell, "baseline", r.model, r.baseline,
                 f"{cell}: MdSA {r.model:.2f} % > better baseline {r.baseline:.2f} %")
        if not r.model <= LIMIT_FACTOR * r.limit:
            miss(cell, "limit", r.model, LIMIT_FACTOR * r.limit,
                 f"{cell}: MdSA {r.model:.2f} % > {LIMIT_FACTOR} × limit {r.limit:.2f} %")
        if not 0.60 <= r.coverage <= 0.76:
            problems.append(f"{cell}: 68 % interval covers {r.coverage:.3f}")
        if not r.false_ood <= 0.05:
            problems.append(f"{cell}: {r.false_ood:.3f} of its own water flagged out of domain")
    for model_of, applied_to, lo, _ in res.ood_other:
        if not lo >= 0.95:
            problems.append(f"model of {model_of} flags only {lo:.3f} of {applied_to} spectra")
    # the timings (≤ 60 s, ≤ 5 s) are the benchmark runner's to report, not a test's to assert
    print(f"timings: {res.timings}")
    assert not problems, "\n".join([res.summary()] + problems)
    if known:
        pytest.xfail("known gaps (docs/models.md §6): " + "; ".join(known))

