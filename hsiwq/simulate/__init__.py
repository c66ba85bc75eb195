"""Bio-optical simulator of whole acquisition bundles (docs/contracts.md §2) with ground truth.

Entry points: :func:`simulate_bundle` (one call), :func:`simulate_scene` +
:func:`write_bundle` (two steps), :func:`make_samples` (the repository's sample cubes).
"""

from hsiwq.simulate.bundle import auto_exposure, simulate_bundle, write_bundle
from hsiwq.simulate.samples import SAMPLE_ACQUISITIONS, make_samples
from hsiwq.simulate.scene import Scene, simulate_scene
from hsiwq.simulate.sensor_model import SensorModel, sensor_model
from hsiwq.simulate.water_types import WATER_TYPES, WaterType

__all__ = ["SAMPLE_ACQUISITIONS", "Scene", "SensorModel", "WATER_TYPES", "WaterType",
           "auto_exposure", "make_samples", "sensor_model", "simulate_bundle",
           "simulate_scene", "write_bundle"]
