"""Blobs in R2 described by rows in D1: writes and deletes that leave no orphans.

Any resource whose bytes live in R2 (files, generated images, assistants'
attachments…) keeps one D1 row per object in a table with at least these
columns (see ``migrations/0001_files.sql``)::

    id TEXT PRIMARY KEY, object_key TEXT NOT NULL UNIQUE, bytes INTEGER NOT NULL,
    status TEXT NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER

The two stores cannot share a transaction, so the row is the journal:

- **write**: insert the row as ``uploading`` → put the bytes → mark it ready.
  A failure after the insert runs the delete below. If that compensation
  fails too, the ``uploading`` / ``deleting`` row is left for :func:`sweep`
  (or, when the failure hid a committed "ready", the complete object stays:
  the client saw an error for an upload that in fact succeeded).
- **delete**: mark the row ``deleting`` → delete the bytes → delete the row.
  Every step is idempotent, so a delete that failed halfway is retried from
  the start (by the client, or by :func:`sweep`). What other rows hold of the
  object (a file's place in vector stores) is let go of by ``detach``, run
  once the row is ``deleting`` (so nothing new can take hold of it) and
  before the bytes go: a failure there leaves the row ``deleting``, retried.
- **read**: only rows in the table's ready status are served.
- :func:`sweep` finishes what crashed: expired objects, ``uploading`` /
  ``deleting`` rows untouched for ``stale_after`` seconds, and R2 objects
  under the table's prefix that no row names.

So at every instant each R2 object is named by a row, and every ready row's
bytes exist. Object keys are ``<prefix><id>/<random>``: knowing an id is not
enough to fetch the bytes from the bucket.

A new resource (see ``repositories/files.py``): a migration with the columns
above, ``T = BlobTable("t", "t/", ready=...)``, :func:`write` /
:func:`delete` from its repository, reads filtered on ``status = T.ready``,
and ``lambda b, s, now: sweep(b, T, now)`` appended to
``maintenance.CLEANUPS``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import APIError
from .ports import Backends, StoredObject

log = logging.getLogger(__name__)

Detach = Callable[[Backends, str, int], Awaitable[None]]
"""``detach(backends, object_id, now)``: other rows let go of an object being deleted (idempotent)."""

UPLOADING = "uploading"
DELETING = "deleting"
STALE_AFTER = 6 * 3600
"""An ``uploading`` / ``deleting`` row older than this (seconds) is a crashed request's."""
SWEEP_BATCH = 50
"""Rows handled per category per sweep. Each costs 3 D1/R2 calls; a Worker invocation may
make 1,000 calls to Cloudflare services on the free plan, shared by every cleanup."""
ORPHAN_SCAN_LIMIT = 2000
"""R2 objects checked for a row per sweep (1 list call per 1,000, 1 D1 query per 100)."""
_D1_MAX_PARAMS = 100  # D1 binds at most 100 parameters per statement


@dataclass(frozen=True, slots=True)
class BlobTable:
    """One resource's table and R2 prefix. ``table`` is a constant, never user input."""

    table: str
    prefix: str
    ready: str = "ready"


def object_key(table: BlobTable, object_id: str) -> str:
    """A fresh R2 key for ``object_id``: the id plus 128 random bits."""
    return f"{table.prefix}{object_id}/{secrets.token_urlsafe(16)}"


async def write(
    backends: Backends,
    table: BlobTable,
    *,
    object_id: str,
    key: str,
    insert_sql: str,
    insert_params: tuple[object, ...],
    body: bytes | bytearray | AsyncIterator[bytes],
    content_type: str | None,
    now: int,
    ready_columns: Callable[[], dict[str, object]] | None = None,
) -> StoredObject:
    """Store ``body`` under ``key`` and its row; on any failure, neither (or a row for :func:`sweep`).

    ``insert_sql`` inserts the row with ``status = 'uploading'`` and ``updated_at = now``.
    Returns what R2 stored; the row's ``bytes`` is set from it when marked ready, with
    the columns ``ready_columns()`` returns (called once the body is consumed: values a
    streamed request sent after its bytes; raising there abandons the write).
    """
    db, bucket = backends.db, backends.bucket
    await db.prepare(insert_sql).bind(*insert_params).run()
    try:
        stored = await bucket.put(key, body, content_type=content_type)
        extra = ready_columns() if ready_columns is not None else {}
        assignments = "".join(f", {column} = ?" for column in extra)  # column names come from code
        changed = await db.prepare(
            f"UPDATE {table.table} SET status = ?, bytes = ?, updated_at = ?{assignments}"
            " WHERE id = ? AND status = ?"
        ).bind(table.ready, stored.size, now, *extra.values(), object_id, UPLOADING).run()
        if changed != 1:  # swept as stale while the upload ran
            raise APIError("The upload took too long and was abandoned; please retry.", status=500)
    except BaseException:
        await _discard(backends, table, object_id, key, now)
        raise
    return stored


async def stage(
    backends: Backends,
    table: BlobTable,
    *,
    object_id: str,
    key: str,
    insert_sql: str,
    insert_params: tuple[object, ...],
    body: bytes | bytearray | AsyncIterator[bytes],
    content_type: str | None,
    now: int,
) -> StoredObject:
    """The first two steps of :func:`write` — the row inserted ``uploading``, the bytes put (whole or
    streamed; what R2 stored is returned) — leaving
    the third to the caller: :func:`ready_sql` in its own ``db.batch``, so the object becomes visible
    together with whatever else that batch writes (a response and its items, all or nothing). A row
    never marked ready is a crashed write's, removed by :func:`sweep`; a failure here undoes both."""
    await backends.db.prepare(insert_sql).bind(*insert_params).run()
    try:
        return await backends.bucket.put(key, body, content_type=content_type)
    except BaseException:
        await _discard(backends, table, object_id, key, now)
        raise


