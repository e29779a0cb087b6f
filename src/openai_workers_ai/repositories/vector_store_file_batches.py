"""The ``vector_store_file_batches`` table: a batch is its id, its store and whether it was cancelled;
its status and ``file_counts`` follow from its files, every file it named (``vector_store_file_batch_files``,
written as :func:`.vector_store_files.attach` attaches them; read by ``vector_store_files``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ports import Database


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: str
    vector_store_id: str
    created_at: int
    cancelled: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BatchRow:
        return cls(row["id"], row["vector_store_id"], int(row["created_at"]), bool(row["cancelled"]))


async def create(db: Database, row: BatchRow) -> None:
    await db.prepare(
        "INSERT INTO vector_store_file_batches (id, vector_store_id, created_at, cancelled) VALUES (?, ?, ?, 0)"
    ).bind(row.id, row.vector_store_id, row.created_at).run()


async def get(db: Database, store_id: str, batch_id: str) -> BatchRow | None:
    row = await db.prepare(
        "SELECT id, vector_store_id, created_at, cancelled FROM vector_store_file_batches"
        " WHERE id = ? AND vector_store_id = ?"
    ).bind(batch_id, store_id).first()
    return BatchRow.from_row(row) if row else None


async def cancel(db: Database, batch_id: str) -> None:
    await db.prepare("UPDATE vector_store_file_batches SET cancelled = 1 WHERE id = ?").bind(batch_id).run()
