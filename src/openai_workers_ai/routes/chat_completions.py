"""``POST /v1/chat/completions``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..ids import new_id
from ..replies import json_bytes_response
from ..streaming import SSE_DONE, primed, sse_response
from ..translate.chat import chat_spec, uses_functions
from ..translate.chat_completion import ChunkWriter, completion
from ..types.chat import CreateChatCompletionRequest
from ..validation import parse_json
from ..workers_ai import pipeline
from ..workers_ai.spec import Delta, Done, Event, Finish


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateChatCompletionRequest, task="text-generation")
    model = ctx.catalog.resolve(body.model, task="text-generation")
    spec = chat_spec(body, model)
    completion_id, created, functions = new_id("chatcmpl-"), ctx.now(), uses_functions(body)
    if not body.stream:
        generated = await pipeline.complete(ctx, spec)
        return json_bytes_response(completion(completion_id, created, model.id, generated, functions))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = ChunkWriter(completion_id, created, model.id, include_usage, functions)
    events = await primed(pipeline.stream(ctx, spec))
    return sse_response(_frames(writer, events, spec.n))


async def _frames(writer: ChunkWriter, events: AsyncIterator[Event], n: int) -> AsyncIterator[bytes]:
    """Role chunks for every choice, then the choices' deltas as they come, each with its index."""
    for index in range(n):
        yield writer.role(index)
    async for event in events:
        if isinstance(event, Delta):
            yield writer.delta(event.text, event.reasoning, event.tool_calls, event.index)
        elif isinstance(event, Finish):
            yield writer.finish(event.reason, event.index)
        elif isinstance(event, Done) and writer.include_usage:
            yield writer.usage(event.usage)
    yield SSE_DONE
