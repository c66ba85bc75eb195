"""Retry policy shared by the flows: transient failures (I/O, object store) only."""

from __future__ import annotations

from hsiwq.errors import is_transient


def transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's retry_condition_fn signature
    """Retry only transient failures (:func:`hsiwq.errors.is_transient`: disk, network, object
    store), never bad data (``HsiwqError``) nor programming errors."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001
        return is_transient(exc)
    return False
