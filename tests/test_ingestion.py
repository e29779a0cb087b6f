"""Ingestion through the job port: faults mid-file leave the file failed and nothing stored,
redelivery stores nothing twice, deletes and cancels mid-ingestion leave nothing behind, and the
scheduled sweep finishes what stopped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from openai_workers_ai import jobs
from openai_workers_ai.adapters.local_vectors import LocalVectorIndex
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Job, Vector
from openai_workers_ai.runner import ingest
from openai_workers_ai.simulator import Simulator

from .vector_stores_util import drain, upload

TEXT = " ".join(f"sentence {i} talks about topic {i % 7}." for i in range(400))  # ~12k characters
STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}


class FailingEmbeddings(Simulator):
    """The simulator, failing its ``fail_on``-th embeddings call (counting from 1) with a 503."""

    fail_on: int = 0
    embedding_calls: int = 0

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        if model == "@cf/baai/bge-m3":
            self.embedding_calls += 1
            if self.embedding_calls == self.fail_on:
                raise UpstreamError("3040: Capacity temporarily exceeded, please try again.", status=503)
        return await super().run(model, inputs, options)


class FailingIndex(LocalVectorIndex):
    fail_on: int = 0
    upserts: int = 0

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        self.upserts += 1
        await super().upsert(vectors)  # stored, then the call fails: the worst case
        if self.upserts == self.fail_on:
            raise UpstreamError("Vector index error: VECTOR_UPSERT_ERROR", code="vector_index_error")


@pytest.fixture
def simulator() -> Simulator:
    return FailingEmbeddings()


@pytest.fixture
def vectors() -> LocalVectorIndex:
    return FailingIndex()


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "STEP", 5)  # ~30 chunks: six steps


async def attach(client: httpx.AsyncClient, text: str = TEXT) -> tuple[str, str]:
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    file_id = await upload(client, "long.txt", text)
    r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id, "chunking_strategy": STATIC})
    assert r.status_code == 200, r.text
    return store_id, file_id


async def rows(app: Any, table: str) -> int:
    return int((await app.state.ctx.backends.db.prepare(f"SELECT COUNT(*) AS n FROM {table}").first())["n"])


async def file_row(client: httpx.AsyncClient, store_id: str, file_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")
    body: dict[str, Any] = r.json()
    return body


async def test_a_whole_file_ingests_in_steps(client: httpx.AsyncClient, app: Any, vectors: FailingIndex) -> None:
    store_id, file_id = await attach(client)
    await drain(app)
    row = await file_row(client, store_id, file_id)
    assert row["status"] == "completed"
    chunks = await rows(app, "vector_store_chunks")
    assert chunks == len(vectors) > 25 and vectors.upserts == -(-chunks // 5)


@pytest.mark.parametrize("where", ["embeddings", "index"])
async def test_a_fault_mid_file_fails_it_and_leaves_no_vectors(client: httpx.AsyncClient, app: Any,
                                                               simulator: FailingEmbeddings, vectors: FailingIndex,
                                                               where: str) -> None:
    if where == "embeddings":
        simulator.fail_on = 3
    else:
        vectors.fail_on = 3
    store_id, file_id = await attach(client)
    await drain(app)
    row = await file_row(client, store_id, file_id)
    assert row["status"] == "failed" and row["last_error"]["code"] == "server_error"
    assert ("Capacity" if where == "embeddings" else "VECTOR_UPSERT_ERROR") in row["last_error"]["message"]
    assert len(vectors) == 0 and await rows(app, "vector_store_chunks") == 0
    assert (await client.post(f"/v1/vector_stores/{store_id}/search", json={"query": "topic"})).json()["data"] == []
    # attached again, it is ingested from the start
    r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id, "chunking_strategy": STATIC})
    assert r.json()["status"] == "in_progress" and r.json()["last_error"] is None
    await drain(app)
    assert (await file_row(client, store_id, file_id))["status"] == "completed" and len(vectors) > 25


async def test_a_cleanup_that_fails_too_is_retried(client: httpx.AsyncClient, app: Any, simulator: FailingEmbeddings,
                                                   vectors: FailingIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    simulator.fail_on = 2
    deletes = {"n": 0}
    original = vectors.delete

    async def broken_once(ids: Sequence[str]) -> None:
        deletes["n"] += 1
        if deletes["n"] == 1:
            raise UpstreamError("Vector index error: unavailable")
        await original(ids)

    monkeypatch.setattr(vectors, "delete", broken_once)
    store_id, file_id = await attach(client)
    await drain(app)  # the job fails (its cleanup failed), is retried, re-runs and completes
    assert (await file_row(client, store_id, file_id))["status"] == "completed"
    assert await rows(app, "vector_store_chunks") == len(vectors)


async def test_redelivery_stores_nothing_twice(client: httpx.AsyncClient, app: Any, vectors: FailingIndex) -> None:
    store_id, file_id = await attach(client)
    await drain(app)
    before = (len(vectors), await rows(app, "vector_store_chunks"))
    upserts = vectors.upserts
    job = Job("vector_stores.ingest", f"{store_id}/{file_id}")
    await jobs.execute(app.state.ctx, job)  # a redelivered message: the file is complete, nothing runs
    assert vectors.upserts == upserts
    # two deliveries running at once (the file still in progress for both): the same ids, overwritten
    ctx = app.state.ctx
    await ctx.backends.db.prepare("UPDATE vector_store_files SET status = 'in_progress'").run()
    await ingest.ingest(ctx, store_id, file_id)
    await ctx.backends.db.prepare("UPDATE vector_store_files SET status = 'in_progress'").run()
    await ingest.ingest(ctx, store_id, file_id)
    assert (len(vectors), await rows(app, "vector_store_chunks")) == before
    assert (await file_row(client, store_id, file_id))["status"] == "completed"


async def test_a_twin_finishing_first_keeps_the_vectors(client: httpx.AsyncClient, app: Any, vectors: FailingIndex,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin that loses the race to mark the file complete must not delete what the winner kept."""
    store_id, file_id = await attach(client)
    ctx = app.state.ctx
    original = ingest.vector_store_files.transition

    async def twin_wins(db: Any, s: str, f: str, expected: Any, status: str, now: int, **columns: Any) -> bool:
        if status == "completed":
            await original(db, s, f, expected, status, now, **columns)  # the twin completes it
            return False  # ... so this run finds it done
        return await original(db, s, f, expected, status, now, **columns)

    monkeypatch.setattr(ingest.vector_store_files, "transition", twin_wins)
    await ingest.ingest(ctx, store_id, file_id)
    assert len(vectors) > 25 and await rows(app, "vector_store_chunks") == len(vectors)


