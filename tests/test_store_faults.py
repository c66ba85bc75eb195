"""The store under faults: writers killed (SIGKILL) at random points, concurrent writers.

A writer child reports ``done <i> <v>`` after each write returns; the audit counts records
reported done but missing (lost), records whose fields disagree (torn), and repeated times
(duplicated). Children fold and compact often, so kills also land inside maintenance.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hsiwq.store import Policy, SiteStore

from .store_checks import ROOT, audit, reported, start_writer

KILL_ROUNDS = 24


def _debris(root: str) -> set[str]:
    """Temporary files and parts that no head names: what a cut write or compaction leaves."""
    base = Path(root)
    named = set()
    for head in base.glob("heads/*.json"):
        named |= {p["key"] for p in json.loads(head.read_text())["parts"]}
    return ({str(p) for p in base.glob("*/.tmp-*")}
            | {str(p) for p in base.glob("parts/*") if f"parts/{p.name}" not in named})


def _kill_rounds(root: str, options: dict | None, rounds: int, rng: random.Random,
                 per_round: int = 400) -> dict[str, int]:
    done: dict[int, int] = {}
    store = SiteStore(root, options, policy=Policy(maintain_probability=0))
    totals = {"rounds": 0, "kills_after_writes": 0, "kills_leaving_debris": 0}
    for r in range(rounds):
        child = start_writer(root, options, first=r * per_round, step=1, count=per_round,
                             rewrite_every=3)
        first = child.stdout.readline()  # the child is writing (imports done)
        debris = _debris(root)
        time.sleep(rng.uniform(0.0, 0.8))  # then a write, a fold or a compaction is cut short
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL, err[-2000:]
        got = reported(first + out)
        totals["kills_after_writes"] += bool(got)
        totals["kills_leaving_debris"] += bool(_debris(root) - debris)  # cut inside a write/compaction
        for i, v in got.items():
            done[i] = max(v, done.get(i, -1))
        result = audit(store, done)  # the store opens and reads after every kill
        assert result["lost"] == result["torn"] == result["duplicated"] == result["unordered"] == 0, result
        totals["rounds"] += 1
    totals.update(audit(store, done))
    return totals


def test_sigkill_at_random_points_loses_nothing(tmp_path, capsys):
    root = str(tmp_path / "site.zarr")
    totals = _kill_rounds(root, None, KILL_ROUNDS, random.Random(1))
    with capsys.disabled():
        print(f"\nkill test (local): {totals}")
    assert totals["rounds"] == totals["kills_after_writes"] == KILL_ROUNDS
    assert totals["lost"] == totals["torn"] == totals["duplicated"] == 0
    # what the killed writers left behind compacts without loss
    store = SiteStore(root)
    before = store.read(with_rrs=True)
    store.compact()
    after = store.read(with_rrs=True)
    assert after.equals(before)
    assert store.stats()["journal_objects"] == store.stats()["segments_objects"] == 0


def test_concurrent_writers_lose_nothing(tmp_path, capsys):
    root = str(tmp_path / "site.zarr")
    writers = [start_writer(root, None, first=k, step=3, count=150, rewrite_every=4) for k in range(3)]
    killed = writers[2]
    time.sleep(2.0)
    killed.send_signal(signal.SIGKILL)  # one of them dies midway
    done: dict[int, int] = {}
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode in (0, -signal.SIGKILL), err[-2000:]
        for i, v in reported(out).items():
            done[i] = max(v, done.get(i, -1))
    result = audit(SiteStore(root), done)
    with capsys.disabled():
        print(f"\nconcurrent writers (local): {result}")
    assert result["done"] >= 300
    assert result["lost"] == result["torn"] == result["duplicated"] == 0


def test_concurrent_compactions_keep_everything(tmp_path):
    """Two compactions racing with a writer: one commits, the other discards its work."""
    root = str(tmp_path / "site.zarr")
    writer = start_writer(root, None, first=0, step=1, count=300, rewrite_every=5)
    compactors = []
    code = ("import sys, warnings; warnings.simplefilter('ignore')\n"
            "from hsiwq.store import SiteStore\n"
            "import time\n"
            "s = SiteStore(sys.argv[1])\n"
            "for _ in range(15):\n"
            "    try:\n"
            "        s.compact()\n"
            "    except Exception as e:\n"
            "        if 'no store here' not in str(e): raise\n"
            "    time.sleep(0.05)\n")
    time.sleep(1.0)
    for _ in range(2):
        compactors.append(subprocess.Popen([sys.executable, "-c", code, root], cwd=ROOT,
                                           stderr=subprocess.PIPE, text=True))
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err[-2000:]
    for c in compactors:
        _, cerr = c.communicate(timeout=300)
        assert c.returncode == 0, cerr[-2000:]
    result = audit(SiteStore(root), reported(out))
    assert result["done"] == 300
    assert result["lost"] == result["torn"] == result["duplicated"] == 0


@pytest.mark.parametrize("point", ["after_parts", "after_head"])
def test_compaction_killed_midway(tmp_path, monkeypatch, point):
    """A compaction that dies after writing parts, or after committing, leaves a good store."""
    from .store_child import record

    store = SiteStore(tmp_path / "s.zarr", policy=Policy(maintain_probability=0))
    for i in range(50):
        store.write(record(i, 0))
    store.compact()
    for i in range(25, 75):
        store.write(record(i, 1))
    expected = store.read(with_rrs=True)

    class Killed(BaseException):
        pass

    def boom(*a, **k):
        raise Killed()

    # stop before the head is created, or right after it (before anything is deleted)
    monkeypatch.setattr(store.objects, "put_new" if point == "after_parts" else "delete", boom)
    with pytest.raises(Killed):
        store.compact()
    monkeypatch.undo()
    again = SiteStore(tmp_path / "s.zarr")
    assert again.read(with_rrs=True).equals(expected)
    again.compact()
    assert again.read(with_rrs=True).equals(expected)
