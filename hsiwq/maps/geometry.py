"""Where each pixel of the water camera lies on the water surface, and how much water it sees.

The model: a pinhole camera (or a table of per-pixel view angles) at a known height above a
datum, looking down at a flat, horizontal water surface whose level above the same datum is
the radar gauge's reading. Each pixel's line of sight is a straight ray from the camera (no
refraction: the ray is followed to the surface, not into the water); its intersection with
the surface is the pixel's ground position, and the quadrilateral cut out by the rays through
its four corners is its footprint.

Limits: waves and a sloping surface, lens distortion (unless the per-pixel angles include
it), the pole's sway and the Earth's curvature (< 1 cm over 500 m) are ignored; rays near the
horizon have footprints that grow without bound, so the configured field of view must stay
below it (:class:`CameraGeometry` checks that). East/north offsets become latitude/longitude
on a local tangent plane (error < 1 mm at 1 km).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Mean Earth radius [m] (IUGG), for east/north → latitude/longitude on a tangent plane.
EARTH_RADIUS_M = 6371008.8
#: Largest view zenith angle of any pixel [deg]: beyond, footprints become unbounded.
MAX_VIEW_ZENITH_DEG = 85.0


class CameraGeometry(BaseModel):
    """A site's water camera, as mounted (``[sites.<id>.maps.camera]``).

    Attributes
    ----------
    height_m : float
        Height of the camera's entrance pupil above the datum of the water-level gauge [m].
    tilt_deg : float
        Zenith angle of the optical axis, from nadir [deg] (0 = looking straight down).
    azimuth_deg : float
        Azimuth of the optical axis, clockwise from north [deg].
    fov_x_deg, fov_y_deg : float
        Full field of view across the image's samples (columns) and lines (rows) [deg]; the
        first image line is the farthest (the top of the picture).
    view_angles : str, optional
        An ``.npz`` file with per-pixel ``zenith_deg`` and ``azimuth_deg`` arrays (lines ×
        samples) measured in the laboratory; replaces the pinhole model (relative paths are
        taken from the workspace).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    height_m: Annotated[float, Field(gt=0, le=1000)]
    tilt_deg: Annotated[float, Field(ge=0, lt=90)]
    azimuth_deg: Annotated[float, Field(ge=0, lt=360)]
    fov_x_deg: Annotated[float, Field(gt=0, lt=170)] = 30.0
    fov_y_deg: Annotated[float, Field(gt=0, lt=170)] = 30.0
    view_angles: str | None = None

    @model_validator(mode="after")
    def _below_horizon(self) -> CameraGeometry:
        if self.view_angles is None:
            # the most oblique pixel is a corner of the image
            t = np.deg2rad(self.tilt_deg)
            ux, uy = np.tan(np.deg2rad(self.fov_x_deg) / 2), np.tan(np.deg2rad(self.fov_y_deg) / 2)
            z = -np.cos(t) + uy * np.sin(t)  # the top corners' downward component
            zen = np.rad2deg(np.arccos(-z / np.sqrt(1 + ux**2 + uy**2)))
            if z >= 0 or zen > MAX_VIEW_ZENITH_DEG:
                raise ValueError(f"tilt {self.tilt_deg:g}° with a {self.fov_y_deg:g}° × "
                                 f"{self.fov_x_deg:g}° field of view sees pixels "
                                 f"{'above the horizon' if z >= 0 else f'at {zen:.0f}° from nadir'};"
                                 f" every pixel must look at the water within "
                                 f"{MAX_VIEW_ZENITH_DEG:g}° of nadir")
        return self


@dataclass(frozen=True)
class Footprints:
    """Ground position and footprint of every pixel on the water surface.

    Attributes
    ----------
    east, north : ndarray
        Offsets of each pixel's centre from the foot of the pole [m], shape (lines, samples).
    area : ndarray
        Footprint of each pixel on the water surface [m²].
    height : float
        Camera height above the water surface [m].
    """

    east: np.ndarray
    north: np.ndarray
    area: np.ndarray
    height: float


