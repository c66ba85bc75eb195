"""ENVI raster I/O through Spectral Python.

Writing is used by the simulator; reading validates the files of an acquisition bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from spectral.io import envi

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
