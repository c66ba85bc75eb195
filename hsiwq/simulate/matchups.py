"""Synthetic matchup tables from the package's bio-optical simulator.

A matchup table (docs/contracts.md §4) pairs the Rrs spectrum of an acquisition with lab values of
water samples. :func:`simulate_matchups` makes one for a water type of
:mod:`hsiwq.simulate.water_types`, the way a field campaign would:

- sampling days, each with day-mean constituents drawn log-uniformly over the water type's
  ranges (widened by ``widen`` at both ends; for ``eutrophic_lake`` a share of bloom days),
  and one to five samples per day scattered around the day mean, so that samples of one day
  are alike (cross-validation must group by day);
- Rrs from the forward model (Lee et al. 2002) with the water type's SIOPs;
- turbidity and the five non-optical parameters from the synthetic covariance relations of
  :mod:`hsiwq.bio_optics.covariance`, with scatter shared by a day and per sample;
- Secchi depth after Lee et al. (2015) with Kd of Lee et al. (2013) from the true IOPs at the
  sample's sun zenith angle (20–60°);
- radiometric noise (:class:`RadiometricNoise`): a common gain error, independent per-band
  noise and a small sky-glint residual of sky-like spectral shape;
- a share of lab values missing at random, per parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..bio_optics.covariance import nonoptical_from_optical, turbidity_from_tss
from ..bio_optics.forward import ForwardModel
from ..bio_optics.secchi import kd_lee2013, secchi_lee2015
from ..models.spectra import rrs_columns
from ..params import PARAMETER_IDS
from .water_types import WaterType, water_type

#: The sample sensor's grid: 120 bands over 400–900 nm [nm].
DEFAULT_WAVELENGTH_NM = np.round(np.linspace(400.0, 900.0, 120), 4)
_SECCHI_WL = np.arange(410.0, 700.1, 5.0)


@dataclass(frozen=True)
class RadiometricNoise:
    """Noise of field Rrs: Rrs_obs = Rrs·(1 + g)·(1 + e_λ) + δ·(λ/550)^−2.

    Attributes
    ----------
    gain_sd : float
        Standard deviation of the spectrally flat relative error g (Ed calibration,
        illumination change between channels) [-].
    band_sd : float
        Standard deviation of the independent relative error e_λ of each band [-].
    glint_sd : float
        Standard deviation of the sky-glint residual δ at 550 nm (error in ρ·Li/Ed) [sr-1].
    """

    gain_sd: float = 0.02
    band_sd: float = 0.015
    glint_sd: float = 1.0e-4

    def apply(self, rrs: np.ndarray, wavelength_nm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy copy of ``rrs`` (n, n_wl) [sr-1]."""
        n = rrs.shape[0]
        gain = 1.0 + self.gain_sd * rng.standard_normal((n, 1))
        band = 1.0 + self.band_sd * rng.standard_normal(rrs.shape)
        glint = self.glint_sd * rng.standard_normal((n, 1)) * (np.asarray(wavelength_nm) / 550.0) ** -2
        return rrs * gain * band + glint


NO_NOISE = RadiometricNoise(0.0, 0.0, 0.0)


def _draw_days(wt: WaterType, n_days: int, widen: float, bloom_fraction: float,
               rng: np.random.Generator) -> dict[str, np.ndarray]:
    def log_uniform(lo: float, hi: float, size: int) -> np.ndarray:
        return np.exp(rng.uniform(np.log(lo / widen), np.log(hi * widen), size))

    chl = log_uniform(*wt.chl_range, n_days)
    ratio = rng.uniform(*wt.pc_ratio_range, n_days)
    if wt.bloom_chl_range is not None and bloom_fraction > 0:
        bloom = rng.random(n_days) < bloom_fraction
        chl[bloom] = np.exp(rng.uniform(*np.log(wt.bloom_chl_range), bloom.sum()))
        ratio[bloom] = rng.uniform(*wt.bloom_pc_ratio_range, bloom.sum())
    return {"chl": chl, "ratio": ratio, "tss": log_uniform(*wt.tss_range, n_days),
            "cdom": log_uniform(*wt.cdom_range, n_days)}


