"""``/v1/chat/completions``: create; and the completions stored with ``store: true`` — list, retrieve,
update (metadata), delete, and their request messages (:mod:`..repositories.chat_completions`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ..context import AppContext, context, owner, principal
from ..errors import APIError, NotFound
from ..ids import new_id
from ..pagination import list_object, page
from ..replies import json_bytes_response, json_response
from ..repositories import chat_completions
from ..repositories.chat_completions import ChatCompletionRow
from ..runner import moderation as moderating
from ..streaming import SSE_DONE, primed, sse_response
from ..translate.chat import called_as, chat_spec
from ..translate.chat_completion import Assembly, ChunkWriter, completion, stored_completion, stored_message
from ..types.chat import CreateChatCompletionRequest, UpdateChatCompletionRequest
from ..types.common import check_metadata
from ..validation import parse_json
from ..workers_ai import pipeline
from ..workers_ai.spec import Delta, Done, Event, Finish, Generated


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateChatCompletionRequest, task="text-generation")
    model = ctx.catalog.resolve(body.model, task="text-generation")
    spec = chat_spec(body, model)
    moderator = moderating.moderator(ctx, body.moderation)
    completion_id, created, called = new_id("chatcmpl-"), ctx.now(), called_as(body)
    # A moderated completion's input is classified while the model answers.
    checked = None if moderator is None else moderating.classify_input(ctx, moderator, body)
    try:
        if not body.stream:
            generated = await pipeline.complete(ctx, spec)
        else:
            events = await primed(pipeline.stream(ctx, spec))
    except BaseException:
        if checked is not None:
            checked.cancel()
        raise
    if not body.stream:
        result = completion(completion_id, created, model.id, generated, called)
        if moderator is not None and checked is not None:
            output = await moderating.classify(ctx, moderator, [moderating.output_text(c) for c in generated.choices])
            result["moderation"] = {"input": await checked, "output": output}
        if body.store:
            await _store(ctx, request, body, result)
        return json_bytes_response(result)
    options = body.stream_options
    include_usage = bool(options and options.include_usage)
    obfuscate = not (options and options.include_obfuscation is False)  # OpenAI's default: included
    writer = ChunkWriter(completion_id, created, model.id, include_usage, called, obfuscate)
    assembly = Assembly(spec.n)
    moderation: dict[str, Any] = {}  # a moderated stream's, once it is done: the stored completion's too

    async def keep(generated: Generated) -> None:
        if body.store:
            result = completion(completion_id, created, model.id, generated, called)
            if moderation:
                result["moderation"] = moderation
            await _store(ctx, request, body, result)

    if body.store or checked is not None:
        events = _kept(events, assembly, keep)
    if moderator is None or checked is None:
        return sse_response(_frames(writer, events, spec.n))
    moderate = partial(moderating.moderate_stream, ctx, moderator, checked, assembly, moderation)
    return sse_response(moderating.cancelling(_frames(writer, events, spec.n, moderate), checked))


async def _frames(writer: ChunkWriter, events: AsyncIterator[Event], n: int,
                  moderate: Callable[[], Awaitable[dict[str, Any]]] | None = None) -> AsyncIterator[bytes]:
    """The choices' deltas as they come, each with its index, a choice's first one opened with its role: an
    answer that starts with a tool call opens with the call (``content: null``), as OpenAI's streams do;
    any other with a chunk of its own (``content: ""``). Once every choice is done, the usage chunk
    (``include_usage``), then the moderation chunk (``moderate``: moderated completions), as OpenAI orders them."""
    opened = [False] * n
    async for event in events:
        if isinstance(event, Delta | Finish) and not opened[event.index]:
            opened[event.index] = True
            if isinstance(event, Delta) and event.tool_calls and not (event.text or event.reasoning):
                yield writer.delta("", "", event.tool_calls, event.index, opening=True)
                continue
            yield writer.role(event.index)
        if isinstance(event, Delta):
            yield writer.delta(event.text, event.reasoning, event.tool_calls, event.index)
        elif isinstance(event, Finish):
            yield writer.finish(event.reason, event.index)
        elif isinstance(event, Done):
            if writer.include_usage:
                yield writer.usage(event.usage)
            if moderate is not None:
                yield writer.moderation(await moderate())
    yield SSE_DONE


async def _kept(events: AsyncIterator[Event], assembly: Assembly,
                keep: Callable[[Generated], Awaitable[None]]) -> AsyncIterator[Event]:
    """``events``, put together as they pass (each before its chunk is written); once the last has passed, the
    completion they make is kept — before ``[DONE]``, so a client that read the stream to its end finds it
    stored. A stream that fails, or whose client leaves, keeps nothing."""
    async for event in events:
        assembly.add(event)
        yield event
    await keep(assembly.generated())


async def _store(ctx: AppContext, request: Request, body: CreateChatCompletionRequest, result: dict[str, Any]) -> None:
    """Keep ``result`` (``store: true``) as OpenAI keeps it, with the request's messages and metadata, owned by
    the caller's key."""
    completion_id = result["id"]
    row = ChatCompletionRow(completion_id, principal(request).key_hash, result["model"], body.metadata or {},
                            result["created"])
    messages = [stored_message(completion_id, i, m) for i, m in enumerate(body.messages)]
    await chat_completions.store(ctx.backends, row, stored_completion(result, body), messages, ctx.now())


