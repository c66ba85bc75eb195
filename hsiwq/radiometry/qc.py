"""Quality control of corrected acquisitions: per-pixel bit mask and acquisition verdict.

Per-pixel flags (uint16 bit mask, ``valid = qc == 0``):

======  =====  ==============  ==============================================================
bit     value  name            meaning
======  =====  ==============  ==============================================================
0       1      NO_DATA         a band is NaN in the raw counts (ENVI ignore value) or the
                               correction has no finite coefficients for it
1       2      SATURATED       a band reaches the sensor's ``saturation_dn`` (raw counts)
2       4      OUTSIDE_ROI     outside the site's region of interest
3       8      NOT_WATER       shore, vegetation, boats, foam, concrete (spectral tests)
4       16     SUN_GLINT       NIR Rrs more than k robust sigmas above what the scene's
                               water predicts from the pixel's red, and water-like once
                               that (nearly flat) excess is removed
5       32     NEGATIVE_RRS    some band in 400–700 nm has Rrs < 0
======  =====  ==============  ==============================================================

NEGATIVE_RRS, NOT_WATER and SUN_GLINT are computed in :mod:`.pixelqc`, NO_DATA and SATURATED
from the raw counts in :mod:`.kernel`, OUTSIDE_ROI from :mod:`.roi`.

The acquisition verdict ("accepted" / "rejected" with a reason) follows HyperCP and So-Rad
practice: integration times, irradiance validity, night and low sun, low irradiance, cloud
(sky-to-irradiance ratio at 750 nm), saturated sky or irradiance, too few valid water pixels.

References
----------
.. [1] Ruddick, K. G., De Cauwer, V., Park, Y.-J., Moore, G. (2006). Limnol. Oceanogr. 51(2),
   1167–1179 (clear sky when Li(750)/Ed(750) < 0.05 sr-1).
.. [2] Simis, S. G. H., Olsson, J. (2013). Unattended processing of shipborne hyperspectral
   reflectance measurements. Remote Sens. Environ. 135, 202–212 (automated QC as in So-Rad:
   sun zenith, irradiance, sky and glint tests).
.. [3] Mobley, C. D. (1999). Applied Optics 38(36), 7442–7455 (sun zenith and azimuth limits).
.. [4] Kay, S., Hedley, J. D., Lavender, S. (2009). Sun glint correction of high and low
   spatial resolution images of aquatic scenes. Remote Sensing 1(4), 697–730 (NIR glint).
.. [5] Tucker, C. J. (1979). Red and photographic infrared linear combinations for
   monitoring vegetation. Remote Sens. Environ. 8(2), 127–150 (NIR/red vegetation test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

NO_DATA = np.uint16(1)
SATURATED = np.uint16(2)
OUTSIDE_ROI = np.uint16(4)
NOT_WATER = np.uint16(8)
SUN_GLINT = np.uint16(16)
NEGATIVE_RRS = np.uint16(32)

#: Flag name → bit value, in bit order.
QC_FLAGS: dict[str, np.uint16] = {
    "NO_DATA": NO_DATA, "SATURATED": SATURATED, "OUTSIDE_ROI": OUTSIDE_ROI,
    "NOT_WATER": NOT_WATER, "SUN_GLINT": SUN_GLINT, "NEGATIVE_RRS": NEGATIVE_RRS,
}


def qc_attrs() -> dict[str, object]:
    """CF attributes of the ``qc`` variable (flag_masks, flag_meanings, long_name, comment)."""
    return {
        "long_name": "per-pixel quality flags",
        "flag_masks": np.array(list(QC_FLAGS.values()), dtype=np.uint16),
        "flag_meanings": " ".join(name.lower() for name in QC_FLAGS),
        "comment": "bit mask; a pixel is valid water when qc == 0 (see hsiwq.radiometry.qc)",
    }


@dataclass(frozen=True)
class QCOptions:
    """Thresholds of the per-pixel QC and the acquisition verdict.

    Attributes
    ----------
    max_sun_zenith_deg : float
        Reject above this solar zenith [deg] (70°: glint and sky models degrade; Mobley 1999).
    ed_reference_nm : float
        Wavelength of the irradiance test [nm].
    min_ed : float
        Reject when Ed(ed_reference_nm) is below this [W m-2 nm-1] (0.1: dense overcast or
        dusk; clear-sky noon Ed(550) is about 1.5–1.9).
    clear_sky_ratio : float
        Li(750)/Ed(750) [sr-1] below which the sky is clear (Ruddick et al. 2006: 0.05); it
        sets the ``sky_condition`` attribute and, with ``CorrectionOptions.cloudy_rho``, ρ.
    max_sky_ratio : float
        Reject above this Li(750)/Ed(750) [sr-1] (0.2: heavy cloud; a uniform overcast sky
        gives 1/π ≈ 0.32).
    min_valid_fraction : float
        Reject when fewer valid water pixels than this fraction of the ROI [-].
    negative_range_nm : (float, float)
        Band range of the negative-Rrs test [nm].
    negative_tolerance : float
        Rrs below −tolerance counts as negative [sr-1].
    glint_nm : float
        Wavelength of the glint test [nm] (the longest band is used if the camera stops
        short of it, as long as it is beyond 700 nm).
    glint_k_sigma : float
        Glint when NIR Rrs exceeds what the scene's water predicts from the pixel's red Rrs by
        more than k robust sigmas (1.4826 × MAD of the residuals) [-] ...
    glint_min_excess : float
        ... and by at least this much [sr-1], so that a nearly uniform scene does not flag its
        noise.
    glint_min_green_fraction : float
        A glint candidate, its NIR excess removed from every band, must keep at least this
        fraction of the background's Rrs(560) to be glint on water rather than a bright flat
        target (hull, concrete) [-].
    red_nm, green_nm, rededge_nir_nm : float
        Wavelengths of the non-water tests [nm] (each averaged over up to 3 bands).
    vegetation_ratio : float
        NOT_WATER when Rrs(800) > ratio × Rrs(670) (red edge of vegetation, scum) ...
    vegetation_min_nir : float
        ... and Rrs(800) > this [sr-1].
    nir_bright_ratio : float
        NOT_WATER when Rrs(NIR) > ratio × max(Rrs(560), Rrs(670)): water absorbs the NIR
        (a_w(860) ≈ 4.6 m-1 against 0.44 m-1 at 670 nm), soil, concrete, hulls and foam do
        not ...
    nir_bright_min_green : float
        ... and max(Rrs(560), Rrs(670)) > this [sr-1].
    max_green : float
        NOT_WATER when Rrs(560) exceeds this [sr-1] (white boats, foam; water stays below
        about 0.06 sr-1 even in very turbid rivers).
    glint_min_relative_azimuth_deg, glint_max_rho : float
        A rejection for too few valid pixels is put down to the sun-glint geometry when the
        sun-view relative azimuth is below this [deg] (90-135 deg is the recommended range,
        Mobley 1999) or rho above this [-] (about 0.028 at the recommended geometry and
        moderate wind).
    """

    max_sun_zenith_deg: float = 70.0
    ed_reference_nm: float = 550.0
    min_ed: float = 0.1
    clear_sky_ratio: float = 0.05
    max_sky_ratio: float = 0.2
    min_valid_fraction: float = 0.05
    negative_range_nm: tuple[float, float] = (400.0, 700.0)
    negative_tolerance: float = 0.0
    glint_nm: float = 860.0
    glint_k_sigma: float = 4.0
    glint_min_excess: float = 0.0005
    glint_min_green_fraction: float = 0.3
    red_nm: float = 670.0
    green_nm: float = 560.0
    rededge_nir_nm: float = 800.0
    vegetation_ratio: float = 2.0
    vegetation_min_nir: float = 0.005
    nir_bright_ratio: float = 0.7
    nir_bright_min_green: float = 0.01
    max_green: float = 0.08
    glint_min_relative_azimuth_deg: float = 90.0
    glint_max_rho: float = 0.05


def value_at(spectrum: np.ndarray, wavelength_nm: np.ndarray, target_nm: float) -> float:
    """Linear interpolation of a spectrum at one wavelength; NaN outside its range.

    Parameters
    ----------
    spectrum : ndarray
        Values [any unit].
    wavelength_nm : ndarray
        Band centres [nm], increasing.
    target_nm : float
        Wavelength [nm].

    Returns
    -------
    float
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    v = np.asarray(spectrum, dtype=float)
    if wl.size == 0 or not wl[0] - 1.0 <= target_nm <= wl[-1] + 1.0:
        return math.nan
    return float(np.interp(target_nm, wl, v))