@pytest.mark.parametrize("action", ["delete file", "delete store", "cancel batch"])
async def test_deleting_or_cancelling_mid_ingestion_leaves_nothing(client: httpx.AsyncClient, app: Any,
                                                                   vectors: FailingIndex,
                                                                   monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    file_id = await upload(client, "long.txt", TEXT)
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches",
                          json={"file_ids": [file_id], "chunking_strategy": STATIC})
    batch_id = r.json()["id"]
    steps = {"n": 0}
    original = ingest._store_vectors

    async def interrupted(ctx: Any, row: Any, step: Any) -> None:
        await original(ctx, row, step)
        steps["n"] += 1
        if steps["n"] == 2:  # the client acts between two steps
            if action == "delete file":
                await client.delete(f"/v1/vector_stores/{store_id}/files/{file_id}")
            elif action == "delete store":
                await client.delete(f"/v1/vector_stores/{store_id}")
            else:
                await client.post(f"/v1/vector_stores/{store_id}/file_batches/{batch_id}/cancel")

    monkeypatch.setattr(ingest, "_store_vectors", interrupted)
    await drain(app)
    assert steps["n"] == 2  # the ingestion stopped at its next heartbeat
    assert len(vectors) == 0 and await rows(app, "vector_store_chunks") == 0
    if action == "cancel batch":
        assert (await file_row(client, store_id, file_id))["status"] == "cancelled"
    else:
        assert await rows(app, "vector_store_files") == 0


