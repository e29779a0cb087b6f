"""The ``assistants`` table (``migrations/0003_assistants.sql``): every SQL statement of ``/v1/assistants``.

Reads take ``owner``, the caller's key hash, or None for an admin key (sees every row).
"""

from __future__ import annotations

from typing import Any

from ..pagination import Page
from ..ports import Database
from ..types.assistants import Assistant
from .columns import from_json, owned, to_json, update_where
from .pages import page_of

_COLUMNS = ("id, created_at, model, name, description, instructions, tools, tool_resources, metadata, temperature, "
            "top_p, response_format, reasoning_effort")
_MUTABLE = ("model", "name", "description", "instructions", "tools", "tool_resources", "metadata", "temperature",
            "top_p", "response_format", "reasoning_effort")
_JSON = frozenset({"tools", "tool_resources", "metadata", "response_format"})


def _assistant(row: dict[str, Any]) -> Assistant:
    return Assistant(**{k: from_json(v) if k in _JSON else v for k, v in row.items()})


def _values(assistant: Assistant) -> list[object]:
    return [to_json(getattr(assistant, c)) if c in _JSON else getattr(assistant, c) for c in _MUTABLE]


async def insert(db: Database, assistant: Assistant, owner: str) -> None:
    marks = ", ".join("?" * (len(_MUTABLE) + 3))
    await db.prepare(
        f"INSERT INTO assistants (id, owner, created_at, {', '.join(_MUTABLE)}) VALUES ({marks})"
    ).bind(assistant.id, owner, assistant.created_at, *_values(assistant)).run()


async def get(db: Database, assistant_id: str, owner: str | None) -> Assistant | None:
    """The assistant, if it exists and the caller may see it."""
    params: list[object] = [assistant_id]
    row = await db.prepare(
        f"SELECT {_COLUMNS} FROM assistants WHERE id = ?{owned(owner, params)}"
    ).bind(*params).first()
    return _assistant(row) if row else None


async def list_page(db: Database, owner: str | None, page: Page) -> tuple[list[Assistant], bool]:
    params: list[object] = []
    where = "1 = 1" + owned(owner, params)
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM assistants", where, params, page)
    return [_assistant(r) for r in rows], has_more


async def update(db: Database, assistant: Assistant) -> None:
    """Write every mutable field of ``assistant``."""
    await update_where(db, "assistants", dict(zip(_MUTABLE, _values(assistant), strict=True)), "id = ?",
                       [assistant.id])


async def delete(db: Database, assistant_id: str, owner: str | None) -> bool:
    """Delete the assistant (its threads and runs stay, as at OpenAI); whether there was one to delete."""
    params: list[object] = [assistant_id]
    changed = await db.prepare(f"DELETE FROM assistants WHERE id = ?{owned(owner, params)}").bind(*params).run()
    return changed == 1
