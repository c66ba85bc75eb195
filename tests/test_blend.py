"""Convex blends of ln estimates (hsiwq.models.blend) and the global model's CDOM blend with
the published algorithms: hand computations and known mixtures."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.models.blend import blend, fit_weights


def test_blend_hand_computed_with_a_missing_column():
    M = np.array([[1.0, 2.0, 4.0],
                  [1.0, np.nan, 4.0],
                  [np.nan, np.nan, np.nan]])
    w = np.array([0.5, 0.25, 0.25])
    out = blend(M, w)
    assert out[0] == pytest.approx(0.5 * 1 + 0.25 * 2 + 0.25 * 4)  # 2.0
    assert out[1] == pytest.approx((0.5 * 1 + 0.25 * 4) / 0.75)  # renormalised: 2.0
    assert np.isnan(out[2])


def test_blend_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="estimates must be"):
        blend(np.zeros((3, 2)), np.array([1.0, 0.0, 0.0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_weights_recovers_a_known_convex_mixture(seed):
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, 400))
    true = np.array([0.2, 0.5, 0.3])
    target = np.column_stack([a, b, c]) @ true
    w = fit_weights(np.column_stack([a, b, c]), target)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w >= 0)
    np.testing.assert_allclose(w, true, atol=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_weights_drops_a_column_of_pure_noise(seed):
    # the target is the first column plus heavy-tailed errors; the second is unrelated:
    # least absolute error gives the unrelated column (almost) nothing
    rng = np.random.default_rng(seed)
    good = rng.normal(size=500)
    target = good + 0.1 * rng.standard_t(2, size=500)
    w = fit_weights(np.column_stack([good, rng.normal(size=500)]), target)
    assert w[0] > 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_weights_count_every_group_the_same(seed):
    # a large group where model a is right and b is off, a small one where b is right and a
    # off: pooled absolute error follows the large group; the grouped objective (mean over
    # groups of each group's mean absolute error) weighs both, and its weights beat the
    # pooled ones and the equal ones by that objective; by hand, on the simplex it is
    # 0.5·(0.5·(1 − w)) + 0.5·(1.0·w) for weight w on a (errors 0.5 and 1.0 dominate the
    # noise): minimal at w = 0, i.e. all weight on b
    rng = np.random.default_rng(seed)
    n1, n2 = 400, 40
    t = rng.normal(size=n1 + n2)
    a = t + np.r_[0.05 * rng.normal(size=n1), 1.0 + 0.05 * rng.normal(size=n2)]
    b = t + np.r_[0.5 + 0.05 * rng.normal(size=n1), 0.05 * rng.normal(size=n2)]
    g = np.r_[np.zeros(n1), np.ones(n2)]
    M = np.column_stack([a, b])

    def objective(w):
        r = np.abs(M @ w - t)
        return np.mean([r[g == k].mean() for k in (0, 1)])

    pooled, grouped = fit_weights(M, t), fit_weights(M, t, g)
    assert pooled[0] > 0.9  # the large group decides
    assert grouped[1] > 0.9
    assert objective(grouped) < min(objective(pooled), objective(np.array([0.5, 0.5])))


def test_fit_weights_ignores_incomplete_rows_and_falls_back_to_equal_weights():
    M = np.column_stack([np.arange(20.0), np.full(20, np.nan)])
    assert fit_weights(M, np.arange(20.0)).tolist() == [0.5, 0.5]  # no complete row


def test_an_unknown_published_algorithm_is_named():
    from hsiwq.models.global_features import published_estimates

    with pytest.raises(ValueError, match="unknown published algorithms \\['ficek2012'\\]"):
        published_estimates(np.full((2, 19), 0.01), ["ficek2012"])


def test_a_published_member_of_another_parameter_is_refused():
    from hsiwq.models.global_model import GlobalModel

    rng = np.random.default_rng(0)
    X = rng.uniform(0.001, 0.02, (40, 19))
    values = {"chl_a": rng.uniform(1, 50, 40)}
    with pytest.raises(ValueError, match="\\['ficek2011'\\] do not estimate 'chl_a'"):
        GlobalModel(parameters=("chl_a",), published=(("chl_a", ("ficek2011",)),)).fit(
            X, values, np.repeat(["a", "b", "c", "d"], 10))


def test_the_bundled_global_model_blends_cdom_with_the_published_algorithms():
    """Its CDOM estimate is the weighted mean, in ln, of its two learners and Ficek et al.
    (2011) / the QAA, recomputed here by hand from each part; the other parameters are the
    learners' plain mean."""
    from hsiwq.models.gloria import load_gloria
    from hsiwq.models.global_bundle import bundled_global_model
    from hsiwq.models.global_features import BAND_SETS, all_band_features, global_features, published_estimates

    gm = bundled_global_model()
    data = load_gloria()
    olci = data.rrs[:300]
    feats = global_features(olci, "full")
    rows = np.all(np.isfinite(feats), axis=1)
    assert rows.sum() > 50
    out = gm.predict_olci(olci)
    assert {k.split("/")[0] for k in gm.weights_} == {"cdom"}
    assert set(BAND_SETS) == {k.split("/")[1] for k in gm.weights_}
    for pid in ("cdom", "chl_a"):
        members = gm.models_[f"{pid}/full"].predict_all(feats[rows], all_band_features(olci[rows]))
        if pid == "cdom":
            names, w = gm.weights_["cdom/full"]
            assert names == ("ficek2011", "qaa-cdom") and w.size == 4
            pub = published_estimates(olci[rows], names)
            M = np.hstack([members, pub])
            finite = np.isfinite(M)
            expected = (np.where(finite, M, 0) * w).sum(1) / (finite * w).sum(1)
        else:
            expected = members.mean(axis=1)
        np.testing.assert_allclose(np.log(out[pid]["value"][rows]), expected, rtol=1e-9, atol=1e-9)


