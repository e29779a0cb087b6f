"""A store's ``file_counts`` and ``usage_bytes``, kept in its row by the triggers of
``migrations/0014_vector_store_file_counts.sql``, stay equal to what its files say — whatever writes
the files, in whatever order, however often (a redelivered job repeats its transitions; a race's loser
changes nothing) — and a store with files read before the migration gets its counts from it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx

from openai_workers_ai import jobs as job_runner
from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.ports import Job
from openai_workers_ai.repositories import vector_store_files as files
from openai_workers_ai.repositories import vector_stores
from openai_workers_ai.repositories.vector_store_files import STATUSES, StoreFileRow
from openai_workers_ai.repositories.vector_stores import StoreRow

from .vector_stores_util import drain, store_with, upload

ROOT = Path(__file__).resolve().parents[1]
FILE_IDS = [f"file-{n:024d}" for n in range(12)]


async def truth(db: SQLiteD1, store_id: str) -> tuple[dict[str, int], int]:
    """The counts and usage its files say (the GROUP BY and SUM every read made before)."""
    counts = (await files.counts(db, store_id)).as_dict()
    row = await db.prepare("SELECT COALESCE(SUM(usage_bytes), 0) AS n FROM vector_store_files"
                           " WHERE vector_store_id = ? AND status = 'completed'").bind(store_id).first()
    assert row is not None
    return counts, int(row["n"])


async def kept(db: SQLiteD1, store_id: str) -> tuple[dict[str, int], int]:
    row = await vector_stores.get(db, store_id, None)
    assert row is not None
    return row.file_counts.as_dict(), row.usage_bytes


def file_row(store_id: str, file_id: str, batch_id: str | None) -> StoreFileRow:
    return StoreFileRow(store_id, file_id, batch_id, "f.txt", "in_progress", None, None, {}, 800, 400, 0, 0, 1, 1)


async def test_the_kept_counts_follow_every_writer_in_any_order(db: SQLiteD1) -> None:
    rng = random.Random(14)
    stores = ["vs_" + c * 24 for c in "ab"]
    for store_id in stores:
        await vector_stores.create(db, StoreRow(store_id, "o", "s", None, {}, None, None, 1, 1, "active"))
    statuses = [*STATUSES, "deleting"]
    for step in range(1500):
        store_id, file_id = rng.choice(stores), rng.choice(FILE_IDS)
        op = rng.randrange(9)
        if op == 0:  # attach (new; again after failed / cancelled; a no-op otherwise), one or several
            chosen = rng.sample(FILE_IDS, rng.randint(1, 4))
            await files.attach(db, [file_row(store_id, f, rng.choice([None, "vsfb_1", "vsfb_2"])) for f in chosen])
        elif op in (1, 2, 3):  # a transition, repeated as a redelivered job repeats it
            expected = rng.sample(statuses, rng.randint(1, 2))
            target = rng.choice(statuses)
            usage = {"usage_bytes": rng.randint(0, 5000)} if rng.random() < 0.5 else {}
            for _ in range(rng.choice([1, 2])):
                await files.transition(db, store_id, file_id, expected, target, step, **usage)
        elif op == 4:
            await files.heartbeat(db, store_id, file_id, 0, step, rng.randint(0, 9))
        elif op == 5:
            await files.cancel_batch(db, store_id, rng.choice(["vsfb_1", "vsfb_2"]), step)
        elif op == 6:
            await files.mark_file_deleting(db, file_id, step)  # in every store holding it
        elif op == 7:
            await files.remove(db, store_id, file_id)
        else:
            await files.remove_many(db, store_id, rng.sample(FILE_IDS, 3))
        for s in stores:
            assert await kept(db, s) == await truth(db, s), (step, op)
    assert [(await truth(db, s))[0]["total"] > 0 for s in stores] == [True, True]  # the walk left files to count


async def test_a_store_deleted_with_its_files_leaves_nothing_counted_elsewhere(db: SQLiteD1) -> None:
    for store_id in ("vs_" + "a" * 24, "vs_" + "b" * 24):
        await vector_stores.create(db, StoreRow(store_id, "o", "s", None, {}, None, None, 1, 1, "active"))
        await files.attach(db, [file_row(store_id, f, None) for f in FILE_IDS[:3]])
    await db.prepare("DELETE FROM vector_stores WHERE id = ?").bind("vs_" + "a" * 24).run()  # cascades
    assert await kept(db, "vs_" + "b" * 24) == await truth(db, "vs_" + "b" * 24)


async def test_ingestion_delivered_twice_counts_each_file_once(client: httpx.AsyncClient, app: Any) -> None:
    store_id, ids = await store_with(client, app, {"a.txt": "Alpha text.", "b.txt": "Beta text."})
    db = app.state.ctx.backends.db
    owner = (await vector_stores.get(db, store_id, None)).owner  # type: ignore[union-attr]
    await job_runner.execute(app.state.ctx, Job("vector_stores.ingest_batch", store_id, owner))  # redelivered
    await drain(app)
    store = (await client.get(f"/v1/vector_stores/{store_id}")).json()
    assert store["file_counts"] == {"in_progress": 0, "completed": 2, "failed": 0, "cancelled": 0, "total": 2}
    assert (store["file_counts"], store["usage_bytes"]) == await truth(db, store_id)
    bad = await upload(client, "bad.bin", b"\x00\xff" * 64)
    r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": bad})
    assert r.json()["status"] == "in_progress"
    assert (await client.get(f"/v1/vector_stores/{store_id}")).json()["file_counts"]["in_progress"] == 1
    await drain(app)
    assert (await client.delete(f"/v1/vector_stores/{store_id}/files/{ids['a.txt']}")).status_code == 200
    await drain(app)
    store = (await client.get(f"/v1/vector_stores/{store_id}")).json()
    assert (store["file_counts"], store["usage_bytes"]) == await truth(db, store_id)
    assert store["file_counts"]["total"] == 2 and store["file_counts"]["failed"] == 1


async def test_the_migration_counts_the_files_already_there(tmp_path: Path) -> None:
    db = SQLiteD1(tmp_path / "d1.sqlite")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    for migration in sorted((ROOT / "migrations").glob("*.sql")):
        if migration.name < "0014":
            (earlier / migration.name).write_text(migration.read_text())
    db.apply_migrations(earlier)
    store_id = "vs_" + "a" * 24
    await db.prepare("INSERT INTO vector_stores (id, owner, name, description, metadata, expires_after_days,"
                     " expires_at, last_active_at, created_at, status) VALUES (?, 'o', 's', NULL, '{}', NULL, NULL,"
                     " 1, 1, 'active')").bind(store_id).run()
    await files.attach(db, [file_row(store_id, f, None) for f in FILE_IDS[:5]])
    await files.transition(db, store_id, FILE_IDS[0], "in_progress", "completed", 2, usage_bytes=700)
    await files.transition(db, store_id, FILE_IDS[1], "in_progress", "failed", 2)
    db.apply_migrations(ROOT / "migrations")
    assert await kept(db, store_id) == await truth(db, store_id)
    assert (await kept(db, store_id))[1] == 700
