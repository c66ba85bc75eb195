"""Serving one scheduled deployment per site from one process."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Interval

from hsiwq.config import Site, SitesConfig
from hsiwq.errors import ConfigError
from hsiwq.schedule import parse_schedule

from .site import process_site


#: Interval schedules count from here (plus each site's offset).
ANCHOR = datetime(2026, 1, 1, tzinfo=timezone.utc)


def schedule_kwargs(site: Site, offset: float = 0.0) -> dict[str, object]:
    """``cron`` or ``schedule`` keyword for a site's schedule.

    A schedule is a five-field cron expression (``"*/2 * * * *"``) or ``"every N s|min"``.
    An interval schedule starts ``offset`` × its interval after :data:`ANCHOR`, so that sites
    given different offsets do not all start at the same instant.
    """
    try:
        kind, value = parse_schedule(site.schedule)
    except ValueError as exc:
        raise ConfigError(f"sites.{site.id}.schedule", str(exc)) from None
    if kind != "interval":
        return {"cron": value}
    seconds = float(value)
    return {"schedule": Interval(timedelta(seconds=seconds),
                                 anchor_date=ANCHOR + timedelta(seconds=round(offset % 1.0 * seconds, 3)))}


def deployments(config: SitesConfig, home: str, config_file: str | None, **kwargs) -> list:
    """One deployment per site; each allows one run at a time (queued, never parallel).

    Sites on interval schedules are spread evenly over the interval (the i-th of n starts
    i/n of an interval later), so that their runs do not all fall due at once.
    ``kwargs`` go to ``Flow.to_deployment`` (e.g. ``entrypoint_type`` for a work pool).
    """
    deps = []
    n = len(config.sites)
    for i, site in enumerate(config.sites.values()):
        deps.append(process_site.to_deployment(
            name=f"site-{site.id}",
            parameters={"site_id": site.id, "home": home, "config_file": config_file},
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            tags=["hsiwq", f"site:{site.id}"],
            **schedule_kwargs(site, i / n), **kwargs,
        ))
    return deps


def serve_sites(config: SitesConfig, home: str, config_file: str | None, *, limit: int) -> None:
    """Serve every site's deployment until interrupted; ``limit`` caps concurrent runs."""
    serve(*deployments(config, home, config_file), limit=limit, print_starting_message=False,
          pause_on_shutdown=True)
