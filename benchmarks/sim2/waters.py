"""Water types of the second simulator: constituents, optical draws and lab relations.

Constituent distributions and correlations are this simulator's own (not the package's):
per sampling day, ln(chl-a, TSS, CDOM) is multivariate normal around the type's medians with
the type's standard deviations and correlations; samples scatter around the day (ln sd 0.2
for chl-a and TSS, 0.1 for CDOM). Eutrophic lakes have bloom days (chl-a × 4, mostly
cyanobacteria). Phycocyanin = chl-a × cyanobacterial share × PC:Chl of cyanobacteria
(lognormal, median 2.5).

Non-optical parameters [mg/L], each with lognormal scatter (half of its variance shared by
the day):

- TP = TP_algal + 0.0008·TSS, TP_algal from the inverse of Dillon & Rigler (1974),
  log10 Chl = 1.449·log10 TP[µg/L] − 1.136, plus particulate P on sediment (0.8 g/kg);
  ln sd 0.30;
- TN = 0.25 + 0.9·a_g(440)^0.7 + 0.012·Chl (dissolved organic N with CDOM, algal N);
  ln sd 0.25;
- NH3-N = 0.08·TN^1.3; ln sd 0.45;
- COD_Mn = 1.2 + 2.2·a_g(440) + 0.04·Chl + 0.004·TSS (DOC, algal and particulate organic
  matter); ln sd 0.15;
- COD = 3.1·COD_Mn^1.08; ln sd 0.15;
- turbidity [NTU] = 0.85·TSS^0.92·(1 + 0.002·Chl); ln sd 0.15.

References
----------
.. [1] Dillon, P. J., Rigler, F. H. (1974). The phosphorus-chlorophyll relationship in lakes.
   Limnol. Oceanogr. 19(5), 767–773.
.. [2] Babin, M. et al. (2003). J. Geophys. Res. 108(C7), 3211 (S_CDOM, S_NAP, a*_NAP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WaterType:
    """A water type of the second simulator.

    Attributes
    ----------
    name : str
    median : tuple of float
        Day medians of chl-a [µg/L], TSS [mg/L], a_g(440) [1/m].
    log_sd : tuple of float
        Standard deviations of their ln over days [-].
    corr : tuple of float
        Correlations of ln: (chl, TSS), (chl, CDOM), (TSS, CDOM) [-].
    cyano : tuple of float
        Beta(a, b) of the cyanobacterial share of chl-a [-].
    bloom_fraction : float
        Share of bloom days [-] (chl-a × 4, cyanobacterial share Beta(12, 2)).
    a_nap_star_443 : float
        Median NAP-specific absorption at 443 nm [m2/g] (ln sd 0.25 per sample).
    bbp_star_555 : float
        Median TSS-specific backscattering at 555 nm [m2/g] (ln sd 0.25 per sample).
    gamma : float
        Mean spectral slope of particulate backscattering [-] (sd 0.3 per sample).
    """

    name: str
    median: tuple[float, float, float]
    log_sd: tuple[float, float, float]
    corr: tuple[float, float, float]
    cyano: tuple[float, float]
    bloom_fraction: float
    a_nap_star_443: float
    bbp_star_555: float
    gamma: float


WATER_TYPES = {
    "clear_reservoir": WaterType("clear_reservoir", (2.0, 3.0, 0.45), (0.55, 0.5, 0.35), (0.5, 0.3, 0.2),
                                 (1.5, 12.0), 0.0, 0.035, 0.010, 1.0),
    "eutrophic_lake": WaterType("eutrophic_lake", (30.0, 35.0, 0.9), (0.7, 0.5, 0.35), (0.6, 0.4, 0.3),
                                (4.0, 3.0), 0.2, 0.040, 0.008, 0.8),
    "sediment_river": WaterType("sediment_river", (5.0, 110.0, 1.1), (0.5, 0.6, 0.4), (0.2, 0.2, 0.3),
                                (2.0, 10.0), 0.0, 0.050, 0.013, 0.4),
}


def draw_constituents(wt: WaterType, day_of: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-sample constituents and optical draws for samples of days ``day_of`` (ints)."""
    n, n_days = day_of.size, int(day_of.max()) + 1
    r12, r13, r23 = wt.corr
    cov = np.outer(wt.log_sd, wt.log_sd) * np.array([[1, r12, r13], [r12, 1, r23], [r13, r23, 1]])
    z = rng.multivariate_normal(np.log(wt.median), cov, size=n_days)
    cyano = rng.beta(*wt.cyano, size=n_days)
    bloom = rng.random(n_days) < wt.bloom_fraction
    z[bloom, 0] += np.log(4.0)
    cyano[bloom] = rng.beta(12.0, 2.0, size=bloom.sum())
    chl = np.exp(z[day_of, 0] + 0.2 * rng.standard_normal(n))
    tss = np.exp(z[day_of, 1] + 0.2 * rng.standard_normal(n))
    cdom = np.exp(z[day_of, 2] + 0.1 * rng.standard_normal(n))
    share = np.clip(cyano[day_of] + 0.03 * rng.standard_normal(n), 0.0, 1.0)
    pc = chl * share * np.exp(np.log(2.5) + 0.25 * rng.standard_normal(n))
    return {
        "chl": chl, "tss": tss, "cdom": cdom, "pc": np.clip(pc, 0.005 * chl, None), "cyano_share": share,
        "aph_factor": np.exp(0.2 * rng.standard_normal(n)),
        "pc_width_nm": np.clip(rng.normal(26.0, 2.5, n), 18.0, 34.0),
        "s_cdom": rng.normal(0.0176, 0.002, n),
        "s_nap": rng.normal(0.0123, 0.0013, n),
        "a_nap_star_443": wt.a_nap_star_443 * np.exp(0.25 * rng.standard_normal(n)),
        "bbp_star_555": wt.bbp_star_555 * np.exp(0.25 * rng.standard_normal(n)),
        "gamma": np.clip(rng.normal(wt.gamma, 0.3, n), 0.0, 2.5),
        "quantum_yield": np.exp(rng.normal(np.log(0.006), 0.4, n)),
        "sun_zenith_deg": rng.uniform(20.0, 60.0, n),
    }


def lab_values(c: dict[str, np.ndarray], day_of: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Turbidity and the five non-optical parameters (module docstring) [NTU, mg/L]."""
    n, n_days = day_of.size, int(day_of.max()) + 1

    def noise(sd: float) -> np.ndarray:
        return np.exp(sd * np.sqrt(0.5) * (rng.standard_normal(n_days)[day_of] + rng.standard_normal(n)))

    chl, tss, cdom = c["chl"], c["tss"], c["cdom"]
    tp = (10 ** ((np.log10(chl) + 1.136) / 1.449) / 1000.0 + 0.0008 * tss) * noise(0.30)
    tn = (0.25 + 0.9 * cdom ** 0.7 + 0.012 * chl) * noise(0.25)
    cod_mn = (1.2 + 2.2 * cdom + 0.04 * chl + 0.004 * tss) * noise(0.15)
    return {"turbidity": 0.85 * tss ** 0.92 * (1 + 0.002 * chl) * noise(0.15),
            "cod_mn": cod_mn, "cod": 3.1 * cod_mn ** 1.08 * noise(0.15),
            "tn": tn, "tp": tp, "nh3_n": 0.08 * tn ** 1.3 * noise(0.45)}
