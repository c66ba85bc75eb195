"""Compacted history: one immutable Zarr group per calendar month ("part").

A part holds the rows of one UTC month, one per acquisition time, in time order, written once
by compaction and never modified (a compaction writes a new part and commits it by writing a
new head, see :mod:`.site`). Parts are plain Zarr v3 groups (bytes + Blosc codecs, consolidated
metadata in the group's ``zarr.json``), encoded here directly rather than through
zarr-python's per-array calls (~6 ms each, 90 arrays a part); zarr-python and xarray read them. Each column is its own 1-D array along ``time`` with CF
attributes, so ``xarray.open_zarr(part)`` explains itself:

- ``time`` int64, ``seconds since 1970-01-01`` (standard calendar) — the CF time encoding is
  fixed here, in one place, and every part is written whole, so it never drifts;
- ``write_stamp`` int64, ``nanoseconds since 1970-01-01`` — when the row was written (newest
  wins);
- one float32 array per quantity (units, long_name, standard_name, ``ancillary_variables``,
  flags for ``*_ood``);
- one int16 array per label with CF ``flag_values``/``flag_meanings`` (and the exact strings in
  ``categories``);
- ``rrs`` (time, wavelength) float32 [sr-1] with the ``wavelength`` coordinate [nm];
- ``maps`` (time, map_parameter, map_y, map_x) float32, written only for rows that have maps
  (unwritten chunks cost nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numcodecs
import numpy as np

from .batch import Batch, quantity_dtype
from .integrity import (MANIFEST, Damage, DamagedObject, check, parse_manifest, seal,
                        with_manifest)
from .objects import ObjectStore
from .schema import LABELS, QUANTITIES, RRS_STANDARD_NAME, flag_meaning, label_attrs, quantity_attrs

PART_VERSION = 2
TIME_UNITS = "seconds since 1970-01-01"
STAMP_UNITS = "nanoseconds since 1970-01-01"


@dataclass(frozen=True)
class Layout:
    """Chunking and compression of parts (see docs/store.md for the measurements).

    Attributes
    ----------
    time_chunk : int
        Rows per chunk of the 1-D columns (a month of minute data is 44,640 rows).
    rrs_chunk : int
        Rows per chunk of ``rrs``.
    cname, clevel : str, int
        Blosc compressor and level.
    """

    time_chunk: int = 65536
    rrs_chunk: int = 4096
    cname: str = "zstd"
    clevel: int = 3


DEFAULT_LAYOUT = Layout()


def period_of(secs: np.ndarray) -> np.ndarray:
    """The UTC month ("YYYY-MM") of each time [s since 1970]."""
    return np.datetime_as_string(np.asarray(secs, "int64").astype("datetime64[s]").astype("datetime64[M]"),
                                 unit="M")


class _PartWriter:
    """Encodes a Zarr v3 group (arrays, chunks, consolidated metadata) into key -> bytes.

    Parts are written whole and never modified, so they are encoded directly (bytes codec,
    then Blosc) and stored in one batch of object writes, which is ~50x faster than going
    through zarr-python's per-array calls. ``read_part`` reads them back with zarr-python,
    and the tests open them with ``xarray.open_zarr``.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.objects: dict[str, bytes] = {}
        self.meta: dict[str, dict] = {}

    def array(self, name: str, data: np.ndarray, *, chunks: tuple[int, ...], fill, attrs: dict,
              dims: tuple[str, ...], rows: np.ndarray | None = None,
              shape: tuple[int, ...] | None = None) -> None:
        """Add an array of ``data`` (or of ``shape`` when ``rows`` is given: then ``data``
        holds only those rows of the first axis, chunked one row each, the others staying
        unwritten, i.e. the fill value)."""
        data = np.ascontiguousarray(data)
        dtype = data.dtype
        fill_json = ("NaN" if isinstance(fill, float) and np.isnan(fill) else fill)
        codec = {"name": "blosc", "configuration": {
            "typesize": dtype.itemsize, "cname": self.layout.cname, "clevel": self.layout.clevel,
            "shuffle": "bitshuffle" if dtype.kind in "iu" else "shuffle", "blocksize": 0}}
        blosc = numcodecs.Blosc(cname=self.layout.cname, clevel=self.layout.clevel,
                                shuffle=numcodecs.Blosc.BITSHUFFLE if dtype.kind in "iu"
                                else numcodecs.Blosc.SHUFFLE)
        full_shape = data.shape if shape is None else shape
        meta = {"zarr_format": 3, "node_type": "array", "shape": list(full_shape),
                "data_type": dtype.name, "chunk_grid": {"name": "regular", "configuration": {
                    "chunk_shape": list(chunks)}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": fill_json,
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, codec],
                "attributes": attrs, "dimension_names": list(dims), "storage_transformers": []}
        self.meta[name] = meta
        self.objects[f"{name}/zarr.json"] = json.dumps(meta, allow_nan=False).encode()
        if rows is not None:
            rest = "/".join("0" for _ in chunks[1:])
            for i, row in enumerate(rows):
                self.objects[f"{name}/c/{int(row)}/{rest}"] = blosc.encode(data[i:i + 1])
            return
        if data.size == 0:
            return
        c0 = chunks[0]
        rest = "/".join("0" for _ in chunks[1:])
        for k, lo in enumerate(range(0, data.shape[0], c0)):
            block = data[lo:lo + c0]
            if isinstance(fill, float) and np.isnan(fill):
                if np.isnan(block).all():
                    continue  # all fill: not written (as zarr does)
            elif (block == fill).all():
                continue
            if block.shape[0] < c0:  # edge chunks are stored whole, padded with the fill
                pad = np.full((c0 - block.shape[0], *block.shape[1:]), fill, dtype)
                block = np.concatenate([block, pad])
            key = f"{name}/c/{k}" + (f"/{rest}" if rest else "")
            self.objects[key] = blosc.encode(np.ascontiguousarray(block))

    def finish(self, attrs: dict) -> dict[str, bytes]:
        """The objects, with the group's zarr.json holding consolidated metadata."""
        group = {"zarr_format": 3, "node_type": "group", "attributes": attrs,
                 "consolidated_metadata": {"kind": "inline", "must_understand": False,
                                           "metadata": self.meta}}
        self.objects["zarr.json"] = json.dumps(group, allow_nan=False).encode()
        return self.objects