def sky_ratio(li: np.ndarray, li_wavelength: np.ndarray, ed: np.ndarray,
              ed_wavelength: np.ndarray, at_nm: float = 750.0) -> float:
    """Li(750)/Ed(750) [sr-1], each on its own grid (NaN if either misses 750 nm)."""
    e = value_at(ed, ed_wavelength, at_nm)
    return value_at(li, li_wavelength, at_nm) / e if e and math.isfinite(e) else math.nan


@dataclass(frozen=True)
class Verdict:
    """Whole-acquisition decision.

    Attributes
    ----------
    verdict : str
        ``"accepted"`` or ``"rejected"``.
    reason : str
        Empty when accepted, else a short reason.
    """

    verdict: str
    reason: str = ""

    @property
    def accepted(self) -> bool:
        """True when the acquisition is accepted."""
        return self.verdict == "accepted"


def acquisition_verdict(
    *,
    integration_ms: Mapping[str, float | None],
    sun_zenith_deg: float,
    ed: np.ndarray,
    ed_wavelength: np.ndarray,
    li: np.ndarray,
    li_wavelength: np.ndarray,
    valid_fraction: float,
    saturated_channels: tuple[str, ...] = (),
    options: QCOptions = QCOptions(),
    roi_counts: Mapping[str, int] | None = None,
    n_region: int = 0,
    relative_azimuth_deg: float = math.nan,
    rho: float = math.nan,
) -> Verdict:
    """Decide whether an acquisition is usable, and say why not.

    Tests, in order (the first failure is the reason): integration times present and
    positive; Ed finite and non-negative; Li finite and non-negative; day (sun zenith < 90°);
    sun zenith ≤ ``max_sun_zenith_deg``; Ed(ed_reference_nm) ≥ ``min_ed``; sky and irradiance
    not saturated; Li(750)/Ed(750) ≤ ``max_sky_ratio``; valid fraction ≥
    ``min_valid_fraction``.

    Parameters
    ----------
    integration_ms : mapping
        Integration time per channel ``water``, ``sky``, ``irradiance`` [ms].
    sun_zenith_deg : float
        Solar zenith [deg].
    ed, ed_wavelength : ndarray
        Downwelling irradiance [W m-2 nm-1] on its band centres [nm] (the spectrometer's own
        grid, or the camera's).
    li, li_wavelength : ndarray
        Sky radiance [W m-2 sr-1 nm-1] on its band centres [nm].
    valid_fraction : float
        Fraction of the ROI's pixels that are valid water [-].
    saturated_channels : tuple of str
        Sky or irradiance channels with saturated counts.
    options : QCOptions
        Thresholds.
    roi_counts : mapping of str to int, optional
        Pixels of the ROI carrying each flag (:func:`flag_counts` of the ROI's ``qc``); with
        ``n_region`` (the ROI's pixels), they make the reason of a rejection for too few valid
        pixels name the test that removed them (see :func:`few_valid_reason`).
    relative_azimuth_deg : float
        Sun-view relative azimuth [deg] (0 = looking towards the sun).
    rho : float
        Sky-glint reflectance factor used [-].

    Returns
    -------
    Verdict
    """
    for ch in ("water", "sky", "irradiance"):
        t = integration_ms.get(ch)
        if t is None or not math.isfinite(float(t)) or float(t) <= 0:
            return Verdict("rejected", f"inconsistent integration time: {ch} = {t!r} ms")
    ed = np.asarray(ed, dtype=float)
    li = np.asarray(li, dtype=float)
    if ed.size == 0 or not np.isfinite(ed).all() or (ed < 0).any():
        return Verdict("rejected", "invalid irradiance: Ed has non-finite or negative values")
    if li.size == 0 or not np.isfinite(li).all() or (li < 0).any():
        return Verdict("rejected", "invalid sky radiance: Li has non-finite or negative values")
    if not math.isfinite(sun_zenith_deg) or sun_zenith_deg >= 90.0:
        return Verdict("rejected", f"night: sun zenith {sun_zenith_deg:.1f}°")
    if sun_zenith_deg > options.max_sun_zenith_deg:
        return Verdict("rejected", f"sun too low: elevation {90 - sun_zenith_deg:.1f}° < "
                                   f"{90 - options.max_sun_zenith_deg:g}° (zenith "
                                   f"{sun_zenith_deg:.1f}° > {options.max_sun_zenith_deg:g}°)")
    e_ref = value_at(ed, ed_wavelength, options.ed_reference_nm)
    if math.isfinite(e_ref) and e_ref < options.min_ed:
        return Verdict("rejected", f"Ed too low: Ed({options.ed_reference_nm:g}) = {e_ref:.3g} < "
                                   f"{options.min_ed:g} W m-2 nm-1")
    if saturated_channels:
        return Verdict("rejected", f"saturated {' and '.join(saturated_channels)} counts")
    ratio = sky_ratio(li, li_wavelength, ed, ed_wavelength)
    if math.isfinite(ratio) and ratio > options.max_sky_ratio:
        return Verdict("rejected", f"cloud: Li(750)/Ed(750) = {ratio:.3f} > "
                                   f"{options.max_sky_ratio:g} sr-1")
    if not valid_fraction >= options.min_valid_fraction:
        return Verdict("rejected", few_valid_reason(valid_fraction, roi_counts or {}, n_region,
                                                    relative_azimuth_deg, rho, options))
    return Verdict("accepted")


