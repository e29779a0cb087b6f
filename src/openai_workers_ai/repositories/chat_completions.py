"""The ``chat_completions`` table (``migrations/0011_chat_completions.sql``): chat completions stored with
``store: true``.

A row is a completion's owner, model, metadata and time, what lists filter and order on. It keeps the completion
object (``completion``) and the request's messages (``messages``: a JSON array, in order, each with its ``id``) when
they are small (:func:`keeps`; ``migrations/0024_chat_completion_in_row.sql``): a stored completion is then its row
alone, one INSERT. Otherwise (a message over 64 KiB, as an image sent as a data URL makes one; or the messages over
:data:`MESSAGES_MAX` together), and for every completion stored before 0024, they are
items of the completion (:mod:`.items`, container: the completion's id; roles :data:`COMPLETION` and
:data:`MESSAGE`): each in its row, or in R2 when larger than :data:`~.items.INLINE_MAX`, written and deleted as
every item is. Readers take the row's column when it is set, the items otherwise. Ownership is a filter here, as
for responses: ``owner`` None (an admin key) reads every key's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json import dumps, loads
from typing import Any

from ..pagination import Page
from ..ports import Backends, Database
from ..replies import json_bytes
from . import items
from .pages import SortKey, page_of

COMPLETION, MESSAGE = "completion", "message"
"""The roles of a stored completion's items: the ``chat.completion`` object, and each request message."""

MESSAGES_MAX = 16 * items.INLINE_MAX
"""Most bytes of JSON of the request's messages a row keeps together (1 MiB; each one at most
:data:`~.items.INLINE_MAX`): half a D1 row (2 MB), so that the row with its completion (at most
:data:`~.items.INLINE_MAX` too) and its metadata stays well under it. 16 messages at the largest an item keeps
in its row, or a long conversation's text; past it the messages are items, as before."""