def simulate_matchups(water: str | WaterType, n: int, *,
                      wavelength_nm: ArrayLike | None = None, seed: int = 0,
                      missing_fraction: float = 0.0,
                      noise: RadiometricNoise = RadiometricNoise(),
                      widen: float = 1.5, bloom_fraction: float = 0.2,
                      within_day_sd: float = 0.2, day_share: float = 0.6,
                      site: str | None = None,
                      start: datetime = datetime(2024, 4, 1, tzinfo=timezone.utc),
                      ) -> pd.DataFrame:
    """A matchup table of ``n`` simulated samples of one water type.

    Parameters
    ----------
    water : str or WaterType
        ``clear_reservoir``, ``eutrophic_lake`` or ``sediment_river``.
    n : int
        Number of samples (rows).
    wavelength_nm : array_like, optional
        Band centres of the ``Rrs_<nm>`` columns [nm]; default 120 bands over 400–900 nm.
    seed : int
        Seed of every random draw.
    missing_fraction : float
        Share of lab values removed at random, independently per parameter [-].
    noise : RadiometricNoise
        Radiometric noise added to the spectra (``NO_NOISE`` for none).
    widen : float
        Factor by which the water type's constituent ranges are widened at both ends [-].
    bloom_fraction : float
        Share of bloom days where the water type has blooms [-].
    within_day_sd : float
        Standard deviation of ln(constituent) among samples of one day [-].
    day_share : float
        Share of the covariance scatter (variance) common to the samples of one day [-].
    site : str, optional
        Value of the ``site`` column (default: the water type's name).
    start : datetime
        First sampling day (UTC).

    Returns
    -------
    pandas.DataFrame
        ``sample_id``, ``time`` (ISO 8601 UTC), ``site``, ``water_type``, ``sun_zenith_deg``,
        the 11 parameter columns of docs/contracts.md §1 (NaN = not measured) and ``Rrs_<nm>``
        columns [sr-1].

    References
    ----------
    .. [1] Lee, Z. P., Carder, K. L., Arnone, R. A. (2002). Appl. Opt. 41(27), 5755–5772.
    .. [2] Lee, Z. et al. (2013). J. Geophys. Res. Oceans 118, 4241–4255.
    .. [3] Lee, Z. et al. (2015). Remote Sens. Environ. 169, 139–149.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if not 0.0 <= missing_fraction < 1.0:
        raise ValueError(f"missing_fraction must be within [0, 1), got {missing_fraction}")
    wt = water_type(water)
    wl = DEFAULT_WAVELENGTH_NM if wavelength_nm is None else np.asarray(wavelength_nm, dtype=float)
    rng = np.random.default_rng(seed)
    per_day = rng.integers(1, 6, size=n)
    day_of = np.repeat(np.arange(n), per_day)[:n]
    n_days = int(day_of.max()) + 1
    days = _draw_days(wt, n_days, widen, bloom_fraction, rng)

    def scatter(x: np.ndarray, sd: float) -> np.ndarray:
        return x[day_of] * np.exp(sd * rng.standard_normal(n))

    chl = scatter(days["chl"], within_day_sd)
    tss = scatter(days["tss"], within_day_sd)
    cdom = scatter(days["cdom"], within_day_sd / 2)
    pc = chl * np.clip(days["ratio"][day_of] * np.exp(0.1 * rng.standard_normal(n)), 1e-3, None)
    sun_zenith = rng.uniform(20.0, 60.0, n)

    fm = ForwardModel(wl, wt.iop)
    rrs = fm.rrs(chl, pc, tss, cdom)
    secchi = _secchi(wt, chl, pc, tss, cdom, sun_zenith)

    z_day = {k: rng.standard_normal(n_days) for k in ("cod_mn", "cod", "tn", "tp", "nh3_n", "turbidity")}
    z = {k: np.sqrt(day_share) * v[day_of] + np.sqrt(1 - day_share) * rng.standard_normal(n)
         for k, v in z_day.items()}
    values = {"chl_a": chl, "phycocyanin": pc, "tss": tss,
              "turbidity": turbidity_from_tss(wt.covariance, tss, chl, z["turbidity"]),
              "secchi": secchi, "cdom": cdom,
              **nonoptical_from_optical(wt.covariance, chl, tss, cdom, z)}
    if missing_fraction > 0:
        for pid in PARAMETER_IDS:
            values[pid] = np.where(rng.random(n) < missing_fraction, np.nan, values[pid])

    observed = noise.apply(rrs, wl, rng)
    hours = rng.uniform(1.0, 7.0, n)  # UTC morning in eastern China
    times = [start + timedelta(days=int(d) * 3, hours=float(h)) for d, h in zip(day_of, hours)]
    table = pd.DataFrame({
        "sample_id": [f"{wt.name}-{seed}-{i:05d}" for i in range(n)],
        "time": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times],
        "site": site or wt.name,
        "water_type": wt.name,
        "sun_zenith_deg": sun_zenith,
        **{pid: values[pid] for pid in PARAMETER_IDS},
    })
    spectra = pd.DataFrame(observed, columns=rrs_columns(wl))
    return pd.concat([table, spectra], axis=1)


def _secchi(wt: WaterType, chl: np.ndarray, pc: np.ndarray, tss: np.ndarray, cdom: np.ndarray,
            sun_zenith_deg: np.ndarray) -> np.ndarray:
    fm = ForwardModel(_SECCHI_WL, wt.iop)
    a, bb = fm.iops(chl, pc, tss, cdom)
    kd = kd_lee2013(a, bb, fm.bb_w, sun_zenith_deg[:, None])
    rrs = fm.rrs_from_iops(a, bb)
    return secchi_lee2015(_SECCHI_WL, kd, rrs)