def write_part(objects: ObjectStore, key: str, batch: Batch, *, site: str = "",
               layout: Layout = DEFAULT_LAYOUT) -> dict:
    """Write a sorted, de-duplicated batch as a new Zarr group at ``key``; returns its entry.

    Returns
    -------
    dict
        ``{"key", "start", "end", "rows"}`` for the head.
    """
    n = len(batch)
    w = _PartWriter(layout)
    tchunk = max(1, min(layout.time_chunk, n))

    def col(name: str, data: np.ndarray, attrs: dict, fill, chunks=None, dims=("time",)) -> None:
        w.array(name, data, chunks=chunks or (tchunk,), fill=fill, attrs=attrs, dims=dims)

    col("time", batch.time, {"units": TIME_UNITS, "calendar": "proleptic_gregorian",
                             "standard_name": "time", "long_name": "acquisition time", "axis": "T"},
        int(np.iinfo("int64").min))
    col("write_stamp", batch.stamp, {"units": STAMP_UNITS, "calendar": "proleptic_gregorian",
                                     "long_name": "time the row was written (the newest row "
                                                  "of an acquisition time wins)"},
        int(np.iinfo("int64").min))
    for name in QUANTITIES:  # every column, so that a notebook sees the whole schema
        v = batch.values.get(name)
        v = np.full(n, np.nan, quantity_dtype(name)) if v is None else v
        col(name, v.astype(quantity_dtype(name), copy=False), quantity_attrs(name), float("nan"))
    labels = {k: batch.labels.get(k, (np.full(n, -1, "int32"), [])) for k in LABELS}
    labels.update(batch.labels)
    for name, (codes, vocab) in labels.items():
        dtype = "int16" if len(vocab) < 32000 else "int32"
        attrs = dict(label_attrs(name))
        attrs.update({"flag_values": list(range(len(vocab))),
                      "flag_meanings": " ".join(flag_meaning(w) for w in vocab),
                      "categories": list(vocab),
                      "comment": "codes into 'categories' (-1: none); "
                                 "hsiwq.store.open_series() decodes them to strings"})
        col(name, codes.astype(dtype), attrs, -1)
    if batch.rrs is not None:
        col("wavelength", batch.wavelength.astype("float32"),
            {"units": "nm", "long_name": "band centre"}, float("nan"),
            chunks=(batch.wavelength.size,), dims=("wavelength",))
        col("rrs", batch.rrs.astype("float32", copy=False),
            {"units": "sr-1", "long_name": "ROI-median remote-sensing reflectance",
             "standard_name": RRS_STANDARD_NAME},
            float("nan"), chunks=(max(1, min(layout.rrs_chunk, n)), batch.rrs.shape[1]),
            dims=("time", "wavelength"))
    if batch.maps is not None and batch.map_rows.size:
        p = len(batch.map_params)
        ny, nx = batch.maps.shape[2:]
        for dim, size in (("map_y", ny), ("map_x", nx)):
            col(dim, ((np.arange(size) + 0.5) / size).astype("float32"),
                {"units": "1", "long_name": f"cell centre as a fraction of the image "
                                            f"{'height' if dim == 'map_y' else 'width'}"},
                float("nan"), chunks=(size,), dims=(dim,))
        w.array("maps", batch.maps.astype("float32", copy=False), chunks=(1, p, ny, nx),
                fill=float("nan"), dims=("time", "map_parameter", "map_y", "map_x"),
                rows=batch.map_rows, shape=(n, p, ny, nx),
                attrs={"long_name": "downsampled parameter maps (NaN: none)",
                       "map_parameters": list(batch.map_params),
                       "comment": "block means over the camera image, one map per parameter "
                                  "of 'map_parameters' (their units)"})
    start, end = (int(batch.time[0]), int(batch.time[-1])) if n else (0, -1)
    group = w.finish({"Conventions": "CF-1.10", "title": f"hsiwq results of site {site}".strip(),
                      "site": site, "hsiwq_part_version": PART_VERSION, "rows": n,
                      "time_coverage_start": str(np.datetime64(start, "s")) + "Z",
                      "time_coverage_end": str(np.datetime64(end, "s")) + "Z",
                      "comment": "one immutable monthly part of an hsiwq site store; read the "
                                 "whole series with hsiwq.store.open_series()"})
    manifest = with_manifest(group)
    objects.put_many({f"{key}/{k}": v for k, v in group.items()})
    return {"key": key, "start": start, "end": end, "rows": n, "manifest": manifest}


