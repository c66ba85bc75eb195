"""Regional specific inherent optical properties (SIOPs) for the spectral inversion.

``<regions dir>/<region>.json``::

    {"region": "taihu", "name": "...", "source": "...",
     "siop": {"s_cdom": 0.015, "a_nap_star_443": 0.035, ..., "aph_scale": 2.0}}

``siop`` keys are the fields of :class:`hsiwq.bio_optics.iops.IOPModel`; missing keys take
the generic inland values.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..bio_optics.iops import IOPModel
from ..errors import CalibrationError
from .inversion import GENERIC_INLAND


def load_region_siop(region: str, directory: str | Path) -> tuple[IOPModel, str]:
    """The SIOPs of a region and their name (``"<region>"`` or ``"generic-inland"``).

    Raises
    ------
    CalibrationError
        When the region's file exists but is invalid.
    """
    path = Path(directory) / f"{region}.json"
    if not path.is_file():
        return GENERIC_INLAND, "generic-inland"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        fields = {f.name for f in dataclasses.fields(IOPModel)}
        siop = doc["siop"]
        unknown = set(siop) - fields
        if unknown:
            raise CalibrationError(path, f"unknown SIOP keys {sorted(unknown)}; known: {sorted(fields)}")
        values = {k: float(v) for k, v in siop.items()}
    except json.JSONDecodeError as exc:
        raise CalibrationError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(path, f"invalid region SIOP file ({exc})") from None
    return dataclasses.replace(GENERIC_INLAND, **values), region
