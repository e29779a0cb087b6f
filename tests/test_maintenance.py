"""The scheduled cleanup (``maintenance.run_scheduled``, ``storage.sweep``) and ``openai-workers-ai cleanup``."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_workers_ai import maintenance
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.cli import main
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.storage import STALE_AFTER

from .conftest import ROOT


def insert(db: SQLiteD1, file_id: str, status: str, updated_at: int, expires_at: int | None = None) -> str:
    key = f"files/{file_id}/rnd"
    db.conn.execute(
        "INSERT INTO files (id, owner, object_key, filename, purpose, bytes, content_type, created_at,"
        " expires_at, status, updated_at) VALUES (?, 'o', ?, 'f', 'assistants', 1, 'text/plain', ?, ?, ?, ?)",
        (file_id, key, updated_at, expires_at, status, updated_at),
    )
    return key


def ids(db: SQLiteD1) -> list[str]:
    return [row[0] for row in db.conn.execute("SELECT id FROM files ORDER BY id")]


async def keys(bucket: FolderR2) -> list[str]:
    return [obj.key for obj in await bucket.list()]


async def test_stale_rows_are_finished_and_fresh_ones_left_alone(
    backends: Backends, db: SQLiteD1, bucket: FolderR2
) -> None:
    now = 1_800_000_000
    old = now - STALE_AFTER
    for name, status, updated in [("a", "uploading", old), ("b", "deleting", old),
                                  ("c", "uploading", now - 60), ("d", "deleting", now - 60),
                                  ("e", "processed", old)]:
        await bucket.put(insert(db, f"file-{name}", status, updated), b"x")
    counts = await run_scheduled(backends, Settings(), now=now)
    expected = {"errors": 0, "files_expired": 0, "files_stale": 2, "files_orphans": 0}
    assert counts.items() >= expected.items()  # other resources add their own counts
    # An upload or delete in flight (fresh row) keeps its bytes: they are not orphans.
    assert ids(db) == ["file-c", "file-d", "file-e"]
    assert sorted(await keys(bucket)) == ["files/file-c/rnd", "files/file-d/rnd", "files/file-e/rnd"]


async def test_stale_row_without_bytes_is_removed(backends: Backends, db: SQLiteD1) -> None:
    insert(db, "file-a", "uploading", 0)
    counts = await run_scheduled(backends, Settings(), now=STALE_AFTER)
    assert counts["files_stale"] == 1 and ids(db) == []


async def test_orphan_objects_are_deleted_other_prefixes_are_not(
    backends: Backends, db: SQLiteD1, bucket: FolderR2
) -> None:
    await bucket.put(insert(db, "file-live", "processed", int(time.time())), b"live")
    for key in ["files/file-gone/abc", "files/file-live/other", "images/abc.png", "filesystem/x"]:
        await bucket.put(key, b"x")
    counts = await run_scheduled(backends, Settings())
    assert counts["files_orphans"] == 2
    assert sorted(await keys(bucket)) == ["files/file-live/rnd", "filesystem/x", "images/abc.png"]


async def test_many_orphans_are_checked_in_d1_sized_chunks(
    backends: Backends, db: SQLiteD1, bucket: FolderR2
) -> None:
    for i in range(250):  # D1 binds at most 100 parameters a statement
        key = f"files/file-{i:03d}/k"
        await bucket.put(key, b"x")
        if i % 2:
            insert(db, f"file-{i:03d}", "processed", int(time.time()))
            db.conn.execute("UPDATE files SET object_key = ? WHERE id = ?", (key, f"file-{i:03d}"))
    counts = await run_scheduled(backends, Settings())
    assert counts["files_orphans"] == 125 and len(await keys(bucket)) == 125


async def test_adding_a_cleanup_is_one_line_and_failures_are_isolated(
    backends: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    async def images(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
        seen.append(now)
        return {"images_expired": 3}

    async def broken(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
        raise RuntimeError("boom")

    monkeypatch.setattr(maintenance, "CLEANUPS", [broken, *maintenance.CLEANUPS, images])
    counts = await run_scheduled(backends, Settings(), now=123)
    assert seen == [123]
    assert counts["errors"] == 1 and counts["images_expired"] == 3 and counts["files_expired"] == 0


def test_cli_cleanup_runs_the_same_routine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = SQLiteD1(tmp_path / "d1.sqlite3")
    db.apply_migrations(ROOT / "migrations")
    bucket = FolderR2(tmp_path / "r2")
    asyncio.run(bucket.put(insert(db, "file-old", "processed", 0, expires_at=1), b"x"))
    asyncio.run(bucket.put("files/file-orphan/x", b"x"))
    db.conn.close()
    main(["cleanup", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "files_expired=1" in out and "files_orphans=1" in out and "errors=0" in out
    assert asyncio.run(keys(bucket)) == []


async def test_the_worker_cron_signature_matches(backends: Backends, settings: Settings) -> None:
    # src/entry.py calls run_scheduled(backends, settings): `now` must stay optional.
    counts: dict[str, Any] = await run_scheduled(backends, settings)
    assert counts["errors"] == 0


async def test_uploads_survive_the_sweep(client: httpx.AsyncClient, backends: Backends, settings: Settings) -> None:
    response = await client.post("/v1/files", data={"purpose": "vision"}, files={"file": ("a", b"keep")})
    counts = await run_scheduled(backends, settings, now=int(time.time()) + STALE_AFTER * 10)
    expected = {"errors": 0, "files_expired": 0, "files_stale": 0, "files_orphans": 0}
    assert counts.items() >= expected.items()  # other resources add their own counts
    assert (await client.get(f"/v1/files/{response.json()['id']}/content")).content == b"keep"


def test_cli_cleanup_clears_what_a_killed_server_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kill -9`` mid-upload leaves a row ``uploading`` and a ``.part`` file: ``--stale-after`` clears both."""
    monkeypatch.chdir(tmp_path)
    db = SQLiteD1(tmp_path / "d1.sqlite3")
    db.apply_migrations(ROOT / "migrations")
    FolderR2(tmp_path / "r2")
    now = int(time.time())
    insert(db, "file-crashed", "uploading", now - 120)
    partial = tmp_path / "r2" / "deadbeef.part"
    partial.write_bytes(b"half an upload")
    os.utime(partial, (now - 120, now - 120))
    fresh = tmp_path / "r2" / "cafe.part"  # a write in progress: left alone
    fresh.write_bytes(b"being written")
    db.conn.close()
    main(["cleanup", "--data-dir", str(tmp_path)])  # the default (6 hours): too young to be a crash's
    assert "files_stale=0" in capsys.readouterr().out and partial.exists()
    main(["cleanup", "--data-dir", str(tmp_path), "--stale-after", "60"])
    out = capsys.readouterr().out
    assert "files_stale=1" in out and "partials_removed=1" in out
    assert not partial.exists() and fresh.exists()


