"""Shore in the camera's field of view: layout and Lambertian land reflectances."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hsiwq.simulate.fields import rng_for, smooth_field, smooth_profile

#: Land-cover classes of the ``land_class`` map.
WATER, VEGETATION, SOIL, CONCRETE = 0, 1, 2, 3
LAND_CLASS_NAMES = {WATER: "water", VEGETATION: "vegetation", SOIL: "soil",
                    CONCRETE: "concrete"}
SHORE_SIDES = ("left", "right", "top", "bottom")


def land_reflectance(wavelength_nm: ArrayLike) -> dict[int, np.ndarray]:
    """Smooth reflectance spectra of the shore materials.

    Vegetation has a green peak, a chlorophyll trough at ~670 nm and a red edge at ~718 nm
    rising to ≈ 0.45 in the near infrared; bare soil brightens steadily towards the NIR;
    weathered concrete is bright and nearly grey.

    Parameters
    ----------
    wavelength_nm : array_like
        Wavelengths [nm].

    Returns
    -------
    dict of int to ndarray
        Reflectance factor R [-] (radiance = R·Ed/π) of ``VEGETATION``, ``SOIL``,
        ``CONCRETE``.

    References
    ----------
    .. [1] Jacquemoud, S., Baret, F. (1990). PROSPECT: A model of leaf optical properties
       spectra. Remote Sens. Environ. 34(2), 75–91 (shape of green-leaf reflectance).
    """
    wl = np.asarray(wavelength_nm, dtype=float)
    veg = (0.035 + 0.045 * np.exp(-0.5 * ((wl - 550.0) / 30.0) ** 2)
           + 0.42 / (1.0 + np.exp(-(wl - 718.0) / 11.0)))
    x = (wl - 400.0) / 500.0
    soil = 0.08 + 0.22 * x - 0.04 * x**2
    concrete = 0.22 + 0.08 * x
    return {VEGETATION: veg, SOIL: soil, CONCRETE: concrete}


def shore_layout(shape: tuple[int, int], side: str | None, fraction: float,
                 seed: int) -> np.ndarray:
    """Land-cover map with a strip of shore along one side of the image.

    The waterline wanders smoothly around ``fraction`` of the image width; next to the water
    runs a concrete embankment (≈ 3 % of the image), behind it patches of vegetation and
    bare soil.

    Parameters
    ----------
    shape : tuple of int
        (lines, samples) [pixels].
    side : {"left", "right", "top", "bottom"} or None
        Side of the image the shore is on; None for water only.
    fraction : float
        Mean fraction of the image covered by the shore strip [-].
    seed : int
        Scene seed.

    Returns
    -------
    ndarray of int8
        ``land_class`` map of shape ``shape`` (0 water, 1 vegetation, 2 soil, 3 concrete).
    """
    ny, nx = shape
    out = np.zeros(shape, dtype=np.int8)
    if side is None or fraction <= 0:
        return out
    if side not in SHORE_SIDES:
        raise ValueError(f"shore side must be one of {SHORE_SIDES} or None, got {side!r}")
    along, across = (ny, nx) if side in ("left", "right") else (nx, ny)
    wiggle = smooth_profile(along, rng_for(seed, "shore", "line"), 0.15 * along)
    width = np.clip(fraction * across * (1.0 + 0.25 * wiggle), 1.0, across - 1.0)
    dist = np.arange(across, dtype=float)  # distance from the image edge on the land side
    if side in ("right", "bottom"):
        dist = dist[::-1]
    depth = width[:, None] - dist[None, :]  # > 0 on land: distance inland from the waterline
    if side in ("top", "bottom"):
        depth = depth.T
    land = depth > 0
    patches = smooth_field(shape, rng_for(seed, "shore", "cover"), 0.08 * max(shape))
    cover = np.where(patches > -0.2, VEGETATION, SOIL).astype(np.int8)
    embankment = max(1.0, 0.03 * across)
    cover[depth <= embankment] = CONCRETE
    out[land] = cover[land]
    return out
