"""Site inboxes: new bundles in time order, then archive or quarantine.

A run takes the bundles in a site's inbox in acquisition-time order, processes each once,
moves it to the archive, and moves a bundle it cannot read to quarantine with a
``QUARANTINE_REASON.txt`` beside its files.

Inbox, archive and quarantine are :class:`Location` s: local folders or fsspec URLs
(``s3://bucket/prefix``), in any mix. A bundle is a folder (a prefix on an object store)
holding ``acquisition.json`` and its ENVI files.

- **Listing** reads only each bundle's ``acquisition.json`` to date it.
- **Processing** needs local files (the ENVI reader maps them): :func:`staged` yields the
  bundle's own folder when it is local, else a copy downloaded into a temporary folder that
  is removed afterwards.
- **Moving** is a rename when source and destination are folders of one file system (atomic),
  else **copy, then delete**: the files are copied (``acquisition.json`` last, so an archived
  copy is complete when it has one), then the source is deleted. A crash in between leaves the
  bundle in the inbox as well; the next run processes it again, which the store's keying by
  (site, time) makes harmless, and completes the copy. A crash never loses a bundle.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .errors import BundleError, HsiwqError, require_extra
from .io.bundle import META_FILE, bundle_time, meta_time, parse_meta_json
from .logs import log_event

REASON_FILE = "QUARANTINE_REASON.txt"


# --- locations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Location:
    """A folder: a local path or an fsspec URL (``s3://bucket/prefix``, ``memory://x``).

    Parameters
    ----------
    url : str
        Local path (absolute) or URL without a trailing slash.
    storage_options : dict
        fsspec options for URLs (e.g. ``{"client_kwargs": {"endpoint_url": ...}}``).
    """

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, where: str | os.PathLike[str] | Location, storage_options: dict | None = None,
           *, base: str | os.PathLike[str] | None = None) -> Location:
        """A location from a path or URL; relative paths are taken relative to ``base``."""
        if isinstance(where, Location):
            return where
        text = os.fspath(where)
        if text.startswith("file://"):
            text = text[len("file://"):]
        if "://" in text:
            return cls(text.rstrip("/"), dict(storage_options or {}))
        path = Path(text).expanduser()
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        return cls(str(path.resolve()), {})

    @property
    def local(self) -> bool:
        return "://" not in self.url

    @property
    def path(self) -> Path:
        """The local folder (only for local locations)."""
        if not self.local:
            raise ValueError(f"{self.url} is not a local folder")
        return Path(self.url)

    @property
    def fs(self):
        """The fsspec file system of this location."""
        import fsspec

        if self.local:
            return fsspec.filesystem("file")
        fs, _ = fsspec.core.url_to_fs(self.url, **self.storage_options)
        return fs

    @property
    def fs_path(self) -> str:
        """The location's path within :attr:`fs` (bucket/prefix for object stores)."""
        if self.local:
            return self.url
        import fsspec

        return fsspec.core.url_to_fs(self.url, **self.storage_options)[1].rstrip("/")

    def join(self, name: str) -> Location:
        return Location(f"{self.url.rstrip('/')}/{name}", self.storage_options)

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class SiteLocations:
    """Where one site's bundles arrive, go when done and go when unreadable; its store."""

    inbox: Location
    archive: Location
    quarantine: Location
    store: Location


def site_locations(site: Any, config: Any, workspace: Any) -> SiteLocations:
    """The configured locations of a site (see :class:`hsiwq.config.Site`).

    ``site`` is a :class:`hsiwq.config.Site` or a site id; an id the configuration does not
    name gets the workspace's folders. Unset locations are the workspace's folders:
    ``<home>/inbox/<site>``, ``<home>/archive/<site>``, ``<home>/quarantine/<site>`` and
    ``<home>/store/<site>.zarr``. ``s3://`` URLs take the configuration's ``[storage]``
    options (else the standard AWS environment variables).
    """
    if isinstance(site, str):
        site = getattr(config, "sites", {}).get(site) or SimpleNamespace(id=site)
    storage = getattr(config, "storage", None)
    options = storage.fsspec_options() if storage is not None else {}
    defaults = {"inbox": workspace.inbox(site.id), "archive": workspace.archive(site.id),
                "quarantine": workspace.quarantine(site.id), "store": workspace.store_path(site.id)}
    out = {}
    for key, default in defaults.items():
        given = getattr(site, key, None)
        out[key] = Location.of(given if given is not None else default, options,
                               base=workspace.root)
        if out[key].url.startswith("s3://"):
            require_extra("s3fs", "s3", f"sites.{site.id}.{key} ({out[key].url})")
    return SiteLocations(**out)


def open_site_store(site: Any, config: Any, workspace: Any, **kwargs: Any):
    """The :class:`hsiwq.store.SiteStore` at the site's configured ``store`` location.

    ``site`` is a :class:`hsiwq.config.Site` or a site id (see :func:`site_locations`).
    """
    from .store import SiteStore

    loc = site_locations(site, config, workspace).store
    return SiteStore(loc.url, loc.storage_options or None, **kwargs)


# --- listing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pending:
    """A bundle folder waiting in an inbox.

    Attributes
    ----------
    location : Location
        The bundle folder.
    time : datetime or None
        Its acquisition time (None when it cannot be dated).
    """

    location: Location
    time: datetime | None = None

    @property
    def name(self) -> str:
        return self.location.name


#: On object stores, a folder without ``acquisition.json`` whose newest object is younger
#: than this [s] is taken for an upload in progress and left alone (not quarantined).
UPLOAD_SETTLE_S = 600.0
#: Problems of a folder whose upload has not finished (``acquisition.json`` comes last).
_NOT_YET = (f"missing {META_FILE}", "empty bundle folder")


def list_pending(inbox: Location, *, settle_s: float = UPLOAD_SETTLE_S,
                 ) -> tuple[list[Pending], list[tuple[Pending, str]]]:
    """Bundles waiting in an inbox (local or on an object store), oldest acquisition first.

    A monitor uploads a bundle file by file with ``acquisition.json`` last (or, locally,
    moves the finished folder in with one rename): a folder still without
    ``acquisition.json`` whose newest file is younger than ``settle_s`` seconds is still
    arriving and is in neither list (the next run takes it); older, it is unreadable.
    Locally, an entry that is a symbolic link, or a bundle holding one, is unreadable (links
    are never followed: they could lead out of the inbox).

    Returns
    -------
    (ready, unreadable)
        Bundles sorted by acquisition time (then name), and folders whose
        ``acquisition.json`` cannot even be dated, with the reason.

    Raises
    ------
    OSError
        When the inbox cannot be listed (a transient failure: nothing is moved).
    """
    if inbox.local:
        ready, bad = _dated_local(inbox.path, settle_s)
        return ([Pending(Location(str(p)), t) for t, p in ready],
                [(Pending(Location(str(p))), reason) for p, reason in bad])
    fs, root = inbox.fs, inbox.fs_path
    try:
        entries = fs.ls(root, detail=True, refresh=True)
    except FileNotFoundError:
        return [], []
    dated, bad = [], []
    for entry in sorted(entries, key=lambda e: e["name"]):
        name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
        if entry.get("type") != "directory" or name.startswith("."):
            continue
        where = inbox.join(name)
        try:
            t = _remote_time(fs, f"{root}/{name}", where)
        except HsiwqError as exc:
            if exc.problem in _NOT_YET and _arriving(fs, f"{root}/{name}", settle_s):
                continue
            bad.append((Pending(where), str(exc)))
            continue
        dated.append((t, name, Pending(where, t)))
    return [p for _, _, p in sorted(dated, key=lambda d: (d[0], d[1]))], bad


def _arriving(fs: Any, path: str, settle_s: float) -> bool:
    """Whether the newest object under ``path`` is younger than ``settle_s`` seconds."""
    if settle_s <= 0:
        return False
    newest = None
    for info in fs.find(path, detail=True).values():
        stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
        if isinstance(stamp, (int, float)):
            stamp = datetime.fromtimestamp(stamp, timezone.utc)
        if isinstance(stamp, datetime):
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
            newest = stamp if newest is None or stamp > newest else newest
    if newest is None:
        return False
    return (datetime.now(timezone.utc) - newest).total_seconds() < settle_s


def _remote_time(fs: Any, path: str, where: Location) -> datetime:
    """Acquisition time from a remote bundle's ``acquisition.json`` (as :func:`bundle_time`)."""
    meta = f"{where.url}/{META_FILE}"
    try:
        raw = fs.cat_file(f"{path}/{META_FILE}")
    except FileNotFoundError:
        raise BundleError(meta, f"missing {META_FILE}") from None
    return meta_time(meta, parse_meta_json(meta, raw))


def subfolders(where: Location) -> list[Location]:
    """The folders directly under a location, by name; none when it is absent.

    Raises
    ------
    OSError
        When the location cannot be listed (a transient failure).
    """
    if where.local:
        p = where.path
        return [Location(str(c)) for c in sorted(p.iterdir()) if c.is_dir()] if p.is_dir() else []
    try:
        entries = where.fs.ls(where.fs_path, detail=True, refresh=True)
    except FileNotFoundError:
        return []
    names = sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries
                   if e.get("type") == "directory")
    return [where.join(n) for n in names]