#: What each pixel flag says removed a pixel, in the words of a verdict reason.
_FLAG_WORDS = {"NO_DATA": "no data", "SATURATED": "saturated", "NOT_WATER": "not water (shore, "
               "vegetation, boats)", "SUN_GLINT": "sun glint", "NEGATIVE_RRS": "negative Rrs"}
#: The cause a verdict names when a flag removed most pixels.
_FLAG_CAUSES = {"NO_DATA": "no data", "SATURATED": "saturation", "NOT_WATER": "shore or non-water",
                "SUN_GLINT": "sun glint", "NEGATIVE_RRS": "negative Rrs"}


def few_valid_reason(valid_fraction: float, roi_counts: Mapping[str, int], n_region: int,
                     relative_azimuth_deg: float = math.nan, rho: float = math.nan,
                     options: QCOptions = QCOptions()) -> str:
    """The reason of a rejection for too few valid water pixels, naming the cause.

    The cause is the sun-glint geometry when the relative azimuth is below
    ``options.glint_min_relative_azimuth_deg`` or ρ above ``options.glint_max_rho`` (with
    both values), else the flag that removed most of the ROI's pixels; then the valid
    fraction and the count of each flag among the ROI's pixels, e.g. ``"sun-glint geometry
    (relative azimuth 6°, rho 0.149): too few valid water pixels (0.9 % < 5 %); of 3,072 ROI
    pixels: 3,044 negative Rrs, 3 sun glint"``.

    Parameters
    ----------
    valid_fraction : float
        Valid water pixels over the ROI's pixels [-].
    roi_counts : mapping of str to int
        ROI pixels carrying each flag of :data:`QC_FLAGS` (a pixel may carry several).
    n_region : int
        Pixels in the ROI.
    relative_azimuth_deg : float
        Sun-view relative azimuth [deg].
    rho : float
        Sky-glint reflectance factor [-].
    options : QCOptions

    Returns
    -------
    str
    """
    counts = {k: int(v) for k, v in roi_counts.items() if k in _FLAG_WORDS and v}
    causes = []
    if (math.isfinite(relative_azimuth_deg)
            and relative_azimuth_deg < options.glint_min_relative_azimuth_deg) or (
            math.isfinite(rho) and rho > options.glint_max_rho):
        causes.append(f"sun-glint geometry (relative azimuth {relative_azimuth_deg:.0f}°, "
                      f"rho {rho:.3f})")
    elif counts:
        causes.append(_FLAG_CAUSES[max(counts, key=counts.get)])
    text = (f"{causes[0]}: " if causes else "") + (
        f"too few valid water pixels ({100 * valid_fraction:.1f} % < "
        f"{100 * options.min_valid_fraction:g} %)")
    if n_region <= 0:
        return text + "; the region of interest holds no pixel"
    if counts:
        flagged = ", ".join(f"{n:,} {_FLAG_WORDS[k]}"
                            for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        text += f"; of {n_region:,} ROI pixels: {flagged}"
    return text


def add_flag(qc: np.ndarray, mask: np.ndarray, bit: np.uint16) -> None:
    """Set ``bit`` in ``qc`` where ``mask`` is True, in place.

    One dense pass: ``qc[mask] |= bit`` is some thirty times slower on scattered masks.
    """
    np.bitwise_or(qc, np.multiply(mask, bit, dtype=np.uint16), out=qc)


def flag_counts(qc: np.ndarray) -> dict[str, int]:
    """Number of pixels carrying each flag (a pixel may carry several)."""
    flags = np.asarray(qc, dtype=np.uint16)
    return {name: int(np.count_nonzero(flags & bit)) for name, bit in QC_FLAGS.items()}
