"""``POST /api/embed`` and the older ``POST /api/embeddings``, over the shared embeddings translator."""

from __future__ import annotations

from json import dumps

from starlette.requests import Request
from starlette.responses import Response

from ...context import context
from ...errors import InvalidRequest, ModelNotFound
from ...replies import json_response
from ...translate import ollama_models
from ...translate.embeddings import to_json_floats
from ...translate.ollama_replies import Timings
from ...types.embeddings import MAX_INPUTS
from ...types.ollama import EmbeddingRequest, EmbedRequest
from ...validation import ollama_options, parse_ollama
from ...workers_ai.embeddings import embed, shorten
from ...workers_ai.spec import estimate_tokens


async def create(request: Request) -> Response:
    timings = Timings()
    ctx = context(request)
    body = await parse_ollama(request, EmbedRequest)
    if not body.model:  # no default embedding model: Ollama's EmbedHandler's 404, model '' not found
        raise ModelNotFound("")
    model = ollama_models.resolve(ctx.catalog, body.model, "text-embeddings", "embeddings")
    ollama_options(body.options)  # read as Ollama's EmbedHandler reads them, after the model's lookup; no effect
    name = body.model
    texts = ([body.input] if body.input else []) if isinstance(body.input, str) else list(body.input)
    if len(texts) > MAX_INPUTS:
        raise InvalidRequest(f"invalid input: at most {MAX_INPUTS} inputs may be embedded in one request")
    if any(not t for t in texts):
        raise InvalidRequest("invalid input: an input string is empty")
    if body.truncate is False and model.context_window:
        if any(estimate_tokens(text) > model.context_window for text in texts):
            # Ollama's runner's errorInputTooLong (runner/ollamarunner/runner.go), its 400 word for word: clients
            # look for it to split their input.
            raise InvalidRequest("the input length exceeds the context length")
    if not texts:  # Ollama's EmbedHandler answers before it embeds: no durations nor count (zero: omitted)
        return json_response({"model": name, "embeddings": []})
    timings.call()
    vectors, tokens = await embed(ctx.backends.ai, model, texts)
    # As Ollama's EmbedHandler: every vector is scaled to unit length, and cut first to 0 < dimensions <
    # its length (other values leave it whole; never a 400). The older /api/embeddings does neither.
    dimensions = body.dimensions or 0
    vectors = [shorten(v, dimensions if 0 < dimensions < len(v) else len(v)) for v in vectors]
    metrics = timings.metrics(None)
    # Written by hand: vectors at float32 precision (Ollama's []float32), as /v1/embeddings writes them.
    arrays = ",".join(map(to_json_floats, vectors))
    payload = (
        f'{{"model":{dumps(name, ensure_ascii=False)},"embeddings":[{arrays}],'
        f'"total_duration":{metrics["total_duration"]},"load_duration":{metrics["load_duration"]},'
        f'"prompt_eval_count":{tokens}}}'
    )
    return Response(payload, media_type="application/json")


async def legacy(request: Request) -> Response:
    """``/api/embeddings``: one ``prompt`` → ``{"embedding": [...]}`` (empty for an empty prompt)."""
    ctx = context(request)
    body = await parse_ollama(request, EmbeddingRequest)
    if not (body.model or "").strip():  # as Ollama's EmbeddingsHandler (its model names are trimmed first)
        raise InvalidRequest("model is required")
    model = ollama_models.resolve(ctx.catalog, body.model, "text-embeddings", "embeddings")
    ollama_options(body.options)  # as Ollama's EmbeddingsHandler, after the model's lookup, before an empty prompt
    if not body.prompt:
        return json_response({"embedding": []})
    vectors, _ = await embed(ctx.backends.ai, model, [body.prompt])
    return Response(f'{{"embedding":{to_json_floats(vectors[0])}}}', media_type="application/json")
