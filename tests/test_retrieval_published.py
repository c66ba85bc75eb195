"""Each published retrieval algorithm against the paper's own equation and coefficients.

The expected values are worked by hand from the published equation and coefficient table
(the arithmetic is written next to each number), not from hsiwq's code or simulator. The
spectra hold only the bands an algorithm reads, so that the 10-nm band means of
:func:`hsiwq.retrieval.bands.band` pick exactly the given value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hsiwq.bio_optics.secchi import kd_lee2013, secchi_lee2015
from hsiwq.bio_optics.water import a_w, bb_w
from hsiwq.retrieval import cdom, chlorophyll, phycocyanin, qaa, sediment

PI = math.pi


def spectrum(**bands: float) -> tuple[np.ndarray, np.ndarray]:
    """One Rrs spectrum [sr-1] holding exactly the named bands, e.g. ``r665=0.01``."""
    wl = np.array([float(k[1:]) for k in bands])
    order = np.argsort(wl)
    return np.array([list(bands.values())])[:, order], wl[order]


# --- chlorophyll-a -----------------------------------------------------------------------

def test_ndci_mishra2012_polynomial():
    # Mishra & Mishra (2012) RSE 117:394, eq. for MERIS bands 665/708:
    # Chl = 14.039 + 86.115 NDCI + 194.325 NDCI^2.
    # R665 = 0.010, R708 = 0.015 -> NDCI = 0.005/0.025 = 0.2
    # Chl = 14.039 + 17.223 + 7.773 = 39.035 µg/L
    rrs, wl = spectrum(r665=0.010, r708=0.015)
    assert chlorophyll.ndci(rrs, wl)[0] == pytest.approx(0.2, rel=1e-12)
    assert chlorophyll.chl_ndci_mishra2012(rrs, wl)[0] == pytest.approx(39.035, rel=1e-9)


def test_gilerson2010_two_band():
    # Gilerson et al. (2010) Opt. Express 18:24109, MERIS two-band NIR-red model:
    # Chl = [35.75 R708/R665 - 19.30]^1.124.
    # R708/R665 = 1.5 -> 35.75*1.5 - 19.30 = 34.325; 34.325^1.124 = 53.2140 µg/L
    rrs, wl = spectrum(r665=0.010, r708=0.015)
    assert chlorophyll.chl_gilerson2010(rrs, wl)[0] == pytest.approx(53.21404, rel=1e-6)


def test_gilerson2010_three_band():
    # Gilerson et al. (2010), three-band model: Chl = [113.36 (1/R665 - 1/R708) R753 + 16.45]^1.124.
    # (100 - 66.667) * 0.006 = 0.2; 113.36*0.2 + 16.45 = 39.122; 39.122^1.124 = 61.6426 µg/L
    rrs, wl = spectrum(r665=0.010, r708=0.015, r753=0.006)
    assert chlorophyll.chl_gilerson2010_3band(rrs, wl)[0] == pytest.approx(61.64264, rel=1e-6)


def test_gons2005_red_edge():
    # Gons et al. (2002) J. Plankton Res. 24:947 and (2005) 27:125 (708-nm MERIS band):
    # bb = 1.61 R(778) / (0.082 - 0.6 R(778)),  R = pi Rrs
    # Chl = [R(708)/R(665) (a_w(708) + bb) - a_w(665) - bb^p] / a*_ph(665)
    # with a_w(708) = 0.70 m-1, a_w(665) = 0.40 m-1, p = 1.06.
    # Rrs778 = 0.004 -> R = 0.0125664; bb = 0.0202318/0.0744602 = 0.271714 m-1
    # With a* = 0.016 m2/mg: [1.5 (0.70 + 0.271714) - 0.40 - 0.271714^1.06] / 0.016 = 50.3932 µg/L
    rrs, wl = spectrum(r665=0.010, r708=0.015, r778=0.004)
    got = chlorophyll.chl_gons2005(rrs, wl, specific_absorption=0.016)[0]
    assert got == pytest.approx(50.39315, rel=1e-6)
    # The chlorophyll-specific absorption only scales the result.
    default = chlorophyll.chl_gons2005(rrs, wl)[0]
    assert default * 0.0161 == pytest.approx(got * 0.016, rel=1e-12)


def test_oc4_oreilly2000_coefficients_and_worked_value():
    # O'Reilly et al. (2000) OC4 form log10 Chl = sum a_i X^i, X = log10(max(R443,R490,R510)/R555),
    # with NASA OBPG's SeaWiFS OC4 (v6) coefficients a = 0.3272, -2.9940, 2.7218, -1.2259, -0.5683.
    assert chlorophyll.OC4_COEFFICIENTS == (0.3272, -2.9940, 2.7218, -1.2259, -0.5683)
    # max = R490 = 0.005, R555 = 0.0025 -> X = log10 2 = 0.30103
    # log10 Chl = 0.3272 - 0.901284 + 0.246650 - 0.033441 - 0.004667 = -0.365545 -> 0.43098 µg/L
    rrs, wl = spectrum(r443=0.004, r490=0.005, r510=0.004, r555=0.0025)
    assert chlorophyll.chl_oc4_oreilly2000(rrs, wl)[0] == pytest.approx(0.430978, rel=1e-5)
    # X = 0 (blue = green) gives 10^0.3272 = 2.1238 µg/L
    rrs, wl = spectrum(r443=0.003, r490=0.002, r510=0.001, r555=0.003)
    assert chlorophyll.chl_oc4_oreilly2000(rrs, wl)[0] == pytest.approx(10**0.3272, rel=1e-12)


# --- phycocyanin -------------------------------------------------------------------------

def test_simis2005_and_2007():
    # Simis et al. (2005) L&O 50:237, with their constants a_w(620) = 0.281, a_w(665) = 0.401,
    # a_w(709) = 0.727 m-1, gamma = 0.68, delta = 0.84, epsilon = 0.24, a*_PC(620) = 0.0070 m2/mg;
    # Simis et al. (2007) RSE 106:414: a*_PC(620) = 0.0095 m2/mg.
    assert (phycocyanin.AW_620, phycocyanin.AW_665, phycocyanin.AW_709) == (0.281, 0.401, 0.727)
    # Rrs779 = 0.003 -> R = 0.00942478; bb = 1.61 R/(0.082 - 0.6 R) = 0.198754 m-1
    # a_chl(665) = [0.010/0.006 (0.727 + bb) - 0.401 - bb]/0.68 = 1.387014 m-1
    # a(620)     = [0.010/0.008 (0.727 + bb) - 0.281 - bb]/0.84 = 0.806474 m-1
    # PC = (0.806474 - 0.24*1.387014)/0.0070 = 67.6559 µg/L;  /0.0095 = 49.8517 µg/L
    rrs, wl = spectrum(r620=0.008, r665=0.006, r709=0.010, r779=0.003)
    assert phycocyanin.pc_simis2005(rrs, wl)[0] == pytest.approx(67.65587, rel=1e-6)
    assert phycocyanin.pc_simis2007(rrs, wl)[0] == pytest.approx(49.85170, rel=1e-6)


# --- suspended solids and turbidity -------------------------------------------------------

def test_nechad2010_tss_red_and_nir_coefficients():
    # Nechad et al. (2010) RSE 114:854, TSM = A rho_w/(1 - rho_w/C), rho_w = pi Rrs, with their
    # coefficients A = 355.85 mg/L, C = 0.1728 at 665 nm and A = 2971.93 mg/L, C = 0.2115 at 865 nm.
    # Rrs665 = 0.01 -> rho = 0.0314159 (< 0.05: red band alone):
    # 355.85*0.0314159/(1 - 0.0314159/0.1728) = 13.6634 mg/L
    rrs, wl = spectrum(r665=0.01, r865=0.001)
    assert sediment.tss_nechad2010(rrs, wl)[0] == pytest.approx(13.66344, rel=1e-6)
    # rho_w(665) = 0.08 (> 0.07: NIR band alone); Rrs865 = 0.01:
    # 2971.93*0.0314159/(1 - 0.0314159/0.2115) = 109.654 mg/L
    rrs, wl = spectrum(r665=0.08 / PI, r865=0.01)
    assert sediment.tss_nechad2010(rrs, wl)[0] == pytest.approx(109.6538, rel=1e-6)


def test_dogliotti2015_turbidity_switching():
    # Dogliotti et al. (2015) RSE 156:157, T = A rho_w/(1 - rho_w/C) with A = 228.1 FNU, C = 0.1641
    # at 645 nm and A = 3078.9 FNU, C = 0.2112 at 859 nm; linear blend for rho_w(645) 0.05-0.07.
    # Rrs645 = 0.01: 228.1*0.0314159/(1 - 0.0314159/0.1641) = 8.86268 FNU
    rrs, wl = spectrum(r645=0.01, r859=0.001)
    assert sediment.turbidity_dogliotti2015(rrs, wl)[0] == pytest.approx(8.862677, rel=1e-6)
    # rho_w(645) = 0.08 > 0.07, Rrs859 = 0.01: 3078.9*0.0314159/(1 - 0.0314159/0.2112) = 113.6287 FNU
    rrs, wl = spectrum(r645=0.08 / PI, r859=0.01)
    assert sediment.turbidity_dogliotti2015(rrs, wl)[0] == pytest.approx(113.6287, rel=1e-6)
    # rho_w(645) = 0.06, halfway: red 228.1*0.06/(1 - 0.06/0.1641) = 21.5742, NIR 113.6287
    # -> 0.5*21.5742 + 0.5*113.6287 = 67.6015 FNU
    rrs, wl = spectrum(r645=0.06 / PI, r859=0.01)
    assert sediment.turbidity_dogliotti2015(rrs, wl)[0] == pytest.approx(67.60146, rel=1e-6)



def test_dogliotti2015_nir_branch_alone():
    # the 859-nm branch whatever the red: Rrs859 = 0.001 -> 3078.9*0.00314159/(1 - 0.00314159/0.2112)
    # = 9.81870 FNU, where the switching algorithm (rho_w(645) < 0.05) gives the red 8.86268
    rrs, wl = spectrum(r645=0.01, r859=0.001)
    assert sediment.turbidity_dogliotti2015_nir(rrs, wl)[0] == pytest.approx(9.818702, rel=1e-6)
    rrs, wl = spectrum(r645=0.08 / PI, r859=0.01)
    assert sediment.turbidity_dogliotti2015_nir(rrs, wl)[0] == pytest.approx(113.6287, rel=1e-6)

# --- CDOM --------------------------------------------------------------------------------

def test_ficek2011_cdom():
    # Ficek et al. (2011) Oceanologia 53:959: a_CDOM(440) = 3.65 [Rrs(570)/Rrs(655)]^-1.93.
    # 1.25^-1.93 = 0.650075 -> 2.37277 m-1
    rrs, wl = spectrum(r570=0.010, r655=0.008)
    assert cdom.cdom_ficek2011(rrs, wl)[0] == pytest.approx(2.372775, rel=1e-6)


# --- QAA v6 and the Secchi depth of Lee et al. (2015) -------------------------------------

#: QAA v6 constants (Lee et al. 2002; IOCCG 2006 report 5 with the v6 update).
QAA_G0, QAA_G1 = 0.089, 0.1245


def _qaa_v6_by_hand(r: dict[int, float]) -> dict[str, object]:
    """QAA v6, step by step as the published table of steps writes it (water IOPs from
    hsiwq's Pope & Fry table, which tests/test_bio_optics.py checks against the paper)."""
    sub = {k: v / (0.52 + 1.7 * v) for k, v in r.items()}                          # step 0
    u = {k: (-QAA_G0 + math.sqrt(QAA_G0**2 + 4 * QAA_G1 * v)) / (2 * QAA_G1)       # step 1
         for k, v in sub.items()}
    if r[670] < 0.0015:                                                            # step 2
        chi = math.log10((sub[443] + sub[490]) / (sub[555] + 5 * sub[670] ** 2 / sub[490]))
        lam0, a0 = 555, float(a_w(555.0)) + 10 ** (-1.146 - 1.366 * chi - 0.469 * chi**2)
    else:
        lam0, a0 = 670, float(a_w(670.0)) + 0.39 * (r[670] / (r[443] + r[490])) ** 1.14
    bbp0 = u[lam0] * a0 / (1 - u[lam0]) - float(bb_w(float(lam0)))                # step 3
    ratio = sub[443] / sub[555]
    eta = 2.0 * (1 - 1.2 * math.exp(-0.9 * ratio))                                 # step 4
    bb = {k: bbp0 * (lam0 / k) ** eta + float(bb_w(float(k))) for k in r}          # step 5
    a = {k: (1 - u[k]) * bb[k] / u[k] for k in r}                                  # step 6
    zeta = 0.74 + 0.2 / (0.8 + ratio)                                              # step 7
    s = 0.015 + 0.002 / (0.6 + ratio)                                              # step 8
    xi = math.exp(s * (442.5 - 415.5))
    adg443 = ((a[412] - zeta * a[443]) - (float(a_w(412.0)) - zeta * float(a_w(443.0)))) / (xi - zeta)
    return {"a": a, "bb": bb, "adg443": adg443, "s": s, "lam0": lam0}


@pytest.mark.parametrize("r670", [0.0004, 0.003], ids=["ref-555nm", "ref-670nm"])
def test_qaa_v6_steps(r670):
    r = {412: 0.0060, 443: 0.0055, 490: 0.0050, 555: 0.0030, 670: r670}
    hand = _qaa_v6_by_hand(r)
    assert hand["lam0"] == (555 if r670 < 0.0015 else 670)
    rrs, wl = spectrum(**{f"r{k}": v for k, v in r.items()})
    q = qaa.qaa_v6(rrs, wl)
    assert (qaa.G0, qaa.G1) == (QAA_G0, QAA_G1)
    for i, k in enumerate(sorted(r)):
        assert q.a[0, i] == pytest.approx(hand["a"][k], rel=1e-9)
        assert q.bb[0, i] == pytest.approx(hand["bb"][k], rel=1e-9)
    assert q.adg443[0] == pytest.approx(hand["adg443"], rel=1e-9)
    # a_dg(440) extrapolated from 443 nm with the QAA slope
    assert cdom.cdom_qaa(rrs, wl)[0] == pytest.approx(hand["adg443"] * math.exp(3 * hand["s"]),
                                                      rel=1e-9)


def test_pure_water_values_qaa_relies_on():
    # QAA v6's table uses Pope & Fry (1997): a_w(555) = 0.0596, a_w(670) = 0.439 m-1.
    assert float(a_w(555.0)) == pytest.approx(0.0596, abs=0.0006)
    assert float(a_w(670.0)) == pytest.approx(0.439, abs=0.005)


def test_secchi_lee2015_from_qaa_by_hand():
    # Lee et al. (2013) JGR 118:4241: Kd = (1 + 0.005 theta_s) a + (1 - 0.265 bbw/bb) 4.26
    #   (1 - 0.52 exp(-10.8 a)) bb;
    # Lee et al. (2015) RSE 169:139: Z_SD = ln(|0.14 - Rrs_tr| / 0.013) / (2.5 Kd_tr) at the
    # wavelength of least Kd in 410-700 nm.
    r = {412: 0.0060, 443: 0.0055, 490: 0.0050, 555: 0.0030, 670: 0.0004}
    hand = _qaa_v6_by_hand(r)
    theta = 30.0
    kd = {k: (1 + 0.005 * theta) * hand["a"][k]
          + (1 - 0.265 * float(bb_w(float(k))) / hand["bb"][k]) * 4.26
          * (1 - 0.52 * math.exp(-10.8 * hand["a"][k])) * hand["bb"][k] for k in r}
    tr = min(kd, key=kd.get)
    zsd = math.log(abs(0.14 - r[tr]) / 0.013) / (2.5 * kd[tr])
    rrs, wl = spectrum(**{f"r{k}": v for k, v in r.items()})
    assert qaa.secchi_qaa_lee2015(rrs, wl, sun_zenith_deg=theta)[0] == pytest.approx(zsd, rel=1e-9)
    # The two building blocks on one worked number: a = 0.1, bb = 0.01, bbw = 0.002, theta 30:
    # Kd = 1.15*0.1 + (1 - 0.053)*4.26*(1 - 0.52 e^-1.08)*0.01 = 0.115 + 0.0332182 = 0.1482182
    assert float(kd_lee2013(0.1, 0.01, 0.002, 30.0)) == pytest.approx(0.1482182, rel=1e-6)
    # Z_SD at Kd_tr = 0.2, Rrs_tr = 0.01: ln(0.13/0.013)/0.5 = 2 ln 10 = 4.60517 m
    assert float(secchi_lee2015(np.array([500.0]), np.array([0.2]), np.array([0.01]))) == \
        pytest.approx(2 * math.log(10), rel=1e-9)
