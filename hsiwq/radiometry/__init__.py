"""Radiometric correction: raw counts to remote-sensing reflectance with quality control.

Public entry points: :func:`correct_bundle` / :func:`write_correction` (the whole chain),
:func:`sky_glint_factor` (ρ), :func:`solar_position`, the QC bit flags and thresholds
(:mod:`.qc`), ROI masks and statistics (:mod:`.roi`), DN → radiance (:mod:`.dn`) and spectral
resampling (:mod:`.resample`).
"""

from .correct import CorrectionOptions, correct_bundle, write_correction
from .glint import (nir_similarity_correction, rho_mobley1999, rho_ruddick2006,
                    sky_glint_factor)
from .qc import QC_FLAGS, QCOptions, acquisition_verdict
from .roi import roi_mask, roi_statistics
from .sun import relative_azimuth, solar_position

__all__ = [
    "QC_FLAGS", "CorrectionOptions", "QCOptions", "acquisition_verdict", "correct_bundle",
    "nir_similarity_correction", "relative_azimuth", "rho_mobley1999", "rho_ruddick2006",
    "roi_mask", "roi_statistics", "sky_glint_factor", "solar_position", "write_correction",
]
