"""The no-orphan protocol (``storage.py``) under injected D1 and R2 failures, at every step.

``FaultyD1`` / ``FaultyR2`` wrap the local stand-ins and number every call. A
healthy run of an operation records its calls; the operation is then re-run
failing at each call in turn, in three ways: the call fails without effect
(``before``), the call takes effect but the caller sees an error (``after``,
a lost response), the store goes down from that call on (``outage``, so the
compensation fails too), or both (``after+outage``). After each: no R2 object lacks a row, every
served row has its bytes, nothing half-made is visible, and a retry or the
scheduled sweep leaves both stores clean.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_workers_ai import maintenance
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1, SQLiteStatement
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends, StoredObject
from openai_workers_ai.settings import Settings
from openai_workers_ai.storage import STALE_AFTER

from .conftest import KEY, ROOT
from .test_files import BOUNDARY, form_body

MODES = ("before", "after", "outage", "after+outage")


class Faults:
    """Numbers backend calls; fails the armed one (and, in an outage, every later one of that store)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail_at: int | None = None
        self.mode = "before"
        self.down: str | None = None

    def arm(self, index: int | None, mode: str = "before") -> None:
        self.calls, self.fail_at, self.mode, self.down = [], index, mode, None

    async def call(self, name: str, effect: Any) -> Any:
        index = len(self.calls)
        self.calls.append(name)
        store = name.split(".")[0]
        if self.down == store or index == self.fail_at:
            if self.mode in ("outage", "after+outage"):
                self.down = store
            if self.mode in ("after", "after+outage") and index == self.fail_at:
                await effect()
            raise UpstreamError(f"injected failure at call {index} ({name})")
        return await effect()


class FaultyStatement:
    def __init__(self, faults: Faults, inner: SQLiteStatement) -> None:
        self.faults, self.inner = faults, inner

    def bind(self, *values: Any) -> FaultyStatement:
        return FaultyStatement(self.faults, self.inner.bind(*values))

    def _name(self, kind: str) -> str:
        return f"d1.{kind}:{' '.join(self.inner.sql.split()[:3])}"

    async def all(self) -> list[dict[str, Any]]:
        return await self.faults.call(self._name("all"), self.inner.all)  # type: ignore[no-any-return]

    async def first(self) -> dict[str, Any] | None:
        return await self.faults.call(self._name("first"), self.inner.first)  # type: ignore[no-any-return]

    async def run(self) -> int:
        return await self.faults.call(self._name("run"), self.inner.run)  # type: ignore[no-any-return]


class FaultyD1:
    def __init__(self, faults: Faults, inner: SQLiteD1) -> None:
        self.faults, self.inner = faults, inner

    def prepare(self, sql: str) -> FaultyStatement:
        return FaultyStatement(self.faults, self.inner.prepare(sql))

    async def batch(self, statements: Sequence[FaultyStatement]) -> None:
        await self.faults.call("d1.batch", lambda: self.inner.batch([s.inner for s in statements]))


class FaultyR2:
    def __init__(self, faults: Faults, inner: FolderR2) -> None:
        self.faults, self.inner = faults, inner

    async def put(self, key: str, body: Any, **kw: Any) -> StoredObject:
        return await self.faults.call("r2.put", lambda: self.inner.put(key, body, **kw))  # type: ignore[no-any-return]

    async def get(self, key: str) -> StoredObject | None:
        return await self.faults.call("r2.get", lambda: self.inner.get(key))  # type: ignore[no-any-return]

    async def head(self, key: str) -> StoredObject | None:
        return await self.faults.call("r2.head", lambda: self.inner.head(key))  # type: ignore[no-any-return]

    async def delete(self, keys: str | Sequence[str]) -> None:
        await self.faults.call("r2.delete", lambda: self.inner.delete(keys))

    async def list(self, prefix: str = "", limit: int = 1000) -> list[StoredObject]:
        return await self.faults.call("r2.list", lambda: self.inner.list(prefix, limit))  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def only_the_files_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    # The call counts below are the files sweep's; other resources' cleanups are tested with them.
    monkeypatch.setattr(maintenance, "CLEANUPS", [maintenance.files_cleanup])


@dataclasses.dataclass
class World:
    faults: Faults
    db: SQLiteD1
    bucket: FolderR2
    backends: Backends  # the faulty ones, as the app sees them
    client: httpx.AsyncClient


