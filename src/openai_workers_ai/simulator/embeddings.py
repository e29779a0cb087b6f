"""Simulated text-embeddings models (bge, bge-m3, embeddinggemma, qwen3-embedding, plamo).

Inputs are validated as the model schemas state: ``text`` a string or an array
of strings (bge/bge-m3/qwen3: each at least 1 character), at most the model's
``max_batch`` items (bge family and bge-m3: 100, qwen3-embedding: 32 per
``text``/``queries``/``documents``); bge takes ``pooling`` ``mean``|``cls``; bge-m3 also
``{query?, contexts:[{text}]}``. Outputs have each family's exact shape:
``{shape:[n, dim], data, pooling}`` (bge), ``{shape, data}``
(bge-m3, embeddinggemma, qwen3, plamo), bge-m3 contexts ``{response: [[…]], shape}``
and query scores ``{response: [{id, score}]}``.

Conventions: every vector is unit length, of the model's dimension, and a pure
function of (model, pooling, text), so the same text always embeds the same way. Texts that
share words get a higher cosine similarity: each distinct word (lowercased, letters and digits)
adds ``1 + log(count)`` to 8 signed dimensions chosen by hashing it (common English words a
tenth of that), and a small part drawn from SHAKE-256 of the whole text (read as signed 16-bit
integers) keeps texts with the same words apart and every prefix of the vector non-zero.
A text ``fail:<status>`` fails the call like Workers AI does with that status.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections import Counter
from functools import lru_cache
from typing import Any

from ..catalog import ModelInfo
from .failures import failure_for, invalid_input


def _is_bge(info: ModelInfo) -> bool:
    return info.id.startswith("@cf/baai/")


_WORD = re.compile(r"\w+")
FEATURES_PER_WORD = 8
NOISE = 0.1
"""The weight of the whole-text part against the words' (both unit length before mixing)."""
COMMON = frozenset(
    "a an and are as at be by can could did do does for from has have how i in is it its me my of on or our "
    "please should tell that the their there this to us was we were what when where which who why will with "
    "would you your".split()
)
"""Words that say little about a text: a tenth of a word's weight (the reranker's too)."""


@lru_cache(maxsize=65536)
def _features(model: str, pooling: str, word: str, dim: int) -> tuple[tuple[int, float], ...]:
    digest = hashlib.blake2b(f"{model}\x00{pooling}\x00{word}".encode(), digest_size=4 * FEATURES_PER_WORD).digest()
    out = []
    for i in range(FEATURES_PER_WORD):
        number = int.from_bytes(digest[4 * i : 4 * i + 4], "little")
        out.append((number % dim, 1.0 if number & 0x80000000 else -1.0))
    return tuple(out)


def _unit(values: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(v * v for v in values))
    return [v / norm for v in values] if norm > 0 else values


def vector(model: str, text: str, dim: int, pooling: str = "mean") -> list[float]:
    """A deterministic unit vector of ``dim`` values for ``text``: the more words two texts share,
    the closer their vectors."""
    raw = hashlib.shake_256(f"{model}\x00{pooling}\x00{text}".encode()).digest(2 * dim)
    noise = _unit([float(v) for v in struct.unpack(f"<{dim}h", raw)])
    words = Counter(w.lower() for w in _WORD.findall(text))
    if not words:
        return noise
    lexical = [0.0] * dim
    for word, count in words.items():
        weight = (1.0 + math.log(count)) * (0.1 if word in COMMON else 1.0)
        for index, sign in _features(model, pooling, word, dim):
            lexical[index] += sign * weight
    lexical = _unit(lexical)
    return _unit([w + NOISE * n for w, n in zip(lexical, noise, strict=True)])


def _texts(info: ModelInfo, inputs: dict[str, Any], name: str, limit: int | None) -> list[str]:
    value = inputs[name]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise invalid_input(f"Type mismatch of '/{name}', 'string' or 'array of strings' expected")
    if limit is not None and len(items) > limit:
        raise invalid_input(f"'/{name}' must NOT have more than {limit} items")
    if _is_bge(info) or info.family == "qwen3-embedding":  # their schemas: minLength 1
        for i, text in enumerate(items):
            if not text:
                where = f"/{name}" if isinstance(value, str) else f"/{name}/{i}"
                raise invalid_input(f"'{where}' must NOT have fewer than 1 characters")
    for text in items:
        if text.startswith("fail:") and text[5:].strip().isdigit():
            raise failure_for(int(text[5:].strip()))
    return items


def run(info: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    dim = info.dimensions or 768
    if info.family == "bge-m3" and "contexts" in inputs and "text" not in inputs:
        return _bge_m3_contexts(info, inputs, dim)
    if info.family == "qwen3-embedding":
        names = [n for n in ("queries", "documents", "text") if inputs.get(n) is not None]
        if not names:
            raise invalid_input("required properties at '/' are 'text' or 'queries' or 'documents'")
        texts = [t for n in names for t in _texts(info, inputs, n, info.max_batch)]
        data = [vector(info.id, t, dim) for t in texts]
        return {"data": data, "shape": [len(data), dim]}
    if inputs.get("text") is None:
        raise invalid_input("required properties at '/' are 'text'")
    texts = _texts(info, inputs, "text", info.max_batch)
    if info.family == "embeddings" and _is_bge(info):
        pooling = inputs.get("pooling", "mean")
        if pooling not in ("mean", "cls"):
            raise invalid_input("'/pooling' must be equal to one of the allowed values: mean, cls")
        data = [vector(info.id, t, dim, pooling) for t in texts]
        return {"shape": [len(data), dim], "data": data, "pooling": pooling}
    data = [vector(info.id, t, dim) for t in texts]
    return {"shape": [len(data), dim], "data": data}


def _bge_m3_contexts(info: ModelInfo, inputs: dict[str, Any], dim: int) -> dict[str, Any]:
    contexts = inputs["contexts"]
    if not isinstance(contexts, list) or not all(
        isinstance(c, dict) and isinstance(c.get("text"), str) and c["text"] for c in contexts
    ):
        raise invalid_input("'/contexts' must be an array of objects with a non-empty 'text'")
    vectors = [vector(info.id, c["text"], dim) for c in contexts]
    query = inputs.get("query")
    if query is None:
        return {"response": vectors, "shape": [len(vectors), dim]}
    if not isinstance(query, str) or not query:
        raise invalid_input("'/query' must NOT have fewer than 1 characters")
    q = vector(info.id, query, dim)
    scores = [sum(a * b for a, b in zip(q, v, strict=True)) for v in vectors]
    return {"response": [{"id": i, "score": s} for i, s in enumerate(scores)]}
