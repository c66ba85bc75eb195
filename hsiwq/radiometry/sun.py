"""Sun position and sun–view geometry."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pvlib


def solar_position(time: datetime, lat: float, lon: float) -> tuple[float, float]:
    """Apparent solar zenith and azimuth at a time and place.

    Parameters
    ----------
    time : datetime
        Time, timezone-aware (naive is taken as UTC).
    lat, lon : float
        Latitude and longitude [deg].

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
    ts = pd.DatetimeIndex([pd.Timestamp(time)])
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    pos = pvlib.solarposition.get_solarposition(ts, lat, lon, method="nrel_numpy")
    return float(pos["apparent_zenith"].iloc[0]), float(pos["azimuth"].iloc[0])


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
        |φ_sun − φ_view| folded into [0, 180] [deg]; 90–135° is the usual recommendation for
        above-water radiometry (Mobley 1999).
    """
    d = abs((float(sun_azimuth_deg) - float(view_azimuth_deg)) % 360.0)
    return float(np.where(d > 180.0, 360.0 - d, d))
