"""The ``vector_store_files`` table: files attached to a store, each with its ingestion state.

A file's life: ``in_progress`` (attached; ingestion queued or running) → ``completed`` | ``failed`` |
``cancelled``; ``deleting`` while its vectors are removed. Every change of state is one conditional
``UPDATE … WHERE … AND status = ?`` whose changed-row count the caller checks, so a redelivered job,
a cancel and a delete can race without a file ending in two states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from json import dumps, loads
from typing import Any

from ..pagination import Page
from ..ports import Database, MetadataValue
from .chunks import Stored
from .pages import SortKey, page_of

IN_PROGRESS, COMPLETED, FAILED, CANCELLED, DELETING = "in_progress", "completed", "failed", "cancelled", "deleting"
STATUSES = (IN_PROGRESS, COMPLETED, FAILED, CANCELLED)
"""The statuses a client sees (``deleting`` files are invisible)."""

_COLUMNS = ("vector_store_id, id, batch_id, filename, status, last_error_code, last_error_message, attributes, "
            "chunk_tokens, overlap_tokens, chunk_count, usage_bytes, created_at, updated_at, attempt")


@dataclass(frozen=True, slots=True)
class StoreFileRow:
    """A row of ``vector_store_files`` (``attributes`` decoded)."""

    vector_store_id: str
    id: str
    batch_id: str | None
    """The batch whose job ingests the file (a batch holds every file it named:
    ``vector_store_file_batch_files``)."""
    filename: str
    status: str
    last_error_code: str | None
    last_error_message: str | None
    attributes: dict[str, MetadataValue]
    chunk_tokens: int
    overlap_tokens: int
    chunk_count: int
    usage_bytes: int
    created_at: int
    updated_at: int
    attempt: int = 0
    """Which attachment of the file this is: 0, then one more each time it is attached again after it
    failed or was cancelled (what each attempt stores has ids of its own: :class:`chunks.Stored`)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoreFileRow:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["attributes"] = loads(row["attributes"])
        return cls(**values)

    @property
    def stored(self) -> Stored:
        """What this attempt at the file may have stored."""
        return Stored(self.vector_store_id, self.id, self.attempt, self.chunk_count)


@dataclass(frozen=True, slots=True)
class Counts:
    """``file_counts``: files per status."""

    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.failed + self.cancelled

    def as_dict(self) -> dict[str, int]:
        return {"in_progress": self.in_progress, "completed": self.completed, "failed": self.failed,
                "cancelled": self.cancelled, "total": self.total}


async def attach(db: Database, rows: Sequence[StoreFileRow]) -> None:
    """Attach files (one transaction). A file already in the store is left as it is, unless it had
    failed or been cancelled: then it starts over, a new attempt, with the new strategy, attributes and batch.
    A batch (the rows' ``batch_id``) holds every file it names (``vector_store_file_batch_files``): those
    the store has already too, ``in_progress`` or ``completed``, as they are (not ingested again), and a file
    stays in every batch that named it, each counting and listing it with its status."""
    statements = [
        db.prepare(
            f"INSERT INTO vector_store_files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, 0, 0, ?, ?, 0)"
            " ON CONFLICT (vector_store_id, id) DO UPDATE SET status = excluded.status, batch_id = excluded.batch_id,"
            " attributes = excluded.attributes, chunk_tokens = excluded.chunk_tokens,"
            " overlap_tokens = excluded.overlap_tokens, last_error_code = NULL, last_error_message = NULL,"
            " chunk_count = 0, usage_bytes = 0, updated_at = excluded.updated_at,"
            " attempt = vector_store_files.attempt + 1"
            " WHERE vector_store_files.status IN (?, ?)"
        ).bind(row.vector_store_id, row.id, row.batch_id, row.filename, IN_PROGRESS, dumps(row.attributes),
               row.chunk_tokens, row.overlap_tokens, row.created_at, row.updated_at, FAILED, CANCELLED)
        for row in rows
    ]
    batch_id = rows[0].batch_id if rows else None  # the rows are of one store, and of one batch or none
    if batch_id is not None:  # after the files' rows, which its rows name (a foreign key)
        statements.append(db.prepare(
            "INSERT OR IGNORE INTO vector_store_file_batch_files (batch_id, vector_store_id, file_id)"
            " SELECT ?, ?, value FROM json_each(?)"
        ).bind(batch_id, rows[0].vector_store_id, dumps([row.id for row in rows])))
    for start in range(0, len(statements), 100):
        await db.batch(statements[start : start + 100])