def count_bundles(where: Location) -> int:
    """Bundle folders directly under a location (e.g. the quarantine); 0 when it is absent."""
    return len(subfolders(where))


def location_time(bundle: Location) -> datetime:
    """Acquisition time of a bundle folder, local or on an object store (as :func:`bundle_time`).

    Raises
    ------
    BundleError
        Without a readable ``acquisition.json``.
    """
    if bundle.local:
        return bundle_time(bundle.path)
    return _remote_time(bundle.fs, bundle.fs_path, bundle)


# --- staging --------------------------------------------------------------------------------
def download_bundle(bundle: Pending | Location, dest_parent: str | os.PathLike[str]) -> Path:
    """Copy a bundle's files into ``dest_parent/<bundle name>/``; returns that folder.

    Raises
    ------
    OSError
        When the download fails (transient).
    """
    loc = bundle.location if isinstance(bundle, Pending) else bundle
    dest = Path(dest_parent) / loc.name
    dest.mkdir(parents=True, exist_ok=True)
    fs, src = loc.fs, loc.fs_path
    for remote in fs.find(src):
        target = dest / remote[len(src):].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(remote, str(target))
    return dest


@contextmanager
def staged(bundle: Pending | Location, tmp_dir: str | os.PathLike[str] | None = None,
           ) -> Iterator[Path]:
    """A local folder holding the bundle's files, for the duration of the ``with`` block.

    A local bundle is used in place; a remote one is downloaded into a temporary folder
    (named like the bundle) that is deleted afterwards.

    Raises
    ------
    OSError
        When the download fails (transient).
    """
    loc = bundle.location if isinstance(bundle, Pending) else bundle
    if loc.local:
        yield loc.path
        return
    tmp = Path(tempfile.mkdtemp(prefix="hsiwq-stage-", dir=tmp_dir))
    try:
        yield download_bundle(loc, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- moving ---------------------------------------------------------------------------------
def move_bundle(bundle: Pending | Location, dest_dir: Location, *,
                extra: dict[str, bytes] | None = None) -> Location:
    """Move a bundle folder into ``dest_dir``; returns its new location.

    A rename between local folders; otherwise copy (``acquisition.json`` last), write the
    ``extra`` files, then delete the source. An existing complete folder of the same name in
    the destination (an earlier delivery) is kept: the bundle gets a time-stamped name; an
    incomplete one (left by a crash during a copy) is completed.
    """
    src = bundle.location if isinstance(bundle, Pending) else bundle
    if src.local and dest_dir.local:
        dest = _move_local(src.path, dest_dir.path)
        for name, data in (extra or {}).items():
            _write_here(dest / name, data)
        return Location(str(dest))
    if src.local and src.path.is_symlink():  # recorded, never followed
        target = os.readlink(src.path)
        files = {**(extra or {}), f"{LINK_NAME}.txt": f"{target}\n".encode()}
        dst_fs, name = dest_dir.fs, f"{src.name}.{_stamp()}"
        for fname, data in files.items():
            dst_fs.pipe_file(f"{dest_dir.fs_path}/{name}/{fname}", data)
        src.path.unlink()
        return dest_dir.join(name)
    src_fs, src_path = src.fs, src.fs_path
    dst_fs, dst_root = dest_dir.fs, dest_dir.fs_path
    name = src.name
    if dst_fs.exists(f"{dst_root}/{name}/{META_FILE}") or (
            not src_fs.exists(f"{src_path}/{META_FILE}") and dst_fs.exists(f"{dst_root}/{name}")):
        name = f"{name}.{_stamp()}"
    dst_path = f"{dst_root}/{name}"
    files = sorted(src_fs.find(src_path), key=lambda f: (f.rsplit("/", 1)[-1] == META_FILE, f))
    if dest_dir.local:
        Path(dst_path).mkdir(parents=True, exist_ok=True)
    for f in files:
        rel = f[len(src_path):].lstrip("/")
        _copy_file(src_fs, f, dst_fs, f"{dst_path}/{rel}", local_dest=dest_dir.local)
    for fname, data in (extra or {}).items():
        if dest_dir.local:
            Path(dst_path, fname).write_bytes(data)
        else:
            dst_fs.pipe_file(f"{dst_path}/{fname}", data)
    # only now is the source deleted: a crash before this line leaves it in the inbox
    if src.local:
        shutil.rmtree(src.path)
    else:
        src_fs.rm(files)
    return dest_dir.join(name)


def _copy_file(src_fs: Any, src: str, dst_fs: Any, dst: str, *, local_dest: bool) -> None:
    if local_dest:
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        src_fs.get_file(src, dst)
    elif _is_local_fs(src_fs):
        dst_fs.put_file(src, dst)
    elif type(src_fs) is type(dst_fs):
        dst_fs.copy(src, dst)  # server-side copy within the object store
    else:
        dst_fs.pipe_file(dst, src_fs.cat_file(src))


def _is_local_fs(fs: Any) -> bool:
    proto = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in proto


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _reason_bytes(reason: str) -> bytes:
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"{stamp} {reason}\n".encode()


def archive_bundle(bundle: Pending | Location, archive_dir: Location) -> Location:
    """Move a processed bundle to the archive (local or remote); returns its new location."""
    dest = move_bundle(bundle, archive_dir)
    log_event("bundle_archived", bundle=str(getattr(bundle, "location", bundle)), to=str(dest))
    return dest


def quarantine_bundle(bundle: Pending | Location, quarantine_dir: Location, reason: str) -> Location:
    """Move an unreadable bundle to quarantine with ``QUARANTINE_REASON.txt``; its location."""
    dest = move_bundle(bundle, quarantine_dir, extra={REASON_FILE: _reason_bytes(reason)})
    log_event("bundle_quarantined", logging.WARNING,
              bundle=str(getattr(bundle, "location", bundle)), to=str(dest), reason=reason)
    return dest


# --- local folders (the original interface) -------------------------------------------------
def pending_bundles(inbox: Path, settle_s: float = UPLOAD_SETTLE_S,
                    ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Bundles waiting in a local inbox folder, oldest acquisition first.

    Returns
    -------
    (ready, unreadable)
        Bundle folders sorted by acquisition time, and folders whose ``acquisition.json``
        cannot even be dated, with the reason.
    """
    ready, bad = _dated_local(inbox, settle_s)
    return [p for _, p in ready], bad


def _dated_local(inbox: Path, settle_s: float = UPLOAD_SETTLE_S,
                 ) -> tuple[list[tuple[datetime, Path]], list[tuple[Path, str]]]:
    if not inbox.is_dir():
        return [], []
    dated, bad = [], []
    for entry in sorted(p for p in inbox.iterdir()
                        if (p.is_symlink() or p.is_dir()) and not p.name.startswith(".")):
        link = _symlink_reason(entry)
        if link:
            bad.append((entry, link))
            continue
        try:
            dated.append((bundle_time(entry), entry.name, entry))
        except HsiwqError as exc:
            if exc.problem in _NOT_YET and _local_arriving(entry, settle_s):
                continue  # still being uploaded: the next run takes it
            bad.append((entry, str(exc)))
    return [(t, p) for t, _, p in sorted(dated)], bad


def _symlink_reason(entry: Path) -> str:
    """Why a local inbox entry is refused for being or holding a symbolic link ('' if not)."""
    if entry.is_symlink():
        return (f"{entry}: is a symbolic link (to {os.readlink(entry)}); hsiwq does not follow "
                "links in an inbox: move the bundle folder itself into the inbox")
    for root, dirs, files in os.walk(entry):  # os.walk does not descend into linked folders
        for name in dirs + files:
            p = Path(root, name)
            if p.is_symlink():
                return (f"{p}: is a symbolic link (to {os.readlink(p)}); hsiwq does not follow "
                        "links in a bundle")
    return ""


def _local_arriving(folder: Path, settle_s: float) -> bool:
    """Whether the newest file under a local folder (or the folder) is younger than ``settle_s``."""
    if settle_s <= 0:
        return False
    try:
        newest = max([folder.lstat().st_mtime]
                     + [Path(r, n).lstat().st_mtime for r, _, fs in os.walk(folder) for n in fs])
    except OSError:
        return False
    return datetime.now(timezone.utc).timestamp() - newest < settle_s


def _move_local(src: Path, dest_dir: Path) -> Path:
    """Move a bundle folder into ``dest_dir``; a symbolic link is moved as a link, inside a
    new real folder of its name (never through it), so that files written into the
    returned folder stay in ``dest_dir``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    if dest.exists() or dest.is_symlink():
        dest = dest_dir / f"{src.name}.{_stamp()}"
    if src.is_symlink():
        dest.mkdir()
        os.replace(src, dest / LINK_NAME)
        return dest
    try:
        os.replace(src, dest)
    except OSError:  # another file system: copy, then delete (shutil.move)
        shutil.move(str(src), str(dest))
    return dest


#: Name of a quarantined symbolic link inside its quarantine folder.
LINK_NAME = "LINK"


def _write_here(path: Path, data: bytes) -> None:
    """Write a file hsiwq adds to a bundle folder, replacing (not following) a link there."""
    if path.is_symlink():
        path.unlink()
    path.write_bytes(data)


def archive(bundle: Path, archive_dir: Path) -> Path:
    """Move a processed bundle to a local archive folder; returns its new path."""
    dest = _move_local(bundle, archive_dir)
    log_event("bundle_archived", bundle=str(bundle), to=str(dest))
    return dest


def quarantine(bundle: Path, quarantine_dir: Path, reason: str) -> Path:
    """Move an unreadable bundle to a local quarantine folder with a file saying why."""
    dest = _move_local(bundle, quarantine_dir)
    _write_here(dest / REASON_FILE, _reason_bytes(reason))
    log_event("bundle_quarantined", logging.WARNING, bundle=str(bundle), to=str(dest),
              reason=reason)
    return dest
