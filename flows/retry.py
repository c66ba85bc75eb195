"""Retry policy shared by the flows: transient failures (I/O, object store) only."""

from __future__ import annotations

from hsiwq.errors import HsiwqError


def transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's retry_condition_fn signature
    """Retry only transient failures (``OSError``: disk, network, object store), never bad
    data (``HsiwqError``) nor programming errors."""
    try:
        state.result()
    except HsiwqError:
        return False
    except OSError:
        return True
    except Exception:  # noqa: BLE001
        return False
    return False
