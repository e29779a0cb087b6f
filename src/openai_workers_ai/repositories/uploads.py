"""The ``uploads`` and ``upload_parts`` tables (``migrations/0010_uploads.sql``): every SQL statement of
the Uploads API.

An upload is a row; each of its parts is an R2 object with a row, written and deleted by the no-orphan
protocol of :mod:`openai_workers_ai.storage` (:data:`PARTS`). A part's row carries its upload's
``expires_at``, set to "now" once the upload is completed or cancelled, so :func:`storage.sweep` deletes
whatever parts a crash left behind. Ownership is a filter here, as for files: ``owner`` is the caller's
key hash, or ``None`` for an admin key.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from typing import Any

from .. import storage
from ..ports import Backends, Database
from ..settings import Settings

log = logging.getLogger(__name__)

PARTS = storage.BlobTable(table="upload_parts", prefix="upload_parts/", ready="ready")

PENDING, COMPLETING, COMPLETED, CANCELLED = "pending", "completing", "completed", "cancelled"
ABANDONED_AFTER = 900
"""Seconds after which a completion never heard of again (``completing``) is taken to have stopped."""
KEPT_AFTER_EXPIRY = 86400
"""Seconds an upload's row is kept past its ``expires_at`` (its parts are gone by then), then dropped."""
ROWS_PER_CLEANUP = 50
"""Upload rows one cleanup run drops at most (one statement)."""
PARTS_DELETED_INLINE = 1000
"""Parts a completion or cancellation deletes itself (R2 deletes up to 1,000 keys a call); the sweep deletes
the rest (more than a completion may name: parts sent but left out)."""

_COLUMNS = ("id, owner, filename, purpose, bytes, mime_type, file_expires_after, created_at, expires_at, status,"
            " file_id")


@dataclass(frozen=True, slots=True)
class UploadRow:
    """A row of the ``uploads`` table."""

    id: str
    owner: str
    filename: str
    purpose: str
    bytes: int
    mime_type: str
    file_expires_after: int | None
    created_at: int
    expires_at: int
    status: str
    file_id: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UploadRow:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class PartRow:
    """A ready part: its id, R2 key and size."""

    id: str
    object_key: str
    bytes: int


async def create(db: Database, row: UploadRow, now: int) -> None:
    await db.prepare(
        f"INSERT INTO uploads ({_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ).bind(row.id, row.owner, row.filename, row.purpose, row.bytes, row.mime_type, row.file_expires_after,
           row.created_at, row.expires_at, row.status, row.file_id, now).run()


async def get(db: Database, upload_id: str, owner: str | None, now: int) -> UploadRow | None:
    """The upload (the caller's unless admin), whatever its status, or None. A completion that stopped
    without an end (its Worker killed: out of CPU time, say) left it ``completing``: after
    :data:`ABANDONED_AFTER` it is ``pending`` again, so the client can complete it again."""
    params: list[object] = [upload_id]
    owned = ""
    if owner is not None:
        owned = " AND owner = ?"
        params.append(owner)
    row = await db.prepare(f"SELECT {_COLUMNS}, updated_at FROM uploads WHERE id = ?{owned}").bind(*params).first()
    if row is None:
        return None
    upload = UploadRow.from_row(row)
    if upload.status == COMPLETING and row["updated_at"] <= now - ABANDONED_AFTER:
        await release(db, upload_id, now, abandoned_before=now - ABANDONED_AFTER)
        upload = replace(upload, status=PENDING)
    return upload


async def add_part(backends: Backends, upload: UploadRow, part_id: str, key: str,
                   body: AsyncIterator[bytes], now: int) -> bool:
    """Store a part's bytes (streamed) and its row, made ready only if the upload is still pending and
    unexpired when the bytes are in: False (and nothing kept) otherwise."""
    stored = await storage.stage(
        backends, PARTS, object_id=part_id, key=key,
        insert_sql="INSERT INTO upload_parts (id, upload_id, object_key, bytes, status, created_at, expires_at,"
                   " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        insert_params=(part_id, upload.id, key, 0, storage.UPLOADING, now, upload.expires_at, now),
        body=body, content_type="application/octet-stream", now=now,
    )
    changed = await backends.db.prepare(
        f"UPDATE upload_parts SET status = '{PARTS.ready}', bytes = ?, updated_at = ? WHERE id = ?"
        f" AND status = '{storage.UPLOADING}' AND EXISTS (SELECT 1 FROM uploads WHERE id = ?"
        f" AND status = '{PENDING}' AND expires_at > ?)"
    ).bind(stored.size, now, part_id, upload.id, now).run()
    if changed != 1:
        await _delete_part(backends, part_id, key, now)
        return False
    return True


