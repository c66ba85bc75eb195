"""Matchup tables of the second simulator, in the project's CSV contract.

Columns: ``sample_id``, ``time`` (ISO 8601 UTC; one to five samples per sampling day, every
third day), ``site``, ``water_type``, ``sun_zenith_deg``, the 11 parameter ids (NaN = not
measured) and ``Rrs_<nm>`` on :data:`WAVELENGTH_NM` [sr-1].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from . import iops, radiance, water
from .waters import WATER_TYPES, draw_constituents, lab_values

#: This simulator's sensor grid: 125 bands, 402–898 nm every 4 nm [nm].
WAVELENGTH_NM = np.arange(402.0, 899.0, 4.0)
PARAMETER_IDS = ("chl_a", "phycocyanin", "tss", "turbidity", "secchi", "cdom", "cod_mn", "cod", "tn", "tp",
                 "nh3_n")


@dataclass(frozen=True)
class SensorNoise:
    """Rrs_obs = Rrs·(1 + g) + δ0 + δ1·(λ − 650)/250 + ε_λ.

    g: spectrally flat gain error (sd ``gain_sd``); δ0, δ1: residual of the surface-reflected
    sky (flat offset and tilt, sd ``offset_sd``, ``tilt_sd``) [sr-1]; ε_λ: independent
    absolute noise of each band, sd NEΔRrs(λ) = ``ne_rrs``·(1 + 3·((λ − 600)/300)²) (detector
    noise, larger at the ends of the silicon response) [sr-1]. Additive rather than relative:
    dark water is where it matters.
    """

    gain_sd: float = 0.025
    offset_sd: float = 1.5e-4
    tilt_sd: float = 5.0e-5
    ne_rrs: float = 3.0e-5

    def apply(self, rrs: np.ndarray, wl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy copy of ``rrs`` (n, n_wl) [sr-1]."""
        n = rrs.shape[0]
        sd = self.ne_rrs * (1 + 3 * ((wl - 600.0) / 300.0) ** 2)
        return (rrs * (1 + self.gain_sd * rng.standard_normal((n, 1)))
                + self.offset_sd * rng.standard_normal((n, 1))
                + self.tilt_sd * rng.standard_normal((n, 1)) * (wl - 650.0) / 250.0
                + sd * rng.standard_normal(rrs.shape))


def forward(wl: ArrayLike, c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free Rrs (n, n_wl) [sr-1] and Secchi depth (n,) [m] of constituents ``c``."""
    wl = np.asarray(wl, float)
    aph = iops.a_phyto(wl, c["chl"], c["pc"], c["cyano_share"], c["aph_factor"], c["pc_width_nm"])
    a = water.a_w(wl) + aph + iops.a_cdom(wl, c["cdom"], c["s_cdom"]) \
        + iops.a_nap(wl, c["tss"], c["a_nap_star_443"], c["s_nap"])
    bbp = iops.bb_particles(wl, c["tss"], c["chl"], c["bbp_star_555"], c["gamma"])
    bb = water.bb_w(wl) + bbp
    b = 2 * water.bb_w(wl) + bbp / radiance.BBP_RATIO
    kd = radiance.kd_kirk(a, b, c["sun_zenith_deg"])
    elastic = radiance.rrs_gordon(a, bb)
    rrs = elastic * (1 + radiance.raman_factor(wl, elastic)) \
        + radiance.fluorescence(wl, aph, a, kd, c["quantum_yield"])
    return rrs, radiance.secchi_tyler(wl, a, b, kd)


def simulate_matchups(water_type: str, n: int, *, seed: int = 0, missing_fraction: float = 0.0,
                      noise: SensorNoise | None = SensorNoise(),
                      start: datetime = datetime(2025, 5, 1, tzinfo=timezone.utc)) -> pd.DataFrame:
    """A matchup table of ``n`` samples of one water type (:data:`.waters.WATER_TYPES`).

    Parameters
    ----------
    water_type : str
        ``clear_reservoir``, ``eutrophic_lake`` or ``sediment_river``.
    n : int
        Rows.
    seed : int
        Seed of every draw.
    missing_fraction : float
        Share of lab values removed at random, per parameter [-].
    noise : SensorNoise or None
        Sensor noise (None: none).
    start : datetime
        First sampling day.

    Returns
    -------
    pandas.DataFrame
    """
    if water_type not in WATER_TYPES:
        raise ValueError(f"unknown water type {water_type!r}; known: {', '.join(WATER_TYPES)}")
    if n < 1 or not 0.0 <= missing_fraction < 1.0:
        raise ValueError(f"need n ≥ 1 and missing_fraction in [0, 1), got {n}, {missing_fraction}")
    rng = np.random.default_rng(seed)
    day_of = np.repeat(np.arange(n), rng.integers(1, 6, size=n))[:n]
    c = draw_constituents(WATER_TYPES[water_type], day_of, rng)
    rrs, secchi = forward(WAVELENGTH_NM, c)
    values = {"chl_a": c["chl"], "phycocyanin": c["pc"], "tss": c["tss"], "secchi": secchi, "cdom": c["cdom"],
              **lab_values(c, day_of, rng)}
    if missing_fraction > 0:
        for pid in PARAMETER_IDS:
            values[pid] = np.where(rng.random(n) < missing_fraction, np.nan, values[pid])
    if noise is not None:
        rrs = noise.apply(rrs, WAVELENGTH_NM, rng)
    hours = rng.uniform(1.0, 7.0, n)
    times = [start + timedelta(days=3 * int(d), hours=float(h)) for d, h in zip(day_of, hours)]
    meta = pd.DataFrame({"sample_id": [f"sim2-{water_type}-{seed}-{i:05d}" for i in range(n)],
                         "time": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times],
                         "site": f"sim2-{water_type}", "water_type": water_type,
                         "sun_zenith_deg": c["sun_zenith_deg"], **{p: values[p] for p in PARAMETER_IDS}})
    bands = pd.DataFrame(rrs, columns=[f"Rrs_{w:g}" for w in WAVELENGTH_NM])
    return pd.concat([meta, bands], axis=1)
