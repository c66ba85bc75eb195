"""Retry policy shared by the flows: transient failures (I/O, object store) only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from hsiwq.errors import is_transient

T = TypeVar("T")

#: Seconds before each retry of :func:`retrying` (as the tasks' ``retry_delay_seconds``).
DELAYS_S = (1.0, 5.0)


def transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's retry_condition_fn signature
    """Retry only transient failures (:func:`hsiwq.errors.is_transient`: disk, network, object
    store), never bad data (``HsiwqError``) nor programming errors."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001
        return is_transient(exc)
    return False


def retrying(fn: Callable[..., T], *args, delays_s: tuple[float, ...] = DELAYS_S, **kwargs) -> T:
    """``fn(*args, **kwargs)``, retried after each of ``delays_s`` on a transient failure.

    For the flow's cheap, frequent steps (listing an inbox, the upkeep after a run) that are
    not worth a Prefect task run each — a task run costs the worker and the server more CPU
    than the step itself (docs/operations.md) — but must survive the same failures.
    """
    for delay in delays_s:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised unless transient
            if not is_transient(exc):
                raise
        time.sleep(delay)
    return fn(*args, **kwargs)
