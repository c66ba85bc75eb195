"""Serving one scheduled deployment per site from one process."""

from __future__ import annotations

from datetime import timedelta

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from hsiwq.config import Site, SitesConfig
from hsiwq.errors import ConfigError
from hsiwq.schedule import parse_schedule

from .site import process_site


def schedule_kwargs(site: Site) -> dict[str, object]:
    """``cron`` or ``interval`` keyword for a site's schedule.

    A schedule is a five-field cron expression (``"*/2 * * * *"``) or ``"every N s|min"``.
    """
    try:
        kind, value = parse_schedule(site.schedule)
    except ValueError as exc:
        raise ConfigError(f"sites.{site.id}.schedule", str(exc)) from None
    return {"interval": timedelta(seconds=float(value))} if kind == "interval" else {"cron": value}


def deployments(config: SitesConfig, home: str, config_file: str | None) -> list:
    """One deployment per site; each allows one run at a time (queued, never parallel)."""
    deps = []
    for site in config.sites.values():
        deps.append(process_site.to_deployment(
            name=f"site-{site.id}",
            parameters={"site_id": site.id, "home": home, "config_file": config_file},
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
            tags=["hsiwq", f"site:{site.id}"],
            **schedule_kwargs(site),
        ))
    return deps


def serve_sites(config: SitesConfig, home: str, config_file: str | None, *, limit: int) -> None:
    """Serve every site's deployment until interrupted; ``limit`` caps concurrent runs."""
    serve(*deployments(config, home, config_file), limit=limit, print_starting_message=False,
          pause_on_shutdown=True)
