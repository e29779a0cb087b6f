"""``POST /api/generate``: Ollama completion of a prompt, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ... import generation
from ...http import context, json_response
from ...streaming import ndjson_response, primed
from ...translate import ollama, ollama_models
from ...types.ollama import GenerateRequest
from . import collect, events, read, unloads


async def create(request: Request) -> Response:
    clock = ollama.Clock()
    ctx = context(request)
    body = await read(request, GenerateRequest)
    model = ollama_models.resolve(ctx.catalog, body.model, "text-generation", "generate")
    name = body.model or model.id
    if not body.prompt and not body.images:  # Ollama's "load the model" request
        return json_response({
            "model": name, "created_at": ollama.now(), "response": "",
            "done": True, "done_reason": "unload" if unloads(body.keep_alive) else "load",
        })
    gen = ollama.generate_generation(body, model, name)
    clock.call()
    pieces = await primed(generation.stream(ctx.backends.ai, gen))
    stream = events(name, pieces, clock, key="response", thinking=body.think is not False)
    if body.streaming:
        return ndjson_response(stream)
    return json_response(await collect(stream, "response"))
