"""Parameter maps of one acquisition: the block-median Rrs of valid pixels, retrieved.

The image is cut into square blocks (the last row and column of blocks may be partial); each
block with enough valid water pixels gets the median Rrs of those pixels, band by band, and
every block spectrum goes through the same retrieval as the ROI-median spectrum (one call for
all blocks), so each map cell carries the same model, interval and out-of-domain flag as the
ROI value. Blocks with too few valid pixels are NaN, counted by reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..retrieval.defaults import Retrieval
from .geometry import Footprints


@dataclass
class BlockMaps:
    """The maps of one acquisition.

    Attributes
    ----------
    params : list of str
        Parameter ids, the first axis of ``values``, ``lo``, ``hi`` and ``ood``.
    values, lo, hi : ndarray
        Estimates and the bounds of their 68 % interval, shape (n_params, ny, nx)
        [catalogue units]; NaN where a block has too few valid pixels (or no interval).
    ood : ndarray
        1 where a block's spectrum is outside the model's domain, 0 inside, NaN unknown.
    n_valid : ndarray of int
        Valid water pixels per block, shape (ny, nx).
    block : int
        Block side [pixels]; cell (i, j) covers image lines i·block … (i+1)·block − 1.
    image_shape : tuple of int
        (lines, samples) of the image.
    algorithms : dict of str to str
        Model or algorithm behind each parameter.
    water_area : ndarray or None
        Water area of the valid pixels of each block [m²] (None without camera geometry).
    east, north : ndarray or None
        Centre of each block, east and north of the pole [m] (footprint-weighted mean of its
        pixels' positions).
    spectra : ndarray or None
        Block-median Rrs [sr-1], shape (ny, nx, n_wavelength) (NaN for empty blocks).
    wavelength : ndarray or None
        Band centres of ``spectra`` [nm].
    height : float
        Camera height above the water [m] (NaN without geometry).
    """

    params: list[str]
    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    ood: np.ndarray
    n_valid: np.ndarray
    block: int
    image_shape: tuple[int, int]
    algorithms: dict[str, str] = field(default_factory=dict)
    water_area: np.ndarray | None = None
    east: np.ndarray | None = None
    north: np.ndarray | None = None
    spectra: np.ndarray | None = None
    wavelength: np.ndarray | None = None
    height: float = float("nan")

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx) map cells."""
        return self.n_valid.shape  # type: ignore[return-value]

    def weights(self) -> np.ndarray:
        """What each cell stands for: water area [m²] with geometry, else valid pixels."""
        return self.n_valid.astype(float) if self.water_area is None else self.water_area


def _blocks(a: np.ndarray, block: int, fill: float) -> np.ndarray:
    """(ny, nx, ...) → (nby, nbx, block·block, ...) padded with ``fill``."""
    ny, nx = a.shape[:2]
    nby, nbx = -(-ny // block), -(-nx // block)
    if (nby * block, nbx * block) != (ny, nx):
        pad = [(0, nby * block - ny), (0, nbx * block - nx)] + [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, pad, constant_values=fill)
    rest = a.shape[2:]
    b = a.reshape(nby, block, nbx, block, *rest).swapaxes(1, 2)
    return b.reshape(nby, nbx, block * block, *rest)


def block_sums(a: np.ndarray, block: int) -> np.ndarray:
    """Sum of a 2-D array over blocks (NaN counts as 0), shape (nby, nbx)."""
    return np.nansum(_blocks(np.asarray(a, float), block, 0.0), axis=2)


def block_medians(rrs: np.ndarray, valid: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Median Rrs of the valid pixels of each block.

    Parameters
    ----------
    rrs : ndarray
        The Rrs cube [sr-1], shape (lines, samples, bands) (any memory layout).
    valid : ndarray of bool
        Valid water pixels, shape (lines, samples).
    block : int
        Block side [pixels].

    Returns
    -------
    medians : ndarray of float32
        Shape (nby, nbx, bands); NaN for blocks without valid pixels.
    counts : ndarray of int
        Valid pixels per block, shape (nby, nbx).
    """
    ny, nx = valid.shape
    nby, nbx = -(-ny // block), -(-nx // block)
    counts = _blocks(valid, block, False).sum(axis=2)
    if (nby * block, nbx * block) != (ny, nx):
        pad = [(0, nby * block - ny), (0, nbx * block - nx)]
        rrs = np.pad(rrs, pad + [(0, 0)], constant_values=np.nan)
        valid = np.pad(valid, pad, constant_values=False)
    n_bands = rrs.shape[2]
    # one copy, band-major blocks (nby, nbx, bands, pixels); invalid pixels NaN (sorted last)
    b = np.empty((nby, nbx, n_bands, block, block), "float32")
    b[...] = rrs.reshape(nby, block, nbx, block, n_bands).transpose(0, 2, 4, 1, 3)
    b = b.reshape(nby, nbx, n_bands, block * block)
    invalid = ~valid.reshape(nby, block, nbx, block).transpose(0, 2, 1, 3)
    np.copyto(b, np.float32(np.nan), where=invalid.reshape(nby, nbx, 1, block * block))
    b.sort(axis=3)
    k = np.maximum(counts, 1)[:, :, None, None]
    lo = np.take_along_axis(b, (k - 1) // 2, axis=3)[..., 0]
    hi = np.take_along_axis(b, k // 2, axis=3)[..., 0]
    med = ((lo.astype("float64") + hi) / 2).astype("float32")
    med[counts == 0] = np.nan
    return med, counts


def make_maps(rrs: np.ndarray, valid: np.ndarray, wavelength: np.ndarray,
              retrieve: Callable[[np.ndarray], Retrieval], params: list[str], *, block: int = 8,
              min_valid_fraction: float = 0.5, geometry: Footprints | None = None,
              keep_spectra: bool = False) -> BlockMaps:
    """Maps of the parameters of one corrected acquisition.

    Parameters
    ----------
    rrs : ndarray
        Rrs cube [sr-1], shape (lines, samples, bands).
    valid : ndarray of bool
        Valid water pixels, shape (lines, samples).
    wavelength : ndarray
        Band centres [nm].
    retrieve : callable
        ``retrieve(spectra) -> Retrieval`` for spectra of shape (n, bands): the chain's
        retrieval (e.g. :func:`hsiwq.retrieval.service.retrieve_region` with the site's
        region), called once with every retained block.
    params : list of str
        Parameters to map.
    block : int
        Block side [pixels].
    min_valid_fraction : float
        Fewest valid pixels of a block, as a fraction of ``block``² [-].
    geometry : Footprints, optional
        Pixel positions and footprints on the water (adds areas and coordinates).
    keep_spectra : bool
        Keep the block spectra (for reprocessing).

    Returns
    -------
    BlockMaps
    """
    med, counts = block_medians(rrs, valid, block)
    need = max(1, int(np.ceil(min_valid_fraction * block * block)))
    usable = counts >= need
    return maps_from_spectra(med, counts, usable, wavelength, retrieve, params, block=block,
                             image_shape=valid.shape, geometry=_block_geometry(geometry, valid, block),
                             keep_spectra=keep_spectra)


def _block_geometry(fp: Footprints | None, valid: np.ndarray, block: int) -> dict | None:
    if fp is None:
        return None
    area = np.where(np.isfinite(fp.area), fp.area, 0.0)
    total = block_sums(area, block)
    with np.errstate(invalid="ignore", divide="ignore"):
        east = block_sums(area * np.nan_to_num(fp.east), block) / total
        north = block_sums(area * np.nan_to_num(fp.north), block) / total
    return {"water_area": block_sums(np.where(valid, area, 0.0), block), "east": east,
            "north": north, "height": fp.height}


def maps_from_spectra(spectra: np.ndarray, counts: np.ndarray, usable: np.ndarray,
                      wavelength: np.ndarray, retrieve: Callable[[np.ndarray], Retrieval],
                      params: list[str], *, block: int, image_shape: tuple[int, int],
                      geometry: dict | None = None, keep_spectra: bool = False) -> BlockMaps:
    """Retrieve block spectra (nby, nbx, bands) where ``usable`` into a :class:`BlockMaps`.

    Also the way reprocessing re-makes maps from stored block spectra.
    """
    nby, nbx = counts.shape
    rows = np.flatnonzero(usable.ravel())
    shape = (len(params), nby, nbx)
    values, lo, hi, ood = (np.full(shape, np.nan, "float32") for _ in range(4))
    algorithms: dict[str, str] = {}
    if rows.size:
        r = retrieve(spectra.reshape(nby * nbx, -1)[rows])
        for i, p in enumerate(params):
            for out, src in ((values, r.values), (lo, r.lo), (hi, r.hi), (ood, r.ood)):
                if p in src:
                    out[i].ravel()[rows] = src[p]
            if p in r.algorithms:
                algorithms[p] = r.algorithms[p]
    g = geometry or {}
    kept = None
    if keep_spectra:
        kept = np.where(usable[:, :, None], spectra, np.nan).astype("float32")
    return BlockMaps(list(params), values, lo, hi, ood, counts.astype("int32"), int(block),
                     (int(image_shape[0]), int(image_shape[1])), algorithms,
                     g.get("water_area"), g.get("east"), g.get("north"), kept,
                     None if kept is None else np.asarray(wavelength, float),
                     float(g.get("height", np.nan)))
