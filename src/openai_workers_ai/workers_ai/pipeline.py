"""The one text-generation pipeline every front door shares.

A door builds a :class:`~.spec.ChatSpec` and calls :func:`complete` (whole) or
:func:`stream` (events); here, in order:

1. images given by URL are downloaded and inlined (vision models; :mod:`.images`);
2. the spec becomes one Workers AI call per choice, in the model family's
   format (:mod:`.families`; a spec the model cannot serve is a 400 here);
3. the model runs (choices concurrently), and the gateway applies what Workers
   AI does not: stop sequences (:mod:`.stops`, and it stops reading upstream),
   reasoning split out of ``<think>`` blocks, a forced tool choice given as
   constrained output read back as a tool call, tool calls a classic model wrote as
   text recovered, ``parallel_tool_calls: false`` (first call only),
   ``finish_reason`` (``tool_calls`` whenever a choice called a tool) and usage
   (Workers AI's own when it reports it, else estimated at ~4 characters a
   token; the prompt counted once across choices; reasoning tokens likewise, or
   estimated from the reasoning text).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from functools import partial
from json import loads
from typing import TYPE_CHECKING, Any

from ..catalog import VISION
from ..errors import UpstreamError
from ..fanout import gather_bounded
from ..ports import AI
from ..streaming import sse_events
from . import families, images
from .errors import upstream_error
from .families import ModelCall
from .outputs import Piece, ThinkSplitter, forced_call, parse_event, parse_output, text_tool_calls
from .spec import (
    ChatSpec,
    Choice,
    Delta,
    Done,
    Event,
    Finish,
    FinishReason,
    Generated,
    ToolCallPiece,
    Usage,
    estimate_tokens,
    reasoning_share,
)
from .stops import StopScanner, cut_at_stop

if TYPE_CHECKING:
    from ..context import AppContext


async def complete(ctx: AppContext, spec: ChatSpec) -> Generated:
    """Run every choice whole, concurrently."""
    # (a model without vision has no images to inline: its calls made here, without _prepare's coroutine)
    calls = await _prepare(ctx, spec) if spec.model.supports(VISION) else families.calls(spec)
    ai = ctx.backends.ai
    if len(calls) == 1:  # one choice, as most requests ask: awaited here, not through gather_bounded
        choice = await _complete(ai, calls[0], spec)
        return Generated([choice], choice.usage)
    choices = await gather_bounded([partial(_complete, ai, call, spec) for call in calls])
    return Generated(choices, _total([c.usage for c in choices]))


async def stream(ctx: AppContext, spec: ChatSpec) -> AsyncGenerator[Event, None]:
    """Run every choice streaming: :class:`Delta` s as they come (choices interleaved), a
    :class:`Finish` per choice, then one :class:`Done` with the usage of them all.

    Nothing is called before the first ``anext``; a door that must answer a failure with a
    status (not an in-band event) primes it first (:func:`openai_workers_ai.streaming.primed`)."""
    calls = await _prepare(ctx, spec)
    ai = ctx.backends.ai
    usages: list[Usage] = []
    if len(calls) == 1:
        async with aclosing(_stream(ai, calls[0], spec, 0, usages)) as events:
            async for event in events:
                yield event
    else:
        async with aclosing(_merged([_stream(ai, call, spec, i, usages) for i, call in enumerate(calls)])) as events:
            async for event in events:
                yield event
    yield Done(_total(usages))


async def _prepare(ctx: AppContext, spec: ChatSpec) -> list[ModelCall]:
    """The model calls for ``spec``, images inlined; every 400 the spec deserves is raised here."""
    if spec.model.supports(VISION):  # other models get a 400 for image parts from the families
        spec = await images.inline(spec, ctx.backends.fetcher, ctx.settings.max_image_bytes)
    return families.calls(spec)


def _total(usages: list[Usage]) -> Usage:
    """Choices of one prompt: the prompt counted once, as OpenAI counts it; completions summed (one
    choice, as most requests ask: its own usage)."""
    if len(usages) == 1:
        return usages[0]
    return Usage(usages[0].prompt_tokens if usages else 0, sum(u.completion_tokens for u in usages),
                 sum(u.reasoning_tokens for u in usages), usages[0].cached_tokens if usages else 0)


# ---- one choice --------------------------------------------------------------------------------


def _settled(spec: ChatSpec, call: ModelCall, text: str, calls: list[ToolCallPiece]) -> tuple[str, list[ToolCallPiece]]:
    """Read a forced answer back as its tool call, recover a tool call a classic model wrote as text
    (both ran whole, so ``text`` is the whole answer), and keep only the first call when
    ``parallel_tool_calls`` is false."""
    if call.forced and not calls:
        forced = forced_call(text, call.forced)
        if forced is not None:
            text, calls = "", [forced]
    elif call.tool_names and text and not calls:
        found = text_tool_calls(text, set(call.tool_names))
        if found:
            text, calls = "", found
    if spec.parallel_tool_calls is False and calls:
        calls = [c for c in calls if c.index == 0]
    return text, calls


def _finish(call: ModelCall, upstream: str | None, usage: Usage, stopped: bool, tools: bool) -> FinishReason:
    if tools:
        return "tool_calls"
    if stopped:
        return "stop"
    if upstream == "length" or (call.max_tokens is not None and usage.completion_tokens >= call.max_tokens):
        return "length"
    return "stop"


def _usage(spec: ChatSpec, reported: Usage | None, produced: str, reasoning: str, called: int = 0) -> Usage:
    """Workers AI's counts when it reports them, else estimates (the prompt's from its text); reasoning
    tokens, when it reports none, the reasoning text's share of the completion (``called``: the
    characters of the tool calls' arguments, written too)."""
    if reported is None:
        reported = Usage(estimate_tokens(spec.prompt_text()), estimate_tokens(produced + reasoning))
    if reasoning and not reported.reasoning_tokens:
        estimate = reasoning_share(reported.completion_tokens, len(reasoning), len(produced) + called)
        reported = Usage(reported.prompt_tokens, reported.completion_tokens, estimate, reported.cached_tokens)
    return reported


