"""What ``/api/chat`` and ``/api/generate`` share: running a spec and answering as Ollama does."""

from __future__ import annotations

from starlette.responses import Response

from ...context import AppContext
from ...errors import InvalidRequest
from ...replies import json_response
from ...streaming import ndjson_response, primed
from ...translate import ollama, ollama_context, ollama_replies
from ...translate.ollama_replies import Key, Timings
from ...workers_ai import pipeline
from ...workers_ai.spec import ChatSpec


async def respond(
    ctx: AppContext, spec: ChatSpec, name: str, timings: Timings, *, key: Key, streaming: bool, thinking: bool,
    conversation: tuple[ollama_context.Turn, ...] | None = None,
) -> Response:
    """Run ``spec``: NDJSON objects as they come, or (``stream: false``) the one object they merge into; with
    a generate's ``conversation``, the ``done: true`` object carries its ``context``, the answer added."""
    timings.call()
    try:
        events = await primed(pipeline.stream(ctx, spec))
    except InvalidRequest as error:
        raise ollama.reworded(error) from None
    objects = ollama_replies.objects(name, events, timings, key=key, thinking=thinking, clock=ctx.clock)
    if conversation is not None:
        objects = ollama_context.attach(objects, conversation)
    if streaming:
        return ndjson_response(objects)
    return json_response(await ollama_replies.collect(objects, key))
