"""``POST /api/generate``: Ollama completion of a prompt, streamed as NDJSON by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...context import AppContext, context
from ...errors import ModelNotFound
from ...replies import json_response
from ...translate import ollama, ollama_models
from ...translate.ollama_replies import Timings, created_at
from ...types.ollama import GenerateRequest
from ...validation import ollama_options, parse_ollama
from ._respond import respond


async def create(request: Request) -> Response:
    timings = Timings()
    ctx = context(request)
    body = await parse_ollama(request, GenerateRequest)
    name = body.model or ""
    if not name.strip():  # no default model: Ollama's GenerateHandler's 404 (server/routes.go), model '' not found
        raise ModelNotFound(name)
    model = ollama_models.resolve(ctx.catalog, name, "text-generation", "generate")
    if not body.prompt and ollama.unloads(body.keep_alive):  # Ollama's unload: before thinking and options
        return _loaded(ctx, name, "unload")
    ollama.reasoning_effort(body.think, model, name)  # as Ollama's GenerateHandler: thinking refused before a
    options = ollama_options(body.options)  # load, then the options read (its scheduleRunner)
    if not body.prompt:  # Ollama's "load the model" request (GenerateHandler: an empty prompt, images or not)
        return _loaded(ctx, name, "load")
    spec, conversation = ollama.generate_spec(body, model, name, options)
    thinking = body.think is not False
    return await respond(ctx, spec, name, timings, key="response", streaming=body.streaming, thinking=thinking,
                         conversation=conversation)


def _loaded(ctx: AppContext, name: str, reason: str) -> Response:
    return json_response({
        "model": name, "created_at": created_at(ctx.clock), "response": "", "done": True, "done_reason": reason,
    })
