"""Reading matchup tables (docs/contracts.md §4) for calibration.

A matchup table has ``Rrs_<nm>`` spectra columns (any grid, any order), parameter columns
named by the ids of docs/contracts.md §1 (empty = not measured) and optionally ``time``,
``site``, ``sample_id`` and other columns, which are carried through. Cross-validation
groups are the sampling **day** (from ``time``), else ``sample_id``, else the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..params import PARAMETER_IDS, PARAMETERS
from .registry import sha256_arrays
from .spectra import SpectraError, read_csv_table, spectra_from_table


@dataclass
class Matchups:
    """A validated matchup table.

    Attributes
    ----------
    table : pandas.DataFrame
        The table as read.
    rrs : ndarray
        Spectra (n, n_band) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm].
    values : ndarray
        Lab values (n, 11) in catalogue order [catalogue units], NaN = not measured.
    present : list of str
        Parameter ids with at least one lab value.
    groups : ndarray
        Cross-validation group of each row.
    group_by : str
        What the groups are (``day``, ``sample_id`` or ``row``).
    source : str
        Where the table came from.
    """

    table: pd.DataFrame
    rrs: np.ndarray
    wavelength_nm: np.ndarray
    values: np.ndarray
    present: list[str]
    groups: np.ndarray
    group_by: str
    source: str

    def sha256(self) -> str:
        """SHA-256 of the training data (spectra, wavelengths, lab values, groups)."""
        return sha256_arrays(self.rrs, self.wavelength_nm, self.values, self.groups.astype(str))


def matchups_from_table(table: pd.DataFrame, source: str = "table") -> Matchups:
    """Validate a matchup table.

    Raises
    ------
    SpectraError
        When spectra columns are missing or invalid, a parameter column holds non-numeric or
        non-positive values, or no parameter column is present.
    """
    rrs, wl = spectra_from_table(table, where=source)
    values = np.full((len(table), len(PARAMETER_IDS)), np.nan)
    present = []
    for j, pid in enumerate(PARAMETER_IDS):
        if pid not in table.columns:
            continue
        col = pd.to_numeric(table[pid], errors="coerce")
        bad = table[pid].notna() & col.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SpectraError(source, f"column {pid!r}, row {row + 2}: not a number "
                                       f"({table[pid].iloc[row]!r})")
        arr = col.to_numpy(float)
        if np.any(arr[np.isfinite(arr)] <= 0):
            row = int(np.flatnonzero(np.isfinite(arr) & (arr <= 0))[0])
            raise SpectraError(source, f"column {pid!r}, row {row + 2}: {arr[row]:g} "
                                       f"{PARAMETERS[pid].unit} is not positive (leave it empty "
                                       "when not measured or below detection)")
        values[:, j] = arr
        if np.isfinite(arr).any():
            present.append(pid)
    if not present:
        raise SpectraError(source, f"no parameter column with values (expected some of: {', '.join(PARAMETER_IDS)})")
    groups, group_by = _groups(table)
    return Matchups(table, rrs, wl, values, present, groups, group_by, source)


def read_matchups(path: str | Path) -> Matchups:
    """Read and validate a matchup CSV (see :func:`matchups_from_table`)."""
    path = Path(path)
    return matchups_from_table(read_csv_table(path), str(path))


def _groups(table: pd.DataFrame) -> tuple[np.ndarray, str]:
    if "time" in table.columns:
        t = pd.to_datetime(table["time"], utc=True, errors="coerce")
        if t.notna().all():
            return t.dt.strftime("%Y-%m-%d").to_numpy(), "day"
    if "sample_id" in table.columns and table["sample_id"].notna().all():
        return table["sample_id"].astype(str).to_numpy(), "sample_id"
    return np.arange(len(table)).astype(str), "row"
