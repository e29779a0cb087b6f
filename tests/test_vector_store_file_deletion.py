"""A file deleted through ``/v1/files`` (or expired and removed by the cron cleanup) leaves every vector
store that holds it: its store-file rows, chunks, FTS rows and vectors go, and the stores' counts and
``usage_bytes`` follow — as OpenAI documents ("Delete a file and remove it from all vector stores")."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.adapters.local_vectors import LocalVectorIndex
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends, Vector, VectorMatch
from openai_workers_ai.repositories import vector_store_files
from openai_workers_ai.repositories.chunks import Stored
from openai_workers_ai.runner.vectors import STALE_AFTER
from openai_workers_ai.settings import Settings

from .conftest import ADMIN_KEY, KEY, ROOT
from .test_storage import MODES, Faults, FaultyD1, FaultyR2
from .vector_stores_util import drain, store_with, upload

ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
ESPRESSO = "The espresso machine needs descaling every month with citric acid."
TEA = "Green tea is brewed at eighty degrees for two minutes."


async def rows_of(db: SQLiteD1, file_id: str) -> dict[str, int]:
    """What D1 holds of a file in vector stores: store-file rows, chunks, and FTS rows matching its text."""
    counts = {}
    for table in ("vector_store_files", "vector_store_chunks"):
        column = "id" if table == "vector_store_files" else "file_id"
        row = await db.prepare(f"SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?").bind(file_id).first()
        counts[table] = row["n"] if row else 0
    fts = await db.prepare(
        "SELECT COUNT(*) AS n FROM vector_store_chunks_fts WHERE vector_store_chunks_fts MATCH 'espresso'"
    ).first()
    counts["fts"] = fts["n"] if fts else 0
    return counts


async def searched(client: httpx.AsyncClient, store_id: str, **headers: str) -> list[str]:
    r = await client.post(f"/v1/vector_stores/{store_id}/search", headers=headers,
                          json={"query": "espresso descaling citric acid", "max_num_results": 50})
    assert r.status_code == 200, r.text
    return [result["file_id"] for result in r.json()["data"]]


async def store(client: httpx.AsyncClient, store_id: str, **headers: str) -> dict[str, Any]:
    r = await client.get(f"/v1/vector_stores/{store_id}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def two_stores(client: httpx.AsyncClient, app: Any) -> tuple[str, str, str, str]:
    """The caller's store and an admin's, both holding the caller's espresso file; the caller's also a
    tea file. Returns (mine, admins, espresso, tea)."""
    mine, ids = await store_with(client, app, {"espresso.txt": ESPRESSO, "tea.txt": TEA})
    r = await client.post("/v1/vector_stores", headers=ADMIN, json={"file_ids": [ids["espresso.txt"]]})
    assert r.status_code == 200, r.text
    await drain(app)
    return mine, r.json()["id"], ids["espresso.txt"], ids["tea.txt"]


async def assert_gone(client: httpx.AsyncClient, app: Any, vectors: LocalVectorIndex, stores: Sequence[str],
                      file_id: str, tea: str, tea_bytes: int) -> None:
    """``file_id`` is in none of ``stores`` (the first also holds ``tea``, of ``tea_bytes``), nor in D1 or
    the vector index."""
    for store_id in stores:
        r = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}", headers=ADMIN)
        assert r.status_code == 404, r.text
        listed = (await client.get(f"/v1/vector_stores/{store_id}/files", headers=ADMIN)).json()["data"]
        assert file_id not in [f["id"] for f in listed]
        assert file_id not in await searched(client, store_id, **ADMIN)
    mine, admins = (await store(client, stores[0], **ADMIN), await store(client, stores[1], **ADMIN))
    assert mine["file_counts"] == {"in_progress": 0, "completed": 1, "failed": 0, "cancelled": 0, "total": 1}
    assert mine["usage_bytes"] == tea_bytes
    assert admins["file_counts"]["total"] == 0 and admins["usage_bytes"] == 0
    assert set(await searched(client, stores[0])) <= {tea}
    assert await rows_of(app.state.ctx.backends.db, file_id) == {"vector_store_files": 0, "vector_store_chunks": 0,
                                                                 "fts": 0}
    for store_id in stores:
        assert not set(Stored(store_id, file_id, 0, 1).vector_ids()) & set(vectors._slot)
    assert len(vectors) == 1  # the tea file's one chunk


async def tea_bytes(client: httpx.AsyncClient, store_id: str, tea: str) -> int:
    r = await client.get(f"/v1/vector_stores/{store_id}/files/{tea}")
    return int(r.json()["usage_bytes"])


async def test_deleting_a_file_takes_it_out_of_every_store(client: httpx.AsyncClient, app: Any,
                                                           vectors: LocalVectorIndex) -> None:
    mine, admins, espresso, tea = await two_stores(client, app)
    assert espresso in await searched(client, mine) and espresso in await searched(client, admins, **ADMIN)
    assert (await store(client, admins, **ADMIN))["usage_bytes"] > 0
    assert len(vectors) == 3
    tea_size = await tea_bytes(client, mine, tea)

    r = await client.delete(f"/v1/files/{espresso}")  # the owner, who cannot see the admin's store
    assert r.json() == {"id": espresso, "object": "file", "deleted": True}
    assert (await client.get(f"/v1/files/{espresso}")).status_code == 404
    await assert_gone(client, app, vectors, [mine, admins], espresso, tea, tea_size)
    assert (await client.get(f"/v1/vector_stores/{mine}/files/{tea}")).json()["status"] == "completed"


async def test_an_expired_file_leaves_its_stores_when_the_cleanup_deletes_it(
    client: httpx.AsyncClient, app: Any, vectors: LocalVectorIndex
) -> None:
    mine, ids = await store_with(client, app, {"tea.txt": TEA})
    tea = ids["tea.txt"]
    r = await client.post("/v1/files", files={"file": ("espresso.txt", ESPRESSO.encode())},
                          data={"purpose": "assistants", "expires_after[anchor]": "created_at",
                                "expires_after[seconds]": "3600"})
    espresso = r.json()["id"]
    await client.post(f"/v1/vector_stores/{mine}/files", json={"file_id": espresso})
    admins = (await client.post("/v1/vector_stores", headers=ADMIN, json={"file_ids": [espresso]})).json()["id"]
    await drain(app)
    assert espresso in await searched(client, mine)
    tea_size = await tea_bytes(client, mine, tea)

    ctx = app.state.ctx
    counts = await run_scheduled(ctx.backends, Settings(), now=r.json()["expires_at"] + 1)
    assert counts["files_expired"] == 1 and counts["errors"] == 0
    await assert_gone(client, app, vectors, [mine, admins], espresso, tea, tea_size)


async def test_a_file_deleted_mid_ingestion_stores_nothing(client: httpx.AsyncClient, app: Any,
                                                           vectors: LocalVectorIndex) -> None:
    file_id = await upload(client, "espresso.txt", ESPRESSO)
    store_id = (await client.post("/v1/vector_stores", json={"file_ids": [file_id]})).json()["id"]  # queued
    assert (await client.delete(f"/v1/files/{file_id}")).status_code == 200
    await drain(app)
    assert (await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}")).status_code == 404
    assert (await store(client, store_id))["file_counts"]["total"] == 0
    assert len(vectors) == 0
    assert (await rows_of(app.state.ctx.backends.db, file_id))["vector_store_chunks"] == 0


async def test_when_the_vectors_cannot_be_deleted_the_file_still_goes_and_the_sweep_finishes(
    client: httpx.AsyncClient, app: Any, vectors: LocalVectorIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, admins, espresso, tea = await two_stores(client, app)
    tea_size = await tea_bytes(client, mine, tea)

    async def down(ids: Sequence[str]) -> None:
        raise UpstreamError("VECTOR_DELETE_ERROR: the index is unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(vectors, "delete", down)
        r = await client.delete(f"/v1/files/{espresso}")
    assert r.status_code == 200, r.text
    assert (await client.get(f"/v1/files/{espresso}")).status_code == 404
    for store_id in (mine, admins):  # out of sight at once: not listed, counted or found
        assert (await client.get(f"/v1/vector_stores/{store_id}/files/{espresso}", headers=ADMIN)).status_code == 404
        assert espresso not in await searched(client, store_id, **ADMIN)
    assert (await store(client, mine))["usage_bytes"] == tea_size
    assert (await store(client, admins, **ADMIN))["file_counts"]["total"] == 0
    db = app.state.ctx.backends.db
    statuses = await db.prepare("SELECT status FROM vector_store_files WHERE id = ?").bind(espresso).all()
    assert [row["status"] for row in statuses] == ["deleting", "deleting"]  # left, marked, for the sweep
    assert len(vectors) == 3

    now = app.state.ctx.now() + STALE_AFTER
    counts = await run_scheduled(app.state.ctx.backends, Settings(), now=now)
    assert counts["vector_store_files_stale"] == 2 and counts["errors"] == 0
    await assert_gone(client, app, vectors, [mine, admins], espresso, tea, tea_size)


async def test_a_delete_that_failed_to_reach_the_stores_is_retried(client: httpx.AsyncClient, app: Any,
                                                                   vectors: LocalVectorIndex,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    mine, admins, espresso, tea = await two_stores(client, app)
    tea_size = await tea_bytes(client, mine, tea)

    async def d1_down(*args: object) -> None:
        raise UpstreamError("D1_ERROR: unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(vector_store_files, "mark_file_deleting", d1_down)
        r = await client.delete(f"/v1/files/{espresso}")
    assert r.status_code == 502, r.text
    assert (await client.get(f"/v1/files/{espresso}")).status_code == 404  # marked deleting: out of sight
    assert (await client.get(f"/v1/files/{espresso}/content")).status_code == 404
    r = await client.delete(f"/v1/files/{espresso}")  # the retry finishes it
    assert r.status_code == 200, r.text
    await assert_gone(client, app, vectors, [mine, admins], espresso, tea, tea_size)


class FaultyVectors:
    """The vector index with its calls numbered and failed by the same :class:`Faults` as D1 and R2."""

    def __init__(self, faults: Faults, inner: LocalVectorIndex) -> None:
        self.faults, self.inner = faults, inner

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        await self.faults.call("vectors.upsert", lambda: self.inner.upsert(vectors))

    async def query(self, values: Sequence[float], *, top_k: int, filter: dict[str, Any] | None = None
                    ) -> list[VectorMatch]:
        return await self.faults.call(  # type: ignore[no-any-return]
            "vectors.query", lambda: self.inner.query(values, top_k=top_k, filter=filter))

    async def delete(self, ids: Sequence[str]) -> None:
        await self.faults.call("vectors.delete", lambda: self.inner.delete(ids))


@pytest.mark.parametrize("mode", MODES)
async def test_a_failure_at_any_step_of_the_delete_loses_nothing_and_leaves_nothing(
    tmp_path: Path, backends: Backends, mode: str
) -> None:
    """Every D1, R2 and vector-index call of deleting a file held by two stores fails in turn (see
    tests/test_storage.py for the modes). After each: the other file is intact; the deleted one is
    either intact (the delete failed before it began) or out of sight, and a retry or the sweep
    removes every trace of it."""

    async def world(name: str) -> tuple[Faults, Any, httpx.AsyncClient, LocalVectorIndex, tuple[str, ...]]:
        faults, index = Faults(), LocalVectorIndex()
        db = SQLiteD1(":memory:")
        db.apply_migrations(ROOT / "migrations")
        faulty = dataclasses.replace(backends, db=FaultyD1(faults, db), bucket=FaultyR2(faults, FolderR2(tmp_path / name)),
                                     vectors=FaultyVectors(faults, index))
        app = create_app(faulty, Settings(access_token=(KEY,), admin_tokens=(ADMIN_KEY,)))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                   base_url="http://t", headers={"authorization": f"Bearer {KEY}"})
        return faults, app, client, index, await two_stores(client, app)

    faults, app, client, index, (mine, admins, espresso, tea) = await world("healthy")
    tea_size = await tea_bytes(client, mine, tea)
    faults.arm(None)
    assert (await client.delete(f"/v1/files/{espresso}")).status_code == 200
    calls = list(faults.calls)
    assert calls.count("vectors.delete") == 2, calls  # one per store
    await client.aclose()

    for step in range(len(calls)):
        where = f"{mode} at call {step} ({calls[step]})"
        faults, app, client, index, (mine, admins, espresso, tea) = await world(f"{mode}-{step}")
        faults.arm(step, mode)
        r = await client.delete(f"/v1/files/{espresso}")
        faults.arm(None)
        assert r.status_code in (200, 502), where
        assert (await client.get(f"/v1/vector_stores/{mine}/files/{tea}")).json()["status"] == "completed", where
        assert tea in await searched(client, mine), where
        if (await client.get(f"/v1/files/{espresso}")).status_code == 200:  # failed before it began: intact
            assert r.status_code == 502 and espresso in await searched(client, mine), where
            assert espresso in await searched(client, admins, **ADMIN), where
            await client.aclose()
            continue
        # Out of sight at once, whatever is left: every other step the client retries, and the sweep finishes the rest.
        if r.status_code == 502 and step % 2:
            retry = await client.delete(f"/v1/files/{espresso}")
            assert retry.status_code in (200, 404), where
        counts = await run_scheduled(app.state.ctx.backends, Settings(), now=int(time.time()) + STALE_AFTER + 1)
        assert counts["errors"] == 0, where
        await assert_gone(client, app, index, [mine, admins], espresso, tea, tea_size)
        assert await app.state.ctx.backends.bucket.list("files/") != [], where  # the tea file's bytes
        await client.aclose()
