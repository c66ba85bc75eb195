"""The store as an xarray backend: ``xr.open_dataset("<site>.zarr", engine="hsiwq")``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import xarray as xr

from hsiwq.cli import main
from hsiwq.store import Batch, Policy, Record, SiteStore
from hsiwq.workspace import Workspace

T0 = datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc)
WL = np.linspace(400, 900, 11)
MANUAL = Policy(maintain_probability=0)


def fill(root, site_offset: float = 0.0) -> None:
    """Parts of two months, then a segment and journal entries re-delivering some rows."""
    store = SiteStore(root, policy=MANUAL)
    t = np.datetime64(T0.replace(tzinfo=None)) + np.arange(240) * np.timedelta64(1, "m")
    chl = np.arange(240.0) + site_offset
    store.write_batch(Batch.from_arrays(t, 1, {"chl_a": chl, "tss": 2 * chl},
                                        {"verdict": ["accepted"] * 240, "chl_a_model": ["m1"] * 240},
                                        rrs=np.outer(chl, np.ones(WL.size)) / 1e4, wavelength=WL))
    store.compact()
    store.write_batch(Batch.from_arrays(t[100:140], 2, {"chl_a": -chl[100:140], "tss": chl[100:140]},
                                        {"verdict": ["rejected"] * 40, "chl_a_model": ["m2"] * 40}))
    for m in (5, 130, 300):
        store.write(Record(T0 + timedelta(minutes=m), {"chl_a": 1000.0 + m, "tss": 7.0},
                           {"verdict": "accepted", "chl_a_model": "m3"},
                           maps={"chl_a": np.full((32, 48), 1000.0 + m)} if m == 300 else None))


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exc.value.code or 0, out.out


@pytest.mark.filterwarnings("ignore:Object at .* is not recognized:UserWarning")  # plain open_zarr
def test_open_dataset_returns_every_row_of_series(home, capsys):
    root = Workspace.resolve().store_path("lake-a")
    fill(root)
    assert {p.parent.name for p in root.glob("*/*")} >= {"journal", "segments", "parts", "heads"}
    code, out = run(capsys, "series", "--site", "lake-a", "--param", "chl_a", "--param", "tss",
                    "--format", "json")
    assert code == 0
    rows = json.loads(out)["rows"]
    ds = xr.open_dataset(root, engine="hsiwq")
    assert ds.sizes["time"] == len(rows) == 241  # 240 compacted + 1 new; re-deliveries replace
    times = [np.datetime_as_string(t, unit="s") + "Z" for t in ds["time"].values]
    assert times == [r["time"] for r in rows]
    for name in ("chl_a", "tss", "chl_a_model", "verdict"):
        want = [r[name] for r in rows]
        got = ds[name].values.tolist()
        assert got == want, name
    # independent truth: the newest write of each time
    assert ds["chl_a"].sel(time="2026-06-30T22:05").item() == 1005.0  # journal over part
    assert ds["chl_a"].sel(time="2026-06-30T23:50").item() == -110.0  # segment over part
    assert ds["chl_a"].sel(time="2026-07-01T00:10").item() == 1130.0  # journal over segment
    # CF attributes, spectra, maps
    assert ds["chl_a"].attrs["units"] == "µg/L"
    assert ds["chl_a"].attrs["standard_name"] == "mass_concentration_of_chlorophyll_a_in_sea_water"
    # CF valid_min is the physical floor (0); the catalogue's plausible range is its own
    # attribute, so that CF-aware readers never mask a stored (flagged) value
    lo, hi = ds["chl_a"].attrs["hsiwq_catalogue_range"]
    assert ds["chl_a"].attrs["valid_min"] == 0.0 and 0.0 < lo < hi
    assert ds["rrs"].attrs["units"] == "sr-1" and ds.sizes["wavelength"] == WL.size
    assert ds["maps"].sizes["map_time"] == 1 and float(ds["maps"].mean()) == 1300.0
    assert ds["site"].item() == "lake-a"
    # without naming the engine, the store is recognised as hsiwq's
    assert xr.open_dataset(root).sizes["time"] == 241
    # a plain open_zarr of the root is not silently empty: it says how to read the store
    plain = xr.open_zarr(root, consolidated=False)
    assert "engine='hsiwq'" in plain.attrs["hsiwq_read_with"]
    subset = xr.open_dataset(root, engine="hsiwq", quantities=["chl_a"], with_rrs=False,
                             start="2026-07-01T00:00:00Z", drop_variables=["reason"])
    assert subset["chl_a"].size == 121 and "rrs" not in subset and "reason" not in subset


def test_open_mfdataset_over_sites(home):
    ws = Workspace.resolve()
    fill(ws.store_path("lake-a"))
    fill(ws.store_path("lake-b"), site_offset=0.5)
    SiteStore(ws.store_path("lake-b"), policy=MANUAL).write(
        Record(T0 + timedelta(minutes=400), {"chl_a": 9.0}, {"verdict": "accepted"}))
    ds = xr.open_mfdataset([ws.store_path("lake-a"), ws.store_path("lake-b")], engine="hsiwq",
                           combine="nested", concat_dim="site", join="outer", with_maps=False,
                           quantities=["chl_a"], with_rrs=False)
    assert ds["site"].values.tolist() == ["lake-a", "lake-b"]
    assert ds.sizes["time"] == 242  # the union of both sites' times
    a = ds["chl_a"].sel(site="lake-a").values
    b = ds["chl_a"].sel(site="lake-b").values
    assert np.isnan(a[-1]) and b[-1] == 9.0
    np.testing.assert_array_equal(b[:-1][10:100], a[:-1][10:100] + 0.5)


def test_compaction_leaves_exactly_the_parts_in_force(tmp_path):
    """Opening every folder under parts/ never double-counts: superseded parts go to stale/
    with a marker."""
    root = tmp_path / "s.zarr"
    fill(root)
    store = SiteStore(root, policy=MANUAL)
    for _ in range(3):
        store.write(Record(T0 + timedelta(minutes=7), {"chl_a": 1.0}))
        store.compact()
    head = json.loads(sorted(root.glob("heads/*.json"))[-1].read_text())
    assert sorted(f"parts/{p.name}" for p in (root / "parts").iterdir()) == sorted(
        p["key"] for p in head["parts"])
    rows = sum(xr.open_zarr(p, consolidated=True).sizes["time"] for p in (root / "parts").iterdir())
    assert rows == xr.open_dataset(root, engine="hsiwq").sizes["time"] == 241
    stale = list((root / "stale").iterdir())
    assert stale and all("NOT in force" in (p / "STALE").read_text() for p in stale)
