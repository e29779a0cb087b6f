"""Benchmark: vector stores locally — ingesting a 1 MB text file, and 100 hybrid searches over 10,000 chunks.

    uv run python bench/vector_stores.py [--quick]

Ingestion: a 1 MB text file uploaded, attached (OpenAI's default chunking: 800 tokens, 400 overlap)
and ingested by the job runner: chunks, wall time split into embeddings (the simulator), the vector
index and the rest (D1, R2, chunking), and the peak of Python's allocations (tracemalloc, a second
run). Baseline: the unavoidable work alone in the same run — chunking the text and embedding the
chunks, without storage.

Search: 10,000 chunks (1,000 files of 10) written with the same code ingestion uses, then 100
``file_search`` calls of different queries: median and p99 per search, split into the query's
embedding, the vector index's query, the reranker (simulated) and the rest (FTS5 keyword search,
D1 lookups, fusion). Baseline: the vector index's query alone for the same query vectors. The text
is drawn from a Zipfian vocabulary of ~5,000 words, so a query's words match some chunks, not all;
FTS5's BM25 costs about 25 ms when a query's words are in every one of 10,000 chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx  # noqa: E402
from common import KEY  # noqa: E402

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1  # noqa: E402
from openai_workers_ai.adapters.local_vectors import LocalVectorIndex  # noqa: E402
from openai_workers_ai.app import create_app  # noqa: E402
from openai_workers_ai.jobs import InProcessJobs  # noqa: E402
from openai_workers_ai.ports import Backends, Vector, VectorMatch  # noqa: E402
from openai_workers_ai.repositories import chunks, vector_store_files, vector_stores  # noqa: E402
from openai_workers_ai.repositories.vector_store_files import StoreFileRow  # noqa: E402
from openai_workers_ai.repositories.vector_stores import StoreRow  # noqa: E402
from openai_workers_ai.runner.chunking import chunk_text  # noqa: E402
from openai_workers_ai.runner.file_search import RERANKER, file_search  # noqa: E402
from openai_workers_ai.settings import Settings  # noqa: E402
from openai_workers_ai.simulator import Simulator  # noqa: E402
from openai_workers_ai.workers_ai.embeddings import embed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = "@cf/baai/bge-m3"
WORDS = ("account billing invoice password reset security settings email support holiday office refund "
         "order shipping delivery warranty return policy login device mobile browser network error upgrade "
         "plan price discount team member admin role permission report export import backup storage limit").split()


class Timed:
    """Seconds spent in each kind of call, added up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, kind: str, since: float) -> None:
        self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - since


class TimedSimulator(Simulator):
    timed: Timed

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        start = time.perf_counter()
        try:
            return await super().run(model, inputs, options)
        finally:
            self.timed.add("embeddings" if model == MODEL else "reranker" if model == RERANKER else "ai", start)


class TimedIndex(LocalVectorIndex):
    timed: Timed

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        start = time.perf_counter()
        await super().upsert(vectors)
        self.timed.add("index", start)

    async def query(self, values: Sequence[float], *, top_k: int, filter: dict[str, Any] | None = None
                    ) -> list[VectorMatch]:
        start = time.perf_counter()
        try:
            return await super().query(values, top_k=top_k, filter=filter)
        finally:
            self.timed.add("index", start)


def _syllables(n: int) -> str:
    parts = ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "do", "fu")
    out = ""
    while True:
        n, digit = divmod(n, len(parts))
        out += parts[digit]
        if not n:
            return out


# A vocabulary as text has one: the topical words above and 5,000 others, drawn by Zipf's law (the
# commonest word in most chunks, most words rare), so a query's words match some chunks, not all.
VOCABULARY = WORDS + [_syllables(n + 200) for n in range(5000)]
ZIPF = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(VOCABULARY))))  # cumulative weights


def text_of(n_words: int, rng: random.Random) -> str:
    sentences, words = [], 0
    while words < n_words:
        length = rng.randint(6, 18)
        sentences.append(" ".join(rng.choices(VOCABULARY, cum_weights=ZIPF, k=length)).capitalize() + ".")
        words += length
    return " ".join(sentences)


def build(tmp: Path, timed: Timed) -> tuple[Any, TimedIndex]:
    db = SQLiteD1(tmp / "d1.sqlite3")
    db.apply_migrations(ROOT / "migrations")
    sim = TimedSimulator(keep_calls=0)
    sim.timed = timed
    index = TimedIndex(tmp / "vectors.sqlite3")
    index.timed = timed
    backends = Backends(ai=sim, db=db, bucket=FolderR2(tmp / "r2"), jobs=InProcessJobs(), vectors=index)
    return create_app(backends, Settings(access_token=(KEY,))), index