@pytest.fixture
async def world_factory(tmp_path: Path, backends: Backends) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(name: str) -> World:
        faults = Faults()
        db = SQLiteD1(":memory:")
        db.apply_migrations(ROOT / "migrations")
        bucket = FolderR2(tmp_path / name)
        faulty = dataclasses.replace(backends, db=FaultyD1(faults, db), bucket=FaultyR2(faults, bucket))
        app = create_app(faulty, Settings(access_token=(KEY,)))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://t", headers={"authorization": f"Bearer {KEY}"},
        )
        clients.append(client)
        return World(faults, db, bucket, faulty, client)

    yield make
    for client in clients:
        await client.aclose()


async def upload(
    client: httpx.AsyncClient, content: bytes = b"payload", file_first: bool = False
) -> httpx.Response:
    """Fields first (the openai client's order) or the file first (openai-node's): the purpose
    is then known only after the bytes went to R2."""
    parts = [("purpose", "batch"), ("file", content)]
    return await client.post("/v1/files", content=form_body(*(parts[::-1] if file_first else parts)),
                             headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})


async def check_consistent(world: World, planted: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """No R2 object without a row (but ``planted`` orphans); every processed row has its bytes;
    only intact files are served."""
    rows = [dict(r) for r in world.db.conn.execute("SELECT id, object_key, status FROM files")]
    keys = {obj.key for obj in await world.bucket.list()} - planted
    named = {row["object_key"] for row in rows}
    assert keys <= named, f"bytes without a row: {keys - named}"
    for row in rows:
        if row["status"] == "processed":
            assert row["object_key"] in keys, f"row without bytes: {row}"
    world.faults.arm(None)
    for listed in (await world.client.get("/v1/files")).json()["data"]:
        content = await world.client.get(f"/v1/files/{listed['id']}/content")
        assert content.status_code == 200 and len(content.content) == listed["bytes"]
    return rows


async def sweep_leaves_nothing(world: World) -> None:
    world.faults.arm(None)
    counts = await run_scheduled(world.backends, Settings(), now=int(time.time()) + STALE_AFTER + 1)
    assert counts["errors"] == 0
    assert list(world.db.conn.execute("SELECT id FROM files")) == []
    assert await world.bucket.list() == []


def assert_server_error(response: httpx.Response, where: str) -> None:
    assert response.status_code == 502, f"{where}: {response.status_code} {response.text}"
    assert response.json()["error"]["type"] == "server_error", where
    assert "injected failure" in response.json()["error"]["message"], where


async def test_healthy_runs_make_the_expected_calls(world_factory: Any) -> None:
    world = world_factory("healthy")
    world.faults.arm(None)
    assert (await upload(world.client)).status_code == 200
    assert world.faults.calls == ["d1.run:INSERT INTO files", "r2.put", "d1.run:UPDATE files SET"]
    file_id = (await world.client.get("/v1/files")).json()["data"][0]["id"]
    world.faults.arm(None)
    assert (await world.client.delete(f"/v1/files/{file_id}")).status_code == 200
    assert world.faults.calls == [
        "d1.first:SELECT id, owner,", "d1.run:UPDATE files SET",
        "d1.run:UPDATE vector_store_files SET", "d1.all:SELECT vector_store_id FROM",  # out of every vector store
        "r2.delete", "d1.run:DELETE FROM files",
    ]


@pytest.mark.parametrize("file_first", [False, True])
@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_upload_leaves_no_orphan(world_factory: Any, mode: str, file_first: bool) -> None:
    for step in range(3):  # INSERT row, put bytes, mark processed
        where = f"upload ({file_first=}), {mode} at call {step}"
        world = world_factory(f"up-{mode}-{step}-{file_first}")
        world.faults.arm(step, mode)
        assert_server_error(await upload(world.client, file_first=file_first), where)
        rows = await check_consistent(world)
        # Left for the sweep, or (a committed "processed" whose reply was lost) complete.
        assert all(row["status"] in ("uploading", "deleting", "processed") for row in rows), where
        survivors = {row["id"] for row in rows if row["status"] == "processed"}
        if mode == "before":  # a single failure: the compensation itself cleaned up
            assert rows == [] and await world.bucket.list() == [], where
        # The store recovers: new uploads work, and the sweep removes what the failure left.
        assert (await upload(world.client)).status_code == 200, where
        world.faults.arm(None)
        counts = await run_scheduled(world.backends, Settings(), now=int(time.time()) + STALE_AFTER + 1)
        assert counts["errors"] == 0, where
        rows = await check_consistent(world)
        assert [row["status"] for row in rows] == ["processed"] * (1 + len(survivors)), where
        assert len(await world.bucket.list()) == len(rows), where


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_delete_is_safe_to_retry(world_factory: Any, mode: str) -> None:
    for step in range(6):  # SELECT row, mark deleting, out of vector stores (2), delete bytes, delete row
        where = f"delete, {mode} at call {step}"
        world = world_factory(f"del-{mode}-{step}")
        file_id = (await upload(world.client)).json()["id"]
        world.faults.arm(step, mode)
        assert_server_error(await world.client.delete(f"/v1/files/{file_id}"), where)
        rows = await check_consistent(world)
        visible = (await world.client.get(f"/v1/files/{file_id}")).status_code == 200
        # Either untouched (the delete failed before marking) or invisible, never half-served.
        assert visible == (rows != [] and rows[0]["status"] == "processed"), where
        retry = await world.client.delete(f"/v1/files/{file_id}")
        if rows:
            assert retry.status_code == 200 and retry.json()["deleted"] is True, where
        else:  # the failure hid a completed delete
            assert retry.status_code == 404, where
        assert list(world.db.conn.execute("SELECT id FROM files")) == [], where
        assert await world.bucket.list() == [], where


@pytest.mark.parametrize("mode", MODES)
async def test_a_failed_delete_is_finished_by_the_sweep(world_factory: Any, mode: str) -> None:
    for step in range(1, 6):
        world = world_factory(f"delsweep-{mode}-{step}")
        file_id = (await upload(world.client)).json()["id"]
        world.faults.arm(step, mode)
        await world.client.delete(f"/v1/files/{file_id}")
        rows = await check_consistent(world)
        if rows and rows[0]["status"] == "processed":  # failed before it began: the file is intact
            assert (await world.client.get(f"/v1/files/{file_id}")).status_code == 200
            continue
        await sweep_leaves_nothing(world)


async def test_a_failed_download_changes_nothing(world_factory: Any) -> None:
    world = world_factory("download")
    file_id = (await upload(world.client, b"abc")).json()["id"]
    for step in range(2):  # SELECT row, get bytes
        world.faults.arm(step)
        assert_server_error(await world.client.get(f"/v1/files/{file_id}/content"), f"download at {step}")
    world.faults.arm(None)
    assert (await world.client.get(f"/v1/files/{file_id}/content")).content == b"abc"


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_sweep_is_finished_by_the_next(world_factory: Any, mode: str) -> None:
    later = int(time.time()) + 7200
    orphan = "files/file-orphan/abc"

    async def expired_files_and_an_orphan(name: str) -> World:
        world = world_factory(name)
        for _ in range(2):
            response = await world.client.post(
                "/v1/files", data={"purpose": "batch", "expires_after[anchor]": "created_at",
                                   "expires_after[seconds]": "3600"}, files={"file": ("a", b"x")})
            assert response.status_code == 200
        await world.bucket.put(orphan, b"left behind")
        return world

    world = await expired_files_and_an_orphan(f"sweep-{mode}")
    world.faults.arm(None)
    await run_scheduled(world.backends, Settings(), now=later)
    healthy_calls = len(world.faults.calls)  # 2 selects, 2 x 5 delete steps, list, lookup, delete
    assert healthy_calls == 15, world.faults.calls
    for step in range(healthy_calls):
        world = await expired_files_and_an_orphan(f"sweep-{mode}-{step}")
        world.faults.arm(step, mode)
        await run_scheduled(world.backends, Settings(), now=later)
        await check_consistent(world, planted=frozenset({orphan}))
        world.faults.arm(None)
        counts = await run_scheduled(world.backends, Settings(), now=later + STALE_AFTER + 1)
        assert counts["errors"] == 0
        assert list(world.db.conn.execute("SELECT id FROM files")) == [], (mode, step)
        assert await world.bucket.list() == [], (mode, step)
