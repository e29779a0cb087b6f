"""Hybrid search: semantic and keyword rankings fused, then reranked, on a small corpus whose best
answer is known; filters, thresholds, the ranker switched off, several stores; and ``file_search``
called directly, as Responses and Assistants will call it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from openai_workers_ai.auth import key_hash
from openai_workers_ai.errors import NotFound
from openai_workers_ai.runner import file_search as search_module
from openai_workers_ai.runner.file_search import Result, file_search, rewrite
from openai_workers_ai.types.vector_stores import ComparisonFilter, CompoundFilter, RankingOptions
from openai_workers_ai.validation import validate

from .conftest import KEY, OTHER_KEY
from .openapi import assert_matches
from .vector_stores_util import store_with

CORPUS = {
    "passwords.md": "# Resetting your password\n\nTo reset a forgotten password, open Settings, choose Security "
                    "and press Reset password. A reset link arrives by email within five minutes.",
    "billing.md": "# Invoices\n\nInvoices are emailed on the first day of each month. Download past invoices "
                  "from the Billing page.",
    "security.md": "# Two-factor authentication\n\nTurn on two-factor authentication in Settings under Security "
                   "to protect your account.",
    "holidays.txt": "The office is closed on public holidays. Support answers email the next working day.",
}
ATTRIBUTES = {
    "passwords.md": {"topic": "account", "year": 2024, "public": True},
    "billing.md": {"topic": "billing", "year": 2023, "public": True},
    "security.md": {"topic": "account", "year": 2022, "public": False},
}


async def corpus_store(client: httpx.AsyncClient, app: Any) -> tuple[str, dict[str, str]]:
    store_id, ids = await store_with(client, app, CORPUS)
    for name, attributes in ATTRIBUTES.items():
        r = await client.post(f"/v1/vector_stores/{store_id}/files/{ids[name]}", json={"attributes": attributes})
        assert r.status_code == 200
    return store_id, ids


async def search(client: httpx.AsyncClient, store_id: str, **body: Any) -> dict[str, Any]:
    r = await client.post(f"/v1/vector_stores/{store_id}/search", json=body)
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def test_the_best_answer_comes_first(client: httpx.AsyncClient, app: Any) -> None:
    store_id, ids = await corpus_store(client, app)
    page = await search(client, store_id, query="How do I reset my password?")
    assert_matches(page, "VectorStoreSearchResultsPage")
    results = page["data"]
    assert page["search_query"] == ["How do I reset my password?"]
    assert results[0]["filename"] == "passwords.md" and results[0]["file_id"] == ids["passwords.md"]
    assert results[0]["attributes"] == ATTRIBUTES["passwords.md"]
    assert "Reset password" in results[0]["content"][0]["text"]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert len(results) == 4  # every chunk, ranked (no threshold)
    # the reranker decided the scores: its relevance of the best chunk, not a fused rank score
    assert results[0]["score"] > 0.9 and results[-1]["score"] < 0.2


async def test_fusion_and_reranking_order(client: httpx.AsyncClient, app: Any) -> None:
    """Keyword ranking alone, semantic alone, fused, and reranked give the orders their definitions say."""
    store_id, _ = await corpus_store(client, app)
    ctx = app.state.ctx
    query = "security settings"  # passwords.md and security.md both mention Settings and Security
    def options(**ranking: Any) -> RankingOptions:
        return validate(RankingOptions, ranking)

    semantic = await file_search(ctx, [store_id], query, owner=None, max_num_results=10, ranking_options=options(
        ranker="none", hybrid_search={"embedding_weight": 1, "text_weight": 0}))
    keyword = await file_search(ctx, [store_id], query, owner=None, max_num_results=10, ranking_options=options(
        ranker="none", hybrid_search={"embedding_weight": 0, "text_weight": 1}))
    fused = await file_search(ctx, [store_id], query, owner=None, max_num_results=10,
                              ranking_options=options(ranker="none"))
    reranked = await file_search(ctx, [store_id], query, owner=None, max_num_results=10)
    assert len(semantic) == 4  # every chunk has a vector
    assert {r.filename for r in keyword} == {"passwords.md", "security.md"}  # only chunks with the words
    # fused: Σ 1/(60 + rank) over both rankings, over the best possible (first in both)
    rrf = {r.filename: 1 / (60 + n) for n, r in enumerate(semantic, start=1)}
    for n, r in enumerate(keyword, start=1):
        rrf[r.filename] += 1 / (60 + n)
    expected = sorted(rrf, key=lambda name: -rrf[name])
    assert [r.filename for r in fused] == expected
    assert [r.score for r in fused] == [pytest.approx(rrf[name] / (2 / 61), abs=1e-6) for name in expected]
    assert {r.filename for r in fused[:2]} == {"passwords.md", "security.md"}
    # reranked: the reranker's relevance decides; security.md holds both words in a shorter text
    assert [r.filename for r in reranked][:2] == ["security.md", "passwords.md"]
    assert reranked[0].score > reranked[1].score > reranked[2].score


async def test_filters(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)

    async def names(filters: dict[str, Any]) -> set[str]:
        page = await search(client, store_id, query="settings email invoices holidays", filters=filters,
                            max_num_results=10)
        return {r["filename"] for r in page["data"]}

    assert await names({"type": "eq", "key": "topic", "value": "account"}) == {"passwords.md", "security.md"}
    assert await names({"type": "ne", "key": "topic", "value": "account"}) == {"billing.md", "holidays.txt"}
    assert await names({"type": "gte", "key": "year", "value": 2023}) == {"passwords.md", "billing.md"}
    assert await names({"type": "lt", "key": "year", "value": 2023}) == {"security.md"}
    assert await names({"type": "in", "key": "topic", "value": ["billing", "x"]}) == {"billing.md"}
    assert await names({"type": "nin", "key": "topic", "value": ["billing"]}) == {"passwords.md", "security.md",
                                                                                 "holidays.txt"}
    assert await names({"type": "eq", "key": "public", "value": False}) == {"security.md"}
    assert await names({"type": "eq", "key": "year", "value": "2024"}) == set()  # a string is no number
    assert await names({"type": "and", "filters": [{"type": "eq", "key": "topic", "value": "account"},
                                                   {"type": "eq", "key": "public", "value": True}]}) == {"passwords.md"}
    assert await names({"type": "or", "filters": [
        {"type": "eq", "key": "topic", "value": "billing"},
        {"type": "and", "filters": [{"type": "eq", "key": "public", "value": False},
                                    {"type": "gt", "key": "year", "value": 2000}]}]}) == {"billing.md", "security.md"}


async def test_filters_sent_to_the_index_or_applied_after(client: httpx.AsyncClient, app: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter matching few files narrows the vector query itself; one matching many is applied after."""
    store_id, _ = await corpus_store(client, app)
    seen: list[dict[str, Any] | None] = []
    index = app.state.ctx.backends.vectors
    original = index.query

    async def spy(values: Any, *, top_k: int, filter: dict[str, Any] | None = None) -> Any:
        seen.append(filter)
        return await original(values, top_k=top_k, filter=filter)

    monkeypatch.setattr(index, "query", spy)
    filters = {"type": "eq", "key": "topic", "value": "account"}
    await search(client, store_id, query="password", filters=filters)
    assert set(seen[-1]["file_id"]["$in"]) and seen[-1]["vector_store_id"] == {"$in": [store_id]}
    monkeypatch.setattr(search_module, "PUSHED_FILE_IDS", 1)
    page = await search(client, store_id, query="password", filters=filters)
    assert "file_id" not in seen[-1]
    assert {r["filename"] for r in page["data"]} == {"passwords.md", "security.md"}


