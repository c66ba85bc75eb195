"""Regional retrieval settings: specific inherent optical properties (SIOPs) and algorithms.

``<regions dir>/<region>.json``::

    {"region": "taihu", "name": "...", "source": "...",
     "siop": {"s_cdom": 0.015, "a_nap_star_443": 0.035, ..., "aph_scale": 2.0},
     "algorithms": {"chl_a": "gilerson2010-2band"}}

``siop`` keys are the fields of :class:`hsiwq.bio_optics.iops.IOPModel`; missing keys take
the generic inland values. ``algorithms`` (optional) chooses, per parameter, the default
algorithm used while the region has no model in service (any name of
:func:`hsiwq.retrieval.algorithms.load_algorithms`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..bio_optics.iops import IOPModel
from ..errors import CalibrationError
from ..params import PARAMETERS
from .inversion import GENERIC_INLAND


@dataclasses.dataclass(frozen=True)
class RegionSettings:
    """What a region's file sets.

    Attributes
    ----------
    siop : IOPModel
        Specific IOPs (generic inland ones when the region has no file).
    siop_name : str
        ``"<region>"`` or ``"generic-inland"``.
    algorithms : dict of str to str
        Default algorithm per parameter chosen for the region (may be empty).
    """

    siop: IOPModel
    siop_name: str
    algorithms: dict[str, str]


def _read(region: str, directory: str | Path) -> tuple[Path, dict | None]:
    path = Path(directory) / f"{region}.json"
    if not path.is_file():
        return path, None
    try:
        return path, json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CalibrationError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def load_region(region: str, directory: str | Path) -> RegionSettings:
    """A region's SIOPs and default algorithms.

    Raises
    ------
    CalibrationError
        When the region's file exists but is invalid.
    """
    path, doc = _read(region, directory)
    if doc is None:
        return RegionSettings(GENERIC_INLAND, "generic-inland", {})
    try:
        fields = {f.name for f in dataclasses.fields(IOPModel)}
        siop = doc["siop"]
        unknown = set(siop) - fields
        if unknown:
            raise CalibrationError(path, f"unknown SIOP keys {sorted(unknown)}; known: {sorted(fields)}")
        values = {k: float(v) for k, v in siop.items()}
        algorithms = {str(k): str(v) for k, v in dict(doc.get("algorithms") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CalibrationError(path, f"invalid region SIOP file ({exc})") from None
    bad = set(algorithms) - set(PARAMETERS)
    if bad:
        raise CalibrationError(path, f"'algorithms' names unknown parameters {sorted(bad)}")
    return RegionSettings(dataclasses.replace(GENERIC_INLAND, **values), region, algorithms)


def load_region_siop(region: str, directory: str | Path) -> tuple[IOPModel, str]:
    """The SIOPs of a region and their name (``"<region>"`` or ``"generic-inland"``).

    Raises
    ------
    CalibrationError
        When the region's file exists but is invalid.
    """
    s = load_region(region, directory)
    return s.siop, s.siop_name
