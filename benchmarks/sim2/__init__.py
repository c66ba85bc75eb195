"""A second, independent bio-optical simulator, for testing only.

Production code never imports it, and it imports nothing from the package's own simulator
(``hsiwq.bio_optics``, ``hsiwq.simulate``, ``hsiwq.models.synthetic``): its parameterisations
are other published ones, so that a model that wins only because it shares the package's
forward model is caught (docs/models.md, "Second, independent simulator").

- :mod:`.water` — pure water: absorption after Smith & Baker (1981) and Hale & Querry
  (1973), scattering after Morel (1974) for fresh water;
- :mod:`.iops` — constituent IOPs: a mixture of two phytoplankton groups after Bricaud et
  al. (1998) with a phycocyanin band after Simis et al. (2005), CDOM and NAP with slopes
  drawn per sample (Babin et al. 2003), particulate backscattering with a per-sample slope
  and a phytoplankton part after Morel & Maritorena (2001);
- :mod:`.radiance` — Rrs after Gordon et al. (1988), Raman scattering (Lee et al. 2013
  type), sun-induced chlorophyll fluorescence at 685 nm (Gower et al. 2004 type), Kd
  after Kirk (1984) and Secchi depth after Tyler (1968);
- :mod:`.waters` — three water types, the non-optical parameters and the lab relations;
- :mod:`.matchups` — matchup tables in the project's CSV contract, with sensor noise.
"""

from .matchups import WAVELENGTH_NM, simulate_matchups
from .waters import WATER_TYPES

__all__ = ["WAVELENGTH_NM", "WATER_TYPES", "simulate_matchups"]
