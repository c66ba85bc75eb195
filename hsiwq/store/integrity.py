"""Checksums of the store's objects: written at commit, verified on every read.

Every object the store commits is covered by a CRC-32C (Castagnoli) checksum:

- a *batch* object (journal entry, segment) carries its own length and checksum in its
  first bytes (see :func:`hsiwq.store.batch.pack`);
- a *part* (a Zarr group written whole; any group of objects, see :func:`with_manifest`)
  has a manifest, ``<part>/manifest.json``, listing the
  size and checksum of every object of the part; the head that commits the part records the
  checksum of the manifest, so the manifest itself is verified;
- a *head* carries the checksum of its own content.

A read that meets an object whose bytes differ from what was committed raises
:class:`DamagedObject` (a :class:`~hsiwq.errors.StoreError`) naming the object and what is
wrong (missing, empty, truncated, changed), never returns its values. Stores written before
checksums existed have none of this; they are read unverified (``hsiwq store-info --verify``
says so).

References
----------
.. [1] Castagnoli, G., Bräuer, S., Herrmann, M. (1993). Optimization of cyclic redundancy-check
   codes with 24 and 32 parity bits. IEEE Trans. Commun. 41(6), 883-892.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import google_crc32c

from ..errors import StoreError

#: Name of a part's manifest (relative to the part's folder).
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hsiwq-manifest-1"


class DamagedObject(StoreError):
    """An object of the store is missing, truncated or changed since it was committed."""


class Damage(ValueError):
    """What is wrong with some bytes (raised where the object's name is not known yet)."""


def crc32c(data: bytes | memoryview) -> int:
    """CRC-32C of bytes (hardware-accelerated where the CPU has it) [1]_."""
    return int(google_crc32c.value(bytes(data) if isinstance(data, memoryview) else data))


def check(data: bytes | None, size: int, crc: int) -> None:
    """Raise :class:`Damage` unless ``data`` is ``size`` bytes with checksum ``crc``."""
    if data is None:
        raise Damage("missing (listed in the manifest, not on storage)")
    if len(data) == 0 and size:
        raise Damage(f"empty (0 of {size:,} bytes)")
    if len(data) < size:
        raise Damage(f"truncated ({len(data):,} of {size:,} bytes)")
    if len(data) > size:
        raise Damage(f"longer than written ({len(data):,} instead of {size:,} bytes)")
    if crc32c(data) != crc:
        raise Damage("checksum mismatch (the bytes changed after they were written)")


def manifest_bytes(objects: Mapping[str, bytes]) -> bytes:
    """The manifest of a part: size and CRC-32C of each of its objects (relative keys)."""
    return json.dumps({"format": MANIFEST_FORMAT, "algorithm": "crc32c",
                       "objects": {k: [len(v), crc32c(v)] for k, v in sorted(objects.items())}},
                      separators=(",", ":")).encode()


def with_manifest(objects: dict[str, bytes]) -> int:
    """Add the manifest of a group of objects (relative keys) to it; returns the manifest's
    checksum, to be recorded where the group is committed (a head entry).

    Any new kind of multi-object data (e.g. a Zarr group of maps) written through this and
    read through :class:`hsiwq.store.parts._PartReader` is verified like a part.
    """
    data = manifest_bytes(objects)
    objects[MANIFEST] = data
    return crc32c(data)


def parse_manifest(data: bytes | None, crc: int) -> dict[str, tuple[int, int]]:
    """The objects of a manifest whose own checksum must be ``crc`` (:class:`Damage` if not)."""
    if data is None:
        raise Damage("missing")
    if crc32c(data) != crc:
        raise Damage("empty" if not data else "checksum mismatch (truncated or changed)")
    doc = json.loads(data)
    return {k: (int(v[0]), int(v[1])) for k, v in doc["objects"].items()}


def seal(doc: dict) -> bytes:
    """A JSON document with the checksum of its content in ``"crc32c"`` (heads)."""
    body = {k: v for k, v in doc.items() if k != "crc32c"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return json.dumps({**body, "crc32c": crc32c(text.encode())}, indent=1, sort_keys=True).encode()


def unseal(data: bytes) -> dict:
    """The document of :func:`seal` (:class:`Damage` if empty, not JSON or changed).

    A document without ``"crc32c"`` (written before checksums) is returned unverified.
    """
    if not data:
        raise Damage("empty (0 bytes)")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Damage(f"not valid JSON ({_short(exc)}): truncated or overwritten") from None
    if not isinstance(doc, dict):
        raise Damage("not a JSON object")
    if "crc32c" in doc:
        body = {k: v for k, v in doc.items() if k != "crc32c"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if crc32c(text.encode()) != doc["crc32c"]:
            raise Damage("checksum mismatch (the content changed after it was written)")
    return doc


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:80]
