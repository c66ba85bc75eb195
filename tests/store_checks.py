"""Helpers of the store's fault tests: run writer children, check what they reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from hsiwq.store import SiteStore

from .store_child import T0, WL

ROOT = Path(__file__).resolve().parent.parent


def start_writer(root: str, options: dict | None, first: int, step: int, count: int,
                 rewrite_every: int = 0) -> subprocess.Popen:
    """A writer child (see tests/store_child.py) with its stdout piped."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "tests.store_child", str(root),
                             json.dumps(options or {}), str(first), str(step), str(count),
                             str(rewrite_every)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=env)


def reported(stdout: str) -> dict[int, int]:
    """Highest version reported done per record index."""
    out: dict[int, int] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "done":
            i, v = int(parts[1]), int(parts[2])
            out[i] = max(v, out.get(i, -1))
    return out


def audit(store: SiteStore, done: dict[int, int]) -> dict[str, int]:
    """Lost, torn and duplicated records of a store against what writers reported done."""
    ds = store.read(quantities=["chl_a", "chl_a_lo", "chl_a_hi", "tss", "wind_speed_ms"],
                    labels=["verdict", "chl_a_model"], with_rrs=True)
    t = ds["time"].values
    minutes = ((t - np.datetime64(T0.replace(tzinfo=None))) // np.timedelta64(1, "m")).astype(int)
    version = ds["wind_speed_ms"].values.astype(int)
    x = minutes + version / 1000.0
    ok = (np.isclose(ds["chl_a"].values, x, rtol=1e-6)
          & np.isclose(ds["chl_a_lo"].values, x - 1, rtol=1e-6)
          & np.isclose(ds["chl_a_hi"].values, x + 1, rtol=1e-6)
          & np.isclose(ds["tss"].values, 2 * x, rtol=1e-6)
          & (ds["verdict"].values == np.where(version % 2 == 0, "accepted", "rejected"))
          & (ds["chl_a_model"].values == np.array([f"v{v}" for v in version], dtype=object))
          & np.isclose(ds["rrs"].values, (x / 1000.0)[:, None], rtol=1e-6).all(axis=1))
    stored = dict(zip(minutes.tolist(), version.tolist()))
    lost = sum(1 for i, v in done.items() if stored.get(i, -1) < v)
    assert ds.sizes["wavelength"] == WL.size
    return {"records": int(t.size), "done": len(done), "lost": lost,
            "torn": int((~ok).sum()), "duplicated": int(t.size - np.unique(t).size),
            "unordered": int((np.diff(t.astype("int64")) <= 0).sum())}