def ready_sql(table: BlobTable, condition: str = "") -> str:
    """The statement marking a staged row ready: binds ``(updated_at, id, *condition's parameters)``;
    ``condition`` (``AND …``) may make it conditional on other rows."""
    return (f"UPDATE {table.table} SET status = '{table.ready}', updated_at = ? WHERE id = ?"
            f" AND status = '{UPLOADING}'{condition}")


async def _discard(backends: Backends, table: BlobTable, object_id: str, key: str, now: int) -> None:
    """Undo a failed write with :func:`delete`; if that fails too, its row is left for the sweep.

    Not just "delete bytes, delete row": when marking the row ready did commit but
    reported a failure, the row must leave the ready status before its bytes go.
    """
    try:
        await delete(backends, table, object_id, key, now)
    except Exception:
        log.warning("could not undo the write of %s (the sweep will)", object_id, exc_info=True)


async def delete(backends: Backends, table: BlobTable, object_id: str, key: str, now: int, *,
                 detach: Detach | None = None) -> None:
    """Delete an object and its row: mark ``deleting``, ``detach`` it from what refers to it, delete
    bytes, delete row. Safe to retry."""
    db = backends.db
    await db.prepare(
        f"UPDATE {table.table} SET status = ?, updated_at = ? WHERE id = ?"
    ).bind(DELETING, now, object_id).run()
    if detach is not None:
        await detach(backends, object_id, now)
    await backends.bucket.delete(key)
    await db.prepare(f"DELETE FROM {table.table} WHERE id = ? AND status = ?").bind(
        object_id, DELETING
    ).run()


async def delete_many(backends: Backends, table: BlobTable, rows: Sequence[Mapping[str, Any]]) -> None:
    """Delete up to 1,000 rows (``id``, ``object_key``) no request reads any more (marked so by the caller:
    ``deleting``, or expired): their R2 objects in one call, then the rows in one D1 batch — two calls, not
    :func:`delete`'s three a row. A failure leaves them to :func:`sweep`; an object whose row went first is an
    orphan it removes."""
    if not rows:
        return
    await backends.bucket.delete([row["object_key"] for row in rows])
    ids = [row["id"] for row in rows]
    step = _D1_MAX_PARAMS - 1
    db = backends.db
    await db.batch([db.prepare(f"DELETE FROM {table.table} WHERE id IN ({', '.join('?' * len(chunk))})").bind(*chunk)
                    for chunk in (ids[i : i + step] for i in range(0, len(ids), step))])


async def sweep(
    backends: Backends, table: BlobTable, now: int, *, stale_after: int = STALE_AFTER, detach: Detach | None = None
) -> dict[str, int]:
    """Delete expired objects, stale ``uploading``/``deleting`` rows and rowless R2 objects (each
    row's object ``detach``-ed first, as :func:`delete` does).

    Returns counts keyed ``<table>_expired``, ``<table>_stale``, ``<table>_orphans``.
    """
    db, name = backends.db, table.table
    expired = await db.prepare(
        f"SELECT id, object_key FROM {name} WHERE status = ? AND expires_at IS NOT NULL"
        " AND expires_at <= ? ORDER BY expires_at LIMIT ?"
    ).bind(table.ready, now, SWEEP_BATCH).all()
    stale = await db.prepare(  # the statuses written out: the partial index <table>_unsettled (0007) is on them
        f"SELECT id, object_key FROM {name} WHERE status IN ('{UPLOADING}', '{DELETING}') AND updated_at <= ?"
        " ORDER BY updated_at LIMIT ?"
    ).bind(now - stale_after, SWEEP_BATCH).all()
    done = {"expired": 0, "stale": 0}
    for kind, rows in (("expired", expired), ("stale", stale)):
        for row in rows:
            try:
                await delete(backends, table, row["id"], row["object_key"], now, detach=detach)
            except Exception:  # one bad object must not stop the rest; the next run retries it
                log.warning("sweep could not delete %s %s", name, row["id"], exc_info=True)
                continue
            done[kind] += 1
    orphans = await _orphans(backends, table)
    if orphans:
        await backends.bucket.delete(orphans)
    return {f"{name}_expired": done["expired"], f"{name}_stale": done["stale"], f"{name}_orphans": len(orphans)}


async def _orphans(backends: Backends, table: BlobTable) -> list[str]:
    """R2 keys under the prefix that no row names. Safe against concurrent requests: a row is
    inserted before its bytes are put and deleted only after they are gone."""
    keys = [obj.key for obj in await backends.bucket.list(table.prefix, ORPHAN_SCAN_LIMIT)]
    orphans: list[str] = []
    for start in range(0, len(keys), _D1_MAX_PARAMS):
        chunk = keys[start : start + _D1_MAX_PARAMS]
        marks = ", ".join("?" * len(chunk))
        rows = await backends.db.prepare(
            f"SELECT object_key FROM {table.table} WHERE object_key IN ({marks})"
        ).bind(*chunk).all()
        named = {row["object_key"] for row in rows}
        orphans.extend(key for key in chunk if key not in named)
    return orphans
