"""A tiny object-store interface over a local folder or any fsspec URL.

The store needs four things of its storage, each of which a local file system and S3 give:

- ``put``: write one object atomically (readers see the old bytes or the new, never part);
  locally a temporary file in the same folder renamed over the target, on S3 a plain PUT;
- ``put_new``: the same, but only if the object does not exist yet (a create-only commit);
  locally ``os.link`` of the temporary file (fails if the target exists), on S3 a PUT with
  ``If-None-Match: *`` (honoured by AWS S3 since 2024 and by moto);
- ``list`` a prefix, ``get`` one or many objects (many concurrently on object stores),
  ``delete``.

Nothing is ever modified in place, so nothing needs a lock.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fsspec

from ..errors import require_extra

#: Prefix of temporary files of local writes (never listed as objects).
TMP_PREFIX = ".tmp-"


class PreconditionFailed(Exception):
    """A create-only write found the object already there."""


def _is_url(root: str) -> bool:
    return "://" in root


class ObjectStore:
    """Objects under one root (a folder path or an fsspec URL such as ``s3://bucket/site``).

    Parameters
    ----------
    root : str or path
        The root folder or URL.
    storage_options : dict, optional
        Passed to fsspec for URLs (e.g. ``endpoint_url``, ``key``, ``secret``).
    durable : bool
        Local only: ``fsync`` each object before it is renamed into place, so that a power
        loss cannot leave an empty committed file (a killed process cannot anyway).
    """

    def __init__(self, root: str | os.PathLike[str], storage_options: dict[str, Any] | None = None,
                 *, durable: bool = True) -> None:
        text = os.fspath(root)
        self.storage_options = dict(storage_options or {})
        self.durable = durable
        if _is_url(text) and not text.startswith("file://"):
            self.local = False
            if text.startswith("s3://"):
                require_extra("s3fs", "s3", text)
            self.fs, path = fsspec.core.url_to_fs(text, **self.storage_options)
            self.root = path.rstrip("/")
            self.protocol = text.split("://", 1)[0]
        else:
            self.local = True
            self.fs = None
            self.root = str(Path(text.removeprefix("file://")).expanduser().absolute())
            self.protocol = "file"

    # --- naming -------------------------------------------------------------------------
    def path(self, key: str) -> str:
        """Full path (local) or bucket path (fsspec) of a key."""
        return f"{self.root}/{key}" if key else self.root

    def url(self, key: str = "") -> str:
        """A URL or path that zarr/fsspec can open for a key."""
        p = self.path(key)
        return p if self.local else f"{self.protocol}://{p}"

    def __str__(self) -> str:
        return self.url()

    # --- writing ------------------------------------------------------------------------
    def _local_tmp(self, key: str, data: bytes) -> str:
        target = self.path(key)
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    def put(self, key: str, data: bytes) -> None:
        """Write an object atomically, replacing any old one."""
        if self.local:
            tmp = self._local_tmp(key, data)
            os.replace(tmp, self.path(key))
        else:
            self.fs.pipe_file(self.path(key), data)

    def put_many(self, items: dict[str, bytes]) -> None:
        """Write many objects of a not-yet-committed folder (no per-object atomicity needed:
        nothing reads them before a head names them). Locally, with ``durable``, the file
        system is synced once at the end."""
        if not self.local:
            self.fs.pipe({self.path(k): v for k, v in items.items()})
            return
        made: set[str] = set()
        for key, data in items.items():
            target = self.path(key)
            folder = os.path.dirname(target)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            with open(target, "wb") as fh:
                fh.write(data)
        if self.durable:
            os.sync()

    def put_new(self, key: str, data: bytes) -> None:
        """Write an object atomically only if it does not exist yet.

        Raises
        ------
        PreconditionFailed
            If the object exists (someone else created it first).
        """
        if self.local:
            tmp = self._local_tmp(key, data)
            try:
                os.link(tmp, self.path(key))
            except FileExistsError:
                raise PreconditionFailed(key) from None
            finally:
                os.unlink(tmp)
            return
        try:
            self.fs.pipe_file(self.path(key), data, mode="create")
        except FileExistsError:
            raise PreconditionFailed(key) from None

    # --- reading ------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        """The bytes of one object (``FileNotFoundError`` if it is gone)."""
        if self.local:
            with open(self.path(key), "rb") as fh:
                return fh.read()
        return self.fs.cat_file(self.path(key))

    def get_many(self, keys: list[str]) -> dict[str, bytes | None]:
        """The bytes of many objects (concurrently on object stores); None for missing ones."""
        out: dict[str, bytes | None] = {}
        if self.local or len(keys) < 2:
            for k in keys:
                try:
                    out[k] = self.get(k)
                except FileNotFoundError:
                    out[k] = None
            return out
        paths = [self.path(k) for k in keys]
        got = self.fs.cat(paths, on_error="return")
        for k, p in zip(keys, paths):
            v = got.get(p)
            out[k] = v if isinstance(v, bytes) else None
        return out

    def list(self, prefix: str) -> list[str]:
        """Names (not keys) of the objects directly under ``prefix``, sorted; temp files excluded."""
        if self.local:
            try:
                names = os.listdir(self.path(prefix))
            except FileNotFoundError:
                return []
        else:
            self.fs.invalidate_cache(self.path(prefix))
            try:
                names = [p.rstrip("/").rsplit("/", 1)[-1]
                         for p in self.fs.ls(self.path(prefix), detail=False, refresh=True)]
            except FileNotFoundError:
                return []
        return sorted(n for n in names if not n.startswith(TMP_PREFIX))

    def exists(self, key: str) -> bool:
        if self.local:
            return os.path.exists(self.path(key))
        return self.fs.exists(self.path(key))

    # --- deleting -----------------------------------------------------------------------
    def delete(self, keys: Iterable[str]) -> None:
        """Delete objects (missing ones are ignored)."""
        keys = list(keys)
        if not keys:
            return
        if self.local:
            for k in keys:
                try:
                    os.unlink(self.path(k))
                except FileNotFoundError:
                    pass
            return
        try:
            self.fs.rm([self.path(k) for k in keys])
        except FileNotFoundError:
            pass

    def delete_tree(self, prefix: str) -> None:
        """Delete everything under a prefix (a folder of a Zarr part)."""
        if self.local:
            import shutil

            shutil.rmtree(self.path(prefix), ignore_errors=True)
            return
        try:
            self.fs.rm(self.path(prefix), recursive=True)
        except FileNotFoundError:
            pass

    def move_tree(self, src: str, dst: str) -> None:
        """Move everything under prefix ``src`` to ``dst`` (a rename locally; copies then
        deletes on object stores). A missing ``src`` is ignored."""
        if self.local:
            import shutil

            if not os.path.exists(self.path(src)):
                return
            os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
            shutil.rmtree(self.path(dst), ignore_errors=True)  # the rest of a cut move
            os.rename(self.path(src), self.path(dst))
            return
        base = self.path(src)
        self.fs.invalidate_cache(base)
        srcs = [p for p in self.fs.find(base) if p == base or p.startswith(base + "/")]
        if not srcs:
            return
        self.fs.copy(srcs, [self.path(dst) + p[len(base):] for p in srcs])
        self.fs.rm(srcs)

    def sweep_tmp(self, prefix: str, older_than_s: float = 600.0) -> int:
        """Local only: remove temporary files left by killed writers; returns how many."""
        if not self.local:
            return 0
        folder = self.path(prefix)
        n = 0
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return 0
        limit = time.time() - older_than_s
        for e in entries:
            if e.name.startswith(TMP_PREFIX):
                try:
                    if e.stat().st_mtime < limit:
                        os.unlink(e.path)
                        n += 1
                except FileNotFoundError:
                    pass
        return n

    def size(self, prefix: str = "") -> int:
        """Bytes of all objects under a prefix."""
        if self.local:
            total = 0
            for dirpath, _, files in os.walk(self.path(prefix)):
                for f in files:
                    try:
                        total += os.stat(os.path.join(dirpath, f)).st_size
                    except FileNotFoundError:
                        pass
            return total
        return int(self.fs.du(self.path(prefix)))
