"""The out-of-the-box algorithms: published, calibration-free estimates per parameter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .chlorophyll import chl_gons2005
from .sediment import tss_nechad2010, turbidity_dogliotti2015

Algorithm = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Default algorithm per parameter id, and the name recorded as its "model version".
DEFAULTS: dict[str, tuple[str, Algorithm]] = {
    "chl_a": ("default:gons2005", chl_gons2005),
    "tss": ("default:nechad2010", tss_nechad2010),
    "turbidity": ("default:dogliotti2015", turbidity_dogliotti2015),
}


def retrieve_defaults(rrs: np.ndarray, wavelength_nm: np.ndarray) -> dict[str, np.ndarray]:
    """Every default parameter for each spectrum.

    Parameters
    ----------
    rrs : ndarray
        Spectra, shape (..., n_wavelength) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm].

    Returns
    -------
    dict of str to ndarray
        Values of shape (...) per parameter id, in the catalogue's units; NaN where an
        algorithm does not apply.
    """
    return {pid: algo(rrs, wavelength_nm) for pid, (_, algo) in DEFAULTS.items()}
