"""Verify a site's store object by object, and repair what another copy can restore.

:func:`verify` checks every object a reader could meet against what was committed (see
:mod:`hsiwq.store.integrity`): the root metadata, the heads, the journal, the segments and
every object of the parts in force (and of the stale parts still held by the previous head).
With ``repair=True`` it restores what has another copy:

- the root metadata (its content follows from the site and the format);
- a head, from the copy ``heads/<n>.bak`` written after it was committed;
- the metadata of one array of a part, from the part's consolidated metadata;
- a journal entry or segment whose rows are also elsewhere: named in a head's list of merged
  objects (left over by a compaction cut short), or a journal entry whose acquisition time
  has a row at least as new in another object (its write stamp is in its name);
- rows of a damaged chunk of a part in force, from any intact object holding the same rows
  (same acquisition time and write stamp): the older part the previous head still holds, a
  segment, the journal. The repaired part is written anew and committed by a new head, like
  a compaction.

With ``discard=True`` damaged journal entries and segments that have no other copy are moved
under ``damaged/`` (their rows are lost, the rest of the store reads again). Nothing else is
ever deleted by a repair.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from .batch import Batch, concat
from .integrity import MANIFEST, Damage, DamagedObject, check, parse_manifest, unseal
from .objects import PreconditionFailed
from .parts import head_bytes, read_part, write_part
from .site import SiteStore, merge_sorted


@dataclass
class Finding:
    """One damaged object (or part) and what became of it."""

    key: str
    problem: str
    repaired: str = ""  # how it was repaired ("" if not)

    def line(self) -> str:
        state = f"REPAIRED ({self.repaired})" if self.repaired else "DAMAGED"
        return f"{state} {self.key}: {self.problem}"


@dataclass
class Report:
    """What :func:`verify` found."""

    checked: int = 0
    unverified: list[str] = field(default_factory=list)  # written before checksums
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> list[Finding]:
        return [f for f in self.findings if not f.repaired]


def verify(store: SiteStore, *, repair: bool = False, discard: bool = False) -> Report:
    """Check every object of ``store``; repair (and discard) as asked. See the module doc."""
    rep = Report()
    objs = store.objects
    _root(store, rep, repair)
    heads = _heads(store, rep, repair)
    newest = max((int(n[:-5]) for n in objs.list("heads") if n.endswith(".json")), default=0)
    gen = max(heads) if heads else 0
    if gen != newest:  # the newest head is damaged: which parts are in force is unknown
        rep.notes.append(f"parts not checked: heads/{newest:012d}.json, which lists them, is damaged")
        heads = {}
    merged = {k for g in (gen, gen - 1) for k in heads.get(g, {}).get("merged", [])}
    good: list[Batch] = []
    bad: list[str] = []
    for prefix in ("journal", "segments"):
        for name in objs.list(prefix):
            if not name.endswith(".npz"):
                continue
            key = f"{prefix}/{name}"
            rep.checked += 1
            try:
                data = objs.get(key)
            except FileNotFoundError:
                continue  # merged meanwhile
            try:
                good.append(Batch.from_bytes(data))
                if data.startswith(b"HSIWQB1"):
                    rep.unverified.append(key)
            except (Damage, ValueError, KeyError, TypeError) as exc:
                rep.findings.append(Finding(objs.url(key), str(exc)))
                bad.append(key)
    in_force = heads.get(gen, {}).get("parts", [])
    prev = heads.get(gen - 1, {}).get("parts", [])
    part_findings: dict[str, list[tuple[str, str]]] = {}
    for entry in in_force:
        part_findings[entry["key"]] = _part(store, entry, rep, repair)
    for entry in prev:
        if entry["key"] not in {e["key"] for e in in_force}:
            key = _located(store, entry)
            if key and _part(store, dict(entry, key=key), rep, False, quiet=True):
                rep.notes.append(f"{objs.url(key)}: damaged, but not in force (a stale copy)")
    if repair:
        _repair_small(store, rep, bad, good, merged, in_force, discard)
        for entry in in_force:
            if part_findings.get(entry["key"]):
                _repair_part(store, rep, entry, part_findings[entry["key"]], good, prev)
    return rep


# --- root and heads ---------------------------------------------------------------------
def _root(store: SiteStore, rep: Report, repair: bool) -> None:
    rep.checked += 1
    try:
        store._check_readable()
    except DamagedObject as exc:
        f = Finding(exc.where, exc.problem.split(";")[0])
        if repair:
            store.objects.put("zarr.json", store._root_meta())
            f.repaired = "rewritten from the site id and the store format"
        rep.findings.append(f)


def _heads(store: SiteStore, rep: Report, repair: bool) -> dict[int, dict]:
    objs = store.objects
    out: dict[int, dict] = {}
    names = objs.list("heads")
    for name in (n for n in names if n.endswith(".json")):
        rep.checked += 1
        g = int(name[:-5])
        try:
            data = objs.get(f"heads/{name}")
        except FileNotFoundError:
            continue
        try:
            out[g] = unseal(data)
            if "crc32c" not in out[g]:
                rep.unverified.append(f"heads/{name}")
            continue
        except Damage as exc:
            f = Finding(objs.url(f"heads/{name}"), f"head {exc}")
            rep.findings.append(f)
        copy = f"{g:012d}.bak"
        if copy in names:
            try:
                content = unseal(objs.get(f"heads/{copy}"))
                if repair and content.get("generation") == g:
                    objs.put(f"heads/{name}", objs.get(f"heads/{copy}"))
                    f.repaired = f"restored from its copy heads/{copy}"
                    out[g] = content
            except Damage:
                rep.notes.append(f"heads/{copy}: the copy is damaged too")
        else:
            rep.notes.append(f"heads/{name}: no copy to restore it from")
    return out


# --- parts ------------------------------------------------------------------------------
def _located(store: SiteStore, entry: dict) -> str | None:
    """Where a part of a head is now: ``parts/...`` or, once superseded, ``stale/...``."""
    key = entry["key"]
    for k in (key, "stale/" + key.split("/", 1)[1]):
        if store.objects.exists(f"{k}/zarr.json") or store.objects.exists(f"{k}/{MANIFEST}"):
            return k
    return None


def _part(store: SiteStore, entry: dict, rep: Report, repair: bool, *,
          quiet: bool = False) -> list[tuple[str, str]]:
    """Check every object of a part; returns what is still damaged: (relative key, problem)."""
    objs = store.objects
    key = entry["key"]
    found: list[tuple[str, str]] = []

    def finding(rel: str, problem: str) -> Finding | None:
        found.append((rel, problem))
        if quiet:
            return None
        f = Finding(objs.url(f"{key}/{rel}" if rel else key), problem)
        rep.findings.append(f)
        return f

    if "manifest" not in entry:
        rep.unverified.append(key)
        return found
    got = objs.get_many([f"{key}/{MANIFEST}", f"{key}/zarr.json"])
    if got[f"{key}/{MANIFEST}"] is None and got[f"{key}/zarr.json"] is None:
        finding("", f"part missing: the head in force names it but it is not on storage "
                    f"({entry['rows']} rows)")
        return found
    try:
        manifest = parse_manifest(got[f"{key}/{MANIFEST}"], entry["manifest"])
    except (Damage, ValueError, KeyError) as exc:
        finding(MANIFEST, f"manifest {exc}")
        return found
    rels = sorted(manifest)
    data = objs.get_many([f"{key}/{r}" for r in rels])
    for rel in rels:
        rep.checked += 1
        try:
            check(data[f"{key}/{rel}"], *manifest[rel])
        except Damage as exc:
            f = finding(rel, str(exc))
            name, _, rest = rel.partition("/")
            fixed = _array_meta(data[f"{key}/zarr.json"], name) if rest == "zarr.json" else None
            if repair and f is not None and fixed is not None:
                try:
                    check(fixed, *manifest[rel])
                except Damage:
                    continue
                objs.put(f"{key}/{rel}", fixed)
                f.repaired = "rewritten from the part's consolidated metadata"
                found.pop()
    return found


def _array_meta(group: bytes | None, name: str) -> bytes | None:
    """The bytes of an array's ``zarr.json`` as the part writer made them, from the group's
    consolidated metadata (None if that is unreadable too)."""
    try:
        meta = json.loads(group)["consolidated_metadata"]["metadata"][name]
    except (TypeError, ValueError, KeyError):
        return None
    return json.dumps(meta, allow_nan=False).encode()


def _repair_part(store: SiteStore, rep: Report, entry: dict, found: list[tuple[str, str]],
                 small: list[Batch], prev: list[dict]) -> None:
    """Rebuild a part's damaged rows from other copies and commit it by a new head."""
    if any(not rel.split("/", 1)[-1].startswith("c/") for rel, _ in found):
        return  # the part's own metadata or manifest is gone: no row to match copies with
    objs = store.objects
    damaged: list[tuple[str, int, int, str]] = []
    try:
        part = read_part(objs, entry, with_maps=True, damaged=damaged)
    except DamagedObject:
        return  # time or write stamps unreadable
    rows = np.zeros(len(part), bool)
    for _, r0, r1, _ in damaged:
        rows[r0:r1] = True
    if not rows.any():
        return
    sources = list(small)
    for p in prev:
        key = _located(store, p)
        if key and p["start"] <= entry["end"] and p["end"] >= entry["start"]:
            try:
                sources.append(read_part(objs, dict(p, key=key), with_maps=True))
            except (DamagedObject, FileNotFoundError):
                continue
    pool = concat(sources) if sources else Batch.empty()
    want = part.take(np.flatnonzero(rows))
    idx = [np.flatnonzero((pool.time == t) & (pool.stamp == s))[:1] for t, s in zip(want.time, want.stamp)]
    missing = sum(not i.size for i in idx)
    if missing:
        rep.notes.append(f"{objs.url(entry['key'])}: {missing} of {len(want)} damaged row(s) "
                         "have no other copy: not repaired")
        return
    idx = np.concatenate(idx)
    fixed = merge_sorted(part.take(np.flatnonzero(~rows)), pool.take(idx))
    gen, head = store._head()
    stamp = time.time_ns()
    period = entry["key"].split("/", 1)[1][:7]
    new = write_part(objs, f"parts/{period}-{stamp:020d}-{uuid.uuid4().hex[:6]}", fixed,
                     site=store.site, layout=store.layout)
    parts = [new if p["key"] == entry["key"] else p for p in head["parts"]]
    content = head_bytes(gen + 1, parts, stamp, [])
    try:
        objs.put_new(f"heads/{gen + 1:012d}.json", content)
    except PreconditionFailed:
        objs.delete_tree(new["key"])
        rep.notes.append("a compaction committed meanwhile; run the repair again")
        return
    objs.put(f"heads/{gen + 1:012d}.bak", content)
    store._collect_garbage(gen + 1, stamp)
    for f in rep.findings:
        if f.key.startswith(objs.url(entry["key"]) + "/") and not f.repaired:
            f.repaired = (f"{int(rows.sum())} row(s) restored from other copies into "
                          f"{new['key']} (heads/{gen + 1:012d}.json)")


