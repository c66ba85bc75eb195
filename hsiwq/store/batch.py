"""Columnar batches of records: the unit the store writes, merges and reads.

A batch holds rows of records (acquisition time, write stamp, quantity columns, label
columns as codes into per-batch vocabularies, ROI spectra and optional maps). A journal entry
is a batch of one row; a segment is a batch of many; both are serialised as one ``.npz``
object, so that writing one is atomic. ``latest`` keeps, for each acquisition time, the row
with the newest write stamp: this is how the store's keying by (site, time) is enforced.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from ..timeutil import parse_time
from .integrity import Damage, crc32c
from .schema import MAP_SHAPE, Record, check_names

#: Quantities kept in float64 (float32 would round them to minutes).
FLOAT64_QUANTITIES = frozenset({"processed_at"})


def epoch_seconds(t: datetime | np.datetime64 | str) -> int:
    """Whole seconds since 1970-01-01 UTC of a time (naive datetimes are UTC)."""
    if isinstance(t, str):
        t = parse_time(t)
    if isinstance(t, np.datetime64):
        return int(t.astype("datetime64[s]").astype("int64"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return int(math.floor(t.timestamp() + 0.5))


def quantity_dtype(name: str) -> np.dtype:
    return np.dtype("float64" if name in FLOAT64_QUANTITIES else "float32")


def resample_map(arr: np.ndarray, shape: tuple[int, int] = MAP_SHAPE) -> np.ndarray:
    """Block-average (NaN-aware) a 2-D map onto ``shape`` cells covering the whole image."""
    a = np.asarray(arr, dtype="float64")
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"a map must be a non-empty 2-D array, not shape {a.shape}")
    if a.shape == tuple(shape):
        return a.astype("float32")

    def edges(n_in: int, n_out: int) -> np.ndarray:
        e = np.floor(np.arange(n_out) * n_in / n_out).astype(int)
        return np.minimum(e, n_in - 1)

    ey, ex = edges(a.shape[0], shape[0]), edges(a.shape[1], shape[1])
    finite = np.isfinite(a)
    s = np.add.reduceat(np.add.reduceat(np.where(finite, a, 0.0), ey, axis=0), ex, axis=1)
    c = np.add.reduceat(np.add.reduceat(finite.astype(float), ey, axis=0), ex, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / c, np.nan).astype("float32")


@dataclass
class Batch:
    """Rows of records, column by column.

    Attributes
    ----------
    time : ndarray of int64
        Acquisition times [s since 1970-01-01 UTC].
    stamp : ndarray of int64
        Write stamps [ns since 1970-01-01 UTC]; the newest row of a time wins.
    values : dict of str to ndarray
        Quantity columns (float32; float64 for :data:`FLOAT64_QUANTITIES`).
    labels : dict of str to (codes, vocabulary)
        Label columns: int32 codes (-1: none) into a list of strings.
    wavelength : ndarray or None
        Band centres of ``rrs`` [nm].
    rrs : ndarray or None
        ROI spectra, shape (n, n_wavelength) [sr-1].
    map_rows : ndarray of int
        Rows that have maps.
    maps : ndarray or None
        Maps of those rows, shape (len(map_rows), n_map_params, *MAP_SHAPE).
    map_params : list of str
        Parameter ids of the maps' second axis.
    """

    time: np.ndarray
    stamp: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    wavelength: np.ndarray | None = None
    rrs: np.ndarray | None = None
    map_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    maps: np.ndarray | None = None
    map_params: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.time.size)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def empty(cls) -> Batch:
        return cls(np.zeros(0, "int64"), np.zeros(0, "int64"))

    @classmethod
    def from_record(cls, record: Record, stamp: int) -> Batch:
        """A one-row batch (raises ``ValueError`` on unknown names or bad shapes)."""
        check_names(record.values, record.labels)
        values = {k: np.array([np.nan if v is None else v], dtype=quantity_dtype(k))
                  for k, v in record.values.items()}
        labels = {k: (np.array([0 if v is not None else -1], "int32"), [str(v)] if v is not None else [])
                  for k, v in record.labels.items()}
        wl = rrs = None
        if record.rrs is not None:
            rrs = np.asarray(record.rrs, dtype="float32").reshape(1, -1)
            if record.wavelength is None or np.size(record.wavelength) != rrs.shape[1]:
                raise ValueError("rrs needs a wavelength array of the same length")
            wl = np.asarray(record.wavelength, dtype="float64").ravel()
        b = cls(np.array([epoch_seconds(record.time)], "int64"), np.array([stamp], "int64"),
                values, labels, wl, rrs)
        if record.maps:
            params = sorted(record.maps)
            b.map_params = params
            b.map_rows = np.zeros(1, "int64")
            b.maps = np.stack([resample_map(record.maps[p]) for p in params])[None]
        return b

    @classmethod
    def from_arrays(cls, time: Sequence[object] | np.ndarray, stamp: int | np.ndarray,
                    values: Mapping[str, np.ndarray] | None = None,
                    labels: Mapping[str, Sequence[str] | np.ndarray] | None = None,
                    rrs: np.ndarray | None = None, wavelength: np.ndarray | None = None) -> Batch:
        """A batch from columns (bulk loading, e.g. history imports or benchmarks).

        Parameters
        ----------
        time : array of datetime64, datetime or int seconds
            Acquisition times.
        stamp : int or array of int
            Write stamp(s) [ns].
        values, labels : mappings of name to column
            Quantity columns (numbers) and label columns (strings).
        rrs, wavelength : ndarray, optional
            Spectra (n, n_wl) and their band centres.
        """
        t = np.asarray(time)
        if np.issubdtype(t.dtype, np.datetime64):
            secs = t.astype("datetime64[s]").astype("int64")
        elif np.issubdtype(t.dtype, np.integer):
            secs = t.astype("int64")
        else:
            secs = np.array([epoch_seconds(x) for x in t], "int64")
        n = secs.size
        check_names(values or {}, labels or {})
        vals = {k: np.asarray(v, dtype=quantity_dtype(k)).reshape(n) for k, v in (values or {}).items()}
        labs: dict[str, tuple[np.ndarray, list[str]]] = {}
        for k, col in (labels or {}).items():
            arr = np.asarray(col, dtype=object).reshape(n)
            vocab, codes = np.unique(arr.astype(str), return_inverse=True)
            labs[k] = (codes.astype("int32"), [str(w) for w in vocab])
        st = np.broadcast_to(np.asarray(stamp, "int64"), (n,)).copy()
        r = None if rrs is None else np.asarray(rrs, "float32").reshape(n, -1)
        wl = None if wavelength is None else np.asarray(wavelength, "float64").ravel()
        return cls(secs, st, vals, labs, wl, r)

    # --- row operations -----------------------------------------------------------------
    def take(self, idx: np.ndarray) -> Batch:
        """The rows ``idx`` (an integer index array), in that order."""
        idx = np.asarray(idx, dtype="int64")
        b = Batch(self.time[idx], self.stamp[idx],
                  {k: v[idx] for k, v in self.values.items()},
                  {k: (c[idx], vocab) for k, (c, vocab) in self.labels.items()},
                  self.wavelength, None if self.rrs is None else self.rrs[idx])
        if self.maps is not None and self.map_rows.size:
            pos = np.full(len(self), -1, "int64")
            pos[idx] = np.arange(idx.size)
            new_rows = pos[self.map_rows]
            keep = new_rows >= 0
            if keep.any():
                b.map_rows = new_rows[keep]
                b.maps = self.maps[keep]
                b.map_params = list(self.map_params)
        return b

    def latest(self) -> Batch:
        """One row per time, the newest write stamp winning, in time order."""
        if len(self) == 0:
            return self
        order = np.lexsort((self.stamp, self.time))  # by time, then stamp
        t = self.time[order]
        last = np.ones(t.size, bool)
        last[:-1] = t[1:] != t[:-1]
        return self.take(order[last])

    def label_strings(self, name: str) -> np.ndarray:
        """A label column as an object array of strings ("" where missing)."""
        if name not in self.labels:
            return np.full(len(self), "", dtype=object)
        codes, vocab = self.labels[name]
        words = np.array(list(vocab) + [""], dtype=object)
        return words[codes]

    # --- serialisation ------------------------------------------------------------------
    def to_bytes(self, compress: bool = False) -> bytes:
        """The batch as one self-describing byte string (see :func:`pack`)."""
        n = len(self)
        qnames = sorted(self.values)
        lnames = sorted(self.labels)
        arrays: dict[str, np.ndarray] = {
            "time": self.time, "stamp": self.stamp,
            "qvals": (np.stack([self.values[k].astype("float64") for k in qnames], axis=1)
                      if qnames else np.zeros((n, 0))),
            "lcodes": (np.stack([self.labels[k][0] for k in lnames], axis=1).astype("int32")
                       if lnames else np.zeros((n, 0), "int32")),
        }
        meta: dict[str, object] = {
            "qnames": qnames, "lnames": lnames,
            "lwords": [list(self.labels[k][1]) for k in lnames]}
        if self.rrs is not None:
            arrays["rrs"] = self.rrs
            arrays["wavelength"] = self.wavelength
        if self.maps is not None and self.map_rows.size:
            arrays["map_rows"] = self.map_rows
            arrays["maps"] = self.maps
            meta["map_params"] = list(self.map_params)
        return pack(arrays, meta, compress=compress)

    @classmethod
    def from_bytes(cls, data: bytes) -> Batch:
        """The batch serialised by :meth:`to_bytes`."""
        arrays, meta = unpack(data)
        b = cls(arrays["time"], arrays["stamp"])
        qvals = arrays["qvals"]
        for j, k in enumerate(meta["qnames"]):
            b.values[k] = qvals[:, j].astype(quantity_dtype(k))
        lcodes = arrays["lcodes"]
        for j, (k, words) in enumerate(zip(meta["lnames"], meta["lwords"])):
            b.labels[k] = (lcodes[:, j].copy(), list(words))
        if "rrs" in arrays:
            b.rrs = arrays["rrs"]
            b.wavelength = arrays["wavelength"]
        if "maps" in arrays:
            b.map_rows = arrays["map_rows"]
            b.maps = arrays["maps"]
            b.map_params = list(meta["map_params"])
        return b


_MAGIC_V1 = b"HSIWQB1\n"  # written before checksums: read unverified
_MAGIC = b"HSIWQB2\n"
_FIXED = len(_MAGIC) + 16  # magic, total length (8 bytes), CRC-32C (4), header length (4)


def pack(arrays: Mapping[str, np.ndarray], meta: Mapping[str, object], *, compress: bool = False) -> bytes:
    """Arrays and JSON metadata as one byte string that checks itself.

    Layout: magic, total length, CRC-32C of everything after the fixed fields, header
    length, JSON header, data. No pickles, one object per batch; ``compress`` deflates the
    data part (level 1).
    """
    header = dict(meta)
    specs, chunks, offset = [], [], 0
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        specs.append([name, a.dtype.str, list(a.shape), offset, a.nbytes])
        chunks.append(a.tobytes())
        offset += a.nbytes
    header["arrays"] = specs
    payload = b"".join(chunks)
    if compress:
        payload = zlib.compress(payload, 1)
        header["zlib"] = True
    head = json.dumps(header, separators=(",", ":")).encode()
    body = len(head).to_bytes(4, "little") + head + payload
    crc = crc32c(body)
    return _MAGIC + (_FIXED - 4 + len(body)).to_bytes(8, "little") + crc.to_bytes(4, "little") + body


def unpack(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata of :func:`pack`.

    Raises
    ------
    Damage
        If the bytes are empty, truncated, changed or not a batch (the message says which).
    """
    if not data:
        raise Damage("empty (0 bytes)")
    if data.startswith(_MAGIC):
        total = int.from_bytes(data[8:16], "little")
        if len(data) < total:
            raise Damage(f"truncated ({len(data):,} of {total:,} bytes)")
        if len(data) > total:
            raise Damage(f"longer than written ({len(data):,} instead of {total:,} bytes)")
        if crc32c(data[_FIXED - 4:]) != int.from_bytes(data[16:20], "little"):
            raise Damage("checksum mismatch (the bytes changed after they were written)")
        k = _FIXED - 4
    elif data.startswith(_MAGIC_V1):
        k = len(_MAGIC_V1)
    else:
        raise Damage("not an hsiwq batch (unknown first bytes: overwritten or not ours)")
    try:
        size = int.from_bytes(data[k:k + 4], "little")
        header = json.loads(data[k + 4:k + 4 + size])
        payload = memoryview(data)[k + 4 + size:]
        if header.get("zlib"):
            payload = memoryview(zlib.decompress(payload))
        arrays = {}
        for name, dtype, shape, offset, nbytes in header["arrays"]:
            if offset + nbytes > len(payload):
                raise ValueError(f"array {name!r} runs past the end")
            arrays[name] = np.frombuffer(payload[offset:offset + nbytes], dtype=dtype).reshape(shape)
    except (ValueError, KeyError, TypeError, zlib.error) as exc:  # only unverified (v1) bytes
        raise Damage(f"cannot be decoded ({' '.join(str(exc).split())[:80]})") from None
    return arrays, header


