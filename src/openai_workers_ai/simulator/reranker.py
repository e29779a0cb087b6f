"""The simulated reranker (``@cf/baai/bge-reranker-base``): ``{query, contexts: [{text}], top_k?}`` →
``{response: [{id, score}]}``, best first.

Deterministic: a context's score grows with the share of the query's distinct words it contains
(common English words count a tenth) and, a little, with how much of the context those words
make up, squashed into 0–1 by the logistic function. A query ``fail:<status>`` fails the call.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..catalog import ModelInfo
from .embeddings import COMMON
from .failures import failure_for, invalid_input

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def relevance(query: str, text: str) -> float:
    """The simulated relevance of ``text`` to ``query``, in (0, 1)."""
    asked = set(_words(query))
    found = _words(text)
    if not asked or not found:
        return 1 / (1 + math.exp(4))
    present = set(found)
    weight = {w: 0.1 if w in COMMON else 1.0 for w in asked}
    overlap = sum(weight[w] for w in asked if w in present) / sum(weight.values())
    density = sum(1 for w in found if w in asked and w not in COMMON) / len(found)
    return 1 / (1 + math.exp(-(8 * overlap + 4 * density - 4)))


def run(info: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    query, contexts, top_k = inputs.get("query"), inputs.get("contexts"), inputs.get("top_k")
    if not isinstance(query, str) or not query:
        raise invalid_input("required properties at '/' are 'query'" if query is None
                            else "'/query' must be a string of at least 1 character")
    if query.startswith("fail:") and query[5:].strip().isdigit():
        raise failure_for(int(query[5:].strip()))
    if not isinstance(contexts, list) or not all(isinstance(c, dict) and isinstance(c.get("text"), str)
                                                 for c in contexts):
        raise invalid_input("'/contexts' must be an array of objects with a 'text' string")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise invalid_input("'/top_k' must be an integer >= 1")
    scored = [{"id": i, "score": relevance(query, c["text"])} for i, c in enumerate(contexts)]
    scored.sort(key=lambda s: (-s["score"], s["id"]))
    return {"response": scored[:top_k] if top_k is not None else scored}
