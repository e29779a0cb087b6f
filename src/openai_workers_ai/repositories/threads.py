"""The ``threads`` table: create (with its first messages), read, modify, and delete with everything in it."""

from __future__ import annotations

from typing import Any

from ..ports import Database, Statement
from ..types.threads import Message, Thread
from . import messages
from .columns import from_json, owned, to_json

_COLUMNS = "id, created_at, tool_resources, metadata"


def _thread(row: dict[str, Any]) -> Thread:
    return Thread(id=row["id"], created_at=row["created_at"], tool_resources=from_json(row["tool_resources"]),
                  metadata=from_json(row["metadata"]))


def insert_statement(db: Database, thread: Thread, owner: str) -> Statement:
    return db.prepare(
        "INSERT INTO threads (id, owner, created_at, tool_resources, metadata) VALUES (?, ?, ?, ?, ?)"
    ).bind(thread.id, owner, thread.created_at, to_json(thread.tool_resources), to_json(thread.metadata))


async def create(db: Database, thread: Thread, owner: str, first: list[Message]) -> None:
    """The thread and its first messages, in one batch (all or nothing)."""
    await db.batch([insert_statement(db, thread, owner), *(messages.insert_statement(db, m) for m in first)])


async def get(db: Database, thread_id: str, owner: str | None) -> Thread | None:
    """The thread, if it exists and the caller may see it."""
    params: list[object] = [thread_id]
    row = await db.prepare(f"SELECT {_COLUMNS} FROM threads WHERE id = ?{owned(owner, params)}").bind(*params).first()
    return _thread(row) if row else None


async def update(db: Database, thread: Thread) -> None:
    await db.prepare("UPDATE threads SET tool_resources = ?, metadata = ? WHERE id = ?").bind(
        to_json(thread.tool_resources), to_json(thread.metadata), thread.id
    ).run()


async def delete(db: Database, thread_id: str) -> None:
    """The thread, its messages, runs and run steps, in one batch. A run still executing finds its
    rows gone: its conditional writes change nothing, and it stops."""
    await db.batch([
        db.prepare(f"DELETE FROM {table} WHERE thread_id = ?").bind(thread_id)
        for table in ("run_steps", "runs", "messages")
    ] + [db.prepare("DELETE FROM threads WHERE id = ?").bind(thread_id)])
