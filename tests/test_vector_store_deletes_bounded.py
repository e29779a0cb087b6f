"""Deleting a large vector store, taking a large file out of a store, or deleting a file that many
stores hold is bounded per run: a Worker invocation may make 1,000 calls to Cloudflare services, and a
store may hold a million chunks. Each run (the request, each job, the sweep) takes at most
``STEPS_PER_RUN`` steps and queues the rest; what a run did is not done again; at the end nothing of it
is left in D1 or the vector index. The sizes are scaled down here (a delete call of 4 ids, runs of 3
steps) so that a few files stand for a large store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from openai_workers_ai import jobs as jobs_module
from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.adapters.local_vectors import LocalVectorIndex
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends
from openai_workers_ai.runner import ingest, vectors
from openai_workers_ai.settings import Settings

from .conftest import KEY
from .vector_stores_util import drain, upload

TEXT = " ".join(f"sentence {i} talks about topic {i % 7}." for i in range(150))  # ~11 chunks of 100 tokens
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
BATCH, STEPS = 4, 3
CALLS_PER_STEP = 3  # what a step may cost: a call to the vector index and two D1 statements


class CountingIndex(LocalVectorIndex):
    """The local index, recording the ids of every delete call."""

    def __init__(self) -> None:
        super().__init__()
        self.deletes: list[list[str]] = []

    async def delete(self, ids: Sequence[str]) -> None:
        self.deletes.append(list(ids))
        await super().delete(ids)


@pytest.fixture
def vectors_index() -> CountingIndex:
    return CountingIndex()


@pytest.fixture
def backends(simulator: Any, db: SQLiteD1, bucket: Any, jobs: Any, vectors_index: CountingIndex) -> Backends:
    return Backends(ai=simulator, db=db, bucket=bucket, jobs=jobs, vectors=vectors_index)


@pytest.fixture(autouse=True)
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "DELETE_BATCH", BATCH)
    monkeypatch.setattr(vectors, "STEPS_PER_RUN", STEPS)
    monkeypatch.setattr(ingest, "STEP", 50)


class Calls:
    """Calls to D1 (statements prepared: each is run once, or a batch is one call) and to the vector index."""

    def __init__(self, db: SQLiteD1, index: CountingIndex) -> None:
        self.index, self.statements = index, 0
        prepare = db.prepare

        def counted(sql: str) -> Any:
            self.statements += 1
            return prepare(sql)

        db.prepare = counted  # type: ignore[method-assign]

    def take(self) -> int:
        """Calls since the last take."""
        calls = self.statements + len(self.index.deletes)
        self.statements = 0
        self.index.deletes.clear()
        return calls


async def attached(client: httpx.AsyncClient, app: Any, store_id: str, texts: Sequence[str]) -> list[str]:
    file_ids = [await upload(client, f"doc{i}.txt", text) for i, text in enumerate(texts)]
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches",
                          json={"file_ids": file_ids, "chunking_strategy": STATIC})
    assert r.status_code == 200, r.text
    await drain(app)
    for file_id in file_ids:
        r = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")
        assert r.json()["status"] == "completed", r.text
    return file_ids


async def new_store(client: httpx.AsyncClient) -> str:
    r = await client.post("/v1/vector_stores", json={"name": "big"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def held(db: SQLiteD1, index: CountingIndex, store_id: str) -> dict[str, int]:
    """What D1 and the index still hold of a store."""
    out = {}
    for table, where in (("vector_stores", "id"), ("vector_store_files", "vector_store_id"),
                         ("vector_store_chunks", "vector_store_id")):
        row = await db.prepare(f"SELECT COUNT(*) AS n FROM {table} WHERE {where} = ?").bind(store_id).first()
        out[table] = row["n"] if row else 0
    fts = await db.prepare("SELECT COUNT(*) AS n FROM vector_store_chunks_fts").first()
    out["fts"] = fts["n"] if fts else 0
    out["vectors"] = len(index)
    return out


async def jobs_one_by_one(app: Any, calls: Calls, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Drain the queued jobs, returning each job's kind and the calls it made."""
    ran: list[tuple[str, int]] = []
    original = jobs_module.execute

    async def counted(ctx: Any, job: Any) -> None:
        calls.take()
        await original(ctx, job)
        ran.append((job.kind, calls.take()))

    monkeypatch.setattr(jobs_module, "execute", counted)
    await drain(app)
    return ran


async def chunk_count(db: SQLiteD1) -> int:
    row = await db.prepare("SELECT COUNT(*) AS n FROM vector_store_chunks").first()
    return int(row["n"]) if row else 0