async def _complete(ai: AI, call: ModelCall, spec: ChatSpec) -> Choice:
    raw = await ai.run(call.model.id, call.inputs)
    if not isinstance(raw, dict):
        raise UpstreamError(f"Workers AI returned an unexpected result for {call.model.id}.")
    return _choice(call, spec, raw)


def _choice(call: ModelCall, spec: ChatSpec, raw: dict[str, Any]) -> Choice:
    out = parse_output(raw)
    text, stopped = cut_at_stop(out.text, list(call.stop))
    text, tool_calls = _settled(spec, call, text, out.tool_calls)
    called = sum(len(c.arguments) for c in out.tool_calls) if out.tool_calls else 0
    usage = _usage(spec, out.usage, out.text, out.reasoning, called)
    return Choice(text, out.reasoning, tool_calls, _finish(call, out.finish_reason, usage, stopped, bool(tool_calls)),
                  usage)


async def _stream(
    ai: AI, call: ModelCall, spec: ChatSpec, index: int, usages: list[Usage]
) -> AsyncGenerator[Delta | Finish, None]:
    """One choice's deltas, then its :class:`Finish`; its usage is appended to ``usages``.
    Stops reading upstream at a stop sequence."""
    model = call.model.id
    raw = await ai.run(model, {**call.inputs, "stream": True} if call.streams else call.inputs)
    if isinstance(raw, dict) and call.streams and not ("response" in raw or "choices" in raw):
        # Some models (gpt-oss on /ai/run) answer a stream request with an empty JSON result:
        # ask again without streaming and replay the answer.
        raw = await ai.run(model, call.inputs)
    if isinstance(raw, dict):  # a model that does not stream answered whole: replayed
        choice = _choice(call, spec, raw)
        usages.append(choice.usage)
        if choice.text or choice.reasoning or choice.tool_calls:
            yield Delta(index, choice.text, choice.reasoning, choice.tool_calls)
        yield Finish(index, choice.finish_reason)
        return
    if isinstance(raw, bytes):
        raise UpstreamError(f"Workers AI returned bytes for text model {model}.")
    scanner = StopScanner(list(call.stop))
    think = ThinkSplitter() if call.splits_thinking else None
    reported: Usage | None = None
    chunked: Usage | None = None  # chat.completion.chunk usage is per chunk on Workers AI: summed
    upstream_finish: str | None = None
    stopped = tools = False
    produced: list[str] = []
    thoughts: list[str] = []
    called = 0  # characters of tool-call arguments
    async with aclosing(sse_events(raw)) as events:
        async for data in events:
            event = _event(data)
            piece: Piece = parse_event(event)
            if piece.usage is not None and "choices" in event:
                chunked = piece.usage if chunked is None else chunked + piece.usage
            else:
                reported = piece.usage or reported  # the closing {"response": "", "usage"} has the totals
            upstream_finish = piece.finish_reason or upstream_finish
            text, reasoning = piece.text, piece.reasoning
            if think is not None and text:
                thought, text = think.feed(text)
                reasoning += thought
            text, stopped = scanner.feed(text)
            text, calls = _settled(spec, call, text, piece.tool_calls) if piece.tool_calls else (text, piece.tool_calls)
            tools = tools or bool(calls)
            if text or reasoning or calls:
                if calls:
                    called += sum(len(c.arguments) for c in calls)
                produced.append(text)
                thoughts.append(reasoning)
                yield Delta(index, text, reasoning, calls)
            if stopped:
                break
    if not stopped:
        tail = (think.flush()[1] if think is not None else "") + scanner.flush()
        if tail:
            produced.append(tail)
            yield Delta(index, tail)
    usage = _usage(spec, None if stopped else (reported or chunked), "".join(produced), "".join(thoughts), called)
    usages.append(usage)
    yield Finish(index, _finish(call, upstream_finish, usage, stopped, tools))


def _event(data: str) -> dict[str, Any]:
    try:
        event = loads(data)
    except ValueError:
        raise UpstreamError("Workers AI sent a malformed stream event.") from None
    if not isinstance(event, dict):
        raise UpstreamError("Workers AI sent a malformed stream event.")
    if "error" in event and "response" not in event and "choices" not in event:
        raise upstream_error(f"{event['error']}")  # classified like any Workers AI failure
    return event


async def _merged(streams: list[AsyncGenerator[Delta | Finish, None]]) -> AsyncGenerator[Delta | Finish, None]:
    """The choices' streams, run concurrently, their events in arrival order."""
    pending = {asyncio.ensure_future(anext(s)): i for i, s in enumerate(streams)}
    try:
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda t: pending[t]):
                index = pending.pop(task)
                try:
                    event = task.result()
                except StopAsyncIteration:
                    continue
                yield event
                pending[asyncio.ensure_future(anext(streams[index]))] = index
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for s in streams:
            await s.aclose()
