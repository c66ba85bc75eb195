"""Tests of hsiwq.bio_optics: pure water, IOPs, forward model, Secchi depth, covariance."""

from __future__ import annotations

import numpy as np
import pytest

from hsiwq.bio_optics import (
    COVARIANCE_MODELS,
    ForwardModel,
    IOPModel,
    SpectralShapes,
    a_cdom,
    a_nap,
    a_pc,
    a_ph,
    a_w,
    above_surface_rrs,
    bb_p,
    bb_w,
    below_surface_rrs,
    bricaud_coefficients,
    forward_ln,
    kd_lee2013,
    nonoptical_from_optical,
    pure_water_table,
    rrs_from_constituents,
    rrs_from_iops,
    secchi_lee2015,
    total_iops,
    turbidity_from_tss,
)
from hsiwq.bio_optics.forward import rrs_and_gradient
from hsiwq.params import PARAMETERS
from hsiwq.simulate.water_types import WATER_TYPES

WL = np.arange(400.0, 901.0, 5.0)


# --- pure water ----------------------------------------------------------------------------

@pytest.mark.parametrize(("wl", "expected"), [
    (440.0, 0.00635), (550.0, 0.0565), (700.0, 0.624),  # Pope & Fry (1997), Table 3
    (412.5, 0.00452), (600.0, 0.2224), (675.0, 0.448),
    (750.0, 2.8484), (800.0, 2.2462), (850.0, 4.1986),  # Kou et al. (1993)
])
def test_pure_water_absorption_matches_published_values(wl, expected):
    assert a_w(wl) == pytest.approx(expected, rel=1e-9)


def test_pure_water_table_covers_400_900_with_cited_sources():
    wl, aw, src = pure_water_table()
    assert wl[0] <= 400 and wl[-1] >= 900
    assert np.all(np.diff(wl) > 0) and np.all(aw > 0)
    assert set(src[wl <= 727.5]) == {"pope_fry_1997"}
    assert set(src[wl > 727.5]) == {"kou_1993"}
    assert np.all(np.diff(wl[src == "pope_fry_1997"]) == 2.5)
    # The two sources join smoothly (Kou 727 nm is 1.665 1/m, Pope & Fry 727.5 nm 1.678).
    assert a_w(730.0) / a_w(727.5) == pytest.approx(1.17, abs=0.05)
    # Interpolation is linear between rows.
    assert a_w(441.25) == pytest.approx((0.00635 + 0.00696) / 2)


def test_pure_water_absorption_refuses_to_extrapolate():
    with pytest.raises(ValueError, match="tabulated"):
        a_w([350.0, 500.0])
    with pytest.raises(ValueError):
        a_w(950.0)


def test_pure_water_backscattering_power_law():
    assert bb_w(500.0) == pytest.approx(0.5 * 0.00288)
    assert bb_w(400.0) == pytest.approx(0.0038, rel=0.01)  # the QAA value
    assert bb_w(1000.0) == pytest.approx(0.5 * 0.00288 * 2**-4.32)


# --- constituent IOPs --------------------------------------------------------------------

def test_bricaud_table_values_and_red_tail():
    a, e = bricaud_coefficients(np.array([440.0, 560.0, 676.0, 700.0]))
    np.testing.assert_allclose(a, [0.037824, 0.00567919, 0.0179744, 0.00248126])
    np.testing.assert_allclose(e, [0.626633, 0.9345194, 0.816196, 1.028608])
    wl = np.arange(400.0, 721.0, 10.0)
    a10, e10 = bricaud_coefficients(wl)
    assert np.all(a10 > 0) and np.all(np.isfinite(e10))
    # Continuous at 700 nm, negligible beyond 750 nm.
    assert bricaud_coefficients(np.array([700.001]))[0][0] == pytest.approx(0.00248126, rel=1e-3)
    aph = a_ph(np.array([676.0, 750.0, 800.0]), 100.0)
    assert aph[1] < 1e-6 * aph[0] and aph[2] < aph[1]
    assert a_ph(np.array([700.0, 720.0]), 1.0)[1] < 0.05 * a_ph(np.array([700.0]), 1.0)[0]


