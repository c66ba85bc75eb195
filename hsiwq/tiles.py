"""Correcting a large cube by tiles of lines, in any processes, with the untiled result.

:func:`hsiwq.pipeline.process_bundle` corrects a whole cube in one process and keeps, of it,
the ROI-median Rrs spectrum, the QC counts and the verdict. Most of the correction is per
pixel, but two steps look at the whole scene: the glint test regresses NIR on red-edge over
a subsample of background pixels, and the ROI median is taken over a systematic sample
(every k-th valid pixel in raster order, at most 32,768) of the valid pixels. So a tiled run
goes in two rounds, each tile a pure function of (bundle, calibration, lines):

1. :func:`scan_tile` corrects its lines and returns the compact per-pixel QC inputs of the
   scene tests: flags, the four band averages and the water-test failures (19 bytes a pixel
   against 4 per band for Rrs: 2 % of a 200-band cube).
2. :func:`scene_qc` (the first combine) puts the scans side by side and runs the same
   scene-wide QC as the whole-cube path (:func:`hsiwq.radiometry.correct.finish_scene`):
   ROI, glint regression, non-water, verdict, counts. From the valid mask it picks the
   pixels of the median sample and tells each tile which of its own pixels they are.
3. :func:`tile_spectra` corrects its lines again and returns the Rrs of its sampled pixels.
4. :func:`combine_spectra` (the second combine) concatenates them in raster order and takes
   the band medians: the same pixels, so the same median, as the untiled run.

Nothing holds a whole Rrs cube: a tile's Rrs lives only inside its task. The result equals
:func:`hsiwq.radiometry.correct.correct_bundle` + :func:`hsiwq.pipeline.summarise` exactly
(the per-pixel arithmetic is line-local; the scene steps run on the same inputs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .io.bundle import read_bundle
from .summary import CorrectionSummary, band_medians, median_sample_step
from .radiometry.correct import CorrectionOptions, correct_rows, finish_scene, plan_correction
from .sensor import SensorCalibration

__all__ = ["SceneQC", "TileScan", "check_cube_size", "combine_spectra", "scene_qc", "scan_tile",
           "tile_ranges", "tile_spectra", "cube_bytes"]


@dataclass(frozen=True)
class TileScan:
    """What :func:`scan_tile` returns for lines ``y0:y1``.

    Attributes
    ----------
    y0, y1 : int
    qc : uint16 (lines, x)
        NO_DATA, SATURATED and NEGATIVE_RRS bits.
    products : float32 (lines, x, 4)
        Band averages of the scene tests (:mod:`hsiwq.radiometry.pixelqc`).
    fails : bool (lines, x)
        Pixels failing the spectral water tests.
    pid : int
        Process that corrected the tile (provenance, for tests and logs).
    """

    y0: int
    y1: int
    qc: np.ndarray
    products: np.ndarray
    fails: np.ndarray
    pid: int = field(default_factory=os.getpid)


@dataclass(frozen=True)
class SceneQC:
    """The scene-wide result of :func:`scene_qc`.

    Attributes
    ----------
    attrs : dict
        As :func:`hsiwq.radiometry.correct.correct_bundle`'s attributes.
    wavelength : ndarray
        Kept bands [nm].
    n_valid : int
        Valid pixels.
    samples : list of (int, int, ndarray)
        Per tile (y0, y1, flat indices within the tile of its pixels in the median sample).
    pids : list of int
        Process that scanned each tile, in tile order.
    """

    attrs: dict[str, Any]
    wavelength: np.ndarray
    n_valid: int
    samples: list[tuple[int, int, np.ndarray]]
    pids: list[int] = field(default_factory=list)


def tile_ranges(n_lines: int, tile_rows: int) -> list[tuple[int, int]]:
    """Ranges of lines [y0, y1) of at most ``tile_rows`` lines covering ``n_lines``."""
    step = max(1, int(tile_rows))
    return [(y, min(n_lines, y + step)) for y in range(0, n_lines, step)]


def cube_bytes(bundle_path: str | os.PathLike[str]) -> int:
    """Size of a bundle's water cube data file [bytes] (0 when absent): decides tiling."""
    files = [p for p in Path(bundle_path).glob("water.*") if p.suffix.lower() != ".hdr"]
    return max((p.stat().st_size for p in files if p.is_file()), default=0)


def check_cube_size(bundle: Any, max_mb: float) -> float:
    """The water cube's size as float32 Rrs [MiB]; a BundleError above ``max_mb``.

    Checked from the header before any pixel is read, so that a cube too large for the
    machine is refused with one line instead of a ``MemoryError``.
    """
    from .errors import BundleError

    w = bundle.water
    mb = w.sizes["y"] * w.sizes["x"] * w.sizes["wavelength"] * 4 / 2**20
    if mb > max_mb:
        raise BundleError(Path(bundle.path) / "water.hdr",
                          f"cube of {w.sizes['y']:,} lines x {w.sizes['x']:,} samples x "
                          f"{w.sizes['wavelength']:,} bands is {mb:,.0f} MiB as float32, above "
                          f"[processing] max_cube_mb = {max_mb:g} (a larger limit lets it be "
                          "corrected by tiles)")
    return mb


def _plan(bundle_path: str | os.PathLike[str], calibration: SensorCalibration,
          lat: float | None, lon: float | None, options: CorrectionOptions):
    bundle = read_bundle(bundle_path, lazy=True)
    return plan_correction(bundle, calibration, lat=lat, lon=lon, options=options)


