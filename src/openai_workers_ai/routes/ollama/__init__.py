"""The Ollama API (``/api/*``, also under ``/llm/ollama``): one module per resource.

Shared here: reading a request body the way Ollama does — any Content-Type
(``curl -d`` sends form-encoded), unknown fields ignored, errors worded as
Ollama words them (``missing request body``, ``model is required`` …); and
answering a generation (``/api/chat``, ``/api/generate``) as NDJSON or one object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.responses import Response

from ... import generation
from ...generation import Generation
from ...ports import AI
from ...replies import json_response
from ...streaming import ndjson_response, primed
from ...translate import ollama
from ...translate.text_generation import Piece

M = TypeVar("M", bound=BaseModel)


def unloads(keep_alive: object) -> bool:
    """``keep_alive: 0`` with no prompt is Ollama's unload request."""
    return keep_alive in (0, 0.0, "0", "0s", "0m", "0h")


async def respond(
    ai: AI, gen: Generation, name: str, clock: ollama.Clock, *, key: str, streaming: bool, thinking: bool
) -> Response:
    """Run ``gen`` and answer as Ollama does: NDJSON objects as they come, or
    (``stream: false``) the one object they merge into. ``key`` as in :func:`_events`."""
    clock.call()
    pieces = await primed(generation.stream(ai, gen))
    stream = _events(name, pieces, clock, key=key, thinking=thinking)
    if streaming:
        return ndjson_response(stream)
    return json_response(await _collect(stream, key))


async def _events(
    name: str, pieces: AsyncIterator[Piece], clock: ollama.Clock, *, key: str, thinking: bool
) -> AsyncIterator[dict[str, Any]]:
    """Ollama stream objects: ``done: false`` pieces, then the ``done: true`` summary.

    ``key`` is ``message`` (chat: content in ``message.content``) or ``response``
    (generate). Tool calls, gathered from their fragments, come whole in one
    object before the summary.
    """
    calls = ollama.ToolCalls()
    async for piece in pieces:
        clock.piece()
        if piece.finish_reason is not None:
            if calls.calls:
                yield _object(name, key, "", "", calls.ollama())
            final = _object(name, key, "", "", [])
            final.update(done=True, done_reason=ollama.done_reason(piece.finish_reason),
                         **clock.metrics(piece.usage))
            yield final
            return
        calls.add(piece.tool_calls)
        reasoning = piece.reasoning if thinking else ""
        if piece.text or reasoning:
            yield _object(name, key, piece.text, reasoning, [])


def _object(name: str, key: str, text: str, thinking: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {"model": name, "created_at": ollama.now()}
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


async def _collect(stream: AsyncIterator[dict[str, Any]], key: str) -> dict[str, Any]:
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
        if any(thinking):
            final["thinking"] = "".join(thinking)
    return final