def test_phytoplankton_absorption_power_law_and_zero_chl():
    wl = np.array([440.0])
    assert a_ph(wl, 10.0)[0] == pytest.approx(0.037824 * 10**0.626633)
    assert a_ph(wl, 0.0)[0] == 0.0
    assert a_ph(WL, np.ones((2, 3))).shape == (2, 3, WL.size)


def test_phycocyanin_cdom_nap_bbp_shapes():
    wl = np.array([560.0, 620.0, 680.0])
    pc = a_pc(wl, 10.0)
    assert pc[1] == pytest.approx(0.07) and pc[0] == pytest.approx(pc[2]) and pc[0] < pc[1]
    assert a_cdom(np.array([440.0, 540.0]), 2.0, 0.015) == pytest.approx(
        [2.0, 2.0 * np.exp(-1.5)])
    assert a_nap(np.array([443.0]), 50.0, 0.031, 0.0123)[0] == pytest.approx(1.55)
    assert bb_p(np.array([555.0]), 100.0, 0.0, b_star_555=0.01)[0] == pytest.approx(1.0)
    b = bb_p(np.array([400.0, 555.0, 800.0]), 10.0, 5.0)
    assert b[0] > b[1] > b[2]


# --- forward model -------------------------------------------------------------------------

def _by_hand(a, bb, g0=0.089, g1=0.125):
    u = bb / (a + bb)
    r = g0 * u + g1 * u * u
    return 0.52 * r / (1 - 1.7 * r)


def test_pure_water_rrs_hand_computed():
    a = 0.0565  # Pope & Fry a_w(550)
    bb = 0.5 * 0.00288 * (550 / 500) ** -4.32
    expected = _by_hand(a, bb)
    got = rrs_from_constituents(np.array([550.0]), 0.0, 0.0, 0.0, 0.0)[0]
    assert got == pytest.approx(expected, rel=1e-12)
    # u = 0.0166, rrs = 0.00151 sr⁻¹ below the surface, Rrs = 0.00079 sr⁻¹ above it.
    assert got == pytest.approx(7.884e-4, rel=1e-3)
    r_below = 0.089 * (bb / (a + bb)) + 0.125 * (bb / (a + bb)) ** 2
    assert r_below == pytest.approx(0.00151, rel=0.01)


def test_turbid_case_hand_computed_at_560nm():
    # A: Bricaud 1998 row 560 nm; a_w: Pope & Fry 560 nm; default IOPModel.
    chl, pc, tss, cdom = 10.0, 5.0, 20.0, 1.0
    a = (0.0619 + 0.00567919 * chl**0.9345194 + 0.007 * pc * np.exp(-0.5 * (60 / 25) ** 2)
         + cdom * np.exp(-0.015 * 120) + 0.031 * tss * np.exp(-0.0123 * 117))
    bb = (0.5 * 0.00288 * (560 / 500) ** -4.32 + 0.0086 * tss * (560 / 555) ** -0.8
          + 0.0004 * chl * (560 / 555) ** -0.5)
    got = rrs_from_constituents(np.array([560.0]), chl, pc, tss, cdom)[0]
    assert got == pytest.approx(_by_hand(a, bb), rel=1e-10)
    assert 0.01 < got < 0.04


def test_surface_transfer_round_trip_and_gordon_coefficients():
    r = np.array([0.001, 0.01, 0.05])
    np.testing.assert_allclose(below_surface_rrs(above_surface_rrs(r)), r)
    assert rrs_from_iops(1.0, 0.1, g0=0.0949, g1=0.0794) == pytest.approx(
        _by_hand(1.0, 0.1, 0.0949, 0.0794))