def _tile_options(options: CorrectionOptions | None) -> CorrectionOptions:
    """One thread per tile: the parallelism is across tiles (processes)."""
    o = options or CorrectionOptions()
    return o if o.threads == 1 else CorrectionOptions(**{**o.__dict__, "threads": 1})


def scan_tile(bundle_path: str | os.PathLike[str], calibration: SensorCalibration, y0: int,
              y1: int, *, lat: float | None = None, lon: float | None = None,
              options: CorrectionOptions | None = None) -> TileScan:
    """Correct lines ``y0:y1`` of a bundle's cube; their scene-test inputs (round 1).

    Parameters
    ----------
    bundle_path : path
        The (local) bundle folder.
    calibration : SensorCalibration
        The calibration that applies (as selected for the whole bundle).
    y0, y1 : int
        Lines of the tile.
    lat, lon : float, optional
        The site's position (used when the bundle has none).
    options : CorrectionOptions, optional
        As for :func:`hsiwq.radiometry.correct.correct_bundle`; run with one thread.
    """
    opts = _tile_options(options)
    plan = _plan(bundle_path, calibration, lat, lon, opts)
    _, qc, prod, fails = correct_rows(plan, y0, y1, options=opts)
    return TileScan(y0, y1, qc, np.ascontiguousarray(prod), fails)


def scene_qc(bundle_path: str | os.PathLike[str], calibration: SensorCalibration,
             scans: list[TileScan], *, lat: float | None = None, lon: float | None = None,
             roi: Any = None, options: CorrectionOptions | None = None) -> SceneQC:
    """Scene-wide QC from the tiles' scans, and the median sample of each tile (combine 1).

    The scans must cover the cube's lines (any order; they are sorted by ``y0``).
    """
    opts = _tile_options(options)
    plan = _plan(bundle_path, calibration, lat, lon, opts)
    scans = sorted(scans, key=lambda s: s.y0)
    ny = plan.shape[0]
    covered = [(s.y0, s.y1) for s in scans]
    if (not covered or covered[0][0] != 0 or covered[-1][1] != ny
            or any(a[1] != b[0] for a, b in zip(covered, covered[1:]))):
        raise ValueError(f"tiles {covered} do not cover lines 0:{ny} exactly once")
    qc = np.concatenate([s.qc for s in scans])
    prod = np.concatenate([s.products for s in scans])
    fails = np.concatenate([s.fails for s in scans])
    qc, valid, attrs = finish_scene(plan, qc, prod, fails, roi)
    n_valid = int(np.count_nonzero(valid))
    step = median_sample_step(n_valid)
    samples, seen = [], 0
    for s in scans:
        idx = np.flatnonzero(valid[s.y0:s.y1])  # raster order within the tile
        # global valid index seen + i is sampled when it is a multiple of the step
        samples.append((s.y0, s.y1, idx[(-seen) % step::step]))
        seen += idx.size
    return SceneQC(attrs=attrs, wavelength=plan.wavelength, n_valid=n_valid, samples=samples,
                   pids=[s.pid for s in scans])


def tile_spectra(bundle_path: str | os.PathLike[str], calibration: SensorCalibration, y0: int,
                 y1: int, index: np.ndarray, *, lat: float | None = None,
                 lon: float | None = None, options: CorrectionOptions | None = None) -> np.ndarray:
    """Rrs of the tile's pixels ``index`` (flat, within lines ``y0:y1``), (n, bands) (round 2)."""
    opts = _tile_options(options)
    plan = _plan(bundle_path, calibration, lat, lon, opts)
    nb = plan.wavelength.size
    if len(index) == 0:
        return np.empty((0, nb), dtype=np.float32)
    rrs, _, _, _ = correct_rows(plan, y0, y1, options=opts)
    ys, xs = np.unravel_index(np.asarray(index), rrs.shape[:2])
    return np.ascontiguousarray(rrs[ys, xs])


def combine_spectra(scene: SceneQC, parts: list[np.ndarray]) -> CorrectionSummary:
    """The ROI-median spectrum from the tiles' sampled pixels, in tile order (combine 2)."""
    nb = scene.wavelength.size
    pixels = np.concatenate(parts) if parts else np.empty((0, nb), dtype=np.float32)
    spectrum = band_medians(pixels) if pixels.shape[0] else np.full(nb, np.nan, dtype="float32")
    return CorrectionSummary(attrs=scene.attrs, wavelength=scene.wavelength,
                             n_valid=scene.n_valid, rrs_median=spectrum)


def correct_tiled_serial(bundle_path: str | os.PathLike[str], calibration: SensorCalibration,
                         tile_rows: int, *, lat: float | None = None, lon: float | None = None,
                         roi: Any = None, options: CorrectionOptions | None = None,
                         ) -> CorrectionSummary:
    """All the rounds in this process, one tile after another (reference and tests)."""
    ny = read_bundle(bundle_path, lazy=True).water.sizes["y"]
    scans = [scan_tile(bundle_path, calibration, a, b, lat=lat, lon=lon, options=options)
             for a, b in tile_ranges(ny, tile_rows)]
    scene = scene_qc(bundle_path, calibration, scans, lat=lat, lon=lon, roi=roi, options=options)
    parts = [tile_spectra(bundle_path, calibration, a, b, idx, lat=lat, lon=lon, options=options)
             for a, b, idx in scene.samples if len(idx)]
    return combine_spectra(scene, parts)