def _regrid(rrs: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    if src.shape == dst.shape and np.allclose(src, dst):
        return rrs
    out = np.empty((rrs.shape[0], dst.size), "float32")
    for i in range(rrs.shape[0]):
        out[i] = np.interp(dst, src, rrs[i], left=np.nan, right=np.nan)
    return out


def concat(batches: Iterable[Batch], wavelength: np.ndarray | None = None) -> Batch:
    """Rows of several batches in one (columns united; spectra put on one wavelength grid).

    Parameters
    ----------
    batches : iterable of Batch
    wavelength : ndarray, optional
        The grid of the result's spectra (default: the first batch's that has spectra).
    """
    parts = [b for b in batches if len(b)]
    if not parts:
        return Batch.empty()
    if len(parts) == 1 and (wavelength is None or parts[0].wavelength is None
                            or _same(parts[0].wavelength, wavelength)):
        return parts[0]
    n = [len(b) for b in parts]
    total = sum(n)
    out = Batch(np.concatenate([b.time for b in parts]), np.concatenate([b.stamp for b in parts]))
    qnames = sorted({k for b in parts for k in b.values})
    for k in qnames:
        dt = quantity_dtype(k)
        out.values[k] = np.concatenate([b.values[k] if k in b.values else np.full(len(b), np.nan, dt)
                                        for b in parts]).astype(dt, copy=False)
    for k in sorted({k for b in parts for k in b.labels}):
        vocab: dict[str, int] = {}
        cols = []
        for b in parts:
            if k not in b.labels:
                cols.append(np.full(len(b), -1, "int32"))
                continue
            codes, words = b.labels[k]
            remap = np.array([vocab.setdefault(w, len(vocab)) for w in words] + [-1], "int32")
            cols.append(remap[codes])
        out.labels[k] = (np.concatenate(cols), list(vocab))
    grid = wavelength if wavelength is not None else next(
        (b.wavelength for b in parts if b.wavelength is not None), None)
    if grid is not None:
        out.wavelength = np.asarray(grid, "float64")
        out.rrs = np.concatenate([
            _regrid(b.rrs, b.wavelength, out.wavelength) if b.rrs is not None
            else np.full((len(b), out.wavelength.size), np.nan, "float32") for b in parts])
    with_maps = [b for b in parts if b.maps is not None and b.map_rows.size]
    if with_maps:
        params = sorted({p for b in with_maps for p in b.map_params})
        offsets = np.cumsum([0] + n[:-1])
        rows, blocks = [], []
        for b, off in zip(parts, offsets):
            if b.maps is None or not b.map_rows.size:
                continue
            block = np.full((b.map_rows.size, len(params), *b.maps.shape[2:]), np.nan, "float32")
            for j, p in enumerate(b.map_params):
                block[:, params.index(p)] = b.maps[:, j]
            rows.append(b.map_rows + off)
            blocks.append(block)
        out.map_rows = np.concatenate(rows)
        out.maps = np.concatenate(blocks)
        out.map_params = params
    assert out.time.size == total
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == np.shape(b) and bool(np.allclose(a, b))
