"""Radiometric correction of an acquisition bundle: raw counts to Rrs with QC (docs/radiometry.md).

Rrs = (Lt − ρ·Li) / Ed, with Lt, Li and Ed from the raw counts of the water camera, the sky
radiometer and the irradiance sensor (:mod:`.dn`), Li and Ed resampled to the camera's bands
(:mod:`.resample`), ρ from wind and sun/view geometry (:mod:`.glint`), the sun position from
time and place (:mod:`.sun`), per-pixel flags and the acquisition verdict from :mod:`.qc`.

Without a non-linearity correction the whole chain is affine in the counts, so the cube is
corrected in a single fused pass per block of lines, Rrs = DN·a − b with per-band
a = gain / (t·Ed) and b = (gain·dark / t + ρ·Li) / Ed, in float32; the result array is the
only full-size allocation. A bundle read with ``read_bundle(path, lazy=True)`` is corrected
straight from the water cube's file: each block of lines is read as raw counts, cast to
float32 in the output and corrected there while in cache (see :mod:`.kernel`); the results
are identical to those of an eagerly read bundle.

References
----------
.. [1] Mobley, C. D. (1999). Estimation of the remote-sensing reflectance from above-surface
   measurements. Applied Optics 38(36), 7442–7455.
.. [2] Ruddick, K. G., De Cauwer, V., Park, Y.-J., Moore, G. (2006). Limnol. Oceanogr. 51(2),
   1167–1179.
.. [3] Mueller, J. L. et al. (2003). Ocean Optics Protocols for Satellite Ocean Color Sensor
   Validation, Revision 4, Vol. III, NASA/TM-2003-211621/Rev4-Vol.III (above-water method).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import hsiwq
from hsiwq.acquisition import Bundle
from hsiwq.errors import CalibrationError, ConfigError
from hsiwq.io.envi import envi_source
from hsiwq.sensor import SensorCalibration

from . import qc as qcm
from .dn import channel_coefficients, spectrum_radiance
from .glint import RHO_CLOUDY, fresnel_reflectance, nir_similarity_correction, sky_glint_factor
from .resample import resample_spectrum
from .kernel import AffineCorrection, band_runs, run_blocks
from .pixelqc import QCBands, fails_water_tests, scene_flags
from .roi import roi_mask
from .sun import relative_azimuth, solar_position


@dataclass(frozen=True)
class CorrectionOptions:
    """Options of :func:`correct_bundle`.

    Attributes
    ----------
    qc : QCOptions
        Thresholds of the per-pixel QC and the verdict.
    nir_correction : bool
        Subtract the residual glint estimated with the NIR similarity spectrum (Ruddick et
        al. 2006, 720/780 nm) from every pixel; needs bands covering 720–780 nm.
    cloudy_rho : bool
        Under a cloudy sky (Li(750)/Ed(750) ≥ ``qc.clear_sky_ratio``) use ρ = 0.0256
        (Ruddick et al. 2006) instead of the clear-sky Mobley table.
    dark_per_sample : bool
        Subtract the dark frame's mean per sample (column) instead of its overall mean.
    block_mb : float
        Size of the blocks of lines processed at a time [MiB of float32 Rrs].
    threads : int or None
        Worker threads for the cube (None: up to 2, the cores available).
    engine : {"auto", "numpy"}
        Kernel of a lazily read cube: "auto" uses the one-pass compiled kernel when numba is
        installed (same results), "numpy" never does.
    """

    qc: qcm.QCOptions = field(default_factory=qcm.QCOptions)
    nir_correction: bool = False
    cloudy_rho: bool = False
    dark_per_sample: bool = False
    block_mb: float = 2.0
    threads: int | None = None
    engine: str = "auto"


def correct_bundle(
    bundle: Bundle,
    calibration: SensorCalibration,
    *,
    lat: float | None = None,
    lon: float | None = None,
    roi: Any = None,
    wind_speed_ms: float | None = None,
    options: CorrectionOptions = CorrectionOptions(),
) -> xr.Dataset:
    """Correct one acquisition to remote-sensing reflectance, with QC.

    Parameters
    ----------
    bundle : Bundle
        The acquisition (raw counts and metadata).
    calibration : SensorCalibration
        The sensor's radiometric calibration that applies at the acquisition time.
    lat, lon : float or None
        The site's position [deg], used when the bundle has no ``location``.
    roi : None, bool mask (y, x) or pixel polygons
        The site's region of interest (see :func:`hsiwq.radiometry.roi.roi_mask`); None or
        empty: the whole image.
    wind_speed_ms : float or None
        Wind speed [m/s], used when the bundle's ancillary data has none.
    options : CorrectionOptions
        Processing options and QC thresholds.

    Returns
    -------
    xarray.Dataset
        ``rrs`` (y, x, wavelength) float32 [sr-1]; ``qc`` (y, x) uint16 bit mask with
        ``flag_masks`` / ``flag_meanings``; ``valid`` (y, x) bool (qc == 0); ``ed``
        (wavelength) [W m-2 nm-1] and ``li`` (wavelength) [W m-2 sr-1 nm-1] on the camera's
        bands. Bands with ``good_band`` False, or outside the sky or irradiance spectra, are
        dropped. Attributes: site, sensor, time (ISO 8601 UTC), calibration_file, rho,
        rho_method, wind_speed_ms (NaN when unknown), sun_zenith_deg, sun_azimuth_deg,
        relative_azimuth_deg, view_zenith_deg, sky_ratio_750, sky_condition, ed_550,
        glint_intercept, glint_slope and glint_threshold (the scene's glint test), verdict
        ("accepted" | "rejected"), verdict_reason, valid_fraction, flag counts (n_<flag>),
        nir_correction, hsiwq_version. A rejected acquisition is returned all the same, with
        its reason.

    Raises
    ------
    ConfigError
        If neither the bundle nor the arguments give a position.
    CalibrationError
        If the calibration lacks a channel or does not cover the data's bands.
    """
    plan = plan_correction(bundle, calibration, lat=lat, lon=lon, wind_speed_ms=wind_speed_ms,
                           options=options)
    rrs, qc, prod, fails = correct_rows(plan, 0, plan.shape[0], options=options)
    qc, valid, attrs = finish_scene(plan, qc, prod, fails, roi)
    water, wl, fwhm = plan.water, plan.wavelength, plan.fwhm
    ny, nx = qc.shape
    coords: dict[str, Any] = {
        "y": water["y"].values if "y" in water.coords else np.arange(ny),
        "x": water["x"].values if "x" in water.coords else np.arange(nx),
        "wavelength": ("wavelength", wl, {"units": "nm", "long_name": "band centre"}),
    }
    if fwhm is not None:
        coords["fwhm"] = ("wavelength", fwhm, {"units": "nm", "long_name": "band FWHM"})
    return xr.Dataset(
        {
            "rrs": (("y", "x", "wavelength"), rrs,
                    {"units": "sr-1", "long_name": "remote-sensing reflectance",
                     "standard_name": "surface_ratio_of_upwelling_radiance_emerging_from_sea_"
                                      "water_to_downwelling_radiative_flux_in_air"}),
            "qc": (("y", "x"), qc, qcm.qc_attrs()),
            "valid": (("y", "x"), valid, {"long_name": "valid water pixel (qc == 0)"}),
            "ed": (("wavelength",), plan.ed.astype(np.float32),
                   {"units": "W m-2 nm-1", "long_name": "downwelling irradiance"}),
            "li": (("wavelength",), plan.li.astype(np.float32),
                   {"units": "W m-2 sr-1 nm-1", "long_name": "sky radiance"}),
        },
        coords=coords, attrs=attrs)


@dataclass
class CorrectionPlan:
    """Everything of a correction that does not depend on the cube's pixels.

    Made by :func:`plan_correction` from the metadata, the sky and irradiance spectra and
    the calibration (cheap); :func:`correct_rows` then corrects any range of lines and
    :func:`finish_scene` applies the scene-wide QC and makes the attributes. Together they are
    :func:`correct_bundle`; apart, they let lines be corrected by tiles in other processes
    (:mod:`hsiwq.radiometry.tiles`) with identical results.
    """

    bundle: Bundle
    water: xr.DataArray
    shape: tuple[int, int]
    cal_name: str
    kidx: np.ndarray
    wl_all: np.ndarray
    wavelength: np.ndarray
    fwhm: np.ndarray | None
    li: np.ndarray
    ed: np.ndarray
    li_nat: np.ndarray
    li_wl: np.ndarray
    ed_nat: np.ndarray
    ed_wl: np.ndarray
    sky_saturated: bool
    irradiance_saturated: bool
    ratio: float
    cloudy: bool
    rho: float
    rho_method: str
    wind: float | None
    sun_zenith: float
    sun_azimuth: float
    relative_azimuth: float
    lat: float
    lon: float
    coef: Any
    options: CorrectionOptions


def plan_correction(bundle: Bundle, calibration: SensorCalibration, *, lat: float | None = None,
                    lon: float | None = None, wind_speed_ms: float | None = None,
                    options: CorrectionOptions = CorrectionOptions()) -> CorrectionPlan:
    """The pixel-independent part of :func:`correct_bundle` (same parameters and errors)."""
    meta = bundle.meta
    qopt = options.qc
    cal_name = str(calibration.path) if calibration.path is not None else calibration.sensor
    for ch in ("water", "sky", "irradiance"):
        if ch not in calibration.channels:
            raise CalibrationError(cal_name, f"no {ch!r} channel")
    pos_lat = meta.lat if meta.lat is not None else lat
    pos_lon = meta.lon if meta.lon is not None else lon
    if pos_lat is None or pos_lon is None:
        raise ConfigError(bundle.path, "no position: the bundle has no location and no site "
                                       "latitude/longitude was given")
    sun_zen, sun_az = solar_position(meta.time, float(pos_lat), float(pos_lon))
    rel_az = relative_azimuth(sun_az, meta.view_azimuth_deg)
    wind = meta.wind_speed_ms if _finite(meta.wind_speed_ms) else wind_speed_ms
    wind = float(wind) if _finite(wind) else None
    itime = meta.integration_ms

    # Sky and irradiance spectra on their own grids, then on the camera's bands.
    li_wl, li_nat, sky_sat = spectrum_radiance(bundle.sky, calibration.channels["sky"],
                                               itime.get("sky"), where=cal_name)
    ed_wl, ed_nat, irr_sat = spectrum_radiance(bundle.irradiance,
                                               calibration.channels["irradiance"],
                                               itime.get("irradiance"), where=cal_name)
    water = bundle.water.transpose("y", "x", "wavelength")
    wl_all = np.asarray(water["wavelength"].values, dtype=float)
    keep = _good_bands(water)
    keep &= _within(wl_all, li_wl) & _within(wl_all, ed_wl)
    kidx = np.flatnonzero(keep)
    wl = wl_all[kidx]
    fwhm = np.asarray(water["fwhm"].values, dtype=float)[kidx] if "fwhm" in water.coords else None
    li = resample_spectrum(li_nat, li_wl, wl, dst_fwhm=fwhm, src_fwhm=_fwhm(bundle.sky))
    ed = resample_spectrum(ed_nat, ed_wl, wl, dst_fwhm=fwhm, src_fwhm=_fwhm(bundle.irradiance))

    ratio = qcm.sky_ratio(li_nat, li_wl, ed_nat, ed_wl)
    cloudy = math.isfinite(ratio) and ratio >= qopt.clear_sky_ratio
    rho, rho_method = sky_glint_factor(wind, sun_zen, rel_az, meta.view_zenith_deg)
    if options.cloudy_rho and cloudy:
        rho = RHO_CLOUDY * fresnel_reflectance(meta.view_zenith_deg) / fresnel_reflectance(40.0)
        rho_method = "ruddick2006"

    coef = channel_coefficients(water, calibration.channels["water"], itime.get("water"),
                                dark=bundle.dark, dark_per_sample=options.dark_per_sample,
                                where=cal_name)
    return CorrectionPlan(
        bundle=bundle, water=water, shape=(water.sizes["y"], water.sizes["x"]),
        cal_name=cal_name, kidx=kidx, wl_all=wl_all, wavelength=wl, fwhm=fwhm, li=li, ed=ed,
        li_nat=li_nat, li_wl=li_wl, ed_nat=ed_nat, ed_wl=ed_wl, sky_saturated=sky_sat,
        irradiance_saturated=irr_sat, ratio=ratio, cloudy=cloudy, rho=float(rho),
        rho_method=rho_method, wind=wind, sun_zenith=sun_zen, sun_azimuth=sun_az,
        relative_azimuth=rel_az, lat=float(pos_lat), lon=float(pos_lon), coef=coef,
        options=options)


def correct_rows(plan: CorrectionPlan, y0: int, y1: int, *,
                 options: CorrectionOptions | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rrs and per-pixel QC of lines ``y0:y1`` of the water cube (see :mod:`.kernel`).

    Returns
    -------
    rrs : float32 (lines, x, kept bands) [sr-1]
    qc : uint16 (lines, x): NO_DATA, SATURATED, NEGATIVE_RRS
    products : float32 (lines, x, 4) band averages of the scene tests
    fails : bool (lines, x): the pixel fails the spectral water tests
    """
    rrs, qc, prod, fails, _, _ = _correct_cube(plan.water, plan.kidx, plan.coef, plan.ed,
                                               plan.li, plan.rho, options or plan.options,
                                               rows=(y0, y1))
    return rrs, qc, prod, fails


def finish_scene(plan: CorrectionPlan, qc: np.ndarray, prod: np.ndarray, fails: np.ndarray,
                 roi: Any = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Scene-wide QC (ROI, non-water, glint), the verdict and the attributes.

    Parameters
    ----------
    plan : CorrectionPlan
    qc, prod, fails : ndarray
        Of the whole scene, from :func:`correct_rows` (``qc`` and ``fails`` are modified).
    roi : see :func:`correct_bundle`

    Returns
    -------
    qc : uint16 (y, x), valid : bool (y, x), attrs : dict (as :func:`correct_bundle`'s)
    """
    meta, qopt, itime = plan.bundle.meta, plan.options.qc, plan.bundle.meta.integration_ms
    kidx = plan.kidx
    bands = QCBands.from_wavelength(plan.wavelength, qopt)
    nir_done = bool(plan.options.nir_correction and kidx.size
                    and plan.wavelength[0] <= 720.0 and plan.wavelength[-1] >= 780.0)
    ny, nx = qc.shape
    region = roi_mask((ny, nx), roi)
    if not region.all():
        qcm.add_flag(qc, ~region, qcm.OUTSIDE_ROI)
    not_water, glint, glint_info = scene_flags(prod, qc, bands, qopt, fails=fails)
    qcm.add_flag(qc, not_water, qcm.NOT_WATER)
    qcm.add_flag(qc, glint, qcm.SUN_GLINT)
    valid = qc == 0
    n_region = int(np.count_nonzero(region))
    valid_fraction = float(np.count_nonzero(valid)) / n_region if n_region else 0.0

    verdict = qcm.acquisition_verdict(
        integration_ms=itime, sun_zenith_deg=plan.sun_zenith, ed=plan.ed_nat,
        ed_wavelength=plan.ed_wl, li=plan.li_nat, li_wavelength=plan.li_wl,
        valid_fraction=valid_fraction,
        saturated_channels=tuple(ch for ch, s in (("sky", plan.sky_saturated),
                                                  ("irradiance", plan.irradiance_saturated))
                                 if s),
        options=qopt, roi_counts=qcm.flag_counts(qc if n_region == qc.size else qc[region]),
        n_region=n_region,
        relative_azimuth_deg=float(plan.relative_azimuth), rho=float(plan.rho))
    if kidx.size == 0 and verdict.accepted:
        verdict = qcm.Verdict("rejected", "no usable band (bad bands, or not covered by the "
                                          "sky or irradiance spectra)")
    ratio, wind = plan.ratio, plan.wind
    attrs: dict[str, Any] = {
        "title": "hsiwq radiometric correction",
        "site": meta.site, "sensor": meta.sensor,
        "time": meta.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "calibration_file": plan.cal_name,
        "rho": float(plan.rho), "rho_method": plan.rho_method,
        "wind_speed_ms": float(wind) if wind is not None else math.nan,
        "sun_zenith_deg": float(plan.sun_zenith), "sun_azimuth_deg": float(plan.sun_azimuth),
        "relative_azimuth_deg": float(plan.relative_azimuth),
        "view_zenith_deg": float(meta.view_zenith_deg),
        "view_azimuth_deg": float(meta.view_azimuth_deg),
        "latitude": plan.lat, "longitude": plan.lon,
        "sky_ratio_750": float(ratio),
        "sky_condition": "unknown" if not math.isfinite(ratio) else ("cloudy" if plan.cloudy
                                                                     else "clear"),
        "ed_550": qcm.value_at(plan.ed_nat, plan.ed_wl, qopt.ed_reference_nm),
        **{k: float(v) for k, v in glint_info.items()},
        "nir_correction": nir_done,
        "verdict": verdict.verdict, "verdict_reason": verdict.reason,
        "valid_fraction": valid_fraction,
        "n_dropped_bands": int(plan.wl_all.size - kidx.size),
        "hsiwq_version": hsiwq.__version__,
        "bundle": str(plan.bundle.path),
    }
    attrs.update({f"n_{k.lower()}": v for k, v in qcm.flag_counts(qc).items()})
    return qc, valid, attrs


def _correct_cube(water: xr.DataArray, kidx: np.ndarray, coef: Any, ed: np.ndarray,
                  li: np.ndarray, rho: float, options: CorrectionOptions,
                  rows: tuple[int, int] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, QCBands, bool]:
    """Rrs, per-pixel flags, QC band averages and water-test failures of the water cube
    (of its lines ``rows`` = (y0, y1) when given).

    See :mod:`.kernel`.
    """
    ny, nx = water.sizes["y"], water.sizes["x"]
    y0, y1 = rows if rows is not None else (0, ny)
    y0, y1 = max(0, y0), min(ny, y1)
    wl = np.asarray(water["wavelength"].values, dtype=float)[kidx]
    bands = QCBands.from_wavelength(wl, options.qc)
    if kidx.size == 0:
        prod = np.full((y1 - y0, nx, 4), np.nan, dtype=np.float32)
        return (np.empty((y1 - y0, nx, 0), dtype=np.float32),
                np.full((y1 - y0, nx), qcm.NO_DATA, dtype=np.uint16),
                prod, fails_water_tests(prod, bands, options.qc), bands, False)
    dark = coef.dark_dn[..., kidx]
    scale = coef.scale[kidx].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a64 = scale / ed
        b64 = (scale * dark.astype(np.float64) + rho * li) / ed
        glint64 = rho * li / ed
    coefs_ok = bool(np.isfinite(a64).all() and np.isfinite(b64).all())
    nl = coef.nonlinearity
    if nl is not None and nl.ndim == 2:
        nl = nl[:, kidx]
    eps_w = None
    nir_done = bool(options.nir_correction and wl[0] <= 720.0 and wl[-1] >= 780.0)
    if nir_done:  # ε is linear in Rrs: its weights are the correction applied to a unit basis
        eps_w = nir_similarity_correction(np.eye(wl.size, dtype=np.float64), wl)[1]
        eps_w = eps_w.astype(np.float32)
    corr = AffineCorrection(
        runs=band_runs(kidx), a=a64.astype(np.float32), b=b64.astype(np.float32),
        saturation_dn=coef.saturation_dn,
        dark=dark.astype(np.float32) if nl is not None else None, nonlinearity=nl,
        glint=glint64.astype(np.float32) if nl is not None else None, epsilon_weights=eps_w)
    # A lazily read ENVI cube is corrected straight from its file (one pass, no float32 copy
    # of the counts); anything else is loaded (a no-op for an in-memory cube).
    source = envi_source(water)
    whole = (y0, y1) == (0, ny)
    if source is not None:
        values = source if whole else _LineWindow(source, y0, y1)
    else:
        values = water.values if whole else water.isel(y=slice(y0, y1)).values
    rrs, qc, prod, fails = run_blocks(values, corr, bands, options.qc,
                                      block_mb=options.block_mb, threads=options.threads,
                                      engine=options.engine)
    if not coefs_ok:
        qc |= qcm.NO_DATA
    return rrs, qc, prod, fails, bands, nir_done


class _LineWindow:
    """Lines ``y0:y1`` of a raw source (:class:`hsiwq.io.envi.EnviArray`), as a raw source."""

    def __init__(self, source: Any, y0: int, y1: int) -> None:
        self.source, self.y0, self.y1 = source, y0, y1
        self.shape = (y1 - y0,) + tuple(source.shape[1:])
        self.ignore_value = getattr(source, "ignore_value", None)

    def raw_lines(self, a: int, b: int) -> np.ndarray:
        return self.source.raw_lines(self.y0 + max(0, a), self.y0 + min(b, self.shape[0]))

    def to_float32(self, raw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self.source.to_float32(raw, out=out)
def write_correction(ds: xr.Dataset, out_path: str | Path) -> Path:
    """Write a corrected acquisition as a consolidated Zarr store, replacing any old one.

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`correct_bundle`.
    out_path : path
        Zarr store to write (a directory, e.g. ``OUT.zarr``).

    Returns
    -------
    Path
        ``out_path``.
    """
    out_path = Path(out_path)
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    cy, cx = min(ny, 256), min(nx, 256)
    encoding = {"rrs": {"chunks": (cy, cx, max(1, ds.sizes["wavelength"]))},
                "qc": {"chunks": (cy, cx)}, "valid": {"chunks": (cy, cx)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata is not in the v3 spec
        ds.to_zarr(out_path, mode="w", consolidated=True, encoding=encoding)
    return out_path


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _good_bands(cube: xr.DataArray) -> np.ndarray:
    if "good_band" in cube.coords:
        return np.asarray(cube["good_band"].values, dtype=bool).copy()
    return np.ones(cube.sizes["wavelength"], dtype=bool)


def _within(wl: np.ndarray, src_wl: np.ndarray, tolerance_nm: float = 0.5) -> np.ndarray:
    s = np.asarray(src_wl, dtype=float)
    return (wl >= s.min() - tolerance_nm) & (wl <= s.max() + tolerance_nm)


def _fwhm(cube: xr.DataArray) -> np.ndarray | None:
    return np.asarray(cube["fwhm"].values, dtype=float) if "fwhm" in cube.coords else None