_COLUMNS = "id, owner, model, metadata, created_at"
_SELECT = f"SELECT {_COLUMNS}, completion, messages IS NOT NULL AS messages_kept FROM chat_completions"
"""A completion's row: the completion object it keeps, and whether it keeps the messages (not them: only their list
reads them)."""
_WITH_COMPLETION = (
    f"SELECT {_COLUMNS},"
    " COALESCE(completion, (SELECT data FROM items WHERE container = chat_completions.id"
    f" AND role = '{COMPLETION}' AND status = 'ready')) AS data,"
    " CASE WHEN completion IS NULL THEN (SELECT object_key FROM items WHERE container = chat_completions.id"
    f" AND role = '{COMPLETION}' AND status = 'ready') END AS object_key"
    " FROM chat_completions"
)
"""A page's rows with their completion: the one the row keeps, else its item's (its JSON, or its R2 key), read
only then; one query for the page."""
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
    completion: str | None = None
    """The JSON of the completion object when the row keeps it (None: it is an item)."""
    messages_kept: bool = False
    """Whether the row keeps the request's messages (else they are items)."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ChatCompletionRow:
        return cls(row["id"], row["owner"], row["model"], loads(row["metadata"]), row["created_at"],
                   row["completion"], bool(row["messages_kept"]))


def keeps(encoded: Sequence[bytes]) -> bool:
    """Whether the row keeps these JSON values (the completion object; the messages): each at most
    :data:`~.items.INLINE_MAX` bytes, as an item kept in its row, and :data:`MESSAGES_MAX` together."""
    return all(len(value) <= items.INLINE_MAX for value in encoded) and sum(map(len, encoded)) <= MESSAGES_MAX


async def store(
    backends: Backends, row: ChatCompletionRow, completion: dict[str, Any], messages: Sequence[dict[str, Any]],
    now: int,
) -> None:
    """Store the completion object and the request's messages (each with its ``id``): all or nothing. The row
    keeps those it :func:`keeps`; the others are items. Both kept, it is one INSERT."""
    completion_json, encoded = json_bytes(completion), [json_bytes(message) for message in messages]
    new: list[items.NewItem] = []
    kept_completion = kept_messages = None
    if keeps([completion_json]):
        kept_completion = completion_json.decode()
    else:
        new.append(items.NewItem(row.id, COMPLETION, completion, completion_json))
    if keeps(encoded):
        kept_messages = (b"[" + b",".join(encoded) + b"]").decode()
    else:
        new += [items.NewItem(row.id, MESSAGE, message, message_json)
                for message, message_json in zip(messages, encoded, strict=True)]
    insert = backends.db.prepare(
        f"INSERT INTO chat_completions ({_COLUMNS}, completion, messages) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ).bind(row.id, row.owner, row.model, dumps(row.metadata, ensure_ascii=False), row.created_at, kept_completion,
           kept_messages)
    await items.write(backends, row.owner, new, now, before=[insert])


async def get(db: Database, completion_id: str, owner: str | None) -> ChatCompletionRow | None:
    """The stored completion's row (the caller's, unless admin), or None."""
    owned = "" if owner is None else " AND owner = ?"
    row = await db.prepare(f"{_SELECT} WHERE id = ?{owned}").bind(
        completion_id, *([] if owner is None else [owner])).first()
    return None if row is None else ChatCompletionRow.from_row(row)


def _shown(completion: dict[str, Any], metadata: dict[str, str]) -> dict[str, Any]:
    """The stored ``chat.completion`` with its metadata as it stands now."""
    return {**completion, "metadata": metadata}


async def completion_of(backends: Backends, row: ChatCompletionRow) -> dict[str, Any] | None:
    """The stored ``chat.completion`` object: the one its row keeps, or its item (None if that is gone: deleted
    since the row was read)."""
    if row.completion is not None:
        return _shown(loads(row.completion), row.metadata)
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


async def messages_page(backends: Backends, row: ChatCompletionRow, page: Page) -> tuple[list[dict[str, Any]], bool]:
    """One page of the completion's request messages (those its row keeps, or its items); ``after`` / ``before``
    name messages by id."""
    if not row.messages_kept:
        return await items.page_in(backends, row.id, MESSAGE, page)
    found = await backends.db.prepare("SELECT messages FROM chat_completions WHERE id = ?").bind(row.id).first()
    return _kept_page([] if found is None else loads(found["messages"]), page)  # (none: deleted since)


def _kept_page(kept: list[dict[str, Any]], page: Page) -> tuple[list[dict[str, Any]], bool]:
    """One page of a list kept whole, as :func:`.items.page_in` pages items: ``after`` / ``before`` name its
    members by ``id`` (one that names none is :func:`.items.not_in_list`'s 400, ``after`` checked first), the page
    is in ``order``, and a page ``before`` a cursor alone is the ``limit`` members nearest to it."""
    places: dict[str, int] = {}
    for cursor, item_id in (("after", page.after), ("before", page.before)):
        if item_id is not None:
            place = next((i for i, item in enumerate(kept) if item["id"] == item_id), None)
            if place is None:
                raise items.not_in_list(cursor, item_id)
            places[cursor] = place
    ascending = page.order == "asc"
    after, before = places.get("after"), places.get("before")
    low, high = (after, before) if ascending else (before, after)  # the places the page is between (left out)
    window = kept[0 if low is None else low + 1:len(kept) if high is None else high]
    if not ascending:
        window.reverse()
    more = len(window) > page.limit
    return (window[-page.limit:] if page.before is not None and page.after is None else window[:page.limit]), more


async def delete(backends: Backends, row: ChatCompletionRow, now: int) -> None:
    """Delete the stored completion, with its messages and their R2 objects when they are items (what its row
    keeps goes with it)."""
    db = backends.db
    deleted = db.prepare("DELETE FROM chat_completions WHERE id = ?").bind(row.id)
    if row.completion is not None and row.messages_kept:
        await deleted.run()
        return
    await items.delete_container(backends, row.id, now, deleted)
