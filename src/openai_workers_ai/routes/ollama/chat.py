"""``POST /api/chat``: Ollama chat, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...context import AppContext, context
from ...errors import InvalidRequest
from ...replies import json_response
from ...translate import ollama, ollama_models
from ...translate.ollama_replies import Timings, created_at
from ...types.ollama import ChatRequest
from ...validation import ollama_options, parse_ollama
from ._respond import respond


async def create(request: Request) -> Response:
    timings = Timings()
    ctx = context(request)
    body = await parse_ollama(request, ChatRequest)
    if not (body.model or "").strip():  # no default model: Ollama's ChatHandler's 400 (server/routes.go)
        raise InvalidRequest("model is required")
    name = body.model or ""
    model = ollama_models.resolve(ctx.catalog, name, "text-generation", "chat")
    if not body.messages and ollama.unloads(body.keep_alive):  # Ollama's unload: before thinking and options
        return _loaded(ctx, name, "unload")
    ollama.reasoning_effort(body.think, model, name)  # as Ollama's ChatHandler: thinking refused before a load,
    options = ollama_options(body.options)  # then the options read (its scheduleRunner)
    if not body.messages:  # Ollama's "load the model" request: nothing to load here
        return _loaded(ctx, name, "load")
    spec = ollama.chat_spec(body, model, name, options)
    thinking = body.think is not False
    return await respond(ctx, spec, name, timings, key="message", streaming=body.streaming, thinking=thinking)


def _loaded(ctx: AppContext, name: str, reason: str) -> Response:
    return json_response({
        "model": name, "created_at": created_at(ctx.clock), "message": {"role": "assistant", "content": ""},
        "done": True, "done_reason": reason,
    })
