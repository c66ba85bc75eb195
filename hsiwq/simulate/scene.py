"""A simulated scene: the truth behind one acquisition.

A :class:`Scene` holds only per-pixel maps (constituents, parameters, land cover, glint)
and the geometry and illumination; spectra and radiances are computed on demand for a block
of image lines, so memory stays bounded for any image size.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from hsiwq.bio_optics.covariance import NONOPTICAL_IDS, nonoptical_from_optical, turbidity_from_tss
from hsiwq.bio_optics.forward import ForwardModel
from hsiwq.bio_optics.secchi import kd_lee2013, secchi_lee2015
from hsiwq.params import PARAMETER_IDS
from hsiwq.radiometry.glint import sky_glint_factor
from hsiwq.radiometry.sun import relative_azimuth, solar_position
from hsiwq.simulate.fields import rng_for, smooth_field
from hsiwq.simulate.illumination import Illumination
from hsiwq.simulate.land import WATER, land_reflectance, shore_layout
from hsiwq.simulate.water_types import WaterType
from hsiwq.simulate.water_types import water_type as _get_water_type
from hsiwq.timeutil import parse_time as parse_iso

#: Wavelength grid on which the Secchi-depth truth is computed [nm] (Lee et al. 2015).
SECCHI_WAVELENGTH_NM = np.arange(410.0, 700.1, 5.0)
#: Number of pixels per block of spectral computations (bounds memory).
BLOCK_PIXELS = 1 << 13


def parse_time(time: datetime | str) -> datetime:
    """A timezone-aware UTC datetime from a datetime (naive = UTC) or an ISO 8601 string
    (:func:`hsiwq.timeutil.parse_time`)."""
    if isinstance(time, str):
        return parse_iso(time)
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return time.astimezone(UTC)


@dataclass
class Scene:
    """Ground truth of one simulated acquisition.

    Attributes
    ----------
    site : str
        Site id.
    time : datetime
        Acquisition time (UTC).
    lat, lon : float
        Position [deg].
    water_type : WaterType
        Water type.
    wavelength_nm : ndarray
        Band centres of the water camera and sky channel [nm].
    sun_zenith_deg, sun_azimuth_deg : float
        Sun position [deg] (azimuth clockwise from north).
    view_zenith_deg, view_azimuth_deg : float
        Water camera viewing geometry [deg].
    relative_azimuth_deg : float
        Sun–view relative azimuth [deg].
    wind_speed_ms : float
        Wind speed [m/s].
    rho : float
        Sky-glint factor used in Lt = Rrs·Ed + ρ·Li [-].
    rho_method : str
        Method of :func:`hsiwq.radiometry.glint.sky_glint_factor` that gave ρ.
    illumination : Illumination
        Ed and Li model.
    params : dict of str to ndarray
        The 11 parameters of the catalogue (:mod:`hsiwq.params`) per pixel, shape (lines, samples), in their
        units; NaN on land.
    land_class : ndarray of int8
        0 water, 1 vegetation, 2 soil, 3 concrete.
    glint : ndarray
        Sun-glint reflectance per pixel [sr⁻¹]: extra radiance glint·Ed_direct(λ).
    bloom : bool
        Whether the scene is a cyanobacterial bloom.
    seed : int
        Seed of every random stream of the scene.
    """

    site: str
    time: datetime
    lat: float
    lon: float
    water_type: WaterType
    wavelength_nm: np.ndarray
    sun_zenith_deg: float
    sun_azimuth_deg: float
    view_zenith_deg: float
    view_azimuth_deg: float
    relative_azimuth_deg: float
    wind_speed_ms: float
    rho: float
    rho_method: str
    illumination: Illumination
    params: dict[str, np.ndarray]
    land_class: np.ndarray
    glint: np.ndarray
    bloom: bool = False
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(lines, samples) [pixels]."""
        return tuple(self.land_class.shape)  # type: ignore[return-value]

    @property
    def water_mask(self) -> np.ndarray:
        """Water pixels (including glint), shape (lines, samples)."""
        return self.land_class == WATER

    @property
    def shore_mask(self) -> np.ndarray:
        """Land pixels."""
        return self.land_class != WATER

    @property
    def glint_mask(self) -> np.ndarray:
        """Water pixels with sun glint."""
        return self.glint > 0

    @cached_property
    def forward(self) -> ForwardModel:
        """Forward model on the camera grid."""
        return ForwardModel(self.wavelength_nm, self.water_type.iop)

    def ed(self, wavelength_nm: ArrayLike | None = None) -> np.ndarray:
        """Downwelling irradiance Ed [W m⁻² nm⁻¹] (default: camera grid)."""
        return self.illumination.ed(self.wavelength_nm if wavelength_nm is None else wavelength_nm)

    def li(self, wavelength_nm: ArrayLike | None = None) -> np.ndarray:
        """Sky radiance Li [W m⁻² sr⁻¹ nm⁻¹] (default: camera grid)."""
        return self.illumination.li(self.wavelength_nm if wavelength_nm is None else wavelength_nm)

    def mean(self, pid: str) -> float:
        """Mean of a parameter over the water pixels [its unit]."""
        return float(np.nanmean(self.params[pid][self.water_mask]))

    def _constituents(self, sl: tuple) -> tuple[np.ndarray, ...]:
        vals = [self.params[k][sl] for k in ("chl_a", "phycocyanin", "tss", "cdom")]
        return tuple(np.where(np.isnan(v), 1.0, v) for v in vals)

    def rrs_lines(self, y0: int, y1: int) -> np.ndarray:
        """True Rrs of image lines y0:y1 [sr⁻¹], shape (y1−y0, samples, bands); NaN on land."""
        sl = (slice(y0, y1), slice(None))
        rrs = self.forward.rrs(*self._constituents(sl))
        rrs[self.land_class[sl] != WATER] = np.nan
        return rrs

    def radiance_lines(self, y0: int, y1: int, rrs: np.ndarray | None = None) -> np.ndarray:
        """Radiance Lt seen by the water camera for lines y0:y1 [W m⁻² sr⁻¹ nm⁻¹].

        Water: Rrs·Ed + ρ·Li + glint·Ed_direct; land: R·Ed/π.

        Parameters
        ----------
        y0, y1 : int
            Line range.
        rrs : ndarray, optional
            The block's true Rrs if already computed (NaN on land).

        Returns
        -------
        ndarray
            Lt, shape (y1−y0, samples, bands).
        """
        if rrs is None:
            rrs = self.rrs_lines(y0, y1)
        ed, li = self._spectra
        lt = np.nan_to_num(rrs, nan=0.0) * ed
        lt += self.rho * li
        glint = self.glint[y0:y1]
        if np.any(glint > 0):
            iy, ix = np.nonzero(glint > 0)
            lt[iy, ix] += glint[iy, ix, None] * self._ed_direct
        land = self.land_class[y0:y1]
        for cls, refl in self._land_radiance.items():
            iy, ix = np.nonzero(land == cls)
            if iy.size:
                lt[iy, ix] = refl
        return lt

    @cached_property
    def _spectra(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ed(), self.li()

    @cached_property
    def _ed_direct(self) -> np.ndarray:
        return self.illumination.ed_direct(self.wavelength_nm)

    @cached_property
    def _land_radiance(self) -> dict[int, np.ndarray]:
        ed = self._spectra[0]
        return {k: r * ed / np.pi for k, r in land_reflectance(self.wavelength_nm).items()}


def _draw_mean(rng: np.random.Generator, rng_range: tuple[float, float]) -> float:
    lo, hi = rng_range
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _map(mean: float, cv: float, fld: np.ndarray, water: np.ndarray) -> np.ndarray:
    """mean·exp(cv·field), normalised so that the water-pixel mean is exactly ``mean``."""
    m = np.exp(cv * fld)
    norm = m[water].mean() if water.any() else 1.0
    return mean * m / norm


def _glint_map(water: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sun-glint reflectance [sr⁻¹]: small clusters on random water pixels."""
    out = np.zeros(water.shape)
    n = int(round(fraction * water.sum()))
    if n <= 0:
        return out
    rng = rng_for(seed, "glint")
    iy, ix = np.nonzero(water)
    n_centres = max(1, int(round(n / 2.5)))
    pick = rng.choice(iy.size, size=min(n_centres, iy.size), replace=False)
    ny, nx = water.shape
    for k in pick:
        y, x = iy[k], ix[k]
        r = float(np.exp(rng.normal(np.log(0.02), 1.0)))  # median 0.02 sr⁻¹, some saturate
        out[y, x] = max(out[y, x], r)
        for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            yy, xx = y + dy, x + dx
            if 0 <= yy < ny and 0 <= xx < nx and water[yy, xx] and rng.random() < 0.4:
                out[yy, xx] = max(out[yy, xx], 0.4 * r)
    return out


def simulate_scene(*, water_type: str | WaterType = "eutrophic_lake",
                   time: datetime | str = "2026-07-01T03:15:00Z", site: str = "sim-site",
                   lat: float = 31.40, lon: float = 120.18, shape: tuple[int, int] = (64, 64),
                   wavelength_nm: ArrayLike | None = None, seed: int = 0,
                   wind_speed_ms: float = 3.0, cloud: float = 0.0, bloom: bool = False,
                   chl: float | None = None, pc: float | None = None, tss: float | None = None,
                   cdom: float | None = None, view_zenith_deg: float = 40.0,
                   view_azimuth_deg: float | None = None, relative_azimuth_deg: float = 120.0,
                   shore_side: str | None = "left", shore_fraction: float = 0.12,
                   glint_fraction: float | None = None, aot550: float = 0.3) -> Scene:
    """Simulate the truth of one acquisition.

    Constituents vary smoothly around the acquisition means (lognormal, 5–15 % spatial
    variability, 30 % for chlorophyll in a bloom); the five non-optical parameters and
    turbidity follow the water type's synthetic covariance model; Secchi depth follows
    Lee et al. (2015) with Kd of Lee et al. (2013) from the simulated a and bb.

    Parameters
    ----------
    water_type : str or WaterType
        ``clear_reservoir``, ``eutrophic_lake`` or ``sediment_river``.
    time : datetime or str
        Acquisition time (UTC; ISO 8601 string accepted).
    site : str
        Site id.
    lat, lon : float
        Position [deg].
    shape : tuple of int
        (lines, samples) [pixels].
    wavelength_nm : array_like, optional
        Camera band centres [nm]; default 120 bands over 400–900 nm.
    seed : int
        Seed of all random streams.
    wind_speed_ms : float
        Wind speed [m/s] (sets ρ and the amount of sun glint).
    cloud : float
        Cloud fraction [0–1].
    bloom : bool
        Cyanobacterial bloom (``eutrophic_lake`` only): chl 80–300 µg/L, PC:Chl 1–2.
    chl, pc, tss, cdom : float, optional
        Acquisition means over water pixels: chlorophyll-a [µg/L], phycocyanin [µg/L],
        TSS [mg/L], CDOM a_g(440) [1/m]; drawn from the water type's ranges when None.
    view_zenith_deg : float
        Camera viewing zenith [deg].
    view_azimuth_deg : float, optional
        Camera viewing azimuth [deg]; default: sun azimuth + ``relative_azimuth_deg``
        (a pan unit keeping the recommended geometry).
    relative_azimuth_deg : float
        Sun–view relative azimuth used when ``view_azimuth_deg`` is None [deg].
    shore_side : {"left", "right", "top", "bottom"} or None
        Where the shore strip is.
    shore_fraction : float
        Mean fraction of the image across the shore strip [-].
    glint_fraction : float, optional
        Fraction of water pixels with sun glint [-]; default (0.002 + 0.001·wind)·(1 − cloud).
    aot550 : float
        Aerosol optical thickness at 550 nm [-].

    Returns
    -------
    Scene

    Raises
    ------
    ValueError
        For an unknown water type, a bloom in a water type without blooms, or the sun below
        5° elevation.

    References
    ----------
    .. [1] Lee, Z. et al. (2015). Secchi disk depth: A new theory and mechanistic model for
       underwater visibility. Remote Sens. Environ. 169, 139–149.
    .. [2] Lee, Z. et al. (2013). J. Geophys. Res. Oceans 118, 4241–4255.
    """
    wt = _get_water_type(water_type)
    t = parse_time(time)
    wl = (np.round(np.linspace(400.0, 900.0, 120), 4) if wavelength_nm is None
          else np.asarray(wavelength_nm, dtype=float))
    ny, nx = (int(shape[0]), int(shape[1]))
    if ny < 1 or nx < 1:
        raise ValueError(f"shape must be positive, got {shape}")
    if bloom and wt.bloom_chl_range is None:
        raise ValueError(f"water type {wt.name} has no bloom option")
    if not 0.0 <= cloud <= 1.0:
        raise ValueError(f"cloud must be within 0–1, got {cloud}")

    sun_zen, sun_az = solar_position(t, lat, lon)
    if sun_zen > 85.0:
        raise ValueError(f"sun zenith {sun_zen:.1f}° at {t:%Y-%m-%dT%H:%M:%SZ}: sun too low "
                         "(times are UTC)")
    if view_azimuth_deg is None:
        view_azimuth_deg = (sun_az + relative_azimuth_deg) % 360.0
    rel_az = relative_azimuth(sun_az, view_azimuth_deg)
    res = sky_glint_factor(wind_speed_ms, sun_zen, rel_az, view_zenith_deg)
    rho, method = (res if isinstance(res, tuple) else (res, "unknown"))
    illum = Illumination(sun_zen, t.timetuple().tm_yday, aot550=aot550, cloud=cloud)

    # The shore is where the camera's mount puts it: fixed per site, not per acquisition.
    land = shore_layout((ny, nx), shore_side, shore_fraction, zlib.crc32(site.encode()))
    water = land == WATER

    # Acquisition means.
    r = rng_for(seed, "means")
    chl_range = wt.bloom_chl_range if bloom else wt.chl_range
    ratio_range = wt.bloom_pc_ratio_range if bloom else wt.pc_ratio_range
    chl_m = _draw_mean(r, chl_range) if chl is None else float(chl)
    ratio = r.uniform(*ratio_range)
    tss_m = _draw_mean(r, wt.tss_range) if tss is None else float(tss)
    cdom_m = _draw_mean(r, wt.cdom_range) if cdom is None else float(cdom)
    pc_m = chl_m * ratio if pc is None else float(pc)
    for name, v in (("chl", chl_m), ("pc", pc_m), ("tss", tss_m), ("cdom", cdom_m)):
        if not v > 0:
            raise ValueError(f"{name} must be positive, got {v}")

    cv = wt.spatial_cv
    fields = {k: smooth_field((ny, nx), rng_for(seed, "field", k))
              for k in ("chl", "tss", "cdom", "pc_ratio")}
    chl_map = _map(chl_m, wt.bloom_spatial_cv_chl if bloom else cv["chl"], fields["chl"], water)
    pc_map = _map(pc_m, 1.0, np.log(chl_map) + cv["pc_ratio"] * fields["pc_ratio"], water)
    tss_map = _map(tss_m, cv["tss"], fields["tss"], water)
    cdom_map = _map(cdom_m, cv["cdom"], fields["cdom"], water)

    # Non-optical parameters and turbidity: mostly acquisition-level scatter, a little spatial.
    rz = rng_for(seed, "covariance")
    noise = {}
    for pid in (*NONOPTICAL_IDS, "turbidity"):
        z_acq = rz.standard_normal()
        noise[pid] = (np.sqrt(0.9) * z_acq
                      + np.sqrt(0.1) * smooth_field((ny, nx), rng_for(seed, "noise", pid)))
    nonopt = nonoptical_from_optical(wt.covariance, chl_map, tss_map, cdom_map, noise)
    turb = turbidity_from_tss(wt.covariance, tss_map, chl_map, noise["turbidity"])
    secchi = _secchi_map(wt, chl_map, pc_map, tss_map, cdom_map, sun_zen)

    params = {"chl_a": chl_map, "phycocyanin": pc_map, "tss": tss_map, "turbidity": turb,
              "secchi": secchi, "cdom": cdom_map, **nonopt}
    params = {pid: np.where(water, params[pid], np.nan) for pid in PARAMETER_IDS}

    if glint_fraction is None:
        glint_fraction = (0.002 + 0.001 * wind_speed_ms) * (1.0 - cloud)
    glint = _glint_map(water, glint_fraction, seed)

    return Scene(site=site, time=t, lat=float(lat), lon=float(lon), water_type=wt,
                 wavelength_nm=wl, sun_zenith_deg=sun_zen, sun_azimuth_deg=sun_az,
                 view_zenith_deg=float(view_zenith_deg),
                 view_azimuth_deg=float(view_azimuth_deg), relative_azimuth_deg=rel_az,
                 wind_speed_ms=float(wind_speed_ms), rho=float(rho), rho_method=str(method),
                 illumination=illum, params=params, land_class=land, glint=glint,
                 bloom=bool(bloom), seed=int(seed))


def _secchi_map(wt: WaterType, chl: np.ndarray, pc: np.ndarray, tss: np.ndarray,
                cdom: np.ndarray, sun_zenith_deg: float) -> np.ndarray:
    """Secchi depth [m] per pixel, Lee et al. (2015) with the true a and bb."""
    fm = ForwardModel(SECCHI_WAVELENGTH_NM, wt.iop)
    out = np.empty(chl.size)
    flat = [v.ravel() for v in (chl, pc, tss, cdom)]
    for i in range(0, chl.size, BLOCK_PIXELS):
        sl = slice(i, i + BLOCK_PIXELS)
        a, bb = fm.iops(*(v[sl] for v in flat))
        kd = kd_lee2013(a, bb, fm.bb_w, sun_zenith_deg)
        rrs = fm.rrs_from_iops(a, bb)
        out[sl] = secchi_lee2015(SECCHI_WAVELENGTH_NM, kd, rrs)
    return out.reshape(chl.shape)
