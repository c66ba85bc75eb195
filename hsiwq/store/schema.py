"""What a site's store holds: the quantities, the labels and their CF attributes.

Every numeric result of an acquisition is a *quantity* (a float column): the 11 parameters
of docs/contracts.md §1, each with the bounds of its 68 % interval and its out-of-domain flag, then
the QC summary, the sun/view geometry and the ancillary measurements. Categorical results are
*labels* (string columns): the acquisition verdict and its reason, the model behind each
parameter, and a few QC descriptors. The set is closed so that a typo fails loudly; add a
name here (with its units) to store something new — old stores simply read it as missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from ..params import PARAMETERS

#: Numeric quantities besides the parameters: name -> (units, long name, CF standard name).
EXTRA_QUANTITIES: dict[str, tuple[str, str, str]] = {
    # QC summary
    "valid_fraction": ("1", "fraction of ROI pixels that are valid water", ""),
    "n_valid": ("1", "number of valid water pixels in the ROI", ""),
    "n_no_data": ("1", "pixels flagged no data", ""),
    "n_saturated": ("1", "pixels flagged saturated", ""),
    "n_outside_roi": ("1", "pixels outside the region of interest", ""),
    "n_not_water": ("1", "pixels flagged not water (shore, vegetation, boats)", ""),
    "n_sun_glint": ("1", "pixels flagged sun glint", ""),
    "n_negative_rrs": ("1", "pixels flagged negative Rrs in 400-700 nm", ""),
    "n_dropped_bands": ("1", "bands dropped (bad bands or not covered by Li/Ed)", ""),
    "rho": ("1", "sky-glint reflectance factor used", ""),
    "sky_ratio_750": ("sr-1", "Li(750)/Ed(750), cloud indicator", ""),
    "ed_550": ("W m-2 nm-1", "downwelling irradiance at 550 nm", ""),
    # geometry
    "sun_zenith_deg": ("degree", "solar zenith angle", "solar_zenith_angle"),
    "sun_azimuth_deg": ("degree", "solar azimuth angle (clockwise from north)",
                        "solar_azimuth_angle"),
    "relative_azimuth_deg": ("degree", "sun-view relative azimuth angle", ""),
    "view_zenith_deg": ("degree", "water camera viewing zenith angle", "sensor_zenith_angle"),
    "view_azimuth_deg": ("degree", "water camera viewing azimuth angle", "sensor_azimuth_angle"),
    # ancillary
    "wind_speed_ms": ("m s-1", "wind speed", "wind_speed"),
    "water_level_m": ("m", "water level (radar gauge)", "water_surface_height_above_reference_datum"),
    "processed_at": ("seconds since 1970-01-01", "time the record was produced (UTC)", ""),
}

#: CF standard names of parameters, where CF has one.
_STANDARD_NAMES = {
    "chl_a": "mass_concentration_of_chlorophyll_a_in_sea_water",
    "tss": "mass_concentration_of_suspended_matter_in_sea_water",
    "turbidity": "sea_water_turbidity",
    "secchi": "secchi_depth_of_sea_water",
}

#: Labels (categorical results, stored as codes with CF ``flag_values``/``flag_meanings``).
BASE_LABELS: dict[str, str] = {
    "verdict": "acquisition QC verdict",
    "reason": "reason of the acquisition verdict",
    "model_version": "algorithms or models behind the record's values",
    "uncalibrated": "parameters whose values come from a model not calibrated for the site's region",
    "sky_condition": "sky condition from the Li/Ed ratio",
    "rho_method": "method of the sky-glint factor",
    "bundle_digest": "first 16 hex digits of the SHA-256 of the bundle's acquisition.json and ENVI files",
}

#: CF standard name of the ROI spectra ``rrs``.
RRS_STANDARD_NAME = ("surface_ratio_of_upwelling_radiance_emerging_from_sea_water_to_"
                     "downwelling_radiative_flux_in_air")

#: Shape of the optional downsampled parameter maps (lines, samples).
MAP_SHAPE = (64, 64)


def map_quantities() -> dict[str, tuple[str, str]]:
    """Spatial statistics of the maps (:mod:`hsiwq.maps.stats`): name -> (units, long name)."""
    from ..maps.stats import stat_quantities

    return stat_quantities()


def default_quantities() -> tuple[str, ...]:
    """Numeric quantities: each parameter with ``_lo``, ``_hi``, ``_ood``, the extras, then
    the maps' spatial statistics."""
    cols: list[str] = []
    for pid in PARAMETERS:
        cols += [pid, f"{pid}_lo", f"{pid}_hi", f"{pid}_ood"]
    return tuple(cols) + tuple(EXTRA_QUANTITIES) + tuple(map_quantities())