async def test_threshold_max_results_and_ranker_none(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    page = await search(client, store_id, query="reset my password", ranking_options={"score_threshold": 0.5})
    assert [r["filename"] for r in page["data"]] == ["passwords.md"]
    page = await search(client, store_id, query="reset my password", max_num_results=2)
    assert len(page["data"]) == 2
    page = await search(client, store_id, query="reset my password", ranking_options={"ranker": "none"})
    assert page["data"][0]["filename"] == "passwords.md" and 0 < page["data"][0]["score"] <= 1


async def test_several_queries_and_rewriting(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    page = await search(client, store_id, query=["invoices", "public holidays"], max_num_results=2)
    assert {r["filename"] for r in page["data"]} == {"billing.md", "holidays.txt"}
    page = await search(client, store_id, query="What is the way to download my invoices?", rewrite_query=True)
    assert page["search_query"] == ["way download invoices"]
    assert page["data"][0]["filename"] == "billing.md"
    assert rewrite("what is it?") == "what is it?"  # nothing but filler: kept as it was


@pytest.mark.parametrize(("body", "param"), [
    ({}, "query"), ({"query": ""}, "query"), ({"query": []}, "query"), ({"query": 5}, "query"),
    ({"query": "x", "max_num_results": 0}, "max_num_results"), ({"query": "x", "max_num_results": 51}, "max_num_results"),
    ({"query": "x", "filters": {"type": "eq", "key": "a"}}, "filters.value"),
    ({"query": "x", "filters": {"type": "in", "key": "a", "value": "b"}}, "filters.value"),
    ({"query": "x", "filters": {"type": "eq", "key": "a", "value": ["b"]}}, "filters.value"),
    ({"query": "x", "filters": {"type": "or", "filters": [{"type": "nin", "key": "a", "value": 1}]}},
     "filters.filters[0].value"),
    ({"query": "x", "filters": {"type": "xor", "filters": []}}, "filters.type"),
    ({"query": "x", "ranking_options": {"score_threshold": 1.5}}, "ranking_options.score_threshold"),
    ({"query": "x", "ranking_options": {"ranker": "best"}}, "ranking_options.ranker"),
    ({"query": "x", "rewrite_query": "yes"}, "rewrite_query"),
])
async def test_search_refuses_bad_bodies(client: httpx.AsyncClient, body: dict[str, Any], param: str) -> None:
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    r = await client.post(f"/v1/vector_stores/{store_id}/search", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param, r.json()
    assert "Value error" not in r.json()["error"]["message"]  # pydantic's wording, not OpenAI's


async def test_file_search_for_the_responses_and_assistants_apis(client: httpx.AsyncClient, app: Any) -> None:
    """The function the ``file_search`` tool calls: several stores, the caller's only, typed results."""
    first, ids = await corpus_store(client, app)
    second, more = await store_with(client, app, {"faq.txt": "To change your password, use the reset link."})
    ctx = app.state.ctx
    me = key_hash(KEY)  # what ``context.owner(request)`` gives for the caller
    results = await file_search(ctx, [first, second], "reset password", owner=me, max_num_results=3,
                                filters=CompoundFilter(type="or", filters=[
                                    ComparisonFilter(type="eq", key="topic", value="account"),
                                    ComparisonFilter(type="nin", key="topic", value=["x"])]))
    assert all(isinstance(r, Result) for r in results) and len(results) == 3
    assert {r.file_id for r in results} <= {ids["passwords.md"], ids["security.md"], ids["billing.md"],
                                            ids["holidays.txt"], more["faq.txt"]}
    assert results[0].filename in ("passwords.md", "faq.txt")
    assert results[0].content == [{"type": "text", "text": results[0].text}]
    assert results[0].vector_store_id in (first, second) and results[0].chunk_index == 0
    with pytest.raises(NotFound) as caught:
        await file_search(ctx, [first], "x", owner=key_hash(OTHER_KEY))
    assert caught.value.param == "vector_store_ids"


async def test_keyword_search_alone_without_a_vector_index(client: httpx.AsyncClient, app: Any) -> None:
    """A deployment without the Vectorize binding still ingests and searches, by keywords."""
    ctx = app.state.ctx
    app.state.ctx = replace(ctx, backends=replace(ctx.backends, vectors=None))
    store_id, _ = await corpus_store(client, app)
    page = await search(client, store_id, query="invoices billing")
    assert page["data"][0]["filename"] == "billing.md"
    assert {r["filename"] for r in page["data"]} == {"billing.md"}


async def test_a_failing_reranker_keeps_the_fused_order(client: httpx.AsyncClient, app: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store_id, _ = await corpus_store(client, app)
    monkeypatch.setattr(search_module, "RERANKER", "@cf/nope/reranker")
    page = await search(client, store_id, query="reset my password")
    assert page["data"][0]["filename"] == "passwords.md" and page["data"][0]["score"] <= 1
