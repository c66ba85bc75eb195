"""Radiometric correction benchmark (issue 3): speed against the read floor, and peak memory.

Speed: on a simulated 512×512×200 acquisition, "correcting" is the whole
``correct_bundle(read_bundle(path, lazy=True), ...)`` (reading the bundle lazily, then the
fused read + correction + QC of the water cube), timed against the floor
``read_envi(water.hdr).values`` (reading the water cube into float32), both best of N,
alternating, in one process. The target is a ratio ≤ 1.5. The eager path (correcting an
already loaded bundle, as the runner timed before the fused read) is shown for comparison.

Memory: on a simulated 1024×1024×300 acquisition (whose speed ratio is shown too), a fresh
subprocess imports everything, corrects a tiny cube (so that lazy imports and caches are in
place), resets its peak RSS (``/proc/self/clear_refs``), then reads the bundle lazily and
corrects it. The figure is the increase of the whole process's peak resident set size
(VmHWM) over its RSS just before, divided by the cube's own size as float32 (lines × samples
× bands × 4 bytes). The target is ≤ 2. The peak of numpy/Python allocations seen by
tracemalloc, and the same figures for an eager read + correction, are shown too.

Usage: ``python -m benchmarks.radiometry [--repeat 15] [--workdir DIR] [--threads N]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

SPEED_SHAPE = (512, 512, 200)
MEMORY_SHAPE = (1024, 1024, 300)
LAT, LON = 31.4, 120.18


def make_bundle(workdir: Path, shape: tuple[int, int, int]) -> tuple[Path, Path]:
    """A simulated bundle of ``shape`` (lines, samples, bands) under ``workdir`` (reused)."""
    from hsiwq.simulate.bundle import simulate_bundle

    ny, nx, nb = shape
    root = workdir / f"bundle_{ny}x{nx}x{nb}"
    cal_dir = workdir / f"calibration_{ny}x{nx}x{nb}"
    found = sorted(root.rglob("acquisition.json")) if root.exists() else []
    if found:
        return found[0].parent, cal_dir
    path = simulate_bundle(root, water_type="eutrophic_lake", time="2026-07-01T03:00:00Z",
                           site="taihu-north", sensor="HSI-BENCH", lat=LAT, lon=LON,
                           shape=(ny, nx), n_bands=nb, seed=1, calibration_dir=cal_dir,
                           store_truth_rrs=False)
    return path, cal_dir


def _calibration(path: Path, cal_dir: Path):
    from hsiwq.io.bundle import read_acquisition_meta
    from hsiwq.io.calibration import load_calibrations, select_calibration

    meta = read_acquisition_meta(path)
    return select_calibration(load_calibrations(cal_dir), meta.sensor, meta.time)


def speed(path: Path, cal_dir: Path, repeat: int, threads: int | None = None,
          details: bool = False) -> dict[str, float]:
    """Best-of-``repeat`` seconds of the floor, the lazy correction and the eager one.

    With ``details``, also the lazy correction with the numpy kernel and on one thread.
    """
    from hsiwq.io.bundle import read_bundle
    from hsiwq.io.envi import read_envi
    from hsiwq.radiometry.correct import CorrectionOptions, correct_bundle

    cal = _calibration(path, cal_dir)
    options = CorrectionOptions(threads=threads)
    eager = read_bundle(path)

    def lazy(opts: CorrectionOptions):
        return lambda: correct_bundle(read_bundle(path, lazy=True), cal, lat=LAT, lon=LON,
                                      options=opts)

    runs = {
        "floor": lambda: read_envi(path / "water.hdr", name="water").values,
        "lazy": lazy(options),
        "eager": lambda: correct_bundle(eager, cal, lat=LAT, lon=LON, options=options),
    }
    if details:
        runs["lazy numpy"] = lazy(replace(options, engine="numpy"))
        runs["lazy 1 thread"] = lazy(replace(options, threads=1))
        runs["lazy numpy 1 thread"] = lazy(replace(options, engine="numpy", threads=1))
    best = {name: float("inf") for name in runs}
    for name, fn in runs.items():  # warm up (page cache, imports, memoised sun position)
        fn()
    for _ in range(repeat):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


_MEMORY_CHILD = r"""
import json, sys, tracemalloc
from pathlib import Path

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

path, cal_dir, small, small_cal, lazy, threads = sys.argv[1:7]
from hsiwq.io.bundle import read_bundle
from hsiwq.io.calibration import load_calibrations, select_calibration
from hsiwq.radiometry.correct import CorrectionOptions, correct_bundle

def correct(p, c):
    b = read_bundle(p, lazy=True) if lazy == "1" else read_bundle(p)
    cal = select_calibration(load_calibrations(c), b.meta.sensor, b.meta.time)
    opts = CorrectionOptions(threads=None if threads == "None" else int(threads))
    return correct_bundle(b, cal, lat=31.4, lon=120.18, options=opts)

