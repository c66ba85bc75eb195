"""A store writer for the fault tests: writes records in a loop and reports each one done.

Usage: ``python -m tests.store_child ROOT OPTIONS_JSON FIRST STEP COUNT [REWRITE_EVERY]``.
Record ``i`` (``i = FIRST, FIRST+STEP, ...``) has time ``T0 + i`` minutes and version ``v``;
every value of it derives from ``(i, v)`` so that a torn record is detectable. Every
``REWRITE_EVERY``-th write re-writes an earlier time with a higher version (a re-delivery).
After ``write`` returns the child prints ``done <i> <v>`` (flushed). Maintenance (fold and
compaction) is made frequent so that kills land inside it too.
"""

from __future__ import annotations

import json
import sys
import warnings
from datetime import datetime, timedelta, timezone

import numpy as np

warnings.simplefilter("ignore")

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=timezone.utc)  # crosses a month: two parts
WL = np.linspace(400, 900, 41)


def record(i: int, version: int):
    from hsiwq.store import Record

    x = float(i) + version / 1000.0
    return Record(T0 + timedelta(minutes=i),
                  {"chl_a": x, "chl_a_lo": x - 1, "chl_a_hi": x + 1, "tss": 2 * x,
                   "wind_speed_ms": version},
                  {"verdict": "accepted" if version % 2 == 0 else "rejected",
                   "chl_a_model": f"v{version}"},
                  rrs=np.full(WL.size, x / 1000.0), wavelength=WL)


def main(argv: list[str]) -> None:
    from hsiwq.store import Policy, SiteStore

    root, options, first, step, count = argv[0], json.loads(argv[1]), *map(int, argv[2:5])
    rewrite_every = int(argv[5]) if len(argv) > 5 else 0
    store = SiteStore(root, options or None,
                      policy=Policy(maintain_probability=0.25, fold_min=3, compact_segments=3))
    versions: dict[int, int] = {}
    done = []
    n = 0
    for k in range(count):
        i = first + k * step
        targets = [i]
        if rewrite_every and done and n % rewrite_every == 0:
            targets.append(done[len(done) // 2])
        for t in targets:
            v = versions.get(t, -1) + 1
            store.write(record(t, v))
            versions[t] = v
            n += 1
            print(f"done {t} {v}", flush=True)
        done.append(i)


if __name__ == "__main__":
    main(sys.argv[1:])
