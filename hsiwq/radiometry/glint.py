"""Sky-glint (surface reflectance) factor ρ and residual NIR correction for above-water radiometry.

The water-leaving radiance is Lw = Lt − ρ·Li, with Lt the total radiance seen by the water
camera, Li the sky radiance measured in the mirror direction and ρ the air–water reflectance
factor for sky radiance. ρ comes from the Mobley (1999) table when wind and sun/view geometry
are known, else from the Ruddick et al. (2006) wind-only formula.

References
----------
.. [1] Mobley, C. D. (1999). Estimation of the remote-sensing reflectance from above-surface
   measurements. Applied Optics 38(36), 7442–7455.
.. [2] Ruddick, K. G., De Cauwer, V., Park, Y.-J., Moore, G. (2006). Seaborne measurements of
   near infrared water-leaving reflectance: The similarity spectrum for turbid waters.
   Limnol. Oceanogr. 51(2), 1167–1179.
"""

from __future__ import annotations

import math

import numpy as np

from . import _mobley1999 as _m99

#: Grid of the Mobley (1999) table at θv = 40°: wind [m/s], sun zenith [deg], rel. azimuth [deg].
MOBLEY1999_WIND_MS = np.asarray(_m99.WIND_MS)
MOBLEY1999_SUN_ZENITH_DEG = np.asarray(_m99.SUN_ZENITH_DEG)
MOBLEY1999_RELATIVE_AZIMUTH_DEG = np.asarray(_m99.RELATIVE_AZIMUTH_DEG)
#: ρ [-] of the Mobley (1999) table at θv = 40°, shape (wind, sun zenith, relative azimuth).
MOBLEY1999_RHO_40 = np.asarray(_m99.RHO_40, dtype=float)
MOBLEY1999_RHO_40.setflags(write=False)

#: ρ of a flat or uniformly lit surface at θv = 40°, and under cloudy skies (Ruddick 2006).
RHO_CLOUDY = 0.0256
#: Refractive index of water used for the Fresnel view-zenith adjustment [-].
N_WATER = 1.34


def rho_ruddick2006(wind_speed_ms: float | np.ndarray) -> float | np.ndarray:
    """Clear-sky air–water reflectance factor for sky radiance.

    ρ = 0.0256 + 0.00039·W + 0.000034·W², for a viewing zenith of 40° and relative azimuth
    of 135° from the sun.

    Parameters
    ----------
    wind_speed_ms : float or ndarray
        Wind speed at 10 m, W [m/s].

    Returns
    -------
    float or ndarray
        ρ [-].

    References
    ----------
    .. [1] Ruddick, K. G., De Cauwer, V., Park, Y.-J., Moore, G. (2006). Seaborne
       measurements of near infrared water-leaving reflectance: The similarity spectrum
       for turbid waters. Limnol. Oceanogr. 51(2), 1167–1179 (Eq. 4).
    """
    w = np.asarray(wind_speed_ms, dtype=float)
    rho = 0.0256 + 0.00039 * w + 0.000034 * w**2
    return float(rho) if rho.ndim == 0 else rho


def rho_mobley1999(wind_speed_ms: float, sun_zenith_deg: float,
                   relative_azimuth_deg: float) -> float:
    """ρ from the Mobley (1999) table at θv = 40°, interpolated trilinearly.

    Interpolation is linear in wind, sun zenith and relative azimuth between the grid
    points (0–14 m/s by 2, 0–80° by 10°, 0–180° by 15°); inputs outside the grid are clamped
    to its edges (wind > 14 m/s uses 14 m/s, sun zenith > 80° uses 80°).

    Parameters
    ----------
    wind_speed_ms : float
        Wind speed [m/s].
    sun_zenith_deg : float
        Solar zenith angle [deg].
    relative_azimuth_deg : float
        Azimuth between the sun and the viewing direction [deg], 0 = looking towards the
        sun; any value is folded into [0, 180].

    Returns
    -------
    float
        ρ [-] for θv = 40°.

    References
    ----------
    .. [1] Mobley, C. D. (1999). Applied Optics 38(36), 7442–7455 (Eq. 4, Fig. 8); table
       ``rhoTable_AO1999`` as distributed with NASA HyperCP.
    """
    phi = abs(float(relative_azimuth_deg)) % 360.0
    phi = 360.0 - phi if phi > 180.0 else phi
    point = (float(wind_speed_ms), float(sun_zenith_deg), phi)
    grids = (MOBLEY1999_WIND_MS, MOBLEY1999_SUN_ZENITH_DEG, MOBLEY1999_RELATIVE_AZIMUTH_DEG)
    lo_idx, weights = [], []
    for value, grid in zip(point, grids):
        v = min(max(value, float(grid[0])), float(grid[-1]))
        i = int(np.clip(np.searchsorted(grid, v, side="right") - 1, 0, grid.size - 2))
        lo_idx.append(i)
        weights.append((v - grid[i]) / (grid[i + 1] - grid[i]))
    cube = MOBLEY1999_RHO_40[lo_idx[0]:lo_idx[0] + 2, lo_idx[1]:lo_idx[1] + 2,
                             lo_idx[2]:lo_idx[2] + 2]
    for w in weights:  # collapse one axis at a time
        cube = cube[0] * (1.0 - w) + cube[1] * w
    return float(cube)


