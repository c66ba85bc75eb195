"""A damaged store: every kind of damage, through the real CLI.

For each kind of damage (truncated chunk, truncated / empty / garbage journal object, truncated
segment, garbage root metadata, truncated head, deleted part) the commands a user runs —
``hsiwq series``, ``compact``, ``status``, ``store-info --verify`` — must either fail with one
line naming the damaged object, or print only right values; and putting the damaged file back
must give the right values again, whatever ran in between (the damage never became
permanent). The truth is a table of values computed here, independently of the store.

The figures of ``docs/store.md`` (damage kind -> exit code, message) are printed by
``test_damage_table`` (run ``pytest -s``).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from hsiwq.cli import main
from hsiwq.store import Batch, Policy, Record, SiteStore
from hsiwq.workspace import Workspace

SITE, OTHER = "taihu-north", "yangtze-nanjing"  # sites of the bundled configuration
T0 = datetime(2026, 6, 30, 23, 0, tzinfo=timezone.utc)  # the rows cross a month: two parts
MANUAL = Policy(maintain_probability=0)


def value(i: int, version: int) -> float:
    """chl_a of minute ``i`` written as ``version`` (the truth, computed independently)."""
    return round(1.0 + i * 0.25 + version * 100.0, 3)


def record(i: int, version: int) -> Record:
    v = value(i, version)
    return Record(T0 + timedelta(minutes=i), {"chl_a": v, "chl_a_lo": v - 1, "chl_a_hi": v + 1,
                                              "chl_a_ood": 0.0},
                  {"verdict": "accepted", "chl_a_model": f"v{version}"})


def build(root: Path) -> dict[str, float]:
    """A store with compacted parts (two months), a segment and journal entries; returns
    the expected chl_a of every acquisition time (ISO text)."""
    store = SiteStore(root, policy=MANUAL)
    truth: dict[int, float] = {}
    t = np.array([np.datetime64(T0.replace(tzinfo=None)) + np.timedelta64(i, "m") for i in range(120)])
    chl = np.array([value(i, 0) for i in range(120)])
    store.write_batch(Batch.from_arrays(t, 1, {"chl_a": chl, "chl_a_lo": chl - 1, "chl_a_hi": chl + 1,
                                               "chl_a_ood": np.zeros(120)},
                                        {"verdict": ["accepted"] * 120, "chl_a_model": ["v0"] * 120}))
    truth.update({i: value(i, 0) for i in range(120)})
    store.compact()  # parts of June and July
    for i in range(50, 70, 2):  # re-deliveries of both months, folded into a segment
        store.write(record(i, 1))
        truth[i] = value(i, 1)
    store.fold()
    for i in (55, 65, 130):  # newer ones in the journal
        store.write(record(i, 2))
        truth[i] = value(i, 2)
    return {(T0 + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"): v for i, v in sorted(truth.items())}


def run(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exc.value.code or 0, out.out, out.err


def series(capsys) -> tuple[int, dict[str, float] | None, str]:
    code, out, err = run(capsys, "series", "--site", SITE, "--param", "chl_a", "--format", "json")
    rows = {r["time"]: r["chl_a"] for r in json.loads(out)["rows"]} if code == 0 else None
    return code, rows, err


# --- the kinds of damage: each damages one file and says which ----------------------------
def _newest_head(root: Path) -> Path:
    return sorted(root.glob("heads/*.json"))[-1]


def _part_in_force(root: Path, month: str = "2026-07") -> Path:
    keys = [p["key"] for p in json.loads(_newest_head(root).read_text())["parts"]]
    return root / next(k for k in keys if month in k)


def _truncate(path: Path, fraction: float = 1 / 3) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(7).bytes(max(64, path.stat().st_size)))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _damage(name: str, pick, how):
    """A kind of damage: ``how`` applied to the file ``pick(root)``; returns that file."""
    def damage(root: Path) -> Path:
        path = pick(root)
        how(path)
        return path
    damage.__name__ = name
    return damage


def _first(pattern: str):
    return lambda root: sorted(root.glob(pattern))[0]


truncated_chunk = _damage("truncated_chunk", lambda r: _part_in_force(r) / "chl_a" / "c" / "0", _truncate)
truncated_journal = _damage("truncated_journal", _first("journal/*.npz"), _truncate)
empty_journal = _damage("empty_journal", _first("journal/*.npz"), _empty)
garbage_journal = _damage("garbage_journal", _first("journal/*.npz"), _garbage)
truncated_segment = _damage("truncated_segment", _first("segments/*.npz"), _truncate)
garbage_root = _damage("garbage_root", lambda r: r / "zarr.json", _garbage)
truncated_head = _damage("truncated_head", _newest_head, _truncate)


def deleted_part(root: Path) -> Path:
    p = _part_in_force(root)
    shutil.rmtree(p)
    return p


DAMAGE = [truncated_chunk, truncated_journal, empty_journal, garbage_journal, truncated_segment,
          garbage_root, truncated_head, deleted_part]


@pytest.fixture
def stores(home):
    ws = Workspace.resolve()
    truth = build(ws.store_path(SITE))
    SiteStore(ws.store_path(OTHER), policy=MANUAL).write(record(0, 0))  # a healthy neighbour
    return ws.store_path(SITE), truth


def _one_line_naming(err: str, damaged: Path, root: Path) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err and "internal error" not in err, err
    name = str(damaged.relative_to(root))
    named = [x for x in lines if name in x and x.startswith("hsiwq: error:")]
    assert len(named) == 1, (name, err)
    return named[0]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_damage_is_named_never_wrong_never_permanent(stores, capsys, damage):
    root, truth = stores
    code, rows, _ = series(capsys)
    assert code == 0 and rows == truth  # the intact store
    saved = root.parent / "saved"
    shutil.copytree(root, saved)
    damaged = damage(root)
    results = {}
    for name, args in [("series", ("series", "--site", SITE, "--param", "chl_a", "--format", "json")),
                       ("compact", ("compact", "--site", SITE)),
                       ("status", ("status",)),
                       ("verify", ("store-info", "--site", SITE, "--verify")),
                       ("series again", ("series", "--site", SITE, "--param", "chl_a", "--format", "json"))]:
        code, out, err = run(capsys, *args)
        results[name] = code
        other = next(x for x in out.splitlines() if OTHER in x) if name == "status" else ""
        if name == "status" and code == 0:
            # status reads only times and verdicts: damage elsewhere is not met, and what
            # it prints is right
            mine = next(x for x in out.splitlines() if SITE in x)
            assert f" {len(truth)} " in mine and "2026-07-01 01:10" in mine, out
            assert damage in (truncated_chunk,)
        elif name == "status":
            line = _one_line_naming(err, damaged, root)
            assert code == 1 and f"site {SITE}:" in line
            assert "BROKEN" in next(x for x in out.splitlines() if SITE in x)
        else:  # no command reads through the damage with exit 0
            assert code == 2, (name, out)
            _one_line_naming(err, damaged, root)
            if name != "verify":  # (verify lists the damaged objects on stdout)
                assert out == ""  # no value printed
        if other:  # the neighbour is listed as usual, with its row
            assert "BROKEN" not in other and "2026-06-30 23:00" in other
    # put the damaged file back (the damage was not made permanent by anything that ran)
    if damaged.is_dir() or not damaged.exists():
        shutil.copytree(saved / damaged.relative_to(root), damaged, dirs_exist_ok=True)
    else:
        shutil.copy2(saved / damaged.relative_to(root), damaged)
    code, rows, err = series(capsys)
    assert code == 0 and rows == truth, err
    code, out, _ = run(capsys, "store-info", "--site", SITE, "--verify")
    assert code == 0 and "0 damaged" in out and "all verified" in out


def test_damage_table(stores, capsys):
    """The figures of docs/store.md: per kind of damage, each command's exit code, and the
    message of ``hsiwq series``."""
    root, _ = stores
    saved = root.parent / "saved"
    shutil.copytree(root, saved)
    table = []
    for damage in DAMAGE:
        shutil.rmtree(root)
        shutil.copytree(saved, root)
        damaged = damage(root)
        codes = []
        for args in [("series", "--site", SITE, "--param", "chl_a"), ("compact", "--site", SITE),
                     ("status",), ("store-info", "--site", SITE, "--verify")]:
            code, _, err = run(capsys, *args)
            codes.append(code)
            if args[0] == "series":
                message = _one_line_naming(err, damaged, root).replace(str(root), "<store>")
        table.append((damage.__name__, codes, message))
    with capsys.disabled():
        print("\n| damage | series | compact | status | store-info --verify | message of series |")
        for name, codes, message in table:
            print(f"| {name} | " + " | ".join(map(str, codes)) + f" | `{message}` |")
    assert all(codes == [2, 2, 1, 2] for name, codes, _ in table if name != "truncated_chunk")


# --- repairs from other copies ------------------------------------------------------------
def test_repair_journal_entry_from_a_segment_copy(stores, capsys):
    """A fold killed before deleting leaves a journal entry also in a segment: a damaged
    journal entry is then repaired (deleted, its row read from the segment)."""
    root, truth = stores
    store = SiteStore(root, policy=MANUAL)
    entry = sorted(root.glob("journal/*.npz"))[0]
    store.write_batch(Batch.from_bytes(entry.read_bytes()))  # the copy a cut fold leaves
    _truncate(entry)
    code, _, err = run(capsys, "store-info", "--site", SITE, "--verify")
    assert code == 2 and entry.name in err
    code, out, err = run(capsys, "store-info", "--site", SITE, "--verify", "--repair")
    assert code == 0, err
    assert "REPAIRED" in out and "also in another object" in out
    assert series(capsys)[1] == truth


def test_repair_part_from_the_older_part(stores, capsys):
    """After ``compact --full`` the previous head still holds the older parts (moved to
    stale/): a damaged chunk of a part in force is rebuilt from them and committed anew."""
    root, truth = stores
    assert run(capsys, "compact", "--site", SITE)[0] == 0  # everything into parts
    assert run(capsys, "compact", "--site", SITE, "--full")[0] == 0  # the same rows, rewritten
    assert [p.name for p in (root / "stale").iterdir()] and all(
        (p / "STALE").is_file() for p in (root / "stale").iterdir())
    in_force = {p["key"] for p in json.loads(_newest_head(root).read_text())["parts"]}
    assert {f"parts/{p.name}" for p in (root / "parts").iterdir()} == in_force  # exactly those
    damaged = truncated_chunk(root)
    code, _, err = run(capsys, "series", "--site", SITE, "--param", "chl_a")
    assert code == 2 and str(damaged.relative_to(root)) in err
    code, out, err = run(capsys, "store-info", "--site", SITE, "--verify", "--repair")
    assert code == 0, out + err
    assert "rows restored from other copies" in out or "row(s) restored" in out
    assert series(capsys)[1] == truth
    code, out, _ = run(capsys, "store-info", "--site", SITE, "--verify")
    assert code == 0 and "0 damaged" in out


@pytest.mark.parametrize("damage,how", [(truncated_head, "restored from its copy"),
                                        (garbage_root, "rewritten")])
def test_repair_head_and_root(stores, capsys, damage, how):
    root, truth = stores
    damage(root)
    code, out, err = run(capsys, "store-info", "--site", SITE, "--verify", "--repair")
    assert code == 0 and how in out, out + err
    assert series(capsys)[1] == truth


@pytest.mark.parametrize("damage", [deleted_part, truncated_segment], ids=lambda f: f.__name__)
def test_no_copy_no_repair(stores, capsys, damage):
    root, _ = stores
    damaged = damage(root)
    code, out, err = run(capsys, "store-info", "--site", SITE, "--verify", "--repair")
    assert code == 2 and str(damaged.relative_to(root)) in err
    assert series(capsys)[0] == 2  # still refused, never read around


def test_discard_loses_only_that_record(stores, capsys):
    root, truth = stores
    entry = sorted(root.glob("journal/*.npz"))[-1]  # the newest write: minute 130
    _garbage(entry)
    code, out, err = run(capsys, "store-info", "--site", SITE, "--verify", "--repair", "--discard")
    assert code == 0 and "moved to damaged/" in out, out + err
    assert (root / "damaged" / "journal" / entry.name).is_file()
    expected = {k: v for k, v in truth.items() if k != "2026-07-01T01:10:00Z"}
    assert series(capsys)[1] == expected


def test_writes_go_on_and_compaction_refuses(stores):
    """A damaged journal entry does not stop the pipeline's writes (maintenance is best
    effort), and compaction merges nothing while it is there."""
    root, _ = stores
    damaged = garbage_journal(root)
    store = SiteStore(root, policy=Policy(maintain_probability=1.0, fold_min=1, compact_segments=1))
    heads = sorted(p.name for p in root.glob("heads/*.json"))
    store.write(record(200, 0))
    assert damaged.exists() and sorted(p.name for p in root.glob("heads/*.json")) == heads
    from hsiwq.errors import StoreError

    with pytest.raises(StoreError, match=damaged.name):
        store.compact()


def test_old_stores_read_unverified(stores, capsys):
    """A store written before checksums (no manifest, no checksum in heads and batches) reads
    as before; ``store-info --verify`` says it is unverified."""
    root, truth = stores
    from hsiwq.store import batch as batch_mod

    for p in root.glob("journal/*.npz"):  # rewrite objects in the older formats
        arrays, meta = batch_mod.unpack(p.read_bytes())
        meta = {k: v for k, v in meta.items() if k not in ("arrays", "zlib")}
        new = batch_mod.pack(arrays, meta)
        p.write_bytes(b"HSIWQB1\n" + new[batch_mod._FIXED - 4:])
    h = _newest_head(root)
    doc = json.loads(h.read_text())
    for part in doc["parts"]:
        part.pop("manifest")
    doc.pop("crc32c")
    h.write_text(json.dumps(doc))
    assert series(capsys)[1] == truth
    code, out, _ = run(capsys, "store-info", "--site", SITE, "--verify")
    assert code == 0 and "unverified" in out
    assert os.path.exists(root / "zarr.json")


def test_console_script_prints_one_line(stores):
    """The installed command itself (a child process): exit 2, one line on stderr, nothing
    on stdout."""
    import subprocess
    import sys

    from .conftest import cli_env

    root, _ = stores
    damaged = truncated_chunk(root)
    home = root.parent.parent
    proc = subprocess.run([sys.executable, "-m", "hsiwq", "series", "--site", SITE, "--param",
                           "chl_a"], capture_output=True, text=True, env=cli_env(home), timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(damaged.relative_to(root)) in proc.stderr and "truncated" in proc.stderr


def test_compact_every_site_goes_on_past_a_broken_one(stores, capsys):
    root, truth = stores
    damaged = truncated_journal(root)
    code, out, err = run(capsys, "compact")  # every site with a store
    assert code == 2 and f"{OTHER}: generation 1" in out and SITE not in out
    _one_line_naming(err, damaged, root)
