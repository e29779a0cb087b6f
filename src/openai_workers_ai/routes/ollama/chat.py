"""``POST /api/chat``: Ollama chat, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ... import generation
from ...http import context, json_response
from ...streaming import ndjson_response, primed
from ...translate import ollama, ollama_models
from ...types.ollama import ChatRequest
from . import collect, events, read, unloads


async def create(request: Request) -> Response:
    clock = ollama.Clock()
    ctx = context(request)
    body = await read(request, ChatRequest)
    model = ollama_models.resolve(ctx.catalog, body.model, "text-generation", "chat")
    name = body.model or model.id
    if not body.messages:  # Ollama's "load the model" request: nothing to load here
        return json_response({
            "model": name, "created_at": ollama.now(), "message": {"role": "assistant", "content": ""},
            "done_reason": "unload" if unloads(body.keep_alive) else "load", "done": True,
        })
    gen = ollama.chat_generation(body, model, name)
    clock.call()
    pieces = await primed(generation.stream(ctx.backends.ai, gen))
    stream = events(name, pieces, clock, key="message", thinking=body.think is not False)
    if body.streaming:
        return ndjson_response(stream)
    return json_response(await collect(stream, "message"))
