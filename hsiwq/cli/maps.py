"""``hsiwq maps``: export a site's parameter maps (CF NetCDF, PNG, GeoTIFF)."""

from __future__ import annotations

import json
from pathlib import Path
import click

from ..errors import ConfigError, StoreError
from .options import emit, plain, time_value

FORMATS = {".nc": "netcdf", ".nc4": "netcdf", ".png": "png", ".tif": "geotiff", ".tiff": "geotiff",
           ".json": "json"}


def maps_json(ds) -> str:
    """One acquisition's maps as a JSON document: attributes, coordinates and variables
    (each with ``dims``, ``attrs`` — units among them — and ``data``, NaN as null)."""
    doc = ds.to_dict(data="list", encoding=False)
    doc["coords"].get("time", {})["data"] = str(ds["time"].values)[:19] + "Z"
    return json.dumps(plain(doc), ensure_ascii=False, default=str) + "\n"


@click.command("maps")
@click.option("--site", required=True, metavar="SITE", help="The site whose maps to export.")
@click.option("--time", "when", metavar="TIME", help="Acquisition time (ISO 8601, UTC); the nearest "
                                                     "stored maps are exported. Default: the latest.")
@click.option("--param", "params", multiple=True, metavar="ID",
              help="Parameter to export (repeatable; NetCDF default: all, PNG/GeoTIFF: chl_a).")
@click.option("--format", "fmt", type=click.Choice(["netcdf", "png", "geotiff", "json"]), default=None,
              help="Output format (default: from the file name: .nc, .png, .tif, .json).")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="The file to write (JSON: standard output without it).")
@click.pass_obj
def maps(obj, site, when, params, fmt, out) -> None:
    """Export the parameter maps of one acquisition of SITE to FILE.

    NetCDF (CF-1.10: units, latitude/longitude and metres east/north of the pole where the
    site has camera geometry, intervals, out-of-domain flags, cell areas); PNG (one map with
    colour bar, ROI outline and the thresholds' contour); GeoTIFF (georeferenced sites only:
    the map on a regular grid in metres, azimuthal equidistant around the pole); JSON (the
    NetCDF content as one document: variables with dims, units and data, NaN as null).
    """
    from ..inbox import open_site_store
    from ..maps.chain import extent_thresholds
    from ..maps.dataset import to_dataset, write_geotiff, write_netcdf
    from ..params import PARAMETERS
    from ..store.maps import MapStore

    config, cfg_file = obj.load_config()
    s = config.site(site, where=cfg_file)
    if out is None and fmt != "json":
        raise ConfigError("--out", "give the file to write (--out FILE); only --format json prints")
    kind = fmt or FORMATS.get(Path(out).suffix.lower())
    if kind is None:
        raise ConfigError(out, "unknown output format: name it .nc, .png, .tif or .json, or give --format")
    for p in params:
        if p not in s.maps.params:
            raise ConfigError("--param", f"{p!r} is not mapped at {site} (mapped: {', '.join(s.maps.params)})")
    store = open_site_store(s, config, obj.workspace())
    stored = MapStore(store.objects).read(time_value(when, "--time"))
    if stored is None:
        raise StoreError(store.path, f"no parameter maps stored for site {site!r}")
    ds = to_dataset(stored, 0, list(params) or None, site=site)
    one = params[0] if params else ("chl_a" if "chl_a" in ds else stored.params[0])
    if kind == "json":
        emit(maps_json(ds), out)
        if out is None:
            return
    elif kind == "netcdf":
        write_netcdf(ds, out)
    elif kind == "png":
        from ..maps.figures import map_figure, save_png
        from ..report.figures import MAP_SCALES

        thr = extent_thresholds(s.maps, s.rules).get(one, [])
        save_png(map_figure(ds, one, MAP_SCALES[one], roi=s.roi, thresholds=thr), out)
    else:
        try:
            write_geotiff(ds, one, out)
        except ImportError:
            raise ConfigError(out, "GeoTIFF needs rasterio (pip install rasterio)") from None
        except ValueError as exc:
            raise ConfigError(out, str(exc)) from None
    click.echo(f"{out}: {kind} maps of {site} at {str(ds['time'].values)[:19]}Z"
               f" ({', '.join(p for p in PARAMETERS if p in ds) if kind == 'netcdf' else one})")


COMMANDS = [maps]
