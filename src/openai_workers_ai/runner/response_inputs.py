"""What a response reads before the model runs: its history and its input, resolved.

- history: the stored items of the ``previous_response_id`` chain (one D1 query however deep,
  :func:`~..repositories.responses.chain_items`) or of the ``conversation`` (one query);
- input: ``item_reference`` s looked up among the caller's stored items; ``input_image`` /
  ``input_file`` parts given by ``file_id`` read from Files; ``input_file`` data read as text (or as
  an image when it is one).

Resolved items are what the model sees; the stored items keep what the client sent.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..context import AppContext
from ..errors import APIError, InvalidRequest, NotFound
from ..media_types import IMAGE_TYPES, image_type
from ..repositories import conversations, files, items, responses
from ..translate.responses import check_id, text_of_file
from ..types.responses import Item


@dataclass(slots=True)
class History:
    """The items before the new input, and the param that names them in errors."""

    items: list[Item]
    where: str


def _previous_not_found(previous_response_id: str) -> InvalidRequest:
    """An unknown (or another key's) previous response: a 400, as OpenAI's (recorded 2026-09-17: HTTP 400, code
    previous_response_not_found)."""
    return InvalidRequest(f"Previous response with id '{previous_response_id}' not found.",
                          param="previous_response_id", code="previous_response_not_found")


async def history(ctx: AppContext, previous_response_id: str | None, conversation_id: str | None,
                  owner: str | None) -> History:
    """The stored items a response continues from (an unknown or other key's id: a 400 for a previous response,
    as OpenAI's, a 404 for a conversation)."""
    db = ctx.backends.db
    if previous_response_id is not None and conversation_id is not None:
        raise InvalidRequest("'previous_response_id' and 'conversation' cannot be used together.",
                             param="previous_response_id")
    if previous_response_id is not None:
        check_id(previous_response_id, "previous_response_id")
        row = await responses.get(db, previous_response_id, owner)
        if row is None:
            raise _previous_not_found(previous_response_id)
        row = await responses.current(ctx.backends, ctx.settings, row, ctx.now())  # past its deadline: failed first, then continued
        if row.status in responses.ACTIVE:
            raise InvalidRequest(f"Previous response with id '{previous_response_id}' is still {row.status}; "
                                 "wait for it to finish.", param="previous_response_id")
        try:
            chained = await responses.chain_items(ctx.backends, previous_response_id, None)
        except items.MissingContent:  # an item's R2 object is gone: deleted meanwhile, or lost
            if await responses.get(db, previous_response_id, owner) is None:
                raise _previous_not_found(previous_response_id) from None
            raise APIError("An item of the previous response's chain could not be read (its stored content is "
                           "missing). Retry; if it persists, start a new chain.", param="previous_response_id",
                           code="server_error") from None
        return History(chained, "previous_response_id")
    if conversation_id is not None:
        if await conversations.get(db, conversation_id, owner) is None:
            # OpenAI's 404 names neither param nor code (observed 2026-08-30, gpt-5.6-terra, a public repository's
            # tests: {status: 404, param: null, code: null, message: "Conversation with id 'conv_…' not found."})
            raise NotFound(f"Conversation with id '{conversation_id}' not found.")
        return History(await items.all_of(ctx.backends, conversation_id, ["item"]), "conversation")
    return History([], "input")


async def references(ctx: AppContext, new: list[Item], owner: str | None) -> list[Item]:
    """``new`` with each ``item_reference`` replaced by the stored item it names (a 404 if none)."""
    wanted = [item["id"] for item in new if item.get("type") == "item_reference"]
    if not wanted:
        return new
    found = await items.find(ctx.backends, owner, wanted)
    if len(found) < len(set(wanted)):  # the rest may be items kept in their responses' rows
        found.update(await responses.items_kept(ctx.backends.db, owner, [i for i in wanted if i not in found]))
    out: list[Item] = []
    for i, item in enumerate(new):
        if item.get("type") != "item_reference":
            out.append(item)
        elif item["id"] in found:
            out.append(found[item["id"]])
        else:
            raise NotFound(f"Item with id '{item['id']}' not found.", param=f"input[{i}].id")
    return out


def reads_files(item: Item) -> bool:
    """Whether :func:`resolve` has files to read for ``item`` (else the model reads it as it is)."""
    return item.get("type") == "message" and any(
        p.get("type") == "input_file" or p.get("file_id") for p in item["content"])


async def resolve(ctx: AppContext, item: Item, where: str, owner: str | None) -> Item:
    """``item`` as the model reads it: file parts read (images as data URLs, text files as text)."""
    if not reads_files(item):
        return item
    parts: list[Item] = []
    for k, part in enumerate(item["content"]):
        part_where = f"{where}.content[{k}]"
        if part.get("type") == "input_image" and not part.get("image_url"):
            data, _, media_type = await _file(ctx, part["file_id"], f"{part_where}.file_id", owner)
            parts.append({**part, "image_url": _data_url(data, media_type, f"{part_where}.file_id")})
        elif part.get("type") == "input_file":
            parts.append(await _file_part(ctx, part, part_where, owner))
        else:
            parts.append(part)
    return {**item, "content": parts}


async def _file_part(ctx: AppContext, part: Item, where: str, owner: str | None) -> Item:
    if "file_data" in part:
        data, media_type = _decode(part["file_data"], f"{where}.file_data")
        filename = part.get("filename") or "file"
    else:
        data, filename, media_type = await _file(ctx, part["file_id"], f"{where}.file_id", owner)
    sniffed = image_type(data[:64])
    if sniffed is not None or media_type in IMAGE_TYPES:
        return {"type": "input_image", "image_url": _data_url(data, sniffed or media_type, where), "detail": "auto"}
    return {"type": "input_text", "text": text_of_file(data, filename, where)}


def _decode(value: str, where: str) -> tuple[bytes, str]:
    """``file_data``: a ``data:`` URL or bare base64 → (bytes, media type)."""
    media_type = ""
    if value.startswith("data:"):
        head, _, value = value.partition(",")
        media_type = head[5:].partition(";")[0].lower()
    try:
        return base64.b64decode(value, validate=True), media_type
    except (binascii.Error, ValueError):
        raise InvalidRequest("Invalid base64 file data.", param=where, code="invalid_file_data") from None


async def _file(ctx: AppContext, file_id: str, where: str, owner: str | None) -> tuple[bytes, str, str]:
    """(bytes, filename, media type) of an uploaded file the caller may read."""
    row = await files.get(ctx.backends.db, file_id, owner, ctx.now())
    stored = None if row is None else await ctx.backends.bucket.get(row.object_key)
    if row is None or stored is None or stored.body is None:
        raise NotFound(f"No such File object: {file_id}", param=where)
    if row.bytes > ctx.settings.max_image_bytes * 4:
        raise InvalidRequest(f"The file {file_id} is too large to give a model ({row.bytes} bytes).", param=where)
    data = b"".join([chunk async for chunk in stored.body])
    return data, row.filename, row.content_type.partition(";")[0].lower()


def _data_url(data: bytes, media_type: str, where: str) -> str:
    kind = image_type(data[:64]) or media_type
    if kind not in IMAGE_TYPES:
        raise InvalidRequest("The file is not a supported image (png, jpeg, gif, webp).", param=where,
                             code="invalid_image_format")
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"
