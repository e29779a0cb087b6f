"""The ``messages`` table: a thread's messages, the client's and the ones runs write.

Ownership is the thread's: callers read the thread (with its owner) first.
"""

from __future__ import annotations

from typing import Any

from ..pagination import Page
from ..ports import Database, Statement
from ..types.runs import ACTIVE
from ..types.threads import Message
from .columns import any_of, from_json, to_json
from .pages import page_of
from .runs import running_guard

_COLUMNS = ("id, created_at, thread_id, status, incomplete_details, completed_at, incomplete_at, role, content, "
            "assistant_id, run_id, attachments, metadata")
_JSON = frozenset({"incomplete_details", "content", "attachments", "metadata"})
_INSERTED = ("id", "thread_id", "created_at", "role", "content", "attachments", "metadata", "status",
             "assistant_id", "run_id", "completed_at")
_ACTIVE = any_of("status", ACTIVE)
CONTEXT_MESSAGES = 500
"""The most recent messages a run reads as its context (truncation keeps what fits of them)."""


def _message(row: dict[str, Any]) -> Message:
    return Message(**{k: from_json(v) if k in _JSON else v for k, v in row.items()})


def _values(message: Message) -> list[object]:
    return [to_json(getattr(message, c)) if c in _JSON else getattr(message, c) for c in _INSERTED]


def insert_statement(db: Database, message: Message) -> Statement:
    marks = ", ".join("?" * len(_INSERTED))
    return db.prepare(f"INSERT INTO messages ({', '.join(_INSERTED)}) VALUES ({marks})").bind(*_values(message))


def insert_for_run_statement(db: Database, message: Message, run_id: str, claim: str | None = None) -> Statement:
    """Insert a run's reply, only while the run is ``in_progress`` (a cancelled run, or a deleted
    thread, gets nothing more) — and, with ``claim``, still that executor's."""
    marks = ", ".join("?" * len(_INSERTED))
    guard, params = running_guard(run_id, claim)
    return db.prepare(
        f"INSERT INTO messages ({', '.join(_INSERTED)}) SELECT {marks} WHERE 1{guard}"
    ).bind(*_values(message), *params)


def insert_unless_running_statement(db: Database, message: Message) -> Statement:
    """Insert a client's message unless a run of its thread is active (one statement: no race with
    a run being created)."""
    marks = ", ".join("?" * len(_INSERTED))
    return db.prepare(
        f"INSERT INTO messages ({', '.join(_INSERTED)}) SELECT {marks}"
        f" WHERE NOT EXISTS (SELECT 1 FROM runs WHERE thread_id = ? AND {_ACTIVE})"
    ).bind(*_values(message), message.thread_id)


async def insert_unless_running(db: Database, message: Message) -> bool:
    """Add a client's message unless a run of its thread is active; whether it was added."""
    return await insert_unless_running_statement(db, message).run() == 1


async def get(db: Database, thread_id: str, message_id: str) -> Message | None:
    row = await db.prepare(f"SELECT {_COLUMNS} FROM messages WHERE id = ? AND thread_id = ?").bind(
        message_id, thread_id
    ).first()
    return _message(row) if row else None


async def get_many(db: Database, message_ids: list[str]) -> dict[str, Message]:
    """The messages with these ids (a run's own replies), by id."""
    if not message_ids:
        return {}
    marks = ", ".join("?" * len(message_ids))
    rows = await db.prepare(f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks})").bind(*message_ids).all()
    return {row["id"]: _message(row) for row in rows}


async def list_page(
    db: Database, thread_id: str, page: Page, run_id: str | None = None
) -> tuple[list[Message], bool]:
    params: list[object] = [thread_id]
    where = "thread_id = ?"
    if run_id is not None:
        where += " AND run_id = ?"
        params.append(run_id)
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM messages", where, params, page)
    return [_message(r) for r in rows], has_more


async def context(db: Database, thread_id: str, exclude_run: str) -> list[Message]:
    """The thread's most recent messages (at most :data:`CONTEXT_MESSAGES`), oldest first, without
    those run ``exclude_run`` wrote (the run's steps place them)."""
    rows = await db.prepare(
        f"SELECT {_COLUMNS} FROM messages WHERE thread_id = ? AND (run_id IS NULL OR run_id != ?)"
        " ORDER BY id DESC LIMIT ?"
    ).bind(thread_id, exclude_run, CONTEXT_MESSAGES).all()
    return [_message(r) for r in reversed(rows)]


async def update_metadata(db: Database, message: Message) -> None:
    await db.prepare("UPDATE messages SET metadata = ? WHERE id = ?").bind(to_json(message.metadata), message.id).run()


async def delete(db: Database, thread_id: str, message_id: str) -> bool:
    changed = await db.prepare("DELETE FROM messages WHERE id = ? AND thread_id = ?").bind(
        message_id, thread_id
    ).run()
    return changed == 1


def finish_statement(db: Database, message: Message, running: str | None = None, claim: str | None = None) -> Statement:
    """Write a run's reply whole (its content and final status) while it is ``in_progress``; with
    ``running`` (the run's id), only while that run is ``in_progress`` too (and, with ``claim``, still
    that executor's)."""
    guard, params = running_guard(running, claim) if running else ("", [])
    return db.prepare(
        "UPDATE messages SET content = ?, status = ?, completed_at = ?, incomplete_at = ?, incomplete_details = ?"
        f" WHERE id = ? AND status = 'in_progress'{guard}"
    ).bind(to_json(message.content), message.status, message.completed_at, message.incomplete_at,
           to_json(message.incomplete_details), message.id, *params)


def close_statement(db: Database, run_id: str, reason: str, now: int) -> Statement:
    """Mark a run's unfinished reply ``incomplete`` (``run_cancelled``, ``run_failed``, ``run_expired``)."""
    return db.prepare(
        "UPDATE messages SET status = 'incomplete', incomplete_at = ?, incomplete_details = ?"
        " WHERE run_id = ? AND status = 'in_progress'"
    ).bind(now, to_json({"reason": reason}), run_id)


def delete_unfinished_of_run_statement(db: Database, run_id: str) -> Statement:
    """Delete every reply of the run still ``in_progress`` (a dead executor's: its run is taken over)."""
    return db.prepare("DELETE FROM messages WHERE run_id = ? AND status = 'in_progress'").bind(run_id)


def delete_unfinished_statement(db: Database, message_id: str) -> Statement:
    """Delete a run's reply still ``in_progress`` (a streamed run handed to the background starts over)."""
    return db.prepare("DELETE FROM messages WHERE id = ? AND status = 'in_progress'").bind(message_id)
