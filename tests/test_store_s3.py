"""The store on object storage: a local S3-compatible server (moto) started by the tests."""

from __future__ import annotations

import random
import time
import uuid

import numpy as np
import pytest

from hsiwq.store import Policy, SiteStore, open_series
from hsiwq.store.objects import ObjectStore, PreconditionFailed

from .store_checks import audit, reported, start_writer
from .store_child import record


@pytest.fixture
def s3(moto_s3):
    """(bucket URL prefix, storage options) of the moto S3 server (tests/conftest.py)."""
    return "s3://hsiwq", moto_s3.options


def _root(s3) -> str:
    return f"{s3[0]}/{uuid.uuid4().hex[:8]}/site.zarr"


def test_create_only_put_is_honoured(s3):
    objects = ObjectStore(_root(s3), s3[1])
    objects.put_new("heads/000000000001.json", b"first")
    with pytest.raises(PreconditionFailed):
        objects.put_new("heads/000000000001.json", b"second")
    assert objects.get("heads/000000000001.json") == b"first"


def test_write_read_replace_compact_on_s3(s3):
    root = _root(s3)
    store = SiteStore(root, s3[1], policy=Policy(maintain_probability=0))
    for i, v in [(5, 0), (1, 0), (3, 0), (5, 1)]:  # out of order, one re-delivery
        store.write(record(i, v))
    ds = store.read()
    assert ds.sizes["time"] == 3 and np.all(np.diff(ds["time"].values) > np.timedelta64(0))
    assert ds["chl_a"].values.tolist() == pytest.approx([1.0, 3.0, 5.001])
    assert store.compact()["generation"] == 1
    store.write(record(3, 1))
    again = open_series("site", root.rsplit("/", 1)[0], param="chl_a", storage_options=s3[1])
    assert again["chl_a"].values.tolist() == pytest.approx([1.0, 3.001, 5.001])
    assert store.stats()["parts_objects"] == 1  # one month so far


def test_sigkill_and_concurrent_writers_on_s3(s3, capsys):
    root = _root(s3)
    rng = random.Random(7)
    done: dict[int, int] = {}
    rounds = 6
    for r in range(rounds):
        child = start_writer(root, s3[1], first=r * 200, step=1, count=200, rewrite_every=3)
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.0, 1.5))
        child.kill()
        out, _ = child.communicate(timeout=60)
        for i, v in reported(first + out).items():
            done[i] = max(v, done.get(i, -1))
        result = audit(SiteStore(root, s3[1]), done)
        assert result["lost"] == result["torn"] == result["duplicated"] == 0, result
    writers = [start_writer(root, s3[1], first=10_000 + k, step=2, count=40, rewrite_every=4)
               for k in range(2)]
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err[-2000:]
        for i, v in reported(out).items():
            done[i] = max(v, done.get(i, -1))
    result = audit(SiteStore(root, s3[1]), done)
    with capsys.disabled():
        print(f"\nkill ({rounds} rounds) + 2 concurrent writers (S3/moto): {result}")
    assert result["lost"] == result["torn"] == result["duplicated"] == 0
    assert result["done"] >= 80


def test_damage_is_named_on_s3(s3):
    """Checksums on object storage: a truncated chunk of a part and a truncated journal
    object each fail the read naming the object; putting them back reads right; a second
    compaction deletes the superseded part (no stale/ copy on object storage)."""
    from hsiwq.errors import StoreError
    from hsiwq.store.fsck import verify

    root = _root(s3)
    store = SiteStore(root, s3[1], policy=Policy(maintain_probability=0))
    for i in range(4):
        store.write(record(i, 0))
    store.compact()
    store.write(record(1, 1))
    store.write(record(2, 1))
    store.compact()
    store.write(record(9, 0))
    expected = store.read()["chl_a"].values.tolist()
    assert expected == pytest.approx([0.0, 1.001, 2.001, 3.0, 9.0])
    fs, objects = store.objects.fs, store.objects
    assert not objects.list("stale") and len(objects.list("parts")) == 1
    part = f"parts/{objects.list('parts')[0]}"
    journal = f"journal/{objects.list('journal')[0]}"
    for key in (f"{part}/chl_a/c/0", journal):
        good = objects.get(key)
        fs.pipe_file(objects.path(key), good[:len(good) // 3])
        with pytest.raises(StoreError, match=key.split("/")[-1]):
            store.read()
        if key == journal:
            assert [f.key for f in verify(store).damaged] == [objects.url(key)]
        fs.pipe_file(objects.path(key), good)
        assert store.read()["chl_a"].values.tolist() == expected
    assert not verify(store).findings
