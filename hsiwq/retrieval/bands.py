"""Picking band values out of hyperspectral Rrs."""

from __future__ import annotations

import numpy as np


def band(rrs: np.ndarray, wavelength_nm: np.ndarray, center_nm: float, width_nm: float = 10.0) -> np.ndarray:
    """Mean Rrs over a band of given centre and width, like a multispectral band.

    Parameters
    ----------
    rrs : ndarray
        Remote-sensing reflectance, shape (..., n_wavelength) [sr-1].
    wavelength_nm : ndarray
        Band centres of ``rrs`` [nm], increasing.
    center_nm : float
        Centre of the band to extract [nm].
    width_nm : float
        Full width of the band [nm]; when no hyperspectral band falls inside it, the value
        is linearly interpolated at ``center_nm``.

    Returns
    -------
    ndarray
        Rrs of the band, shape (...) [sr-1].
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    if center_nm < wl[0] - width_nm / 2 or center_nm > wl[-1] + width_nm / 2:
        raise ValueError(f"band {center_nm:g} nm lies outside the spectrum ({wl[0]:g}–{wl[-1]:g} nm)")
    inside = np.flatnonzero(np.abs(wl - center_nm) <= width_nm / 2)
    if inside.size:
        return rrs[..., inside].mean(axis=-1)
    hi = int(np.clip(np.searchsorted(wl, center_nm), 1, wl.size - 1))
    t = (center_nm - wl[hi - 1]) / (wl[hi] - wl[hi - 1])
    return (1 - t) * rrs[..., hi - 1] + t * rrs[..., hi]
