"""``POST /api/generate``: Ollama completion of a prompt, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...context import context
from ...errors import ModelNotFound
from ...replies import json_response
from ...translate import ollama, ollama_models
from ...translate.ollama_replies import Timings, created_at
from ...types.ollama import GenerateRequest
from ...validation import parse_ollama
from ._respond import respond


async def create(request: Request) -> Response:
    timings = Timings()
    ctx = context(request)
    body = await parse_ollama(request, GenerateRequest)
    name = body.model or ""
    if not name.strip():  # no default model: Ollama's GenerateHandler's 404 (server/routes.go), model '' not found
        raise ModelNotFound(name)
    model = ollama_models.resolve(ctx.catalog, name, "text-generation", "generate")
    unload = not body.prompt and ollama.unloads(body.keep_alive)
    if not unload:  # as Ollama's GenerateHandler: thinking refused before a load, not before an unload
        ollama.reasoning_effort(body.think, model, name)
    if not body.prompt:  # Ollama's "load the model" request (GenerateHandler: an empty prompt, images or not)
        return json_response({
            "model": name, "created_at": created_at(ctx.clock), "response": "",
            "done": True, "done_reason": "unload" if unload else "load",
        })
    spec, conversation = ollama.generate_spec(body, model, name)
    thinking = body.think is not False
    return await respond(ctx, spec, name, timings, key="response", streaming=body.streaming, thinking=thinking,
                         conversation=conversation)
