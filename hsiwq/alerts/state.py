"""Durable alert state under ``<home>/alerts/``, shared by processes through one lock.

- ``state.json``: the :class:`AlertState` of every ``"<site>/<rule>"``;
- ``silences.json``: silences (with their expiry);
- ``history.jsonl``: every change, acknowledgement, silence and suppressed notification,
  one JSON object a line, appended.

Writers hold an ``fcntl`` lock on ``state.lock``; the JSON files are replaced atomically, so
a process killed mid-write leaves the previous state.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import HsiwqError
from .engine import AlertState


class AlertError(HsiwqError):
    """An alert operation cannot be done (unknown alert, not firing, bad silence, damaged state)."""


@dataclass
class Silence:
    """Mutes notifications of matching alerts until ``ends``.

    ``site`` and ``rule`` are exact ids or shell patterns (``*`` matches all).
    """

    id: str
    site: str
    rule: str
    starts: str
    ends: str
    created_by: str = ""
    reason: str = ""

    def covers(self, site: str, rule: str, now: datetime) -> bool:
        """Whether it mutes this alert at this time."""
        return (fnmatch.fnmatchcase(site, self.site) and fnmatch.fnmatchcase(rule, self.rule)
                and datetime.fromisoformat(self.starts) <= now < datetime.fromisoformat(self.ends))

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.ends)


@dataclass
class Book:
    """The alert state held while the lock is held."""

    states: dict[str, AlertState] = field(default_factory=dict)
    silences: list[Silence] = field(default_factory=list)
    new_history: list[dict[str, Any]] = field(default_factory=list)
    saved_silences: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def log(self, at: datetime, event: str, **fields: Any) -> None:
        """Append an entry to the history (written when the lock is released)."""
        self.new_history.append({"at": at.isoformat(), "event": event,
                                 **{k: v for k, v in fields.items() if v is not None}})

    def silence_for(self, site: str, rule: str, now: datetime) -> Silence | None:
        """The active silence muting an alert, if any."""
        return next((s for s in self.silences if s.covers(site, rule, now)), None)


class StateFile:
    """The alert state files of a workspace."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.path = self.dir / "state.json"
        self.silences_path = self.dir / "silences.json"
        self.history_path = self.dir / "history.jsonl"

    @contextmanager
    def locked(self) -> Iterator[Book]:
        """Hold the lock, yield the :class:`Book`, and save it on a normal exit."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "state.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                book = self.load()
                yield book
                self._save(book)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self) -> Book:
        """A snapshot of the saved state (empty when nothing was saved yet)."""
        states: dict[str, AlertState] = {}
        silences: list[Silence] = []
        try:
            if self.path.is_file():
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                states = {k: AlertState.from_dict(v) for k, v in raw.items()}
            if self.silences_path.is_file():
                silences = [Silence(**s) for s in json.loads(self.silences_path.read_text(encoding="utf-8"))]
        except (ValueError, TypeError, AttributeError) as exc:
            raise AlertError(self.dir, f"damaged alert state ({type(exc).__name__}: {exc}); "
                                       "fix or move away state.json / silences.json") from None
        return Book(states, silences, saved_silences=[asdict(s) for s in silences])

    def _save(self, book: Book) -> None:
        _atomic(self.path, json.dumps({k: asdict(v) for k, v in book.states.items()},
                                      indent=1, ensure_ascii=False))
        silences = [asdict(s) for s in book.silences]
        if silences != book.saved_silences:
            _atomic(self.silences_path, json.dumps(silences, indent=1, ensure_ascii=False))
            book.saved_silences = silences
        if book.new_history:  # an append-only log: flushed, not fsynced (state is what must survive)
            with open(self.history_path, "a", encoding="utf-8") as fh:
                fh.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in book.new_history))
            book.new_history.clear()

    def history(self, site: str | None = None, rule: str | None = None,
                since: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """History entries, oldest first, filtered; the newest ``limit`` when given."""
        if not self.history_path.is_file():
            return []
        out = []
        with open(self.history_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    e = json.loads(line)
                except json.JSONDecodeError:  # a torn last line after a crash
                    continue
                if site and e.get("site") != site or rule and e.get("rule") != rule:
                    continue
                if since and datetime.fromisoformat(e["at"]) < since:
                    continue
                out.append(e)
        return out[-limit:] if limit else out


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
