"""``POST /v1/completions`` (legacy): one choice per prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from ..context import AppContext, context
from ..errors import InvalidRequest
from ..fanout import gather_bounded
from ..ids import new_id
from ..replies import json_response
from ..streaming import SSE_DONE, primed, sse_response
from ..translate.chat_completion import usage_of
from ..translate.completions import ChunkWriter, prompt_specs
from ..types.completions import Completion, CompletionChoice, CreateCompletionRequest
from ..validation import parse_json
from ..workers_ai import pipeline
from ..workers_ai.spec import ChatSpec, Delta, Done, Event, Finish, Usage
from ..workers_ai.vocabularies import encoding_for, vocabulary

DEFAULT_MAX_TOKENS = 16


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateCompletionRequest, task="text-generation")
    if body.max_tokens is None:  # OpenAI's documented default for this endpoint
        body = body.model_copy(update={"max_tokens": DEFAULT_MAX_TOKENS})
    model = ctx.catalog.resolve(body.model, task="text-generation")
    specs = prompt_specs(body, model, await _prompts(ctx, body))
    completion_id, created = new_id("cmpl-"), ctx.now()
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        writer = ChunkWriter(completion_id, created, model.id, include_usage)
        # Start the first prompt's model call now: its failure is an error status, not an
        # in-band event (the echoed prompt would otherwise have started the stream).
        first = await primed(pipeline.stream(ctx, specs[0]))
        return sse_response(_frames(ctx, writer, specs, first, bool(body.echo)))
    results = await gather_bounded([partial(pipeline.complete, ctx, spec) for spec in specs])
    choices = [
        CompletionChoice(text=(_echoed(spec, body.echo)) + r.choices[0].text, index=i,
                         finish_reason=r.choices[0].finish_reason)  # type: ignore[arg-type]  # no tools: never "tool_calls"
        for i, (r, spec) in enumerate(zip(results, specs, strict=True))
    ]
    usage = sum((r.usage for r in results), Usage(0, 0))
    return json_response(Completion(id=completion_id, created=created, model=model.id, choices=choices,
                                    usage=usage_of(usage)))


async def _prompts(ctx: AppContext, body: CreateCompletionRequest) -> list[str]:
    """The prompts as text: token-id prompts decoded with the encoding of the OpenAI model the
    request names (``workers_ai/vocabularies.py``)."""
    arrays = body.token_arrays()
    if not arrays:
        return body.prompts()
    for i, ids in enumerate(arrays):
        if not ids:
            where = "prompt" if len(arrays) == 1 else f"prompt[{i}]"
            raise InvalidRequest(f"Invalid value for '{where}': a token array must not be empty.", param=where)
    vocab = await vocabulary(ctx, encoding_for(body.model))
    return [vocab.decode(ids, "prompt" if len(arrays) == 1 else f"prompt[{i}]") for i, ids in enumerate(arrays)]


def _echoed(spec: ChatSpec, echo: bool | None) -> str:
    return (spec.prompt or "") if echo else ""


async def _frames(
    ctx: AppContext, writer: ChunkWriter, specs: list[ChatSpec], first: AsyncIterator[Event], echo: bool
) -> AsyncIterator[bytes]:
    """Prompts stream one after another, each chunk carrying its choice ``index``."""
    usage = Usage(0, 0)
    for index, spec in enumerate(specs):
        if echo:
            yield writer.text(index, _echoed(spec, echo))
        async for event in first if index == 0 else pipeline.stream(ctx, spec):
            if isinstance(event, Delta) and event.text:
                yield writer.text(index, event.text)
            elif isinstance(event, Finish):
                yield writer.text(index, "", event.reason)
            elif isinstance(event, Done):
                usage += event.usage
    if writer.include_usage:
        yield writer.usage(usage)
    yield SSE_DONE
