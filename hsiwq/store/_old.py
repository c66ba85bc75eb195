"""The per-site result store (Zarr v3).

Layout of ``<site>.zarr`` (one group per site):

- ``time`` (time) int64 — acquisition time [s since 1970-01-01 UTC];
- ``values`` (time, quantity) float32 — every numeric result of an acquisition (the 11
  parameters, their interval bounds and out-of-domain flags, QC and geometry figures);
- ``labels`` (time, label) int16 — categorical results (verdict, reject reason, model
  version) as codes into vocabularies kept in the group attributes;
- ``rrs`` (time, wavelength) float32 — the ROI-median Rrs spectrum [sr-1], for matchups;
- ``quantity``, ``label``, ``wavelength`` — coordinates naming the columns.

Arrays are pre-allocated along ``time`` in whole chunks. A write puts the record in the row
after the last committed one, then commits it by rewriting the group attributes
(``n_records``, vocabularies) in one atomic object write. A writer killed before the commit
leaves the store as it was; rows past ``n_records`` are never read. Reprocessing the same
acquisition time appends a newer row; reads keep the newest row per time and return rows in
time order, so results are keyed by (site, time) and never duplicated. Writers of one store
are serialised by an ``fcntl`` lock beside it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from .errors import StoreError
from .params import PARAMETERS

STORE_VERSION = 1
TIME_CHUNK = 4096
RRS_TIME_CHUNK = 512
VALUES_QUANTITY_CHUNK = 8
TIME_UNITS = "seconds since 1970-01-01T00:00:00Z"

#: Numeric quantities besides the parameters, with units and long names.
EXTRA_QUANTITIES: dict[str, tuple[str, str]] = {
    "valid_fraction": ("1", "fraction of ROI pixels that are valid water"),
    "n_valid": ("1", "number of valid water pixels in the ROI"),
    "rho": ("1", "sky-glint reflectance factor used"),
    "sun_zenith_deg": ("degree", "solar zenith angle"),
    "sun_azimuth_deg": ("degree", "solar azimuth angle (clockwise from north)"),
    "view_zenith_deg": ("degree", "water camera viewing zenith angle"),
    "wind_speed_ms": ("m s-1", "wind speed"),
    "water_level_m": ("m", "water level"),
    "processed_at": ("s since 1970-01-01", "time the record was written"),
}
LABELS: tuple[str, ...] = ("verdict", "reason", "model_version")


def default_quantities() -> tuple[str, ...]:
    """Column names of ``values``: each parameter with ``_lo``, ``_hi``, ``_ood``, then extras."""
    cols: list[str] = []
    for pid in PARAMETERS:
        cols += [pid, f"{pid}_lo", f"{pid}_hi", f"{pid}_ood"]
    return tuple(cols) + tuple(EXTRA_QUANTITIES)


def quantity_attrs(name: str) -> dict[str, str]:
    """CF-style attributes of one quantity."""
    base, _, suffix = name.rpartition("_") if name.endswith(("_lo", "_hi", "_ood")) else (name, "", "")
    if base in PARAMETERS:
        p = PARAMETERS[base]
        if suffix == "ood":
            return {"long_name": f"{p.name}: out of the model's domain (1) or not (0)", "units": "1"}
        what = {"lo": "lower bound of the 68 % interval of ", "hi": "upper bound of the 68 % interval of "}
        attrs = {"long_name": what.get(suffix, "") + p.name, "units": p.unit}
        if not p.optically_active:
            attrs["comment"] = "not optically active: estimated from regional covariance (lower confidence)"
        return attrs
    units, long_name = EXTRA_QUANTITIES.get(name, ("1", name))
    return {"long_name": long_name, "units": units}


@dataclass
class Record:
    """One acquisition's results, as written to the store.

    Attributes
    ----------
    time : datetime
        Acquisition time (UTC).
    values : mapping of str to float
        Numeric results by quantity name (missing ones are stored as NaN).
    labels : mapping of str to str
        Categorical results: ``verdict``, ``reason``, ``model_version``.
    rrs : ndarray or None
        ROI-median Rrs [sr-1] on ``wavelength``.
    wavelength : ndarray or None
        Band centres of ``rrs`` [nm].
    """

    time: datetime
    values: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    rrs: np.ndarray | None = None
    wavelength: np.ndarray | None = None


def _epoch_seconds(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return int(round(t.timestamp()))


class SiteStore:
    """Reader and writer of one site's Zarr store.

    Parameters
    ----------
    path : path
        The ``<site>.zarr`` folder.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # --- locking ------------------------------------------------------------------------
    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # --- creation -----------------------------------------------------------------------
    def _create(self, wavelength: np.ndarray) -> zarr.Group:
        quantities = default_quantities()
        g = zarr.open_group(self.path, mode="w", zarr_format=3)
        t = g.create_array("time", shape=(0,), chunks=(TIME_CHUNK,), dtype="int64",
                           fill_value=np.iinfo(np.int64).min, dimension_names=("time",),
                           attributes={"units": TIME_UNITS, "calendar": "proleptic_gregorian",
                                       "standard_name": "time", "long_name": "acquisition time"})
        del t
        g.create_array("values", shape=(0, len(quantities)),
                       chunks=(TIME_CHUNK, VALUES_QUANTITY_CHUNK), dtype="float32",
                       fill_value=np.nan, dimension_names=("time", "quantity"),
                       attributes={"long_name": "numeric results per acquisition",
                                   "units_by_quantity": [quantity_attrs(q)["units"] for q in quantities]})
        g.create_array("labels", shape=(0, len(LABELS)), chunks=(TIME_CHUNK, len(LABELS)),
                       dtype="int16", fill_value=-1, dimension_names=("time", "label"),
                       attributes={"long_name": "categorical results as codes into the group's "
                                                "'vocabularies' attribute (-1: none)"})
        g.create_array("rrs", shape=(0, wavelength.size), chunks=(RRS_TIME_CHUNK, wavelength.size),
                       dtype="float32", fill_value=np.nan, dimension_names=("time", "wavelength"),
                       attributes={"long_name": "ROI-median remote-sensing reflectance",
                                   "units": "sr-1"})
        for name, vals in (("quantity", quantities), ("label", LABELS)):
            arr = g.create_array(name, shape=(len(vals),), dtype=str, dimension_names=(name,))
            arr[:] = np.array(vals)
        wl = g.create_array("wavelength", shape=wavelength.shape, dtype="float32",
                            dimension_names=("wavelength",), attributes={"units": "nm"})
        wl[:] = wavelength.astype("float32")
        g.attrs.update({"hsiwq_store_version": STORE_VERSION, "n_records": 0,
                        "vocabularies": {k: [] for k in LABELS},
                        "Conventions": "CF-1.10",
                        "comment": "Read with hsiwq.store.SiteStore(path).read(): rows past "
                                   "n_records are unused; the newest row per time wins."})
        return g

    def _open(self, mode: str = "r") -> zarr.Group:
        try:
            g = zarr.open_group(self.path, mode=mode, zarr_format=3)
        except (FileNotFoundError, zarr.errors.GroupNotFoundError):
            raise StoreError(self.path, "no store here (nothing has been written for this site yet)") from None
        if g.attrs.get("hsiwq_store_version") != STORE_VERSION:
            raise StoreError(self.path, "not an hsiwq store of version "
                                        f"{STORE_VERSION} (found {g.attrs.get('hsiwq_store_version')!r})")
        return g

    def exists(self) -> bool:
        return (self.path / "zarr.json").is_file()

    # --- writing ------------------------------------------------------------------------
    def write(self, record: Record) -> int:
        """Write (or replace) the record of one acquisition time; returns its row number."""
        with self._lock():
            if self.exists():
                g = self._open("r+")
            else:
                if record.wavelength is None:
                    raise StoreError(self.path, "the first record of a store must carry its Rrs wavelengths")
                g = self._create(np.asarray(record.wavelength, dtype=float))
            return self._write_row(g, record)

    def _write_row(self, g: zarr.Group, record: Record) -> int:
        quantities = [str(q) for q in g["quantity"][:]]
        unknown = set(record.values) - set(quantities)
        if unknown:
            raise StoreError(self.path, f"unknown quantities {sorted(unknown)}")
        n = int(g.attrs["n_records"])
        arrays = [g["time"], g["values"], g["labels"], g["rrs"]]
        if n >= arrays[0].shape[0]:
            for arr in arrays:
                arr.resize((n + TIME_CHUNK, *arr.shape[1:]))
        row = np.full(len(quantities), np.nan, dtype="float32")
        for i, q in enumerate(quantities):
            if q in record.values and record.values[q] is not None:
                row[i] = record.values[q]
        vocab = {k: list(v) for k, v in g.attrs["vocabularies"].items()}
        codes = np.full(len(LABELS), -1, dtype="int16")
        for i, name in enumerate(LABELS):
            value = record.labels.get(name)
            if value is None:
                continue
            words = vocab.setdefault(name, [])
            if value not in words:
                words.append(str(value))
            codes[i] = words.index(value)
        spectrum = np.full(g["rrs"].shape[1], np.nan, dtype="float32")
        if record.rrs is not None and record.wavelength is not None:
            spectrum[:] = np.interp(g["wavelength"][:], record.wavelength, record.rrs,
                                    left=np.nan, right=np.nan)
        g["time"][n] = _epoch_seconds(record.time)
        g["values"][n, :] = row
        g["labels"][n, :] = codes
        g["rrs"][n, :] = spectrum
        g.attrs.update({"n_records": n + 1, "vocabularies": vocab})  # the commit
        return n

    # --- reading ------------------------------------------------------------------------
    def read(self, start: datetime | None = None, end: datetime | None = None,
             quantities: list[str] | None = None, with_rrs: bool = True) -> xr.Dataset:
        """The site's results in time order, one row per acquisition time.

        Parameters
        ----------
        start, end : datetime, optional
            Inclusive time bounds (UTC).
        quantities : list of str, optional
            Numeric quantities to read (default: all).
        with_rrs : bool
            Whether to read the ROI spectra.

        Returns
        -------
        xarray.Dataset
            One variable per quantity (CF attributes), the labels as strings, and ``rrs``.
        """
        g = self._open("r")
        n = int(g.attrs["n_records"])
        secs = g["time"][:n]
        rows = _latest_rows(secs)
        if start is not None:
            rows = rows[secs[rows] >= _epoch_seconds(start)]
        if end is not None:
            rows = rows[secs[rows] <= _epoch_seconds(end)]
        all_q = [str(q) for q in g["quantity"][:]]
        wanted = all_q if quantities is None else quantities
        missing = set(wanted) - set(all_q)
        if missing:
            raise StoreError(self.path, f"no such quantity {sorted(missing)}")
        lo, hi = (int(rows.min()), int(rows.max()) + 1) if rows.size else (0, 0)
        block = g["values"][lo:hi, :] if quantities is None else None
        times = (secs[rows].astype("int64") * 1_000_000_000).astype("datetime64[ns]")
        data_vars: dict[str, xr.DataArray] = {}
        for q in wanted:
            col = all_q.index(q)
            vals = block[rows - lo, col] if block is not None else g["values"][lo:hi, col][rows - lo]
            data_vars[q] = xr.DataArray(vals, dims="time", attrs=quantity_attrs(q))
        labels = g["labels"][lo:hi, :][rows - lo] if rows.size else np.zeros((0, len(LABELS)), "int16")
        vocab = g.attrs["vocabularies"]
        for i, name in enumerate(LABELS):
            words = np.array(list(vocab.get(name, [])) + [""], dtype=object)
            data_vars[name] = xr.DataArray(words[labels[:, i]], dims="time")
        coords = {"time": times}
        if with_rrs:
            rrs = g["rrs"][lo:hi, :][rows - lo] if rows.size else np.zeros((0, g["rrs"].shape[1]), "f4")
            coords["wavelength"] = g["wavelength"][:].astype(float)
            data_vars["rrs"] = xr.DataArray(rrs, dims=("time", "wavelength"),
                                            attrs={"long_name": "ROI-median remote-sensing reflectance",
                                                   "units": "sr-1"})
        return xr.Dataset(data_vars, coords=coords, attrs={"store": str(self.path)})


def _latest_rows(secs: np.ndarray) -> np.ndarray:
    """Row indices keeping the newest row of each time, ordered by time."""
    if secs.size == 0:
        return np.zeros(0, dtype=int)
    rev = secs[::-1]
    _, first_in_rev = np.unique(rev, return_index=True)  # sorted by time
    return (secs.size - 1 - first_in_rev).astype(int)