async def get(db: Database, store_id: str, file_id: str, *, deleting: bool = False) -> StoreFileRow | None:
    """The file in the store (one being deleted only when ``deleting``), or None."""
    condition = "" if deleting else " AND status != 'deleting'"
    row = await db.prepare(
        f"SELECT {_COLUMNS} FROM vector_store_files WHERE vector_store_id = ? AND id = ?{condition}"
    ).bind(store_id, file_id).first()
    return StoreFileRow.from_row(row) if row else None


_IN_BATCH = " AND id IN (SELECT file_id FROM vector_store_file_batch_files WHERE batch_id = ?)"
"""A batch's files: every file it named (a file a later batch named again too)."""

_ATTACHED = "SELECT created_at FROM vector_store_files WHERE vector_store_id = ? AND id = ?"
"""A cursor's place: lists are in the order files were attached (OpenAI's ``created_at``), not by file id, so
a cursor is looked up; one the store no longer has (taken out of it) has no place, and is a 400 naming it."""


async def list_page(
    db: Database, store_id: str, page: Page, *, status: str | None = None, batch_id: str | None = None
) -> tuple[list[StoreFileRow], bool]:
    params: list[object] = [store_id]
    where = "vector_store_id = ? AND status != 'deleting'"
    if status is not None:
        where += " AND status = ?"
        params.append(status)
    if batch_id is not None:
        where += _IN_BATCH
        params.append(batch_id)
    attached = SortKey("created_at", _ATTACHED, (store_id,), noun="file")
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM vector_store_files", where, params, page, attached)
    return [StoreFileRow.from_row(r) for r in rows], has_more


async def in_store(db: Database, store_ids: Sequence[str], status: str = COMPLETED) -> list[StoreFileRow]:
    """Every file of the stores in ``status`` (for filters on attributes)."""
    marks = ", ".join("?" * len(store_ids))
    rows = await db.prepare(
        f"SELECT {_COLUMNS} FROM vector_store_files WHERE vector_store_id IN ({marks}) AND status = ?"
    ).bind(*store_ids, status).all()
    return [StoreFileRow.from_row(r) for r in rows]


async def pending(db: Database, store_id: str, batch_id: str | None, limit: int) -> list[str]:
    """Ids of files still ``in_progress`` in the store (or whose ingestion one of its batches started: their
    ``batch_id``, not every file the batch holds, so that a file two batches named is ingested by one job)."""
    where, params = "vector_store_id = ? AND status = ?", [store_id, IN_PROGRESS]
    if batch_id is not None:
        where += " AND batch_id = ?"
        params.append(batch_id)
    rows = await db.prepare(f"SELECT id FROM vector_store_files WHERE {where} ORDER BY id LIMIT ?").bind(
        *params, limit
    ).all()
    return [r["id"] for r in rows]


async def counts(db: Database, store_id: str, batch_id: str | None = None) -> Counts:
    """``file_counts`` of a store's files, or of one of its batches' (a store's own are kept in its row:
    :attr:`.vector_stores.StoreRow.file_counts`)."""
    where, params = "vector_store_id = ?", [store_id]
    if batch_id is not None:
        where += _IN_BATCH
        params.append(batch_id)
    rows = await db.prepare(
        f"SELECT status, COUNT(*) AS n FROM vector_store_files WHERE {where} GROUP BY status"
    ).bind(*params).all()
    found = {r["status"]: int(r["n"]) for r in rows if r["status"] in STATUSES}
    return Counts(**found)


