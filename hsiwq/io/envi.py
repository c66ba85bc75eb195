"""ENVI raster I/O through Spectral Python.

Writing is used by the simulator; reading validates the files of an acquisition bundle.
Spectral Python parses headers; the bulk read is a numpy memmap of the validated layout
followed by one transpose-and-cast to float32 (as fast as spectral's own ``open_memmap``, and
about ten times faster than its ``load``).

``read_envi(..., lazy=True)`` validates the same way but reads no data: the cube is an
:class:`EnviArray` (the memory-mapped raw counts, in the file's own dtype, byte order and
interleave) behind a lazily indexed DataArray. Anything that loads it (``.values``, slicing)
gets exactly the float32 values of the eager read; the radiometric kernel instead reads raw
blocks of lines with :meth:`EnviArray.raw_lines` and converts them in cache with
:meth:`EnviArray.to_float32`, so the file is traversed once and no full-size float32 copy of
the counts is made.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr
from spectral.io import envi
from xarray.backends import BackendArray
from xarray.core import indexing

from hsiwq.errors import BundleError

Interleave = Literal["bsq", "bil", "bip"]
ByteOrder = Literal["little", "big"]


def write_envi(
    hdr_path: str | Path,
    data: np.ndarray,
    wavelength_nm: Sequence[float],
    *,
    interleave: Interleave = "bsq",
    byteorder: ByteOrder = "little",
    dtype: str | np.dtype | None = None,
    fwhm_nm: Sequence[float] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a cube as an ENVI ``.hdr`` + ``.raw`` pair.

    Parameters
    ----------
    hdr_path : path
        Header file to write (must end in ``.hdr``); the data goes beside it with ``.raw``.
    data : ndarray
        Array of shape (lines, samples, bands) (a 1-D spectrum is written as 1 × 1 × bands).
    wavelength_nm : sequence of float
        Band centres [nm].
    interleave : {"bsq", "bil", "bip"}
        Interleave of the data file.
    byteorder : {"little", "big"}
        Byte order of the data file.
    dtype : dtype, optional
        Data type to store (default: ``data.dtype``).
    fwhm_nm : sequence of float, optional
        Band widths [nm].
    extra_metadata : mapping, optional
        Further header fields (e.g. ``bbl``, ``data ignore value``).

    Returns
    -------
    Path
        The header path.
    """
    hdr_path = Path(hdr_path)
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr.reshape(1, 1, -1)
    if arr.ndim != 3:
        raise ValueError(f"expected a (lines, samples, bands) array, got shape {arr.shape}")
    if len(wavelength_nm) != arr.shape[2]:
        raise ValueError("wavelength_nm must have one value per band")
    metadata: dict[str, Any] = {"wavelength": [f"{w:.4f}" for w in wavelength_nm],
                                "wavelength units": "Nanometers"}
    if fwhm_nm is not None:
        metadata["fwhm"] = [f"{w:.4f}" for w in fwhm_nm]
    if extra_metadata:
        metadata.update(extra_metadata)
    hdr_path.parent.mkdir(parents=True, exist_ok=True)
    envi.save_image(
        str(hdr_path), arr, dtype=np.dtype(dtype or arr.dtype), interleave=interleave,
        byteorder=byteorder, metadata=metadata, force=True, ext=".raw",
    )
    return hdr_path


#: ENVI ``data type`` codes that :func:`read_envi` reads (the complex types 6 and 9 are not).
ENVI_DTYPES: dict[int, np.dtype] = {
    1: np.dtype(np.uint8), 2: np.dtype(np.int16), 3: np.dtype(np.int32),
    4: np.dtype(np.float32), 5: np.dtype(np.float64), 12: np.dtype(np.uint16),
    13: np.dtype(np.uint32), 14: np.dtype(np.int64), 15: np.dtype(np.uint64),
}
_MANDATORY = ("samples", "lines", "bands", "data type", "interleave", "byte order")
_NANOMETERS = {"nanometers", "nanometer", "nm"}
_MICROMETERS = {"micrometers", "micrometer", "microns", "micron", "um", "\u00b5m", "\u03bcm"}
_UNSTATED = {"", "unknown"}
#: Axis permutation from each file layout to (line, sample, band).
_TO_YXB = {"bsq": (1, 2, 0), "bil": (0, 2, 1), "bip": (0, 1, 2)}


