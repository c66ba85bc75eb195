"""Arrivals: which sites have new bundles, as they arrive, and one run per site at a time.

- :class:`InboxWatcher` calls ``on_arrival(site_id)`` when something arrives in a site's
  inbox: for local folders on the kernel's file events (inotify on Linux, through the
  maintained `watchfiles`_ library; it falls back to polling where there are no events), for
  object-store inboxes by listing them every ``list_interval_s`` seconds. It only says
  *something arrived*: whether a bundle is complete is for the inbox listing
  (:func:`hsiwq.inbox.list_pending`) to decide when the run reads the inbox.
- :class:`Coalescer` keeps at most one run in flight per site and at most one more owed: a
  request while the site's run is in flight is folded into a single follow-up run (which
  takes whatever arrived meanwhile), however many arrivals there were.

Neither knows about Prefect; ``flows/dispatch.py`` turns the requests into flow runs.

.. _watchfiles: https://watchfiles.helpmanual.io/
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from .inbox import Location, list_pending

log = logging.getLogger(__name__)


class Coalescer:
    """At most one run in flight per key, and at most one more owed (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._owed: set[str] = set()

    def request(self, key: str) -> bool:
        """A run is wanted for ``key``: True if the caller must start it now, False if one is
        in flight (the request is then owed, and :meth:`done` will say so)."""
        with self._lock:
            if key in self._busy:
                self._owed.add(key)
                return False
            self._busy.add(key)
            return True

    def done(self, key: str) -> bool:
        """The run of ``key`` ended: True if a follow-up is owed (the caller starts it now and
        ``key`` stays busy), False if ``key`` is idle again."""
        with self._lock:
            if key in self._owed:
                self._owed.discard(key)
                return True
            self._busy.discard(key)
            return False

    def busy(self) -> set[str]:
        """Keys with a run in flight."""
        with self._lock:
            return set(self._busy)

    def owed(self) -> set[str]:
        """Keys owed a follow-up run."""
        with self._lock:
            return set(self._owed)


class InboxWatcher:
    """Calls ``on_arrival(site_id)`` when something arrives in a site's inbox.

    Parameters
    ----------
    inboxes : mapping of str to Location
        Inbox of each watched site.
    on_arrival : callable
        Called with the site id, from the watcher's threads; must return quickly.
    list_interval_s : float
        Listing interval of object-store inboxes [s].
    debounce_ms : int
        File events closer together than this are reported together [ms].
    """

    def __init__(self, inboxes: Mapping[str, Location], on_arrival: Callable[[str], None], *,
                 list_interval_s: float = 2.0, debounce_ms: int = 50) -> None:
        self.local = {s: loc.path for s, loc in inboxes.items() if loc.local}
        self.remote = {s: loc for s, loc in inboxes.items() if not loc.local}
        self.on_arrival = on_arrival
        self.list_interval_s = list_interval_s
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seen: dict[str, set[str]] = {}

    def start(self) -> InboxWatcher:
        """Start watching (daemon threads); returns self."""
        if self.local:
            for path in self.local.values():
                path.mkdir(parents=True, exist_ok=True)
            self._threads.append(threading.Thread(target=self._watch_local, name="hsiwq-inotify",
                                                  daemon=True))
        if self.remote:
            self._threads.append(threading.Thread(target=self._list_remote, name="hsiwq-listing",
                                                  daemon=True))
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop watching and wait for the threads."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout_s)

    def site_of(self, path: str | Path) -> str | None:
        """The site whose inbox holds ``path`` (a bundle or a file in one), else None.

        Names starting with a dot (uploads in progress, e.g. ``.incoming-x``) are ignored.
        """
        p = Path(path)
        for site, inbox in self.local.items():
            try:
                rel = p.relative_to(inbox)
            except ValueError:
                continue
            if rel.parts and not rel.parts[0].startswith("."):
                return site
        return None

    def _watch_local(self) -> None:
        from watchfiles import Change, watch

        roots = sorted({str(p) for p in self.local.values()})
        try:
            for changes in watch(*roots, stop_event=self._stop, debounce=self.debounce_ms, step=10,
                                 recursive=True, raise_interrupt=False):
                sites = {self.site_of(path) for change, path in changes if change != Change.deleted}
                for site in sorted(s for s in sites if s):
                    self.on_arrival(site)
        except Exception:  # noqa: BLE001 - the schedule still looks at the inboxes
            log.exception("the inbox watcher stopped; sites fall back to their schedules")

    def _list_remote(self) -> None:
        while not self._stop.is_set():
            for site, inbox in self.remote.items():
                try:
                    ready, bad = list_pending(inbox)
                except OSError as exc:  # unreachable for now: the next listing tries again
                    log.warning("cannot list %s: %s", inbox, exc)
                    continue
                names = {p.name for p in ready} | {p.name for p, _ in bad}
                if names - self._seen.get(site, set()):
                    self.on_arrival(site)
                self._seen[site] = names
            self._stop.wait(self.list_interval_s)
