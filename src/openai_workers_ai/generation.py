"""The text-generation pipeline every text endpoint shares.

Chat completions, completions and Ollama's chat/generate translate their
request into Workers AI ``inputs``, then call :func:`complete` or
:func:`stream` here, which run the model and apply what the gateway enforces
itself: stop sequences (Workers AI models don't take them), reasoning split
out of ``<think>`` blocks, ``finish_reason`` and usage (from Workers AI when it
reports usage, else estimated at ~4 characters a token).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field
from json import loads
from typing import Any, Literal

from .catalog import REASONING, ModelInfo
from .errors import UpstreamError
from .ports import AI
from .streaming import sse_events
from .translate.stop import StopScanner, cut_at_stop
from .translate.text_generation import (
    Output,
    Piece,
    ThinkSplitter,
    ToolCallPiece,
    Usage,
    parse_event,
    parse_output,
)
from .workers_ai.errors import upstream_error


def estimate_tokens(text: str) -> int:
    """Token estimate used when Workers AI reports no usage (documented in the README)."""
    return (len(text) + 3) // 4


@dataclass(frozen=True, slots=True)
class Generation:
    """One model call: what to run and what the gateway must enforce."""

    model: ModelInfo
    inputs: dict[str, Any]
    stop: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    prompt_text: str = ""
    """The prompt as text, for estimating prompt tokens when Workers AI reports none."""
    streams: bool = True
    """False when the model cannot stream these inputs (e.g. classic JSON mode): :func:`stream`
    then runs it whole and replays the answer as one piece."""

    @property
    def splits_thinking(self) -> bool:
        """Whether reasoning arrives inline, in ``<think>`` tags, to be split from the text."""
        # Only models that think inline in ``<think>`` tags; the others send reasoning separately.
        return self.model.supports(REASONING) and self.model.extra.get("reasoning_format") == "think-tags"


FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(slots=True)
class Result:
    """A whole (non-streamed) generation, after stop sequences and ``<think>`` splitting."""

    text: str
    reasoning: str
    tool_calls: list[ToolCallPiece]
    finish_reason: FinishReason
    usage: Usage


def _finish(gen: Generation, upstream: str | None, usage: Usage, stopped: bool, tools: bool) -> FinishReason:
    if tools:
        return "tool_calls"
    if stopped:
        return "stop"
    if upstream == "length" or (gen.max_tokens is not None and usage.completion_tokens >= gen.max_tokens):
        return "length"
    return "stop"


def _usage(gen: Generation, reported: Usage | None, produced: str) -> Usage:
    if reported is not None:
        return reported
    return Usage(estimate_tokens(gen.prompt_text), estimate_tokens(produced))


async def complete(ai: AI, gen: Generation) -> Result:
    """Run the model once, not streaming."""
    raw = await ai.run(gen.model.id, gen.inputs)
    if not isinstance(raw, dict):
        raise UpstreamError(f"Workers AI returned an unexpected result for {gen.model.id}.")
    return _result(gen, raw)


def _result(gen: Generation, raw: dict[str, Any]) -> Result:
    out: Output = parse_output(raw)
    text, stopped = cut_at_stop(out.text, gen.stop)
    usage = _usage(gen, out.usage, out.reasoning + out.text)
    finish = _finish(gen, out.finish_reason, usage, stopped, bool(out.tool_calls))
    return Result(text, out.reasoning, out.tool_calls, finish, usage)


async def stream(ai: AI, gen: Generation) -> AsyncGenerator[Piece, None]:
    """Run the model streaming; yield content pieces, then one last piece with
    ``finish_reason`` and ``usage`` set. Stops reading upstream at a stop sequence."""
    raw = await ai.run(gen.model.id, {**gen.inputs, "stream": True} if gen.streams else gen.inputs)
    if isinstance(raw, dict) and gen.streams and not ("response" in raw or "choices" in raw):
        # Some models (gpt-oss on /ai/run) answer a stream request with an empty JSON result:
        # ask again without streaming and replay the answer.
        raw = await ai.run(gen.model.id, gen.inputs)
    if isinstance(raw, dict):  # a model that does not stream answered whole
        result = _result(gen, raw)
        yield Piece(result.text, result.reasoning, result.tool_calls)
        yield Piece(usage=result.usage, finish_reason=result.finish_reason)
        return
    if isinstance(raw, bytes):
        raise UpstreamError(f"Workers AI returned bytes for text model {gen.model.id}.")
    scanner = StopScanner(gen.stop)
    think = ThinkSplitter() if gen.splits_thinking else None
    reported: Usage | None = None
    chunked: Usage | None = None  # chat.completion.chunk usage is per chunk on Workers AI: summed
    upstream_finish: str | None = None
    stopped = tools = False
    produced: list[str] = []
    async with aclosing(sse_events(raw)) as events:
        async for data in events:
            event = _event(data)
            piece = parse_event(event)
            if piece.usage is not None and "choices" in event:
                chunked = _add(chunked, piece.usage)
            else:
                reported = piece.usage or reported  # the closing {"response": "", "usage"} has the totals
            upstream_finish = piece.finish_reason or upstream_finish
            text, reasoning = piece.text, piece.reasoning
            if think is not None and text:
                thought, text = think.feed(text)
                reasoning += thought
            text, stopped = scanner.feed(text)
            tools = tools or bool(piece.tool_calls)
            if text or reasoning or piece.tool_calls:
                produced.append(reasoning + text)
                yield Piece(text, reasoning, piece.tool_calls)
            if stopped:
                break
    if not stopped:
        tail = (think.flush()[1] if think is not None else "") + scanner.flush()
        if tail:
            produced.append(tail)
            yield Piece(tail)
    usage = _usage(gen, None if stopped else (reported or chunked), "".join(produced))
    yield Piece(usage=usage, finish_reason=_finish(gen, upstream_finish, usage, stopped, tools))


def _add(total: Usage | None, part: Usage) -> Usage:
    if total is None:
        return Usage(part.prompt_tokens, part.completion_tokens)
    return Usage(total.prompt_tokens + part.prompt_tokens, total.completion_tokens + part.completion_tokens)


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