def test_forward_model_vectorised_over_pixels():
    rng = np.random.default_rng(0)
    chl = rng.uniform(1, 100, (4, 5))
    pc, tss, cdom = chl * 0.5, rng.uniform(1, 200, (4, 5)), rng.uniform(0.2, 2, (4, 5))
    out = rrs_from_constituents(WL, chl, pc, tss, cdom)
    assert out.shape == (4, 5, WL.size)
    one = rrs_from_constituents(WL, chl[2, 3], pc[2, 3], tss[2, 3], cdom[2, 3])
    np.testing.assert_allclose(out[2, 3], one)
    a, bb = total_iops(WL, chl, pc, tss, cdom)
    a2, bb2 = ForwardModel(WL).iops(chl, pc, tss, cdom)
    np.testing.assert_allclose(a, a2)
    np.testing.assert_allclose(bb, bb2)
    np.testing.assert_allclose(rrs_from_iops(a, bb), out)


@pytest.mark.parametrize("wt", sorted(WATER_TYPES))
def test_more_tss_more_nir_reflectance(wt):
    model = WATER_TYPES[wt].iop
    tss = np.array([5.0, 20.0, 80.0, 300.0])
    rrs = rrs_from_constituents(WL, 10.0, 5.0, tss, 1.0, model=model)
    nir = (WL >= 750) & (WL <= 850)
    assert np.all(np.diff(rrs[:, nir], axis=0) > 0)


def test_more_chlorophyll_deeper_red_trough():
    wl = np.array([620.0, 650.0, 675.0, 710.0])
    chl = np.array([5.0, 20.0, 60.0, 200.0])
    rrs = rrs_from_constituents(wl, chl, 0.0, 30.0, 1.0, model=WATER_TYPES["eutrophic_lake"].iop)
    ratio = rrs[:, 2] / rrs[:, 3]
    assert np.all(np.diff(ratio) < 0)
    # Phycocyanin deepens the 620 nm trough relative to 650 nm.
    pc = rrs_from_constituents(wl, 30.0, np.array([0.0, 30.0, 150.0]), 30.0, 1.0)
    assert np.all(np.diff(pc[:, 0] / pc[:, 1]) < 0)


def test_more_cdom_less_blue():
    rrs = rrs_from_constituents(np.array([412.0, 560.0]), 5.0, 1.0, 10.0,
                                np.array([0.2, 1.0, 3.0]))
    assert np.all(np.diff(rrs[:, 0] / rrs[:, 1]) < 0)


# --- Kd and Secchi depth -------------------------------------------------------------------

def test_kd_lee2013_hand_computed():
    a, bb, bbw, theta = 0.5, 0.05, 0.001, 30.0
    expected = (1 + 0.005 * theta) * a + (1 - 0.265 * bbw / bb) * 4.26 * (
        1 - 0.52 * np.exp(-10.8 * a)) * bb
    assert kd_lee2013(a, bb, bbw, theta) == pytest.approx(expected)


def test_secchi_lee2015_uses_most_transparent_wavelength():
    wl = np.array([450.0, 550.0, 650.0])
    kd = np.array([[2.0, 1.0, 1.5]])
    rrs = np.array([[0.01, 0.02, 0.015]])
    z = secchi_lee2015(wl, kd, rrs)
    assert z.shape == (1,)
    assert z[0] == pytest.approx(np.log(abs(0.14 - 0.02) / 0.013) / 2.5)


def test_secchi_decreases_with_turbidity():
    fm = ForwardModel(np.arange(410.0, 701.0, 5.0))
    a, bb = fm.iops(5.0, 1.0, np.array([1.0, 10.0, 100.0]), 0.5)
    kd = kd_lee2013(a, bb, fm.bb_w, 30.0)
    assert np.all(kd > a)
    z = secchi_lee2015(fm.wavelength_nm, kd, fm.rrs_from_iops(a.copy(), bb))
    assert np.all(np.diff(z) < 0) and 0.05 < z[-1] < z[0] < 20


# --- covariance ----------------------------------------------------------------------------

def test_covariance_median_relation_and_noise():
    m = COVARIANCE_MODELS["eutrophic_lake"]
    out = nonoptical_from_optical(m, 30.0, 40.0, 1.0)
    tp = m.relations["tp"]
    assert out["tp"] == pytest.approx(tp.coefficient * 30**0.38 * 40**0.22)
    assert out["cod"] == pytest.approx(3.6 * out["cod_mn"] ** 0.95)
    noisy = nonoptical_from_optical(m, 30.0, 40.0, 1.0, noise={"tp": 1.0})
    assert noisy["tp"] == pytest.approx(out["tp"] * np.exp(tp.sigma))
    assert noisy["cod_mn"] == out["cod_mn"]


