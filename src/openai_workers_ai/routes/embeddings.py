"""``POST /v1/embeddings``: one vector per input, in order, as floats or base64."""

from __future__ import annotations

from json import dumps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import AppContext, context
from ..errors import InvalidRequest
from ..translate.embeddings import to_base64, to_json_floats
from ..types.embeddings import MAX_INPUTS, CreateEmbeddingRequest
from ..validation import parse_json
from ..workers_ai.embeddings import check_dimensions, embed
from ..workers_ai.vocabularies import decoded, is_token_array

MAX_INPUT_TOKENS = 8192  # per input, OpenAI's embedding models' context
MAX_REQUEST_TOKENS = 300_000  # summed over a request's inputs


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateEmbeddingRequest, task="text-embeddings")
    inputs = embedding_inputs(body.input)
    model = ctx.catalog.resolve(body.model, task="text-embeddings")
    check_dimensions(model, body.dimensions)
    texts, counted = await _texts(ctx, body.model, inputs)
    vectors, estimated = await embed(ctx.backends.ai, model, texts, body.dimensions)
    prompt_tokens = estimated if counted is None else counted
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


async def _texts(ctx: AppContext, model: str, inputs: list[str] | list[list[int]]) -> tuple[list[str], int | None]:
    """The inputs as text, and their exact token count when they came as token ids (decoded with the
    encoding of the OpenAI model the request names: ``workers_ai/vocabularies.py``)."""
    if all(isinstance(item, str) for item in inputs):
        return inputs, None  # type: ignore[return-value]  # all strings
    arrays: list[list[int]] = inputs  # type: ignore[assignment]  # the other shape: all token arrays
    return await decoded(ctx, model, arrays, "input"), sum(map(len, arrays))


def embedding_inputs(value: Any) -> list[str] | list[list[int]]:
    """``input`` as non-empty strings or non-empty token arrays (``[int]`` is one array), or the 400
    OpenAI gives for it (the spec's ``CreateEmbeddingRequest.input``: at most 2048 items, each token
    array at most 8192 tokens, 300,000 tokens in all)."""
    if isinstance(value, str):
        if not value:
            raise _invalid("input", "an input cannot be an empty string")
        return [value]
    if not isinstance(value, list):
        raise _invalid("input", "expected a string, an array of strings, or token arrays")
    if not value:
        raise _invalid("input", "the array of inputs must not be empty")
    if is_token_array(value):
        value = [value]
    elif len(value) > MAX_INPUTS:
        raise _invalid("input", f"at most {MAX_INPUTS} inputs may be sent in one request")
    if isinstance(value[0], list):
        return _token_arrays(value)
    strings: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _invalid(f"input[{i}]", "expected a string (inputs are all strings or all token arrays)")
        if not item:
            raise _invalid(f"input[{i}]", "an input cannot be an empty string")
        strings.append(item)
    return strings


def _token_arrays(arrays: list[list[Any]]) -> list[list[int]]:
    single = len(arrays) == 1
    for i, ids in enumerate(arrays):
        where = "input" if single else f"input[{i}]"
        if not isinstance(ids, list):
            raise _invalid(where, "expected an array of integer token ids (inputs are all strings or all token arrays)")
        if not is_token_array(ids):
            bad = next((k for k, v in enumerate(ids) if type(v) is not int), None)
            if bad is None:
                raise _invalid(where, "a token array must not be empty")
            raise _invalid(f"{where}[{bad}]", "expected an integer token id")
        if len(ids) > MAX_INPUT_TOKENS:
            raise InvalidRequest(
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested "
                f"{len(ids)} tokens in {where}. Please reduce your prompt.", param=where)
    total = sum(map(len, arrays))
    if total > MAX_REQUEST_TOKENS:
        raise InvalidRequest(
            f"Requested {total} tokens, max {MAX_REQUEST_TOKENS} tokens per request.", param="input",
            code="max_tokens_per_request")
    return arrays


def _invalid(param: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"'$.{param}' is invalid: {why}.", param=param)