async def transition(db: Database, store_id: str, file_id: str, expected: str | Sequence[str], status: str,
                     now: int, *, attempt: int | None = None, **columns: object) -> bool:
    """Move the file from ``expected`` (one status or several) to ``status``, setting ``columns``
    (names from code); True when it was in ``expected`` (and at ``attempt``, when given) and moved."""
    olds = [expected] if isinstance(expected, str) else list(expected)
    assignments = "".join(f", {column} = ?" for column in columns)
    marks = ", ".join("?" * len(olds))
    same_attempt = "" if attempt is None else " AND attempt = ?"
    changed = await db.prepare(
        f"UPDATE vector_store_files SET status = ?, updated_at = ?{assignments}"
        f" WHERE vector_store_id = ? AND id = ? AND status IN ({marks}){same_attempt}"
    ).bind(status, now, *columns.values(), store_id, file_id, *olds, *([] if attempt is None else [attempt])).run()
    return changed == 1


async def heartbeat(db: Database, store_id: str, file_id: str, attempt: int, now: int, chunk_count: int) -> bool:
    """A running ingestion's step: still ``in_progress``, the same attempt? (and ``updated_at`` set,
    ``chunk_count`` raised to what it has stored: never lowered, so a twin ingestion of the file behind
    another one cannot make the count of chunks the file may own, which a purge deletes, smaller than
    what is stored)."""
    changed = await db.prepare(
        "UPDATE vector_store_files SET updated_at = ?, chunk_count = MAX(chunk_count, ?)"
        " WHERE vector_store_id = ? AND id = ? AND status = ? AND attempt = ?"
    ).bind(now, chunk_count, store_id, file_id, IN_PROGRESS, attempt).run()
    return changed == 1


async def set_attributes(db: Database, store_id: str, file_id: str, attributes: dict[str, MetadataValue]) -> bool:
    changed = await db.prepare(
        "UPDATE vector_store_files SET attributes = ? WHERE vector_store_id = ? AND id = ? AND status != 'deleting'"
    ).bind(dumps(attributes), store_id, file_id).run()
    return changed == 1


async def cancel_batch(db: Database, store_id: str, batch_id: str, now: int) -> list[StoreFileRow]:
    """The batch's files still in progress (those a later batch named too), now ``cancelled`` (each with the
    chunk count it may own): one statement, however many files the batch has (up to 2,000)."""
    rows = await db.prepare(
        "UPDATE vector_store_files SET status = ?, updated_at = ?"
        f" WHERE vector_store_id = ?{_IN_BATCH} AND status = ? RETURNING {_COLUMNS}"
    ).bind(CANCELLED, now, store_id, batch_id, IN_PROGRESS).all()
    return [StoreFileRow.from_row(r) for r in rows]


def _stored(store_id: str, rows: Sequence[dict[str, Any]]) -> list[Stored]:
    return [Stored(store_id, r["id"], int(r["attempt"]), int(r["chunk_count"])) for r in rows]


async def chunk_counts(db: Database, store_id: str, limit: int, *, left_behind: bool = False) -> list[Stored]:
    """What up to ``limit`` files of the store stored, in any status (to delete them) — or, ``left_behind``,
    only files that failed or were cancelled with chunks still counted (their cleanup failed, or has not
    run yet)."""
    only = f" AND status IN ('{FAILED}', '{CANCELLED}') AND chunk_count > 0" if left_behind else ""
    rows = await db.prepare(
        f"SELECT id, chunk_count, attempt FROM vector_store_files WHERE vector_store_id = ?{only} ORDER BY id LIMIT ?"
    ).bind(store_id, limit).all()
    return _stored(store_id, rows)


