"""Pure-water absorption and scattering of the second simulator.

Absorption: Smith & Baker (1981), 400–800 nm every 10 nm, then Hale & Querry (1973) from
their imaginary refractive index k, a = 4πk/λ, at 825, 850, 875 and 900 nm. (The package uses
Pope & Fry 1997 and Kou et al. 1993: deliberately another source here.)
Scattering: Morel (1974) pure fresh water, b_w(λ) = 0.00222·(λ/500)^−4.32, bb_w = b_w/2.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Smith & Baker (1981) Table 1, pure water absorption, 400–800 nm [1/m].
SMITH_BAKER_1981 = {
    400: 0.0171, 410: 0.0162, 420: 0.0153, 430: 0.0144, 440: 0.0145, 450: 0.0145, 460: 0.0156,
    470: 0.0156, 480: 0.0176, 490: 0.0196, 500: 0.0257, 510: 0.0357, 520: 0.0477, 530: 0.0507,
    540: 0.0558, 550: 0.0638, 560: 0.0708, 570: 0.0799, 580: 0.108, 590: 0.157, 600: 0.244,
    610: 0.289, 620: 0.309, 630: 0.319, 640: 0.329, 650: 0.349, 660: 0.400, 670: 0.430,
    680: 0.450, 690: 0.500, 700: 0.650, 710: 0.839, 720: 1.169, 730: 1.799, 740: 2.38,
    750: 2.47, 760: 2.55, 770: 2.51, 780: 2.36, 790: 2.16, 800: 2.07,
}
#: Hale & Querry (1973) Table 1, imaginary refractive index k of water beyond 800 nm [-].
HALE_QUERRY_1973_K = {825: 1.82e-7, 850: 2.93e-7, 875: 3.91e-7, 900: 4.86e-7}
#: Morel (1974) scattering coefficient of pure fresh water at 500 nm [1/m] and its exponent.
BW500_FRESH, BW_EXPONENT = 0.00222, 4.32


def pure_water_table() -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths [nm] and pure-water absorption [1/m] of the stitched table (400–900 nm).

    References
    ----------
    .. [1] Smith, R. C., Baker, K. S. (1981). Optical properties of the clearest natural
       waters (200–800 nm). Appl. Opt. 20(2), 177–184.
    .. [2] Hale, G. M., Querry, M. R. (1973). Optical constants of water in the 200-nm to
       200-µm wavelength region. Appl. Opt. 12(3), 555–563.
    """
    wl = list(SMITH_BAKER_1981) + list(HALE_QUERRY_1973_K)
    a = list(SMITH_BAKER_1981.values()) + [4 * np.pi * k / (w * 1e-9) for w, k in HALE_QUERRY_1973_K.items()]
    return np.array(wl, float), np.array(a, float)


def a_w(wavelength_nm: ArrayLike) -> np.ndarray:
    """Pure-water absorption [1/m] at ``wavelength_nm`` (linear interpolation, 400–900 nm)."""
    wl, a = pure_water_table()
    return np.interp(np.asarray(wavelength_nm, float), wl, a)


def bb_w(wavelength_nm: ArrayLike) -> np.ndarray:
    """Pure fresh-water backscattering [1/m], half of Morel's (1974) b_w.

    References
    ----------
    .. [1] Morel, A. (1974). Optical properties of pure water and pure sea water. In Optical
       Aspects of Oceanography (Jerlov, Steemann Nielsen, eds.), Academic Press, 1–24.
    """
    return 0.5 * BW500_FRESH * (np.asarray(wavelength_nm, float) / 500.0) ** -BW_EXPONENT