def read_envi(hdr_path: str | Path, *, name: str, lazy: bool = False) -> xr.DataArray:
    """Read and validate an ENVI cube as float32.

    The data file is ``<stem>.raw`` beside the header, or one of the names Spectral Python
    looks for (``<stem>``, ``<stem>.img``, ``.dat``, ``.bsq``, ...).

    Parameters
    ----------
    hdr_path : path
        The ``.hdr`` file.
    name : str
        Name of the returned array (e.g. ``"water"``).
    lazy : bool
        Read no data now: the array is backed by the memory-mapped file (an
        :class:`EnviArray`, see :func:`envi_source`) and loads, on access, the same values as
        the eager read. The header and the data file's size are validated all the same. The
        data file must stay readable while the array is used (the mapping survives a rename).

    Returns
    -------
    xarray.DataArray
        Values with dims ``(y, x, wavelength)``, float32 [file units, e.g. DN]; values equal
        to the header's ``data ignore value`` are NaN. Coordinates: ``wavelength`` [nm],
        strictly increasing (bands are reordered if the header lists them otherwise),
        ``good_band`` (bool, from ``bbl``; all True without it) and, if the header has
        ``fwhm``, ``fwhm`` [nm].

    Raises
    ------
    BundleError
        If a file is missing or unreadable, or the header is unparsable, incomplete, or
        disagrees with the data file; the message names the file and the problem.
    """
    hdr_path = Path(hdr_path)
    header = _read_header(hdr_path)
    layout = _Layout.from_header(hdr_path, header)
    data_path = _find_data_file(hdr_path, layout.interleave)
    layout.check_size(hdr_path, data_path)

    wavelength, to_nm = _wavelengths(hdr_path, header, layout.bands)
    fwhm = _band_floats(hdr_path, header, "fwhm", layout.bands)
    good = _good_bands(hdr_path, header, layout.bands)
    ignore = _ignore_value(hdr_path, header)
    order = _band_order(hdr_path, wavelength)

    dims = ("y", "x", "wavelength")
    if lazy:
        values: Any = xr.Variable(dims, indexing.LazilyIndexedArray(
            EnviArray(data_path, layout, order, ignore)))
    else:
        values = _read_values(data_path, layout, order, ignore)
    coords: dict[str, Any] = {"wavelength": wavelength[order],
                              "good_band": ("wavelength", good[order])}
    if fwhm is not None:
        coords["fwhm"] = ("wavelength", fwhm[order] * to_nm)
    return xr.DataArray(values, dims=dims, coords=coords, name=name,
                        attrs={"source": str(hdr_path)})