async def test_a_large_store_is_deleted_over_bounded_jobs_each_vector_once(
    client: httpx.AsyncClient, app: Any, db: SQLiteD1, vectors_index: CountingIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_id = await new_store(client)
    # a file too large for one call, small files that share calls, and one with no text left to index
    await attached(client, app, store_id, [TEXT * 3, TEXT[:300], TEXT[:200], TEXT, TEXT[:150]])
    total = await chunk_count(db)
    assert total > BATCH * STEPS * 3 and len(vectors_index) == total
    calls = Calls(db, vectors_index)

    r = await client.delete(f"/v1/vector_stores/{store_id}")
    assert r.status_code == 200 and r.json() == {"id": store_id, "object": "vector_store.deleted", "deleted": True}
    request_deletes = [list(ids) for ids in vectors_index.deletes]
    assert calls.take() <= 2 + CALLS_PER_STEP * STEPS + 1  # look-up, mark; the steps; the count lowered
    assert (await client.get(f"/v1/vector_stores/{store_id}")).status_code == 404  # gone from the API at once
    assert store_id not in [s["id"] for s in (await client.get("/v1/vector_stores")).json()["data"]]
    assert (await held(db, vectors_index, store_id))["vectors"] > 0  # the rest is a job's

    deleted = [i for ids in request_deletes for i in ids]
    vectors_index.deletes.clear()
    original_delete = CountingIndex.delete

    async def recorded(self: CountingIndex, ids: Sequence[str]) -> None:
        deleted.extend(ids)
        await original_delete(self, ids)

    monkeypatch.setattr(CountingIndex, "delete", recorded)
    ran = await jobs_one_by_one(app, calls, monkeypatch)
    assert len(ran) >= 2 and {kind for kind, _ in ran} == {"vector_stores.delete"}
    assert max(n for _, n in ran) <= 1 + CALLS_PER_STEP * STEPS + 1, ran  # mark; the steps; the count lowered
    assert await held(db, vectors_index, store_id) == {
        "vector_stores": 0, "vector_store_files": 0, "vector_store_chunks": 0, "fts": 0, "vectors": 0}
    assert len(deleted) == len(set(deleted)) == total  # every vector deleted once: no run redid another's work


async def test_a_large_file_leaves_its_store_over_bounded_jobs(
    client: httpx.AsyncClient, app: Any, db: SQLiteD1, vectors_index: CountingIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_id = await new_store(client)
    big, small = await attached(client, app, store_id, [TEXT * 3, TEXT[:300]])
    small_chunks = await db.prepare("SELECT COUNT(*) AS n FROM vector_store_chunks WHERE file_id = ?").bind(small).first()
    assert small_chunks is not None
    big_chunks = await chunk_count(db) - small_chunks["n"]
    assert big_chunks > BATCH * STEPS * 2
    calls = Calls(db, vectors_index)

    r = await client.delete(f"/v1/vector_stores/{store_id}/files/{big}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert calls.take() <= 3 + CALLS_PER_STEP * STEPS + 1
    assert (await client.get(f"/v1/vector_stores/{store_id}/files/{big}")).status_code == 404
    counts = (await client.get(f"/v1/vector_stores/{store_id}")).json()["file_counts"]
    assert counts["total"] == counts["completed"] == 1  # only the small file, at once
    row = await db.prepare("SELECT chunk_count FROM vector_store_files WHERE id = ?").bind(big).first()
    assert row is not None and row["chunk_count"] == big_chunks - BATCH * (STEPS - 1)  # what is left, to resume

    ran = await jobs_one_by_one(app, calls, monkeypatch)
    assert ran and {kind for kind, _ in ran} == {"vector_store_files.delete"}
    assert max(n for _, n in ran) <= 3 + CALLS_PER_STEP * STEPS + 1, ran
    left = await db.prepare("SELECT file_id, COUNT(*) AS n FROM vector_store_chunks GROUP BY file_id").all()
    assert [(r["file_id"], r["n"]) for r in left] == [(small, small_chunks["n"])]
    assert len(vectors_index) == small_chunks["n"]
    r = await client.post(f"/v1/vector_stores/{store_id}/search", json={"query": "sentence topic"})
    assert r.status_code == 200 and {x["file_id"] for x in r.json()["data"]} == {small}


async def test_a_file_in_many_stores_leaves_them_over_bounded_jobs(
    client: httpx.AsyncClient, app: Any, db: SQLiteD1, vectors_index: CountingIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file_id = await upload(client, "shared.txt", TEXT)
    stores = []
    for _ in range(4):
        store_id = await new_store(client)
        r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id, "chunking_strategy": STATIC})
        assert r.status_code == 200, r.text
        stores.append(store_id)
    await drain(app)
    assert len(vectors_index) == await chunk_count(db) > BATCH * STEPS
    calls = Calls(db, vectors_index)

    r = await client.delete(f"/v1/files/{file_id}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert calls.take() <= 8 + CALLS_PER_STEP * STEPS + 1  # the file's own delete, the marking, the steps
    for store_id in stores:  # out of every store at once
        assert (await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")).status_code == 404
    assert len(vectors_index) > 0

    ran = await jobs_one_by_one(app, calls, monkeypatch)
    assert len(ran) >= 2 and {kind for kind, _ in ran} == {"files.leave_vector_stores"}
    assert max(n for _, n in ran) <= 3 + CALLS_PER_STEP * STEPS + 2, ran
    assert len(vectors_index) == await chunk_count(db) == 0
    row = await db.prepare("SELECT COUNT(*) AS n FROM vector_store_files").first()
    assert row is not None and row["n"] == 0


async def test_without_a_queue_the_sweep_finishes_a_large_delete_a_bounded_run_at_a_time(
    simulator: Any, db: SQLiteD1, bucket: Any, settings: Settings, vectors_index: CountingIndex,
) -> None:
    app = create_app(Backends(ai=simulator, db=db, bucket=bucket, jobs=None, vectors=vectors_index), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"authorization": f"Bearer {KEY}"}) as client:
        store_id = await new_store(client)
        file_ids = [await upload(client, f"d{i}.txt", TEXT) for i in range(3)]
        r = await client.post(f"/v1/vector_stores/{store_id}/file_batches",
                              json={"file_ids": file_ids, "chunking_strategy": STATIC})
        assert r.status_code == 200, r.text  # ingested in the request: no queue
        total = await chunk_count(db)
        assert total > BATCH * STEPS * 2 and len(vectors_index) == total
        calls = Calls(db, vectors_index)
        r = await client.delete(f"/v1/vector_stores/{store_id}")
        assert r.status_code == 200, r.text
        assert calls.take() <= 2 + CALLS_PER_STEP * STEPS + 1
        assert (await client.get(f"/v1/vector_stores/{store_id}")).status_code == 404
    runs = []
    while (await held(db, vectors_index, store_id))["vector_stores"]:
        counts = await run_scheduled(app.state.ctx.backends, settings)
        runs.append(calls.take())
        assert counts["errors"] == 0 and len(runs) < 20
    assert runs and max(runs) <= 30 + CALLS_PER_STEP * STEPS + 1, runs  # every cleanup's look-ups, the steps
    assert await held(db, vectors_index, store_id) == {
        "vector_stores": 0, "vector_store_files": 0, "vector_store_chunks": 0, "fts": 0, "vectors": 0}


@pytest.mark.parametrize("then", ["attached again", "swept"])
async def test_a_cancelled_files_chunks_are_never_lost_track_of(
    client: httpx.AsyncClient, app: Any, db: SQLiteD1, vectors_index: CountingIndex,
    monkeypatch: pytest.MonkeyPatch, then: str,
) -> None:
    """A batch cancelled mid-ingestion whose cleanup failed (the index down) leaves the file ``cancelled``
    with chunks stored: attaching it again (here with larger chunks, so fewer of them) must not forget
    them — its vectors all go when it is removed — and the sweep cleans them up on its own too."""
    monkeypatch.setattr(ingest, "STEPS_PER_JOB", 2)
    monkeypatch.setattr(ingest, "STEP", 5)
    store_id = await new_store(client)
    file_id = await upload(client, "long.txt", TEXT * 2)
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches",
                          json={"file_ids": [file_id], "chunking_strategy": STATIC})
    batch_id = r.json()["id"]
    sent: list[Any] = []

    async def held_back(ctx: Any, job: Any, *, delay: int = 0) -> bool:  # the rest of the ingestion waits
        sent.append(job)
        return True

    with monkeypatch.context() as holding:
        holding.setattr(jobs_module, "send", held_back)
        await drain(app)
    stored = len(vectors_index)
    assert stored == 10  # two steps of five chunks, then the job queued the rest (held back here)

    async def index_down(self: CountingIndex, ids: Sequence[str]) -> None:
        raise UpstreamError("Vector index error", code="vector_index_error")

    with monkeypatch.context() as down:
        down.setattr(CountingIndex, "delete", index_down)
        r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{batch_id}/cancel")
        assert r.status_code >= 500  # the cancel's cleanup failed
    assert len(vectors_index) == stored
    if then == "swept":
        counts = await run_scheduled(app.state.ctx.backends, app.state.ctx.settings,
                                     now=app.state.ctx.now() + vectors.STALE_AFTER + 1)
        assert counts["vector_store_files_stale"] == 1
        row = await db.prepare("SELECT status, chunk_count FROM vector_store_files WHERE id = ?").bind(file_id).first()
        assert row is not None and (row["status"], row["chunk_count"]) == ("cancelled", 0)
        assert len(vectors_index) == await chunk_count(db) == 0
        return

    bigger = {"type": "static", "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 0}}
    r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id, "chunking_strategy": bigger})
    assert r.status_code == 200, r.text
    await drain(app)
    row = await db.prepare("SELECT status, chunk_count FROM vector_store_files WHERE id = ?").bind(file_id).first()
    assert row is not None and row["status"] == "completed" and 0 < row["chunk_count"] < stored
    assert len(vectors_index) == row["chunk_count"]  # the cancelled attempt's vectors went before it started over

    r = await client.delete(f"/v1/vector_stores/{store_id}/files/{file_id}")
    assert r.status_code == 200
    await drain(app)
    assert len(vectors_index) == await chunk_count(db) == 0


async def test_a_purge_of_a_cancelled_attempt_spares_the_file_attached_again_meanwhile(
    client: httpx.AsyncClient, app: Any, db: SQLiteD1, vectors_index: CountingIndex,
) -> None:
    """A queued purge of a cancelled file is under way when the file is attached again and ingested anew:
    the purge goes on deleting what the cancelled attempt stored — and nothing of the new attempt, which
    stores its vectors and chunk rows under ids of its own (they were the same ids: the new attempt lost
    its first vectors, its chunks and its count)."""
    store_id = await new_store(client)
    [file_id] = await attached(client, app, store_id, [TEXT])
    stored = await chunk_count(db)
    assert stored == len(vectors_index) > BATCH * STEPS
    # cancelled mid-ingestion, its cleanup not done yet: what it stored is still counted (a purge job queued)
    await db.prepare("UPDATE vector_store_files SET status = 'cancelled'").run()
    old_ids = set(vectors_index._slot)
    attached_again = False
    delete = CountingIndex.delete

    async def attach_again_first(index: CountingIndex, ids: Sequence[str]) -> None:
        nonlocal attached_again
        if not attached_again:  # the job has read the file and starts deleting: the client attaches it again
            attached_again = True
            r = await client.post(f"/v1/vector_stores/{store_id}/files",
                                  json={"file_id": file_id, "chunking_strategy": STATIC})
            assert r.status_code == 200, r.text
            await drain(app)
        await delete(index, ids)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CountingIndex, "delete", attach_again_first)
        assert not await vectors.purge_cancelled(app.state.ctx.backends, store_id)  # its steps, the rest queued
        await drain(app)
    assert attached_again
    r = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    row = await db.prepare("SELECT chunk_count, attempt FROM vector_store_files").first()
    assert row is not None and (row["chunk_count"], row["attempt"]) == (stored, 1)
    assert len(vectors_index) == await chunk_count(db) == stored  # every chunk of the new attempt, and no other
    assert not old_ids & set(vectors_index._slot)
    r = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}/content")
    assert r.status_code == 200 and len(r.json()["data"]) == stored

    r = await client.delete(f"/v1/vector_stores/{store_id}/files/{file_id}")
    assert r.status_code == 200
    await drain(app)
    assert len(vectors_index) == await chunk_count(db) == 0


