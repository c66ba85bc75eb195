"""Building blocks of the regional models: metrics, spectra tables, simulator, features,
physics stage, intervals, domain, water types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsiwq.bio_optics.forward import ForwardModel
from hsiwq.models.domain import DomainModel
from hsiwq.models.features import SpectralFeatures
from hsiwq.models.metrics import mdsa, r2_log, rmse_log, sspb
from hsiwq.models.owt import OpticalWaterTypes
from hsiwq.models.physics import (NoiseModel, RegionalPhysics, Shapes, fit_siop, forward,
                                  map_invert)
from hsiwq.models.spectra import (SpectraError, common_grid, resample, rrs_columns,
                                  spectra_from_table)
from hsiwq.simulate.matchups import NO_NOISE, simulate_matchups
from hsiwq.models.uncertainty import ConformalInterval
from hsiwq.params import PARAMETER_IDS
from hsiwq.simulate.water_types import WATER_TYPES

from .conftest import physics_inputs


def test_mdsa_and_sspb_are_symmetric_in_log_space():
    y = np.array([1.0, 10.0, 100.0])
    assert mdsa(y, 2 * y) == pytest.approx(100.0)
    assert mdsa(y, y / 2) == pytest.approx(100.0)
    assert sspb(y, 2 * y) == pytest.approx(100.0)
    assert sspb(y, y / 2) == pytest.approx(-100.0)
    assert mdsa(y, y) == 0.0 and r2_log(y, y) == 1.0 and rmse_log(y, 10 * y) == pytest.approx(1.0)
    # missing and non-positive pairs are ignored
    assert mdsa([1.0, np.nan, 1.0], [1.1, 5.0, -1.0]) == pytest.approx(10.0)
    assert np.isnan(mdsa([np.nan], [1.0]))


def test_spectra_tables_any_order_and_grid():
    wl = [402.5, 400, 405]
    t = pd.DataFrame({"Rrs_405": [3.0], "site": ["x"], "Rrs_400": [1.0], "Rrs_402.5": [2.0]})
    rrs, w = spectra_from_table(t)
    assert list(w) == [400, 402.5, 405] and list(rrs[0]) == [1.0, 2.0, 3.0]
    assert rrs_columns(wl) == ["Rrs_402.5", "Rrs_400", "Rrs_405"]
    with pytest.raises(SpectraError, match="Rrs_<nm>"):
        spectra_from_table(pd.DataFrame({"a": [1]}))
    with pytest.raises(SpectraError, match="non-numeric"):
        spectra_from_table(pd.DataFrame({"Rrs_400": ["x"], "Rrs_410": [1.0]}))


def test_resample_interpolates_coarse_and_averages_fine_grids():
    src = np.arange(400.0, 901.0, 1.0)
    x = np.sin(src / 50.0)[None, :]
    tgt = np.arange(400.0, 901.0, 5.0)
    out = resample(x, src, tgt)
    assert np.allclose(out[0], np.sin(tgt / 50.0), atol=2e-3)  # box mean of 5 fine bands
    coarse = np.arange(398.0, 905.0, 4.2)
    out = resample(np.sin(coarse / 50.0)[None, :], coarse, tgt)
    assert np.allclose(out[0], np.sin(tgt / 50.0), atol=2e-3)  # linear interpolation
    with pytest.raises(SpectraError, match="do not cover"):
        resample(x[:, :100], src[:100], tgt)
    # a NaN in a band nobody needs does not spread
    y = x.copy()
    y[0, -1] = np.nan
    assert np.isfinite(resample(y, src, tgt[:50])).all()
    assert common_grid(np.linspace(398, 905, 120))[[0, -1]].tolist() == [400.0, 900.0]


def test_simulated_matchups_have_groups_missing_values_and_spectra():
    t = simulate_matchups("eutrophic_lake", 300, seed=1, missing_fraction=0.15)
    assert len(t) == 300 and set(PARAMETER_IDS) <= set(t.columns)
    missing = t[list(PARAMETER_IDS)].isna().mean()
    assert missing.between(0.08, 0.22).all()
    days = t["time"].str[:10]
    assert 50 < days.nunique() < 200  # several samples per sampling day
    rrs, wl = spectra_from_table(t)
    assert wl.size == 120 and np.isfinite(rrs).all()
    clean = simulate_matchups("eutrophic_lake", 5, seed=1, noise=NO_NOISE)
    r, w = spectra_from_table(clean)
    fm = ForwardModel(w, WATER_TYPES["eutrophic_lake"].iop)
    assert np.allclose(r, fm.rrs(clean.chl_a, clean.phycocyanin, clean.tss, clean.cdom))


def test_features_are_finite_and_named():
    t = simulate_matchups("clear_reservoir", 40, seed=2)
    rrs, wl = spectra_from_table(t)
    grid = common_grid(wl)
    x = resample(rrs, wl, grid)
    f = SpectralFeatures(wavelength_nm=tuple(grid)).fit(x)
    F = f.transform(x)
    names = f.get_feature_names_out()
    assert F.shape == (40, names.size) and np.isfinite(F).all()
    assert {"L_400", "alg_gilerson2", "alg_qaa_secchi", "ratio_708_665"} <= set(names)
    # a short grid drops what it cannot compute instead of failing
    short = grid[grid <= 700]
    g = SpectralFeatures(wavelength_nm=tuple(short)).fit(x[:, : short.size])
    assert "alg_gons" not in g.get_feature_names_out()
    with pytest.raises(ValueError, match="shape"):
        f.transform(x[:, :10])


def test_forward_model_matches_bio_optics_and_its_jacobian():
    wl = np.arange(400.0, 901.0, 5.0)
    m = WATER_TYPES["sediment_river"].iop
    lc = np.log([[30.0, 20.0, 40.0, 1.0], [2.0, 0.2, 300.0, 0.5]])
    s = Shapes.of(wl, m)
    assert np.allclose(forward(s, lc), ForwardModel(wl, m).rrs(*np.exp(lc).T), rtol=1e-12)
    r, jac = forward(s, lc, jacobian=True)
    for k in range(4):
        d = lc.copy()
        d[:, k] += 1e-6
        fd = (forward(s, d) - r) / 1e-6
        assert np.max(np.abs(fd - jac[..., k])) <= 1e-4 * np.max(np.abs(jac[..., k])) + 1e-12


def test_siop_fit_and_map_recover_noise_free_truth():
    t = simulate_matchups("eutrophic_lake", 80, seed=3, noise=NO_NOISE)
    rrs, wl = spectra_from_table(t)
    conc = t[["chl_a", "phycocyanin", "tss", "cdom"]].to_numpy()
    sel = (wl >= 410) & (wl <= 800)
    siop, noise = fit_siop(wl[sel], rrs[:, sel], conc)
    true = WATER_TYPES["eutrophic_lake"].iop
    assert siop.aph_scale == pytest.approx(true.aph_scale, rel=0.02)
    assert siop.b_bp_star_555 == pytest.approx(true.b_bp_star_555, rel=0.05)
    assert siop.s_cdom == pytest.approx(true.s_cdom, rel=0.02)
    state, _ = map_invert(Shapes.of(wl[sel], true), rrs[:, sel], np.tile(np.log([5, 1, 10, 0.7]), (80, 1)),
                          np.full(4, 100.0), NoiseModel(), n_iter=30)
    assert mdsa(conc[:, 0], np.exp(state[:, 0])) < 0.5
    assert mdsa(conc[:, 2], np.exp(state[:, 2])) < 0.5


def test_physics_stage_beats_its_prior_on_noisy_spectra():
    d = physics_inputs("eutrophic_lake", 150, 4, 200, 5)
    train, test, r, wl, rt, F, Ft = d.train, d.test, d.rrs, d.wavelength_nm, d.test_rrs, d.F, d.test_F
    ph = RegionalPhysics().fit(r, train[["chl_a", "phycocyanin", "tss", "cdom"]].to_numpy(),
                               wavelength_nm=wl, features=F, groups=train.time.str[:10].to_numpy())
    assert ph.siop_fitted_ and 0.005 < ph.noise_.relative < 0.05
    P = ph.transform(rt, wavelength_nm=wl, features=Ft)
    prior = ph.prior_mean(Ft)
    for k, pid in enumerate(("chl_a", "phycocyanin")):
        assert mdsa(test[pid], np.exp(P[:, k])) < mdsa(test[pid], np.exp(prior[:, k]))
    with pytest.raises(ValueError, match="fewer than 8 bands"):
        ph.transform(rt[:, :5], wavelength_nm=wl[:5], features=Ft)


def test_auto_prior_scale_widens_the_prior_where_the_spectra_tell_little():
    """Clear water: the population prior shrinks chl-a too hard; the factor chosen on the
    training matchups must retrieve independent spectra better than no widening. Turbid
    water (the river) must keep a prior near the population's."""
    def physics_mdsa(water: str, seed: int, scale) -> tuple[float, dict[str, float]]:
        d = physics_inputs(water, 300, seed, 400, seed + 1)
        train, test, r, wl, rt, F, Ft = d.train, d.test, d.rrs, d.wavelength_nm, d.test_rrs, d.F, d.test_F
        ph = RegionalPhysics(prior_scale=scale).fit(r, train[["chl_a", "phycocyanin", "tss", "cdom"]].to_numpy(),
                                                    wavelength_nm=wl, features=F,
                                                    groups=train.time.str[:10].to_numpy())
        P = ph.transform(rt, wavelength_nm=wl, features=Ft)
        return ph.prior_scale_, {pid: mdsa(test[pid], np.exp(P[:, k]))
                                 for k, pid in enumerate(("chl_a", "phycocyanin", "tss", "cdom"))}

    # three independent draws (training and test matchups); the gain is asserted on every
    # one and, on their mean, with the margin stated (measured seed 31: 14.3 % → 11.7 %)
    ratios = []
    for seed in (31, 41, 51):
        scale, auto = physics_mdsa("clear_reservoir", seed, "auto")
        one, fixed = physics_mdsa("clear_reservoir", seed, 1.0)
        assert one == 1.0 and scale >= 2.0, seed
        assert auto["chl_a"] < fixed["chl_a"] and auto["cdom"] < fixed["cdom"], (seed, auto, fixed)
        ratios.append(auto["chl_a"] / fixed["chl_a"])
    assert np.mean(ratios) < 0.9, ratios
    for seed in (32, 42):
        river_scale, _ = physics_mdsa("sediment_river", seed, "auto")
        assert river_scale <= 2.0, seed
    with pytest.raises(ValueError, match="prior_scale"):
        RegionalPhysics(prior_scale=-1.0).fit(np.ones((3, 10)), np.ones((3, 4)), wavelength_nm=np.arange(10.0),
                                              features=np.ones((3, 2)))


