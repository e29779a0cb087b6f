"""``/v1/assistants``: create, list, retrieve, modify and delete assistants (D1 rows).

An assistant belongs to the key that created it (admin keys see all); deleting it leaves its
threads and runs, as OpenAI does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context, owner, principal
from ..ids import new_sortable_id
from ..pagination import list_object, page
from ..replies import json_response
from ..repositories import assistants
from ..types.assistants import (
    Assistant,
    CreateAssistantRequest,
    Deleted,
    ModifyAssistantRequest,
    response_format_json,
)
from ..validation import parse_json
from ._assistants import check_on_model, checked_model, checked_resources, checked_tools, not_found, now_ms


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateAssistantRequest, task="text-generation")
    model = checked_model(ctx, body.model)
    tools = checked_tools(body.tools)
    response_format = response_format_json(body.response_format)
    check_on_model(model, tools, None, response_format, body.reasoning_effort)
    resources = await checked_resources(request, body.tool_resources)  # last: it may create a vector store
    ms = now_ms(ctx)
    assistant = Assistant(
        id=new_sortable_id("asst_", ms), created_at=ms // 1000, name=body.name, description=body.description,
        model=body.model, instructions=body.instructions, tools=tools,
        tool_resources=resources, metadata=body.metadata or {},
        temperature=body.temperature, top_p=body.top_p, response_format=response_format,
        reasoning_effort=body.reasoning_effort,
    )
    await assistants.insert(ctx.backends.db, assistant, principal(request).key_hash)
    return json_response(assistant)


async def list_assistants(request: Request) -> Response:
    ctx = context(request)
    found, has_more = await assistants.list_page(ctx.backends.db, owner(request), page(request.query_params))
    return json_response(list_object([a.model_dump() for a in found], has_more))


async def _visible(request: Request) -> Assistant:
    assistant_id: str = request.path_params["assistant_id"]
    found = await assistants.get(context(request).backends.db, assistant_id, owner(request))
    if found is None:
        raise not_found("assistant", assistant_id)
    return found


async def retrieve(request: Request) -> Response:
    return json_response(await _visible(request))


async def modify(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, ModifyAssistantRequest, task="text-generation")
    assistant = await _visible(request)
    sent = body.model_fields_set
    changes: dict[str, Any] = {
        name: getattr(body, name) for name in ("name", "description", "instructions", "temperature", "top_p",
                                               "reasoning_effort") if name in sent
    }
    if "model" in sent and body.model is not None:
        changes["model"] = body.model
    if "tools" in sent:
        changes["tools"] = checked_tools(body.tools or [])
    if "metadata" in sent:
        changes["metadata"] = body.metadata or {}
    if "response_format" in sent:
        changes["response_format"] = response_format_json(body.response_format)
    assistant = assistant.model_copy(update=changes)
    model = checked_model(ctx, assistant.model)
    check_on_model(model, assistant.tools, None, assistant.response_format, assistant.reasoning_effort)
    if "tool_resources" in sent:  # last: it may create a vector store
        assistant = assistant.model_copy(update={
            "tool_resources": await checked_resources(request, body.tool_resources)})
    await assistants.update(ctx.backends.db, assistant)
    return json_response(assistant)


async def delete(request: Request) -> Response:
    assistant_id: str = request.path_params["assistant_id"]
    if not await assistants.delete(context(request).backends.db, assistant_id, owner(request)):
        raise not_found("assistant", assistant_id)
    return json_response(Deleted(id=assistant_id, object="assistant.deleted"))
