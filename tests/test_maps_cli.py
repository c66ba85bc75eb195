"""``hsiwq maps``: CF NetCDF that plain xarray opens (units, coordinates), PNG, GeoTIFF; clear
errors; retention of the map store; reprocessing regenerates maps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from hsiwq.cli import main
from hsiwq.maps.geometry import EARTH_RADIUS_M
from hsiwq.store import SiteStore
from hsiwq.store.maps import MapStore

from .test_maps_science import bloom_scene, process


def run(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("maps-cli")
    sc, sm, _ = bloom_scene(5)
    maps, ds, site = process(tmp, sc, sm, height=12.0, level=2.0)
    return tmp / "run", maps, ds, site


def test_netcdf_opens_with_plain_xarray(processed, capsys, tmp_path, monkeypatch):
    home, maps, _, site = processed
    monkeypatch.setenv("HSIWQ_HOME", str(home))
    out = tmp_path / "maps.nc"
    code, text, err = run(capsys, "maps", "--site", "sim-site", "--out", str(out))
    assert code == 0, err
    assert "netcdf maps of sim-site at 2026-07-01T03:15:00Z" in text
    ds = xr.open_dataset(out)
    assert ds.attrs["Conventions"] == "CF-1.10"
    chl = ds["chl_a"]
    assert chl.attrs["units"] == "ug L-1"
    assert chl.attrs["standard_name"] == "mass_concentration_of_chlorophyll_a_in_sea_water"
    assert ds["tss"].attrs["units"] == "mg L-1" and ds["cdom"].attrs["units"] == "m-1"
    assert ds["water_area"].attrs["units"] == "m2" and chl.attrs["cell_measures"] == "area: water_area"
    # CF auxiliary coordinates: xarray attaches lat/lon to the variable from its 'coordinates'
    assert {"lat", "lon"} <= set(chl.coords)
    assert ds["lat"].attrs == {"standard_name": "latitude", "units": "degrees_north"}
    assert ds["lon"].attrs == {"standard_name": "longitude", "units": "degrees_east"}
    assert ds["time"].values == np.datetime64("2026-07-01T03:15:00")
    # the positions agree with metres east/north of the pole at the site's coordinates
    lat0 = site.lat
    assert np.allclose((ds["lat"] - lat0) * np.pi / 180 * EARTH_RADIUS_M, ds["north"], atol=1e-3)
    # camera 10 m above the water, tilted 40° to the SE: the map's centre is ≈ 8.4 m SE
    c = (ds.sizes["y"] // 2, ds.sizes["x"] // 2)
    assert ds["east"].values[c] > 3 and ds["north"].values[c] < -3
    np.testing.assert_allclose(ds["chl_a"].values, maps.values[0, maps.params.index("chl_a")], rtol=1e-6)
    # another time: the nearest stored maps; one parameter only
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--time", "2026-07-01T09:00Z",
                       "--param", "tss", "--out", str(tmp_path / "tss.nc"))
    assert code == 0, err
    assert list(xr.open_dataset(tmp_path / "tss.nc").data_vars)[:3] == ["water_area", "n_valid", "tss"]


def test_json_holds_the_netcdf_values_with_units(processed, capsys, tmp_path, monkeypatch):
    import json

    home, maps, _, _ = processed
    monkeypatch.setenv("HSIWQ_HOME", str(home))
    code, text, err = run(capsys, "maps", "--site", "sim-site", "--format", "json")
    assert code == 0, err
    doc = json.loads(text)  # NaN (land, glint) is null: strict JSON
    assert doc["coords"]["time"]["data"] == "2026-07-01T03:15:00Z"
    chl = doc["data_vars"]["chl_a"]
    assert chl["attrs"]["units"] == "ug L-1" and chl["dims"] == ["y", "x"]
    got = np.array([[np.nan if v is None else v for v in row] for row in chl["data"]], dtype=float)
    np.testing.assert_allclose(got, maps.values[0, maps.params.index("chl_a")], rtol=1e-6)
    assert np.isnan(got).any() and not np.isnan(got).all()
    # to a file, chosen by its name; a file format without --out is an error
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--out", str(tmp_path / "m.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["data_vars"].keys() == doc["data_vars"].keys()
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--format", "netcdf")
    assert code != 0 and "--out" in err and "Traceback" not in err


def test_png_and_geotiff(processed, capsys, tmp_path, monkeypatch):
    import rasterio

    home, maps, _, site = processed
    monkeypatch.setenv("HSIWQ_HOME", str(home))
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--out", str(tmp_path / "m.png"))
    assert code == 0, err
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--param", "chl_a", "--out", str(tmp_path / "m.tif"))
    assert code == 0, err
    with rasterio.open(tmp_path / "m.tif") as src:
        grid = src.read(1)
        assert "aeqd" in src.crs.to_proj4()
        west, north = src.transform.c, src.transform.f
        assert src.tags(1)["units"] == "ug L-1"
    ok = np.isfinite(grid)
    lo, hi = np.nanpercentile(maps.values[0, maps.params.index("chl_a")], [0, 100])
    assert ok.mean() > 0.3 and lo <= np.nanmin(grid) and np.nanmax(grid) <= hi
    assert west > 0 > north  # a camera tilted 40° ± 15° to the SE sees only water south-east of the pole


def test_errors_are_one_line(processed, capsys, tmp_path, monkeypatch):
    home, *_ = processed
    monkeypatch.setenv("HSIWQ_HOME", str(home))
    code, _, err = run(capsys, "maps", "--site", "nowhere", "--out", str(tmp_path / "x.nc"))
    assert code != 0 and "unknown site 'nowhere'" in err and "Traceback" not in err
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--out", str(tmp_path / "x.xyz"))
    assert code != 0 and "unknown output format" in err
    code, _, err = run(capsys, "maps", "--site", "sim-site", "--param", "tp", "--out", str(tmp_path / "x.nc"))
    assert code != 0 and "'tp' is not mapped" in err


def test_retention_coarsens_then_deletes(processed, tmp_path):
    home, maps, _, _ = processed
    src = MapStore(SiteStore(home / "store" / "sim-site.zarr").objects)
    one = src.read()
    ms = MapStore(SiteStore(tmp_path / "s.zarr").objects)
    t0 = int(one.time[0])
    for d in range(3):  # three days, two acquisitions each
        for k in range(2):
            m = one.take(0)
            m.time = np.array([t0 + d * 86400 + k * 600], "int64")
            ms.write(m, spectra=np.zeros((2, 2, 3)), wavelength=np.arange(3.0))
    assert ms.times().size == 6
    now = datetime.fromtimestamp(t0, tz=timezone.utc) + timedelta(days=2, hours=12)
    done = ms.retain(full_days=1, coarsen_by=4, keep_days=30, spectra_days=0.5, now=now)
    # retention works by UTC day: the first day (before the day of now − 1 day) is coarsened
    assert done["coarsened_days"] == 1 and done["deleted"] == 2 + 4 and ms.times().size == 6
    old = ms.read(t0)
    assert old.meta["coarsened"] == 4 and old.values.shape[2:] == tuple(-(-s // 4) for s in one.values.shape[2:])
    # water area is conserved by coarsening; values are area-weighted means within range
    assert np.nansum(old.cells["water_area"]) == pytest.approx(np.nansum(one.cells["water_area"]), rel=1e-5)
    assert np.nanmin(one.values) <= np.nanmin(old.values) <= np.nanmax(old.values) <= np.nanmax(one.values)
    assert ms.spectra(t0) is None and ms.spectra(t0 + 86400) is None
    assert ms.spectra(t0 + 2 * 86400) is not None
    ms.retain(full_days=1, coarsen_by=4, keep_days=1, spectra_days=0.5, now=now)
    assert ms.times().size == 4  # the first day's coarse maps are gone, the two recent days' kept


def test_reprocessing_regenerates_maps(tmp_path):
    import json

    from hsiwq.config import load_config
    from hsiwq.models.reprocess import reprocess_site
    from hsiwq.workspace import Workspace

    sc, sm, _ = bloom_scene(6)
    _, before, _ = process(tmp_path, sc, sm, height=12.0, level=2.0)
    ws = Workspace(tmp_path / "run")
    store = SiteStore(ws.store_path("sim-site"))
    old = MapStore(store.objects).read()
    # the region (Taihu, as processed) now takes chl-a from Gons et al. (2005), everything
    # else as before: reprocess with the defaults
    regions = ws.root / "calibration" / "regions"  # the workspace's own, not the bundled ones
    regions.mkdir(parents=True)
    taihu = json.loads((Path(__file__).parents[1] / "calibration" / "regions" / "taihu.json").read_text())
    taihu["algorithms"]["chl_a"] = "gons2005"
    (regions / "taihu.json").write_text(json.dumps(taihu))
    assert ws.regions_dir == regions
    config, _ = load_config(ws.config_file)
    res = reprocess_site(ws, "sim-site", "taihu", "defaults", config=config)
    assert res.rewritten == 1
    new = MapStore(store.objects).read()
    assert old.meta["algorithms"]["chl_a"] != "gons2005" and new.meta["algorithms"]["chl_a"] == "gons2005"
    j = new.params.index("chl_a")
    assert not np.allclose(np.nan_to_num(new.values[0, j]), np.nan_to_num(old.values[0, j]))
    # the other parameters and the geometry are unchanged; the statistics follow the new map
    k = new.params.index("tss")
    np.testing.assert_allclose(new.values[0, k], old.values[0, k], rtol=1e-6)
    np.testing.assert_array_equal(new.cells["water_area"], old.cells["water_area"])
    after = store.read()
    from hsiwq.maps.stats import weighted_quantiles

    p50 = weighted_quantiles(new.values[0, j].astype(float), new.cells["water_area"][0].astype(float), [0.5])[0]
    assert float(after["chl_a_map_p50"].values[0]) == pytest.approx(p50, rel=1e-5)
    assert float(after["chl_a_map_p50"].values[0]) != pytest.approx(float(before["chl_a_map_p50"].values[0]), rel=1e-3)