async def test_an_ingestion_of_a_cancelled_attempt_stops_when_the_file_is_attached_again(
        client: httpx.AsyncClient, app: Any, vectors: FailingIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch is cancelled between two steps of an ingestion and the file attached again before the
    first ingestion's next heartbeat: the file is ``in_progress`` again, but not at the attempt that
    ingestion is at, so it stops there (it went on, storing under its own ids) and deletes only what it
    stored itself; the new attempt's ingestion completes the file."""
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    file_id = await upload(client, "long.txt", TEXT)
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches",
                          json={"file_ids": [file_id], "chunking_strategy": STATIC})
    batch_id = r.json()["id"]
    steps = {"first": 0}
    original = ingest._store_vectors

    async def interrupted(ctx: Any, row: Any, step: Any) -> None:
        await original(ctx, row, step)
        if row.attempt == 0:
            steps["first"] += 1
            if steps["first"] == 2:  # the client cancels, and attaches the file again, between two steps
                r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{batch_id}/cancel")
                assert r.status_code == 200, r.text
                r = await client.post(f"/v1/vector_stores/{store_id}/files",
                                      json={"file_id": file_id, "chunking_strategy": STATIC})
                assert r.status_code == 200, r.text  # in progress again: its ingestion queued

    monkeypatch.setattr(ingest, "_store_vectors", interrupted)
    await drain(app)
    assert steps["first"] == 2  # the first ingestion stopped at its next heartbeat
    row = await file_row(client, store_id, file_id)
    assert row["status"] == "completed", row
    chunk_count = (await app.state.ctx.backends.db.prepare("SELECT chunk_count FROM vector_store_files").first())
    assert len(vectors) == await rows(app, "vector_store_chunks") == chunk_count["chunk_count"] > 25


async def test_a_store_delete_cascades(client: httpx.AsyncClient, app: Any, vectors: FailingIndex) -> None:
    stores = []
    for n in range(2):
        store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
        file_id = await upload(client, f"f{n}.txt", TEXT)
        await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id, "chunking_strategy": STATIC})
        await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [file_id]})
        stores.append(store_id)
    await drain(app)
    kept = len(vectors) // 2
    await client.delete(f"/v1/vector_stores/{stores[0]}")
    assert len(vectors) == kept
    for table in ("vector_store_files", "vector_store_file_batches"):
        assert await rows(app, table) == 1
    assert await rows(app, "vector_stores") == 1 and await rows(app, "vector_store_chunks") == kept
    # FTS5 rows went with the chunks: a keyword search of the other store still works, of this one finds nothing
    fts = await app.state.ctx.backends.db.prepare(
        "SELECT COUNT(*) AS n FROM vector_store_chunks_fts WHERE vector_store_chunks_fts MATCH 'topic'").first()
    assert fts["n"] == kept


async def test_the_sweep_deletes_expired_stores_and_fails_stalled_ingestions(
        client: httpx.AsyncClient, app: Any, vectors: FailingIndex) -> None:
    ctx = app.state.ctx
    expiring = (await client.post("/v1/vector_stores", json={
        "expires_after": {"anchor": "last_active_at", "days": 1}})).json()["id"]
    file_id = await upload(client, "a.txt", TEXT)
    await client.post(f"/v1/vector_stores/{expiring}/files", json={"file_id": file_id})
    await drain(app)
    stalled, stalled_file = await attach(client)  # its job is lost: never drained
    jobs_queue = ctx.backends.jobs
    jobs_queue.store = jobs.MemoryJobs()
    await ctx.backends.db.prepare("UPDATE vector_store_files SET chunk_count = 3 WHERE vector_store_id = ?").bind(
        stalled).run()
    await vectors.upsert([Vector(f"{i}", [1.0] * 1024, {}) for i in range(1)])  # an unrelated vector stays
    now = ctx.now()
    assert (await run_scheduled(ctx.backends, ctx.settings, now))["vector_stores_deleted"] == 0
    counts = await run_scheduled(ctx.backends, ctx.settings, now + 2 * 86400)
    assert counts["vector_stores_deleted"] == 1 and counts["vector_store_files_stale"] == 1 and counts["errors"] == 0
    assert (await client.get(f"/v1/vector_stores/{expiring}")).status_code == 404
    row = await file_row(client, stalled, stalled_file)
    assert row["status"] == "failed" and row["last_error"]["code"] == "server_error"
    assert len(vectors) == 1


