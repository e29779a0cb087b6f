"""``/v1/threads``: create (with its first messages), retrieve, modify and delete a thread.

A thread belongs to the key that created it (admin keys see all; another key gets 404). Deleting it
deletes its messages, runs and run steps with it, in one D1 batch.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import context, principal
from ..ids import new_sortable_id
from ..replies import json_response
from ..repositories import threads
from ..types.assistants import Deleted
from ..types.threads import CreateThreadRequest, ModifyThreadRequest, Thread
from ..validation import parse_json, parse_optional_json
from ._assistants import checked_resources, new_message, now_ms, thread_of


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_optional_json(request, CreateThreadRequest)
    ms = now_ms(ctx)
    thread = Thread(id=new_sortable_id("thread_", ms), created_at=ms // 1000, tool_resources={},
                    metadata=body.metadata or {})
    first = [await new_message(request, m, thread.id, f"messages[{i}].") for i, m in enumerate(body.messages or ())]
    # last: it may create a vector store
    resources = await checked_resources(request, body.tool_resources, thread=True)
    thread = thread.model_copy(update={"tool_resources": resources})
    await threads.create(ctx.backends.db, thread, principal(request).key_hash, first)
    return json_response(thread)


async def retrieve(request: Request) -> Response:
    return json_response(await thread_of(request))


async def modify(request: Request) -> Response:
    body = await parse_json(request, ModifyThreadRequest)
    thread = await thread_of(request)
    if "tool_resources" in body.model_fields_set:
        resources = await checked_resources(request, body.tool_resources, thread=True)
        thread = thread.model_copy(update={"tool_resources": resources})
    if "metadata" in body.model_fields_set:
        thread = thread.model_copy(update={"metadata": body.metadata or {}})
    await threads.update(context(request).backends.db, thread)
    return json_response(thread)


async def delete(request: Request) -> Response:
    thread = await thread_of(request)
    await threads.delete(context(request).backends.db, thread.id)
    return json_response(Deleted(id=thread.id, object="thread.deleted"))
