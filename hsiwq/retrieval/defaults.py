"""The out-of-the-box retrieval: published, calibration-free estimates per parameter.

The optically active parameters come from the semi-analytical spectral inversion
(:mod:`.inversion`, with the region's SIOPs when it has them) — chlorophyll-a,
phycocyanin, TSS, CDOM and the Secchi depth from the fitted IOPs (Lee et al. 2015) — and
turbidity from Dogliotti et al. (2015). The five parameters that are not optically active have
no honest default: only a regional model returns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bio_optics.iops import IOPModel
from .inversion import GENERIC_INLAND, invert_spectra
from .sediment import turbidity_dogliotti2015


@dataclass(frozen=True)
class Retrieval:
    """Results per parameter id, each an array of shape (n,).

    Attributes
    ----------
    values : dict of str to ndarray
        Estimates [catalogue units].
    algorithms : dict of str to str
        The algorithm or model version behind each parameter.
    lo, hi : dict of str to ndarray
        Bounds of the 68 % interval, where known [catalogue units].
    ood : dict of str to ndarray
        1 where the spectrum lies outside the model's domain, 0 inside, where known.
    """

    values: dict[str, np.ndarray]
    algorithms: dict[str, str] = field(default_factory=dict)
    lo: dict[str, np.ndarray] = field(default_factory=dict)
    hi: dict[str, np.ndarray] = field(default_factory=dict)
    ood: dict[str, np.ndarray] = field(default_factory=dict)


def retrieve_defaults(rrs: np.ndarray, wavelength_nm: np.ndarray, *,
                      siop: IOPModel = GENERIC_INLAND, siop_name: str = "generic-inland",
                      sun_zenith_deg: float = 30.0) -> Retrieval:
    """Every default parameter for each spectrum.

    Parameters
    ----------
    rrs : ndarray
        Spectra, shape (n, n_wavelength) or (n_wavelength,) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm].
    siop : IOPModel
        The region's specific IOPs for the inversion.
    siop_name : str
        Their name, recorded with the values.
    sun_zenith_deg : float
        Solar zenith angle [deg] (for Kd and the Secchi depth).

    Returns
    -------
    Retrieval
        Values in the catalogue's units (NaN where an algorithm does not apply).
    """
    spectra = np.atleast_2d(rrs)
    inv = invert_spectra(spectra, wavelength_nm, siop, sun_zenith_deg=sun_zenith_deg)
    saa = f"saa-lee1999:{siop_name}"
    values = {"chl_a": inv.chl_a, "phycocyanin": inv.phycocyanin, "tss": inv.tss,
              "cdom": inv.cdom, "secchi": inv.secchi,
              "turbidity": turbidity_dogliotti2015(spectra, wavelength_nm)}
    algorithms = {"chl_a": saa, "phycocyanin": saa, "tss": saa, "cdom": saa,
                  "secchi": f"lee2015:{siop_name}", "turbidity": "dogliotti2015"}
    return Retrieval(values, algorithms)
