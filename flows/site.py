"""The per-site processing flow: take the inbox's new bundles, process each once."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from hsiwq.alerts.service import check_gaps
from hsiwq.config import load_config
from hsiwq.errors import HsiwqError
from hsiwq.inbox import archive, pending_bundles, quarantine
from hsiwq.pipeline import ProcessResult, process_bundle
from hsiwq.store import Policy, SiteStore
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
    return process_bundle(Path(bundle), config.sites[site_id], config, ws,
                          store_policy=Policy(maintain_probability=0))


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=_transient)
def upkeep(site_id: str, home: str, config_file: str | None) -> dict[str, int]:
    """After a run: fold/compact the site's store, then data-gap checks, repeats and retries."""
    config, _ = load_config(config_file)
    ws = Workspace.resolve(home)
    done = SiteStore(ws.store_path(site_id)).maintain() if ws.store_path(site_id).exists() else {}
    one_site = config.model_copy(update={"sites": {site_id: config.sites[site_id]}})
    check_gaps(one_site, ws)
    return done


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
    upkeep(site_id, str(ws.root), str(cfg_path))
    if results:
        create_markdown_artifact(key=f"site-{site_id}", markdown=results_markdown(site_id, results),
                                 description=f"hsiwq results of {site_id}")
    return results


def results_markdown(site_id: str, results: list[ProcessResult]) -> str:
    """A markdown table of each processed acquisition's parameters and QC verdict."""
    params = sorted({k for r in results for k in r.values})
    head = "| time (UTC) | verdict | " + " | ".join(params) + " | alerts |"
    rows = [head, "|" + "---|" * (len(params) + 3)]
    for r in results:
        cells = [f"{r.values[p]:.3g}" if r.values.get(p) == r.values.get(p) else "–" for p in params]
        alerts = ", ".join(f"{t.rule_id} {t.status}" for t in r.transitions)
        verdict = r.verdict + (f" ({r.reason})" if r.reason else "")
        rows.append(f"| {r.time:%Y-%m-%d %H:%M} | {verdict} | " + " | ".join(cells) + f" | {alerts} |")
    return f"# {site_id}\n\n" + "\n".join(rows) + "\n"
