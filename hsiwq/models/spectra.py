"""Spectra tables (docs/contracts.md §4) and resampling to a common wavelength grid.

Spectra columns are named ``Rrs_<nm>`` (e.g. ``Rrs_400``, ``Rrs_402.5``), on any grid and in
any order. :func:`spectra_from_table` reads them into an array sorted by wavelength;
:func:`resample` puts spectra of any grid on a model's grid.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import HsiwqError

_COLUMN = re.compile(r"^Rrs_(\d+(?:\.\d+)?)$")


class SpectraError(HsiwqError):
    """A spectra or matchup table cannot be used (no Rrs columns, bad grid)."""


def read_csv_table(path: Path, error: type[HsiwqError] = SpectraError) -> pd.DataFrame:
    """A CSV table, or ``error(path, reason)`` when it is missing or not readable as CSV."""
    if not path.is_file():
        raise error(path, "no such file")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise error(path, f"not a readable CSV table ({' '.join(str(exc).split())})") from None


def rrs_columns(wavelength_nm: ArrayLike) -> list[str]:
    """Column names ``Rrs_<nm>`` for band centres [nm] (shortest exact decimal form)."""
    return [f"Rrs_{float(w):.10g}" for w in np.asarray(wavelength_nm, dtype=float)]


def spectra_from_table(table: pd.DataFrame, where: str = "table") -> tuple[np.ndarray, np.ndarray]:
    """The spectra of a table, sorted by wavelength.

    Parameters
    ----------
    table : pandas.DataFrame
        A spectra or matchup table.
    where : str
        Name of the table in error messages.

    Returns
    -------
    rrs : ndarray
        Shape (n_rows, n_wavelength) [sr-1] (NaN where a cell is empty).
    wavelength_nm : ndarray
        Band centres [nm], increasing.

    Raises
    ------
    SpectraError
        When the table has no ``Rrs_<nm>`` column, a wavelength twice, or non-numeric cells.
    """
    found = [(float(m.group(1)), c) for c in table.columns if (m := _COLUMN.match(str(c)))]
    if not found:
        raise SpectraError(where, "no spectra columns: expected columns named Rrs_<nm>, "
                                  "e.g. Rrs_400, Rrs_402.5")
    found.sort()
    wl = np.array([w for w, _ in found])
    if np.any(np.diff(wl) <= 0):
        dup = wl[1:][np.diff(wl) <= 0][0]
        raise SpectraError(where, f"wavelength {dup:g} nm appears in more than one Rrs column")
    try:
        rrs = np.array(table[[c for _, c in found]].apply(pd.to_numeric, errors="raise").to_numpy(float))
    except (ValueError, TypeError) as exc:
        raise SpectraError(where, f"non-numeric value in an Rrs column ({exc})") from None
    return rrs, wl


def resampling_matrix(source_nm: ArrayLike, target_nm: ArrayLike) -> np.ndarray:
    """Linear operator M with ``rrs_target = rrs_source @ M``.

    Where the source grid is finer (three or more source bands within half a target spacing
    of a target centre) the target band is their mean, which averages noise; elsewhere it is
    interpolated linearly between its neighbours (a box mean of one or two coarse bands
    would bias sharp features such as the water absorption bands of the NIR).

    Parameters
    ----------
    source_nm : array_like
        Increasing source band centres [nm].
    target_nm : array_like
        Increasing target band centres [nm], within the source range.

    Returns
    -------
    ndarray
        Shape (n_source, n_target).
    """
    src = np.asarray(source_nm, dtype=float)
    tgt = np.asarray(target_nm, dtype=float)
    half = np.gradient(tgt) / 2 if tgt.size > 1 else np.array([0.5])
    m = np.zeros((src.size, tgt.size))
    for j, (c, h) in enumerate(zip(tgt, half)):
        inside = np.flatnonzero(np.abs(src - c) <= h)
        whole = src[0] <= c - h and c + h <= src[-1]  # a box cut by the grid's end is biased
        if inside.size >= 3 and whole:  # a finer source grid: average (less noise)
            m[inside, j] = 1.0 / inside.size
            continue
        hi = int(np.clip(np.searchsorted(src, c), 1, src.size - 1))
        t = (c - src[hi - 1]) / (src[hi] - src[hi - 1])
        m[hi - 1, j], m[hi, j] = 1.0 - t, t
    return m


def resample(rrs: ArrayLike, source_nm: ArrayLike, target_nm: ArrayLike,
             tolerance_nm: float = 5.0) -> np.ndarray:
    """Spectra on another grid (see :func:`resampling_matrix`).

    Parameters
    ----------
    rrs : array_like
        Spectra (n, n_source) [sr-1].
    source_nm, target_nm : array_like
        Band centres [nm].
    tolerance_nm : float
        How far the target grid may extend beyond the source grid (values there are taken
        from the end band) [nm].

    Returns
    -------
    ndarray
        Shape (n, n_target) [sr-1].

    Raises
    ------
    SpectraError
        When the source grid does not cover the target grid.
    """
    src = np.asarray(source_nm, dtype=float)
    tgt = np.asarray(target_nm, dtype=float)
    if src[0] > tgt[0] + tolerance_nm or src[-1] < tgt[-1] - tolerance_nm:
        raise SpectraError("spectra", f"bands {src[0]:g}–{src[-1]:g} nm do not cover the "
                                      f"model's grid {tgt[0]:g}–{tgt[-1]:g} nm")
    x = np.atleast_2d(np.asarray(rrs, dtype=float))
    if src.size == tgt.size and np.allclose(src, tgt):
        return x.copy()
    m = resampling_matrix(src, np.clip(tgt, src[0], src[-1]))
    used = np.flatnonzero(np.any(m != 0, axis=1))  # a NaN in an unused band must not spread
    return x[:, used] @ m[used]


def common_grid(wavelength_nm: ArrayLike, step_nm: float = 5.0,
                limits_nm: tuple[float, float] = (400.0, 900.0)) -> np.ndarray:
    """A regular model grid within both ``limits_nm`` and the range of ``wavelength_nm`` [nm]."""
    wl = np.asarray(wavelength_nm, dtype=float)
    lo = max(limits_nm[0], np.ceil(wl.min() / step_nm) * step_nm)
    hi = min(limits_nm[1], np.floor(wl.max() / step_nm) * step_nm)
    if hi - lo < 10 * step_nm:
        raise SpectraError("spectra", f"bands {wl.min():g}–{wl.max():g} nm leave less than "
                                      f"{10 * step_nm:g} nm within {limits_nm[0]:g}–{limits_nm[1]:g} nm")
    return np.arange(lo, hi + step_nm / 2, step_nm)
