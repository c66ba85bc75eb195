"""Benchmark runner: the chain stage by stage, as ratios to a floor measured in the same process.

The floor is reading the water cube into float32 (what any processing must at least do).
Usage: ``python -m benchmarks.run [--sizes 256 512] [--bands 200] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_chain(size: int, bands: int, repeat: int, tmp: Path) -> list[tuple[str, float]]:
    """Seconds per stage of the chain on one simulated size × size × bands acquisition."""
    from hsiwq.config import load_config
    from hsiwq.io.bundle import read_bundle
    from hsiwq.io.calibration import load_calibrations, select_calibration
    from hsiwq.io.envi import read_envi
    from hsiwq.alerts.service import after_write
    from hsiwq.pipeline import _record, summarise
    from hsiwq.radiometry.correct import correct_bundle
    from hsiwq.simulate.bundle import simulate_bundle
    from hsiwq.store import SiteStore
    from hsiwq.workspace import Workspace

    cal_dir = tmp / f"cal{size}"
    bundle_dir = simulate_bundle(tmp / f"b{size}", water_type="eutrophic_lake",
                                 time="2026-07-01T03:00:00Z", site="taihu-north", sensor="HSI-BENCH",
                                 lat=31.4, lon=120.18, shape=(size, size), n_bands=bands, seed=1,
                                 calibration_dir=cal_dir)
    config, _ = load_config(None)
    site = config.sites["taihu-north"]
    ws = Workspace(tmp / f"ws{size}")
    floor = _best(lambda: read_envi(bundle_dir / "water.hdr", name="water").values, repeat)
    bundle = read_bundle(bundle_dir)
    cal = select_calibration(load_calibrations(cal_dir), bundle.meta.sensor, bundle.meta.time)
    stages = [("floor: read water cube → float32", floor),
              ("(eager read of the whole bundle)", _best(lambda: read_bundle(bundle_dir), repeat))]
    # as process_bundle does it: a lazy read, then the fused read + correction of the cube
    def correct():
        return correct_bundle(read_bundle(bundle_dir, lazy=True), cal, lat=site.lat, lon=site.lon)

    corrected = correct()
    stages.append(("lazy read + radiometric correction + QC", _best(correct, repeat)))
    retrieval, spectrum = summarise(corrected, site.region, ws)
    stages.append(("retrieval + ROI statistics",
                   _best(lambda: summarise(corrected, site.region, ws), repeat)))
    store = SiteStore(ws.store_path(site.id))
    record = _record(bundle.meta.time, corrected, retrieval, True, spectrum, bundle.meta.ancillary)
    stages.append(("store write (one record)", _best(lambda: store.write(record), repeat)))
    stages.append(("alert evaluation + delivery",
                   _best(lambda: after_write(site, config, ws, record), repeat)))
    return stages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--bands", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--suite", nargs="+", default=["chain"],
                    choices=["chain", "radiometry", "store", "alerts", "models", "coverage", "serve", "maps", "all"],
                    help="what to run; each suite is also runnable as python -m benchmarks.<suite>")
    args = ap.parse_args(argv)
    suites = ({"chain", "radiometry", "store", "alerts", "models", "coverage", "serve", "maps"} if "all" in args.suite
              else set(args.suite))
    # serve: 20 sites, 120 acquisitions/min for 10 min through a local server and two workers
    # coverage: the 68 % interval's coverage over 4 independent calibrations per water type
    # maps: the chain with parameter maps against the chain without, 256 × 256 × 200
    for name in ("radiometry", "store", "alerts", "models", "coverage", "serve", "maps"):
        if name in suites:
            print(f"\n=== benchmarks.{name} ===", flush=True)
            __import__(f"benchmarks.{name}", fromlist=["main"]).main([])
    if "chain" not in suites:
        return 0
    print(f"hsiwq benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"numpy {np.__version__}, best of {args.repeat}")
    with tempfile.TemporaryDirectory() as td:
        for size in args.sizes:
            stages = bench_chain(size, args.bands, args.repeat, Path(td))
            floor = stages[0][1]
            print(f"\n{size}×{size}×{args.bands} acquisition")
            print(f"{'stage':40s} {'seconds':>9s} {'× floor':>8s}")
            for name, secs in stages:
                print(f"{name:40s} {secs:9.4f} {secs / floor:8.2f}")
            total = sum(s for n, s in stages[2:])  # the lazy read is inside the correction stage
            print(f"{'whole chain':40s} {total:9.4f} {total / floor:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