async def test_a_twin_behind_never_lowers_the_chunk_count(client: httpx.AsyncClient, app: Any,
                                                          vectors: FailingIndex) -> None:
    """Two ingestions of one file (its own job and a store's batch job): the one behind reports fewer
    chunks than are stored; the file must still own them all, so removing it deletes every vector."""
    store_id, file_id = await attach(client)
    await drain(app)
    stored = len(vectors)
    assert stored > 25
    ctx, db = app.state.ctx, app.state.ctx.backends.db
    await db.prepare("UPDATE vector_store_files SET status = 'in_progress'").run()  # while the first still ran
    assert await ingest.vector_store_files.heartbeat(db, store_id, file_id, 0, ctx.now(), chunk_count=5)
    await db.prepare("UPDATE vector_store_files SET status = 'completed'").run()  # then the first completed
    assert (await client.delete(f"/v1/vector_stores/{store_id}/files/{file_id}")).status_code == 200
    assert len(vectors) == 0 and await rows(app, "vector_store_chunks") == 0


async def test_a_twin_completing_while_this_one_fails_gets_its_chunks_back(
    client: httpx.AsyncClient, app: Any, simulator: FailingEmbeddings, vectors: FailingIndex,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This ingestion fails mid-file and deletes what it stored, which (same ids) is also what a twin
    stored; the twin completes the file before this one marks it failed: the file is ingested again,
    not left completed without chunks."""
    simulator.fail_on = 3
    store_id, file_id = await attach(client)
    ctx = app.state.ctx
    original = ingest.vector_store_files.transition
    twin = {"done": False}

    async def twin_completes_first(db: Any, s: str, f: str, expected: Any, status: str, now: int,
                                   **columns: Any) -> bool:
        if status == "failed" and not twin["done"]:
            twin["done"] = True
            await original(db, s, f, expected, "completed", now)  # the twin's completion comes first
        return await original(db, s, f, expected, status, now, **columns)

    monkeypatch.setattr(ingest.vector_store_files, "transition", twin_completes_first)
    await ingest.ingest(ctx, store_id, file_id)
    assert twin["done"]
    row = await file_row(client, store_id, file_id)
    assert row["status"] == "completed", row
    assert len(vectors) > 25 and await rows(app, "vector_store_chunks") == len(vectors)


async def test_a_long_file_is_ingested_over_several_jobs(client: httpx.AsyncClient, app: Any,
                                                         vectors: FailingIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job runs a few steps and queues the rest (a Worker invocation has a budget of calls); each job
    resumes after what the one before stored, redoing only its last step."""
    monkeypatch.setattr(ingest, "STEPS_PER_JOB", 2)
    store_id, file_id = await attach(client)  # ~30 chunks in steps of 5
    sent: list[Any] = []
    original = jobs.send

    async def counted(ctx: Any, job: Any, *, delay: int = 0) -> bool:
        sent.append(job)
        return await original(ctx, job, delay=delay)

    monkeypatch.setattr(jobs, "send", counted)
    await drain(app)
    assert (await file_row(client, store_id, file_id))["status"] == "completed"
    chunk_rows = await rows(app, "vector_store_chunks")
    assert chunk_rows == len(vectors) > 25
    steps = -(-chunk_rows // 5)
    # the first job ran two steps; each job after it redid the last step before it, then one more
    assert [job.kind for job in sent] == ["vector_stores.ingest"] * (steps - 2)
    assert vectors.upserts == steps + len(sent)


async def test_a_batch_job_shares_its_steps_among_its_files(client: httpx.AsyncClient, app: Any,
                                                            vectors: FailingIndex,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "STEPS_PER_JOB", 3)
    first, second = await upload(client, "a.txt", TEXT), await upload(client, "b.txt", TEXT.upper())
    r = await client.post("/v1/vector_stores", json={"file_ids": [first, second], "chunking_strategy": STATIC})
    store_id = r.json()["id"]
    await drain(app)
    for file_id in (first, second):
        assert (await file_row(client, store_id, file_id))["status"] == "completed"
    assert await rows(app, "vector_store_chunks") == len(vectors) > 50
