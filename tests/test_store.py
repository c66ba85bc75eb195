"""The site store: keyed by time, ordered reads, uncommitted rows invisible."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import zarr

from hsiwq.errors import StoreError
from hsiwq.store import Record, SiteStore

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)
WL = np.linspace(400, 900, 51)


def rec(minutes: int, chl: float, verdict: str = "accepted") -> Record:
    return Record(T0 + timedelta(minutes=minutes), {"chl_a": chl, "valid_fraction": 0.8},
                  {"verdict": verdict, "model_version": "default:gons2005"},
                  rrs=np.full(WL.size, chl / 1000), wavelength=WL)


def test_replace_and_order(tmp_path):
    s = SiteStore(tmp_path / "site.zarr")
    for m, chl in [(10, 1.0), (0, 2.0), (5, 3.0), (10, 4.0)]:  # out of order, one re-delivery
        s.write(rec(m, chl))
    ds = s.read()
    assert ds.sizes["time"] == 3
    assert list(ds["chl_a"].values) == [2.0, 3.0, 4.0]  # time order; newest row wins
    assert ds["time"].values[0] == np.datetime64("2026-07-01T03:00")
    assert ds["chl_a"].attrs["units"] == "µg/L"
    assert list(ds["verdict"].values) == ["accepted"] * 3
    np.testing.assert_allclose(ds["rrs"].values[-1], 0.004, rtol=1e-6)


def test_time_window_and_labels(tmp_path):
    s = SiteStore(tmp_path / "site.zarr")
    for m in range(6):
        s.write(rec(m, float(m), "rejected" if m == 2 else "accepted"))
    ds = s.read(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3), quantities=["chl_a"])
    assert list(ds["chl_a"].values) == [1.0, 2.0, 3.0]
    assert list(ds["verdict"].values) == ["accepted", "rejected", "accepted"]


def test_uncommitted_row_is_invisible(tmp_path):
    s = SiteStore(tmp_path / "site.zarr")
    s.write(rec(0, 1.0))
    g = zarr.open_group(tmp_path / "site.zarr", mode="r+")
    g["time"][1] = int((T0 + timedelta(minutes=1)).timestamp())  # a writer died before its commit
    g["values"][1, 0] = 99.0
    assert SiteStore(tmp_path / "site.zarr").read().sizes["time"] == 1
    s.write(rec(2, 5.0))  # the next writer takes the row over
    assert list(s.read()["chl_a"].values) == [1.0, 5.0]


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no store here"):
        SiteStore(tmp_path / "nope.zarr").read()


def test_unknown_quantity_rejected(tmp_path):
    s = SiteStore(tmp_path / "site.zarr")
    with pytest.raises(StoreError, match="unknown quantities"):
        s.write(Record(T0, {"bogus": 1.0}, {}, np.zeros(WL.size), WL))
