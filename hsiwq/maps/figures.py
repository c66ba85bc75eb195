"""Pictures of parameter maps: one map with its colour bar, the ROI outline and the threshold
contour, and a strip of a day's maps (matplotlib's object API, no pyplot)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib import colors as mcolors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..params import PARAMETERS

ROI_COLOUR = "#ffffff"
CONTOUR_COLOUR = "#e8112d"


def _extent(ds: xr.Dataset) -> tuple[float, float, float, float]:
    """Image-pixel extent (left, right, bottom, top) of the cell grid."""
    b = int(ds.attrs.get("block_pixels", 1))
    return (0.0, ds.sizes["x"] * b, ds.sizes["y"] * b, 0.0)


def draw_map(fig: Figure, ax, ds: xr.Dataset, param: str, scale: tuple[float, float, str], *,
             roi: Sequence | None = None, thresholds: Sequence[float] = (), colorbar: bool = True,
             title: str | None = None):
    """Draw one parameter map in image coordinates (pixels; line 0 at the top).

    Parameters
    ----------
    fig, ax : matplotlib Figure and Axes
    ds : xarray.Dataset
        A map dataset (:func:`hsiwq.maps.dataset.to_dataset`).
    param : str
        Parameter id.
    scale : (float, float, str)
        Colour range [unit] (log scale) and colour map name.
    roi : sequence of polygons, optional
        The site's region of interest (``[x, y]`` vertices in pixels), outlined in white.
    thresholds : sequence of float
        Values outlined by a red contour (e.g. the extent rules' thresholds).
    colorbar : bool
        Add a labelled colour bar.
    title : str, optional

    Returns
    -------
    The image artist.
    """
    vmin, vmax, cmap = scale
    v = ds[param].values.astype(float)
    ax.set_facecolor("#d9d9d9")  # no data
    im = ax.imshow(np.ma.masked_invalid(np.clip(v, vmin, vmax)), cmap=cmap,
                   norm=mcolors.LogNorm(vmin, vmax), extent=_extent(ds), interpolation="nearest")
    lines, samples = ds.attrs.get("image_lines"), ds.attrs.get("image_samples")
    if lines and samples:
        ax.set_xlim(0, samples)
        ax.set_ylim(lines, 0)
    for poly in roi or ():
        pts = np.asarray(poly, float)
        if pts.ndim == 2 and len(pts) >= 3:
            closed = np.vstack([pts, pts[:1]])
            ax.plot(closed[:, 0], closed[:, 1], color=ROI_COLOUR, lw=2.0, ls="--")
    finite = np.isfinite(v)
    for thr in thresholds:
        if finite.sum() >= 4 and np.nanmin(v) < thr < np.nanmax(v):
            ax.contour(ds["x"].values, ds["y"].values, np.where(finite, v, np.nanmin(v)),
                       levels=[thr], colors=CONTOUR_COLOUR, linewidths=2.0)
    ax.set_xticks([])
    ax.set_yticks([])
    p = PARAMETERS[param]
    if title is not None:
        ax.set_title(title, fontsize=12, loc="left")
    if colorbar:
        cb = fig.colorbar(im, ax=ax, shrink=0.9, pad=0.02)
        cb.set_label(f"{param} [{p.unit}]", fontsize=12)
        cb.ax.tick_params(labelsize=11)
    return im


def map_figure(ds: xr.Dataset, param: str, scale: tuple[float, float, str], *,
               roi: Sequence | None = None, thresholds: Sequence[float] = (),
               width: float = 5.4, dpi: int = 120) -> Figure:
    """One parameter map with colour bar, ROI outline, threshold contour and a caption."""
    lines = ds.attrs.get("image_lines") or ds.sizes["y"]
    samples = ds.attrs.get("image_samples") or ds.sizes["x"]
    fig = Figure(figsize=(width, width * lines / samples * 0.82 + 0.6), dpi=dpi,
                 layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    when = str(ds["time"].values)[:16].replace("T", " ")
    draw_map(fig, ax, ds, param, scale, roi=roi, thresholds=thresholds,
             title=f"{param} · {when} UTC")
    notes = []
    if "camera_height_above_water_m" in ds.attrs:
        notes.append(f"camera {ds.attrs['camera_height_above_water_m']:.1f} m above the water")
    if thresholds:
        notes.append("red: " + ", ".join(f"{t:g}" for t in thresholds) + f" {PARAMETERS[param].unit}")
    if roi:
        notes.append("dashed: ROI")
    if notes:
        ax.set_xlabel("\n".join(notes), fontsize=10.5)
    return fig


def strip_figure(datasets: list[xr.Dataset], param: str, scale: tuple[float, float, str], *,
                 max_maps: int = 8, width: float = 10.8, dpi: int = 120) -> Figure:
    """A day's maps side by side (evenly picked, at most ``max_maps``), one colour bar."""
    if len(datasets) > max_maps:
        pick = np.unique(np.linspace(0, len(datasets) - 1, max_maps).round().astype(int))
        datasets = [datasets[i] for i in pick]
    n = max(len(datasets), 1)
    fig = Figure(figsize=(width, width / n * 1.05 + 0.9), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, n))
    im = None
    for ax, ds in zip(axes, datasets):
        im = draw_map(fig, ax, ds, param, scale, colorbar=False,
                      title=str(ds["time"].values)[11:16])
    if im is not None:
        cb = fig.colorbar(im, ax=list(axes), shrink=0.9, pad=0.01)
        cb.set_label(f"{param} [{PARAMETERS[param].unit}]", fontsize=12)
    return fig


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG."""
    fig.savefig(path, format="png", metadata={"Software": None})
    return Path(path)