async def parts(db: Database, upload_id: str) -> dict[str, PartRow]:
    """The upload's ready parts, by id."""
    rows = await db.prepare(
        f"SELECT id, object_key, bytes FROM upload_parts WHERE upload_id = ? AND status = '{PARTS.ready}'"
    ).bind(upload_id).all()
    return {row["id"]: PartRow(row["id"], row["object_key"], row["bytes"]) for row in rows}


async def claim(db: Database, upload_id: str, now: int) -> bool:
    """Mark a pending, unexpired upload ``completing``; False when it was not (another request's)."""
    changed = await db.prepare(
        f"UPDATE uploads SET status = '{COMPLETING}', updated_at = ? WHERE id = ? AND status = '{PENDING}'"
        " AND expires_at > ?"
    ).bind(now, upload_id, now).run()
    return changed == 1


async def release(db: Database, upload_id: str, now: int, *, abandoned_before: int | None = None) -> None:
    """A completion that failed (or, with ``abandoned_before``, one last heard of before then): the upload
    is pending again."""
    stopped = "" if abandoned_before is None else " AND updated_at <= ?"
    await db.prepare(
        f"UPDATE uploads SET status = '{PENDING}', updated_at = ? WHERE id = ? AND status = '{COMPLETING}'{stopped}"
    ).bind(now, upload_id, *([] if abandoned_before is None else [abandoned_before])).run()


async def completed(db: Database, upload_id: str, file_id: str, now: int) -> None:
    await db.prepare(
        f"UPDATE uploads SET status = '{COMPLETED}', file_id = ?, updated_at = ? WHERE id = ?"
    ).bind(file_id, now, upload_id).run()


async def cancel(db: Database, upload_id: str, now: int) -> bool:
    """Mark a pending upload cancelled; False when it was not pending."""
    changed = await db.prepare(
        f"UPDATE uploads SET status = '{CANCELLED}', updated_at = ? WHERE id = ? AND status = '{PENDING}'"
    ).bind(now, upload_id).run()
    return changed == 1


async def joined(backends: Backends, ordered: list[PartRow]) -> AsyncIterator[bytes]:
    """The parts' bytes, one after the other, each read from R2 as it is sent on."""
    for part in ordered:
        stored = await backends.bucket.get(part.object_key)
        if stored is None or stored.body is None:
            raise LookupError(f"upload part {part.id} has no bytes")
        async for chunk in stored.body:
            yield chunk


async def drop_parts(backends: Backends, upload_id: str, now: int) -> None:
    """Delete an upload's parts (completed or cancelled): first each part's row is made to expire now, so
    any a failure here leaves are deleted by the scheduled sweep; then up to :data:`PARTS_DELETED_INLINE`
    of them in three calls (their R2 objects in one, their rows in one batch). Never raises: the upload is
    done."""
    db = backends.db
    try:
        await db.prepare("UPDATE upload_parts SET expires_at = ? WHERE upload_id = ?").bind(now, upload_id).run()
        rows = await db.prepare("SELECT id, object_key FROM upload_parts WHERE upload_id = ? LIMIT ?").bind(
            upload_id, PARTS_DELETED_INLINE).all()
        await storage.delete_many(backends, PARTS, rows)
    except Exception:  # the upload is done: its parts expire with it (within the hour) and are swept then
        log.warning("could not delete the parts of upload %s (the sweep will)", upload_id, exc_info=True)


async def _delete_part(backends: Backends, part_id: str, key: str, now: int) -> None:
    try:
        await storage.delete(backends, PARTS, part_id, key, now)
    except Exception:  # left for storage.sweep
        log.warning("could not delete upload part %s (the sweep will)", part_id, exc_info=True)


async def cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """The scheduled cleanup: parts of expired, completed or cancelled uploads and crashed part writes
    (:func:`storage.sweep`, bounded per run), then the rows of uploads long expired (at most
    :data:`ROWS_PER_CLEANUP`)."""
    counts = await storage.sweep(backends, PARTS, now, stale_after=settings.stale_after)
    dropped = await backends.db.prepare(
        "DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE expires_at <= ? ORDER BY expires_at"
        " LIMIT ?)"
    ).bind(now - KEPT_AFTER_EXPIRY, ROWS_PER_CLEANUP).run()
    return {**counts, "uploads_dropped": dropped}