# --- journal and segments ---------------------------------------------------------------
def _repair_small(store: SiteStore, rep: Report, bad: list[str], good: list[Batch],
                  merged: set[str], in_force: list[dict], discard: bool) -> None:
    objs = store.objects
    for key in bad:
        f = next(x for x in rep.findings if x.key == objs.url(key))
        if key in merged:
            objs.delete([key])
            f.repaired = "a leftover copy of rows already compacted into the parts in force: deleted"
            continue
        if key.startswith("journal/"):
            name = key.split("/", 1)[1]
            stamp, t = int(name.split("_")[0]), int(name.split("_")[1])
            if _has_row(store, t, stamp, good, in_force):
                objs.delete([key])
                f.repaired = (f"the record of {np.datetime64(t, 's')}Z is also in another object "
                              "(same or newer write): deleted")
                continue
        if discard:
            objs.move_tree(key, f"damaged/{key}")
            f.repaired = f"no other copy: moved to damaged/{key} (its rows are lost)"


def _has_row(store: SiteStore, t: int, stamp: int, good: list[Batch], in_force: list[dict]) -> bool:
    for b in good:
        if ((b.time == t) & (b.stamp >= stamp)).any():
            return True
    for entry in in_force:
        if entry["start"] <= t <= entry["end"]:
            try:
                b = read_part(store.objects, entry, start=t, end=t, quantities=[], labels=[],
                              with_rrs=False)
            except (DamagedObject, FileNotFoundError):
                continue
            if ((b.time == t) & (b.stamp >= stamp)).any():
                return True
    return False


__all__ = ["Finding", "Report", "verify"]
