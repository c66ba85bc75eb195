"""The site store as an xarray backend: ``xr.open_dataset("<site>.zarr", engine="hsiwq")``.

A site's series is spread over compacted monthly parts, segments and the journal (see
docs/store.md), so a plain ``xr.open_zarr`` of the store root finds no array. This backend
returns the whole series, merged as :meth:`hsiwq.store.SiteStore.read` merges it (newest write
of each acquisition time, in time order), with CF attributes, the ROI spectra and the
downsampled parameter maps when the store has them, and a scalar ``site`` coordinate so that
``xr.open_mfdataset([...], engine="hsiwq", combine="nested", concat_dim="site")`` stacks sites.

Registered under the ``xarray.backends`` entry point group as ``hsiwq``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import xarray as xr
from xarray.backends import BackendEntrypoint


class HsiwqBackendEntrypoint(BackendEntrypoint):
    """Open an hsiwq site store (a folder or fsspec URL of ``<site>.zarr``) as one Dataset.

    Parameters of :meth:`open_dataset`
    ----------------------------------
    filename_or_obj : str or path
        The store root.
    drop_variables : str or iterable of str, optional
        Variables to leave out.
    start, end : datetime or ISO string, optional
        Inclusive time bounds (UTC).
    quantities : list of str, optional
        Numeric quantities to read (default: all, with every label).
    with_rrs : bool
        Read the ROI spectra ``rrs`` (time, wavelength) [sr-1] (default True).
    with_maps : bool
        Read the downsampled parameter maps (map_time, map_parameter, map_y, map_x) when the
        store has them (default True).
    storage_options : dict, optional
        fsspec options for object storage.
    """

    description = "the whole time series of an hsiwq site store (parts, segments and journal)"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "start", "end", "quantities",
                               "with_rrs", "with_maps", "storage_options")

    def open_dataset(self, filename_or_obj: str | os.PathLike[str], *,
                     drop_variables: str | Iterable[str] | None = None,
                     start: datetime | str | None = None, end: datetime | str | None = None,
                     quantities: list[str] | None = None, with_rrs: bool = True,
                     with_maps: bool = True,
                     storage_options: dict[str, Any] | None = None) -> xr.Dataset:
        from .site import SiteStore

        store = SiteStore(os.fspath(filename_or_obj), storage_options)
        ds = store.read(start=start, end=end, quantities=quantities, with_rrs=with_rrs,
                        with_maps=with_maps)
        if isinstance(drop_variables, str):
            drop_variables = [drop_variables]
        if drop_variables:
            ds = ds.drop_vars(list(drop_variables), errors="ignore")
        ds = ds.assign_coords(site=((), store.site, {"long_name": "site id"}))
        ds.attrs.update({"site": store.site, "title": f"hsiwq results of site {store.site}"})
        return ds

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """True for a local folder whose root metadata says it is an hsiwq store."""
        if not isinstance(filename_or_obj, (str, os.PathLike)):
            return False
        path = os.fspath(filename_or_obj)
        if "://" in path or not os.path.isfile(os.path.join(path, "zarr.json")):
            return False
        try:
            with open(os.path.join(path, "zarr.json"), "rb") as fh:
                attrs = json.loads(fh.read(1 << 16)).get("attributes", {})
        except (OSError, ValueError, AttributeError):
            return False
        return "hsiwq_store_format" in attrs
