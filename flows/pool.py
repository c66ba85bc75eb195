"""Scale-out: a work pool on a Prefect server, one deployment per site in it, and workers.

``hsiwq deploy --pool P`` registers the deployments (:func:`deploy_sites`), ``hsiwq worker
--pool P`` runs an :class:`flows.worker.InProcessWorker` on any machine that sees the
workspace (store, inboxes) and the API. See docs/operations.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, WorkPoolFilter, WorkPoolFilterName
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Interval
from prefect.types.entrypoint import EntrypointType

from hsiwq.config import Site, SitesConfig
from hsiwq.errors import ConfigError
from hsiwq.schedule import parse_schedule

from .site import process_site
from .worker import WORKER_TYPE, InProcessWorker

#: Deployment names are ``site-<site id>``; ``deploy`` removes those of sites no longer configured.
PREFIX = "site-"
#: Interval schedules count from here (plus each site's offset).
ANCHOR = datetime(2026, 1, 1, tzinfo=timezone.utc)


def site_schedule(site: Site, offset: float = 0.0):
    """The Prefect schedule of a site's ``schedule`` (cron, or ``"every N s|min"``).

    An interval schedule starts ``offset`` × its interval after :data:`ANCHOR`, so that sites
    given different offsets do not all start at the same instant.
    """
    try:
        kind, value = parse_schedule(site.schedule)
    except ValueError as exc:
        raise ConfigError(f"sites.{site.id}.schedule", str(exc)) from None
    if kind == "cron":
        return Cron(str(value), timezone="UTC")
    seconds = float(value)
    return Interval(timedelta(seconds=seconds),
                    anchor_date=ANCHOR + timedelta(seconds=round(offset % 1.0 * seconds, 3)))


def deployments(config: SitesConfig, home: str, config_file: str | None, **kwargs) -> list:
    """One deployment per site; one run of a site at a time, a colliding run cancelled.

    Sites on interval schedules are spread evenly over the interval (the i-th of n starts
    i/n of an interval later), so that their runs do not all fall due at once.
    ``kwargs`` go to ``Flow.to_deployment`` (e.g. ``entrypoint_type`` for a work pool).
    """
    n = len(config.sites)
    return [process_site.to_deployment(
        name=f"site-{site.id}",
        parameters={"site_id": site.id, "home": home, "config_file": config_file},
        concurrency_limit=ConcurrencyLimitConfig(limit=1,
                                                 collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        tags=["hsiwq", f"site:{site.id}"], schedule=site_schedule(site, i / n), **kwargs)
        for i, site in enumerate(config.sites.values())]


def ensure_pool(name: str, *, limit: int | None = None) -> None:
    """Create the work pool (type ``hsiwq-inprocess``) if missing; set its concurrency limit.

    Parameters
    ----------
    name : str
        Work pool name.
    limit : int, optional
        Most flow runs in flight across the pool (all sites, all workers); None leaves it as is
        (no limit for a new pool).

    Raises
    ------
    ConfigError
        If a pool of that name exists with another type.
    """
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=name, type=WORKER_TYPE, concurrency_limit=limit,
                base_job_template=InProcessWorker.get_default_base_job_template(),
                description="hsiwq sites, run by `hsiwq worker` processes"))
            return
        if pool.type != WORKER_TYPE:
            raise ConfigError(f"work pool {name}",
                              f"has type {pool.type!r}; hsiwq workers need {WORKER_TYPE!r}")
        if limit is not None and pool.concurrency_limit != limit:
            client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=limit))


def deploy_sites(config: SitesConfig, home: str, config_file: str | None, *, pool: str,
                 limit: int | None = None) -> dict[str, UUID]:
    """Register one deployment per site in ``pool`` (on ``PREFECT_API_URL``).

    Each deployment runs ``flows.site.process_site`` for its site on the site's schedule, one
    run at a time (later runs wait for the slot). Deployments ``site-*`` of the pool whose site
    is no longer configured are deleted.

    Returns
    -------
    dict of str to UUID
        Deployment id per site id.
    """
    ensure_pool(pool, limit=limit)
    ids = {}
    for site_id, dep in zip(config.sites, deployments(config, home, config_file,
                                                       entrypoint_type=EntrypointType.MODULE_PATH)):
        ids[site_id] = dep.apply(work_pool_name=pool)
    wanted = {f"{PREFIX}{s}" for s in config.sites}
    with get_client(sync_client=True) as client:
        for d in client.read_deployments(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(like_=PREFIX))):
            if d.name.startswith(PREFIX) and d.name not in wanted:
                client.delete_deployment(d.id)
    return ids
