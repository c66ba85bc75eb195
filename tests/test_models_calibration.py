"""Calibration of a region: grouped cross-validation, selection, intervals, domain, any grid."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from sklearn.base import clone

from hsiwq.models.calibrator import RegionCalibrator
from hsiwq.models.metrics import mdsa
from hsiwq.models.physics import PRIOR_SCALES
from hsiwq.models.predict import predict_models
from hsiwq.models.spectra import resample, spectra_from_table
from hsiwq.simulate.matchups import simulate_matchups
from hsiwq.params import PARAMETER_IDS

#: A small, fast template for tests (the full candidate set is exercised by the benchmark).
FAST = RegionCalibrator(candidates=("ridge-physics", "ridge", "pls"), n_splits=3, n_jobs=1)


@lru_cache(maxsize=None)
def small_calibration(water: str = "eutrophic_lake", n: int = 160, seed: int = 11):
    """A fitted calibrator on simulated matchups (cached across test modules)."""
    table = simulate_matchups(water, n, seed=seed, missing_fraction=0.15)
    rrs, wl = spectra_from_table(table)
    cal = clone(FAST).fit(rrs, table[list(PARAMETER_IDS)].to_numpy(float), wavelength_nm=wl,
                          groups=table["time"].str[:10].to_numpy())
    return cal, table


def test_every_parameter_present_gets_a_model_and_metrics():
    cal, table = small_calibration()
    out = cal.result_
    assert set(out.models) == set(PARAMETER_IDS)
    for pid, rep in out.reports.items():
        assert rep.chosen in FAST.candidates
        assert rep.n == int(table[pid].notna().sum())  # matchups with missing lab values used elsewhere
        assert {"mdsa", "sspb", "r2", "rmse", "n"} <= set(rep.metrics[rep.chosen])
        assert "selected" in rep.metrics
    assert out.siop is not None and out.siop.aph_scale == pytest.approx(2.0, rel=0.1)
    assert out.prior_scale in PRIOR_SCALES  # recorded with the calibration


def test_folds_never_split_a_sampling_day():
    from sklearn.model_selection import GroupKFold

    table = simulate_matchups("eutrophic_lake", 120, seed=3)
    groups = table["time"].str[:10].to_numpy()
    for train, test in GroupKFold(3, shuffle=True, random_state=0).split(table, groups=groups):
        assert not set(groups[train]) & set(groups[test])


def test_model_beats_baseline_and_predicts_on_a_new_grid():
    cal, _ = small_calibration()
    test = simulate_matchups("eutrophic_lake", 300, seed=99)
    rrs, wl = spectra_from_table(test)
    models = {p: ("t", m) for p, m in cal.result_.models.items()}
    pred = predict_models(models, rrs, wl, "t")
    assert mdsa(test["chl_a"], pred.values["chl_a"]) < 5.0
    assert mdsa(test["tss"], pred.values["tss"]) < 5.0
    # another sensor: 3 nm bands over 395–905 nm, columns in any order
    wl3 = np.arange(395.0, 906.0, 3.0)
    fine = simulate_matchups("eutrophic_lake", 300, seed=99, wavelength_nm=wl3)
    r3, w3 = spectra_from_table(fine[fine.columns[::-1]])
    p3 = predict_models(models, r3, w3, "t")
    assert mdsa(test["chl_a"], p3.values["chl_a"]) < 8.0
    assert pred.owt is not None and pred.owt.shape == (300,)


def test_intervals_cover_held_out_truths_and_flags_other_water():
    cal, _ = small_calibration()
    models = {p: ("t", m) for p, m in cal.result_.models.items()}
    own = simulate_matchups("eutrophic_lake", 400, seed=7)
    rrs, wl = spectra_from_table(own)
    pred = predict_models(models, rrs, wl, "t")
    over = []
    for pid in ("chl_a", "tss", "tn"):
        y = own[pid].to_numpy()
        cover = np.mean((y >= pred.lo[pid]) & (y <= pred.hi[pid]))
        assert cover > 0.55, (pid, cover)
        if cover >= 0.82:
            over.append(f"{pid} covers {cover:.3f}")
        assert pred.ood[pid].mean() <= 0.06
    clear = simulate_matchups("clear_reservoir", 200, seed=8)
    r2, w2 = spectra_from_table(clear)
    p2 = predict_models(models, r2, w2, "t")
    assert min(p2.ood[pid].mean() for pid in PARAMETER_IDS) >= 0.95
    if over:  # known limit (docs/models.md §7): intervals of values the physics retrieves to a few per cent
        # are too wide after a small calibration (160 matchups, 3 folds: each fold's physics
        # stage is fitted on two thirds of them, so held-out residuals overstate the error)
        assert all(o.startswith("tss ") for o in over) and float(over[0].split()[-1]) < 0.86, over
        pytest.xfail("known limit (docs/models.md §7), 68 % interval too wide after a 3-fold "
                     "calibration: " + "; ".join(over))


def test_unusable_spectra_give_nan_and_ood():
    cal, _ = small_calibration()
    model = cal.result_.models["chl_a"]
    t = simulate_matchups("eutrophic_lake", 3, seed=5)
    rrs, wl = spectra_from_table(t)
    rrs[1, 50] = np.nan
    out = model.predict(rrs, wl)
    assert np.isnan(out["value"][1]) and out["ood"][1] == 1
    assert np.isfinite(out["value"][[0, 2]]).all()


def test_a_far_extrapolation_is_flagged_not_warned():
    # a regressor extrapolating to ln values beyond float range (seen with ridge candidates on
    # spectra unlike any training one) gives inf, flagged out of domain, without a warning
    import copy
    import warnings

    from sklearn.dummy import DummyRegressor

    cal, _ = small_calibration()
    model = copy.copy(cal.result_.models["chl_a"])
    t = simulate_matchups("eutrophic_lake", 3, seed=5)
    rrs, wl = spectra_from_table(t)
    model.regressor = DummyRegressor(strategy="constant", constant=800.0).fit(np.zeros((2, 1)), [0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model.predict(rrs, wl)
    assert np.isposinf(out["value"]).all() and np.isposinf(out["hi"]).all() and (out["ood"] == 1).all()
    model.regressor = DummyRegressor(strategy="constant", constant=np.log(20.0)).fit(np.zeros((2, 1)), [0, 0])
    out = model.predict(rrs, wl)
    assert np.allclose(out["value"], 20.0) and (out["lo"] < 20.0).all() and (out["hi"] > 20.0).all()


def test_parameters_without_enough_lab_values_are_skipped():
    table = simulate_matchups("sediment_river", 90, seed=4)
    table.loc[table.index[10:], "cod"] = np.nan  # 10 COD values only
    rrs, wl = spectra_from_table(table)
    ids = ["chl_a", "phycocyanin", "tss", "cdom", "cod"]
    cal = clone(FAST).set_params(parameters=ids, owt=False)
    cal.fit(rrs, table[ids].to_numpy(float), wavelength_nm=wl, groups=table["time"].str[:10].to_numpy())
    assert "cod" in cal.result_.skipped and "cod" not in cal.result_.models
    assert set(cal.result_.models) == {"chl_a", "phycocyanin", "tss", "cdom"}


def test_without_the_four_constituents_there_is_no_physics_stage():
    table = simulate_matchups("clear_reservoir", 80, seed=6)
    rrs, wl = spectra_from_table(table)
    cal = clone(FAST).set_params(parameters=["tss", "turbidity"])
    cal.fit(rrs, table[["tss", "turbidity"]].to_numpy(float), wavelength_nm=wl,
            groups=table["time"].str[:10].to_numpy())
    m = cal.result_.models["tss"]
    assert m.stages.physics is None and m.candidate != "ridge-physics"


def test_template_is_a_proper_estimator():
    t = RegionCalibrator(n_splits=4)
    assert clone(t).get_params() == t.get_params()
    with pytest.raises(ValueError, match="unknown candidates"):
        clone(t).set_params(candidates=("svm",)).fit(np.zeros((30, 120)), np.zeros((30, 11)),
                                                     wavelength_nm=np.linspace(400, 900, 120))
    with pytest.raises(ValueError, match="3 groups"):
        table = simulate_matchups("clear_reservoir", 30, seed=1)
        rrs, wl = spectra_from_table(table)
        clone(FAST).fit(rrs, table[list(PARAMETER_IDS)].to_numpy(float), wavelength_nm=wl,
                        groups=np.array(["a", "b"] * 15))
    # fitting does not change the template's parameters
    before = FAST.get_params()
    small_calibration()
    assert FAST.get_params() == before and not hasattr(FAST, "result_")


def test_resampling_of_the_training_grid_is_consistent():
    cal, table = small_calibration()
    stages = cal.result_.models["chl_a"].stages
    rrs, wl = spectra_from_table(table)
    assert resample(rrs, wl, stages.grid).shape == (len(table), stages.grid.size)


def test_progress_reports_every_parameter_once_in_parallel():
    table = simulate_matchups("eutrophic_lake", 90, seed=5)
    rrs, wl = spectra_from_table(table)
    calls = []
    cal = clone(FAST).set_params(n_jobs=2).fit(
        rrs, table[list(PARAMETER_IDS)].to_numpy(float), wavelength_nm=wl,
        groups=table["time"].str[:10].to_numpy(), progress=lambda *a: calls.append(a))
    done = [c for c in calls if c[1] > 0]
    # the physics stage announced first, then one line per parameter as each finishes
    assert calls[0][:2] == ("physics stage (cross-fitted SIOP inversion)", 0)
    assert [c[1] for c in done] == list(range(1, len(PARAMETER_IDS) + 1))
    assert {c[2] for c in done} == {len(PARAMETER_IDS)}
    assert sorted(c[0] for c in done) == sorted(f"{p} calibrated" for p in PARAMETER_IDS)
    # results in the catalogue's order whatever order the workers finished in
    assert list(cal.result_.reports) == list(PARAMETER_IDS)


def test_predictions_do_not_depend_on_the_block_size():
    """predict_models takes the spectra in blocks (memory); the values, bounds, flags and
    water types must be those of one block, with unusable spectra among them."""
    cal, _ = small_calibration()
    models = {p: ("t", m) for p, m in cal.result_.models.items()}
    rrs, wl = spectra_from_table(simulate_matchups("eutrophic_lake", 250, seed=21))
    rrs[[3, 40, 41], 10] = np.nan  # unusable rows in several blocks
    whole = predict_models(models, rrs, wl, "t", block_rows=10_000)
    for rows in (1, 7, 64):
        part = predict_models(models, rrs, wl, "t", block_rows=rows)
        for pid in PARAMETER_IDS:
            for name in ("values", "lo", "hi"):
                np.testing.assert_allclose(getattr(part, name)[pid], getattr(whole, name)[pid],
                                           rtol=1e-9, equal_nan=True)
            np.testing.assert_array_equal(part.ood[pid], whole.ood[pid])
        assert part.labels == whole.labels
        np.testing.assert_array_equal(part.owt, whole.owt)
    assert np.isnan(whole.values["chl_a"][[3, 40, 41]]).all()
    with pytest.raises(ValueError, match="block_rows"):
        predict_models(models, rrs, wl, "t", block_rows=0)