def test_conformal_interval_covers_its_level():
    # Ten independent draws of 1,000 calibration and 1,000 test residuals. One draw's coverage
    # has a standard deviation of about sqrt(2 * 0.68 * 0.32 / 1000) = 0.021 (binomial test
    # count plus the calibration quantile's own spread); the mean of ten, 0.0066. Bounds at
    # about 4 standard deviations: every draw within 0.68 ± 0.085, the mean within ± 0.027.
    covers = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        d = rng.uniform(0, 1, 2000)
        r = rng.standard_normal(2000) * (0.05 + 0.3 * d)  # heteroscedastic
        ci = ConformalInterval(0.68).fit(r[:1000], d[:1000, None])
        hw = ci.half_width(d[1000:, None])
        covers.append(np.mean(np.abs(r[1000:]) <= hw))
        assert hw[d[1000:] > 0.8].mean() > 2 * hw[d[1000:] < 0.2].mean()  # wider where harder
    assert np.all(np.abs(np.array(covers) - 0.68) < 0.085), covers
    assert abs(np.mean(covers) - 0.68) < 0.027, covers
    with pytest.raises(ValueError):
        ConformalInterval(1.5).fit(r, d[:, None])


def test_domain_flags_other_water_and_few_of_its_own():
    def feats(wt, n, seed):
        t = simulate_matchups(wt, n, seed=seed)
        rrs, wl = spectra_from_table(t)
        grid = common_grid(wl)
        return resample(rrs, wl, grid), grid

    own, grid = feats("clear_reservoir", 300, 1)
    f = SpectralFeatures(wavelength_nm=tuple(grid)).fit(own)
    dom = DomainModel().fit(f.transform(own))
    new_own, _ = feats("clear_reservoir", 400, 2)
    river, _ = feats("sediment_river", 200, 3)
    assert dom.flag(f.transform(new_own)).mean() <= 0.05
    assert dom.flag(f.transform(river)).mean() >= 0.95
    bad = f.transform(new_own[:3])
    bad[0, 0] = np.nan
    assert dom.flag(bad)[0] == 1