class _PartReader:
    """Reads arrays of a part written by :func:`write_part` (chunks fetched concurrently on
    object stores, decoded with Blosc)."""

    def __init__(self, objects: ObjectStore, entry: dict) -> None:
        self.objects = objects
        self.key = key = entry["key"]
        #: relative key -> (size, CRC-32C); None for parts written before checksums
        self.manifest: dict[str, tuple[int, int]] | None = None
        if "manifest" in entry:
            got = objects.get_many([f"{key}/{MANIFEST}", f"{key}/zarr.json"])
            if got[f"{key}/zarr.json"] is None and got[f"{key}/{MANIFEST}"] is None:
                raise FileNotFoundError(key)
            self.manifest = self._verified(MANIFEST, got[f"{key}/{MANIFEST}"],
                                           lambda d: parse_manifest(d, entry["manifest"]))
            group_bytes = self.verify("zarr.json", got[f"{key}/zarr.json"])
        else:
            try:
                group_bytes = objects.get(f"{key}/zarr.json")
            except FileNotFoundError:
                raise FileNotFoundError(key) from None
        group = self._verified("zarr.json", group_bytes, json.loads)
        self.meta: dict[str, dict] = group["consolidated_metadata"]["metadata"]
        self.attrs = group.get("attributes", {})

    def _verified(self, rel: str, data: bytes | None, parse):
        try:
            return parse(data)
        except Damage as exc:
            raise DamagedObject(self.objects.url(f"{self.key}/{rel}"), str(exc)) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise DamagedObject(self.objects.url(f"{self.key}/{rel}"),
                                f"cannot be decoded ({type(exc).__name__})") from None

    def verify(self, rel: str, data: bytes | None) -> bytes | None:
        """``data`` of the part's object ``rel`` if it matches the manifest (None: an object
        never written, i.e. fill values); :class:`DamagedObject` if not."""
        if self.manifest is None:
            return data
        if rel not in self.manifest:
            if data is None:
                return None
            raise DamagedObject(self.objects.url(f"{self.key}/{rel}"), "not in the part's manifest")
        return self._verified(rel, data, lambda d: (check(d, *self.manifest[rel]), d)[1])

    def __contains__(self, name: str) -> bool:
        return name in self.meta

    def read(self, names: list[str], lo: int, hi: int,
             damaged: list[tuple[str, int, int, str]] | None = None) -> dict[str, np.ndarray]:
        """Rows [lo, hi) of each array (whole arrays for those not along ``time``).

        A damaged chunk raises :class:`DamagedObject`, unless ``damaged`` is a list: then the
        chunk reads as fill values and ``(name, first row, end row, problem)`` is appended.
        """
        plan: list[tuple[str, int, str]] = []
        for name in names:
            m = self.meta[name]
            c0 = m["chunk_grid"]["configuration"]["chunk_shape"][0]
            along_time = m["dimension_names"][0] == "time"
            a, b = (lo, hi) if along_time else (0, m["shape"][0])
            rest = "/0" * (len(m["shape"]) - 1)
            for k in range(a // c0, (b - 1) // c0 + 1 if b > a else a // c0):
                plan.append((name, k, f"{self.key}/{name}/c/{k}{rest}"))
        got = self.objects.get_many([p[2] for p in plan])
        out: dict[str, np.ndarray] = {}
        for name in names:
            m = self.meta[name]
            shape = m["shape"]
            chunks = m["chunk_grid"]["configuration"]["chunk_shape"]
            dtype = np.dtype(m["data_type"])
            fill = m["fill_value"]
            fill = np.nan if fill == "NaN" else fill
            along_time = m["dimension_names"][0] == "time"
            a, b = (lo, hi) if along_time else (0, shape[0])
            arr = np.full((max(0, b - a), *shape[1:]), fill, dtype)
            c0 = chunks[0]
            for pname, k, okey in plan:
                if pname != name:
                    continue
                s0, s1 = max(a, k * c0), min(b, (k + 1) * c0)
                try:
                    data = self.verify(okey[len(self.key) + 1:], got[okey])
                    if data is None:
                        continue  # never written: fill value
                    block = self._verified(okey[len(self.key) + 1:], data, lambda d: np.frombuffer(
                        _BLOSC.decode(d), dtype).reshape(chunks))
                except DamagedObject as exc:
                    if damaged is None:
                        raise
                    damaged.append((name, s0, s1, str(exc)))
                    continue
                arr[s0 - a:s1 - a] = block[s0 - k * c0:s1 - k * c0]
            out[name] = arr
        return out


_BLOSC = numcodecs.Blosc()


def read_part(objects: ObjectStore, entry: dict, *, start: int | None = None, end: int | None = None,
              quantities: list[str] | None = None, labels: list[str] | None = None,
              with_rrs: bool = True, with_maps: bool = False,
              damaged: list[tuple[str, int, int, str]] | None = None) -> Batch:
    """Rows of a part within [start, end] (inclusive, seconds), with the chosen columns.

    ``quantities``/``labels`` None means all that the part holds. Raises ``FileNotFoundError``
    when the part is gone (moved or deleted by a later compaction), :class:`DamagedObject`
    when one of its objects differs from its manifest (unless ``damaged`` collects the
    damaged chunks, see :meth:`_PartReader.read`).
    """
    r = _PartReader(objects, entry)
    t = r.read(["time"], 0, r.meta["time"]["shape"][0])["time"]
    i0 = 0 if start is None else int(np.searchsorted(t, start, "left"))
    i1 = t.size if end is None else int(np.searchsorted(t, end, "right"))
    meta = r.meta
    qs = [q for q in (quantities if quantities is not None else meta) if q in meta
          and q not in _SPECIAL and "categories" not in meta[q]["attributes"]]
    ls = [k for k in (labels if labels is not None else meta) if k in meta
          and "categories" in meta[k]["attributes"]]
    names = ["write_stamp", *qs, *ls]
    if with_rrs and "rrs" in meta:
        names += ["rrs", "wavelength"]
    if with_maps and "maps" in meta and i1 > i0:
        names.append("maps")
    cols = r.read(names, i0, i1, damaged)
    b = Batch(t[i0:i1], cols["write_stamp"])
    for q in qs:
        b.values[q] = cols[q]
    for k in ls:
        b.labels[k] = (cols[k].astype("int32"), list(meta[k]["attributes"]["categories"]))
    if "rrs" in cols:
        b.wavelength = cols["wavelength"].astype("float64")
        b.rrs = cols["rrs"]
    if "maps" in cols:
        maps = cols["maps"]
        have = np.isfinite(maps).reshape(maps.shape[0], -1).any(axis=1)
        b.map_rows = np.flatnonzero(have).astype("int64")
        b.maps = maps[have]
        b.map_params = list(meta["maps"]["attributes"]["map_parameters"])
    return b


_SPECIAL = frozenset({"time", "write_stamp", "rrs", "wavelength", "maps", "map_parameter",
                      "map_y", "map_x"})


def head_bytes(generation: int, parts: list[dict], stamp: int, merged: list[str] | None = None) -> bytes:
    """The JSON of a head: the parts in force, the journal and segment objects merged into
    them (so that leftovers of a killed compaction are known to be copies), its checksum."""
    return seal({"generation": generation, "committed_at_ns": stamp,
                 "parts": sorted(parts, key=lambda p: p["start"]), "merged": sorted(merged or [])})


