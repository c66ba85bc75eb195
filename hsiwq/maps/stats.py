"""Spatial statistics of one acquisition's maps, stored beside its ROI values.

Per mapped parameter: the 10th, 50th and 90th percentiles over the water (each cell weighted
by the water area it stands for, or by its valid pixels without camera geometry) and, for
each threshold, the water area above it [m²], its fraction of the mapped water and where it
is (area-weighted centroid east/north of the pole [m], and in the image as fractions of its
width and height). Cells out of the model's domain count as unknown, as for alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..params import PARAMETERS
from .settings import MAP_PARAMETERS, MAX_THRESHOLDS

if TYPE_CHECKING:
    from .blocks import BlockMaps

PERCENTILES = (10, 50, 90)
#: What is kept per threshold: suffix -> (units, description); "" units = the parameter's.
ABOVE_FIELDS: dict[str, tuple[str | None, str]] = {
    "threshold": (None, "threshold of the exceeded-area statistics"),
    "area": ("m2", "water area above the threshold"),
    "fraction": ("1", "fraction of the mapped water above the threshold"),
    "east": ("m", "centroid of the water above the threshold, east of the pole"),
    "north": ("m", "centroid of the water above the threshold, north of the pole"),
    "col": ("1", "centroid of the water above the threshold, fraction of the image width from its left"),
    "row": ("1", "centroid of the water above the threshold, fraction of the image height from its top"),
}
#: Acquisition-level map counts: name -> (units, description).
MAP_COUNTS: dict[str, tuple[str, str]] = {
    "map_blocks_valid": ("1", "map cells with enough valid water pixels"),
    "map_blocks_sparse": ("1", "map cells left empty: too few valid water pixels"),
    "map_blocks_empty": ("1", "map cells left empty: no valid water pixel"),
    "map_water_area": ("m2", "water area of the mapped cells"),
}


def above_name(param: str, k: int, what: str) -> str:
    """Quantity name of a threshold statistic, e.g. ``chl_a_above1_area`` (k = 1, 2)."""
    return f"{param}_above{k}_{what}"


def stat_quantities() -> dict[str, tuple[str, str]]:
    """Every spatial-statistics quantity: name -> (units, long name)."""
    out: dict[str, tuple[str, str]] = {}
    for p in MAP_PARAMETERS:
        unit, name = PARAMETERS[p].unit, PARAMETERS[p].name
        for q in PERCENTILES:
            out[f"{p}_map_p{q}"] = (unit, f"{q}th percentile of {name} over the mapped water")
        for k in range(1, MAX_THRESHOLDS + 1):
            for what, (u, text) in ABOVE_FIELDS.items():
                out[above_name(p, k, what)] = (u or unit, f"{name}: {text} ({k})")
    return out | MAP_COUNTS


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles (0–1) of values with weights (midpoint rule; NaN when no weight)."""
    ok = np.isfinite(values) & (weights > 0)
    v, w = values[ok], weights[ok]
    if not v.size:
        return np.full(len(qs), np.nan)
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = (np.cumsum(w) - w / 2) / w.sum()
    return np.interp(qs, cum, v)


def spatial_stats(maps: BlockMaps, thresholds: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """The spatial statistics of one acquisition (see the module's description).

    Parameters
    ----------
    maps : BlockMaps
        The acquisition's maps.
    thresholds : mapping of str to sequence of float
        Up to two thresholds per parameter [its unit].

    Returns
    -------
    dict of str to float
        Quantities named as in :func:`stat_quantities` (areas NaN without geometry).
    """
    w = maps.weights()
    geo = maps.water_area is not None
    ny, nx = maps.shape
    rows, cols = np.mgrid[0:ny, 0:nx]
    b, (h, wd) = maps.block, maps.image_shape
    col = np.minimum((cols + 0.5) * b, wd) / wd  # cell centres (partial cells: approximately)
    row = np.minimum((rows + 0.5) * b, h) / h
    usable = maps.n_valid > 0
    out: dict[str, float] = {
        "map_blocks_valid": float(np.isfinite(maps.values[0]).sum()) if maps.params else 0.0,
        "map_blocks_empty": float((~usable).sum()),
    }
    out["map_blocks_sparse"] = float(usable.sum() - out["map_blocks_valid"])
    for i, p in enumerate(maps.params):
        v = np.where(maps.ood[i] >= 0.5, np.nan, maps.values[i]).astype(float)
        known = np.isfinite(v)
        total = float(w[known].sum())
        if i == 0:
            out["map_water_area"] = total if geo else float("nan")
        for q, x in zip(PERCENTILES, weighted_quantiles(v, w, [q / 100 for q in PERCENTILES])):
            out[f"{p}_map_p{q}"] = float(x)
        for k, thr in enumerate(list(thresholds.get(p, ()))[:MAX_THRESHOLDS], 1):
            above = known & (v > thr)
            wa = w[above]
            s = float(wa.sum())
            stats = {"threshold": float(thr), "fraction": s / total if total > 0 else float("nan"),
                     "area": s if geo else float("nan")}
            for what, coord in (("east", maps.east), ("north", maps.north), ("col", col), ("row", row)):
                ok = s > 0 and coord is not None
                stats[what] = float((coord[above] * wa).sum() / s) if ok else float("nan")
            for what, x in stats.items():
                out[above_name(p, k, what)] = x
    return out
