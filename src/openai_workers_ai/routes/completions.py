"""``POST /v1/completions`` (legacy): one choice per prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from ..context import AppContext, context
from ..fanout import gather_bounded
from ..ids import new_id
from ..replies import json_response
from ..streaming import SSE_DONE, primed, sse_response
from ..translate.completions import ChunkWriter, completion, echoed, prompt_specs
from ..types.completions import CreateCompletionRequest
from ..validation import parse_json
from ..workers_ai import pipeline
from ..workers_ai.spec import ChatSpec, Choice, Delta, Done, Event, Finish, Generated, Usage, estimate_tokens
from ..workers_ai.vocabularies import decoded


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateCompletionRequest, task="text-generation")
    model = ctx.catalog.resolve(body.model, task="text-generation")
    prompts = body.prompts() or await decoded(ctx, body.model, body.token_arrays(), "prompt")
    specs = prompt_specs(body, model, prompts)
    completion_id, created = new_id("cmpl-"), ctx.now()
    complete, stream = (pipeline.complete, pipeline.stream) if body.max_tokens != 0 else (_nothing, _nothing_streamed)
    if not body.stream:
        results = await gather_bounded([partial(complete, ctx, spec) for spec in specs])
        return json_response(completion(completion_id, created, model.id, prompts, results, body.echo))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    writer = ChunkWriter(completion_id, created, model.id, include_usage)
    # Start the first prompt's model call now: its failure is an error status, not an
    # in-band event (the echoed prompt would otherwise have started the stream).
    first = await primed(stream(ctx, specs[0]))
    return sse_response(_frames(ctx, writer, specs, prompts, first, bool(body.echo), stream))


async def _frames(
    ctx: AppContext, writer: ChunkWriter, specs: list[ChatSpec], prompts: list[str], first: AsyncIterator[Event],
    echo: bool, stream: Callable[[AppContext, ChatSpec], AsyncIterator[Event]],
) -> AsyncIterator[bytes]:
    """Prompts stream one after another (a prompt's ``n`` choices together), each chunk carrying its choice's
    ``index``: prompt *p*'s choice *k* is ``p * n + k``."""
    for p, spec in enumerate(specs):
        base = p * spec.n
        if echo:
            for k in range(spec.n):
                yield writer.text(base + k, echoed(prompts[p], echo))
        async for event in first if p == 0 else stream(ctx, spec):
            if isinstance(event, Delta) and event.text:
                yield writer.text(base + event.index, event.text)
            elif isinstance(event, Finish):
                yield writer.text(base + event.index, "", event.reason)
            elif isinstance(event, Done):
                writer.count(event.usage)
    if writer.include_usage:
        yield writer.usage()
    yield SSE_DONE


async def _nothing(ctx: AppContext, spec: ChatSpec) -> Generated:
    """``max_tokens: 0`` (OpenAI's minimum for completions): no tokens, so no model call; the choice is empty
    (or the echoed prompt) and finishes with ``length``. The prompt's tokens are estimated (no model counted them)."""
    usage = Usage(estimate_tokens(spec.prompt or ""), 0)
    return Generated([Choice("", "", [], "length", usage) for _ in range(spec.n)], usage)


async def _nothing_streamed(ctx: AppContext, spec: ChatSpec) -> AsyncIterator[Event]:
    """:func:`_nothing`, as stream events."""
    generated = await _nothing(ctx, spec)
    for k in range(spec.n):
        yield Finish(k, "length")
    yield Done(generated.usage)
