"""The stack candidate: convex weights of cross-validated predictions, affine members folded
into one product, the baselines' PLS family as a candidate, and their safe serialisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.models import baselines
from hsiwq.models.calibrator import RegionCalibrator
from hsiwq.models.candidates import ComponentSelectedPLS, MeanRegressor, PhysicsColumn, stack_weights
from hsiwq.models.metrics import mdsa
from hsiwq.models.registry import TRUSTED_TYPES
from hsiwq.models.spectra import spectra_from_table
from hsiwq.simulate.matchups import simulate_matchups
from hsiwq.params import PARAMETER_IDS


def _data(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    y = X[:, 0] - 0.5 * X[:, 1] + 0.3 * np.sin(2 * X[:, 2]) + 0.1 * rng.normal(size=n)
    return X, y


def test_stack_weights_are_convex_and_prefer_the_better_member():
    rng = np.random.default_rng(1)
    y = rng.normal(size=500)
    P = y[:, None] + rng.normal(size=(500, 4)) * np.array([0.05, 0.5, 1.0, 2.0])
    w = stack_weights(P, y)
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert w[0] > 0.8 and w[3] == 0.0  # a weight under 2 % is dropped


def test_stack_keeps_at_most_one_costly_member_and_drops_light_ones():
    rng = np.random.default_rng(2)
    y = rng.normal(size=400)
    # two equally good, independent "costly" members and a weaker cheap one
    P = y[:, None] + rng.normal(size=(400, 3)) * np.array([0.3, 0.3, 0.6])
    costly = np.array([True, True, False])
    free = stack_weights(P, y)
    assert np.sum(free[:2] > 0) == 2
    w = stack_weights(P, y, min_weight=np.array([0.2, 0.2, 0.02]), costly=costly)
    assert np.sum(w[:2] > 0) == 1 and w.sum() == pytest.approx(1.0)
    assert np.all((w == 0) | (w >= np.array([0.2, 0.2, 0.02]) - 1e-12))


def test_mean_regressor_folds_affine_members_and_predicts_the_weighted_mean():
    X, y = _data()
    members = [
        ("physics", PhysicsColumn(column=0)),
        ("ridge", make_pipeline(StandardScaler(), RidgeCV())),
        ("ridge-cols", make_pipeline(ColumnTransformer([("x", StandardScaler(), [0, 1, 2])]), RidgeCV())),
        ("pls-logd", ComponentSelectedPLS(columns=list(range(8)), n_components=(1, 2, 4))),
        ("hgb", HistGradientBoostingRegressor(max_iter=30, random_state=0)),
    ]
    weights = [0.1, 0.2, 0.2, 0.2, 0.3]
    stack = MeanRegressor(members, weights=weights).fit(X, y)
    assert list(stack.nonlinear_) == [4]  # only boosting is predicted on its own
    Xt, _ = _data(50, seed=3)
    expected = sum(w * np.ravel(e.predict(Xt)) for w, e in zip(stack.weights_, stack.estimators_))
    np.testing.assert_allclose(stack.predict(Xt), expected, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="non-negative"):
        MeanRegressor(members[:2], weights=[1.0, -1.0]).fit(X, y)


def test_component_selected_pls_chooses_among_its_sizes_and_serialises_safely():
    X, y = _data()
    pls = ComponentSelectedPLS(columns=list(range(10)), n_components=(1, 3, 6)).fit(X, y)
    assert pls.n_components_ in (1, 3, 6)
    assert np.isfinite(pls.predict(X[:5])).all()
    with pytest.raises(ValueError, match="columns"):
        ComponentSelectedPLS(columns=[99]).fit(X, y)
    stack = MeanRegressor([("a", pls), ("b", make_pipeline(StandardScaler(), RidgeCV()))], weights=[0.5, 0.5]).fit(X, y)
    data = sio.dumps(stack)
    assert set(sio.get_untrusted_types(data=data)) <= TRUSTED_TYPES
    back = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_allclose(back.predict(X[:20]), stack.predict(X[:20]))


def test_calibrator_chooses_the_stack_and_scores_it_out_of_fold():
    ids = list(PARAMETER_IDS)
    table = simulate_matchups("eutrophic_lake", 160, seed=11, missing_fraction=0.15)
    rrs, wl = spectra_from_table(table)
    cal = RegionCalibrator(parameters=ids, candidates=("physics", "ridge-conc", "ridge-physics", "pls-logd", "stack"),
                           n_splits=3).fit(rrs, table[ids].to_numpy(float), wavelength_nm=wl,
                                           groups=table["time"].str[:10].to_numpy())
    reports = cal.result_.reports
    assert any(r.chosen == "stack" for r in reports.values())
    for pid, rep in reports.items():
        assert {"stack", "pls-logd", "ridge-conc", "selected"} <= set(rep.metrics)
        assert np.isfinite(rep.metrics["stack"]["mdsa"])
        if rep.chosen == "stack":
            assert isinstance(cal.result_.models[pid].regressor, MeanRegressor)
    with pytest.raises(ValueError, match="stack_margin"):
        RegionCalibrator(stack_margin=1.5).fit(rrs, table[ids].to_numpy(float), wavelength_nm=wl)


def test_choice_prefers_the_named_candidate_within_its_margin_then_the_stack():
    from hsiwq.models.calibrator import ChoiceRule
    names = ("ridge-conc", "ridge", "gp", "stack")
    score = {"ridge-conc": 0.109, "ridge": 0.100, "gp": 0.104, "stack": 0.102}
    assert ChoiceRule(0.05).choose(score, names) == "stack"
    assert ChoiceRule(0.05, "ridge-conc", 0.10).choose(score, names) == "ridge-conc"
    assert ChoiceRule(0.05, "ridge-conc", 0.05).choose(score, names) == "stack"   # 9 % worse: beyond 5 %
    assert ChoiceRule(0.0, "ridge-conc", 0.05).choose(score, names) == "ridge"
    assert ChoiceRule().choose(score, names) == "ridge"  # no margins: the lowest
    with pytest.raises(ValueError, match="constituent_margin"):
        RegionCalibrator(constituent_margin=-0.1).fit(np.ones((10, 3)), np.ones((10, 11)), wavelength_nm=[500, 600, 700])


def test_every_campaign_counts_alike_in_the_choice_score():
    """Hand case: candidate A fits one big campaign (8 rows, residual 0.1) and misses two small
    ones (2 rows each, residual 1.0); B is 0.3 off everywhere. Pooled over the 12 rows A's
    median is 0.1 and it would win; per campaign A scores (0.1 + 1 + 1) / 3 = 0.7, B 0.3."""
    from hsiwq.models.calibrator import ChoiceRule, _campaign_score, _selection_aware
    ly = np.zeros(12)
    folds = [(np.arange(8, 12), np.arange(8)), (np.r_[0:8, 10:12], np.arange(8, 10)),
             (np.arange(10), np.arange(10, 12))]
    a = np.r_[np.full(8, 0.1), np.full(4, -1.0)]
    b = np.full(12, 0.3)
    assert np.median(np.abs(a - ly)) == pytest.approx(0.1)       # the pooled score would pick A
    assert _campaign_score(a, ly, folds) == pytest.approx(0.7)
    assert _campaign_score(b, ly, folds) == pytest.approx(0.3)
    assert ChoiceRule().choose({"a": _campaign_score(a, ly, folds), "b": _campaign_score(b, ly, folds)},
                               ("a", "b")) == "b"
    # a fold without any finite held-out prediction is skipped; none at all scores inf
    a_nan = a.copy()
    a_nan[8:10] = np.nan
    assert _campaign_score(a_nan, ly, folds) == pytest.approx((0.1 + 1.0) / 2)
    assert _campaign_score(np.full(12, np.nan), ly, folds) == np.inf
    # the selection-aware predictions choose on the *other* folds only: leaving out the big
    # campaign, A scores 1.0 and B 0.3 (B); leaving out a small one, A 0.55 and B 0.3 (B)
    honest = _selection_aware({"a": a, "b": b}, ly, folds, ("a", "b"), ChoiceRule())
    np.testing.assert_allclose(honest, b)


def test_non_optical_parameters_keep_their_log_linear_relation_with_the_constituents():
    """COD, TN, … have no spectral signature: with ``constituent_margin=0.10`` the calibration
    keeps ridge on the retrieved constituents, and it recovers the simulator's relation on
    independent spectra; with the default (0), cross-validation chooses freely."""
    from hsiwq.bio_optics.covariance import nonoptical_from_optical
    ids = list(PARAMETER_IDS)
    water = "sediment_river"
    train = simulate_matchups(water, 300, seed=21, missing_fraction=0.15)
    test = simulate_matchups(water, 500, seed=22)
    rrs, wl = spectra_from_table(train)
    cands = ("physics", "ridge-conc", "ridge-physics", "ridge", "pls-logd", "stack")
    groups = train["time"].str[:10].to_numpy()
    cal = RegionCalibrator(parameters=ids, candidates=cands, constituent_margin=0.10).fit(
        rrs, train[ids].to_numpy(float), wavelength_nm=wl, groups=groups)
    nonoptical = ("cod_mn", "cod", "tn", "tp", "nh3_n")
    chosen = {p: cal.result_.reports[p].chosen for p in nonoptical}
    assert sum(c == "ridge-conc" for c in chosen.values()) >= 4, chosen
    # the relation itself at the true constituents: the floor of any estimate from them
    median = nonoptical_from_optical(water, test["chl_a"], test["tss"], test["cdom"])
    base = baselines(train, test, list(nonoptical))
    rt, wlt = spectra_from_table(test)
    ratio = []
    for p in nonoptical:
        err = mdsa(test[p], cal.result_.models[p].predict(rt, wlt)["value"])
        better = min(mdsa(test[p], base["pls-raw"][p]), mdsa(test[p], base["pls-logd"][p]))
        print(p, chosen[p], round(err, 2), "baseline", round(better, 2), "floor", round(mdsa(test[p], median[p]), 2))
        assert err <= better, (p, err, better)
        ratio.append(err / mdsa(test[p], median[p]))
    assert np.exp(np.mean(np.log(ratio))) <= 1.25, ratio
    plain = RegionCalibrator(parameters=ids, candidates=cands, constituent_margin=0.0).fit(
        rrs, train[ids].to_numpy(float), wavelength_nm=wl, groups=groups)
    assert sum(plain.result_.reports[p].chosen == "ridge-conc" for p in nonoptical) < 4


def test_stable_scaler_centres_a_column_constant_up_to_round_off():
    """A water-type membership that no training row has (≈ 1e-10, from a Gaussian mixture's
    posterior) must not put a held-out spectrum of that type 1e10 standard deviations out:
    StableScaler gives it scale 1 (centred only), keeps every other column as StandardScaler
    does, and a ridge on it predicts within the training range of ln y."""
    from hsiwq.models.candidates import StableScaler

    rng = np.random.default_rng(0)
    n = 80
    spectral = rng.normal(size=(n, 3)) * [1.0, 0.01, 7e-4]  # as small as a derivative feature
    membership = np.zeros(n)
    membership[5] = 1e-9  # one training row barely touches the type
    X = np.column_stack([spectral, membership])
    ly = spectral @ [0.5, 30.0, 100.0] + 0.1 * rng.normal(size=n)
    s = StableScaler().fit(X)
    ref = StandardScaler().fit(X)
    np.testing.assert_allclose(s.scale_[:3], ref.scale_[:3])  # ordinary columns untouched
    assert s.scale_[3] == 1.0 and ref.scale_[3] < 1e-9
    held_out = np.array([[0.0, 0.0, 0.0, 1.0]])  # a spectrum of the unseen type
    assert s.transform(held_out)[0, 3] == pytest.approx(1.0, abs=1e-9)
    stable = make_pipeline(StableScaler(), RidgeCV()).fit(X, ly).predict(held_out)[0]
    plain = make_pipeline(StandardScaler(), RidgeCV()).fit(X, ly).predict(held_out)[0]
    assert ly.min() - 1 < stable < ly.max() + 1
    assert abs(plain) > 1e3  # what the plain scaler did (1e7 in the calibrator's folds)
    data = sio.dumps(make_pipeline(StableScaler(), RidgeCV()).fit(X, ly))
    assert set(sio.get_untrusted_types(data=data)) <= TRUSTED_TYPES


def test_no_candidate_explodes_on_a_fold_whose_water_type_is_unseen():
    """Calibrating on two water types where one cross-validation fold holds all of one type:
    every linear candidate's held-out ln predictions stay within 3 of the lab values' ln
    range (before StableScaler, ridge and PLS reached 1e7 on such folds)."""
    import hsiwq.models.calibrator as calibrator

    lake = simulate_matchups("eutrophic_lake", 90, seed=21)
    river = simulate_matchups("sediment_river", 30, seed=22)
    table = pd.concat([lake, river], ignore_index=True)
    rrs, wl = spectra_from_table(table)
    groups = np.r_[np.repeat(["l1", "l2", "l3"], 30), np.repeat(["river"], 30)]
    seen = []
    original = calibrator._oof_predictions

    def spy(template, Z, ly, folds):
        out = original(template, Z, ly, folds)
        seen.append((type(template[-1]).__name__ if hasattr(template, "steps") else type(template).__name__,
                     float(np.nanmin(out) - ly.min()), float(np.nanmax(out) - ly.max())))
        return out

    calibrator._oof_predictions = spy
    try:
        RegionCalibrator(parameters=("chl_a", "tss"), candidates=("ridge-physics", "ridge", "pls"),
                         n_splits=4, n_jobs=1).fit(rrs, table[["chl_a", "tss"]].to_numpy(float),
                                                   wavelength_nm=wl, groups=groups)
    finally:
        calibrator._oof_predictions = original
    assert len(seen) == 6
    for name, below, above in seen:
        assert below > -3 and above < 3, (name, below, above)
