"""Text embeddings over Workers AI, shared by OpenAI's ``/v1/embeddings`` and Ollama's ``/api/embed``.

:func:`embed` takes the texts in order and returns one vector per text in the
same order: batches larger than the model's ``max_batch`` are split and run
concurrently; ``dimensions`` shortens Matryoshka-trained models' vectors
(truncate, then renormalise to unit length) and is refused for the others.
Workers AI reports no token usage for embeddings, so ``prompt_tokens`` is the
gateway's estimate (:func:`.spec.estimate_tokens`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

from ..catalog import ModelInfo
from ..errors import InvalidRequest, UpstreamError
from ..fanout import MAX_IN_FLIGHT, gather_bounded
from ..ports import AI
from .spec import estimate_tokens

DEFAULT_MAX_BATCH = 32
"""Inputs per Workers AI call for models whose schema states no limit."""
MAX_CONCURRENT = MAX_IN_FLIGHT
"""Workers AI calls in flight per request (a Worker has 6 simultaneous outbound connections)."""


def is_matryoshka(model: ModelInfo) -> bool:
    """Whether the model's vectors may be cut to fewer ``dimensions`` (Matryoshka-trained)."""
    return bool(model.extra.get("matryoshka"))


def check_dimensions(model: ModelInfo, dimensions: int | None, param: str = "dimensions") -> None:
    """400 unless the model can produce vectors of ``dimensions`` entries."""
    if dimensions is None or dimensions == model.dimensions:
        return
    if dimensions < 1:
        raise InvalidRequest(f"Invalid value for '{param}': must be at least 1.", param=param)
    if not is_matryoshka(model):
        raise InvalidRequest(
            f"This model does not support specifying dimensions: `{model.id}` always returns "
            f"{model.dimensions or 'its native number of'} dimensions (only Matryoshka-trained "
            "models such as @cf/google/embeddinggemma-300m and @cf/qwen/qwen3-embedding-0.6b "
            "can be shortened).",
            param=param,
        )
    if model.dimensions is not None and dimensions > model.dimensions:
        raise InvalidRequest(
            f"Invalid value for '{param}': `{model.id}` produces at most {model.dimensions} dimensions.",
            param=param,
        )


def model_inputs(model: ModelInfo, texts: list[str]) -> dict[str, Any]:
    """The Workers AI input for one batch (every embeddings family takes ``text``)."""
    # qwen3-embedding: ``text`` is its alias for ``documents`` (no query instruction applied).
    return {"text": texts}


def vectors_of(output: Any, expected: int) -> list[list[float]]:
    """The vectors of a Workers AI embeddings output (``data``, or bge-m3's ``response``)."""
    data = output.get("data") if isinstance(output, dict) else None
    if data is None and isinstance(output, dict) and isinstance(output.get("response"), list):
        data = output["response"]
    if not isinstance(data, list) or len(data) != expected:
        got = len(data) if isinstance(data, list) else "no"
        raise UpstreamError(f"Workers AI returned {got} embeddings for {expected} inputs.")
    return data


def shorten(vector: Sequence[float], dimensions: int) -> list[float]:
    """The first ``dimensions`` entries, renormalised to unit length (Matryoshka truncation)."""
    head = list(vector[:dimensions])
    norm = math.sqrt(math.fsum(x * x for x in head))
    return [x / norm for x in head] if norm > 0 else head


def batches(texts: Sequence[str], size: int) -> list[list[str]]:
    """``texts`` in runs of at most ``size`` (one Workers AI call each)."""
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


async def embed(
    ai: AI, model: ModelInfo, texts: Sequence[str], dimensions: int | None = None
) -> tuple[list[list[float]], int]:
    """One vector per text, in order, and the (estimated) prompt tokens.

    Raises :class:`InvalidRequest` for an unsupported ``dimensions`` (call
    :func:`check_dimensions` first to report it against your own ``param``).
    """
    check_dimensions(model, dimensions)
    size = model.max_batch or DEFAULT_MAX_BATCH
    groups = batches(texts, size)
    outputs = await gather_bounded([partial(ai.run, model.id, model_inputs(model, g)) for g in groups], MAX_CONCURRENT)
    vectors: list[list[float]] = []
    for group, output in zip(groups, outputs, strict=True):
        vectors.extend(vectors_of(output, len(group)))
    if dimensions is not None and dimensions != len(vectors[0] if vectors else []):
        vectors = [shorten(v, dimensions) for v in vectors]
    return vectors, sum(estimate_tokens(t) for t in texts)
