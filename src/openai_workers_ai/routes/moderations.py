"""``POST /v1/moderations``: each input classified by Llama Guard 3, in OpenAI's result shape."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest
from ..fanout import gather_bounded
from ..ids import moderation_id
from ..replies import json_response
from ..runner.moderation import moderation_model
from ..translate import moderations
from ..types.moderations import CreateModerationRequest
from ..validation import parse_json

DEFAULT_MODEL = "omni-moderation-latest"
MAX_INPUTS = 32  # strings per request: each is one Llama Guard call


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateModerationRequest, task="text-generation")
    texts = input_texts(body.input)
    model = moderation_model(ctx, body.model or DEFAULT_MODEL, "model")
    ai = ctx.backends.ai
    outputs = await gather_bounded([partial(ai.run, model.id, moderations.guard_inputs(t)) for t in texts])
    results = [moderations.result(*moderations.verdict(output)) for output in outputs]
    return json_response({"id": moderation_id(), "model": model.id, "results": results})


def input_texts(value: Any) -> list[str]:
    """A string → one input; a list of strings → one each; a list of parts → one input (their text)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise InvalidRequest(
            "Invalid value for 'input': expected a string, an array of strings or an array of "
            "multi-modal inputs.", param="input",
        )
    if all(isinstance(v, str) for v in value):
        if len(value) > MAX_INPUTS:
            raise InvalidRequest(
                f"Invalid value for 'input': at most {MAX_INPUTS} inputs per request.", param="input"
            )
        return value
    texts = []
    for i, part in enumerate(value):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            raise InvalidRequest(
                "Image inputs are not supported: Llama Guard 3 8B classifies text only.",
                param=f"input[{i}]", code="unsupported_value",
            )
        else:
            raise InvalidRequest(
                f"Invalid value for 'input[{i}]': expected a string or a {{type: 'text', text}} part.",
                param=f"input[{i}]",
            )
    return ["\n".join(texts)]
