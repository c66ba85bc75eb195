"""One site's store: a journal of immutable records, segments, and compacted monthly parts.

Layout under the store root (a folder or any fsspec URL, e.g. ``s3://bucket/taihu.zarr``)::

    zarr.json                     root Zarr group: what this is, how to read it
    journal/<stamp>_<t>_<rnd>.npz one object per write (one record), never modified
    segments/<stamp>_<t0>_<t1>_<rnd>.npz   journal entries folded together
    parts/<YYYY-MM>-<stamp>-<rnd>/          compacted history of a month (Zarr group)
    heads/<generation>.json       which parts are in force; created once, never overwritten

A **write** puts one object (atomic: a renamed temporary file locally, a PUT on S3), so a
killed writer leaves the record wholly there or not at all, and concurrent writers never
touch each other's objects: no lock exists, none is needed. The newest write stamp of an
acquisition time wins on read, so re-delivery and reprocessing replace, never duplicate.

**Folding** copies journal entries into one segment, then deletes them; **compaction** merges
segments and journal into new monthly parts, commits them by *creating* the next head
(create-only: ``os.link`` locally, ``If-None-Match: *`` on S3 — of two compactions racing, one
wins and the other discards its work), then deletes what it merged. Each deletion happens
only after what it deleted was committed elsewhere, and duplicates carry the same write
stamp, so a process killed at any point leaves a store that reads the same.

Readers list journal, then segments, then heads, and retry from the start if an object they
listed has vanished (it was merged into something committed after their listing).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import xarray as xr

from ..errors import StoreError
from .batch import Batch, concat, epoch_seconds
from .integrity import Damage, DamagedObject, unseal
from .objects import ObjectStore, PreconditionFailed
from .parts import DEFAULT_LAYOUT, Layout, head_bytes, period_of, read_part, write_part
from .schema import LABELS, QUANTITIES, RRS_STANDARD_NAME, Record, label_attrs, quantity_attrs

STORE_FORMAT = 2
#: Labels read by default when only some quantities are asked for.
DEFAULT_READ_LABELS = ("verdict", "reason")
_READ_ATTEMPTS = 20
#: Age after which a part no head uses is garbage (a compaction may still be writing it).
ORPHAN_GRACE_NS = 3600 * 10**9


class _Vanished(Exception):
    """An object listed by a reader was deleted before it was read (retry)."""


@dataclass(frozen=True)
class Policy:
    """When the write path folds and compacts by itself.

    The defaults keep a minute-cadence site healthy with nobody running ``hsiwq compact``:
    about one write in 32 folds the journal (tens of ms), and one in ~1,500–3,000 compacts
    the touched month (under a second). Scheduling ``hsiwq compact`` (or
    :meth:`SiteStore.compact`) hourly or daily takes that work off the write path.

    Attributes
    ----------
    maintain_probability : float
        Chance that a write then runs :meth:`SiteStore.maintain` (0 disables it).
    fold_min : int
        Journal entries needed before a fold.
    compact_segments : int
        Segments needed before maintenance also compacts.
    """

    maintain_probability: float = 1 / 32
    fold_min: int = 32
    compact_segments: int = 48


class SiteStore:
    """Reader and writer of one site's results.

    Parameters
    ----------
    path : str or path
        The store root: a folder (``<workspace>/store/<site>.zarr``) or an fsspec URL.
    storage_options : dict, optional
        fsspec options for URLs (``endpoint_url``, ``key``, ``secret``, ...).
    policy : Policy, optional
        Automatic folding/compaction on the write path.
    layout : Layout, optional
        Chunking and compression of compacted parts.
    durable : bool
        Local stores: fsync each object before it is committed (survives power loss).
    """

    def __init__(self, path: str | os.PathLike[str], storage_options: dict[str, Any] | None = None,
                 *, policy: Policy | None = None, layout: Layout | None = None,
                 durable: bool = True) -> None:
        self.objects = ObjectStore(path, storage_options, durable=durable)
        self.path = path
        self.policy = policy or Policy()
        self.layout = layout or DEFAULT_LAYOUT
        self._root_ok = False

    @property
    def site(self) -> str:
        name = self.objects.root.rstrip("/").rsplit("/", 1)[-1]
        return name[:-5] if name.endswith(".zarr") else name

    def __repr__(self) -> str:
        return f"SiteStore({self.objects.url()!r})"

    # --- root ---------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether anything was ever written here."""
        return self.objects.exists("zarr.json")

    def _root_meta(self) -> bytes:
        return json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {
                "hsiwq_store_format": STORE_FORMAT, "site": self.site, "Conventions": "CF-1.10",
                "title": f"hsiwq results of site {self.site}",
                "hsiwq_read_with": "xarray.open_dataset(<this folder>, engine='hsiwq')",
                "comment": "This group holds no arrays: the series is spread over compacted "
                           "months and newer records. Read all of it with "
                           "xarray.open_dataset(<this folder>, engine='hsiwq'), "
                           "hsiwq.store.open_series(site, workspace) or "
                           "hsiwq.store.SiteStore(root).read(). Compacted months are Zarr "
                           "groups under parts/ (those listed by the newest heads/*.json are in "
                           "force; superseded ones are moved to stale/); newer records wait in "
                           "journal/ and segments/ until compaction."}},
            indent=1).encode()

    def _ensure_root(self) -> None:
        if self._root_ok:
            return
        try:
            self.objects.put_new("zarr.json", self._root_meta())
        except PreconditionFailed:
            if _legacy_version(self.objects) == 1:
                self._convert_v1()
        self._root_ok = True

    def _convert_v1(self) -> None:
        """Turn a store of format 1 (one pre-allocated Zarr group) into this format.

        Its committed rows become one segment (write stamps in row order, so the newest row
        of a time still wins, and any later write beats them all); then the root metadata is
        replaced and the old arrays deleted. Killed midway, it is simply done again.
        """
        import zarr

        g = zarr.open_group(self.objects.url(), mode="r", storage_options=self.objects.storage_options
                            if not self.objects.local else None)
        n = int(g.attrs["n_records"])
        if n:
            quantities = [str(q) for q in g["quantity"][:]]
            names = [str(x) for x in g["label"][:]]
            values, codes = g["values"][:n], g["labels"][:n].astype("int32")
            vocab = g.attrs["vocabularies"]
            b = Batch(g["time"][:n].astype("int64"), np.arange(n, dtype="int64"),
                      {q: values[:, j] for j, q in enumerate(quantities) if q in QUANTITIES},
                      {k: (codes[:, j], list(vocab.get(k, []))) for j, k in enumerate(names)
                       if k in LABELS},
                      g["wavelength"][:].astype("float64"), g["rrs"][:n])
            self._put_segment(b.latest())
        self.objects.put("zarr.json", self._root_meta())
        for name in ("time", "values", "labels", "rrs", "quantity", "label", "wavelength"):
            self.objects.delete_tree(name)

    def _check_readable(self) -> None:
        try:
            meta = unseal(self.objects.get("zarr.json"))
        except FileNotFoundError:
            raise StoreError(self.objects.url(), "no store here (nothing has been written for "
                                                 "this site yet)") from None
        except Damage as exc:
            raise self._with_hint(DamagedObject(self.objects.url("zarr.json"),
                                                f"root metadata {exc}")) from None
        fmt = meta.get("attributes", {}).get("hsiwq_store_format")
        if meta.get("attributes", {}).get("hsiwq_store_version") == 1:
            raise StoreError(self.objects.url(), "a store of the older format 1: convert it "
                                                 "once with `hsiwq compact --site SITE`")
        if fmt != STORE_FORMAT:
            raise StoreError(self.objects.url(), f"not an hsiwq store of format {STORE_FORMAT} "
                                                 f"(found {fmt!r}); see docs/store.md")

    # --- writing ------------------------------------------------------------------------
    def write(self, record: Record) -> int:
        """Write (or replace) the record of one acquisition time.

        Returns
        -------
        int
            The write stamp [ns since 1970]; among records of the same time the one with the
            highest stamp is the one read.

        Raises
        ------
        StoreError
            On unknown quantity or label names or inconsistent spectra.
        """
        stamp = time.time_ns()
        try:
            batch = Batch.from_record(record, stamp)
        except ValueError as exc:
            raise StoreError(self.objects.url(), str(exc)) from None
        self._ensure_root()
        key = f"journal/{stamp:020d}_{int(batch.time[0])}_{uuid.uuid4().hex[:8]}.npz"
        self.objects.put(key, batch.to_bytes())
        if self.policy.maintain_probability and random.random() < self.policy.maintain_probability:
            self.maintain()
        return stamp

    def write_batch(self, batch: Batch) -> str:
        """Write many rows at once as one segment (bulk loads); returns its key.

        The batch's rows follow the same rule as single writes (newest stamp per time wins).
        """
        if not len(batch):
            return ""
        self._ensure_root()
        return self._put_segment(batch)

    def _put_segment(self, batch: Batch) -> str:
        stamp = time.time_ns()
        key = (f"segments/{stamp:020d}_{int(batch.time.min())}_{int(batch.time.max())}_"
               f"{uuid.uuid4().hex[:8]}.npz")
        self.objects.put(key, batch.to_bytes(compress=len(batch) > 256))
        return key

    # --- listing ------------------------------------------------------------------------
    @staticmethod
    def _journal_range(name: str) -> tuple[int, int]:
        t = int(name.split("_")[1])
        return t, t

    @staticmethod
    def _segment_range(name: str) -> tuple[int, int]:
        f = name.split("_")
        return int(f[1]), int(f[2])

    def _head(self) -> tuple[int, dict]:
        """The newest head: (generation, content); (0, empty) before the first compaction.

        Raises
        ------
        DamagedObject
            If the newest head is empty, truncated or changed.
        """
        names = [n for n in self.objects.list("heads") if n.endswith(".json")]
        for name in reversed(names):
            try:
                return int(name[:-5]), self._decode_head(name, self.objects.get(f"heads/{name}"))
            except FileNotFoundError:  # deleted after listing: an older one, take the next
                continue
        return 0, {"generation": 0, "parts": []}

    def _decode_head(self, name: str, data: bytes) -> dict:
        try:
            head = unseal(data)
            if not isinstance(head.get("parts"), list):
                raise Damage("no list of parts")
            return head
        except Damage as exc:
            raise DamagedObject(self.objects.url(f"heads/{name}"), f"head {exc}") from None

    def _decode(self, key: str, data: bytes) -> Batch:
        """The batch of a journal entry or segment; :class:`DamagedObject` naming it if damaged."""
        try:
            return Batch.from_bytes(data)
        except Damage as exc:
            raise DamagedObject(self.objects.url(key), str(exc)) from None
        except (ValueError, KeyError, TypeError) as exc:  # an unverified (older) object
            raise DamagedObject(self.objects.url(key), f"cannot be decoded ({type(exc).__name__})") from None

    # --- reading ------------------------------------------------------------------------
    def read(self, start: datetime | str | None = None, end: datetime | str | None = None,
             quantities: list[str] | None = None, with_rrs: bool = True,
             labels: list[str] | None = None, with_maps: bool = False) -> xr.Dataset:
        """The site's results in time order, one row per acquisition time.

        Parameters
        ----------
        start, end : datetime or ISO string, optional
            Inclusive time bounds (UTC).
        quantities : list of str, optional
            Numeric quantities to read (default: all).
        with_rrs : bool
            Whether to read the ROI spectra.
        labels : list of str, optional
            Labels to read (default: all when ``quantities`` is None, else ``verdict``,
            ``reason`` and the ``<parameter>_model`` of each parameter asked for).
        with_maps : bool
            Whether to read the downsampled parameter maps (dimension ``map_time``).

        Returns
        -------
        xarray.Dataset
            One variable per quantity and label (CF attributes; labels as strings), ``rrs``
            (time, wavelength), ``time`` as datetime64.
        """
        self._check_readable()
        unknown = set(quantities or ()) - set(QUANTITIES)
        if unknown:
            raise StoreError(self.objects.url(), f"no such quantity {sorted(unknown)}")
        if labels is None:
            labels = list(LABELS) if quantities is None else (
                list(DEFAULT_READ_LABELS) + [f"{q}_model" for q in quantities if f"{q}_model" in LABELS])
        unknown = set(labels) - set(LABELS)
        if unknown:
            raise StoreError(self.objects.url(), f"no such label {sorted(unknown)}")
        t0 = None if start is None else epoch_seconds(start)
        t1 = None if end is None else epoch_seconds(end)
        for _ in range(_READ_ATTEMPTS):
            try:
                batch = self._read_batch(t0, t1, quantities, labels, with_rrs, with_maps)
                break
            except _Vanished:
                time.sleep(0.01)
            except DamagedObject as exc:
                raise self._with_hint(exc) from None
        else:
            raise StoreError(self.objects.url(), "the store kept changing while being read; retry")
        return _to_dataset(batch, list(QUANTITIES) if quantities is None else quantities, labels,
                           with_rrs, with_maps,
                           self.objects.url())

    def _small(self, t0: int | None, t1: int | None) -> tuple[Batch, list[str]]:
        """Journal and segment rows overlapping [t0, t1], newest per time, and their keys."""
        keys: list[str] = []
        for prefix, rng in (("journal", self._journal_range), ("segments", self._segment_range)):
            for name in self.objects.list(prefix):
                if not name.endswith(".npz"):
                    continue
                lo, hi = rng(name)
                if (t1 is not None and lo > t1) or (t0 is not None and hi < t0):
                    continue
                keys.append(f"{prefix}/{name}")
        got = self.objects.get_many(keys)
        if any(v is None for v in got.values()):
            raise _Vanished()
        small = concat(self._decode(k, got[k]) for k in keys).latest()
        return _window(small, t0, t1), keys

    def _read_batch(self, t0, t1, quantities, labels, with_rrs, with_maps) -> Batch:
        small, _ = self._small(t0, t1)
        gen, head = self._head()
        bases = []
        for entry in head["parts"]:
            if (t1 is not None and entry["start"] > t1) or (t0 is not None and entry["end"] < t0):
                continue
            try:
                bases.append(read_part(self.objects, entry, start=t0, end=t1, quantities=quantities,
                                       labels=labels, with_rrs=with_rrs, with_maps=with_maps))
            except (FileNotFoundError, DamagedObject) as exc:
                self._raise_unless_superseded(gen, entry, exc)
        base = concat(bases)
        if quantities is not None:
            small.values = {k: v for k, v in small.values.items() if k in quantities}
        small.labels = {k: v for k, v in small.labels.items() if k in labels}
        if not with_rrs:
            small.rrs = small.wavelength = None
        if not with_maps:
            small.maps, small.map_rows = None, np.zeros(0, "int64")
        return merge_sorted(base, small)

    def _with_hint(self, exc: DamagedObject) -> DamagedObject:
        """The same damage, saying how to check and repair it."""
        if "--verify" in exc.problem:
            return exc
        return DamagedObject(exc.where, f"{exc.problem}; `hsiwq store-info --site {self.site} "
                                        "--verify --repair` restores it where another copy exists")

    def _raise_unless_superseded(self, gen: int, entry: dict, exc: Exception) -> None:
        """A part of head ``gen`` could not be read: if a newer head exists, it was superseded
        meanwhile (retry); if not, it is damage."""
        names = [n for n in self.objects.list("heads") if n.endswith(".json")]
        if names and int(names[-1][:-5]) != gen:
            raise _Vanished() from None
        if isinstance(exc, DamagedObject):
            raise exc
        raise DamagedObject(self.objects.url(entry["key"]), f"part missing: heads/{gen:012d}.json "
                            f"names it but it is not on storage ({entry['rows']} rows)") from None

    # --- maintenance --------------------------------------------------------------------
    def fold(self, min_entries: int = 1) -> int:
        """Copy the journal into one segment, then delete the entries; returns how many."""
        names = [n for n in self.objects.list("journal") if n.endswith(".npz")]
        if len(names) < max(1, min_entries):
            return 0
        keys = [f"journal/{n}" for n in names]
        got = self.objects.get_many(keys)
        present = [k for k in keys if got[k] is not None]  # others were merged meanwhile
        if not present:
            return 0
        self._put_segment(concat(self._decode(k, got[k]) for k in present).latest())
        self.objects.delete(present)
        return len(present)

    def maintain(self) -> dict[str, int]:
        """Fold the journal when it is long enough, compact when segments pile up."""
        out = {"folded": 0, "compacted": 0}
        try:
            out["folded"] = self.fold(self.policy.fold_min)
            if len(self.objects.list("segments")) >= self.policy.compact_segments:
                out["compacted"] = self.compact()["merged_rows"]
        except (OSError, StoreError):  # maintenance is best effort; the write is done
            pass
        return out

    def compact(self, *, full: bool = False) -> dict[str, Any]:
        """Merge journal and segments into the monthly parts (drops superseded rows).

        Parameters
        ----------
        full : bool
            Rewrite every part (e.g. after changing the layout), not only those touched.

        Returns
        -------
        dict
            ``generation`` committed (None if another compaction won the race),
            ``merged_rows`` (journal and segment rows taken), ``parts_written``, ``rows``.
        """
        try:
            return self._compact(full)
        except DamagedObject as exc:
            raise self._with_hint(exc) from None

    def _compact(self, full: bool) -> dict[str, Any]:
        if _legacy_version(self.objects) == 1:
            self._convert_v1()
        self._check_readable()
        if b"hsiwq_read_with" not in self.objects.get("zarr.json"):  # a store made before it
            self.objects.put("zarr.json", self._root_meta())
        for prefix in ("journal", "segments", "heads"):
            self.objects.sweep_tmp(prefix)
        for _ in range(_READ_ATTEMPTS):
            try:
                small, keys = self._small(None, None)
                break
            except _Vanished:  # merged by a concurrent fold or compaction: list again
                time.sleep(0.01)
        else:
            raise StoreError(self.objects.url(), "the store kept changing; compaction not done")
        gen, head = self._head()
        parts = {period_of(np.array([p["start"]]))[0]: p for p in head["parts"]}
        periods = set(period_of(small.time)) if len(small) else set()
        if full:
            periods |= set(parts)
        stamp = time.time_ns()
        written: list[dict] = []
        new_parts = dict(parts)
        sp = period_of(small.time) if len(small) else np.zeros(0, dtype="<U7")
        for period in sorted(periods):
            rows = small.take(np.flatnonzero(sp == period))
            if period in parts:
                try:  # a damaged part is never merged: the error names it
                    old = read_part(self.objects, parts[period], with_maps=True)
                except (FileNotFoundError, DamagedObject) as exc:
                    for e in written:
                        self.objects.delete_tree(e["key"])
                    try:
                        self._raise_unless_superseded(gen, parts[period], exc)
                    except _Vanished:  # another compaction committed first: ours is moot
                        return {"generation": None, "merged_rows": 0, "parts_written": 0,
                                "rows": sum(p["rows"] for p in parts.values())}
                merged = merge_sorted(old, rows)
            else:
                merged = rows
            key = f"parts/{period}-{stamp:020d}-{uuid.uuid4().hex[:6]}"
            entry = write_part(self.objects, key, merged, site=self.site, layout=self.layout)
            written.append(entry)
            new_parts[period] = entry
        result = {"generation": gen, "merged_rows": len(small), "parts_written": len(written),
                  "rows": sum(p["rows"] for p in new_parts.values())}
        if not written and not keys:
            return result
        try:
            content = head_bytes(gen + 1, list(new_parts.values()), time.time_ns(), keys)
            self.objects.put_new(f"heads/{gen + 1:012d}.json", content)
        except PreconditionFailed:  # another compaction committed first: discard ours
            for e in written:
                self.objects.delete_tree(e["key"])
            result["generation"] = None
            return result
        result["generation"] = gen + 1
        self.objects.put(f"heads/{gen + 1:012d}.bak", content)  # a copy, for repairs
        self.objects.delete(keys)
        self._collect_garbage(gen + 1, stamp)
        return result

    def _collect_garbage(self, gen: int, stamp: int) -> None:
        """Leave under ``parts/`` exactly the parts of head ``gen`` (and any a compaction may
        still be writing).

        Parts that only the previous head uses move to ``stale/`` with a ``STALE`` marker:
        not in force, kept until the next compaction as copies for repairs (on object
        storage, where a move copies every object, they are deleted instead). Heads older than
        the previous one, stale parts it no longer holds, parts of older heads and parts no
        head names (after :data:`ORPHAN_GRACE_NS`) are deleted.
        """
        heads = {int(n[:-5]): n for n in self.objects.list("heads") if n.endswith(".json")}
        in_force: set[str] = set()
        previous: set[str] = set()
        older: set[str] = set()
        for g, name in heads.items():
            try:
                used = {p["key"] for p in self._decode_head(name, self.objects.get(f"heads/{name}"))["parts"]}
            except (FileNotFoundError, DamagedObject):
                if g >= gen - 1:
                    return  # never collect against a head that cannot be read
                continue
            (in_force if g == gen else previous if g == gen - 1 else older).update(used)
        old = [f"heads/{n[:-5]}" for g, n in heads.items() if g < gen - 1]
        self.objects.delete([f"{k}.json" for k in old] + [f"{k}.bak" for k in old])
        for name in self.objects.list("parts"):
            key = f"parts/{name}"
            try:
                made = int(name.split("-")[2])
            except (IndexError, ValueError):
                continue
            if key in in_force:
                continue
            if key in previous and not self.objects.local:
                self.objects.delete_tree(key)  # a move would copy every object: not kept
            elif key in previous:
                self.objects.move_tree(key, f"stale/{name}")
                self.objects.put(f"stale/{name}/STALE", (
                    f"Superseded by heads/{gen:012d}.json: this part is NOT in force (its rows "
                    f"are in the parts listed by the newest head). Kept as a copy for repairs "
                    f"until the next compaction.\n").encode())
            # parts of no head may belong to a compaction still running (a later one could
            # commit them), so they go only after a grace period
            elif key in older or made < stamp - ORPHAN_GRACE_NS:
                self.objects.delete_tree(key)
        for name in self.objects.list("stale"):
            if f"parts/{name}" not in previous:
                self.objects.delete_tree(f"stale/{name}")

    # --- figures ------------------------------------------------------------------------
    def revision(self) -> str:
        """A digest that changes whenever the store changes (a write, fold or compaction).

        Cheap: three listings and no object read. Objects are never modified and their names
        are unique, so the names in force identify the contents.
        """
        import hashlib

        names = [f"{p}/{n}" for p in ("journal", "segments", "heads") for n in self.objects.list(p)]
        return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]

    def stats(self) -> dict[str, Any]:
        """Object counts and bytes per area of the store."""
        out: dict[str, Any] = {}
        for prefix in ("journal", "segments", "parts", "stale", "heads"):
            out[f"{prefix}_objects"] = len(self.objects.list(prefix))
            out[f"{prefix}_bytes"] = self.objects.size(prefix)
        out["bytes"] = sum(v for k, v in out.items() if k.endswith("_bytes"))
        gen, head = self._head()
        out["generation"] = gen
        out["compacted_rows"] = sum(p["rows"] for p in head["parts"])
        out["checksums"] = ("yes" if all("manifest" in p for p in head["parts"])
                            else "no: parts written before checksums (unverified)")
        return out