def _rays(camera: CameraGeometry, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Directions (east, north, up) of pinhole rays through image-plane points (u, v).

    ``u`` is rightward and ``v`` downward in the image, both as tangents of the angle off
    the optical axis.
    """
    t, a = np.deg2rad(camera.tilt_deg), np.deg2rad(camera.azimuth_deg)
    fwd = np.array([np.sin(t) * np.sin(a), np.sin(t) * np.cos(a), -np.cos(t)])
    right = np.array([np.cos(a), -np.sin(a), 0.0])
    down = np.cross(fwd, right)
    return fwd + u[..., None] * right + v[..., None] * down


def _on_water(rays: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """East and north [m] where rays from ``height`` [m] above the water meet it (NaN: never)."""
    dz = rays[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(dz < 0, height / -dz, np.nan)
    return s * rays[..., 0], s * rays[..., 1]


def _angle_rays(zenith_deg: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
    z, a = np.deg2rad(zenith_deg), np.deg2rad(azimuth_deg)
    return np.stack([np.sin(z) * np.sin(a), np.sin(z) * np.cos(a), -np.cos(z)], axis=-1)


def quad_area(e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Areas of the quadrilaterals of a grid of corner points (shoelace formula).

    Parameters
    ----------
    e, n : ndarray
        Corner coordinates [m], shape (lines + 1, samples + 1).

    Returns
    -------
    ndarray
        Area of each cell [m²], shape (lines, samples).
    """
    e00, e01, e11, e10 = e[:-1, :-1], e[:-1, 1:], e[1:, 1:], e[1:, :-1]
    n00, n01, n11, n10 = n[:-1, :-1], n[:-1, 1:], n[1:, 1:], n[1:, :-1]
    return 0.5 * np.abs((e00 * n01 - e01 * n00) + (e01 * n11 - e11 * n01)
                        + (e11 * n10 - e10 * n11) + (e10 * n00 - e00 * n10))


def footprints(camera: CameraGeometry, shape: tuple[int, int], water_level_m: float,
               *, root: Path | None = None) -> Footprints:
    """Ground positions and footprints of every pixel of an image on a flat water surface.

    Parameters
    ----------
    camera : CameraGeometry
        The mounted camera.
    shape : tuple of int
        (lines, samples) of the image [pixels].
    water_level_m : float
        Water level above the camera's datum [m] (the radar gauge reading).
    root : path, optional
        Folder relative to which ``camera.view_angles`` is read.

    Returns
    -------
    Footprints

    Raises
    ------
    ValueError
        When the water is not below the camera, or the view-angle table has another shape.

    Notes
    -----
    A pixel at tangent-plane coordinates (u, v) has the ray d = f + u·r + v·b (f the optical
    axis, r the image's right, b its down direction); from a height h above the water it
    meets the surface at s·d with s = h / (−d_z). A pinhole maps the pixel's square onto a
    quadrilateral on the plane, whose area (shoelace formula over the four corner rays) is
    exact. For per-pixel angles, the area is |∂P/∂i × ∂P/∂j| from the centres' gradients.
    For a nadir view the footprint is (2 h tan(FOV/2) / n)² per pixel; off nadir, a pixel of
    angular size δ × δ at zenith θ covers about (h / cos θ)² δ² / cos θ.
    """
    ny, nx = int(shape[0]), int(shape[1])
    h = float(camera.height_m) - float(water_level_m)
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"water level {water_level_m} m is not below the camera "
                         f"({camera.height_m} m above the datum)")
    if camera.view_angles is not None:
        path = Path(camera.view_angles)
        if root is not None and not path.is_absolute():
            path = root / path
        with np.load(path) as table:
            zen, az = table["zenith_deg"], table["azimuth_deg"]
        if zen.shape != (ny, nx) or az.shape != (ny, nx):
            raise ValueError(f"{path}: view angles of shape {zen.shape}, image is {(ny, nx)}")
        east, north = _on_water(_angle_rays(zen, az), h)
        de_i, de_j = np.gradient(east)
        dn_i, dn_j = np.gradient(north)
        return Footprints(east, north, np.abs(de_i * dn_j - de_j * dn_i), h)
    tx = np.tan(np.deg2rad(camera.fov_x_deg) / 2)
    ty = np.tan(np.deg2rad(camera.fov_y_deg) / 2)
    ue = (np.arange(nx + 1) / nx * 2 - 1) * tx  # pixel edges
    ve = (np.arange(ny + 1) / ny * 2 - 1) * ty
    e, n = _on_water(_rays(camera, *np.meshgrid(ue, ve)), h)
    uc, vc = (ue[:-1] + ue[1:]) / 2, (ve[:-1] + ve[1:]) / 2
    ec, nc = _on_water(_rays(camera, *np.meshgrid(uc, vc)), h)
    return Footprints(ec, nc, quad_area(e, n), h)


def to_latlon(east: np.ndarray, north: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude [deg] of offsets east/north [m] of a point (local tangent plane)."""
    lat = lat0 + np.rad2deg(np.asarray(north) / EARTH_RADIUS_M)
    lon = lon0 + np.rad2deg(np.asarray(east) / (EARTH_RADIUS_M * np.cos(np.deg2rad(lat0))))
    return lat, lon


def bearing_distance(east: float, north: float) -> tuple[float, float]:
    """Bearing clockwise from north [deg] and distance [m] of an offset from the pole."""
    return float(np.rad2deg(np.arctan2(east, north)) % 360.0), float(np.hypot(east, north))


def compass(bearing_deg: float) -> str:
    """The 8-point compass name of a bearing [deg] (``N``, ``NE``, ...)."""
    names = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
    return names[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]