def test_learned_water_types_separate_the_simulated_waters():
    parts = [simulate_matchups(wt, 120, seed=k) for k, wt in enumerate(WATER_TYPES)]
    t = pd.concat(parts, ignore_index=True)
    rrs, wl = spectra_from_table(t)
    grid = common_grid(wl)
    x = resample(rrs, wl, grid)
    owt = OpticalWaterTypes(wavelength_nm=tuple(grid)).fit(x)
    m = owt.transform(x)
    assert owt.n_types_ >= 3 and np.allclose(m.sum(axis=1), 1.0)
    label = owt.predict(x)
    # each learned type is (almost) pure in one simulated water type
    for k in np.unique(label):
        share = t.loc[label == k, "water_type"].value_counts(normalize=True).iloc[0]
        assert share > 0.9
    # published class means (here: the three water types' mean shapes) by spectral angle
    cents = np.stack([x[t.water_type == wt].mean(axis=0) for wt in WATER_TYPES])
    pub = OpticalWaterTypes(wavelength_nm=tuple(grid), centroids=cents, centroid_wavelength_nm=grid).fit(x)
    hit = np.array(list(WATER_TYPES))[pub.predict(x)] == t.water_type.to_numpy()
    assert hit.mean() > 0.9  # eutrophic lake and river overlap a little


def test_compiled_and_numpy_map_agree(monkeypatch):
    t = simulate_matchups("sediment_river", 300, seed=9)
    rrs, wl = spectra_from_table(t)
    sel = (wl >= 410) & (wl <= 800)
    s = Shapes.of(wl[sel], WATER_TYPES["sediment_river"].iop)
    mu = np.log(t[["chl_a", "phycocyanin", "tss", "cdom"]].to_numpy()) + 0.2
    fast, chi_fast = map_invert(s, rrs[:, sel], mu, np.full(4, 0.5), NoiseModel(), 6)
    monkeypatch.setenv("HSIWQ_NO_NUMBA", "1")
    ref, chi_ref = map_invert(s, rrs[:, sel], mu, np.full(4, 0.5), NoiseModel(), 6)
    assert np.percentile(np.abs(fast - ref), 99, axis=0).max() < 5e-3  # numpy path is float32
    assert np.allclose(chi_fast, chi_ref, rtol=1e-2, atol=1e-6)
    assert mdsa(t["tss"], np.exp(fast[:, 2])) < 3.0
