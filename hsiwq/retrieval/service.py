"""What the pipeline asks of retrieval: every parameter of a region's spectrum.

This is the seam between the processing chain and the models: today the published defaults
with the region's SIOPs; regional learned models plug in here.
"""

from __future__ import annotations

import numpy as np

from ..workspace import Workspace
from .defaults import Retrieval, retrieve_defaults
from .regions import load_region_siop


def retrieve_region(rrs: np.ndarray, wavelength_nm: np.ndarray, *, region: str,
                    workspace: Workspace, sun_zenith_deg: float = 30.0) -> Retrieval:
    """Parameters of one or more spectra of a region.

    Parameters
    ----------
    rrs : ndarray
        Spectra, shape (n, n_wavelength) or (n_wavelength,) [sr-1].
    wavelength_nm : ndarray
        Band centres [nm].
    region : str
        Region id of the site (chooses SIOPs and models).
    workspace : Workspace
        Where regional calibration files live.
    sun_zenith_deg : float
        Solar zenith angle [deg].

    Returns
    -------
    Retrieval
    """
    siop, siop_name = load_region_siop(region, workspace.regions_dir)
    return retrieve_defaults(rrs, wavelength_nm, siop=siop, siop_name=siop_name,
                             sun_zenith_deg=sun_zenith_deg)
