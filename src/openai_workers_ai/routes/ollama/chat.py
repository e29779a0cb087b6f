"""``POST /api/chat``: Ollama chat, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...context import context
from ...errors import InvalidRequest
from ...replies import json_response
from ...translate import ollama, ollama_models
from ...translate.ollama_replies import Timings, created_at
from ...types.ollama import ChatRequest
from ...validation import parse_ollama
from ._respond import respond


async def create(request: Request) -> Response:
    timings = Timings()
    ctx = context(request)
    body = await parse_ollama(request, ChatRequest)
    if not (body.model or "").strip():  # no default model: Ollama's ChatHandler's 400 (server/routes.go)
        raise InvalidRequest("model is required")
    name = body.model or ""
    model = ollama_models.resolve(ctx.catalog, name, "text-generation", "chat")
    unload = not body.messages and ollama.unloads(body.keep_alive)
    if not unload:  # as Ollama's ChatHandler: thinking refused before a load, not before an unload
        ollama.reasoning_effort(body.think, model, name)
    if not body.messages:  # Ollama's "load the model" request: nothing to load here
        return json_response({
            "model": name, "created_at": created_at(ctx.clock), "message": {"role": "assistant", "content": ""},
            "done_reason": "unload" if unload else "load", "done": True,
        })
    spec = ollama.chat_spec(body, model, name)
    thinking = body.think is not False
    return await respond(ctx, spec, name, timings, key="message", streaming=body.streaming, thinking=thinking)
