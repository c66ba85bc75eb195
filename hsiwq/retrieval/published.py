"""The published band algorithms in one table: name, parameter, function, bands, reference.

Every calibration-free band algorithm of hsiwq is a pure function
``f(rrs [sr-1], wavelength_nm [nm]) -> ndarray`` of one parameter, in its own physical
module (:mod:`.chlorophyll`, :mod:`.phycocyanin`, :mod:`.sediment`, :mod:`.cdom`). This table
names each one once, for its three users:

- the plugin catalogue (:mod:`hsiwq.retrieval.algorithms`), which wraps them into
  :class:`~hsiwq.retrieval.algorithms.Algorithm` objects under these names;
- the regional models' features (:mod:`hsiwq.models.features`, ``alg_*`` columns);
- the global model's blend (:mod:`hsiwq.models.global_model`).

It imports no model code, so that the model modules can use it while the catalogue serves
the global model (see ``tests/test_imports.py``). The semi-analytical inversion and the QAA
Secchi depth need more than the spectra (SIOPs, the sun's position) and live in the
catalogue only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import cdom, chlorophyll, phycocyanin, sediment


@dataclass(frozen=True)
class BandFunction:
    """A published band algorithm.

    Attributes
    ----------
    name : str
        Its id: the plugin name and what is recorded with its values.
    parameter : str
        The parameter id it returns (:mod:`hsiwq.params`).
    function : callable
        ``function(rrs, wavelength_nm) -> ndarray`` (n,) in the catalogue's unit; NaN where
        it does not apply. ``rrs`` (n, n_wavelength) [sr-1] on increasing band centres
        ``wavelength_nm`` [nm].
    needs_nm : tuple of float
        The range its bands lie in [nm]: the centres it reads, rounded outward to whole
        5 nm. It reads nothing beyond this range widened by 5 nm (half a 10-nm band of
        :func:`~hsiwq.retrieval.bands.band`); on a coarse grid a band it reads may be
        interpolated from the grid's nearest neighbours.
    reference : str
        The publication.
    """

    name: str
    parameter: str
    function: Callable[[np.ndarray, np.ndarray], np.ndarray]
    needs_nm: tuple[float, float]
    reference: str


#: The published band algorithms by name.
BAND_FUNCTIONS: dict[str, BandFunction] = {f.name: f for f in (
    BandFunction("chl-owt-blend", "chl_a", chlorophyll.chl_blended, (440.0, 785.0),
                 "OC4 / Gilerson (2010) 2-band / Gons (2005) weighted by water type "
                 "(Mishra & Mishra 2012 NDCI, Dogliotti et al. 2015 switch)"),
    BandFunction("ndci-mishra2012", "chl_a", chlorophyll.chl_ndci_mishra2012, (660.0, 715.0),
                 "Mishra & Mishra (2012) Remote Sens. Environ. 117, 394"),
    BandFunction("gilerson2010-2band", "chl_a", chlorophyll.chl_gilerson2010, (660.0, 715.0),
                 "Gilerson et al. (2010) Opt. Express 18, 24109"),
    BandFunction("gilerson2010-3band", "chl_a", chlorophyll.chl_gilerson2010_3band, (660.0, 760.0),
                 "Gilerson et al. (2010) Opt. Express 18, 24109"),
    BandFunction("gons2005", "chl_a", chlorophyll.chl_gons2005, (660.0, 785.0),
                 "Gons et al. (2002) J. Plankton Res. 24, 947; (2005) 27, 125"),
    BandFunction("oc4-oreilly2000", "chl_a", chlorophyll.chl_oc4_oreilly2000, (440.0, 560.0),
                 "O'Reilly et al. (2000) NASA/TM-2000-206892 vol. 11 (OC4v6)"),
    BandFunction("simis2005", "phycocyanin", phycocyanin.pc_simis2005, (615.0, 785.0),
                 "Simis et al. (2005) Limnol. Oceanogr. 50, 237"),
    BandFunction("simis2007", "phycocyanin", phycocyanin.pc_simis2007, (615.0, 785.0),
                 "Simis et al. (2005) Limnol. Oceanogr. 50, 237; (2007) Remote Sens. "
                 "Environ. 106, 414"),
    BandFunction("nechad2010", "tss", sediment.tss_nechad2010, (660.0, 875.0),
                 "Nechad et al. (2010) Remote Sens. Environ. 114, 854"),
    BandFunction("dogliotti2015", "turbidity", sediment.turbidity_dogliotti2015, (640.0, 870.0),
                 "Dogliotti et al. (2015) Remote Sens. Environ. 156, 157"),
    BandFunction("dogliotti2015-nir", "turbidity", sediment.turbidity_dogliotti2015_nir,
                 (849.0, 869.0),
                 "Dogliotti et al. (2015) Remote Sens. Environ. 156, 157: the 859-nm branch "
                 "alone, for pigment-rich (bloom) water"),
    BandFunction("ficek2011", "cdom", cdom.cdom_ficek2011, (565.0, 660.0),
                 "Ficek et al. (2011) Oceanologia 53, 959"),
    BandFunction("qaa-cdom", "cdom", cdom.cdom_qaa, (400.0, 700.0),
                 "Lee et al. (2002) Appl. Opt. 41, 5755; Zhu et al. (2011) J. Geophys. "
                 "Res. 116, C02011"),
)}
