"""Sun position and sun–view geometry."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib


def solar_position(time: datetime, lat: float, lon: float, *, altitude_m: float = 0.0,
                   pressure_pa: float | None = None, temperature_c: float = 12.0,
                   delta_t_s: float | None = None) -> tuple[float, float]:
    """Apparent solar zenith and azimuth at a time and place.

    Parameters
    ----------
    time : datetime
        Time, timezone-aware (naive is taken as UTC).
    lat, lon : float
        Latitude and longitude [deg].
    altitude_m : float
        Height above sea level [m] (topocentric parallax).
    pressure_pa : float or None
        Air pressure [Pa] for the refraction correction; None: standard pressure at
        ``altitude_m``.
    temperature_c : float
        Air temperature [°C] for the refraction correction.
    delta_t_s : float or None
        TT − UT1 [s]; None: pvlib's estimate for the year and month.

    Returns
    -------
    zenith_deg : float
        Apparent (refraction-corrected) solar zenith angle [deg].
    azimuth_deg : float
        Solar azimuth, clockwise from north [deg].

    References
    ----------
    .. [1] Reda, I., Andreas, A. (2004). Solar position algorithm for solar radiation
       applications. Solar Energy 76(5), 577–589 (NREL SPA, as implemented by pvlib).
    """
    ts = pd.Timestamp(time)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if pressure_pa is None:
        pressure_pa = float(pvlib.atmosphere.alt2pres(altitude_m))
    if delta_t_s is None:  # pvlib's own estimate for the year and month
        delta_t_s = float(pvlib.spa.calculate_deltat(np.array([ts.year]), np.array([ts.month]))[0])
    return _spa(ts.value / 1e9, float(lat), float(lon), float(altitude_m), float(pressure_pa),
                float(temperature_c), float(delta_t_s))


@lru_cache(maxsize=4096)
def _spa(unixtime: float, lat: float, lon: float, altitude_m: float, pressure_pa: float,
         temperature_c: float, delta_t_s: float) -> tuple[float, float]:
    """NREL SPA through pvlib's numpy implementation (no pandas overhead), memoised."""
    apparent_zenith, _, _, _, azimuth, _ = pvlib.spa.solar_position(
        np.array([unixtime]), lat, lon, altitude_m, pressure_pa / 100.0, temperature_c,
        delta_t_s, 0.5667)
    return float(np.ravel(apparent_zenith)[0]), float(np.ravel(azimuth)[0])


def solar_zenith(unix_s, lat: float, lon: float, *, altitude_m: float = 0.0,
                 temperature_c: float = 12.0) -> np.ndarray:
    """Apparent solar zenith angle at many times (vectorised :func:`solar_position`).

    Parameters
    ----------
    unix_s : array_like
        Times [s since 1970-01-01 UTC].
    lat, lon : float
        Latitude and longitude [deg].
    altitude_m : float
        Height above sea level [m]; the refraction uses the standard pressure there.
    temperature_c : float
        Air temperature [°C] for the refraction correction.

    Returns
    -------
    ndarray
        Apparent (refraction-corrected) solar zenith angle [deg], the shape of ``unix_s``.

    References
    ----------
    .. [1] Reda, I., Andreas, A. (2004). Solar Energy 76(5), 577–589 (NREL SPA, pvlib).
    """
    t = np.asarray(unix_s, dtype=float)
    flat = t.ravel()
    when = pd.to_datetime(flat, unit="s", utc=True)
    delta_t = pvlib.spa.calculate_deltat(np.asarray(when.year), np.asarray(when.month))
    pressure_hpa = float(pvlib.atmosphere.alt2pres(altitude_m)) / 100.0
    zenith = pvlib.spa.solar_position(flat, float(lat), float(lon), float(altitude_m), pressure_hpa,
                                      float(temperature_c), delta_t, 0.5667)[0]
    return np.asarray(zenith, dtype=float).reshape(t.shape)


def relative_azimuth(sun_azimuth_deg: float, view_azimuth_deg: float) -> float:
    """Relative azimuth between the sun and the viewing direction, folded to [0, 180] [deg].

    Parameters
    ----------
    sun_azimuth_deg : float
        Solar azimuth, clockwise from north [deg].
    view_azimuth_deg : float
        Viewing azimuth of the camera, clockwise from north [deg].

    Returns
    -------
    float
        |φ_sun − φ_view| folded into [0, 180] [deg] (0 = looking towards the sun); 90–135° is
        the usual recommendation for above-water radiometry (Mobley 1999).
    """
    d = abs((float(sun_azimuth_deg) - float(view_azimuth_deg)) % 360.0)
    return float(np.where(d > 180.0, 360.0 - d, d))
