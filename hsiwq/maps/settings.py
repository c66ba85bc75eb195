"""A site's map settings (``[sites.<id>.maps]``): block size, statistics, retention, camera."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..params import PARAMETERS
from .geometry import CameraGeometry

#: Parameters mapped by default: the optically active ones.
MAP_PARAMETERS: tuple[str, ...] = tuple(p for p, v in PARAMETERS.items() if v.optically_active)
#: Thresholds per parameter whose exceeded area is kept with every acquisition.
MAX_THRESHOLDS = 2


class MapSettings(BaseModel):
    """How a site's parameter maps are made and kept.

    Attributes
    ----------
    enabled : bool
        Make maps for accepted acquisitions.
    block : int
        Side of the square block of pixels behind one map cell [pixels].
    min_valid_fraction : float
        Fewest valid water pixels a block needs, as a fraction of its pixels [-]; emptier
        blocks are NaN and counted.
    params : list of str
        Parameters mapped (default: the optically active ones).
    thresholds : dict of str to list of float
        Per parameter, up to two values whose exceeded water area (m², or a fraction of the
        valid water without camera geometry) is stored with every acquisition (extent
        rules add theirs).
    full_days : float
        Maps at full block resolution are kept this long [days] ...
    coarsen : int
        ... then averaged over ``coarsen`` × ``coarsen`` cells ...
    keep_days : float
        ... and deleted after this long [days] (0 = never).
    spectra_days : float
        The block spectra (for reprocessing) are kept this long [days] (0 = not stored).
    camera : CameraGeometry, optional
        The camera's mounting; without it maps stay in image coordinates.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    block: Annotated[int, Field(ge=1, le=256)] = 16
    min_valid_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5
    params: list[str] = Field(default_factory=lambda: list(MAP_PARAMETERS))
    thresholds: dict[str, list[float]] = Field(default_factory=dict)
    full_days: Annotated[float, Field(ge=0)] = 7.0
    coarsen: Annotated[int, Field(ge=1, le=64)] = 4
    keep_days: Annotated[float, Field(ge=0)] = 400.0
    spectra_days: Annotated[float, Field(ge=0)] = 1.0
    camera: CameraGeometry | None = None

    @field_validator("params")
    @classmethod
    def _known_params(cls, v: list[str]) -> list[str]:
        for p in v:
            if p not in MAP_PARAMETERS:
                raise ValueError(f"cannot map {p!r}; mappable parameters: {', '.join(MAP_PARAMETERS)}")
        return v

    @field_validator("thresholds")
    @classmethod
    def _few_thresholds(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        for p, values in v.items():
            if p not in MAP_PARAMETERS:
                raise ValueError(f"thresholds for {p!r}, which is not mappable")
            if len(set(values)) > MAX_THRESHOLDS:
                raise ValueError(f"{p}: at most {MAX_THRESHOLDS} thresholds")
        return v

    def thresholds_for(self, param: str, extra: tuple[float, ...] = ()) -> list[float]:
        """Sorted distinct thresholds of a parameter (configured, then rules'), at most two."""
        out = sorted(set(self.thresholds.get(param, [])) | set(extra))
        return out[:MAX_THRESHOLDS]
