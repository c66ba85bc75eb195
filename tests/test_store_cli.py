"""``hsiwq series`` and ``hsiwq compact`` on a workspace store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from hsiwq.cli import main
from hsiwq.store import Policy, Record, SiteStore
from hsiwq.workspace import Workspace

T0 = datetime(2026, 7, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def filled(home):
    store = SiteStore(Workspace.resolve().store_path("lake-a"), policy=Policy(maintain_probability=0))
    for m in (20, 0, 10, 20):
        store.write(Record(T0 + timedelta(minutes=m), {"chl_a": float(m), "chl_a_lo": m - 1.0,
                                                       "chl_a_hi": m + 1.0, "chl_a_ood": 0.0},
                           {"verdict": "accepted", "chl_a_model": "saa-lee1999:taihu"}))
    return store


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_series_csv_json_parquet(filled, capsys, tmp_path):
    code, out, _ = run(capsys, "series", "--site", "lake-a", "--param", "chl_a")
    assert code == 0
    lines = out.splitlines()
    # units in the CSV header (the flag _ood has none)
    assert lines[0] == "time,chl_a [µg/L],chl_a_lo [µg/L],chl_a_hi [µg/L],chl_a_ood,chl_a_model,verdict,reason"
    assert lines[1].startswith("2026-07-01T03:00:00Z,0.0,-1.0,1.0,0.0,saa-lee1999:taihu,accepted")
    assert len(lines) == 4  # the re-delivery replaced, never duplicated
    code, out, _ = run(capsys, "series", "--site", "lake-a", "--param", "chl_a", "--format", "json",
                       "--start", "2026-07-01T03:05:00Z", "--end", "2026-07-01")
    doc = json.loads(out)
    assert [r["chl_a"] for r in doc["rows"]] == [10.0, 20.0]
    assert doc["columns"]["chl_a"]["units"] == "µg/L"
    target = tmp_path / "s.parquet"
    code, _, err = run(capsys, "series", "--site", "lake-a", "--param", "chl_a", "--format", "parquet",
                       "--out", str(target))
    assert code == 0 and "3 rows" in err
    frame = pd.read_parquet(target)
    assert frame["chl_a"].tolist() == [0.0, 10.0, 20.0]
    assert str(frame["time"].dt.tz) == "UTC"


def test_compact_then_series_unchanged(filled, capsys):
    _, before, _ = run(capsys, "series", "--site", "lake-a", "--param", "chl_a")
    code, out, _ = run(capsys, "compact", "--site", "lake-a")
    assert code == 0 and "generation 1" in out and "3 rows" in out
    _, after, _ = run(capsys, "series", "--site", "lake-a", "--param", "chl_a")
    assert after == before
    code, out, _ = run(capsys, "compact")  # every site with a store
    assert code == 0 and out.startswith("lake-a:")


@pytest.mark.parametrize("args,message", [
    (["series", "--site", "nowhere", "--param", "chl_a"], "no store here"),
    (["series", "--site", "lake-a", "--param", "chl"], "unknown chl"),
    (["series", "--site", "lake-a", "--param", "chl_a", "--start", "yesterday"], "ISO 8601"),
    (["series", "--site", "lake-a", "--param", "chl_a", "--format", "parquet"], "needs --out"),
])
def test_bad_input_is_one_line(filled, capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code != 0 and message in err and "Traceback" not in err
