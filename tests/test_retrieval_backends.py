"""What vector stores stand on: the simulator's lexical embeddings, reranker and Markdown conversion
(in-process and over REST, with the REST adapter), and the local vector index's Vectorize semantics."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from openai_workers_ai.adapters import local_vectors
from openai_workers_ai.adapters.local import RestAI
from openai_workers_ai.adapters.local_vectors import LocalVectorIndex
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Vector
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.embeddings import vector
from openai_workers_ai.simulator.rest import create_rest_app

from .served import served
from .vector_stores_util import docx, pdf

M3 = "@cf/baai/bge-m3"



def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_shared_words_bring_embeddings_closer() -> None:
    query = vector(M3, "how to reset a password", 1024)
    near = vector(M3, "Reset your password from the settings page", 1024)
    far = vector(M3, "The cafeteria serves lunch at noon", 1024)
    assert cosine(query, near) > 0.3 > 0.05 > abs(cosine(query, far))
    assert math.isclose(math.fsum(x * x for x in near), 1.0)
    assert vector(M3, "Password reset", 1024) != vector(M3, "reset password", 1024)  # same words, not the same text
    assert cosine(vector(M3, "Password reset", 1024), vector(M3, "reset password", 1024)) > 0.95
    assert any(vector(M3, "hi", 1024)[:32])  # every prefix is non-zero (Matryoshka truncation)


async def test_the_reranker() -> None:
    sim = Simulator()
    out = await sim.run("@cf/baai/bge-reranker-base", {"query": "reset password", "contexts": [
        {"text": "The cafeteria serves lunch."}, {"text": "Reset your password in settings."},
        {"text": "password"}], "top_k": 2})
    assert isinstance(out, dict)
    assert [r["id"] for r in out["response"]] == [1, 2]
    assert all(0 < r["score"] < 1 for r in out["response"])
    for bad in ({"contexts": [{"text": "x"}]}, {"query": "q", "contexts": "x"}, {"query": "q", "contexts": [], "top_k": 0}):
        with pytest.raises(UpstreamError) as caught:
            await sim.run("@cf/baai/bge-reranker-base", bad)
        assert caught.value.status == 400
    with pytest.raises(UpstreamError) as caught:
        await sim.run("@cf/baai/bge-reranker-base", {"query": "fail:503", "contexts": []})
    assert caught.value.status == 503


@pytest.mark.parametrize(("name", "data", "mime", "expected"), [
    ("a.txt", b"plain text", "text/plain", "plain text"),
    ("a.html", b"<h1>Title</h1><ul><li>one</li><li>two</li></ul><script>x()</script>", "text/html",
     "# Title\n\n- one\n- two"),
    ("a.pdf", pdf("Hello \\(PDF\\) world", "second \\\\ line"), "application/pdf", "Hello (PDF) world\nsecond \\ line"),
    ("a.docx", docx("First.", "Second."), "application/octet-stream", "First.\n\nSecond."),
])
async def test_markdown_conversion(name: str, data: bytes, mime: str, expected: str) -> None:
    converted = await Simulator().to_markdown(name, data, mime)
    assert (converted.markdown, converted.error) == (expected, None)


async def test_markdown_conversion_of_images_and_failures() -> None:
    sim = Simulator()
    image = await sim.to_markdown("cat.png", b"\x89PNG\r\n\x1a\n" + bytes(20), "image/png")
    assert image.markdown is not None and "cat.png" in image.markdown
    unknown = await sim.to_markdown("a.zip", b"PK\x03\x04", "application/zip")
    assert unknown.markdown is None and "Unsupported" in (unknown.error or "")
    with pytest.raises(UpstreamError) as caught:
        await sim.to_markdown("a.pdf", b"fail:503", "application/pdf")
    assert caught.value.status == 503
    assert sim.calls[-1][0] == "toMarkdown"


async def test_markdown_conversion_over_rest() -> None:
    async with served(create_rest_app(token="t")) as url:
        ai, wrong = RestAI("acct", "t", base_url=url), RestAI("acct", "nope", base_url=url)
        try:
            converted = await ai.to_markdown("r.pdf", pdf("Over REST"), "application/pdf")
            assert converted.markdown == "Over REST"
            refused = await ai.to_markdown("a.zip", b"PK", "application/zip")
            assert refused.markdown is None and refused.error
            with pytest.raises(UpstreamError) as caught:
                await ai.to_markdown("a.txt", b"fail:429", "text/plain")
            assert caught.value.status == 429
            with pytest.raises(UpstreamError):
                await wrong.to_markdown("a.txt", b"x", "text/plain")
        finally:
            await ai.aclose()
            await wrong.aclose()


async def test_the_local_index_has_vectorizes_semantics(tmp_path: Path) -> None:
    index = LocalVectorIndex(tmp_path / "v.sqlite3")
    await index.upsert([Vector("a", [1, 0, 0], {"store": "s1", "n": 1}), Vector("b", [1, 1, 0], {"store": "s1"}),
                        Vector("c", [0, 1, 0], {"store": "s2"})])
    assert [m.id for m in await index.query([1, 0, 0], top_k=3)] == ["a", "b", "c"]
    assert (await index.query([1, 0, 0], top_k=1))[0].score == pytest.approx(1.0)
    assert [m.id for m in await index.query([1, 0, 0], top_k=3, filter={"store": "s2"})] == ["c"]
    assert [m.id for m in await index.query([1, 0, 0], top_k=3, filter={"store": {"$ne": "s2"}})] == ["a", "b"]
    assert [m.id for m in await index.query([1, 0, 0], top_k=3, filter={"store": {"$in": ["s2"]}, "n": 1})] == []
    assert [m.id for m in await index.query([1, 0, 0], top_k=3, filter={"store": {"$nin": ["s1"]}})] == ["c"]
    await index.upsert([Vector("a", [0, 0, 1], {"store": "s3"})])  # replaced in full
    assert (await index.query([0, 0, 1], top_k=1, filter={"store": "s3"}))[0].id == "a"
    await index.delete(["b", "missing"])
    assert len(index) == 2
    reopened = LocalVectorIndex(tmp_path / "v.sqlite3")  # written through: a restart keeps it
    assert sorted(m.id for m in await reopened.query([1, 1, 1], top_k=5)) == ["a", "c"]
    for bad in (lambda: index.upsert([Vector("d", [1, 0], {})]), lambda: index.query([1, 0], top_k=1),
                lambda: index.query([1, 0, 0], top_k=101), lambda: index.upsert([Vector("x" * 65, [1, 0, 0], {})]),
                lambda: index.query([1, 0, 0], top_k=1, filter={"k": {"$regex": "x"}})):
        with pytest.raises(UpstreamError):
            await bad()


async def test_processes_sharing_the_file_see_each_others_writes(tmp_path: Path) -> None:
    """``serve --workers N``: one index per process over one file; each sees what the others wrote."""
    a, b = LocalVectorIndex(tmp_path / "v.sqlite3"), LocalVectorIndex(tmp_path / "v.sqlite3")
    await a.upsert([Vector("x.0", [1, 0, 0], {"vector_store_id": "vs_1"}),
                    Vector("x.1", [0, 1, 0], {"vector_store_id": "vs_1"})])
    assert [m.id for m in await b.query([1, 0, 0], top_k=10, filter={"vector_store_id": "vs_1"})] == ["x.0", "x.1"]
    await a.upsert([Vector("x.1", [1, 0.1, 0], {"vector_store_id": "vs_2"})])  # replaced: values and metadata
    assert [m.id for m in await b.query([1, 0, 0], top_k=10, filter={"vector_store_id": "vs_1"})] == ["x.0"]
    assert [m.id for m in await b.query([0, 1, 0], top_k=1)] == ["x.1"]
    await b.delete(["x.0"])
    assert [m.id for m in await a.query([1, 0, 0], top_k=10)] == ["x.1"]
    await b.upsert([Vector("x.0", [0, 0, 1], {"vector_store_id": "vs_3"})])  # deleted, then back
    await a.delete(["x.1", "never"])
    assert [m.id for m in await b.query([0, 0, 1], top_k=10)] == ["x.0"] == [m.id for m in await a.query(
        [0, 0, 1], top_k=10)]
    assert len(a) == len(b) == 1
    with pytest.raises(UpstreamError):  # the dimensions another process set are the index's
        await LocalVectorIndex(tmp_path / "v.sqlite3").upsert([Vector("y", [1, 0], {})])


async def test_a_process_that_fell_far_behind_reloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_vectors, "KEEP_DELETIONS", 3)
    a, b = LocalVectorIndex(tmp_path / "v.sqlite3"), LocalVectorIndex(tmp_path / "v.sqlite3")
    await a.upsert([Vector(f"v{i}", [1, i, 0], {"n": i}) for i in range(5)])
    assert len(b) == 5
    for i in range(4):  # deletions b misses, then forgets
        await a.delete([f"v{i}"])
    await a.upsert([Vector("w", [0, 0, 1], {"n": 9})])
    assert a.conn.execute("SELECT COUNT(*) FROM vectors_deleted").fetchone()[0] < 4
    assert sorted(m.id for m in await b.query([1, 1, 1], top_k=10)) == ["v4", "w"]
    assert [m.id for m in await b.query([1, 1, 1], top_k=10, filter={"n": {"$in": [0, 1, 2, 3]}})] == []


async def test_a_query_reads_nothing_from_the_file_when_no_other_process_wrote(tmp_path: Path) -> None:
    a, b = LocalVectorIndex(tmp_path / "v.sqlite3"), LocalVectorIndex(tmp_path / "v.sqlite3")
    await a.upsert([Vector("x", [1, 0, 0], {})])
    await b.query([1, 0, 0], top_k=1)
    read: dict[str, list[str]] = {"a": [], "b": []}
    b.conn.set_trace_callback(read["b"].append)
    await b.query([1, 0, 0], top_k=1)
    assert read["b"] == ["PRAGMA data_version"]
    await a.upsert([Vector("x", [1, 0, 0], {})])
    a.conn.set_trace_callback(read["a"].append)
    await a.query([1, 0, 0], top_k=1)  # its own write is no news to it
    assert read["a"] == ["PRAGMA data_version"]


async def test_an_index_file_from_before_generations_is_read_and_upgraded(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "v.sqlite3")
    old.execute("CREATE TABLE vectors (id TEXT PRIMARY KEY, vector BLOB NOT NULL, metadata TEXT NOT NULL)")
    old.execute("INSERT INTO vectors VALUES ('x', ?, '{\"k\": \"v\"}')", (np.array([1, 0], dtype=np.float32).tobytes(),))
    old.commit()
    old.close()
    a, b = LocalVectorIndex(tmp_path / "v.sqlite3"), LocalVectorIndex(tmp_path / "v.sqlite3")
    assert [m.id for m in await a.query([1, 0], top_k=1, filter={"k": "v"})] == ["x"]
    await b.upsert([Vector("y", [0, 1], {})])
    assert sorted(m.id for m in await a.query([1, 1], top_k=5)) == ["x", "y"]