# ---- stored completions ----------------------------------------------------------------------


def metadata_filter(query: QueryParams) -> dict[str, str]:
    """A list's ``metadata[key]=value`` parameters (every pair must match), checked as metadata is."""
    pairs = {name[len("metadata["):-1]: value for name, value in query.multi_items()
             if name.startswith("metadata[") and name.endswith("]")}
    return check_metadata(pairs)


def model_filter(ctx: AppContext, name: str | None) -> str | None:
    """A list's ``model``: the model id the completions name, for any name a create takes (an alias answers
    as the Workers AI model it stands for); a name no create would take matches nothing, as it is."""
    if not name:
        return None
    try:
        return ctx.catalog.resolve(name, task="text-generation").id
    except APIError:
        return name


async def list_completions(request: Request) -> Response:
    """The caller's stored completions, newest first unless ``order=asc``: the spec says ``asc`` is the default,
    but OpenAI answers a list that names no order newest first (openai/openai-dotnet,
    tests/SessionRecords/ChatStoreTests/GetChatCompletionsWithEmptyOptionsAsync.json,
    GetChatCompletionsHandlesLargeLimits.json)."""
    ctx = context(request)
    query = request.query_params
    data, has_more = await chat_completions.list_page(
        ctx.backends, owner(request), page(query, default_order="desc"), model=model_filter(ctx, query.get("model")),
        metadata=metadata_filter(query))
    return json_response(list_object(data, has_more))


async def _row(request: Request) -> ChatCompletionRow:
    completion_id: str = request.path_params["completion_id"]
    row = await chat_completions.get(context(request).backends.db, completion_id, owner(request))
    if row is None:
        raise _not_found(completion_id)
    return row


def _not_found(completion_id: str) -> NotFound:
    """OpenAI's 404 for a completion it does not hold (openai/openai-dotnet,
    tests/SessionRecords/ChatStoreTests/StoredChatCompletionsWork.json: a GET before and after the DELETE)."""
    return NotFound(f"Completion {completion_id} not found", param="completion_id", code="not_found")


async def _shown(request: Request, row: ChatCompletionRow) -> Response:
    found = await chat_completions.completion_of(context(request).backends, row)
    if found is None:  # deleted since its row was read
        raise _not_found(row.id)
    return json_response(found)


async def retrieve(request: Request) -> Response:
    return await _shown(request, await _row(request))


async def update(request: Request) -> Response:
    row = await _row(request)
    body = await parse_json(request, UpdateChatCompletionRequest)
    metadata: Mapping[str, str] = body.metadata or {}
    await chat_completions.update_metadata(context(request).backends.db, row.id, dict(metadata))
    return await _shown(request, replace(row, metadata=dict(metadata)))


async def delete(request: Request) -> Response:
    ctx = context(request)
    row = await _row(request)
    await chat_completions.delete(ctx.backends, row, ctx.now())
    return json_response({"object": "chat.completion.deleted", "id": row.id, "deleted": True})


async def list_messages(request: Request) -> Response:
    ctx = context(request)
    row = await _row(request)
    data, has_more = await chat_completions.messages_page(ctx.backends, row,
                                                          page(request.query_params, default_order="asc"))
    return json_response(list_object(data, has_more))
