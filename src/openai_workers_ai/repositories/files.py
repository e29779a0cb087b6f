"""The ``files`` table (``migrations/0001_files.sql``): every SQL statement of the Files API.

Ownership is a filter here, not in handlers: every read takes ``owner``, the
caller's key hash, or ``None`` for an admin key (sees every row). Only
``processed``, unexpired rows are visible; writes and deletes go through the
no-orphan protocol of :mod:`openai_workers_ai.storage`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from .. import storage
from ..pagination import Page
from ..ports import Backends, Database
from ..settings import Settings
from .pages import page_of

FILES = storage.BlobTable(table="files", prefix="files/", ready="processed")

_COLUMNS = "id, owner, object_key, filename, purpose, bytes, content_type, created_at, expires_at, status"
_VISIBLE = "status = 'processed' AND (expires_at IS NULL OR expires_at > ?)"


@dataclass(frozen=True, slots=True)
class FileRow:
    """A row of the ``files`` table."""

    id: str
    owner: str
    object_key: str
    filename: str
    purpose: str
    bytes: int
    content_type: str
    created_at: int
    expires_at: int | None
    status: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FileRow:
        """The row as D1 returns it (a dict of columns)."""
        return cls(**{f.name: row[f.name] for f in fields(cls)})


def _owned(owner: str | None, params: list[object]) -> str:
    """The ownership clause (empty for admins), appending its parameter."""
    if owner is None:
        return ""
    params.append(owner)
    return " AND owner = ?"


async def create(
    backends: Backends,
    row: FileRow,
    body: bytes | bytearray | AsyncIterator[bytes],
    now: int,
    final: Callable[[], dict[str, Any]] | None = None,
) -> FileRow:
    """Store a new file (bytes in R2, row in D1) or nothing; returns the processed row.

    ``body`` may be a stream (``row.bytes`` is then set from what R2 stored).
    ``final()``, called once the body is consumed, may return new ``purpose`` /
    ``expires_at`` values (form fields that came after a streamed file); raising
    there undoes the upload.
    """
    changes: dict[str, Any] = {}

    def ready_columns() -> dict[str, object]:
        changes.update(final() if final is not None else {})
        assert set(changes) <= {"purpose", "expires_at"}, changes
        return dict(changes)

    stored = await storage.write(
        backends,
        FILES,
        object_id=row.id,
        key=row.object_key,
        insert_sql=f"INSERT INTO files ({_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        insert_params=(
            row.id, row.owner, row.object_key, row.filename, row.purpose, row.bytes,
            row.content_type, row.created_at, row.expires_at, storage.UPLOADING, now,
        ),
        body=body,
        content_type=row.content_type,
        now=now,
        ready_columns=ready_columns,
    )
    return replace(row, bytes=stored.size, status=FILES.ready, **changes)


async def get(db: Database, file_id: str, owner: str | None, now: int) -> FileRow | None:
    """A visible file (processed, unexpired, the caller's unless admin), or None."""
    return await _find(db, file_id, owner, now, _VISIBLE)


IDS_PER_QUERY = 98
"""File ids one look-up binds (with the time and the owner: D1's 100 parameters a statement)."""


async def get_many(db: Database, file_ids: Sequence[str], owner: str | None, now: int) -> dict[str, FileRow]:
    """The visible files among ``file_ids`` (as :func:`get`), by id: one query per
    :data:`IDS_PER_QUERY` ids, not one per file (a batch names up to 2,000)."""
    found: dict[str, FileRow] = {}
    unique = list(dict.fromkeys(file_ids))
    for start in range(0, len(unique), IDS_PER_QUERY):
        chunk = unique[start:start + IDS_PER_QUERY]
        params: list[object] = [*chunk, now]
        owned = _owned(owner, params)
        rows = await db.prepare(
            f"SELECT {_COLUMNS} FROM files WHERE id IN ({', '.join('?' * len(chunk))}) AND {_VISIBLE}{owned}"
        ).bind(*params).all()
        found.update((row["id"], FileRow.from_row(row)) for row in rows)
    return found


async def get_deletable(db: Database, file_id: str, owner: str | None, now: int) -> FileRow | None:
    """A file the caller may delete: a visible one, or one whose earlier delete failed halfway."""
    return await _find(db, file_id, owner, now, f"({_VISIBLE} OR status = 'deleting')")


async def _find(db: Database, file_id: str, owner: str | None, now: int, condition: str) -> FileRow | None:
    params: list[object] = [file_id, now]  # ``condition`` takes ``now`` (through _VISIBLE)
    owned = _owned(owner, params)
    row = await db.prepare(
        f"SELECT {_COLUMNS} FROM files WHERE id = ? AND {condition}{owned}"
    ).bind(*params).first()
    return FileRow.from_row(row) if row else None


async def list_page(
    db: Database, *, owner: str | None, now: int, page: Page, purpose: str | None = None
) -> tuple[list[FileRow], bool]:
    """One page of visible files in creation order; and whether more follow."""
    params: list[object] = [now]
    where = _VISIBLE + _owned(owner, params)
    if purpose is not None:
        where += " AND purpose = ?"
        params.append(purpose)
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM files", where, params, page)
    return [FileRow.from_row(r) for r in rows], has_more


async def delete(backends: Backends, row: FileRow, now: int, *, detach: storage.Detach | None = None) -> None:
    """Delete the bytes and the row, ``detach``-ing the file from what holds it first (retry-safe; see
    :func:`storage.delete`)."""
    await storage.delete(backends, FILES, row.id, row.object_key, now, detach=detach)


async def cleanup(backends: Backends, settings: Settings, now: int, *,
                  detach: storage.Detach | None = None) -> dict[str, int]:
    """The scheduled cleanup: expired files, crashed uploads/deletes (each ``detach``-ed first, as by
    :func:`delete`), rowless objects."""
    return await storage.sweep(backends, FILES, now, stale_after=settings.stale_after, detach=detach)