async def test_cancelling_a_batch_of_large_files_purges_them_over_bounded_jobs(
    client: httpx.AsyncClient, app: Any, db: SQLiteD1, vectors_index: CountingIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_id = await new_store(client)
    file_ids = await attached(client, app, store_id, [TEXT, TEXT, TEXT])
    total = await chunk_count(db)
    assert total > BATCH * STEPS * 2
    # as if still being ingested when the batch is cancelled: chunks stored, counted, the files in progress
    db.conn.execute("UPDATE vector_store_files SET status = 'in_progress'")
    batch = db.conn.execute("SELECT batch_id FROM vector_store_files LIMIT 1").fetchone()[0]
    calls = Calls(db, vectors_index)

    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{batch}/cancel")
    assert r.status_code == 200 and r.json()["file_counts"]["cancelled"] == 3, r.text
    assert calls.take() <= 8 + CALLS_PER_STEP * STEPS + 1
    ran = await jobs_one_by_one(app, calls, monkeypatch)
    assert ran and {kind for kind, _ in ran} == {"vector_stores.purge"}
    assert max(n for _, n in ran) <= 2 + CALLS_PER_STEP * STEPS + 2, ran
    assert len(vectors_index) == await chunk_count(db) == 0
    rows = db.conn.execute("SELECT id, status, chunk_count FROM vector_store_files ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(file_id, "cancelled", 0) for file_id in sorted(file_ids)]
