"""Sky-glint (surface reflectance) factor ρ for above-water radiometry."""

from __future__ import annotations

import numpy as np


def rho_ruddick2006(wind_speed_ms: float | np.ndarray) -> float | np.ndarray:
    """Clear-sky air–water reflectance factor for sky radiance.

    ρ = 0.0256 + 0.00039·W + 0.000034·W², for a viewing zenith of 40° and relative azimuth
    of 135° from the sun.

    Parameters
    ----------
    wind_speed_ms : float or ndarray
        Wind speed at 10 m [m/s].

    Returns
    -------
    float or ndarray
        ρ [-].

    References
    ----------
    .. [1] Ruddick, K. G., De Cauwer, V., Park, Y.-J., Moore, G. (2006). Seaborne
       measurements of near infrared water-leaving reflectance: The similarity spectrum
       for turbid waters. Limnol. Oceanogr. 51(2), 1167–1179.
    """
    w = np.asarray(wind_speed_ms, dtype=float)
    rho = 0.0256 + 0.00039 * w + 0.000034 * w**2
    return float(rho) if rho.ndim == 0 else rho


def sky_glint_factor(
    wind_speed_ms: float | None,
    sun_zenith_deg: float | None = None,
    relative_azimuth_deg: float | None = None,
    view_zenith_deg: float = 40.0,
) -> tuple[float, str]:
    """Sky-glint factor ρ for an acquisition, and the method that produced it.

    Parameters
    ----------
    wind_speed_ms : float or None
        Wind speed [m/s]; None when unknown (0 is then assumed).
    sun_zenith_deg : float or None
        Solar zenith angle [deg].
    relative_azimuth_deg : float or None
        Relative azimuth between sun and view [deg].
    view_zenith_deg : float
        Viewing zenith angle of the water camera [deg].

    Returns
    -------
    rho : float
        ρ [-].
    method : str
        Name of the method used (e.g. ``"ruddick2006"``).
    """
    wind = 0.0 if wind_speed_ms is None else float(wind_speed_ms)
    return float(rho_ruddick2006(wind)), "ruddick2006"
