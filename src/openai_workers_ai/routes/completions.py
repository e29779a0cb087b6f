"""``POST /v1/completions`` (legacy): one choice per prompt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response

from .. import generation
from ..context import AppContext, context
from ..generation import Generation
from ..ids import new_id
from ..replies import json_response
from ..streaming import SSE_DONE, primed, sse_response
from ..translate import completions
from ..translate.chat import usage_of
from ..translate.text_generation import Piece, Usage
from ..types.common import CompletionUsage
from ..types.completions import Completion, CompletionChoice, CreateCompletionRequest
from ..validation import parse_json

DEFAULT_MAX_TOKENS = 16


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateCompletionRequest)
    if body.max_tokens is None:  # OpenAI's documented default for this endpoint
        body = body.model_copy(update={"max_tokens": DEFAULT_MAX_TOKENS})
    model = ctx.catalog.resolve(body.model, task="text-generation")
    gens = completions.generations(body, model)
    completion_id, created = new_id("cmpl-"), int(time.time())
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        # Start the first prompt's model call now: its failure is an error status, not an
        # in-band event (the echoed prompt would otherwise have started the stream).
        first = await primed(generation.stream(ctx.backends.ai, gens[0]))
        frames = _frames(ctx, body, gens, completion_id, created, include_usage, first)
        return sse_response(frames)
    results = await asyncio.gather(*(generation.complete(ctx.backends.ai, g) for g in gens))
    prompt_tokens = sum(r.usage.prompt_tokens for r in results)
    completion_tokens = sum(r.usage.completion_tokens for r in results)
    return json_response(
        Completion(
            id=completion_id,
            created=created,
            model=model.id,
            choices=[
                CompletionChoice(
                    text=(prompt if body.echo else "") + r.text, index=i,
                    finish_reason=r.finish_reason,  # type: ignore[arg-type]  # no tools here: never "tool_calls"
                )
                for i, (r, prompt) in enumerate(zip(results, body.prompts(), strict=True))
            ],
            usage=CompletionUsage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )
    )


async def _frames(
    ctx: AppContext, body: CreateCompletionRequest, gens: list[Generation],
    completion_id: str, created: int, include_usage: bool, first: AsyncIterator[Piece],
) -> AsyncIterator[bytes]:
    """Prompts stream one after another, each chunk carrying its choice ``index``."""
    model = gens[0].model.id
    prompt_tokens = completion_tokens = 0
    for index, gen in enumerate(gens):
        if body.echo:
            yield completions.chunk(completion_id, created, model, index, gen.prompt_text, None,
                                    include_usage=include_usage)
        pieces = first if index == 0 else generation.stream(ctx.backends.ai, gen)
        async for piece in pieces:
            if piece.finish_reason is not None:
                if piece.usage is not None:
                    prompt_tokens += piece.usage.prompt_tokens
                    completion_tokens += piece.usage.completion_tokens
                yield completions.chunk(completion_id, created, model, index, "", piece.finish_reason,
                                        include_usage=include_usage)
                break
            if piece.text:
                yield completions.chunk(completion_id, created, model, index, piece.text, None,
                                        include_usage=include_usage)
    if include_usage:
        usage = usage_of(Usage(prompt_tokens, completion_tokens)).model_dump()
        yield completions.chunk(completion_id, created, model, 0, "", None, usage, include_usage=True)
    yield SSE_DONE
