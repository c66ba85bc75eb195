"""Structured logs: one JSON object per line, for machines to search and count.

The library records events (an acquisition processed, a bundle archived or quarantined, an
alert's change of state) with :func:`log_event` on the ``hsiwq.events`` logger, with their
fields in ``extra``; whoever runs it decides where they go. The flows and ``hsiwq process``
attach :func:`attach_json_log`, which writes ``<home>/logs/hsiwq.jsonl``::

    {"time": "2026-07-21T03:46:02.113Z", "level": "INFO", "logger": "hsiwq.pipeline",
     "event": "acquisition_processed", "site": "taihu-north", "acquired": "2026-07-21T03:45:00Z",
     "verdict": "valid", "seconds": 0.21, ...}

Formatting is python-json-logger's; this module only fixes the field names and the clock (UTC).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

LOGGER_NAME = "hsiwq.events"
EVENTS = logging.getLogger(LOGGER_NAME)
EVENTS.addHandler(logging.NullHandler())  # silent until a handler is attached
EVENTS.propagate = False  # events go to their file, not to the console

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class _UtcJsonFormatter(JsonFormatter):
    """JSON lines with ``time`` (ISO 8601 UTC, ms), ``level``, ``logger``, ``message``."""

    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + (
            f".{int(record.msecs):03d}Z")


def json_formatter() -> logging.Formatter:
    """The formatter of hsiwq's structured logs."""
    return _UtcJsonFormatter("{asctime}{levelname}{name}{message}", style="{",
                             rename_fields={"asctime": "time", "levelname": "level",
                                            "name": "logger"},
                             json_ensure_ascii=False)


def json_log_handler(path: str | Path, level: int = logging.INFO) -> logging.Handler:
    """A handler appending JSON lines to ``path`` (its folder is created).

    Parameters
    ----------
    path : str or Path
        The log file, e.g. ``<home>/logs/hsiwq.jsonl``.
    level : int
        Lowest level written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(json_formatter())
    handler.set_name(f"hsiwq-json:{path}")
    return handler


def attach_json_log(path: str | Path, logger_name: str = LOGGER_NAME) -> logging.Handler:
    """Send hsiwq's events to ``path`` as JSON lines (once per path).

    Returns the handler (already attached, or attached now). The events logger's level is
    lowered to INFO if it was higher.
    """
    logger = logging.getLogger(logger_name)
    name = f"hsiwq-json:{Path(path)}"
    for h in logger.handlers:
        if h.get_name() == name:
            return h
    handler = json_log_handler(path)
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler


def log_event(event: str, level: int = logging.INFO, *, logger: logging.Logger = EVENTS,
              **fields: Any) -> None:
    """Record ``event`` with its fields as structured data.

    Field names that clash with :class:`logging.LogRecord` attributes get a ``_`` suffix;
    values that are not JSON types are written with ``str``.
    """
    extra = {"event": event}
    for key, value in fields.items():
        extra[key + "_" if key in _RESERVED else key] = value
    logger.log(level, event, extra=extra)
