"""The ``vector_stores`` table (``migrations/0004_vector_stores.sql``): every SQL statement about stores.

Ownership is a filter here, as for files: reads take ``owner`` (the caller's key hash, or None for
an admin key). A store being deleted (``status = 'deleting'``) is invisible; an expired one is still
shown (with ``status: expired``) until the scheduled cleanup deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from json import dumps, loads
from typing import Any

from ..pagination import Page
from ..ports import Database
from .pages import page_of
from .vector_store_files import Counts

ACTIVE, DELETING = "active", "deleting"
DAY = 86400

_COLUMNS = ("id, owner, name, description, metadata, expires_after_days, expires_at, last_active_at, "
            "created_at, status")
_READ = (f"{_COLUMNS}, file_counts_in_progress, file_counts_completed, file_counts_failed, file_counts_cancelled, "
         "usage_bytes")
"""What a read takes: the columns written, and the file counts and usage the triggers of
``migrations/0014_vector_store_file_counts.sql`` keep (the store's files are not read)."""


@dataclass(frozen=True, slots=True)
class StoreRow:
    """A row of ``vector_stores`` (``metadata`` decoded)."""

    id: str
    owner: str
    name: str
    description: str | None
    metadata: dict[str, str]
    expires_after_days: int | None
    expires_at: int | None
    last_active_at: int
    created_at: int
    status: str
    file_counts: Counts = Counts()
    """Its files per status (kept by triggers; a new store has none)."""
    usage_bytes: int = 0
    """Its completed files' ``usage_bytes``, added up (kept likewise)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoreRow:
        values = {f.name: row[f.name] for f in fields(cls) if f.name != "file_counts"}
        values["metadata"] = loads(row["metadata"])
        counts = Counts(int(row["file_counts_in_progress"]), int(row["file_counts_completed"]),
                        int(row["file_counts_failed"]), int(row["file_counts_cancelled"]))
        return cls(**values, file_counts=counts)

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def _owned(owner: str | None, params: list[object]) -> str:
    if owner is None:
        return ""
    params.append(owner)
    return " AND owner = ?"


def expiry(days: int | None, last_active_at: int) -> int | None:
    """``expires_at`` for an ``expires_after`` of ``days`` anchored at ``last_active_at``."""
    return None if days is None else last_active_at + days * DAY


async def create(db: Database, row: StoreRow) -> None:
    await db.prepare(f"INSERT INTO vector_stores ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").bind(
        row.id, row.owner, row.name, row.description, dumps(row.metadata), row.expires_after_days,
        row.expires_at, row.last_active_at, row.created_at, row.status,
    ).run()


async def get(db: Database, store_id: str, owner: str | None) -> StoreRow | None:
    """A store the caller may see (active, theirs unless admin), or None."""
    params: list[object] = [store_id, ACTIVE]
    owned = _owned(owner, params)
    row = await db.prepare(
        f"SELECT {_READ} FROM vector_stores WHERE id = ? AND status = ?{owned}"
    ).bind(*params).first()
    return StoreRow.from_row(row) if row else None


async def get_deletable(db: Database, store_id: str, owner: str | None) -> StoreRow | None:
    """A store the caller may delete: a visible one, or one whose earlier delete failed halfway."""
    params: list[object] = [store_id]
    owned = _owned(owner, params)
    row = await db.prepare(f"SELECT {_READ} FROM vector_stores WHERE id = ?{owned}").bind(*params).first()
    return StoreRow.from_row(row) if row else None


async def list_page(db: Database, *, owner: str | None, page: Page) -> tuple[list[StoreRow], bool]:
    params: list[object] = [ACTIVE]
    where = "status = ?" + _owned(owner, params)
    rows, has_more = await page_of(db, f"SELECT {_READ} FROM vector_stores", where, params, page)
    return [StoreRow.from_row(r) for r in rows], has_more


async def update(db: Database, store_id: str, changes: dict[str, object]) -> None:
    """Set ``changes`` (column names from code: ``name``, ``metadata``, ``expires_after_days``, ``expires_at``)."""
    if not changes:
        return
    values = [dumps(v) if k == "metadata" else v for k, v in changes.items()]
    assignments = ", ".join(f"{column} = ?" for column in changes)
    await db.prepare(f"UPDATE vector_stores SET {assignments} WHERE id = ? AND status = ?").bind(
        *values, store_id, ACTIVE
    ).run()


async def touch(db: Database, store_id: str, now: int) -> None:
    """The store was used: ``last_active_at`` is now, and its expiry moves with it."""
    await db.prepare(
        "UPDATE vector_stores SET last_active_at = ?, expires_at = CASE WHEN expires_after_days IS NULL"
        " THEN NULL ELSE ? + expires_after_days * ? END WHERE id = ? AND status = ?"
    ).bind(now, now, DAY, store_id, ACTIVE).run()


async def mark_deleting(db: Database, store_id: str) -> None:
    await db.prepare("UPDATE vector_stores SET status = ? WHERE id = ?").bind(DELETING, store_id).run()


async def delete(db: Database, store_id: str) -> None:
    """The row, and with it (foreign keys) its files, batches and chunks."""
    await db.prepare("DELETE FROM vector_stores WHERE id = ? AND status = ?").bind(store_id, DELETING).run()


async def to_clean(db: Database, now: int, limit: int) -> list[str]:
    """Stores to delete: those whose delete failed halfway, then expired ones (soonest expired first).
    Two statements, each read through its partial index (vector_stores_deleting, vector_stores_expires_at):
    one with ``OR`` scanned every store."""
    halfway = await db.prepare(
        f"SELECT id FROM vector_stores WHERE status = '{DELETING}' ORDER BY id LIMIT ?"
    ).bind(limit).all()
    expired = await db.prepare(
        "SELECT id FROM vector_stores WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?"
    ).bind(now, limit).all()
    return list(dict.fromkeys(r["id"] for r in [*halfway, *expired]))[:limit]
