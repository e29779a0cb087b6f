"""Hybrid search over vector stores: what ``POST /v1/vector_stores/{id}/search`` and the ``file_search``
tool (Responses, Assistants) both call.

For each query, two rankings of the stores' chunks: **semantic** (the query's embedding against the
vector index, cosine) and **keyword** (FTS5's BM25 over the chunks' words, porter-stemmed). They are
fused by reciprocal rank fusion — a chunk scores ``Σ weight / (60 + rank)`` over every ranking it
appears in — and the best fused candidates are **reranked** by Workers AI's reranker
(``@cf/baai/bge-reranker-base``), whose relevance (0–1) becomes the result's ``score``. With
``ranker: "none"`` the score is the fused score divided by the best one possible (first in every
ranking), also 0–1. Results under ``score_threshold`` are dropped; at most ``max_num_results`` remain.

Without a vector index (``Backends.vectors`` None) the keyword ranking stands alone.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..context import AppContext
from ..errors import InvalidRequest, NotFound, UpstreamError
from ..ports import MetadataValue
from ..repositories import chunks, vector_store_files, vector_stores
from ..repositories.chunks import Found
from ..repositories.vector_stores import StoreRow
from ..types.vector_stores import Filter, RankingOptions
from ..workers_ai.embeddings import embed
from .attribute_filters import matches

log = logging.getLogger(__name__)

RERANKER = "@cf/baai/bge-reranker-base"
RRF_K = 60
CANDIDATES = 50
"""Chunks each ranking contributes (100, Vectorize's most, when a filter may drop many of them)."""
RERANK_MIN = 20
"""Fused candidates the reranker sees: twice ``max_num_results``, and at least this many."""
PUSHED_FILE_IDS = 40
"""A filter matching at most this many files is sent to the vector index as ``file_id $in`` (its
filter must stay under 2 KB); a broader one is applied to a larger candidate set afterwards."""
TOUCH_EVERY = 60
"""Seconds between updates of a searched store's ``last_active_at`` (and so of its expiry)."""
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does did for from has have how i in is it its me my of on or "
    "please should tell that the their there this to was what when where which who why will with would you your".split()
)


@dataclass(frozen=True, slots=True)
class Result:
    """One chunk found: what a search result, a ``file_search_call`` result and a citation need."""

    file_id: str
    filename: str
    score: float
    attributes: dict[str, MetadataValue]
    text: str
    vector_store_id: str = ""
    chunk_index: int = 0
    content: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.content:
            self.content.append({"type": "text", "text": self.text})


_WORD = re.compile(r"\w+")


def rewrite(query: str) -> str:
    """``rewrite_query``: the query reduced to its keywords (question words and filler dropped), or
    the query itself when nothing would be left. Deterministic; no model is called."""
    words = [w for w in _WORD.findall(query) if w.lower() not in _STOPWORDS]
    return " ".join(words) or query.strip()


async def keep_active(ctx: AppContext, store: StoreRow) -> None:
    """The store is in use (searched, or part of a run): its ``last_active_at`` is now, and its expiry
    moves with it; at most once every :data:`TOUCH_EVERY` seconds (not one D1 write per search)."""
    now = ctx.now()
    if now - store.last_active_at >= TOUCH_EVERY:
        await vector_stores.touch(ctx.backends.db, store.id, now)


async def file_search(
    ctx: AppContext,
    vector_store_ids: Sequence[str],
    query: str | Sequence[str],
    *,
    max_num_results: int = 10,
    filters: Filter | None = None,
    ranking_options: RankingOptions | None = None,
    owner: str | None,
    rewrite_query: bool = False,
    skip_gone: bool = False,
) -> list[Result]:
    """The best chunks of the caller's stores for ``query`` (a string or several), best first.

    Raises ``NotFound`` (param ``vector_store_ids``) for a store the caller cannot see,
    ``InvalidRequest`` for an expired store or an empty query; with ``skip_gone`` (the file_search
    tool, whose stores were checked when the request was made), a store deleted or expired since is
    left out instead. ``queries_for`` gives the queries actually searched (what a ``file_search_call``
    reports)."""
    db = ctx.backends.db
    max_num_results = max(1, min(50, max_num_results))  # OpenAI's bounds, for callers that did not check
    queries = queries_for(query, rewrite_query)
    now = ctx.now()
    store_ids = []
    for store_id in dict.fromkeys(vector_store_ids):
        store = await vector_stores.get(db, store_id, owner)
        if store is None or store.expired(now):
            if skip_gone:
                continue
            if store is None:
                raise NotFound(f"No vector store found with id '{store_id}'.", param="vector_store_ids")
            raise InvalidRequest(f"Vector store {store_id} has expired.", param="vector_store_ids")
        await keep_active(ctx, store)
        store_ids.append(store_id)
    if not store_ids:
        return []
    allowed = await _allowed_files(ctx, store_ids, filters)
    if allowed is not None and not allowed:
        return []
    options = ranking_options or RankingOptions()
    weights = options.hybrid_search
    semantic_weight = float(weights.embedding_weight) if weights else 1.0
    keyword_weight = float(weights.text_weight) if weights else 1.0

    rankings: list[tuple[float, list[Found]]] = []
    if ctx.backends.vectors is not None and semantic_weight > 0:
        for ranked in await _semantic(ctx, store_ids, queries, allowed):
            rankings.append((semantic_weight, ranked))
    if keyword_weight > 0 or not rankings:
        limit = CANDIDATES if allowed is None else 2 * CANDIDATES
        for q in queries:
            found = await chunks.keyword_search(db, store_ids, q, limit)
            rankings.append((keyword_weight or 1.0, _only(found, allowed)))

    fused = _fuse(rankings)
    if not fused:
        return []
    best_possible = sum(w for w, _ in rankings) / (RRF_K + 1)
    candidates = fused[: max(2 * max_num_results, RERANK_MIN)]
    scores = {f.vector_id: s / best_possible for f, s in candidates}
    if options.ranker != "none":
        scores = await _rerank(ctx, " ".join(queries), [f for f, _ in candidates]) or scores
    threshold = float(options.score_threshold or 0)
    ordered = sorted((f for f, _ in candidates), key=lambda f: (-scores[f.vector_id], f.vector_id))
    return [
        Result(f.file_id, f.filename, round(min(1.0, max(0.0, scores[f.vector_id])), 6), f.attributes, f.text,
               f.vector_store_id, f.index)
        for f in ordered if scores[f.vector_id] >= threshold
    ][:max_num_results]


