"""Parameter maps of a site, beside its time series, in bounded size.

Layout under the site's store root (objects written with the store's object API, so they
are atomic and work on object storage too):

```
maps/full/<YYYY-MM-DD>/<t>_<stamp>.map      one acquisition's maps at block resolution
maps/spectra/<YYYY-MM-DD>/<t>_<stamp>.map   its block-median Rrs (for reprocessing)
maps/daily/<YYYY-MM-DD>_<stamp>.map         a past day's maps, coarsened, in one object
```

``<t>`` is the acquisition time [s since 1970-01-01 UTC] and ``<stamp>`` the write time [ns]:
for each acquisition time the newest stamp wins, as in the series. :meth:`MapStore.retain`
bounds the size: maps older than ``full_days`` are averaged over ``coarsen`` × ``coarsen``
cells into one object per day, those older than ``keep_days`` are deleted, and block spectra
older than ``spectra_days`` are deleted.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from .batch import epoch_seconds, pack, unpack
from .objects import ObjectStore

FULL, SPECTRA, DAILY = "maps/full/", "maps/spectra/", "maps/daily/"
#: Per-cell arrays of a map object besides the parameter stack.
CELL_ARRAYS = ("n_valid", "water_area", "east", "north")


@dataclass
class StoredMaps:
    """Maps of one or more acquisitions as stored (arrays with a leading time axis).

    Attributes
    ----------
    time : ndarray of int64
        Acquisition times [s since 1970-01-01 UTC].
    params : list of str
        Parameter ids (axis 1 of ``values``, ``lo``, ``hi``, ``ood``).
    values, lo, hi, ood : ndarray of float32
        Shape (n_time, n_params, ny, nx).
    cells : dict of str to ndarray
        ``n_valid``, and with geometry ``water_area`` [m²], ``east``/``north`` [m]; shape
        (n_time, ny, nx).
    meta : dict
        ``block`` (pixels per cell side), ``image_shape``, ``algorithms``, ``height`` [m]
        (per time), ``lat``/``lon`` of the pole, ``coarsened`` (1 or the factor).
    """

    time: np.ndarray
    params: list[str]
    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    ood: np.ndarray
    cells: dict[str, np.ndarray]
    meta: dict

    def __len__(self) -> int:
        return int(self.time.size)

    def to_bytes(self) -> bytes:
        arrays = {"time": self.time, "values": self.values, "lo": self.lo, "hi": self.hi,
                  "ood": self.ood} | {k: v for k, v in self.cells.items()}
        return pack(arrays, {"params": self.params, **self.meta}, compress=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredMaps:
        arrays, meta = unpack(data)
        meta = {k: v for k, v in meta.items() if k not in ("arrays", "zlib")}
        params = meta.pop("params")
        cells = {k: arrays[k] for k in CELL_ARRAYS if k in arrays}
        return cls(arrays["time"], params, arrays["values"], arrays["lo"], arrays["hi"],
                   arrays["ood"], cells, meta)

    def take(self, i: int) -> StoredMaps:
        """The maps of the i-th time."""
        sl = slice(i, i + 1)
        meta = dict(self.meta)
        if isinstance(meta.get("height"), list):
            meta["height"] = meta["height"][i:i + 1]
        return StoredMaps(self.time[sl], self.params, self.values[sl], self.lo[sl], self.hi[sl],
                          self.ood[sl], {k: v[sl] for k, v in self.cells.items()}, meta)


def _day(t: int) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d")


def _key_time(key: str) -> tuple[int, int]:
    t, stamp = key.rsplit("/", 1)[-1].removesuffix(".map").split("_")
    return int(t), int(stamp)


def coarsen(a: np.ndarray, factor: int, *, total: bool = False, weights: np.ndarray | None = None) -> np.ndarray:
    """Average (or sum) the last two axes over ``factor`` × ``factor`` cells, NaN-aware.

    With ``weights`` (same shape), a weighted mean.
    """
    if factor == 1:
        return a
    *lead, ny, nx = a.shape
    by, bx = -(-ny // factor), -(-nx // factor)
    pad = [(0, 0)] * len(lead) + [(0, by * factor - ny), (0, bx * factor - nx)]
    x = np.pad(a.astype("float64"), pad, constant_values=np.nan)
    w = (np.ones_like(x) if weights is None
         else np.pad(np.broadcast_to(weights, a.shape).astype("float64"), pad))
    w = np.where(np.isfinite(x), w, 0.0)
    shape = (*lead, by, factor, bx, factor)
    s = np.nansum((np.nan_to_num(x) * w).reshape(shape), axis=(-3, -1))
    n = w.reshape(shape).sum(axis=(-3, -1))
    if total:
        return np.where(n > 0, np.nansum(np.nan_to_num(x).reshape(shape), axis=(-3, -1)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan).astype("float32")


class MapStore:
    """Maps of one site, kept under ``maps/`` of its store root.

    Parameters
    ----------
    objects : ObjectStore
        The site store's objects (``SiteStore.objects``).
    """

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    # --- writing ------------------------------------------------------------------------
    def write(self, maps: StoredMaps, spectra: np.ndarray | None = None,
              wavelength: np.ndarray | None = None, stamp: int | None = None) -> str:
        """Store one acquisition's maps (and its block spectra); returns the object key."""
        t = int(maps.time[0])
        stamp = _time.time_ns() if stamp is None else int(stamp)
        name = f"{_day(t)}/{t}_{stamp}.map"
        if spectra is not None:
            self.objects.put(SPECTRA + name, pack(
                {"spectra": spectra.astype("float32"), "wavelength": np.asarray(wavelength, float)},
                {}, compress=True))
        self.objects.put(FULL + name, maps.to_bytes())
        return FULL + name

    # --- reading ------------------------------------------------------------------------
    def _latest(self, keys: list[str]) -> dict[int, str]:
        best: dict[int, tuple[int, str]] = {}
        for k in keys:
            t, stamp = _key_time(k)
            if t not in best or stamp > best[t][0]:
                best[t] = (stamp, k)
        return {t: k for t, (_, k) in best.items()}

    def _keys(self, prefix: str, before_day: str | None = None) -> list[str]:
        """Keys of the objects in the day folders under ``prefix`` (days before one, if given)."""
        return [f"{prefix}{day}/{name}" for day in self.objects.list(prefix)
                if before_day is None or day < before_day
                for name in self.objects.list(f"{prefix}{day}/") if name.endswith(".map")]

    def _full_keys(self, t0: int | None, t1: int | None) -> dict[int, str]:
        keys = self._keys(FULL)
        return {t: k for t, k in self._latest(keys).items()
                if (t0 is None or t >= t0) and (t1 is None or t <= t1)}

    def _daily_keys(self) -> dict[str, str]:
        best: dict[str, tuple[int, str]] = {}
        for name in self.objects.list(DAILY):
            if not name.endswith(".map"):
                continue
            day, stamp = name.removesuffix(".map").split("_")
            if day not in best or int(stamp) > best[day][0]:
                best[day] = (int(stamp), DAILY + name)
        return {d: k for d, (_, k) in best.items()}

    def times(self, start: datetime | str | None = None, end: datetime | str | None = None) -> np.ndarray:
        """Acquisition times that have maps [s since 1970-01-01 UTC], sorted."""
        t0 = None if start is None else epoch_seconds(start)
        t1 = None if end is None else epoch_seconds(end)
        out = set(self._full_keys(t0, t1))
        for day, key in self._daily_keys().items():
            if _day_in(day, t0, t1):
                out |= {int(t) for t in StoredMaps.from_bytes(self.objects.get(key)).time
                        if (t0 is None or t >= t0) and (t1 is None or t <= t1)}
        return np.array(sorted(out), "int64")

    def read(self, when: datetime | str | int | None = None) -> StoredMaps | None:
        """The maps of the acquisition nearest to ``when`` (default: the latest), or None."""
        full = self._full_keys(None, None)
        daily = self._daily_keys()
        if not full and not daily:
            return None
        target = None if when is None else (when if isinstance(when, int) else epoch_seconds(when))
        if full:
            t = max(full) if target is None else min(full, key=lambda x: abs(x - target))
            if target is None or not daily:
                return StoredMaps.from_bytes(self.objects.get(full[t]))
        day = max(daily) if target is None else min(
            daily, key=lambda d: abs(epoch_seconds(d + "T12:00:00Z") - target))
        old = StoredMaps.from_bytes(self.objects.get(daily[day]))
        i = int(np.argmin(np.abs(old.time - (target or old.time[-1]))))
        if full and abs(t - target) <= abs(int(old.time[i]) - target):  # type: ignore[operator]
            return StoredMaps.from_bytes(self.objects.get(full[t]))
        return old.take(i)

    def read_range(self, start: datetime | str, end: datetime | str) -> list[StoredMaps]:
        """Every acquisition's maps between two times (inclusive), in time order."""
        t0, t1 = epoch_seconds(start), epoch_seconds(end)
        full = self._full_keys(t0, t1)
        got = self.objects.get_many([full[t] for t in sorted(full)])
        out = [StoredMaps.from_bytes(got[full[t]]) for t in sorted(full) if got.get(full[t])]
        for day, key in sorted(self._daily_keys().items()):
            if _day_in(day, t0, t1):
                old = StoredMaps.from_bytes(self.objects.get(key))
                out += [old.take(i) for i, t in enumerate(old.time)
                        if t0 <= t <= t1 and int(t) not in full]
        return sorted(out, key=lambda m: int(m.time[0]))

    def spectra(self, time: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored block spectra (ny, nx, bands) [sr-1] and wavelengths [nm] of a time."""
        day = SPECTRA + _day(time) + "/"
        keys = [day + n for n in self.objects.list(day) if n.endswith(".map")]
        key = self._latest(keys).get(int(time))
        if key is None:
            return None
        arrays, _ = unpack(self.objects.get(key))
        return arrays["spectra"], arrays["wavelength"]

    # --- retention ----------------------------------------------------------------------
    def retain(self, *, full_days: float, coarsen_by: int, keep_days: float, spectra_days: float,
               now: datetime | None = None) -> dict[str, int]:
        """Coarsen, then delete, old maps (see the module's description); returns counts."""
        now = now or datetime.now(timezone.utc)
        done = {"coarsened_days": 0, "deleted": 0}
        sp_cut = _day(int((now - timedelta(days=spectra_days)).timestamp()))
        old_sp = self._keys(SPECTRA, before_day=sp_cut)
        full_cut = _day(int((now - timedelta(days=full_days)).timestamp()))
        by_day: dict[str, list[str]] = {}
        for k in self._keys(FULL, before_day=full_cut):
            by_day.setdefault(k[len(FULL):len(FULL) + 10], []).append(k)
        for day, keys in sorted(by_day.items()):
            latest = self._latest(keys)
            got = self.objects.get_many([latest[t] for t in sorted(latest)])
            parts = [StoredMaps.from_bytes(got[latest[t]]) for t in sorted(latest)
                     if got.get(latest[t])]
            prev = self._daily_keys().get(day)
            if prev is not None:
                parts = [StoredMaps.from_bytes(self.objects.get(prev))] + parts
            self.objects.put(f"{DAILY}{day}_{_time.time_ns()}.map", merge_days(parts, coarsen_by).to_bytes())
            self.objects.delete(keys + ([prev] if prev else []))
            done["coarsened_days"] += 1
            done["deleted"] += len(keys)
        if keep_days > 0:
            keep_cut = _day(int((now - timedelta(days=keep_days)).timestamp()))
            gone = [k for d, k in self._daily_keys().items() if d < keep_cut]
            self.objects.delete(gone)
            done["deleted"] += len(gone)
        self.objects.delete(old_sp)
        done["deleted"] += len(old_sp)
        return done


def _day_in(day: str, t0: int | None, t1: int | None) -> bool:
    d0 = epoch_seconds(day + "T00:00:00Z")
    return (t1 is None or d0 <= t1) and (t0 is None or d0 + 86400 > t0)


def merge_days(parts: list[StoredMaps], factor: int) -> StoredMaps:
    """Maps of several times in one object, full-resolution ones coarsened by ``factor``."""
    done = []
    for p in parts:
        if p.meta.get("coarsened", 1) == 1 and factor > 1:
            w = p.cells.get("water_area", p.cells["n_valid"].astype("float64"))
            cells = {"n_valid": coarsen(p.cells["n_valid"], factor, total=True).astype("int32")}
            if "water_area" in p.cells:
                cells["water_area"] = coarsen(p.cells["water_area"], factor, total=True)
                for k in ("east", "north"):
                    cells[k] = coarsen(p.cells[k], factor, weights=w)
            ww = w[:, None]
            heights = p.meta.get("height")
            p = StoredMaps(p.time, p.params, coarsen(p.values, factor, weights=ww),
                           coarsen(p.lo, factor, weights=ww), coarsen(p.hi, factor, weights=ww),
                           coarsen(p.ood, factor), cells,
                           {**p.meta, "block": p.meta["block"] * factor, "coarsened": factor,
                            "height": heights})
        done.append(p)
    params = sorted({q for p in done for q in p.params})
    shape = done[-1].values.shape[2:]
    done = [p for p in done if p.values.shape[2:] == shape]  # a changed image size: keep the newest

    def by_param(name: str, p: StoredMaps) -> np.ndarray:
        a = np.full((len(p), len(params), *shape), np.nan, "float32")
        for j, q in enumerate(p.params):
            a[:, params.index(q)] = getattr(p, name)[:, j]
        return a

    cells = {k: np.concatenate([p.cells[k] for p in done]) for k in CELL_ARRAYS
             if all(k in p.cells for p in done)}
    heights = []
    for p in done:
        h = p.meta.get("height", float("nan"))
        heights += list(h) if isinstance(h, list) else [h]
    meta = {**done[-1].meta, "height": heights,
            "algorithms": {k: v for p in done for k, v in p.meta.get("algorithms", {}).items()}}
    out = StoredMaps(np.concatenate([p.time for p in done]), params,
                     *(np.concatenate([by_param(n, p) for p in done]) for n in ("values", "lo", "hi", "ood")),
                     cells, meta)
    order = np.argsort(out.time, kind="stable")
    return StoredMaps(out.time[order], params, out.values[order], out.lo[order], out.hi[order],
                      out.ood[order], {k: v[order] for k, v in out.cells.items()},
                      {**meta, "height": [heights[i] for i in order]})