def fresnel_reflectance(zenith_deg: float, n: float = N_WATER) -> float:
    """Fresnel reflectance of a flat air–water surface for unpolarised light.

    Parameters
    ----------
    zenith_deg : float
        Angle of incidence from the surface normal [deg].
    n : float
        Refractive index of water [-].

    Returns
    -------
    float
        Reflectance [-] (0.0211 at 0°, 0.0253 at 40°, 0.0346 at 50° for n = 1.34).

    References
    ----------
    .. [1] Mobley, C. D. (1994). Light and Water, Academic Press, Eq. 4.14.
    """
    ti = math.radians(float(zenith_deg))
    if ti <= 1e-9:
        return ((n - 1.0) / (n + 1.0)) ** 2
    tt = math.asin(math.sin(ti) / n)
    return 0.5 * ((math.sin(ti - tt) / math.sin(ti + tt)) ** 2
                  + (math.tan(ti - tt) / math.tan(ti + tt)) ** 2)


def sky_glint_factor(
    wind_speed_ms: float | None,
    sun_zenith_deg: float | None = None,
    relative_azimuth_deg: float | None = None,
    view_zenith_deg: float = 40.0,
) -> tuple[float, str]:
    """Sky-glint factor ρ for an acquisition, and the method that produced it.

    With wind and sun/view geometry known, ρ is interpolated in the Mobley (1999) table
    (method ``"mobley1999"``); with any of them missing, the Ruddick et al. (2006) formula
    is used (method ``"ruddick2006"``, wind 0 m/s when unknown, i.e. ρ = 0.0256). Both are
    defined at a viewing zenith of 40°; for another view zenith the value is scaled by the
    ratio of flat-surface Fresnel reflectances r(θv)/r(40°) (exact for a calm surface, a
    first-order adjustment otherwise).

    Parameters
    ----------
    wind_speed_ms : float or None
        Wind speed at 10 m [m/s]; None (or NaN) when unknown.
    sun_zenith_deg : float or None
        Solar zenith angle [deg].
    relative_azimuth_deg : float or None
        Relative azimuth between sun and view [deg], 0 = looking towards the sun.
    view_zenith_deg : float
        Viewing zenith angle of the water camera from nadir [deg].

    Returns
    -------
    rho : float
        ρ [-].
    method : str
        ``"mobley1999"`` or ``"ruddick2006"``.

    References
    ----------
    .. [1] Mobley, C. D. (1999). Applied Optics 38(36), 7442–7455.
    .. [2] Ruddick, K. G. et al. (2006). Limnol. Oceanogr. 51(2), 1167–1179.
    """

    def known(x: float | None) -> bool:
        return x is not None and math.isfinite(float(x))

    if known(wind_speed_ms) and known(sun_zenith_deg) and known(relative_azimuth_deg):
        rho = rho_mobley1999(max(float(wind_speed_ms), 0.0), float(sun_zenith_deg),
                             float(relative_azimuth_deg))
        method = "mobley1999"
    else:
        wind = max(float(wind_speed_ms), 0.0) if known(wind_speed_ms) else 0.0
        rho, method = float(rho_ruddick2006(wind)), "ruddick2006"
    vz = float(view_zenith_deg)
    if math.isfinite(vz) and abs(vz - 40.0) > 0.5:
        rho *= fresnel_reflectance(vz) / fresnel_reflectance(40.0)
    return rho, method


def nir_similarity_correction(
    rrs: np.ndarray,
    wavelength_nm: np.ndarray,
    *,
    band_pair_nm: tuple[float, float] = (720.0, 780.0),
    alpha: float = 2.35,
) -> tuple[np.ndarray, np.ndarray]:
    """Remove a spectrally flat residual (sky or sun glint) with the NIR similarity spectrum.

    In turbid waters the NIR water-leaving reflectance has a fixed shape, so that
    Rrs(720)/Rrs(780) = α = 2.35. A residual ε that is constant with wavelength (imperfect ρ)
    is estimated from the measured pair, ε = (α·Rrs(780) − Rrs(720)) / (α − 1), and
    subtracted from every band.

    Parameters
    ----------
    rrs : ndarray
        Remote-sensing reflectance [sr-1], wavelength on the last axis.
    wavelength_nm : ndarray
        Band centres [nm] of the last axis; Rrs at the pair is linearly interpolated.
    band_pair_nm : (float, float)
        The two NIR wavelengths [nm] (λ1 < λ2).
    alpha : float
        Similarity ratio Rrs(λ1)/Rrs(λ2) [-] (2.35 for 720/780 nm).

    Returns
    -------
    rrs_corrected : ndarray
        Rrs − ε [sr-1], same shape and dtype as ``rrs``.
    epsilon : ndarray
        The removed offset [sr-1], shape ``rrs.shape[:-1]``.

    Raises
    ------
    ValueError
        If the bands do not cover the pair.

    References
    ----------
    .. [1] Ruddick, K. G., De Cauwer, V., Park, Y.-J., Moore, G. (2006). Seaborne
       measurements of near infrared water-leaving reflectance: The similarity spectrum
       for turbid waters. Limnol. Oceanogr. 51(2), 1167–1179 (α = 2.35 for 720/780 nm).
    """
    rrs = np.asarray(rrs)
    wl = np.asarray(wavelength_nm, dtype=float)
    r1 = _at_wavelength(rrs, wl, band_pair_nm[0])
    r2 = _at_wavelength(rrs, wl, band_pair_nm[1])
    eps = ((alpha * r2 - r1) / (alpha - 1.0)).astype(rrs.dtype, copy=False)
    return rrs - eps[..., None], eps


def _at_wavelength(values: np.ndarray, wl: np.ndarray, target: float) -> np.ndarray:
    """Linear interpolation along the last axis at one wavelength [nm]."""
    if not wl[0] <= target <= wl[-1]:
        raise ValueError(f"bands {wl[0]:g}–{wl[-1]:g} nm do not cover {target:g} nm")
    j = int(np.clip(np.searchsorted(wl, target) - 1, 0, wl.size - 2))
    f = (target - wl[j]) / (wl[j + 1] - wl[j])
    return values[..., j] * (1.0 - f) + values[..., j + 1] * f
