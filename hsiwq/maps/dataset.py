"""Stored maps as CF-compliant datasets, and their exports (NetCDF, PNG, GeoTIFF).

A map dataset has one cell per block of the camera image (dimensions ``y``, ``x``: the image
line and sample of the cell's centre, in pixels), the parameters with their 68 % interval
bounds and out-of-domain flags, the number of valid pixels per cell, and, where the site has
camera geometry, each cell's water area (``cell_measures``) and position: metres east and
north of the pole and latitude/longitude (CF auxiliary coordinates).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..params import PARAMETERS
from .geometry import EARTH_RADIUS_M, to_latlon

#: CF (UDUNITS) spelling of the catalogue's units.
CF_UNITS = {"µg/L": "ug L-1", "mg/L": "mg L-1", "1/m": "m-1", "m": "m", "NTU": "1"}
#: CF standard names of the mapped parameters, where CF has one.
STANDARD_NAMES = {"chl_a": "mass_concentration_of_chlorophyll_a_in_sea_water",
                  "tss": "mass_concentration_of_suspended_matter_in_sea_water",
                  "turbidity": "sea_water_turbidity", "secchi": "secchi_depth_of_sea_water"}


def cf_units(unit: str) -> str:
    """The UDUNITS string of a catalogue unit (NTU, not a UDUNITS unit, becomes ``1``)."""
    return CF_UNITS.get(unit, unit)


def to_dataset(maps, i: int = 0, params: list[str] | None = None, site: str = "") -> xr.Dataset:
    """One acquisition's maps as a CF-1.10 dataset.

    Parameters
    ----------
    maps : hsiwq.store.maps.StoredMaps
        Stored maps (one or more times).
    i : int
        Which time.
    params : list of str, optional
        Only these parameters.
    site : str
        Site id (an attribute).

    Returns
    -------
    xarray.Dataset
    """
    block = int(maps.meta["block"])
    ny, nx = maps.values.shape[2:]
    y = np.arange(ny) * block + (block - 1) / 2
    x = np.arange(nx) * block + (block - 1) / 2
    t = np.datetime64(int(maps.time[i]), "s").astype("datetime64[ns]")
    coords: dict[str, object] = {
        "y": ("y", y, {"long_name": "image line of the cell centre", "units": "1", "axis": "Y"}),
        "x": ("x", x, {"long_name": "image sample of the cell centre", "units": "1", "axis": "X"}),
        "time": ((), t, {"standard_name": "time", "long_name": "acquisition time"}),
    }
    data: dict[str, object] = {}
    aux = ""
    if "east" in maps.cells:
        e, n = maps.cells["east"][i].astype(float), maps.cells["north"][i].astype(float)
        lat, lon = to_latlon(e, n, float(maps.meta["lat"]), float(maps.meta["lon"]))
        coords |= {
            "east": (("y", "x"), e, {"long_name": "distance east of the pole", "units": "m"}),
            "north": (("y", "x"), n, {"long_name": "distance north of the pole", "units": "m"}),
            "lat": (("y", "x"), lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": (("y", "x"), lon, {"standard_name": "longitude", "units": "degrees_east"}),
        }
        data["water_area"] = (("y", "x"), maps.cells["water_area"][i].astype(float),
                              {"standard_name": "cell_area", "units": "m2",
                               "long_name": "water area of the cell's valid pixels"})
        aux = "lat lon"
    data["n_valid"] = (("y", "x"), maps.cells["n_valid"][i].astype("int32"),
                       {"long_name": "valid water pixels in the cell", "units": "1"})
    for j, p in enumerate(maps.params):
        if params is not None and p not in params:
            continue
        meta = PARAMETERS[p]
        units = cf_units(meta.unit)
        attrs = {"long_name": meta.name, "units": units, "valid_min": meta.valid_range[0],
                 "valid_max": meta.valid_range[1],
                 "ancillary_variables": f"{p}_lo {p}_hi {p}_ood n_valid",
                 "source": str(maps.meta.get("algorithms", {}).get(p, "")),
                 "cell_methods": "area: median (block of pixels)"}
        if p in STANDARD_NAMES:
            attrs["standard_name"] = STANDARD_NAMES[p]
        if meta.unit != units:
            attrs["comment"] = f"in {meta.unit}"
        if "water_area" in data:
            attrs["cell_measures"] = "area: water_area"
        if aux:
            attrs["coordinates"] = aux
        data[p] = (("y", "x"), maps.values[i, j].astype("float32"), attrs)
        for b, word in (("lo", "lower"), ("hi", "upper")):
            data[f"{p}_{b}"] = (("y", "x"), getattr(maps, b)[i, j].astype("float32"),
                                {"long_name": f"{word} bound of the 68 % interval of {meta.name}",
                                 "units": units})
        data[f"{p}_ood"] = (("y", "x"), maps.ood[i, j].astype("float32"),
                            {"long_name": f"{meta.name}: outside the model's domain", "units": "1",
                             "flag_values": np.array([0.0, 1.0], "float32"),
                             "flag_meanings": "in_domain out_of_domain"})
    height = maps.meta.get("height")
    h = height[i] if isinstance(height, list) else height
    attrs = {"Conventions": "CF-1.10", "title": f"hsiwq parameter maps of site {site}".strip(),
             "institution": "", "source": "hsiwq: block-median Rrs of valid water pixels, retrieved",
             "site": site, "block_pixels": block, "image_lines": int(maps.meta["image_shape"][0]),
             "image_samples": int(maps.meta["image_shape"][1]),
             "coarsened_by": int(maps.meta.get("coarsened", 1))}
    if h is not None and np.isfinite(h):
        attrs["camera_height_above_water_m"] = float(h)
        attrs["pole_lat"], attrs["pole_lon"] = float(maps.meta["lat"]), float(maps.meta["lon"])
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    ds["time"].encoding.update(units="seconds since 1970-01-01", dtype="int64", calendar="standard")
    return ds


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a map dataset as NetCDF-4 (CF attributes, compressed variables)."""
    enc = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars}
    for v in ds.data_vars:  # no _FillValue on the integer count; NaN elsewhere
        enc[v]["_FillValue"] = None if ds[v].dtype.kind == "i" else np.float32(np.nan)
    ds.to_netcdf(path, encoding=enc, engine="netcdf4")
    return Path(path)