correct(small, small_cal)  # warm-up: imports, caches, thread start-up
try:
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    reset = True
except OSError:
    reset = False
before = status("VmRSS")
hwm_before = status("VmHWM")
tracemalloc.start()
ds = correct(path, cal_dir)
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"rss_before": before, "hwm_before": hwm_before, "hwm_after": status("VmHWM"),
                  "rss_after": status("VmRSS"), "rss_file_after": status("RssFile"),
                  "hwm_reset": reset, "tracemalloc_peak": traced,
                  "rrs_bytes": int(ds["rrs"].nbytes), "verdict": ds.attrs["verdict"]}))
"""


def memory(path: Path, cal_dir: Path, small: Path, small_cal: Path, *, lazy: bool = True,
           threads: int | None = None) -> dict[str, float]:
    """Peak RSS figures of one correction in a fresh subprocess (see the module docstring)."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(path), str(cal_dir), str(small),
         str(small_cal), "1" if lazy else "0", str(threads)],
        check=True, capture_output=True, text=True)
    fig = json.loads(out.stdout.strip().splitlines()[-1])
    if not fig["hwm_reset"] and fig["hwm_before"] > fig["rss_before"]:
        raise RuntimeError("cannot reset the peak RSS (/proc/self/clear_refs); the figure "
                           "would be a lower bound")
    fig["peak_increase"] = fig["hwm_after"] - fig["rss_before"]
    return fig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15, help="timings are best of this many")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where to keep the simulated bundles (default: a temporary folder)")
    ap.add_argument("--threads", type=int, default=None,
                    help="worker threads of the correction (default: up to 2)")
    ap.add_argument("--skip-memory", action="store_true", help="only the speed figure")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as td:
        work = args.workdir or Path(td)
        work.mkdir(parents=True, exist_ok=True)
        ny, nx, nb = SPEED_SHAPE
        path, cal_dir = make_bundle(work, SPEED_SHAPE)
        t = speed(path, cal_dir, args.repeat, args.threads, details=True)
        threads = "default (up to 2)" if args.threads is None else str(args.threads)
        from hsiwq.radiometry import _fused

        kernel = "numba one-pass" if _fused.kernels() is not None else "numpy (no numba)"
        print(f"hsiwq radiometry benchmark — numpy {np.__version__}, best of {args.repeat}, "
              f"threads {threads}, kernel {kernel}")
        print(f"\n{ny}×{nx}×{nb} uint16 BIL acquisition")
        print(f"  floor: read water cube → float32         {t['floor'] * 1e3:8.1f} ms   1.00")
        print(f"  lazy read_bundle + correct_bundle        {t['lazy'] * 1e3:8.1f} ms "
              f"{t['lazy'] / t['floor']:6.2f}   (target ≤ 1.5)")
        for key, label in (("lazy numpy", "  … with the numpy kernel"),
                           ("lazy 1 thread", "  … on one thread"),
                           ("lazy numpy 1 thread", "  … numpy kernel, one thread")):
            print(f"  {label:40s} {t[key] * 1e3:8.1f} ms {t[key] / t['floor']:6.2f}")
        print(f"  correct_bundle of an eagerly read bundle {t['eager'] * 1e3:8.1f} ms "
              f"{t['eager'] / t['floor']:6.2f}")
        if args.skip_memory:
            return 0
        small, small_cal = make_bundle(work, (16, 16, MEMORY_SHAPE[2]))
        ny, nx, nb = MEMORY_SHAPE
        path, cal_dir = make_bundle(work, MEMORY_SHAPE)
        size = ny * nx * nb * 4
        print(f"\n{ny}×{nx}×{nb} uint16 BIL acquisition, float32 cube = {size / 2**20:.0f} MiB")
        t = speed(path, cal_dir, max(3, args.repeat // 3), args.threads)
        print(f"  floor: read water cube → float32         {t['floor'] * 1e3:8.1f} ms   1.00")
        print(f"  lazy read_bundle + correct_bundle        {t['lazy'] * 1e3:8.1f} ms "
              f"{t['lazy'] / t['floor']:6.2f}")
        for lazy in (True, False):
            m = memory(path, cal_dir, small, small_cal, lazy=lazy, threads=args.threads)
            label = "lazy read + correct" if lazy else "eager read + correct"
            note = "   (target ≤ 2)" if lazy else ""
            print(f"  {label:22s} peak RSS increase {m['peak_increase'] / 2**20:7.0f} MiB "
                  f"= {m['peak_increase'] / size:4.2f} × cube{note}; tracemalloc peak "
                  f"{m['tracemalloc_peak'] / 2**20:6.0f} MiB "
                  f"= {m['tracemalloc_peak'] / size:4.2f} × cube")
    return 0


if __name__ == "__main__":
    sys.exit(main())
