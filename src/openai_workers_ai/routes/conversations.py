"""``/v1/conversations``: create, retrieve, update (metadata) and delete conversations; list, add,
retrieve and delete their items. A response created with ``conversation`` reads its items and
appends its input and output to it (:mod:`openai_workers_ai.runner.responses`)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context, owner, principal
from ..errors import InvalidRequest, NotFound
from ..pagination import HAS_MORE_BETWEEN, list_object, page
from ..ports import Database
from ..replies import json_response
from ..repositories import conversations, items
from ..repositories.conversations import ConversationRow
from ..translate.file_search import shown
from ..translate.responses import item_of, object_id
from ..types.conversations import CreateConversationBody, CreateItemsBody, UpdateConversationBody, conversation_object
from ..types.responses import INCLUDABLE
from ..validation import includes, parse_json

CONVERSATION_ID = re.compile(r"^conv_[0-9a-f]{48}$")


def _object(row: ConversationRow) -> dict[str, Any]:
    return conversation_object(row.id, row.created_at, row.metadata)


def _new_items(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    new = [item_of(item, f"items[{i}]") for i, item in enumerate(raw)]
    for i, item in enumerate(new):
        if item["type"] == "item_reference":
            raise InvalidRequest("Item references cannot be added to a conversation; send the item itself.",
                                 param=f"items[{i}]")
    ids = [item["id"] for item in new]
    for i, item_id in enumerate(ids):
        if item_id in ids[:i]:
            raise InvalidRequest(f"Duplicate item id '{item_id}'.", param=f"items[{i}].id")
    return new


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateConversationBody)
    new = _new_items(body.items or [])
    row = ConversationRow(object_id("conv_"), principal(request).key_hash, body.metadata or {}, ctx.now())
    db = ctx.backends.db
    staged = await items.stage(ctx.backends, row.owner, conversations.in_conversation(row.id, new), row.created_at)
    await db.batch([conversations.insert(db, row), *staged])
    return json_response(_object(row))


async def _row(request: Request) -> ConversationRow:
    conversation_id: str = request.path_params["conversation_id"]
    row = None
    if CONVERSATION_ID.match(conversation_id):
        row = await conversations.get(context(request).backends.db, conversation_id, owner(request))
    if row is None:
        raise NotFound(f"Conversation with id '{conversation_id}' not found.", param="conversation_id")
    return row


async def retrieve(request: Request) -> Response:
    return json_response(_object(await _row(request)))


async def update(request: Request) -> Response:
    row = await _row(request)
    body = await parse_json(request, UpdateConversationBody)
    metadata = body.metadata or {}
    await conversations.update_metadata(context(request).backends.db, row.id, metadata)
    return json_response(conversation_object(row.id, row.created_at, metadata))


async def delete(request: Request) -> Response:
    ctx = context(request)
    row = await _row(request)
    await conversations.delete(ctx.backends, row.id, ctx.now())
    return json_response({"id": row.id, "object": "conversation.deleted", "deleted": True})


async def list_items(request: Request) -> Response:
    include = includes(request, INCLUDABLE)
    ctx = context(request)
    row = await _row(request)
    data, has_more = await items.page_in(ctx.backends, row.id, "item", page(request.query_params))
    return json_response(list_object(shown(data, include), has_more, tail=HAS_MORE_BETWEEN))


async def create_items(request: Request) -> Response:
    include = includes(request, INCLUDABLE)
    ctx = context(request)
    row = await _row(request)
    body = await parse_json(request, CreateItemsBody)
    new = _new_items(body.items)
    ids = [item["id"] for item in new]
    await _not_taken(ctx.backends.db, row.id, ids)
    try:
        await items.write(ctx.backends, row.owner, conversations.in_conversation(row.id, new), ctx.now())
    except items.ItemIdTaken:  # added by a concurrent request since the check: this one wrote nothing
        await _not_taken(ctx.backends.db, row.id, ids)
        raise InvalidRequest("The conversation already has an item with one of these ids.", param="items") from None
    return json_response(list_object(shown(new, include), False, tail=HAS_MORE_BETWEEN))


async def _not_taken(db: Database, conversation_id: str, ids: list[str]) -> None:
    """A 400 if the conversation already holds one of ``ids``."""
    taken = await conversations.item_ids(db, conversation_id, ids)
    if taken:
        raise InvalidRequest(f"The conversation already has an item with id '{sorted(taken)[0]}'.", param="items")


async def _item(request: Request) -> tuple[ConversationRow, str, dict[str, Any]]:
    row = await _row(request)
    item_id: str = request.path_params["item_id"]
    found = await items.get(context(request).backends, row.id, item_id)
    if found is None:
        raise NotFound(f"Item with id '{item_id}' not found in conversation '{row.id}'.", param="item_id")
    return row, found[0], found[1]


async def retrieve_item(request: Request) -> Response:
    include = includes(request, INCLUDABLE)
    _, _, item = await _item(request)
    return json_response(shown(item, include))


async def delete_item(request: Request) -> Response:
    ctx = context(request)
    row, key, _ = await _item(request)
    await items.delete_one(ctx.backends, key, await items.object_key_of(ctx.backends.db, key), ctx.now())
    return json_response(_object(row))