def regular_grid(ds: xr.Dataset, param: str, resolution_m: float | None = None
                 ) -> tuple[np.ndarray, float, float, float]:
    """A parameter map resampled (nearest cell) onto a regular east/north grid.

    Returns the grid (rows north → south), its west and north edges [m] and its spacing [m].
    Cells farther than one spacing from any map cell are NaN.
    """
    from scipy.spatial import cKDTree

    e, n = ds["east"].values, ds["north"].values
    v = ds[param].values
    ok = np.isfinite(e) & np.isfinite(n)
    if resolution_m is None:
        area = ds["water_area"].values if "water_area" in ds else None
        cell = np.sqrt(np.nanmedian(area[area > 0])) if area is not None and (area > 0).any() else 1.0
        resolution_m = float(max(cell, 1e-3))
    res = float(resolution_m)
    west, east_ = np.nanmin(e[ok]) - res, np.nanmax(e[ok]) + res
    south, north = np.nanmin(n[ok]) - res, np.nanmax(n[ok]) + res
    cols = int(np.ceil((east_ - west) / res))
    rows = int(np.ceil((north - south) / res))
    gx = west + (np.arange(cols) + 0.5) * res
    gy = north - (np.arange(rows) + 0.5) * res
    tree = cKDTree(np.column_stack([e[ok], n[ok]]))
    gxx, gyy = np.meshgrid(gx, gy)
    dist, idx = tree.query(np.column_stack([gxx.ravel(), gyy.ravel()]), distance_upper_bound=2 * res)
    vals = np.full(gxx.size, np.nan, "float32")
    hit = np.isfinite(dist)
    vals[hit] = v[ok][idx[hit]]
    return vals.reshape(rows, cols), west, north, res


def write_geotiff(ds: xr.Dataset, param: str, path: str | Path) -> Path:
    """A georeferenced map as GeoTIFF (rasterio): the parameter on a regular grid in metres,
    in an azimuthal equidistant projection centred on the pole.

    Raises
    ------
    ValueError
        When the maps carry no camera geometry.
    ImportError
        When rasterio is not installed.
    """
    if "east" not in ds.coords:
        raise ValueError("the site has no camera geometry: its maps are not georeferenced")
    import rasterio
    from rasterio.crs import CRS
    from affine import Affine

    grid, west, north, res = regular_grid(ds, param)
    crs = CRS.from_proj4(f"+proj=aeqd +lat_0={ds.attrs['pole_lat']} +lon_0={ds.attrs['pole_lon']} "
                         f"+x_0=0 +y_0=0 +R={EARTH_RADIUS_M} +units=m +no_defs")
    with rasterio.open(path, "w", driver="GTiff", height=grid.shape[0], width=grid.shape[1],
                       count=1, dtype="float32", crs=crs, transform=Affine(res, 0.0, west, 0.0, -res, north),
                       nodata=np.nan, compress="deflate") as dst:
        dst.write(grid, 1)
        dst.update_tags(1, parameter=param, units=ds[param].attrs.get("units", ""),
                        time=str(ds["time"].values)[:19])
        dst.update_tags(site=ds.attrs.get("site", ""), source="hsiwq")
    return Path(path)