def queries_for(query: str | Sequence[str], rewrite_query: bool = False) -> list[str]:
    """The queries a search runs: ``query`` as a list, each rewritten when asked; a 400 when empty."""
    queries = [query] if isinstance(query, str) else list(query)
    queries = [q.strip() for q in queries if q.strip()]
    if not queries:
        raise InvalidRequest("Invalid value for 'query': expected a non-empty string.", param="query")
    return [rewrite(q) for q in queries] if rewrite_query else queries


async def _allowed_files(ctx: AppContext, store_ids: list[str], filters: Filter | None) -> set[str] | None:
    """``store/file`` keys of the files that pass ``filters``; None when there is no filter."""
    if filters is None:
        return None
    rows = await vector_store_files.in_store(ctx.backends.db, store_ids)
    return {f"{r.vector_store_id}/{r.id}" for r in rows if matches(filters, r.attributes)}


def _only(found: list[Found], allowed: set[str] | None) -> list[Found]:
    if allowed is None:
        return found
    return [f for f in found if f"{f.vector_store_id}/{f.file_id}" in allowed][:CANDIDATES]


async def _semantic(
    ctx: AppContext, store_ids: list[str], queries: list[str], allowed: set[str] | None
) -> list[list[Found]]:
    """One ranking per query from the vector index (chunks of completed files only)."""
    index = ctx.backends.vectors
    assert index is not None
    model = ctx.catalog.resolve(ctx.settings.vector_store_embedding_model, task="text-embeddings")
    values, _ = await embed(ctx.backends.ai, model, queries)
    where: dict[str, Any] = {"vector_store_id": {"$in": store_ids}}
    top_k = CANDIDATES
    if allowed is not None:
        file_ids = sorted({key.partition("/")[2] for key in allowed})
        if len(file_ids) <= PUSHED_FILE_IDS:
            where["file_id"] = {"$in": file_ids}
        else:
            top_k = 2 * CANDIDATES
    out = []
    for vector in values:
        found_ids = [m.id for m in await index.query(vector, top_k=top_k, filter=where)]
        rows = await chunks.by_vector_ids(ctx.backends.db, found_ids)
        out.append(_only([rows[i] for i in found_ids if i in rows], allowed))
    return out


def _fuse(rankings: list[tuple[float, list[Found]]]) -> list[tuple[Found, float]]:
    """Reciprocal rank fusion: each chunk's ``Σ weight / (60 + rank)``, best first (ties: by vector id)."""
    scores: dict[str, float] = {}
    chunk_of: dict[str, Found] = {}
    for weight, ranked in rankings:
        for rank, found in enumerate(ranked, start=1):
            scores[found.vector_id] = scores.get(found.vector_id, 0.0) + weight / (RRF_K + rank)
            chunk_of[found.vector_id] = found
    order = sorted(scores, key=lambda v: (-scores[v], v))
    return [(chunk_of[v], scores[v]) for v in order]


async def _rerank(ctx: AppContext, query: str, candidates: list[Found]) -> dict[str, float] | None:
    """The reranker's relevance (0–1) of each candidate; None when the reranker fails (the fused
    scores then stand, and the failure is logged)."""
    try:
        output = await ctx.backends.ai.run(RERANKER, {"query": query, "contexts": [{"text": f.text} for f in candidates]})
    except UpstreamError as exc:
        log.warning("the reranker failed; keeping the fused order: %s", exc.message)
        return None
    scored = output.get("response") if isinstance(output, dict) else None
    if not isinstance(scored, list):
        log.warning("the reranker answered without a response list; keeping the fused order")
        return None
    out: dict[str, float] = {}
    for entry in scored:
        if isinstance(entry, dict) and isinstance(entry.get("id"), int) and 0 <= entry["id"] < len(candidates):
            score = float(entry.get("score") or 0.0)
            out[candidates[entry["id"]].vector_id] = score if 0 <= score <= 1 else 1 / (1 + math.exp(-max(-50.0, min(50.0, score))))
    for found in candidates:  # a context the reranker left out ranks last
        out.setdefault(found.vector_id, 0.0)
    return out
