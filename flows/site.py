"""The per-site processing flow: take the inbox's new bundles, process each once."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from hsiwq.config import load_config
from hsiwq.errors import HsiwqError
from hsiwq.inbox import archive, pending_bundles, quarantine
from hsiwq.pipeline import ProcessResult, process_bundle
from hsiwq.workspace import Workspace


def _transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's retry_condition_fn signature
    """Retry only transient failures (I/O), never bad data."""
    try:
        state.result()
    except HsiwqError:
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def process_one(bundle: str, site_id: str, home: str, config_file: str | None) -> ProcessResult:
    """Process one bundle through the library's chain."""
    config, _ = load_config(config_file)
    ws = Workspace.resolve(home)
    return process_bundle(Path(bundle), config.sites[site_id], config, ws)


@flow(name="process-site", log_prints=False)
def process_site(site_id: str, home: str, config_file: str | None = None) -> list[ProcessResult]:
    """Process a site's inbox in acquisition-time order; archive or quarantine each bundle.

    One bad bundle never stops the run: it goes to quarantine with its reason.
    """
    logger = get_run_logger()
    ws = Workspace.resolve(home)
    config, cfg_path = load_config(config_file or ws.config_file)
    config.site(site_id, where=cfg_path)
    ready, unreadable = pending_bundles(ws.inbox(site_id))
    for path, reason in unreadable:
        quarantine(path, ws.quarantine(site_id), reason)
        logger.warning("quarantined %s: %s", path.name, reason)
    results: list[ProcessResult] = []
    for path in ready:
        try:
            result = process_one(str(path), site_id, str(ws.root), str(cfg_path))
        except HsiwqError as exc:
            quarantine(path, ws.quarantine(site_id), str(exc))
            logger.warning("quarantined %s: %s", path.name, exc)
            continue
        archive(path, ws.archive(site_id))
        results.append(result)
    return results
