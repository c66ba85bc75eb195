"""Inherent optical properties of pure water.

The absorption table is ``hsiwq/data/pure_water_absorption.csv``:

* 380.0–727.5 nm, every 2.5 nm: Pope & Fry (1997), Table 3;
* 730–906 nm, native ~1–2 nm sampling: Kou, Labrie & Chylek (1993).

Both were measured near 22 °C on pure (fresh) water. Values are interpolated linearly in
wavelength; nothing is extrapolated.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike

#: Pure-*sea*-water (S = 35–38 ‰) scattering coefficient at 500 nm [1/m] (Morel 1974); this is
#: the value behind the usual bb_w = 0.0038·(400/λ)^4.32 of QAA and the simulator's default.
BW500_SEAWATER = 0.00288
#: Pure *fresh* water scattering coefficient at 500 nm [1/m] (Morel 1974).
BW500_PURE_WATER = 0.00222
#: Spectral exponent of molecular scattering by water [-] (Morel 1974).
BW_EXPONENT = 4.32


@lru_cache(maxsize=1)
def pure_water_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tabulated pure-water absorption spectrum.

    Returns
    -------
    wavelength_nm : ndarray
        Wavelengths of the table [nm], increasing.
    a_w : ndarray
        Absorption coefficient of pure water [1/m].
    source : ndarray of str
        Source of each row (``"pope_fry_1997"`` or ``"kou_1993"``).

    References
    ----------
    .. [1] Pope, R. M., Fry, E. S. (1997). Absorption spectrum (380–700 nm) of pure water.
       II. Integrating cavity measurements. Appl. Opt. 36(33), 8710–8723.
    .. [2] Kou, L., Labrie, D., Chylek, P. (1993). Refractive indices of water and ice in the
       0.65–2.5 µm spectral range. Appl. Opt. 32(19), 3531–3540.
    """
    text = resources.files("hsiwq").joinpath("data", "pure_water_absorption.csv").read_text()
    rows = [ln.split(",") for ln in text.splitlines()
            if ln and not ln.startswith("#") and not ln.startswith("wavelength")]
    wl = np.array([float(r[0]) for r in rows])
    aw = np.array([float(r[1]) for r in rows])
    src = np.array([r[2].strip() for r in rows])
    for arr in (wl, aw, src):
        arr.setflags(write=False)
    return wl, aw, src


def a_w(wavelength_nm: ArrayLike) -> np.ndarray:
    """Absorption coefficient of pure water.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm], within 380–906 nm.

    Returns
    -------
    ndarray
        a_w [1/m], same shape as ``wavelength_nm``.

    Raises
    ------
    ValueError
        If a wavelength lies outside the table (no extrapolation).

    References
    ----------
    .. [1] Pope, R. M., Fry, E. S. (1997). Appl. Opt. 36(33), 8710–8723 (380–727.5 nm).
    .. [2] Kou, L., Labrie, D., Chylek, P. (1993). Appl. Opt. 32(19), 3531–3540 (730–906 nm).
    """
    wl_tab, aw_tab, _ = pure_water_table()
    wl = np.asarray(wavelength_nm, dtype=float)
    if wl.size and (np.nanmin(wl) < wl_tab[0] or np.nanmax(wl) > wl_tab[-1]):
        raise ValueError(
            f"pure-water absorption is tabulated for {wl_tab[0]:g}–{wl_tab[-1]:g} nm only, "
            f"got {np.nanmin(wl):g}–{np.nanmax(wl):g} nm")
    return np.interp(wl, wl_tab, aw_tab)


def b_w(wavelength_nm: ArrayLike, b500: float = BW500_SEAWATER) -> np.ndarray:
    """Scattering coefficient of pure water, b_w(λ) = b_w(500)·(λ/500)^−4.32.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm].
    b500 : float
        b_w at 500 nm [1/m]; default 0.00288 (Morel 1974, pure sea water, the value used by
        QAA). Pure fresh water is ≈ 23 % lower (0.00222), which is negligible next to particle
        backscattering in inland waters.

    Returns
    -------
    ndarray
        b_w [1/m].

    References
    ----------
    .. [1] Morel, A. (1974). Optical properties of pure water and pure sea water. In: Optical
       Aspects of Oceanography (N. G. Jerlov, E. Steemann Nielsen, eds.), Academic Press,
       1–24.
    .. [2] Zhang, X., Hu, L., He, M.-X. (2009). Scattering by pure seawater: Effect of
       salinity. Opt. Express 17(7), 5698–5710.
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    return b500 * (wl / 500.0) ** (-BW_EXPONENT)


def bb_w(wavelength_nm: ArrayLike, b500: float = BW500_SEAWATER) -> np.ndarray:
    """Backscattering coefficient of pure water, bb_w = 0.5·b_w.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm].
    b500 : float
        b_w at 500 nm [1/m] (see :func:`b_w`).

    Returns
    -------
    ndarray
        bb_w [1/m]; 0.5·0.00288·(λ/500)^−4.32, i.e. 0.0038 at 400 nm.

    References
    ----------
    .. [1] Morel, A. (1974). Optical properties of pure water and pure sea water. Academic
       Press, 1–24.
    .. [2] Zhang, X., Hu, L., He, M.-X. (2009). Opt. Express 17(7), 5698–5710.
    """
    return 0.5 * b_w(wavelength_nm, b500)
