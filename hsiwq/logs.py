"""Structured logs: one JSON object per line, for machines to search and count.

The library logs events through the standard :mod:`logging` module with their fields in
``extra`` (:func:`log_event`); whoever runs it decides where they go. The command line and the
flows attach :func:`json_log_handler` to the ``hsiwq`` logger, which writes
``<home>/logs/hsiwq.jsonl``::

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

LOGGER_NAME = "hsiwq"

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
    """Send the ``hsiwq`` loggers' events to ``path`` as JSON lines (once per path).

    Returns the handler (already attached, or attached now). The logger's level is lowered
    to INFO if it was higher, so events reach the file whatever the console shows.
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


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with its fields as structured data.

    Field names that clash with :class:`logging.LogRecord` attributes get a ``_`` suffix;
    values that are not JSON types are written with ``str``.
    """
    extra = {"event": event}
    for key, value in fields.items():
        extra[key + "_" if key in _RESERVED else key] = value
    logger.log(level, event, extra=extra)
