"""A smooth clear-sky (optionally cloudy) model of downwelling irradiance and sky radiance.

Deliberately free of Fraunhofer lines and narrow gas bands, so that resampling between the
band grids of the camera and of the irradiance spectrometer is exact to well below 0.1 %:

* extraterrestrial irradiance: a 5778 K Planck spectrum scaled to the solar disc at the
  Earth–Sun distance of the day;
* direct beam: Beer's law with Rayleigh (Hansen & Travis 1974), Ångström aerosol and a
  Gaussian approximation of the ozone Chappuis band, air mass after Kasten & Young (1989);
* diffuse sky: the Rayleigh and aerosol components of Gregg & Carder (1990);
* sky radiance in the water camera's specular direction (40° from zenith, 90–135° from the
  sun): the Rayleigh part nearly isotropic, the forward-peaked aerosol part weakened;
* cloud fraction c ∈ [0, 1]: the direct beam is reduced by (1 − c) and 45 % of what is lost
  reappears as spectrally flat diffuse light; the sky tends to Ed/π (overcast, isotropic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

_H = 6.62607015e-34  # Planck constant [J s]
_C = 2.99792458e8  # speed of light [m/s]
_K = 1.380649e-23  # Boltzmann constant [J/K]
_SUN_T = 5778.0  # effective solar temperature [K]
_SUN_R_OVER_AU_SQ = (6.957e8 / 1.495978707e11) ** 2  # (solar radius / 1 AU)² [-]
_DU = 2.687e16  # molecules per cm² per Dobson unit
_CHAPPUIS_PEAK_CM2 = 5.2e-21  # ozone cross-section at 602 nm [cm²]


def extraterrestrial_irradiance(wavelength_nm: ArrayLike, day_of_year: int = 172) -> np.ndarray:
    """Smooth (Planck, 5778 K) extraterrestrial solar irradiance.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm].
    day_of_year : int
        Day of the year, for the Earth–Sun distance [-].

    Returns
    -------
    ndarray
        F0 [W m⁻² nm⁻¹] (≈ 1.8 at 500 nm; total ≈ 1361 W m⁻² at 1 AU).

    References
    ----------
    .. [1] Spencer, J. W. (1971). Fourier series representation of the position of the sun.
       Search 2(5), 172 (eccentricity correction, first harmonic).
    """
    lam = np.asarray(wavelength_nm, dtype=float) * 1e-9
    radiance = 2 * _H * _C**2 / lam**5 / np.expm1(_H * _C / (lam * _K * _SUN_T))  # W m-3 sr-1
    gamma = 2 * np.pi * (day_of_year - 1) / 365.0
    ecc = 1.000110 + 0.034221 * np.cos(gamma) + 0.001280 * np.sin(gamma)
    return np.pi * radiance * 1e-9 * _SUN_R_OVER_AU_SQ * ecc


def air_mass(sun_zenith_deg: float) -> float:
    """Relative optical air mass (Kasten & Young 1989).

    Parameters
    ----------
    sun_zenith_deg : float
        Solar zenith angle [deg].

    Returns
    -------
    float
        Air mass [-].

    References
    ----------
    .. [1] Kasten, F., Young, A. T. (1989). Revised optical air mass tables and approximation
       formula. Appl. Opt. 28(22), 4735–4738.
    """
    z = float(sun_zenith_deg)
    return 1.0 / (np.cos(np.radians(z)) + 0.50572 * (96.07995 - z) ** -1.6364)


def rayleigh_optical_depth(wavelength_nm: ArrayLike) -> np.ndarray:
    """Rayleigh optical depth at sea level (1013.25 hPa).

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm].

    Returns
    -------
    ndarray
        τ_R [-] (0.144 at 500 nm).

    References
    ----------
    .. [1] Hansen, J. E., Travis, L. D. (1974). Light scattering in planetary atmospheres.
       Space Sci. Rev. 16, 527–610.
    """
    lu = np.asarray(wavelength_nm, dtype=float) / 1000.0
    return 0.008569 * lu**-4 * (1 + 0.0113 * lu**-2 + 0.00013 * lu**-4)


@dataclass(frozen=True)
class Illumination:
    """Illumination of a scene: downwelling irradiance and sky radiance spectra.

    Attributes
    ----------
    sun_zenith_deg : float
        Solar zenith angle [deg].
    day_of_year : int
        Day of the year [-].
    aot550 : float
        Aerosol optical thickness at 550 nm [-] (0.2–0.6 over eastern China).
    angstrom : float
        Ångström exponent [-].
    ozone_du : float
        Total ozone [DU].
    ssa : float
        Aerosol single-scattering albedo [-].
    cloud : float
        Cloud fraction in front of the sun / sky overcast fraction [0–1].

    References
    ----------
    .. [1] Gregg, W. W., Carder, K. L. (1990). A simple spectral solar irradiance model for
       cloudless maritime atmospheres. Limnol. Oceanogr. 35(8), 1657–1675.
    """

    sun_zenith_deg: float
    day_of_year: int = 172
    aot550: float = 0.3
    angstrom: float = 1.2
    ozone_du: float = 300.0
    ssa: float = 0.9
    cloud: float = 0.0

    def _components(self, wavelength_nm: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wl = np.asarray(wavelength_nm, dtype=float)
        mu = np.cos(np.radians(self.sun_zenith_deg))
        m = air_mass(self.sun_zenith_deg)
        f0 = extraterrestrial_irradiance(wl, self.day_of_year) * mu
        tau_r = rayleigh_optical_depth(wl)
        tau_a = self.aot550 * (wl / 550.0) ** -self.angstrom
        chappuis = np.exp(-0.5 * ((wl - 602.0) / 45.0) ** 2)
        tau_oz = self.ozone_du * _DU * _CHAPPUIS_PEAK_CM2 * chappuis
        t_oz = np.exp(-tau_oz * m)
        direct = f0 * np.exp(-(tau_r + tau_a + tau_oz) * m)
        t_aa = np.exp(-(1 - self.ssa) * tau_a * m)  # aerosol absorption
        rayleigh = f0 * t_oz * t_aa * (1 - np.exp(-0.95 * tau_r * m)) * 0.5
        aerosol = (f0 * t_oz * t_aa * np.exp(-1.5 * tau_r * m)
                   * (1 - np.exp(-self.ssa * tau_a * m)) * 0.8)
        return direct, rayleigh, aerosol

    def ed_direct(self, wavelength_nm: ArrayLike) -> np.ndarray:
        """Direct-sun part of Ed on a horizontal surface [W m⁻² nm⁻¹]."""
        direct, _, _ = self._components(wavelength_nm)
        return (1.0 - self.cloud) * direct

    def ed(self, wavelength_nm: ArrayLike) -> np.ndarray:
        """Downwelling plane irradiance above the water Ed [W m⁻² nm⁻¹]."""
        direct, rayleigh, aerosol = self._components(wavelength_nm)
        return (1.0 - self.cloud) * direct + rayleigh + aerosol + self.cloud * 0.45 * direct

    def li(self, wavelength_nm: ArrayLike) -> np.ndarray:
        """Sky radiance in the specular direction of the water camera Li [W m⁻² sr⁻¹ nm⁻¹].

        Clear sky: (0.9·E_Rayleigh + 0.35·E_aerosol)/π (π·Li/Ed ≈ 0.3 at 400 nm, 0.08 at
        750 nm); overcast: Ed/π.
        """
        direct, rayleigh, aerosol = self._components(wavelength_nm)
        clear = (0.9 * rayleigh + 0.35 * aerosol) / np.pi
        overcast = (rayleigh + aerosol + 0.45 * direct) / np.pi
        return (1.0 - self.cloud) * clear + self.cloud * overcast
