"""Site locations (inbox, archive, quarantine, store), [storage] and [processing] settings."""

from __future__ import annotations

import shutil

import pytest

from hsiwq.config import load_config
from hsiwq.errors import ConfigError
from hsiwq.inbox import REASON_FILE, Location, list_pending, move_bundle, site_locations
from hsiwq.tiles import tile_ranges
from hsiwq.workspace import Workspace

from .conftest import sample_bundles

SITE = "[sites.a]\nlat = 1\nlon = 0\n"


@pytest.mark.parametrize("text,key,reason", [
    (SITE + "inbox = 'ftp://host/in'\n", "sites.a.inbox", "unsupported scheme 'ftp://'"),
    (SITE + "archive = 's3://Bad_Bucket/x'\n", "sites.a.archive", "not a valid S3 bucket name"),
    (SITE + "quarantine = ''\n", "sites.a.quarantine", "empty location"),
    (SITE + "store = 3\n", "sites.a.store", "valid string"),
    (SITE + "inbox = 's3://lake/in'\narchive = 's3://lake/in/done'\n", "sites.a", "overlap"),
    (SITE + "inbox = '/data/x'\nquarantine = '/data/x'\n", "sites.a", "overlap"),
    (SITE + "[storage]\nendpoint = 'http://x'\n", "storage.endpoint", "Extra inputs"),
    (SITE + "[storage]\nendpoint_url = 'localhost:9000'\n", "storage.endpoint_url", "pattern"),
    (SITE + "[processing]\ntile_rows = 0\n", "processing.tile_rows", "greater than or equal"),
    (SITE + "[processing]\ntile_above_mb = -1\n", "processing.tile_above_mb", "greater than"),
    (SITE + "[processing]\ndask_address = 'localhost'\n", "processing.dask_address", "pattern"),
])
def test_bad_locations_name_file_key_and_reason(tmp_path, text, key, reason):
    f = tmp_path / "sites.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(f)
    msg = str(err.value)
    assert str(f) in msg and f"{key}:" in msg and reason in msg, msg


def _configured(tmp_path, extra: str):
    """The config of ``SITE`` + ``extra`` (written to sites.toml) and a workspace."""
    f = tmp_path / "sites.toml"
    f.write_text(SITE + extra)
    return load_config(f)[0], Workspace(tmp_path / "home")


def test_default_and_relative_locations(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    config, ws = _configured(tmp_path, "inbox = 'drop/a'\narchive = 's3://lake/archive/a/'\n"
                                       "[sites.b]\nlat = 1\nlon = 0\n[storage]\nregion = 'cn-north-1'\n")
    a = site_locations(config.sites["a"], config, ws)
    assert a.inbox == Location(str((ws.root / "drop" / "a").resolve()))
    assert a.archive.url == "s3://lake/archive/a" and not a.archive.local
    assert a.archive.storage_options == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9",
                                                           "region_name": "cn-north-1"}}
    assert a.quarantine.path == ws.quarantine("a") and a.store.path == ws.store_path("a")
    b = site_locations(config.sites["b"], config, ws)
    assert b.inbox.path == ws.inbox("b") and b.archive.path == ws.archive("b")
    assert site_locations("a", config, ws) == a  # a site id gives the same
    c = site_locations("c", config, ws)  # an id the configuration does not name: the defaults
    assert c.store.path == ws.store_path("c") and c.archive.path == ws.archive("c")


def test_memory_inbox_order_moves_and_a_crashed_copy(tmp_path):
    """Object-store semantics (copy, then delete) on fsspec's memory file system."""
    import fsspec

    mem = fsspec.filesystem("memory")
    good = sample_bundles("taihu-north")
    inbox = Location.of("memory://t-inbox")
    for name, src in (("z", good[0]), ("a", good[1])):
        for f in src.iterdir():
            mem.pipe_file(f"/t-inbox/{name}/{f.name}", f.read_bytes())
    mem.pipe_file("/t-inbox/bad/acquisition.json", b'{"time": "yesterday"}')
    mem.pipe_file("/t-inbox/uploading/water.raw", b"...")  # acquisition.json not there yet
    ready, bad = list_pending(inbox)
    assert [p.name for p in ready] == ["z", "a"]
    assert [p.name for p, _ in bad] == ["bad"] and "invalid time" in bad[0][1]
    _, settled = list_pending(inbox, settle_s=0)  # left too long without it: unreadable
    assert [p.name for p, _ in settled] == ["bad", "uploading"]
    assert "missing acquisition.json" in settled[1][1]
    # a crash after copying 'z' but before deleting it: the next move completes, no duplicate
    archive = Location.of("memory://t-archive")
    mem.pipe_file("/t-archive/z/water.raw", b"partial")
    moved = move_bundle(ready[0], archive)
    assert moved.url == "memory://t-archive/z" and not mem.exists("/t-inbox/z")
    assert mem.cat_file("/t-archive/z/water.raw") == (good[0] / "water.raw").read_bytes()
    # a complete copy of the same name already there: the bundle gets a stamped name
    shutil.copytree(good[1], tmp_path / "a")
    again = move_bundle(Location.of(tmp_path / "a"), archive)
    assert again.name == "a"
    dup = tmp_path / "a2" / "a"
    shutil.copytree(good[1], dup)
    stamped = move_bundle(Location.of(dup), archive)
    assert stamped.name.startswith("a.") and not dup.exists()
    q = move_bundle(bad[0][0], Location.of(tmp_path / "q"), extra={REASON_FILE: b"bad time\n"})
    assert (tmp_path / "q" / "bad" / REASON_FILE).read_text() == "bad time\n"
    assert q.local and not mem.exists("/t-inbox/bad")


def test_tile_ranges_cover_the_lines():
    assert tile_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert tile_ranges(3, 64) == [(0, 3)]


def test_unreachable_object_store_is_transient_and_shows_in_status(tmp_path, monkeypatch):
    from hsiwq.errors import BundleError, is_transient
    from hsiwq.status import site_status

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    config, ws = _configured(tmp_path, "inbox = 's3://nowhere/in'\n[storage]\n"
                                       "endpoint_url = 'http://127.0.0.1:9'\nregion = 'us-east-1'\n")
    with pytest.raises(Exception) as err:
        list_pending(site_locations(config.sites["a"], config, ws).inbox)
    assert is_transient(err.value)
    assert not is_transient(BundleError("b", "bad")) and not is_transient(ValueError())
    st = site_status(config, ws)[0]
    assert st.backlog == -1 and st.quarantined == 0 and st.records == 0
