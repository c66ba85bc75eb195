"""The per-site result store (see :mod:`hsiwq.store.site` and docs/store.md).

``SiteStore(root).write(record)`` stores one acquisition's results, keyed by its time;
``SiteStore(root).read(...)`` and :func:`open_series` return them as xarray objects in time
order, one row per acquisition time.
"""

from .api import open_series, store_root
from .batch import Batch
from .parts import Layout
from .schema import (EXTRA_QUANTITIES, LABELS, MAP_SHAPE, QUANTITIES, Record, default_labels,
                     default_quantities, quantity_attrs)
from .site import Policy, SiteStore

__all__ = ["Batch", "EXTRA_QUANTITIES", "LABELS", "Layout", "MAP_SHAPE", "Policy", "QUANTITIES",
           "Record", "SiteStore", "default_labels", "default_quantities", "open_series",
           "quantity_attrs", "store_root"]
