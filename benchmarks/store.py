"""Store benchmark: a year of minute data for one site, then appends, reads and bytes.

Usage: ``python -m benchmarks.store [--months 12] [--bands 200] [--repeat 5] [--layouts]``;
``python -m benchmarks.store --checksums`` measures only what the store's checksums cost.

The year (525,600 records) is bulk-loaded month by month through the store's own API
(``SiteStore.write_batch`` of a columnar batch, then ``compact``), not by 525,600 appends.
Data are synthetic but shaped like the pipeline's: all quantities and labels of a record, a
smooth ROI spectrum with noise, and night-time acquisitions rejected (parameters NaN).
Times are best-of-N (2 shared CPU cores); appends also report median, p99 and max.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def _best(fn, repeat: int, clock=time.perf_counter) -> float:
    out = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return min(out)


def month_batch(start: np.datetime64, end: np.datetime64, bands: int, rng: np.random.Generator):
    """Synthetic minute records of [start, end) as a Batch."""
    from hsiwq.params import PARAMETERS
    from hsiwq.store import LABELS, QUANTITIES, Batch

    t = np.arange(start, end, np.timedelta64(1, "m"))
    n = t.size
    secs = t.astype("datetime64[s]").astype("int64")
    day = (secs % 86400) / 86400.0
    sun = np.cos(2 * np.pi * (day - 0.5 + 120.18 / 360))  # > 0 in daytime at 120°E
    accepted = sun > 0.1
    values = {}
    base = 20 + 10 * np.sin(2 * np.pi * secs / (86400 * 9.0))
    for j, pid in enumerate(PARAMETERS):
        v = base * (0.05 + 0.1 * j) * rng.lognormal(0, 0.05, n)
        v[~accepted] = np.nan
        values[pid], values[f"{pid}_lo"], values[f"{pid}_hi"] = v, v * 0.8, v * 1.25
        values[f"{pid}_ood"] = np.where(accepted, (rng.random(n) < 0.02).astype(float), np.nan)
    for q in QUANTITIES:
        if q not in values:
            values[q] = np.where(accepted, rng.normal(1.0, 0.1, n), rng.normal(0.2, 0.01, n))
    values["processed_at"] = secs + 20.0 + rng.random(n)
    labels = {k: np.where(accepted, "saa-lee1999:taihu", "") for k in LABELS if k.endswith("_model")}
    labels["verdict"] = np.where(accepted, "accepted", "rejected")
    labels["reason"] = np.where(accepted, "", "sun zenith 84.2° > 75°")
    labels["model_version"] = np.full(n, "chl_a=saa-lee1999:taihu;turbidity=dogliotti2015")
    labels["sky_condition"] = np.where(rng.random(n) < 0.3, "cloudy", "clear")
    labels["rho_method"] = np.full(n, "mobley1999")
    wl = np.linspace(400, 900, bands)
    shape = np.exp(-((wl - 560) / 60) ** 2) * 0.02 + 0.002
    rrs = (shape[None, :] * rng.lognormal(0, 0.2, (n, 1)) + rng.normal(0, 2e-5, (n, bands)))
    rrs[~accepted] = np.nan
    return Batch.from_arrays(secs, 1, values, labels, rrs=rrs.astype("float32"), wavelength=wl)


def one_record(i: int, bands: int):
    from datetime import timedelta

    from hsiwq.store import LABELS, QUANTITIES, Record

    return Record(datetime(2027, 1, 1, 4, tzinfo=timezone.utc) + timedelta(minutes=i),
                  {q: 1.0 + i for q in QUANTITIES}, {k: "saa-lee1999:taihu" for k in LABELS},
                  rrs=np.full(bands, 0.01, "float32"), wavelength=np.linspace(400, 900, bands))


def _append_s(store, minutes: range, bands: int) -> np.ndarray:
    """Seconds taken by each ``write`` of :func:`one_record` for ``minutes``."""
    times = []
    for i in minutes:
        rec = one_record(i, bands)
        t0 = time.perf_counter()
        store.write(rec)
        times.append(time.perf_counter() - t0)
    return np.array(times)


def build_year(root: Path, months: int, bands: int, layout=None) -> tuple[float, int]:
    """Bulk-load ``months`` of minute data; returns (seconds, rows)."""
    from hsiwq.store import Policy, SiteStore

    store = SiteStore(root, policy=Policy(maintain_probability=0), layout=layout)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    rows = 0
    start = np.datetime64("2026-01-01T00:00")
    for m in range(months):
        end = (start.astype("datetime64[M]") + 1).astype("datetime64[m]")
        batch = month_batch(start, end, bands, rng)
        rows += len(batch)
        store.write_batch(batch)
        store.compact()
        start = end
    return time.perf_counter() - t0, rows


def bench(root: Path, months: int, bands: int, repeat: int) -> dict:
    from hsiwq.store import LABELS, QUANTITIES, Policy, SiteStore

    out: dict = {}
    out["build_s"], out["rows"] = build_year(root, months, bands)
    store = SiteStore(root, policy=Policy(maintain_probability=0))
    st = store.stats()
    per_row = len(QUANTITIES) + len(LABELS) + bands
    out["bytes"] = st["bytes"]
    out["bytes_per_value"] = st["bytes"] / (out["rows"] * per_row)
    out["values_per_record"] = per_row
    # bytes per area: columns vs spectra
    parts = root / "parts"
    rrs_bytes = sum(f.stat().st_size for f in parts.glob("*/rrs/**/*") if f.is_file())
    out["bytes_per_rrs_value"] = rrs_bytes / (out["rows"] * bands)
    out["bytes_per_column_value"] = (st["bytes"] - rrs_bytes) / (out["rows"] * (per_row - bands))
    # read one parameter for the year (compacted store)
    read = lambda: store.read(quantities=["chl_a"], with_rrs=False, labels=[])  # noqa: E731
    assert read().sizes["time"] == out["rows"]
    out["read_param_year_s"] = _best(read, repeat)
    out["read_param_year_with_labels_s"] = _best(
        lambda: store.read(quantities=["chl_a"], with_rrs=False), repeat)
    # appends (pure write path, no maintenance), best and distribution
    ms = _append_s(store, range(200), bands) * 1000
    out["append_ms_best"], out["append_ms_median"] = float(ms.min()), float(np.median(ms))
    out["append_ms_p99"], out["append_ms_max"] = float(np.percentile(ms, 99)), float(ms.max())
    # read with a 200-entry journal pending (worst case before maintenance)
    out["read_param_year_journal200_s"] = _best(read, repeat)
    # appends with the default policy (the write path folds and compacts by itself)
    ms = _append_s(SiteStore(root), range(200, 3200), bands) * 1000
    out["auto_append_ms_median"], out["auto_append_ms_mean"] = float(np.median(ms)), float(ms.mean())
    out["auto_append_ms_p99"], out["auto_append_ms_max"] = float(np.percentile(ms, 99)), float(ms.max())
    out["read_param_year_after_auto_s"] = _best(read, repeat)
    t0 = time.perf_counter()
    store.compact()
    out["compact_recent_s"] = time.perf_counter() - t0
    out["read_param_year_compacted_s"] = _best(read, repeat)
    assert read().sizes["time"] == out["rows"] + 3200
    return out


def layout_study(tmp: Path, bands: int, repeat: int) -> list[tuple[str, dict]]:
    """One month under several chunkings/compressors: write, read one column, bytes."""
    from hsiwq.store import Layout, Policy, SiteStore

    rng = np.random.default_rng(2)
    batch = month_batch(np.datetime64("2026-07-01T00:00"), np.datetime64("2026-08-01T00:00"), bands, rng)
    rows = []
    for name, layout in [("1-D chunk 8192, zstd 3", Layout(time_chunk=8192)),
                         ("1-D chunk 65536, zstd 3 (default)", Layout()),
                         ("1-D chunk 65536, lz4 5", Layout(cname="lz4", clevel=5)),
                         ("1-D chunk 65536, zstd 7", Layout(clevel=7)),
                         ("rrs chunk 1024 rows", Layout(rrs_chunk=1024)),
                         ("rrs chunk 16384 rows", Layout(rrs_chunk=16384))]:
        root = tmp / f"layout{len(rows)}.zarr"
        store = SiteStore(root, policy=Policy(maintain_probability=0), layout=layout)
        store.write_batch(batch)
        t0 = time.perf_counter()
        store.compact()
        write_s = time.perf_counter() - t0
        st = store.stats()
        rrs_bytes = sum(f.stat().st_size for f in (root / "parts").glob("*/rrs/**/*") if f.is_file())
        read_s = _best(lambda: store.read(quantities=["chl_a"], with_rrs=False, labels=[]), repeat)
        rrs_s = _best(lambda: store.read(start="2026-07-15T00:00:00Z", end="2026-07-15T00:10:00Z",
                                         quantities=["chl_a"], labels=[]), repeat)
        rows.append((name, {"compact_s": write_s, "read_month_s": read_s, "read_10min_rrs_s": rrs_s,
                            "column_B_per_value": (st["parts_bytes"] - rrs_bytes) / (len(batch) * 89),
                            "rrs_B_per_value": rrs_bytes / (len(batch) * bands)}))
        shutil.rmtree(root)
    return rows


def _checksums_off():
    """A context in which CRC-32C costs nothing (a constant): the baseline of
    :func:`checksum_cost` (same objects written and read, no checksum computed)."""
    from contextlib import ExitStack
    from unittest import mock

    from hsiwq.store import batch, integrity

    stack = ExitStack()
    for module in (batch, integrity):
        stack.enter_context(mock.patch.object(module, "crc32c", lambda data: 0))
    return stack


def checksum_cost(tmp: Path, bands: int, repeat: int, pairs: int = 3) -> list[tuple[str, float, float]]:
    """CPU seconds (``time.process_time``: what checksums cost, little disturbed by other
    processes on a shared machine) of each step with and without checksums, interleaved
    ``pairs`` times in the same process, best of each: compaction of a month, reads of it,
    appends, a read through 200 journal entries; plus ``store-info --verify`` and the bare
    CRC-32C of the month's part bytes."""
    from hsiwq.store import Policy, SiteStore
    from hsiwq.store.fsck import verify
    from hsiwq.store.integrity import crc32c

    cpu = time.process_time
    rng = np.random.default_rng(3)
    batch = month_batch(np.datetime64("2026-07-01T00:00"), np.datetime64("2026-08-01T00:00"), bands, rng)
    timings: dict[str, dict[bool, float]] = {}
    for run, checks in enumerate((True, False) * pairs):  # interleaved: drifts hit both
        root = tmp / f"crc{run}.zarr"
        with (_checksums_off() if not checks else _null()):
            store = SiteStore(root, policy=Policy(maintain_probability=0))

            def build(store=store):
                store.write_batch(batch)
                store.compact(full=True)

            read_col = lambda: store.read(quantities=["chl_a"], with_rrs=False, labels=[])  # noqa: E731
            got = {"compact a month (44,640 rows, 200 bands)": _best(build, 1, cpu),
                   "read one column of the month": _best(read_col, repeat, cpu),
                   "read the whole month with spectra": _best(lambda: store.read(), 1, cpu)}
            t0 = cpu()
            _append_s(store, range(200), bands)
            got["append one record (mean of 200)"] = (cpu() - t0) / 200
            got["read one column through 200 journal entries"] = _best(read_col, repeat, cpu)
            if checks:
                got["store-info --verify of the store"] = _best(lambda: verify(store), 1, cpu)
                blobs = [f.read_bytes() for f in (root / "parts").rglob("*") if f.is_file()]
                got[f"bare CRC-32C of the part ({sum(map(len, blobs)) / 1e6:.1f} MB)"] = _best(
                    lambda: [crc32c(b) for b in blobs], repeat, cpu)
        for k, v in got.items():
            slot = timings.setdefault(k, {})
            slot[checks] = min(v, slot.get(checks, np.inf))
        shutil.rmtree(root)
    return [(k, v[True], v.get(False, np.nan)) for k, v in timings.items()]


