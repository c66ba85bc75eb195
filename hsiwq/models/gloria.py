"""Real matchups bundled with hsiwq: GLORIA spectra band-averaged to Sentinel-3 OLCI.

``hsiwq/data/gloria_olci.csv`` holds 1,529 measured above-water Rrs spectra from lakes,
reservoirs, estuaries and coasts in 15 countries, each with laboratory values of
chlorophyll-a, TSS, aCDOM(440) and the Secchi depth (empty = not measured). They come from
GLORIA (Lehmann et al. 2023; licence CC-BY 4.0), band-averaged to the 19 OLCI bands by
Maciel et al. (2023). The global default model (:mod:`hsiwq.models.global_model`) is fitted
on them and the real-data benchmark (``benchmarks/real.py``) measures every retrieval on
them, split by country and by campaign (country + date).

Real data are kept as they are: spectra that do not cover the NIR bands (empty cells),
negative Rrs in a few NIR bands, GLORIA's own QC flag (``flagged``) — nothing is dropped
here; what a consumer leaves out, it says.

References
----------
.. [1] Lehmann, M. K., Gurlin, D., Pahlevan, N., et al. (2023). GLORIA – A globally
   representative hyperspectral in situ dataset for optical sensing of water quality.
   Scientific Data 10, 100. doi:10.1038/s41597-023-01973-y; data doi:10.1594/PANGAEA.948492.
.. [2] Maciel, D. A., Pahlevan, N., Barbosa, C. C. F., et al. (2023). Towards global
   long-term water transparency products from the Landsat archive. Remote Sens. Environ.
   299, 113889.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .spectra import spectra_from_table

#: The bundled file.
GLORIA_FILE = Path(__file__).resolve().parent.parent / "data" / "gloria_olci.csv"
#: Parameters GLORIA has lab values of (catalogue ids).
GLORIA_PARAMETERS = ("chl_a", "tss", "cdom", "secchi")
#: Citation to print wherever the data or a model trained on them is used.
CITATION = ("GLORIA (Lehmann et al. 2023, Sci. Data 10:100, doi:10.1038/s41597-023-01973-y; "
            "CC-BY 4.0), OLCI bands after Maciel et al. (2023)")

#: Centre and full width [nm] of the 19 Sentinel-3 OLCI bands Oa01–Oa21 without Oa13–Oa15's
#: neighbours the data set leaves out (ESA Sentinel-3 OLCI User Guide), rounded as in the file.
OLCI_BANDS: tuple[tuple[float, float], ...] = (
    (400.0, 15.0), (412.0, 10.0), (442.0, 10.0), (490.0, 10.0), (510.0, 10.0), (560.0, 10.0),
    (620.0, 10.0), (665.0, 10.0), (673.0, 7.5), (681.0, 7.5), (708.0, 10.0), (753.0, 7.5),
    (761.0, 2.5), (764.0, 3.75), (767.0, 2.5), (778.0, 15.0), (865.0, 20.0), (885.0, 10.0),
    (900.0, 10.0))


#: How far a band centre may lie beyond the input spectrum's ends and still be estimated [nm].
EDGE_NM = 2.5


@dataclass(frozen=True)
class RealMatchups:
    """Real spectra with lab values.

    Attributes
    ----------
    rrs : ndarray
        Spectra (n, n_band) [sr-1]; NaN where the measurement did not cover a band.
    wavelength_nm : ndarray
        Band centres [nm].
    values : dict of str to ndarray
        Lab values per parameter id (n,) [catalogue units]; NaN = not measured.
    country, date, sample_id : ndarray of str
        Where and when each sample was taken; ``campaign`` is country + date.
    flagged : ndarray of bool
        GLORIA's own QC flags the spectrum as suspect.
    """

    rrs: np.ndarray
    wavelength_nm: np.ndarray
    values: dict[str, np.ndarray]
    country: np.ndarray
    date: np.ndarray
    sample_id: np.ndarray
    flagged: np.ndarray

    @property
    def campaign(self) -> np.ndarray:
        """Campaign of each sample: ``<country>/<date>`` (the unit of every split)."""
        return np.char.add(np.char.add(self.country.astype(str), "/"), self.date.astype(str))

    def __len__(self) -> int:
        return int(self.rrs.shape[0])

    def subset(self, rows: np.ndarray) -> "RealMatchups":
        """The rows ``rows`` (boolean mask or indices)."""
        return RealMatchups(self.rrs[rows], self.wavelength_nm, {k: v[rows] for k, v in self.values.items()},
                            self.country[rows], self.date[rows], self.sample_id[rows], self.flagged[rows])

    def table(self) -> pd.DataFrame:
        """As a matchup table (``Rrs_<nm>``, parameter ids, ``time``, ``site``, ``sample_id``)."""
        from .spectra import rrs_columns

        df = pd.DataFrame(self.rrs, columns=rrs_columns(self.wavelength_nm))
        for pid, v in self.values.items():
            df[pid] = v
        df["time"] = pd.to_datetime(self.date).strftime("%Y-%m-%dT12:00:00Z")
        df["site"] = self.country
        df["sample_id"] = self.sample_id
        return df


def load_gloria(path: str | Path = GLORIA_FILE) -> RealMatchups:
    """The bundled real matchups (or a file of the same columns).

    Returns
    -------
    RealMatchups
        Every row of the file, in file order.
    """
    table = pd.read_csv(path)
    rrs, wl = spectra_from_table(table, where=str(path))
    values = {p: pd.to_numeric(table[p], errors="coerce").to_numpy(float) for p in GLORIA_PARAMETERS}
    return RealMatchups(rrs, wl, values, table["country"].astype(str).to_numpy(),
                        table["date"].astype(str).to_numpy(), table["sample_id"].astype(str).to_numpy(),
                        table["gloria_flagged"].fillna(0).astype(int).to_numpy().astype(bool))


def band_average(rrs: np.ndarray, wavelength_nm: np.ndarray,
                 bands: tuple[tuple[float, float], ...] = OLCI_BANDS) -> np.ndarray:
    """Band-average spectra to a multispectral sensor's bands (rectangular response).

    Parameters
    ----------
    rrs : ndarray
        Spectra (n, n_wavelength) [sr-1] on increasing ``wavelength_nm``.
    wavelength_nm : ndarray
        Band centres of the input [nm].
    bands : tuple of (centre, full width) [nm]
        Target bands.

    Returns
    -------
    ndarray
        (n, len(bands)) [sr-1]: the mean of the input over [centre ± width/2] (linear
        interpolation onto an even grid of about 0.5 nm spanning the band, so that coarse
        inputs give the interpolated value); a band the input covers only in part (a camera
        starting at 400 nm and OLCI's 392.5–407.5 nm band) is averaged over the part
        covered, one whose centre lies more than :data:`EDGE_NM` beyond the input is NaN, as
        is a band where a contributing sample is not finite. An input already on the target
        centres is returned unchanged.

    References
    ----------
    .. [1] Maciel, D. A., et al. (2023). Remote Sens. Environ. 299, 113889 (band-averaging
       GLORIA to sensor bands with their spectral response functions).
    """
    x = np.atleast_2d(np.asarray(rrs, dtype=float))
    wl = np.asarray(wavelength_nm, dtype=float)
    centres = np.array([c for c, _ in bands])
    if wl.size == centres.size and np.allclose(wl, centres, atol=0.6):
        return x.copy()
    W = _band_weights(tuple(wl.tolist()), tuple(bands))  # (n_wavelength, n_band), linear
    out = np.where(np.isfinite(x), x, 0.0) @ W
    covered = np.any(W != 0.0, axis=0)
    out[:, ~covered] = np.nan
    bad = ~np.isfinite(x)
    if bad.any():  # NaN where a contributing sample is not finite
        out[(bad.astype(float) @ (W != 0.0).astype(float)) > 0] = np.nan
    return out


@functools.lru_cache(maxsize=32)
def _band_weights(wl: tuple[float, ...], bands: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Weights W with band means = spectra @ W (the interpolate-and-average of
    :func:`band_average` is linear in the spectrum: its columns are the images of the unit
    spectra)."""
    w = np.asarray(wl, dtype=float)
    W = np.zeros((w.size, len(bands)))
    if w.size < 2:
        return W
    for j, (c, width) in enumerate(bands):
        if c < w[0] - EDGE_NM or c > w[-1] + EDGE_NM:
            continue
        lo, hi = max(c - width / 2.0, w[0]), min(c + width / 2.0, w[-1])
        if hi <= lo:  # the centre lies just beyond the input: its nearest value
            W[0 if c < w[0] else -1, j] = 1.0
            continue
        grid = np.linspace(lo, hi, max(2, int(round((hi - lo) / 0.5)) + 1))
        k = np.searchsorted(w, grid).clip(1, w.size - 1)
        t = ((grid - w[k - 1]) / (w[k] - w[k - 1])).clip(0.0, 1.0)
        np.add.at(W[:, j], k - 1, (1.0 - t) / grid.size)
        np.add.at(W[:, j], k, t / grid.size)
    return W