def _legacy_version(objects: ObjectStore) -> int | None:
    """``hsiwq_store_version`` of a store of the older format (None for this format)."""
    try:
        return json.loads(objects.get("zarr.json")).get("attributes", {}).get("hsiwq_store_version")
    except (FileNotFoundError, ValueError):
        return None


def _window(b: Batch, t0: int | None, t1: int | None) -> Batch:
    if not len(b) or (t0 is None and t1 is None):
        return b
    keep = np.ones(len(b), bool)
    if t0 is not None:
        keep &= b.time >= t0
    if t1 is not None:
        keep &= b.time <= t1
    return b if keep.all() else b.take(np.flatnonzero(keep))


def merge_sorted(base: Batch, small: Batch) -> Batch:
    """Merge time-sorted unique ``base`` rows with time-sorted unique ``small`` rows.

    For a time in both, the row with the newer write stamp wins (ties: ``small``).
    """
    if not len(small):
        return base
    if not len(base):
        return small
    pos = np.searchsorted(base.time, small.time)
    inside = pos < len(base)
    match = np.zeros(len(small), bool)
    match[inside] = base.time[pos[inside]] == small.time[inside]
    small_wins = ~match.copy()
    small_wins[match] = small.stamp[match] >= base.stamp[pos[match]]
    drop = np.zeros(len(base), bool)
    drop[pos[match & small_wins]] = True
    kept_base = base if not drop.any() else base.take(np.flatnonzero(~drop))
    kept_small = small if small_wins.all() else small.take(np.flatnonzero(small_wins))
    both = concat([kept_base, kept_small], wavelength=base.wavelength)
    order = np.argsort(both.time, kind="stable")
    return both.take(order)


