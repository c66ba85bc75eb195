"""Regions of interest (ROI) of a camera view, and statistics over them.

An ROI is given as pixel polygons (each a list of ``[x, y]`` vertices, x = sample/column,
y = line/row, pixel centres at integer coordinates) or as a boolean mask image. Polygons are
rasterised with the even–odd rule (a pixel belongs to a polygon when its centre is inside;
self-overlaps make holes); several polygons are united.

References
----------
.. [1] Foley, J. D., van Dam, A., Feiner, S. K., Hughes, J. F. (1990). Computer Graphics:
   Principles and Practice, 2nd ed., §3.6 (scan-line polygon filling, even–odd rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Percentiles reported by :func:`roi_statistics` [%].
PERCENTILES = {"p10": 10.0, "p25": 25.0, "median": 50.0, "p75": 75.0, "p90": 90.0}


def polygon_mask(shape: tuple[int, int], vertices: Sequence[Sequence[float]]) -> np.ndarray:
    """Rasterise one polygon with the even–odd rule.

    Parameters
    ----------
    shape : (int, int)
        Image shape (lines y, samples x).
    vertices : sequence of [x, y]
        Polygon vertices [pixel], closed implicitly; at least 3.

    Returns
    -------
    ndarray of bool
        Shape ``shape``; True where the pixel centre is inside (centres on a left or bottom
        edge count as inside, on a right or top edge as outside).

    Raises
    ------
    ValueError
        If there are fewer than 3 vertices or they are not (x, y) pairs of finite numbers.
    """
    ny, nx = int(shape[0]), int(shape[1])
    v = np.asarray(vertices, dtype=float)
    if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3 or not np.isfinite(v).all():
        raise ValueError("a polygon needs at least 3 finite [x, y] vertices")
    x0, y0 = v[:, 0], v[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    rows = np.arange(ny, dtype=float)[:, None]  # scan lines through pixel centres
    # edge e crosses line y when y0 <= y < y1 or y1 <= y < y0 (half-open: no double count)
    crosses = ((y0 <= rows) & (rows < y1)) | ((y1 <= rows) & (rows < y0))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x0 + (rows - y0) * (x1 - x0) / (y1 - y0)  # (ny, n_edges)
    xc = np.where(crosses, xc, np.inf)
    xc.sort(axis=1)
    # a pixel centre x is inside when an odd number of crossings lie at or left of it
    cols = np.arange(nx, dtype=float)
    mask = np.zeros((ny, nx), dtype=bool)
    for j in np.flatnonzero(crosses.any(axis=1)):
        k = np.searchsorted(xc[j], cols, side="right")
        mask[j] = (k % 2) == 1
    return mask


def roi_mask(shape: tuple[int, int], roi: Any) -> np.ndarray:
    """Boolean ROI mask of an image from polygons, one polygon, or a mask.

    Parameters
    ----------
    shape : (int, int)
        Image shape (lines y, samples x).
    roi : None, array-like of bool, polygon, or sequence of polygons
        None or an empty list: the whole image. A boolean array (numpy or xarray) of the image
        shape: used as is. A polygon is a sequence of ``[x, y]`` vertices [pixel]; several
        polygons are united.

    Returns
    -------
    ndarray of bool
        Shape ``shape``.

    Raises
    ------
    ValueError
        If a mask has the wrong shape or a polygon is malformed.
    """
    shape = (int(shape[0]), int(shape[1]))
    if roi is None or (isinstance(roi, Sequence) and not isinstance(roi, str) and len(roi) == 0):
        return np.ones(shape, dtype=bool)
    if hasattr(roi, "dtype"):  # numpy or xarray mask
        arr = np.asarray(getattr(roi, "values", roi))
        if arr.dtype != bool:
            raise ValueError(f"ROI mask must be boolean, got {arr.dtype}")
        if arr.shape != shape:
            raise ValueError(f"ROI mask has shape {arr.shape}, the image {shape}")
        return arr.copy()
    polygons = [roi] if _is_polygon(roi) else list(roi)
    mask = np.zeros(shape, dtype=bool)
    for poly in polygons:
        mask |= polygon_mask(shape, poly)
    return mask


def _is_polygon(obj: Any) -> bool:
    """A sequence whose items are number pairs (rather than a sequence of polygons)."""
    try:
        first = obj[0]
        return len(first) == 2 and all(np.isscalar(c) for c in first)
    except (TypeError, IndexError, KeyError):
        return False


def roi_statistics(values: Any, mask: Any, *, roi: Any = None,
                   band_chunk: int = 32) -> dict[str, Any]:
    """Percentile statistics of per-pixel values over the valid pixels of a region.

    Parameters
    ----------
    values : array-like
        Per-pixel values, shape (y, x) or (y, x, ...) (e.g. Rrs (y, x, wavelength) [sr-1]).
    mask : array-like of bool
        Pixels to use, shape (y, x) (e.g. the ``valid`` mask, or an ROI mask).
    roi : None, mask or polygons
        Optional region (see :func:`roi_mask`) intersected with ``mask``; it is also the
        denominator of ``valid_fraction`` (default: the whole image).
    band_chunk : int
        Trailing elements processed at a time (bounds the memory used to band_chunk × n_valid).

    Returns
    -------
    dict
        ``median``, ``p10``, ``p25``, ``p75``, ``p90`` and ``mean`` (floats for 2-D values,
        arrays of the trailing shape otherwise; NaN when no pixel is valid), ``n_valid``
        (pixels used: in the mask and the region, all trailing values finite), ``n_pixels``
        (pixels in the region) and ``valid_fraction`` = n_valid / n_pixels [-].
    """
    vals = np.asarray(getattr(values, "values", values))
    m = np.asarray(getattr(mask, "values", mask), dtype=bool)
    shape2 = vals.shape[:2]
    if m.shape != shape2:
        raise ValueError(f"mask has shape {m.shape}, the values {shape2}")
    region = roi_mask(shape2, roi)
    trailing = vals.shape[2:]
    flat = vals.reshape(shape2 + (-1,))
    use = m & region
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(flat).all(axis=-1) if flat.shape[-1] else use
    use &= finite
    n_valid, n_pixels = int(use.sum()), int(region.sum())
    n_el = flat.shape[-1]
    stats = {k: np.full(n_el, np.nan) for k in (*PERCENTILES, "mean")}
    if n_valid:
        rows = np.flatnonzero(use.ravel())
        flat2 = flat.reshape(-1, n_el)
        for b0 in range(0, n_el, band_chunk):
            sub = flat2[rows, b0:b0 + band_chunk].astype(np.float64)
            pct = np.percentile(sub, list(PERCENTILES.values()), axis=0)
            for k, row in zip(PERCENTILES, pct):
                stats[k][b0:b0 + band_chunk] = row
            stats["mean"][b0:b0 + band_chunk] = sub.mean(axis=0)
    out: dict[str, Any] = {}
    for k, v in stats.items():
        out[k] = float(v[0]) if not trailing else v.reshape(trailing)
    out.update(n_valid=n_valid, n_pixels=n_pixels,
               valid_fraction=n_valid / n_pixels if n_pixels else 0.0)
    return out
