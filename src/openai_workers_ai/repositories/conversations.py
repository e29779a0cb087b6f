"""The ``conversations`` table (``migrations/0002_responses.sql``); their items are in ``items``
(:mod:`.items`, role ``item``). Ownership is a filter here, as for responses."""

from __future__ import annotations

from dataclasses import dataclass
from json import dumps, loads
from typing import Any

from ..ports import Backends, Database, Statement
from . import items

_COLUMNS = "id, owner, metadata, created_at"


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    owner: str
    metadata: dict[str, str]
    created_at: int


def insert(db: Database, row: ConversationRow) -> Statement:
    return db.prepare(f"INSERT INTO conversations ({_COLUMNS}) VALUES (?, ?, ?, ?)").bind(
        row.id, row.owner, dumps(row.metadata, ensure_ascii=False), row.created_at)


async def get(db: Database, conversation_id: str, owner: str | None) -> ConversationRow | None:
    """The conversation (the caller's, unless admin), or None."""
    owned = "" if owner is None else " AND owner = ?"
    row = await db.prepare(f"SELECT {_COLUMNS} FROM conversations WHERE id = ?{owned}").bind(
        conversation_id, *([] if owner is None else [owner])).first()
    if row is None:
        return None
    return ConversationRow(row["id"], row["owner"], loads(row["metadata"]), row["created_at"])


async def update_metadata(db: Database, conversation_id: str, metadata: dict[str, str]) -> None:
    await db.prepare("UPDATE conversations SET metadata = ? WHERE id = ?").bind(
        dumps(metadata, ensure_ascii=False), conversation_id).run()


async def delete(backends: Backends, conversation_id: str, now: int) -> None:
    """Delete the conversation and its items (R2 objects after the rows)."""
    await items.delete_container(backends, conversation_id, now,
                                 backends.db.prepare("DELETE FROM conversations WHERE id = ?").bind(conversation_id))


async def item_ids(db: Database, conversation_id: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` the conversation already holds."""
    found: set[str] = set()
    for start in range(0, len(ids), 90):
        chunk = ids[start:start + 90]
        rows = await db.prepare(
            f"SELECT item_id FROM items WHERE {items.IN_CONVERSATION} IN ({', '.join('?' * len(chunk))})"
        ).bind(conversation_id, *chunk).all()
        found.update(row["item_id"] for row in rows)
    return found


def in_conversation(conversation_id: str, new: list[dict[str, Any]]) -> list[items.NewItem]:
    """``new`` items as items of the conversation."""
    return [items.NewItem(conversation_id, "item", item) for item in new]
