"""The pipeline's events → Ollama's answers (pure): NDJSON objects, or the one they merge into.

``/api/chat`` puts text in ``message.content`` (key ``message``), ``/api/generate``
in ``response`` (key ``response``). Tool calls, gathered from their streamed
fragments, come whole (arguments as JSON objects) in one object before the
``done: true`` summary, which carries the durations Ollama reports (:class:`Timings`). Each object's
``created_at`` is read from the app's clock when it is made (:func:`created_at`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from json import loads
from typing import Any, Literal

from ..ids import new_id
from ..workers_ai.spec import Delta, Done, Event, Finish, FinishReason, ToolCallPiece, Usage, gather
from .ollama_models import iso

Key = Literal["message", "response"]


Clock = Callable[[], float]
"""Seconds since the epoch, with their fraction (the app context's ``clock``)."""


def created_at(clock: Clock) -> str:
    """The clock's time as Ollama writes ``created_at``: RFC 3339, UTC, microseconds without trailing zeros."""
    return iso(clock())


def done_reason(finish_reason: FinishReason) -> str:
    """Ollama's ``done_reason`` for a finish reason."""
    return "length" if finish_reason == "length" else "stop"


@dataclass(slots=True)
class Timings:
    """Ollama's durations, measured (nanoseconds): ``load`` is the gateway's work before
    Workers AI was called, ``prompt_eval`` the wait for the first event, ``eval`` the rest."""

    start: int = field(default_factory=time.perf_counter_ns)
    called: int = 0
    first: int = 0

    def call(self) -> None:
        """Mark the moment Workers AI is called."""
        self.called = time.perf_counter_ns()

    def event(self) -> None:
        """Mark the first event's arrival (later calls change nothing)."""
        if not self.first:
            self.first = time.perf_counter_ns()

    def metrics(self, usage: Usage | None) -> dict[str, int]:
        """Ollama's duration and count fields, measured up to now."""
        end = time.perf_counter_ns()
        called = self.called or end
        first = self.first or end
        return {
            "total_duration": end - self.start,
            "load_duration": called - self.start,
            "prompt_eval_count": usage.prompt_tokens if usage else 0,
            "prompt_eval_duration": first - called,
            "eval_count": usage.completion_tokens if usage else 0,
            "eval_duration": end - first,
        }


@dataclass(slots=True)
class ToolCalls:
    """Tool-call fragments (streamed by index) gathered into whole Ollama tool calls."""

    calls: dict[int, ToolCallPiece] = field(default_factory=dict)

    def add(self, pieces: list[ToolCallPiece]) -> None:
        """Gather streamed fragments: the first of an index opens a call, later ones extend its arguments."""
        for piece in pieces:
            gather(self.calls, piece)

    def ollama(self) -> list[dict[str, Any]]:
        """The calls, whole, in Ollama's shape (arguments as an object)."""
        return [
            {"id": c.id or new_id("call_"),
             "function": {"index": i, "name": c.name or "", "arguments": _arguments(c.arguments)}}
            for i, c in enumerate(self.calls[k] for k in sorted(self.calls))
        ]


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def objects(
    name: str, events: AsyncIterator[Event], timings: Timings, *, key: Key, thinking: bool, clock: Clock
) -> AsyncIterator[dict[str, Any]]:
    """Ollama stream objects: ``done: false`` pieces, then the ``done: true`` summary, each made at ``clock``'s
    time."""
    calls = ToolCalls()
    reason: FinishReason = "stop"
    thought = False  # whether any thinking but whitespace has been given yet
    async for event in events:
        timings.event()
        if isinstance(event, Delta):
            calls.add(event.tool_calls)
            reasoning = event.reasoning if thinking else ""
            if not thought:  # Ollama's thinking parser (thinking/parser.go) eats the whitespace thinking opens with
                reasoning = reasoning.lstrip()
                thought = bool(reasoning)
            if event.text or reasoning:
                yield _object(name, key, event.text, reasoning, [], clock)
        elif isinstance(event, Finish):
            reason = event.reason
        elif isinstance(event, Done):
            if calls.calls:
                yield _object(name, key, "", "", calls.ollama(), clock)
            final = _object(name, key, "", "", [], clock)
            final.update(done=True, done_reason=done_reason(reason), **timings.metrics(event.usage))
            yield final


def _object(name: str, key: Key, text: str, thinking: str, calls: list[dict[str, Any]], clock: Clock) -> dict[str, Any]:
    obj: dict[str, Any] = {"model": name, "created_at": created_at(clock)}
    if key == "message":
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if thinking:
            message["thinking"] = thinking
        if calls:
            message["tool_calls"] = calls
        obj["message"] = message
    else:
        obj["response"] = text
        if thinking:
            obj["thinking"] = thinking
    obj["done"] = False
    return obj


async def collect(stream: AsyncIterator[dict[str, Any]], key: Key) -> dict[str, Any]:
    """``stream: false``: the stream's objects merged into the one Ollama returns."""
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    final: dict[str, Any] = {}
    async for obj in stream:
        part = obj.get("message", obj)
        text.append(part.get("content" if key == "message" else "response", ""))
        thinking.append(part.get("thinking", ""))
        calls.extend(part.get("tool_calls", ()))
        final = obj
    if key == "message":
        message = final["message"]
        message["content"] = "".join(text)
        if any(thinking):
            message["thinking"] = "".join(thinking)
        if calls:
            message["tool_calls"] = calls
    else:
        final["response"] = "".join(text)
        if any(thinking):  # right after response, where api.GenerateResponse has it (the last object had none)
            items = list(final.items())
            at = list(final).index("response") + 1
            final = dict([*items[:at], ("thinking", "".join(thinking)), *items[at:]])
    return final
