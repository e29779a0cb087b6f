"""``POST /api/chat``: Ollama chat, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...context import context
from ...replies import json_response
from ...translate import ollama, ollama_models
from ...types.ollama import ChatRequest
from ...validation import parse_ollama
from . import respond, unloads


async def create(request: Request) -> Response:
    clock = ollama.Clock()
    ctx = context(request)
    body = await parse_ollama(request, ChatRequest)
    model = ollama_models.resolve(ctx.catalog, body.model, "text-generation", "chat")
    name = body.model or model.id
    if not body.messages:  # Ollama's "load the model" request: nothing to load here
        return json_response({
            "model": name, "created_at": ollama.now(), "message": {"role": "assistant", "content": ""},
            "done_reason": "unload" if unloads(body.keep_alive) else "load", "done": True,
        })
    gen = ollama.chat_generation(body, model, name)
    return await respond(
        ctx.backends.ai, gen, name, clock, key="message", streaming=body.streaming, thinking=body.think is not False
    )