async def ingest_once(document: bytes, *, trace: bool) -> dict[str, float]:
    timed = Timed()
    with tempfile.TemporaryDirectory() as folder:
        app, index = build(Path(folder), timed)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                     headers={"authorization": f"Bearer {KEY}"}) as client:
            file_id = (await client.post("/v1/files", files={"file": ("book.txt", document)},
                                         data={"purpose": "assistants"})).json()["id"]
            store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
            await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id})
            if trace:
                tracemalloc.start()
            start = time.perf_counter()
            await app.state.ctx.backends.jobs.drain(app.state.ctx)
            total = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] if trace else 0
            tracemalloc.stop()
            row = (await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")).json()
            assert row["status"] == "completed", row
    return {"total": total, "chunks": len(index), "peak": peak, **timed.seconds}


async def ingestion(size: int) -> None:
    rng = random.Random(7)
    document = text_of(size // 6, rng).encode()[:size]
    result = await ingest_once(document, trace=False)
    traced = await ingest_once(document, trace=True)
    start = time.perf_counter()
    pieces = chunk_text(document.decode())
    sim = Simulator(keep_calls=0)
    for at in range(0, len(pieces), 100):
        await sim.run(MODEL, {"text": [c.text for c in pieces[at:at + 100]]})
    baseline = time.perf_counter() - start
    rest = result["total"] - result.get("embeddings", 0) - result.get("index", 0)
    print(f"ingest {len(document) / 1e6:.2f} MB of text: {result['chunks']} chunks in {result['total']:.2f} s "
          f"(embeddings {result.get('embeddings', 0):.2f} s, vector index {result.get('index', 0):.2f} s, "
          f"D1/R2/chunking {rest:.2f} s); peak Python allocations {traced['peak'] / 1e6:.0f} MB")
    print(f"  baseline (chunk + embed only, no storage) {baseline:.2f} s: ingestion {result['total'] / baseline:.2f}x")


async def fill(app: Any, files: int, per_file: int, rng: random.Random) -> str:
    """A store of ``files`` × ``per_file`` chunks, written as ingestion writes them."""
    ctx = app.state.ctx
    db, index = ctx.backends.db, ctx.backends.vectors
    now = ctx.now()
    store = StoreRow("vs_" + "b" * 24, "bench", "bench", None, {}, None, None, now, now, "active")
    await vector_stores.create(db, store)
    model = ctx.catalog.resolve(MODEL)
    for n in range(files):
        file_id = f"file-{n:024d}"
        await vector_store_files.attach(db, [StoreFileRow(store.id, file_id, None, f"doc{n}.txt", "in_progress", None,
                                                          None, {"n": n % 10}, 800, 400, per_file, 0, now, now)])
        await vector_store_files.transition(db, store.id, file_id, "in_progress", "completed", now)
        texts = [text_of(rng.randint(80, 160), rng) for _ in range(per_file)]
        await chunks.upsert(db, store.id, file_id, [(i, t, len(t) // 4) for i, t in enumerate(texts)])
        values, _ = await embed(ctx.backends.ai, model, texts)
        await index.upsert([Vector(chunks.vector_id(store.id, file_id, i), v, {"vector_store_id": store.id,
                                                                               "file_id": file_id})
                            for i, v in enumerate(values)])
    return store.id


async def searching(files: int, per_file: int, searches: int) -> None:
    rng = random.Random(11)
    timed = Timed()
    with tempfile.TemporaryDirectory() as folder:
        app, index = build(Path(folder), timed)
        start = time.perf_counter()
        store_id = await fill(app, files, per_file, rng)
        print(f"search: {len(index)} chunks written in {time.perf_counter() - start:.1f} s")
        ctx = app.state.ctx
        queries = [" ".join(rng.choices(VOCABULARY, cum_weights=ZIPF, k=rng.randint(2, 6))) for _ in range(searches)]
        totals, parts = [], {"embeddings": [], "index": [], "reranker": []}  # type: ignore[var-annotated]
        for query in queries:
            timed.seconds.clear()
            start = time.perf_counter()
            results = await file_search(ctx, [store_id], query, owner=None, max_num_results=10)
            totals.append(time.perf_counter() - start)
            assert results
            for kind in parts:
                parts[kind].append(timed.seconds.get(kind, 0.0))
        vectors_of_queries = [(await ctx.backends.ai.run(MODEL, {"text": [q]}))["data"][0] for q in queries]
        bare = []
        for values in vectors_of_queries:
            start = time.perf_counter()
            await LocalVectorIndex.query(index, values, top_k=50, filter={"vector_store_id": {"$in": [store_id]}})
            bare.append(time.perf_counter() - start)

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        return f"median {statistics.median(ordered) * 1000:.1f} ms, p99 {ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000:.1f} ms"

    rest = [t - sum(parts[k][i] for k in parts) for i, t in enumerate(totals)]
    print(f"  {searches} searches: {ms(totals)}")
    print(f"    query embedding {ms(parts['embeddings'])}; vector index {ms(parts['index'])}; "
          f"reranker (simulated) {ms(parts['reranker'])}; FTS5 + D1 + fusion {ms(rest)}")
    print(f"  baseline (the index's query alone) {ms(bare)}: a search {statistics.median(totals) / statistics.median(bare):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 100 KB file and 1,000 chunks")
    args = parser.parse_args()
    asyncio.run(ingestion(100_000 if args.quick else 1_000_000))
    asyncio.run(searching(100 if args.quick else 1000, 10, 100))


if __name__ == "__main__":
    main()
