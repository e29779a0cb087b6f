"""``POST /v1/chat/completions``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response

from .. import generation
from ..http import context, json_response, parse_json
from ..ids import new_id
from ..streaming import SSE_DONE, primed, sse_response
from ..translate import chat
from ..translate.text_generation import Piece
from ..types.chat import CreateChatCompletionRequest


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateChatCompletionRequest)
    model = ctx.catalog.resolve(body.model, task="text-generation")
    gen = chat.generation(body, model)
    completion_id, created = new_id("chatcmpl-"), int(time.time())
    if not body.stream:
        result = await generation.complete(ctx.backends.ai, gen)
        return json_response(chat.completion(completion_id, created, model, result))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = chat.ChunkWriter(completion_id, created, model.id, include_usage)
    pieces = await primed(generation.stream(ctx.backends.ai, gen))
    return sse_response(_frames(writer, pieces))


async def _frames(writer: chat.ChunkWriter, pieces: AsyncIterator[Piece]) -> AsyncIterator[bytes]:
    yield writer.role()
    async for piece in pieces:
        if piece.finish_reason is not None:
            yield writer.finish(piece.finish_reason)
            if writer.include_usage and piece.usage is not None:
                yield writer.usage(chat.usage_of(piece.usage))
            break
        yield writer.delta(piece.text, piece.reasoning, piece.tool_calls)
    yield SSE_DONE
