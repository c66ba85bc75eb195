"""Streaming, reproducible writers: large ENVI cubes line block by line block, and ``.npz``.

Both keep memory bounded by a block of lines and write byte-identical files for identical
input (``.npz`` members carry a fixed 1980-01-01 timestamp, unlike :func:`numpy.savez`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from spectral.io import envi

_ENVI_DTYPE = {"u2": 12, "i2": 2, "u1": 1, "f4": 4, "f8": 5, "i4": 3, "u4": 13}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class EnviCubeWriter:
    """Write an ENVI cube (``.hdr`` + ``.raw``) one block of lines at a time.

    The header is the one :func:`hsiwq.io.envi.write_envi` writes for the same arguments.

    Parameters
    ----------
    hdr_path : path
        Header to write (``.hdr``); the data goes beside it as ``.raw``.
    shape : tuple of int
        (lines, samples, bands).
    wavelength_nm : sequence of float
        Band centres [nm].
    dtype : dtype
        Stored data type (e.g. ``uint16``).
    interleave : {"bsq", "bil", "bip"}
        Interleave of the data file.
    byteorder : {"little", "big"}
        Byte order of the data file.
    fwhm_nm : sequence of float, optional
        Band widths [nm].
    extra_metadata : mapping, optional
        Further header fields.
    """

    def __init__(self, hdr_path: str | Path, shape: tuple[int, int, int],
                 wavelength_nm: Sequence[float], *, dtype: Any = np.uint16,
                 interleave: str = "bsq", byteorder: str = "little",
                 fwhm_nm: Sequence[float] | None = None,
                 extra_metadata: Mapping[str, Any] | None = None) -> None:
        hdr_path = Path(hdr_path)
        if hdr_path.suffix != ".hdr":
            raise ValueError(f"{hdr_path}: header file must end in .hdr")
        if interleave not in ("bsq", "bil", "bip"):
            raise ValueError(f"invalid interleave {interleave!r}")
        if byteorder not in ("little", "big"):
            raise ValueError(f"invalid byte order {byteorder!r}")
        lines, samples, bands = shape
        if len(wavelength_nm) != bands:
            raise ValueError("wavelength_nm must have one value per band")
        dt = np.dtype(dtype)
        metadata: dict[str, Any] = {"wavelength": [f"{w:.4f}" for w in wavelength_nm],
                                    "wavelength units": "Nanometers"}
        if fwhm_nm is not None:
            metadata["fwhm"] = [f"{w:.4f}" for w in fwhm_nm]
        if extra_metadata:
            metadata.update(extra_metadata)
        metadata.update({"header offset": 0, "lines": lines, "samples": samples,
                         "bands": bands, "data type": _ENVI_DTYPE[dt.str[1:]],
                         "interleave": interleave,
                         "byte order": 1 if byteorder == "big" else 0,
                         "file type": "ENVI Standard"})
        hdr_path.parent.mkdir(parents=True, exist_ok=True)
        envi.write_envi_header(str(hdr_path), metadata)
        self.hdr_path = hdr_path
        self.raw_path = hdr_path.with_suffix(".raw")
        file_dtype = dt.newbyteorder("<" if byteorder == "little" else ">")
        layout = {"bsq": (bands, lines, samples), "bil": (lines, bands, samples),
                  "bip": (lines, samples, bands)}[interleave]
        self._mm = np.memmap(self.raw_path, dtype=file_dtype, mode="w+", shape=layout)
        self._view = {"bsq": self._mm.transpose(1, 2, 0), "bil": self._mm.transpose(0, 2, 1),
                      "bip": self._mm}[interleave]

    def write_lines(self, y0: int, block: np.ndarray) -> None:
        """Store ``block`` (lines, samples, bands) at line ``y0``."""
        self._view[y0:y0 + block.shape[0]] = block

    def close(self) -> Path:
        """Flush the data file and return the header path."""
        self._mm.flush()
        del self._view, self._mm
        return self.hdr_path


class NpzWriter:
    """Write a ``.npz`` archive reproducibly, streaming large arrays by blocks.

    Parameters
    ----------
    path : path
        Archive to write.
    compress : bool
        Deflate the members (smaller, slower).
    """

    def __init__(self, path: str | Path, compress: bool = True) -> None:
        self.path = Path(path)
        self._ctype = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self._zip = zipfile.ZipFile(self.path, "w", compression=self._ctype, allowZip64=True)
        self._stream: Any = None

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_TIME)
        info.compress_type = self._ctype
        info.external_attr = 0o644 << 16
        return info

    def add(self, name: str, array: Any) -> None:
        """Add a whole array (no object dtypes)."""
        arr = np.asanyarray(array)
        with self._zip.open(self._info(name), "w", force_zip64=True) as f:
            np.lib.format.write_array(f, arr, allow_pickle=False)

    def begin(self, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        """Start a streamed member of known shape; feed it with :meth:`write`."""
        dt = np.dtype(dtype)
        self._stream = (self._zip.open(self._info(name), "w", force_zip64=True), dt)
        header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False,
                  "shape": tuple(int(s) for s in shape)}
        np.lib.format.write_array_header_2_0(self._stream[0], header)

    def write(self, block: np.ndarray) -> None:
        """Append C-ordered data to the streamed member."""
        f, dt = self._stream
        f.write(np.ascontiguousarray(block, dtype=dt).tobytes())

    def end(self) -> None:
        """Finish the streamed member."""
        self._stream[0].close()
        self._stream = None

    def close(self) -> Path:
        """Close the archive and return its path."""
        self._zip.close()
        return self.path
