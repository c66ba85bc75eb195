"""Bio-optical models: pure water, constituent IOPs, the Rrs forward model, Kd and Secchi
depth, and the synthetic regional covariance of the non-optical parameters.

Pure array-in/array-out functions; see docs/retrieval.md.
"""

from hsiwq.bio_optics.covariance import (
    COVARIANCE_MODELS,
    CovarianceModel,
    nonoptical_from_optical,
    turbidity_from_tss,
)
from hsiwq.bio_optics.forward import (
    G0_LEE2002,
    G1_LEE2002,
    ForwardModel,
    above_surface_rrs,
    below_surface_rrs,
    rrs_from_constituents,
    rrs_from_iops,
    subsurface_rrs,
    u_from_iops,
)
from hsiwq.bio_optics.iops import (
    IOPModel,
    a_cdom,
    a_nap,
    a_pc,
    a_ph,
    bb_p,
    bricaud_coefficients,
    total_iops,
)
from hsiwq.bio_optics.secchi import kd_lee2013, secchi_lee2015
from hsiwq.bio_optics.water import a_w, b_w, bb_w, pure_water_table

__all__ = [
    "COVARIANCE_MODELS", "CovarianceModel", "ForwardModel", "G0_LEE2002", "G1_LEE2002",
    "IOPModel", "a_cdom", "a_nap", "a_pc", "a_ph", "a_w", "above_surface_rrs", "b_w", "bb_p",
    "bb_w", "below_surface_rrs", "bricaud_coefficients", "kd_lee2013",
    "nonoptical_from_optical", "pure_water_table", "rrs_from_constituents", "rrs_from_iops",
    "secchi_lee2015", "subsurface_rrs", "total_iops", "turbidity_from_tss", "u_from_iops",
]
