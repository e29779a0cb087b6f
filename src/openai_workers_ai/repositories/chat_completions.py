"""The ``chat_completions`` table (``migrations/0011_chat_completions.sql``): chat completions stored with
``store: true``.

A row is a completion's owner, model, metadata and time, what lists filter and order on. The completion
object (role :data:`COMPLETION`) and the request's messages (role :data:`MESSAGE`, in order) are items of the
completion (:mod:`.items`, container: the completion's id): each in its row, or in R2 when larger than
:data:`~.items.INLINE_MAX` (an image sent as a data URL), written and deleted as every item is. Ownership is a
filter here, as for responses: ``owner`` None (an admin key) reads every key's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json import dumps, loads
from typing import Any

from ..pagination import Page
from ..ports import Backends, Database, Statement
from . import items
from .pages import SortKey, page_of

COMPLETION, MESSAGE = "completion", "message"
"""The roles of a stored completion's items: the ``chat.completion`` object, and each request message."""

_COLUMNS = "id, owner, model, metadata, created_at"
_WITH_COMPLETION = (
    f"SELECT {_COLUMNS},"
    f" (SELECT data FROM items WHERE container = chat_completions.id AND role = '{COMPLETION}'"
    " AND status = 'ready') AS data,"
    f" (SELECT object_key FROM items WHERE container = chat_completions.id AND role = '{COMPLETION}'"
    " AND status = 'ready') AS object_key"
    " FROM chat_completions"
)
"""A page's rows with their completion's item (its JSON, or its R2 key): one query for the page."""
_CREATED = SortKey("created_at", "SELECT created_at FROM chat_completions WHERE id = ?", noun="chat completion")
"""Lists are in ``created`` order (OpenAI's ``order`` is by timestamp; the ids are random), then by id."""


def _created(owner: str | None) -> SortKey:
    """The list's order, its cursors read among ``owner``'s completions (every key's for an admin): another
    key's id is as unknown as any (a 400), not a place in the caller's list that tells when it was made."""
    if owner is None:
        return _CREATED
    return SortKey("created_at", "SELECT created_at FROM chat_completions WHERE owner = ? AND id = ?", (owner,),
                   "chat completion")
METADATA_MATCHES = "EXISTS (SELECT 1 FROM json_each(metadata) WHERE key = ? AND value = ?)"
"""A list's ``metadata[key]=value`` filter: one completion's metadata (16 pairs at most) is read for it."""


@dataclass(frozen=True, slots=True)
class ChatCompletionRow:
    id: str
    owner: str
    model: str
    metadata: dict[str, str]
    created_at: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ChatCompletionRow:
        return cls(row["id"], row["owner"], row["model"], loads(row["metadata"]), row["created_at"])


def _insert(db: Database, row: ChatCompletionRow) -> Statement:
    return db.prepare(f"INSERT INTO chat_completions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)").bind(
        row.id, row.owner, row.model, dumps(row.metadata, ensure_ascii=False), row.created_at)


async def store(
    backends: Backends, row: ChatCompletionRow, completion: dict[str, Any], messages: Sequence[dict[str, Any]],
    now: int,
) -> None:
    """Store the completion object and the request's messages (each with its ``id``): all or nothing."""
    new = [items.NewItem(row.id, COMPLETION, completion), *(items.NewItem(row.id, MESSAGE, m) for m in messages)]
    await items.write(backends, row.owner, new, now, before=[_insert(backends.db, row)])


async def get(db: Database, completion_id: str, owner: str | None) -> ChatCompletionRow | None:
    """The stored completion's row (the caller's, unless admin), or None."""
    owned = "" if owner is None else " AND owner = ?"
    row = await db.prepare(f"SELECT {_COLUMNS} FROM chat_completions WHERE id = ?{owned}").bind(
        completion_id, *([] if owner is None else [owner])).first()
    return None if row is None else ChatCompletionRow.from_row(row)


def _shown(completion: dict[str, Any], metadata: dict[str, str]) -> dict[str, Any]:
    """The stored ``chat.completion`` with its metadata as it stands now."""
    return {**completion, "metadata": metadata}


async def completion_of(backends: Backends, row: ChatCompletionRow) -> dict[str, Any] | None:
    """The stored ``chat.completion`` object (None if its content is gone: deleted since the row was read)."""
    found = await items.all_of(backends, row.id, [COMPLETION])
    return _shown(found[0], row.metadata) if found else None


async def list_page(
    backends: Backends, owner: str | None, page: Page, *, model: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of stored ``chat.completion`` objects (the caller's, unless admin), of ``model`` and with every
    pair of ``metadata`` when given; ``after`` / ``before`` name completions by id, and one that names none of
    the caller's (unknown, deleted, another key's) is a 400 naming it, as the other lists' cursors are."""
    params: list[object] = []
    conditions = ["1"] if owner is None else ["owner = ?"]
    if owner is not None:
        params.append(owner)
    if model is not None:
        conditions.append("model = ?")
        params.append(model)
    for key, value in (metadata or {}).items():
        conditions.append(METADATA_MATCHES)
        params += [key, value]
    rows, has_more = await page_of(backends.db, _WITH_COMPLETION, " AND ".join(conditions), params, page,
                                    _created(owner))
    out = []
    for row in rows:
        loaded = await items.load(backends.bucket, [row])
        if loaded:  # else deleted since the page was read
            out.append(_shown(loaded[0], loads(row["metadata"])))
    return out, has_more


async def update_metadata(db: Database, completion_id: str, metadata: dict[str, str]) -> None:
    await db.prepare("UPDATE chat_completions SET metadata = ? WHERE id = ?").bind(
        dumps(metadata, ensure_ascii=False), completion_id).run()


async def messages_page(backends: Backends, completion_id: str, page: Page) -> tuple[list[dict[str, Any]], bool]:
    """One page of the completion's request messages; ``after`` / ``before`` name messages by id."""
    return await items.page_in(backends, completion_id, MESSAGE, page)


async def delete(backends: Backends, completion_id: str, now: int) -> None:
    """Delete the stored completion, its messages, and their R2 objects."""
    db = backends.db
    await items.delete_container(backends, completion_id, now,
                                 db.prepare("DELETE FROM chat_completions WHERE id = ?").bind(completion_id))
