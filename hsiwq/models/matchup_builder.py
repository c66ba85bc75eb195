"""Matchup tables from the store: lab samples paired with the nearest valid acquisition.

For each lab sample (a row with a ``time``), the acquisition of the site's store nearest in
time within ± ``window`` whose verdict is ``accepted`` and whose ROI-median spectrum is
complete is paired with it; its spectrum becomes the ``Rrs_<nm>`` columns (docs/contracts.md §4).
Samples without such an acquisition are left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import HsiwqError
from .spectra import rrs_columns


class MatchupError(HsiwqError):
    """Lab samples cannot be matched (bad table, no store, nothing within the window)."""


@dataclass
class MatchupResult:
    """A built matchup table and what was left out."""

    table: pd.DataFrame
    n_samples: int
    n_unmatched: int


def build_matchups(store: xr.Dataset, samples: pd.DataFrame, *, window_minutes: float = 30.0,
                   where: str = "samples") -> MatchupResult:
    """Pair lab samples with the nearest valid acquisition of a store.

    Parameters
    ----------
    store : xarray.Dataset
        ``SiteStore(...).read()``: ``rrs`` (time, wavelength) [sr-1] and ``verdict``.
    samples : pandas.DataFrame
        Lab table with a ``time`` column (ISO 8601; naive times are UTC) and parameter columns.
    window_minutes : float
        Largest |sample time − acquisition time| [min].
    where : str
        Name of the lab table in error messages.

    Returns
    -------
    MatchupResult
        Lab columns, ``acquisition_time``, ``time_offset_min`` and ``Rrs_<nm>`` columns.
    """
    if "time" not in samples.columns:
        raise MatchupError(where, "no 'time' column (sampling time, ISO 8601 UTC)")
    t = pd.to_datetime(samples["time"], utc=True, errors="coerce")
    if t.isna().any():
        row = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise MatchupError(where, f"row {row + 2}: unreadable time {samples['time'].iloc[row]!r}")
    if window_minutes <= 0:
        raise MatchupError("--window", f"must be positive, got {window_minutes}")
    acq = pd.to_datetime(store["time"].values).tz_localize("UTC") if store.sizes.get("time", 0) else pd.DatetimeIndex([], tz="UTC")
    rrs = store["rrs"].values if "rrs" in store else np.zeros((0, 0))
    ok = np.asarray(store["verdict"].values == "accepted") & np.all(np.isfinite(rrs), axis=1) if len(acq) else np.zeros(0, bool)
    acq_ok, rrs_ok = acq[ok], rrs[ok]
    out_rows, spectra = [], []
    for i, ts in enumerate(t):
        if not len(acq_ok):
            break
        dt = np.abs((acq_ok - ts).total_seconds().to_numpy())
        j = int(np.argmin(dt))
        if dt[j] <= window_minutes * 60.0:
            out_rows.append(i)
            spectra.append(rrs_ok[j])
    if not out_rows:
        raise MatchupError(where, f"no sample lies within ±{window_minutes:g} min of a valid acquisition "
                                  f"({len(acq_ok)} valid acquisitions in the store)")
    lab = samples.iloc[out_rows].reset_index(drop=True)
    acq_times = [acq_ok[int(np.argmin(np.abs((acq_ok - t.iloc[i]).total_seconds().to_numpy())))] for i in out_rows]
    lab.insert(lab.columns.get_loc("time") + 1, "acquisition_time",
               [a.strftime("%Y-%m-%dT%H:%M:%SZ") for a in acq_times])
    lab.insert(lab.columns.get_loc("acquisition_time") + 1, "time_offset_min",
               [round((a - t.iloc[i]).total_seconds() / 60.0, 2) for a, i in zip(acq_times, out_rows)])
    spec = pd.DataFrame(np.array(spectra), columns=rrs_columns(store["wavelength"].values))
    table = pd.concat([lab, spec], axis=1)
    return MatchupResult(table, len(samples), len(samples) - len(out_rows))
