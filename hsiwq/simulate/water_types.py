"""The simulator's water types: constituent ranges, specific IOPs and spatial variability."""

from __future__ import annotations

from dataclasses import dataclass

from hsiwq.bio_optics.covariance import COVARIANCE_MODELS, CovarianceModel
from hsiwq.bio_optics.iops import IOPModel


@dataclass(frozen=True)
class WaterType:
    """A class of inland water for the simulator.

    Attributes
    ----------
    name : str
        Id (``clear_reservoir``, ``eutrophic_lake``, ``sediment_river``).
    chl_range : tuple of float
        Range of acquisition-mean chlorophyll-a [µg/L] drawn when none is given.
    tss_range : tuple of float
        Range of acquisition-mean total suspended solids [mg/L].
    cdom_range : tuple of float
        Range of acquisition-mean CDOM absorption at 440 nm [1/m].
    pc_ratio_range : tuple of float
        Range of the phycocyanin : chlorophyll-a ratio [-].
    bloom_chl_range, bloom_pc_ratio_range : tuple of float or None
        The same under a cyanobacterial bloom (None: no bloom in this water type).
    iop : IOPModel
        Specific inherent optical properties.
    covariance : CovarianceModel
        Synthetic covariance of the non-optical parameters.
    spatial_cv : dict of str to float
        Spatial variability (standard deviation of ln) of ``chl``, ``tss``, ``cdom`` and the
        PC:Chl ``pc_ratio`` within a scene [-].
    bloom_spatial_cv_chl : float
        Spatial variability of chlorophyll-a under a bloom (patchy scum) [-].
    """

    name: str
    chl_range: tuple[float, float]
    tss_range: tuple[float, float]
    cdom_range: tuple[float, float]
    pc_ratio_range: tuple[float, float]
    bloom_chl_range: tuple[float, float] | None
    bloom_pc_ratio_range: tuple[float, float] | None
    iop: IOPModel
    covariance: CovarianceModel
    spatial_cv: dict[str, float]
    bloom_spatial_cv_chl: float = 0.3


WATER_TYPES: dict[str, WaterType] = {
    "clear_reservoir": WaterType(
        "clear_reservoir", chl_range=(1.0, 3.0), tss_range=(1.0, 5.0), cdom_range=(0.3, 0.8),
        pc_ratio_range=(0.05, 0.15), bloom_chl_range=None, bloom_pc_ratio_range=None,
        iop=IOPModel(s_cdom=0.017, a_nap_star_443=0.030, s_nap=0.0123, b_bp_star_555=0.005,
                     eta=1.0, b_bph_star_555=0.0004, eta_ph=0.5),
        covariance=COVARIANCE_MODELS["clear_reservoir"],
        spatial_cv={"chl": 0.12, "tss": 0.12, "cdom": 0.05, "pc_ratio": 0.1},
    ),
    "eutrophic_lake": WaterType(
        "eutrophic_lake", chl_range=(10.0, 60.0), tss_range=(20.0, 60.0),
        cdom_range=(0.5, 1.5), pc_ratio_range=(0.4, 1.0), bloom_chl_range=(80.0, 300.0),
        bloom_pc_ratio_range=(1.0, 2.0),
        iop=IOPModel(s_cdom=0.015, a_nap_star_443=0.035, s_nap=0.011, b_bp_star_555=0.006,
                     eta=0.8, b_bph_star_555=0.0004, eta_ph=0.5, aph_scale=2.0),
        covariance=COVARIANCE_MODELS["eutrophic_lake"],
        spatial_cv={"chl": 0.15, "tss": 0.12, "cdom": 0.05, "pc_ratio": 0.1},
        bloom_spatial_cv_chl=0.3,
    ),
    "sediment_river": WaterType(
        "sediment_river", chl_range=(2.0, 10.0), tss_range=(50.0, 300.0),
        cdom_range=(0.5, 2.0), pc_ratio_range=(0.1, 0.3), bloom_chl_range=None,
        bloom_pc_ratio_range=None,
        iop=IOPModel(s_cdom=0.016, a_nap_star_443=0.045, s_nap=0.0123, b_bp_star_555=0.008,
                     eta=0.4, b_bph_star_555=0.0004, eta_ph=0.5, aph_scale=2.0),
        covariance=COVARIANCE_MODELS["sediment_river"],
        spatial_cv={"chl": 0.12, "tss": 0.15, "cdom": 0.05, "pc_ratio": 0.1},
    ),
}


def water_type(name: str | WaterType) -> WaterType:
    """Look a water type up by name.

    Parameters
    ----------
    name : str or WaterType
        Water-type id (or the object itself).

    Returns
    -------
    WaterType

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if isinstance(name, WaterType):
        return name
    try:
        return WATER_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown water type {name!r}; known: {', '.join(WATER_TYPES)}") from None