def _to_dataset(b: Batch, quantities: list[str], labels: list[str], with_rrs: bool,
                with_maps: bool, where: str) -> xr.Dataset:
    n = len(b)
    data_vars: dict[str, xr.DataArray] = {}
    for q in quantities:
        v = b.values.get(q)
        if v is None:
            v = np.full(n, np.nan, "float32")
        data_vars[q] = xr.DataArray(v, dims="time", attrs=quantity_attrs(q))
    for k in labels:
        data_vars[k] = xr.DataArray(b.label_strings(k), dims="time", attrs=label_attrs(k))
    coords: dict[str, Any] = {"time": ("time", (b.time * 1_000_000_000).astype("datetime64[ns]"),
                                       {"standard_name": "time", "long_name": "acquisition time"})}
    if with_rrs and b.rrs is not None:
        coords["wavelength"] = ("wavelength", b.wavelength, {"units": "nm", "long_name": "band centre"})
        data_vars["rrs"] = xr.DataArray(b.rrs, dims=("time", "wavelength"),
                                        attrs={"units": "sr-1",
                                               "long_name": "ROI-median remote-sensing reflectance",
                                               "standard_name": RRS_STANDARD_NAME})
    if with_maps and b.maps is not None and b.map_rows.size:
        ny, nx = b.maps.shape[2:]
        coords["map_time"] = ("map_time", (b.time[b.map_rows] * 1_000_000_000).astype("datetime64[ns]"))
        coords["map_parameter"] = ("map_parameter", np.array(b.map_params, dtype=object))
        coords["map_y"] = ("map_y", (np.arange(ny) + 0.5) / ny, {"units": "1"})
        coords["map_x"] = ("map_x", (np.arange(nx) + 0.5) / nx, {"units": "1"})
        data_vars["maps"] = xr.DataArray(b.maps, dims=("map_time", "map_parameter", "map_y", "map_x"),
                                         attrs={"long_name": "downsampled parameter maps",
                                                "comment": "each map in the units of its "
                                                           "map_parameter (see that variable's "
                                                           "units attribute)"})
    return xr.Dataset(data_vars, coords=coords,
                      attrs={"store": where, "Conventions": "CF-1.10"})