class CountedCalls:
    """Calls the run makes to D1 (statements prepared) and R2, counted at the backends themselves."""

    def __init__(self, db: SQLiteD1, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        for target, names in ((db, ["prepare", "batch"]), (bucket, ["put", "get", "head", "delete", "list"])):
            for name in names:
                monkeypatch.setattr(target, name, self._counted(getattr(target, name)))

    def _counted(self, method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return method(*args, **kwargs)
        return counted

    def take(self) -> int:
        calls, self.calls = self.calls, 0
        return calls


async def test_a_backlog_is_cleaned_a_bounded_run_at_a_time_and_no_cleanup_waits_behind_it(
    backends: Backends, db: SQLiteD1, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Worker invocation may make 1,000 calls: a run stops at ``CALLS_PER_RUN`` (here 30) wherever it is,
    the next goes on, and each run starts with the next cleanup in turn, so an expired image is deleted
    within a round of runs however many expired files wait."""
    monkeypatch.setattr(maintenance, "CALLS_PER_RUN", 30)
    now = 1_800_000_000 - 1_800_000_000 % 3600  # the top of an hour: the files' cleanup goes first
    for i in range(60):
        await bucket.put(insert(db, f"file-{i:03}", "processed", 0, expires_at=now - 10), b"x")
    await bucket.put("images/old.png", b"png", metadata={"expires_at": str(now - 10)})
    calls = CountedCalls(db, bucket, monkeypatch)
    runs: list[dict[str, int]] = []
    files_left = [60]
    while files_left[-1] or "images/old.png" in await keys(bucket):
        calls.take()
        counts = await run_scheduled(backends, Settings(), now=now + 3600 * len(runs))
        assert calls.take() <= 30, counts
        runs.append(counts)
        files_left.append(len(ids(db)))
        assert len(runs) < 40
    assert runs[0].get("out_of_calls") == 1 and 0 < files_left[1] < 60  # stopped at its limit, having done some
    assert await keys(bucket) == []  # the files a stop left marked ``deleting`` were finished once stale (6 h)
    image_run = next(i for i, r in enumerate(runs) if r.get("images_expired"))
    assert image_run < len(maintenance.CLEANUPS)  # not after the 60 files: its turn came first
    assert all(r["errors"] == 0 for r in runs)