def _null():
    from contextlib import nullcontext

    return nullcontext()


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--bands", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--layouts", action="store_true", help="also compare chunkings on one month")
    ap.add_argument("--dir", help="work folder (default: a temporary one)")
    ap.add_argument("--checksums", action="store_true",
                    help="only the cost of checksums: each step with and without them")
    args = ap.parse_args(argv)
    if args.checksums:
        print(f"hsiwq store checksum cost — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
              f"one month of minute data, {args.bands} bands, CPU seconds, best of 3 "
              "interleaved runs with and without checksums")
        with tempfile.TemporaryDirectory(dir=args.dir) as td:
            print(f"{'step':48s} {'with':>9s} {'without':>9s} {'ratio':>6s}")
            for name, on, off in checksum_cost(Path(td), args.bands, args.repeat):
                print(f"{name:48s} {on:9.4f} {off:9.4f} {on / off if off == off else float('nan'):6.2f}")
        return 0
    print(f"hsiwq store benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, "
          f"{args.months} months of minute data, {args.bands} bands, best of {args.repeat}")
    with tempfile.TemporaryDirectory(dir=args.dir) as td:
        r = bench(Path(td) / "site.zarr", args.months, args.bands, args.repeat)
        print(f"\nbulk load: {r['rows']} records in {r['build_s']:.1f} s "
              f"({r['values_per_record']} values per record)")
        print(f"bytes on disk: {r['bytes'] / 1e6:.1f} MB = {r['bytes_per_value']:.3f} B per stored value "
              f"(spectra {r['bytes_per_rrs_value']:.3f}, other columns {r['bytes_per_column_value']:.3f})")
        print(f"read one parameter for the year: {r['read_param_year_s']:.3f} s "
              f"(with verdict/reason/model labels {r['read_param_year_with_labels_s']:.3f} s)")
        print(f"append one acquisition: best {r['append_ms_best']:.2f} ms, median {r['append_ms_median']:.2f}, "
              f"p99 {r['append_ms_p99']:.2f}, max {r['append_ms_max']:.2f} ms (no maintenance)")
        print(f"read with 200 journal entries pending: {r['read_param_year_journal200_s']:.3f} s")
        print(f"append, default policy (folds/compacts itself), 3000 appends: median "
              f"{r['auto_append_ms_median']:.2f} ms, mean {r['auto_append_ms_mean']:.2f}, "
              f"p99 {r['auto_append_ms_p99']:.2f}, max {r['auto_append_ms_max']:.1f} ms")
        print(f"read after those appends: {r['read_param_year_after_auto_s']:.3f} s; compaction "
              f"{r['compact_recent_s']:.2f} s; read after it {r['read_param_year_compacted_s']:.3f} s")
        if args.layouts:
            print("\nlayout study, one month (44,640 records):")
            print(f"{'layout':36s} {'compact s':>9s} {'read col s':>10s} {'10-min rrs s':>12s} "
                  f"{'col B/val':>9s} {'rrs B/val':>9s}")
            for name, x in layout_study(Path(td), args.bands, args.repeat):
                print(f"{name:36s} {x['compact_s']:9.2f} {x['read_month_s']:10.4f} "
                      f"{x['read_10min_rrs_s']:12.4f} {x['column_B_per_value']:9.3f} "
                      f"{x['rrs_B_per_value']:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
