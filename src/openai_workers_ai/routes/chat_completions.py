"""``POST /v1/chat/completions``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from .. import generation, image_urls
from ..catalog import VISION
from ..context import context
from ..generation import Generation
from ..ids import new_id
from ..ports import AI
from ..replies import json_response
from ..streaming import SSE_DONE, primed, sse_response
from ..translate import chat
from ..translate.chat_options import check_image_roles, check_tool_history
from ..translate.text_generation import Piece, ToolCallPiece, Usage
from ..types.chat import CreateChatCompletionRequest
from ..validation import parse_json


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateChatCompletionRequest)
    model = ctx.catalog.resolve(body.model, task="text-generation")
    check_tool_history(body.messages)
    check_image_roles(body.messages)
    if model.supports(VISION):  # non-vision models get a 400 for image parts from the translator
        await image_urls.inline(body.messages, ctx.backends.fetcher, ctx.settings.max_image_bytes)
    gens = chat.generations(body, model)
    completion_id, created = new_id("chatcmpl-"), int(time.time())
    settle = partial(chat.settle_calls, body, model)
    if not body.stream:
        results = await asyncio.gather(*(generation.complete(ctx.backends.ai, g) for g in gens))
        for result in results:
            result.text, result.tool_calls = settle(result.text, result.tool_calls)
            if result.tool_calls:
                result.finish_reason = "tool_calls"
        return json_response(chat.completion(completion_id, created, model, list(results)))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = chat.ChunkWriter(completion_id, created, model.id, include_usage)
    pieces = await primed(_merged(ctx.backends.ai, gens))
    return sse_response(_frames(writer, pieces, len(gens), settle))


async def _merged(ai: AI, gens: list[Generation]) -> AsyncIterator[tuple[int, Piece]]:
    """The choices' streams, run concurrently, as ``(choice index, piece)`` in arrival order."""
    if len(gens) == 1:
        async for piece in generation.stream(ai, gens[0]):
            yield 0, piece
        return
    streams = [generation.stream(ai, g) for g in gens]
    pending = {asyncio.ensure_future(anext(s)): i for i, s in enumerate(streams)}
    try:
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: pending[t]):
                index = pending.pop(task)
                try:
                    piece = task.result()
                except StopAsyncIteration:
                    continue
                yield index, piece
                pending[asyncio.ensure_future(anext(streams[index]))] = index
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for s in streams:
            await s.aclose()


async def _frames(
    writer: chat.ChunkWriter, pieces: AsyncIterator[tuple[int, Piece]], n: int,
    settle: Callable[[str, list[ToolCallPiece]], tuple[str, list[ToolCallPiece]]],
) -> AsyncIterator[bytes]:
    """Role chunks for every choice, then the choices' deltas as they come, each with its index."""
    for index in range(n):
        yield writer.role(index)
    prompt_tokens: int | None = None
    completion_tokens = 0
    called: set[int] = set()
    async for index, piece in pieces:
        if piece.finish_reason is not None:
            yield writer.finish("tool_calls" if index in called else piece.finish_reason, index)
            if piece.usage is not None:
                prompt_tokens = piece.usage.prompt_tokens if prompt_tokens is None else prompt_tokens
                completion_tokens += piece.usage.completion_tokens
            continue
        text, calls = settle(piece.text, piece.tool_calls)
        if calls:
            called.add(index)
        if text or piece.reasoning or calls:
            yield writer.delta(text, piece.reasoning, calls, index)
    if writer.include_usage:
        yield writer.usage(chat.usage_of(Usage(prompt_tokens or 0, completion_tokens)))
    yield SSE_DONE

