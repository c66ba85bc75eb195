"""The posterior-median correction of the physics stage (hsiwq.models.posterior)."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.models.features import SpectralFeatures
from hsiwq.models.metrics import mdsa
from hsiwq.models.physics import CONSTITUENTS, NoiseModel, RegionalPhysics, Shapes, forward
from hsiwq.models.posterior import scott_factor, simulate_region
from hsiwq.models.spectra import common_grid, resample, spectra_from_table
from hsiwq.simulate.matchups import DEFAULT_WAVELENGTH_NM, simulate_matchups
from hsiwq.simulate.water_types import WATER_TYPES

from .conftest import physics_inputs


def _lab(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cov = np.array([[0.30, 0.25, 0.05, 0.02], [0.25, 0.40, 0.05, 0.02],
                    [0.05, 0.05, 0.20, 0.01], [0.02, 0.02, 0.01, 0.05]])
    return np.log([2.0, 0.2, 3.0, 0.5]) + rng.standard_normal((n, 4)) @ np.linalg.cholesky(cov).T


def test_simulated_population_is_the_kernel_density_of_the_lab_values():
    s = Shapes.of(DEFAULT_WAVELENGTH_NM, WATER_TYPES["clear_reservoir"].iop)
    lab = _lab()
    quiet = NoiseModel(relative=0.0, absolute=0.0, gain=0.0, glint=0.0)
    logc, rrs = simulate_region(s, lab, quiet, 40000, np.random.default_rng(1))
    np.testing.assert_allclose(rrs, forward(s, logc), rtol=1e-12)
    h = scott_factor(300, 4)
    assert h == pytest.approx(300 ** -0.125)
    np.testing.assert_allclose(logc.mean(axis=0), lab.mean(axis=0), atol=0.02)
    # a Gaussian kernel of covariance h²·S widens the sample covariance S by 1 + h²
    np.testing.assert_allclose(np.cov(logc.T), (1 + h**2) * np.cov(lab.T), atol=0.02)


def test_simulated_noise_is_the_fitted_noise():
    s = Shapes.of(DEFAULT_WAVELENGTH_NM, WATER_TYPES["clear_reservoir"].iop)
    noise = NoiseModel(relative=0.015, absolute=0.0, gain=0.02, glint=0.0)
    logc, rrs = simulate_region(s, _lab(), noise, 20000, np.random.default_rng(2))
    ratio = np.log(rrs / forward(s, logc))
    gain = ratio.mean(axis=1)  # per-band errors average out over 120 bands
    assert np.std(gain) == pytest.approx(0.02, rel=0.05)
    assert np.std(ratio - gain[:, None]) == pytest.approx(0.015, rel=0.05)


def mdsa_ratio_interval(truth: np.ndarray, est: np.ndarray, ref: np.ndarray, level: float = 0.99,
                        n_boot: int = 2000) -> tuple[float, float]:
    """Central ``level`` interval of MdSA(est)/MdSA(ref) by a paired bootstrap over the spectra."""
    e = np.abs(np.log(est / truth))
    r = np.abs(np.log(ref / truth))
    idx = np.random.default_rng(0).integers(0, truth.size, (n_boot, truth.size))
    ratio = np.expm1(np.median(e[idx], axis=1)) / np.expm1(np.median(r[idx], axis=1))
    lo, hi = np.quantile(ratio, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


@pytest.fixture(scope="module")
def clear_physics():
    d = physics_inputs("clear_reservoir", 400, 31, 3000, 32)
    train, test, r, wl, rt, f, F, Ft = (d.train, d.test, d.rrs, d.wavelength_nm, d.test_rrs, d.features, d.F,
                                        d.test_F)
    ph = RegionalPhysics().fit(r, train[list(CONSTITUENTS)].to_numpy(), wavelength_nm=wl, features=F,
                               groups=train.time.str[:10].to_numpy())
    return ph, wl, f, test, rt, Ft


def test_correction_retrieves_clear_water_chlorophyll_better_than_the_map(clear_physics):
    """Chl-a of a clear reservoir moves Rrs by a few per cent: the posterior median of the
    region's population beats the MAP by more than 4 % of its MdSA. Asserted on the upper end
    of the 99 % paired-bootstrap interval of the MdSA ratio over 3,000 test spectra, not on
    one draw's point estimate: on 1,500 test spectra the ratio was 0.942 when first measured
    and 0.976 for a later version, either side of the bound. Measured with three independent
    training draws (seeds 31, 41, 51, 400 matchups each): 0.86, 0.85, 0.85, upper bounds 0.93,
    0.90, 0.91; on the benchmark's draws 0.84–0.88 (11.6 → 9.8–10.2 %). Where the MAP is
    already sharp (TSS, CDOM) the correction does no harm."""
    ph, wl, _, test, rt, Ft = clear_physics
    names = list(ph.feature_names_out_)
    P = ph.transform(rt, wavelength_nm=wl, features=Ft)
    assert ph.posterior_ is not None and names[-1] == "phys_chi2"
    est = {(kind, c): np.exp(P[:, names.index(f"{kind}_{c}")])
           for kind in ("phys", "post") for c in CONSTITUENTS}
    truth = test["chl_a"].to_numpy()
    lo, hi = mdsa_ratio_interval(truth, est["post", "chl_a"], est["phys", "chl_a"])
    assert hi < 0.96, (lo, hi)
    for c in ("tss", "cdom"):
        assert mdsa(test[c], est["post", c]) < 1.05 * mdsa(test[c], est["phys", c])


def test_correction_stays_within_its_simulated_range_on_foreign_water(clear_physics):
    ph, wl, f, *_ = clear_physics
    river = simulate_matchups("sediment_river", 300, seed=33)
    rr, _ = spectra_from_table(river)
    names = list(ph.feature_names_out_)
    P = ph.transform(rr, wavelength_nm=wl, features=f.transform(resample(rr, wl, common_grid(wl))))
    shift = np.column_stack([P[:, names.index(f"post_{c}")] - P[:, names.index(f"phys_{c}")]
                             for c in CONSTITUENTS])
    assert np.all(np.isfinite(shift))
    lo, hi = ph.posterior_.bounds_
    assert np.all(shift >= lo - 1e-9) and np.all(shift <= hi + 1e-9)


def test_models_saved_before_the_correction_keep_their_eight_columns(clear_physics):
    ph, wl, _, _, rt, Ft = clear_physics
    new = ph.transform(rt[:50], wavelength_nm=wl, features=Ft[:50])
    old = RegionalPhysics(posterior_samples=0)
    old.__dict__.update({k: v for k, v in ph.__dict__.items() if k.endswith("_") and k != "posterior_"})
    old.feature_names_out_ = np.array([n for n in ph.feature_names_out_ if not n.startswith("post_")], dtype=object)
    legacy = old.transform(rt[:50], wavelength_nm=wl, features=Ft[:50])
    keep = [i for i, n in enumerate(ph.feature_names_out_) if not n.startswith("post_")]
    assert legacy.shape == (50, 8)
    np.testing.assert_allclose(legacy, new[:, keep])


def test_without_simulation_the_posterior_columns_repeat_the_map():
    train = simulate_matchups("clear_reservoir", 120, seed=34)
    r, wl = spectra_from_table(train)
    grid = common_grid(wl)
    F = SpectralFeatures(wavelength_nm=tuple(grid)).fit(resample(r, wl, grid)).transform(resample(r, wl, grid))
    ph = RegionalPhysics(posterior_samples=0).fit(r, train[list(CONSTITUENTS)].to_numpy(), wavelength_nm=wl,
                                                  features=F)
    P = ph.transform(r, wavelength_nm=wl, features=F)
    assert ph.posterior_ is None and P.shape[1] == 12
    np.testing.assert_array_equal(P[:, 7:11], P[:, :4])
    with pytest.raises(ValueError, match="posterior_samples"):
        RegionalPhysics(posterior_samples=-5).fit(r, train[list(CONSTITUENTS)].to_numpy(), wavelength_nm=wl,
                                                  features=F)


def test_correction_skips_rows_with_non_finite_input_and_other_grids(clear_physics):
    ph, wl, f, _, rt, Ft = clear_physics
    names = list(ph.feature_names_out_)
    post = [names.index(f"post_{c}") for c in CONSTITUENTS]
    phys = [names.index(f"phys_{c}") for c in CONSTITUENTS]
    P = ph.transform(rt[:20], wavelength_nm=wl, features=Ft[:20])
    state = np.column_stack([P[:, phys], P[:, 5:7], P[:, -1]])
    state[3, 0] = np.nan
    out = ph.posterior_.predict(rt[:20], state, wavelength_nm=wl)
    np.testing.assert_array_equal(out[3, 1:], state[3, 1:4])  # the row keeps its MAP
    np.testing.assert_allclose(np.delete(out, 3, axis=0), np.delete(P[:, post], 3, axis=0))
    # bands that do not cover the simulated ones: the MAP, with a warning
    inner = (wl > 430) & (wl < 870)
    with pytest.warns(UserWarning, match="posterior-median correction not applied"):
        Q = ph.transform(rt[:20][:, inner], wavelength_nm=wl[inner], features=Ft[:20])
    np.testing.assert_array_equal(Q[:, post], Q[:, phys])


def test_bad_simulation_inputs_are_refused():
    s = Shapes.of(DEFAULT_WAVELENGTH_NM, WATER_TYPES["clear_reservoir"].iop)
    with pytest.raises(ValueError, match="at least 5 matchups"):
        simulate_region(s, _lab()[:3], NoiseModel(), 100, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 5 matchups"):
        simulate_region(s, _lab()[:, :3], NoiseModel(), 100, np.random.default_rng(0))
    with pytest.raises(ValueError, match="posterior_samples must be 0"):
        RegionalPhysics(posterior_samples=10).fit(np.ones((3, 10)), np.ones((3, 4)), wavelength_nm=np.arange(10.0),
                                                  features=np.ones((3, 2)))


def test_calibration_does_not_correct_when_a_fold_could_not_learn_it():
    """24 matchups with all four constituents: the whole set learns the correction, but a
    fold's 4/5 of them (< 20) cannot; the region's model must then not correct either, so
    that the post_* features mean in service what they meant in cross-validation."""
    from hsiwq.models.calibrator import RegionCalibrator

    table = simulate_matchups("clear_reservoir", 60, seed=35)
    incomplete = np.arange(60) >= 24
    table.loc[incomplete, "cdom"] = np.nan
    r, wl = spectra_from_table(table)
    ids = list(CONSTITUENTS)
    cal = RegionCalibrator(parameters=ids, candidates=("physics", "posterior", "ridge-conc"), n_splits=5, owt=False)
    cal.fit(r, table[ids].to_numpy(float), wavelength_nm=wl, groups=table["sample_id"].to_numpy())
    physics = cal.result_.models["chl_a"].stages.physics
    assert physics.siop_fitted_ and physics.posterior_ is None
    alone = RegionalPhysics().fit(r, table[ids].to_numpy(float), wavelength_nm=wl,
                                  features=np.zeros((60, 1)))
    assert alone.posterior_ is not None  # the whole set alone would learn it
