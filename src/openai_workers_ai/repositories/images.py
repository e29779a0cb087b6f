"""Generated images kept in R2 for ``response_format=url``.

Each image is one R2 object ``images/<name>``. ``<name>`` is 256 random bits
(URL-safe base64) plus the file extension: the name is the only credential,
so ``GET /v1/images/<name>`` serves it without an API key (an ``<img>`` tag
can load it). The expiry is the object's custom metadata ``expires_at``
(Unix seconds): past it the image is not served (404) and
:func:`expire` removes it (a job sent when it is stored), or else the scheduled
:func:`delete_expired`. No D1 row: nothing else refers to it.
"""

from __future__ import annotations

import re
import secrets

from ..ports import Backends, ObjectStore, StoredObject
from ..settings import Settings

PREFIX = "images/"
NAME = re.compile(r"^[A-Za-z0-9_-]{43}\.(?:png|jpg|webp)$")
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def new_name(extension: str) -> str:
    """A fresh image name: 256 random bits, URL-safe, and the extension."""
    return f"{secrets.token_urlsafe(32)}.{extension}"


async def save(bucket: ObjectStore, data: bytes, extension: str, *, now: int, ttl: int) -> str:
    """Store ``data``; return its unguessable name."""
    name = new_name(extension)
    await bucket.put(
        PREFIX + name, data, content_type=MEDIA_TYPES[extension],
        metadata={"expires_at": str(now + ttl)},
    )
    return name


def expires_at(obj: StoredObject) -> int | None:
    """The object's expiry, or None when it has none (then it is not one of ours: never served or deleted)."""
    raw = (obj.metadata or {}).get("expires_at", "")
    return int(raw) if raw.isdigit() else None


async def load(bucket: ObjectStore, name: str, *, now: int) -> StoredObject | None:
    """The image (with its body) if it exists and has not expired."""
    if not NAME.match(name):
        return None
    head = await bucket.head(PREFIX + name)
    expiry = None if head is None else expires_at(head)
    if expiry is None or expiry <= now:
        return None
    return await bucket.get(PREFIX + name)


async def expire(bucket: ObjectStore, name: str, *, now: int) -> int:
    """Delete the image ``name`` if it has expired; else return the seconds it has left (0: gone).
    Safe to repeat (an image-expiry job may run twice)."""
    head = await bucket.head(PREFIX + name) if NAME.match(name) else None
    expiry = None if head is None else expires_at(head)
    if expiry is None:
        return 0
    if expiry > now:
        return expiry - now
    await bucket.delete(PREFIX + name)
    return 0


async def delete_expired(bucket: ObjectStore, now: int) -> int:
    """Delete every expired image; return how many were deleted."""
    expired = [
        obj.key for obj in await bucket.list(PREFIX, limit=100_000)
        if (expiry := expires_at(obj)) is not None and expiry <= now
    ]
    for start in range(0, len(expired), 1000):  # R2 deletes at most 1000 keys per call
        await bucket.delete(expired[start : start + 1000])
    return len(expired)


async def cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """The scheduled cleanup (:data:`openai_workers_ai.maintenance.CLEANUPS`): expired images.

    Reports ``images_expired`` only when it deleted some, so runs with nothing to do stay quiet.
    """
    deleted = await delete_expired(backends.bucket, now)
    return {"images_expired": deleted} if deleted else {}