def default_labels() -> tuple[str, ...]:
    """Label names: the base labels, then ``<parameter>_model`` for each parameter."""
    return tuple(BASE_LABELS) + tuple(f"{pid}_model" for pid in PARAMETERS)


QUANTITIES: tuple[str, ...] = default_quantities()
_MAP_Q = map_quantities()
LABELS: tuple[str, ...] = default_labels()
_QSET = frozenset(QUANTITIES)
_LSET = frozenset(LABELS)


def quantity_attrs(name: str) -> dict[str, object]:
    """CF-style attributes (units, long_name, standard_name, flags) of one quantity."""
    base, _, suffix = name.rpartition("_") if name.endswith(("_lo", "_hi", "_ood")) else (name, "", "")
    if base in PARAMETERS:
        p = PARAMETERS[base]
        if suffix == "ood":
            return {"long_name": f"{p.name}: outside the model's domain", "units": "1",
                    "flag_values": [0.0, 1.0], "flag_meanings": "in_domain out_of_domain"}
        if suffix:
            bound = "lower" if suffix == "lo" else "upper"
            return {"long_name": f"{bound} bound of the 68 % interval of {p.name}",
                    "units": p.unit}
        attrs: dict[str, object] = {"long_name": p.name, "units": p.unit, "valid_min": 0.0,
                                    "ancillary_variables": f"{base}_lo {base}_hi {base}_ood {base}_model",
                                    "hsiwq_catalogue_range": [p.valid_range[0], p.valid_range[1]],
                                    "hsiwq_range_comment": (
                                        "values outside hsiwq_catalogue_range are kept and "
                                        f"flagged {base}_ood = 1; negative values are clipped "
                                        "to 0 and flagged")}
        if base in _STANDARD_NAMES:
            attrs["standard_name"] = _STANDARD_NAMES[base]
        if not p.optically_active:
            attrs["comment"] = ("not optically active: estimated from regional covariance "
                                "with optical parameters (lower confidence)")
        return attrs
    if name in _MAP_Q:
        units, long_name = _MAP_Q[name]
        return {"long_name": long_name, "units": units}
    units, long_name, standard = EXTRA_QUANTITIES.get(name, ("1", name, ""))
    attrs = {"long_name": long_name, "units": units}
    if standard:
        attrs["standard_name"] = standard
    return attrs


def label_attrs(name: str) -> dict[str, str]:
    """Descriptive attributes of one label (its flags are added where it is written)."""
    if name.endswith("_model") and name[:-6] in PARAMETERS:
        return {"long_name": f"algorithm or model version behind {PARAMETERS[name[:-6]].name}"}
    return {"long_name": BASE_LABELS.get(name, name)}


def flag_meaning(word: str) -> str:
    """A CF ``flag_meanings`` word for a category (blanks and odd characters → ``_``)."""
    return re.sub(r"[^0-9A-Za-z_.+\-@:=;]", "_", word) or "empty"


def check_names(values: Mapping[str, object], labels: Mapping[str, object]) -> None:
    """Raise ``ValueError`` naming unknown quantities or labels."""
    unknown_q = set(values) - _QSET
    unknown_l = set(labels) - _LSET
    if unknown_q:
        raise ValueError(f"unknown quantities {sorted(unknown_q)}")
    if unknown_l:
        raise ValueError(f"unknown labels {sorted(unknown_l)}")


@dataclass
class Record:
    """One acquisition's results, as written to the store.

    Attributes
    ----------
    time : datetime
        Acquisition time (UTC; naive times are taken as UTC). Stored to the second: the
        record's key within the site.
    values : mapping of str to float
        Numeric results by quantity name (see :data:`QUANTITIES`; missing ones are NaN).
    labels : mapping of str to str
        Categorical results by label name (see :data:`LABELS`), e.g. ``verdict``,
        ``reason``, ``chl_a_model``.
    rrs : ndarray or None
        ROI-median Rrs [sr-1] on ``wavelength``.
    wavelength : ndarray or None
        Band centres of ``rrs`` [nm].
    maps : mapping of str to ndarray, optional
        Downsampled parameter maps (parameter id -> 2-D array over the camera image); they
        are stored resampled to :data:`MAP_SHAPE`.
    """

    time: datetime
    values: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    rrs: np.ndarray | None = None
    wavelength: np.ndarray | None = None
    maps: Mapping[str, np.ndarray] | None = None
