"""Site inboxes: new bundles in time order, then archive or quarantine.

A run takes the bundles in a site's inbox in acquisition-time order, processes each once,
moves it to the archive, and moves a bundle it cannot read to quarantine with a
``QUARANTINE_REASON.txt`` beside its files. Moves are renames within one file system, so a
crash leaves every bundle either still in the inbox (it is processed again by the next run,
which the store's keying by time makes harmless) or already moved.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .errors import HsiwqError
from .io.bundle import bundle_time

REASON_FILE = "QUARANTINE_REASON.txt"


def pending_bundles(inbox: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Bundles waiting in an inbox, oldest acquisition first.

    Returns
    -------
    (ready, unreadable)
        Bundle folders sorted by acquisition time, and folders whose ``acquisition.json``
        cannot even be dated, with the reason.
    """
    if not inbox.is_dir():
        return [], []
    dated, bad = [], []
    for entry in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            dated.append((bundle_time(entry), entry.name, entry))
        except HsiwqError as exc:
            bad.append((entry, str(exc)))
    return [p for _, _, p in sorted(dated)], bad


def _move(src: Path, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    if dest.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        dest = dest_dir / f"{src.name}.{stamp}"
    try:
        os.replace(src, dest)
    except OSError:
        shutil.move(str(src), str(dest))
    return dest


def archive(bundle: Path, archive_dir: Path) -> Path:
    """Move a processed bundle to the archive; returns its new path."""
    return _move(bundle, archive_dir)


def quarantine(bundle: Path, quarantine_dir: Path, reason: str) -> Path:
    """Move an unreadable bundle to quarantine with a file saying why; returns its new path."""
    dest = _move(bundle, quarantine_dir)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (dest / REASON_FILE).write_text(f"{stamp} {reason}\n", encoding="utf-8")
    return dest
