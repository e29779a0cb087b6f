"""``POST /v1/embeddings``: one vector per input, in order, as floats or base64."""

from __future__ import annotations

from json import dumps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest
from ..translate.embeddings import to_base64, to_json_floats
from ..types.embeddings import CreateEmbeddingRequest
from ..validation import parse_json
from ..workers_ai.embeddings import MAX_INPUTS, check_dimensions, embed


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateEmbeddingRequest)
    texts = input_texts(body.input)
    model = ctx.catalog.resolve(body.model, task="text-embeddings")
    check_dimensions(model, body.dimensions)
    vectors, prompt_tokens = await embed(ctx.backends.ai, model, texts, body.dimensions)
    # Written by hand: formatting ~10⁵ floats is most of this endpoint's own cost.
    if body.encoding_format == "base64":
        encoded = ['"' + to_base64(v) + '"' for v in vectors]
    else:
        encoded = [to_json_floats(v) for v in vectors]
    data = ",".join(
        f'{{"object":"embedding","index":{i},"embedding":{e}}}' for i, e in enumerate(encoded)
    )
    tail = dumps(
        {"model": model.id, "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}},
        separators=(",", ":"), ensure_ascii=False,
    )
    return Response(f'{{"object":"list","data":[{data}],{tail[1:]}', media_type="application/json")


def input_texts(value: Any) -> list[str]:
    """``input`` as a list of non-empty strings, or the 400 OpenAI gives for it."""
    if isinstance(value, str):
        if not value:
            raise _invalid("input", "an input cannot be an empty string")
        return [value]
    if not isinstance(value, list):
        raise _invalid("input", "expected a string or an array of strings")
    if not value:
        raise _invalid("input", "the array of inputs must not be empty")
    if len(value) > MAX_INPUTS:
        raise _invalid("input", f"at most {MAX_INPUTS} inputs may be sent in one request")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value) or all(
        isinstance(v, list) for v in value
    ):
        raise InvalidRequest(
            "Token arrays are not supported for `input`: Workers AI embedding models take text "
            "and their tokenizers are not OpenAI's. Send the input as a string or a list of strings.",
            param="input",
            code="unsupported_value",
        )
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _invalid(f"input[{i}]", "expected a string")
        if not item:
            raise _invalid(f"input[{i}]", "an input cannot be an empty string")
    return value


def _invalid(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"'$.{param}' is invalid: {why}.", param=param)
