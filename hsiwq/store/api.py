"""The small Python API for notebooks: a site's series as xarray objects."""

from __future__ import annotations

import os
from pathlib import Path
from datetime import datetime
from typing import Any

import xarray as xr

from ..workspace import Workspace
from .site import SiteStore


def store_root(site: str, where: Workspace | str | os.PathLike[str] | None = None) -> str:
    """The store root of a site.

    Parameters
    ----------
    site : str
        Site id.
    where : Workspace, str or path, optional
        A workspace, a store folder or URL holding ``<site>.zarr`` (e.g. ``s3://bucket/store``),
        or None for the default workspace (``HSIWQ_HOME``).
    """
    if where is None or isinstance(where, Workspace):
        ws = where or Workspace.resolve()
        return str(ws.store_path(site))
    text = os.fspath(where).rstrip("/")
    if text.endswith(f"{site}.zarr"):
        return text
    if "://" not in text and (os.path.isdir(os.path.join(text, "store"))
                              and not os.path.isdir(os.path.join(text, f"{site}.zarr"))):
        return str(Workspace(Path(text).absolute()).store_path(site))  # a workspace folder
    return f"{text}/{site}.zarr"


def open_series(site: str, where: Workspace | str | os.PathLike[str] | None = None, *,
                param: str | list[str] | None = None, start: datetime | str | None = None,
                end: datetime | str | None = None, with_rrs: bool = False,
                storage_options: dict[str, Any] | None = None) -> xr.Dataset:
    """A site's results as an :class:`xarray.Dataset` in time order.

    Parameters
    ----------
    site : str
        Site id.
    where : Workspace, str or path, optional
        See :func:`store_root`.
    param : str or list of str, optional
        Quantities to read (default: all).
    start, end : datetime or ISO string, optional
        Inclusive time bounds (UTC).
    with_rrs : bool
        Include the ROI spectra ``rrs`` (time, wavelength).
    storage_options : dict, optional
        fsspec options for object storage.

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> ds = open_series("taihu-north", "s3://lake-data/store", param="chl_a",
    ...                  storage_options={"endpoint_url": "http://127.0.0.1:9000"})
    >>> ds["chl_a"].sel(time="2026-07").resample(time="1h").median()
    """
    quantities = [param] if isinstance(param, str) else param
    return SiteStore(store_root(site, where), storage_options).read(
        start=start, end=end, quantities=quantities, with_rrs=with_rrs)
