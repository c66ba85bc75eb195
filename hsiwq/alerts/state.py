"""Durable alert state: one JSON file per workspace, written atomically under a lock."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from .engine import AlertState


class StateFile:
    """The alert states of every (site, rule), kept in ``<alerts>/state.json``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.path = self.dir / "state.json"

    @contextmanager
    def locked(self) -> Iterator[dict[str, AlertState]]:
        """Hold the lock, yield the states by ``"site/rule"`` key, and save them on exit."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "state.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                states = self.load()
                yield states
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps({k: asdict(v) for k, v in states.items()}, indent=1))
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self) -> dict[str, AlertState]:
        """The saved states (empty when none were saved yet)."""
        if not self.path.is_file():
            return {}
        raw = json.loads(self.path.read_text())
        return {k: AlertState(**v) for k, v in raw.items()}