async def lower_chunk_count(db: Database, stored: Stored, count: int) -> bool:
    """A purge deleted an attempt's chunks from ``count`` on: the file may own ``count`` chunks now, if it
    still names ``stored.count`` of that attempt (a twin ingestion may have raised it since, or the file
    started over; then the count stays)."""
    changed = await db.prepare(
        "UPDATE vector_store_files SET chunk_count = ?"
        " WHERE vector_store_id = ? AND id = ? AND chunk_count = ? AND attempt = ?"
    ).bind(count, stored.store_id, stored.file_id, stored.count, stored.attempt).run()
    return changed == 1


async def remove(db: Database, store_id: str, file_id: str) -> None:
    """The row, and with it (foreign keys) its chunks."""
    await db.prepare("DELETE FROM vector_store_files WHERE vector_store_id = ? AND id = ?").bind(
        store_id, file_id
    ).run()


async def left_behind(db: Database, store_id: str, file_ids: Sequence[str]) -> list[Stored]:
    """What those of ``file_ids`` in the store that failed or were cancelled with chunks still counted
    stored (their cleanup failed, or has not run yet)."""
    found: list[Stored] = []
    for start in range(0, len(file_ids), 96):
        chunk = file_ids[start : start + 96]
        rows = await db.prepare(
            f"SELECT id, chunk_count, attempt FROM vector_store_files WHERE vector_store_id = ?"
            f" AND id IN ({', '.join('?' * len(chunk))}) AND status IN (?, ?) AND chunk_count > 0"
        ).bind(store_id, *chunk, FAILED, CANCELLED).all()
        found += _stored(store_id, rows)
    return found


async def remove_many(db: Database, store_id: str, file_ids: Sequence[str]) -> None:
    """Rows of the store's files (at most 99 ids), and with them (foreign keys) their chunks."""
    if file_ids:
        await db.prepare(
            f"DELETE FROM vector_store_files WHERE vector_store_id = ? AND id IN ({', '.join('?' * len(file_ids))})"
        ).bind(store_id, *file_ids).run()


async def mark_file_deleting(db: Database, file_id: str, now: int) -> None:
    """The file's rows in every store marked ``deleting`` at once (its upload is being deleted)."""
    await db.prepare(
        "UPDATE vector_store_files SET status = ?, updated_at = ? WHERE id = ? AND status != ?"
    ).bind(DELETING, now, file_id, DELETING).run()


async def stores_holding(db: Database, file_id: str, limit: int) -> list[str]:
    """Up to ``limit`` stores with a row of the file, in any status (``migrations/0005``: found by file id)."""
    rows = await db.prepare(
        "SELECT vector_store_id FROM vector_store_files WHERE id = ? ORDER BY vector_store_id LIMIT ?"
    ).bind(file_id, limit).all()
    return [r["vector_store_id"] for r in rows]


async def stale(db: Database, before: int, limit: int) -> list[StoreFileRow]:
    """Files whose ingestion or delete stopped without finishing (no heartbeat since ``before``), then failed
    or cancelled ones whose chunks their cleanup left: up to ``limit`` of each."""
    rows = await db.prepare(  # the statuses written out: the partial index vector_store_files_unsettled is on them
        f"SELECT {_COLUMNS} FROM vector_store_files WHERE status IN ('{IN_PROGRESS}', '{DELETING}')"
        " AND updated_at <= ? ORDER BY updated_at LIMIT ?"
    ).bind(before, limit).all()
    rows += await db.prepare(  # likewise vector_store_files_left_behind
        f"SELECT {_COLUMNS} FROM vector_store_files WHERE status IN ('{FAILED}', '{CANCELLED}') AND chunk_count > 0"
        " AND updated_at <= ? ORDER BY updated_at LIMIT ?"
    ).bind(before, limit).all()
    return [StoreFileRow.from_row(r) for r in rows]
