"""``/v1/threads/{thread_id}/messages``: add, list (``run_id`` filter), retrieve, modify and delete
a thread's messages. A thread with an active run takes no new message (a 400, as at OpenAI)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest
from ..pagination import list_object, page
from ..replies import json_response
from ..repositories import messages, runs
from ..runner import run_status
from ..types.assistants import Deleted
from ..types.threads import CreateMessageRequest, Message, ModifyMessageRequest
from ..validation import parse_json
from ._assistants import new_message, not_found, thread_of


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateMessageRequest)
    thread = await thread_of(request)
    message = await new_message(request, body, thread.id)
    await run_status.expire_overdue(ctx, thread.id)
    if not await messages.insert_unless_running(ctx.backends.db, message):
        active = await runs.active_in(ctx.backends.db, thread.id)
        raise InvalidRequest(f"Can't add messages to {thread.id} while a run {active} is active.")
    return json_response(message)


async def list_messages(request: Request) -> Response:
    ctx = context(request)
    thread = await thread_of(request)
    run_id = request.query_params.get("run_id") or None
    found, has_more = await messages.list_page(ctx.backends.db, thread.id, page(request.query_params), run_id)
    return json_response(list_object([m.model_dump() for m in found], has_more))


async def _visible(request: Request) -> Message:
    thread = await thread_of(request)
    message_id: str = request.path_params["message_id"]
    found = await messages.get(context(request).backends.db, thread.id, message_id)
    if found is None:
        raise not_found("message", message_id)
    return found


async def retrieve(request: Request) -> Response:
    return json_response(await _visible(request))


async def modify(request: Request) -> Response:
    body = await parse_json(request, ModifyMessageRequest)
    message = await _visible(request)
    if "metadata" in body.model_fields_set:
        message = message.model_copy(update={"metadata": body.metadata or {}})
        await messages.update_metadata(context(request).backends.db, message)
    return json_response(message)


async def delete(request: Request) -> Response:
    message = await _visible(request)
    await messages.delete(context(request).backends.db, message.thread_id, message.id)
    return json_response(Deleted(id=message.id, object="thread.message.deleted"))
