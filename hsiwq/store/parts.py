"""Compacted history: one immutable Zarr group per calendar month ("part").

A part holds the rows of one UTC month, one per acquisition time, in time order, written once
by compaction and never modified (a compaction writes a new part and commits it by writing a
new head, see :mod:`.site`). Each column is its own 1-D array along ``time`` with CF
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
import warnings
from dataclasses import dataclass

import numpy as np
import zarr

from .batch import Batch, quantity_dtype
from .objects import ObjectStore
from .schema import LABELS, QUANTITIES, flag_meaning, label_attrs, quantity_attrs

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

    def codecs(self, dtype: np.dtype) -> list:
        shuffle = "bitshuffle" if np.dtype(dtype).kind in "iu" else "shuffle"
        return [zarr.codecs.BloscCodec(cname=self.cname, clevel=self.clevel, shuffle=shuffle,
                                       typesize=np.dtype(dtype).itemsize)]


DEFAULT_LAYOUT = Layout()


def period_of(secs: np.ndarray) -> np.ndarray:
    """The UTC month ("YYYY-MM") of each time [s since 1970]."""
    return np.datetime_as_string(np.asarray(secs, "int64").astype("datetime64[s]").astype("datetime64[M]"),
                                 unit="M")


def write_part(objects: ObjectStore, key: str, batch: Batch, *, site: str = "",
               layout: Layout = DEFAULT_LAYOUT) -> dict:
    """Write a sorted, de-duplicated batch as a new Zarr group at ``key``; returns its entry.

    Returns
    -------
    dict
        ``{"key", "start", "end", "rows"}`` for the head.
    """
    n = len(batch)
    store = objects.zarr_store(key, read_only=False)
    g = zarr.open_group(store=store, mode="w", zarr_format=3)
    tchunk = max(1, min(layout.time_chunk, n))

    def col(name: str, data: np.ndarray, attrs: dict, fill, chunks=None, dims=("time",)) -> None:
        text = data.dtype.kind in "OUS"
        a = g.create_array(name, shape=data.shape, dtype=str if text else data.dtype,
                           chunks=chunks or (tchunk,), fill_value=fill,
                           compressors=None if text else layout.codecs(data.dtype),
                           dimension_names=dims, attributes=attrs)
        if data.size:
            a[...] = data

    col("time", batch.time, {"units": TIME_UNITS, "calendar": "proleptic_gregorian",
                             "standard_name": "time", "long_name": "acquisition time", "axis": "T"},
        np.iinfo("int64").min)
    col("write_stamp", batch.stamp, {"units": STAMP_UNITS, "calendar": "proleptic_gregorian",
                                     "long_name": "time the row was written (the newest row "
                                                  "of an acquisition time wins)"},
        np.iinfo("int64").min)
    for name in QUANTITIES:  # every column, so that a notebook sees the whole schema
        v = batch.values.get(name)
        v = np.full(n, np.nan, quantity_dtype(name)) if v is None else v
        col(name, v.astype(quantity_dtype(name), copy=False), quantity_attrs(name), np.nan)
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
            {"units": "nm", "long_name": "band centre"}, np.nan, chunks=(batch.wavelength.size,),
            dims=("wavelength",))
        col("rrs", batch.rrs, {"units": "sr-1", "long_name": "ROI-median remote-sensing reflectance",
                               "standard_name": "surface_ratio_of_upwelling_radiance_emerging_from_"
                                                "sea_water_to_downwelling_radiative_flux_in_air"},
            np.nan, chunks=(max(1, min(layout.rrs_chunk, n)), batch.rrs.shape[1]),
            dims=("time", "wavelength"))
    if batch.maps is not None and batch.map_rows.size:
        p = len(batch.map_params)
        ny, nx = batch.maps.shape[2:]
        col("map_parameter", np.array(batch.map_params, dtype=object),
            {"long_name": "parameter of the map"}, "", chunks=(p,), dims=("map_parameter",))
        for dim, size in (("map_y", ny), ("map_x", nx)):
            col(dim, ((np.arange(size) + 0.5) / size).astype("float32"),
                {"units": "1", "long_name": f"cell centre as a fraction of the image "
                                            f"{'height' if dim == 'map_y' else 'width'}"},
                np.nan, chunks=(size,), dims=(dim,))
        a = g.create_array("maps", shape=(n, p, ny, nx), dtype="float32", chunks=(1, p, ny, nx),
                           fill_value=np.nan, compressors=layout.codecs(np.float32),
                           dimension_names=("time", "map_parameter", "map_y", "map_x"),
                           attributes={"long_name": "downsampled parameter maps (NaN: none)",
                                       "comment": "block means over the camera image; units "
                                                  "those of each parameter"})
        for i, row in enumerate(batch.map_rows):
            a[int(row)] = batch.maps[i]
    start, end = (int(batch.time[0]), int(batch.time[-1])) if n else (0, -1)
    g.attrs.update({"Conventions": "CF-1.10", "title": f"hsiwq results of site {site}".strip(),
                    "site": site, "hsiwq_part_version": PART_VERSION, "rows": n,
                    "time_coverage_start": str(np.datetime64(start, "s")) + "Z",
                    "time_coverage_end": str(np.datetime64(end, "s")) + "Z",
                    "comment": "one immutable monthly part of an hsiwq site store; read the "
                               "whole series with hsiwq.store.open_series()"})
    with warnings.catch_warnings():  # consolidated metadata: not in the v3 spec yet
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(store)
    return {"key": key, "start": start, "end": end, "rows": n}


def read_part(objects: ObjectStore, entry: dict, *, start: int | None = None, end: int | None = None,
              quantities: list[str] | None = None, labels: list[str] | None = None,
              with_rrs: bool = True, with_maps: bool = False) -> Batch:
    """Rows of a part within [start, end] (inclusive, seconds), with the chosen columns.

    ``quantities``/``labels`` None means all that the part holds. Raises ``FileNotFoundError``
    when the part is gone (deleted by a later compaction).
    """
    store = objects.zarr_store(entry["key"], read_only=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = zarr.open_group(store=store, mode="r", use_consolidated=True)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError) as exc:
        raise FileNotFoundError(entry["key"]) from exc
    members = dict(g.arrays())
    t = members["time"][...]
    i0 = 0 if start is None else int(np.searchsorted(t, start, "left"))
    i1 = t.size if end is None else int(np.searchsorted(t, end, "right"))
    sl = slice(i0, i1)
    b = Batch(t[sl], members["write_stamp"][sl])
    qs = [q for q in (quantities if quantities is not None else members) if q in members
          and q not in _SPECIAL and "categories" not in members[q].attrs]
    for q in qs:
        b.values[q] = members[q][sl]
    ls = [k for k in (labels if labels is not None else members) if k in members
          and "categories" in members[k].attrs]
    for k in ls:
        b.labels[k] = (members[k][sl].astype("int32"), list(members[k].attrs["categories"]))
    if with_rrs and "rrs" in members:
        b.wavelength = members["wavelength"][...].astype("float64")
        b.rrs = members["rrs"][sl, :]
    if with_maps and "maps" in members and i1 > i0:
        maps = members["maps"][sl]
        have = np.isfinite(maps).reshape(maps.shape[0], -1).any(axis=1)
        b.map_rows = np.flatnonzero(have).astype("int64")
        b.maps = maps[have]
        b.map_params = [str(p) for p in members["map_parameter"][...]]
    return b


_SPECIAL = frozenset({"time", "write_stamp", "rrs", "wavelength", "maps", "map_parameter",
                      "map_y", "map_x"})


def head_bytes(generation: int, parts: list[dict], stamp: int) -> bytes:
    """The JSON of a head (the list of parts in force)."""
    return json.dumps({"generation": generation, "committed_at_ns": stamp,
                       "parts": sorted(parts, key=lambda p: p["start"])}, indent=1).encode()