def test_taihu_tp_grows_with_chl_and_tss():
    chl = np.array([10.0, 30.0, 100.0])
    assert np.all(np.diff(nonoptical_from_optical("eutrophic_lake", chl, 40.0, 1.0)["tp"]) > 0)
    tss = np.array([10.0, 40.0, 80.0])
    assert np.all(np.diff(nonoptical_from_optical("eutrophic_lake", 30.0, tss, 1.0)["tp"]) > 0)
    assert turbidity_from_tss("sediment_river", 100.0, 5.0) == pytest.approx(65.25)


@pytest.mark.parametrize("wt", sorted(WATER_TYPES))
def test_covariance_values_plausible_over_the_water_type_ranges(wt):
    w = WATER_TYPES[wt]
    grid = np.meshgrid(np.geomspace(*w.chl_range, 4), np.geomspace(*w.tss_range, 4),
                       np.geomspace(*w.cdom_range, 3))
    out = nonoptical_from_optical(wt, *grid)
    for pid, v in out.items():
        lo, hi = PARAMETERS[pid].valid_range
        assert np.all((v > lo) & (v < hi)), pid


def test_unknown_water_type():
    with pytest.raises(ValueError, match="unknown water type"):
        nonoptical_from_optical("ocean", 1.0, 1.0, 1.0)


def test_iop_model_defaults_are_documented_values():
    m = IOPModel()
    assert (m.a_pc_star_620, m.s_nap, m.a_nap_star_443) == (0.007, 0.0123, 0.031)


def test_rrs_and_gradient_is_the_law_and_its_derivative():
    a, bb = np.array([0.05, 0.8, 3.0]), np.array([0.002, 0.05, 0.4])
    rrs, d_a, d_bb = rrs_and_gradient(a, bb, 0.089, 0.125)
    np.testing.assert_allclose(rrs, _by_hand(a, bb), rtol=1e-14)
    h = 1e-7
    np.testing.assert_allclose(d_a, (_by_hand(a * (1 + h), bb) - _by_hand(a * (1 - h), bb)) / (2 * h * a), rtol=1e-6)
    np.testing.assert_allclose(d_bb, (_by_hand(a, bb * (1 + h)) - _by_hand(a, bb * (1 - h))) / (2 * h * bb), rtol=1e-6)


def test_compiled_forward_model_runs_the_same_functions():
    """The numba kernels call the functions of hsiwq.bio_optics.forward themselves."""
    from numba import njit

    from hsiwq.bio_optics import _compiled  # noqa: F401  (registers them with numba)
    from hsiwq.bio_optics.forward import constituent_iops, phytoplankton_absorption

    @njit
    def one_band(ln_chl, pc, tss, cdom, aw, bbw, log_a, e, pc_s, cdom_s, nap_s, bbp_tss, bbp_chl):
        aph = phytoplankton_absorption(ln_chl, log_a, e)
        a, bb = constituent_iops(aph, np.exp(ln_chl), pc, tss, cdom, aw, bbw, pc_s, cdom_s, nap_s, bbp_tss,
                                 bbp_chl)
        return rrs_and_gradient(a, bb, 0.089, 0.125)

    s = SpectralShapes.of(WL, WATER_TYPES["eutrophic_lake"].iop)
    c = np.array([[20.0, 8.0, 30.0, 0.9]])
    rrs, jac = forward_ln(s, np.log(c), jacobian=True)
    for b in (0, 40, WL.size - 1):
        got = one_band(np.log(20.0), 8.0, 30.0, 0.9, s.aw[b], s.bbw[b], s.log_a[b], s.e[b], s.pc[b], s.cdom[b],
                       s.nap[b], s.bbp_tss[b], s.bbp_chl[b])
        assert got[0] == pytest.approx(rrs[0, b], rel=1e-14)
    assert rrs[0] == pytest.approx(ForwardModel(WL, WATER_TYPES["eutrophic_lake"].iop).rrs(*c[0]), rel=1e-14)