class EnviArray(BackendArray):
    """The raw counts of an ENVI data file as a lazily read (y, x, band) float32 array.

    Indexing it (through xarray, e.g. ``.values`` or ``.isel``) reads only the indexed part
    and returns the same float32 values as the eager :func:`read_envi`, NaN where the data
    equals the header's ``data ignore value``. Block-wise consumers can instead take raw
    blocks of whole lines in the file's own dtype (:meth:`raw_lines`) and convert them where
    they want them (:meth:`to_float32`).

    Attributes
    ----------
    path : Path
        The data file.
    shape : (int, int, int)
        (lines, samples, bands), bands in increasing wavelength.
    dtype : numpy.dtype
        float32 (the dtype of the loaded values).
    raw_dtype : numpy.dtype
        The file's data type, with its byte order.
    interleave : str
        bsq, bil or bip.
    ignore_value : float or None
        The header's ``data ignore value``.
    """

    __slots__ = ("path", "shape", "dtype", "raw_dtype", "interleave", "ignore_value",
                 "_order", "_offset", "_raw", "_fd", "_local", "__weakref__")

    def __init__(self, data_path: Path, layout: _Layout, order: slice | np.ndarray,
                 ignore: float | None) -> None:
        self.path = Path(data_path)
        self.shape = (layout.lines, layout.samples, layout.bands)
        self.dtype = np.dtype(np.float32)
        self.raw_dtype = layout.dtype
        self.interleave = layout.interleave
        self.ignore_value = ignore
        self._order = order
        self._offset = layout.offset
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
            mm = np.memmap(self.path, dtype=layout.dtype, mode="r", offset=layout.offset,
                           shape=layout.file_shape)
        except (OSError, ValueError) as exc:
            if getattr(self, "_fd", None) is not None:
                os.close(self._fd)
            raise BundleError(self.path, f"cannot read data file: {exc}") from None
        weakref.finalize(self, os.close, self._fd)
        #: (y, x, band) view of the mapping, bands in file order
        self._raw = np.asarray(mm).transpose(_TO_YXB[layout.interleave])
        self._local = threading.local()

    # --- xarray backend protocol -------------------------------------------------------

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._load)

    def _load(self, key: tuple) -> np.ndarray:
        y, x, band = key
        raw = self._raw[y, x]
        if isinstance(self._order, slice):
            raw = raw[..., self._order][..., band]
        else:
            raw = raw[..., self._order[band]]
        return self.to_float32(raw)

    # --- block access --------------------------------------------------------------------

    def raw_lines(self, y0: int, y1: int) -> np.ndarray:
        """Raw counts of lines ``y0:y1`` as a (lines, x, band) array in the file's dtype.

        Bands are in increasing wavelength and the memory layout is the file's (BIL lines
        are (band, sample) planes, BIP lines (sample, band), BSQ blocks (band, line,
        sample)); the result is a view of the mapping, or of a buffer private to the calling
        thread and overwritten by its next call. Big-endian data is returned byte-swapped
        to native order (same values).
        """
        y0, y1 = max(0, int(y0)), min(self.shape[0], int(y1))
        if self.interleave == "bsq" or y1 <= y0:
            raw = self._raw[y0:y1]
        else:  # whole lines are contiguous in the file: one read into a reused buffer
            line_shape = (self.shape[2], self.shape[1]) if self.interleave == "bil" \
                else (self.shape[1], self.shape[2])
            n = y1 - y0
            buf = getattr(self._local, "buf", None)
            native = self.raw_dtype.newbyteorder("=")
            if buf is None or buf.shape[0] < n or buf.shape[1:] != line_shape:
                buf = np.empty((n, *line_shape), dtype=native)
                self._local.buf = buf
            block = buf[:n]
            view = memoryview(block).cast("B")
            pos = self._offset + y0 * (block.nbytes // n)
            done = 0
            while done < view.nbytes:  # a single read returns at most ~2 GiB
                got = os.preadv(self._fd, [view[done:]], pos + done)
                if got <= 0:
                    raise BundleError(self.path, "data file shrank while being read "
                                                 f"({done} of {view.nbytes} bytes at offset "
                                                 f"{pos})")
                done += got
            if not self.raw_dtype.isnative:
                block.byteswap(inplace=True)
            raw = block.transpose((0, 2, 1)) if self.interleave == "bil" else block
        return raw[..., self._order]

    def to_float32(self, raw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Raw counts (any part of the cube, as read) to float32, ignored values NaN.

        Parameters
        ----------
        raw : ndarray
            Counts read from this file (:meth:`raw_lines` or a slice of it).
        out : ndarray, optional
            float32 array of the same shape to write into.

        Returns
        -------
        ndarray
            The float32 values, exactly those of the eager :func:`read_envi`.
        """
        return _to_float32(raw, self.raw_dtype, self.ignore_value, out)


def envi_source(cube: xr.DataArray) -> EnviArray | None:
    """The :class:`EnviArray` behind a lazily read cube, or None.

    None unless ``cube`` is a whole lazy ENVI cube as :func:`read_envi` returned it (dims in
    the order (y, x, wavelength), not sliced, not loaded); in every other case the caller
    reads ``cube`` as any array.
    """
    if cube.dims != ("y", "x", "wavelength"):
        return None
    data = cube.variable._data  # xarray's lazy wrappers (no public accessor exists)
    while True:
        if isinstance(data, EnviArray):
            return data if data.shape == cube.shape else None
        if isinstance(data, indexing.LazilyIndexedArray):
            if any(k != slice(None) for k in data.key.tuple):
                return None
            data = data.array
        elif isinstance(data, (indexing.CopyOnWriteArray, indexing.MemoryCachedArray)):
            data = data.array
        else:
            return None


def _read_header(hdr_path: Path) -> dict[str, Any]:
    """Parse a header with Spectral Python; every failure becomes a BundleError."""
    if not hdr_path.is_file():
        raise BundleError(hdr_path, "missing ENVI header file")
    if hdr_path.suffix.lower() != ".hdr":
        raise BundleError(hdr_path, "not an ENVI header name (expected a .hdr file)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # spectral warns about upper-case keys
            header = {key.lower(): value
                      for key, value in envi.read_envi_header(str(hdr_path)).items()}
    except envi.FileNotAnEnviHeader as exc:
        why = "a binary file" if "binary" in str(exc) else "the first line must be 'ENVI'"
        raise BundleError(hdr_path, f"not an ENVI header ({why})") from None
    except UnicodeDecodeError:
        raise BundleError(hdr_path, "unparsable ENVI header: not UTF-8 text") from None
    except Exception:  # spectral raises a bare EnviHeaderParsingError on any slip
        raise BundleError(hdr_path, "unparsable ENVI header: check the 'key = value' lines "
                                    "and that every '{' list is closed by '}'") from None
    missing = [key for key in _MANDATORY if key not in header]
    if missing:
        raise BundleError(hdr_path, "ENVI header lacks mandatory key(s): " + ", ".join(missing))
    return header


@dataclass(frozen=True)
class _Layout:
    """Validated geometry and encoding of an ENVI data file (``offset`` [bytes])."""

    lines: int
    samples: int
    bands: int
    dtype: np.dtype
    interleave: str
    offset: int

    @classmethod
    def from_header(cls, hdr_path: Path, header: Mapping[str, Any]) -> _Layout:
        lines = _int_key(hdr_path, header, "lines", 1)
        samples = _int_key(hdr_path, header, "samples", 1)
        bands = _int_key(hdr_path, header, "bands", 1)
        offset = _int_key(hdr_path, header, "header offset", 0) if "header offset" in header else 0
        code = header["data type"]
        try:
            dtype = ENVI_DTYPES[int(code)]
        except (KeyError, ValueError, TypeError):
            known = ", ".join(str(k) for k in ENVI_DTYPES)
            raise BundleError(hdr_path, f"unsupported ENVI data type {code!r} "
                                        f"(supported: {known})") from None
        order = header["byte order"]
        if order not in ("0", "1"):
            raise BundleError(hdr_path, f"'byte order' must be 0 or 1, got {order!r}")
        interleave = str(header["interleave"]).strip().lower()
        if interleave not in _TO_YXB:
            raise BundleError(hdr_path, f"unsupported interleave {header['interleave']!r} "
                                        "(expected bsq, bil or bip)")
        dtype = dtype.newbyteorder("<" if order == "0" else ">")
        return cls(lines, samples, bands, dtype, interleave, offset)

    @property
    def file_shape(self) -> tuple[int, int, int]:
        """Array shape in file order."""
        r, c, b = self.lines, self.samples, self.bands
        return {"bsq": (b, r, c), "bil": (r, b, c), "bip": (r, c, b)}[self.interleave]

    def check_size(self, hdr_path: Path, data_path: Path) -> None:
        """Raise BundleError unless the data file has exactly the size the header implies."""
        size = data_path.stat().st_size
        expected = (self.offset
                    + self.lines * self.samples * self.bands * self.dtype.itemsize)
        if size != expected:
            detail = "truncated" if size < expected else "larger than the header describes"
            raise BundleError(
                data_path,
                f"data file has {size} bytes, header implies {expected} ({detail}; "
                f"{hdr_path.name}: {self.lines} lines x {self.samples} samples x {self.bands} "
                f"bands x {self.dtype.itemsize} bytes + header offset {self.offset})")


def _int_key(hdr_path: Path, header: Mapping[str, Any], key: str, minimum: int) -> int:
    value = header[key]
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise BundleError(hdr_path, f"header '{key}' must be an integer >= {minimum}, "
                                    f"got {value!r}")
    return number


def _find_data_file(hdr_path: Path, interleave: str) -> Path:
    """The data file beside the header: ``<stem>.raw`` first, then spectral's candidates."""
    base = hdr_path.with_suffix("")
    exts = ["raw", ""] + [e for e in envi.KNOWN_EXTS if e != "raw"] + [interleave]
    exts += [e.upper() for e in exts if e]
    for ext in exts:
        candidate = base.with_name(f"{base.name}.{ext}") if ext else base
        if candidate.is_file():
            return candidate
    tried = ", ".join(f".{e}" for e in exts[2:] if e.islower())
    raise BundleError(base.with_name(base.name + ".raw"),
                      f"missing data file for {hdr_path.name} (also tried no extension, {tried})")


def _band_floats(hdr_path: Path, header: Mapping[str, Any], key: str,
                 bands: int) -> np.ndarray | None:
    """A per-band numeric list of the header, validated (None when absent)."""
    if key not in header:
        return None
    raw = header[key]
    items = [raw] if isinstance(raw, str) else list(raw)
    if len(items) != bands:
        raise BundleError(hdr_path, f"header '{key}' has {len(items)} values for {bands} bands")
    try:
        values = np.array([float(v) for v in items], dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(v for v in items if not _is_float(v))
        raise BundleError(hdr_path, f"header '{key}' value {bad!r} is not a number") from None
    if not np.all(np.isfinite(values)):
        band = int(np.flatnonzero(~np.isfinite(values))[0])
        raise BundleError(hdr_path, f"non-finite {key} {items[band]!r} at band {band + 1}")
    return values


def _is_float(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _wavelengths(hdr_path: Path, header: Mapping[str, Any],
                 bands: int) -> tuple[np.ndarray, float]:
    """Band centres [nm] and the factor from the header's units to nm."""
    wavelength = _band_floats(hdr_path, header, "wavelength", bands)
    if wavelength is None:
        raise BundleError(hdr_path, "ENVI header has no 'wavelength' list")
    units = str(header.get("wavelength units", "")).strip()
    if units.lower() in _MICROMETERS:
        to_nm = 1000.0
    elif units.lower() in _NANOMETERS:
        to_nm = 1.0
    elif units.lower() in _UNSTATED:
        if wavelength.max() < 100.0:
            raise BundleError(hdr_path, f"wavelengths {wavelength.min():g}-{wavelength.max():g} "
                                        "look like micrometers but 'wavelength units' is not "
                                        "given; add 'wavelength units = Micrometers'")
        to_nm = 1.0
    else:
        raise BundleError(hdr_path, f"unsupported wavelength units {units!r} "
                                    "(expected Nanometers or Micrometers)")
    return wavelength * to_nm, to_nm


def _good_bands(hdr_path: Path, header: Mapping[str, Any], bands: int) -> np.ndarray:
    """``bbl`` as booleans (True = good band); all True without it."""
    bbl = _band_floats(hdr_path, header, "bbl", bands)
    if bbl is None:
        return np.ones(bands, dtype=bool)
    if not np.all((bbl == 0) | (bbl == 1)):
        band = int(np.flatnonzero((bbl != 0) & (bbl != 1))[0])
        raise BundleError(hdr_path, f"header 'bbl' value {bbl[band]:g} at band {band + 1} "
                                    "is not 0 or 1")
    return bbl == 1


def _ignore_value(hdr_path: Path, header: Mapping[str, Any]) -> float | None:
    if "data ignore value" not in header:
        return None
    value = header["data ignore value"]
    if not _is_float(value):
        raise BundleError(hdr_path, f"header 'data ignore value' {value!r} is not a number")
    number = float(value)
    return None if math.isnan(number) else number


def _band_order(hdr_path: Path, wavelength: np.ndarray) -> slice | np.ndarray:
    """Indexer that makes the wavelengths strictly increasing (a view when possible)."""
    step = np.diff(wavelength)
    if np.all(step > 0):
        return slice(None)
    if np.all(step < 0):
        return slice(None, None, -1)
    order = np.argsort(wavelength, kind="stable")
    same = np.flatnonzero(np.diff(wavelength[order]) == 0)
    if same.size:
        a, b = sorted(order[same[0]:same[0] + 2])
        raise BundleError(hdr_path, f"duplicate wavelength {wavelength[a]:g} nm "
                                    f"(bands {a + 1} and {b + 1})")
    return order


def _read_values(data_path: Path, layout: _Layout, order: slice | np.ndarray,
                 ignore: float | None) -> np.ndarray:
    """Memory-map the data file and make one float32 (y, x, band) copy."""
    try:
        raw = np.asarray(np.memmap(data_path, dtype=layout.dtype, mode="r",
                                   offset=layout.offset, shape=layout.file_shape))
    except (OSError, ValueError) as exc:
        raise BundleError(data_path, f"cannot read data file: {exc}") from None
    cube = raw.transpose(_TO_YXB[layout.interleave])[..., order]
    return _to_float32(cube, layout.dtype, ignore)


def _to_float32(cube: np.ndarray, file_dtype: np.dtype, ignore: float | None,
                out: np.ndarray | None = None) -> np.ndarray:
    """Counts as float32 (layout kept), NaN where they equal the ignore value.

    Integers up to 24 bits and float32 convert exactly, so the ignore value is compared
    after the cast (when it is itself a float32); wider types are compared before it.
    """
    if out is None:
        values = cube.astype(np.float32)
    else:
        values = out
        np.copyto(values, cube, casting="unsafe")
    if ignore is not None:
        if np.can_cast(file_dtype, np.float32, "safe"):  # exact cast: compare the floats
            with np.errstate(over="ignore"):
                target = np.float32(ignore)
            mask = values == target if float(target) == ignore else None
        else:
            mask = cube == ignore
        if mask is not None:
            values[mask] = np.nan
    return values