def test_a_fold_predicts_its_held_out_rows_as_the_cross_validation_did():
    """``fold(g)`` is the model fitted without group ``g``'s lab values: its learners *and*
    the blend weights learnt on the other groups' held-out predictions. On ``g``'s rows it
    reproduces the cross-validated CDOM estimate (``cv_``), which the interval was calibrated
    on — and its weights differ from those learnt with every group. A group without CDOM
    lab values keeps the full weights (they never saw it); a model saved before fold
    weights were kept says so."""
    from hsiwq.models.gloria import load_gloria
    from hsiwq.models.global_model import GlobalModel

    data = load_gloria()
    gm = GlobalModel(parameters=("cdom",), members=("mlp",), keep_folds=True,
                     holdout=("Estonia", "Germany", "Japan", "Viet Nam"))
    gm.fit(data.rrs, data.values, data.country)
    cv = gm.cv_["cdom/full"]
    for group in ("Estonia", "Germany"):
        rows = cv["rows"][cv["group"] == group]
        fold = gm.fold(group)
        assert fold.weights_["cdom/full"][1] != pytest.approx(gm.weights_["cdom/full"][1])
        got = fold.predict_olci(data.rrs[rows])["cdom"]["value"]
        np.testing.assert_allclose(np.log(got), cv["estimate"][cv["group"] == group], rtol=1e-9, atol=1e-9)
    assert not np.isfinite(data.values["cdom"][data.country == "Viet Nam"]).any()
    no_lab = gm.fold("Viet Nam").weights_["cdom/full"]
    assert no_lab[0] == gm.weights_["cdom/full"][0]
    np.testing.assert_array_equal(no_lab[1], gm.weights_["cdom/full"][1])
    del gm.fold_weights_
    with pytest.warns(UserWarning, match="saved before fold blend weights were kept"):
        gm.fold("Estonia")
