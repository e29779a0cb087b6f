"""Local bindings: ``SQLiteD1`` (migrations as wrangler records them, batches) and ``FolderR2``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.errors import UpstreamError

from .conftest import ROOT


def write(directory: Path, name: str, sql: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(sql)


async def test_migrations_apply_in_order_and_are_recorded_like_wrangler(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    # written out of order; 0002 needs 0001's table
    write(migrations, "0002_add_column.sql", "ALTER TABLE things ADD COLUMN colour TEXT;\n")
    write(migrations, "0001_things.sql", "-- first\nCREATE TABLE things (id TEXT PRIMARY KEY);\n"
                                         "CREATE INDEX things_id ON things(id);\n")
    write(migrations, "README.md", "not a migration")
    db = SQLiteD1(tmp_path / "d1.sqlite3")
    assert db.apply_migrations(migrations) == ["0001_things.sql", "0002_add_column.sql"]
    rows = await db.prepare("SELECT id, name, applied_at FROM d1_migrations ORDER BY id").all()
    assert [(r["id"], r["name"]) for r in rows] == [(1, "0001_things.sql"), (2, "0002_add_column.sql")]
    assert all(r["applied_at"] for r in rows)
    # wrangler's own table definition, so `wrangler d1 migrations` agrees with us
    schema = await db.prepare("SELECT sql FROM sqlite_master WHERE name = 'd1_migrations'").first()
    assert schema is not None and "AUTOINCREMENT" in schema["sql"] and "name TEXT UNIQUE" in schema["sql"]
    await db.prepare("INSERT INTO things (id, colour) VALUES (?, ?)").bind("a", "red").run()

    # re-applying is a no-op, on the same connection or a new one
    assert db.apply_migrations(migrations) == []
    again = SQLiteD1(tmp_path / "d1.sqlite3")
    assert again.apply_migrations(migrations) == []
    assert await again.prepare("SELECT colour FROM things").first() == {"colour": "red"}

    # a later migration applies alone
    write(migrations, "0003_more.sql", "CREATE TABLE more (x INTEGER);")
    assert again.apply_migrations(migrations) == ["0003_more.sql"]
    count = await again.prepare("SELECT COUNT(*) AS n FROM d1_migrations").first()
    assert count == {"n": 3}


async def test_a_failing_migration_is_rolled_back_and_not_recorded(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    write(migrations, "0001_ok.sql", "CREATE TABLE a (x INTEGER);")
    write(migrations, "0002_bad.sql", "CREATE TABLE b (x INTEGER);\nINSERT INTO missing VALUES (1);\n")
    db = SQLiteD1(":memory:")
    with pytest.raises(UpstreamError):
        db.apply_migrations(migrations)
    names = [r["name"] for r in await db.prepare("SELECT name FROM d1_migrations").all()]
    assert names == ["0001_ok.sql"]
    tables = {r["name"] for r in await db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all()}
    assert "a" in tables and "b" not in tables


def test_the_projects_migrations_apply(tmp_path: Path) -> None:
    db = SQLiteD1(tmp_path / "d1.sqlite3")
    names = sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
    assert db.apply_migrations(ROOT / "migrations") == names
    assert db.apply_migrations(ROOT / "migrations") == []


async def test_statements(db: SQLiteD1) -> None:
    await db.prepare("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)").run()
    insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)")
    assert await insert.bind("a", 1).run() == 1
    assert await insert.bind("b", 2).run() == 1
    assert await db.prepare("SELECT * FROM t WHERE k = ?").bind("b").first() == {"k": "b", "v": 2}
    assert await db.prepare("SELECT * FROM t WHERE k = ?").bind("zz").first() is None
    assert await db.prepare("SELECT k FROM t ORDER BY k").all() == [{"k": "a"}, {"k": "b"}]
    assert await db.prepare("UPDATE t SET v = v + 1").run() == 2
    with pytest.raises(UpstreamError, match="D1_ERROR"):
        await insert.bind("a", 9).run()  # unique constraint


async def test_batch_is_all_or_nothing(db: SQLiteD1) -> None:
    await db.prepare("CREATE TABLE t (k TEXT PRIMARY KEY)").run()
    insert = db.prepare("INSERT INTO t (k) VALUES (?)")
    await db.batch([insert.bind("a"), insert.bind("b")])
    with pytest.raises(UpstreamError):
        await db.batch([insert.bind("c"), insert.bind("a")])  # the second fails: "c" is rolled back
    assert [r["k"] for r in await db.prepare("SELECT k FROM t ORDER BY k").all()] == ["a", "b"]
    # the connection is usable afterwards (no transaction left open)
    await insert.bind("d").run()
    assert len(await db.prepare("SELECT k FROM t").all()) == 3


# ---- FolderR2 ----------------------------------------------------------------------------


async def read(obj) -> bytes:  # noqa: ANN001
    assert obj is not None and obj.body is not None
    return b"".join([chunk async for chunk in obj.body])


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_r2_put_get_head_delete(bucket: FolderR2) -> None:
    stored = await bucket.put("files/a.txt", b"hello", content_type="text/plain", metadata={"owner": "x"})
    assert (stored.key, stored.size, stored.content_type, stored.metadata) == ("files/a.txt", 5, "text/plain", {"owner": "x"})
    head = await bucket.head("files/a.txt")
    assert head is not None and head.size == 5 and head.metadata == {"owner": "x"} and head.body is None
    got = await bucket.get("files/a.txt")
    assert got is not None and got.content_type == "text/plain"
    assert await read(got) == b"hello"
    await bucket.delete("files/a.txt")
    assert await bucket.head("files/a.txt") is None and await bucket.get("files/a.txt") is None
    await bucket.delete("files/a.txt")  # deleting what is gone is fine, as in R2


async def test_r2_get_a_byte_range(bucket: FolderR2) -> None:
    await bucket.put("r", parts(b"0123456789" * 300_000))  # 3 MB: past one read's chunk
    assert await read(await bucket.get("r", span=(4, 3))) == b"456"
    assert await read(await bucket.get("r", span=(2_999_998, 10))) == b"89"  # fewer past the end
    middle = await read(await bucket.get("r", span=(5, 2_000_000)))
    assert len(middle) == 2_000_000 and middle[:3] == b"567" and middle[-1:] == b"4"


async def test_r2_streamed_put_and_overwrite(bucket: FolderR2) -> None:
    stored = await bucket.put("big", parts(b"a" * 1000, b"b" * 24))
    assert stored.size == 1024 and stored.content_type is None and stored.metadata == {}
    await bucket.put("big", b"small")
    assert await read(await bucket.get("big")) == b"small"
    assert (await bucket.head("big")).size == 5  # type: ignore[union-attr]


async def test_r2_failed_put_keeps_the_old_object(bucket: FolderR2, tmp_path: Path) -> None:
    await bucket.put("k", b"old", content_type="text/plain")

    async def broken() -> AsyncIterator[bytes]:
        yield b"new"
        raise OSError("client went away")

    with pytest.raises(OSError):
        await bucket.put("k", broken(), content_type="application/json")
    head = await bucket.head("k")
    assert head is not None and head.content_type == "text/plain"
    assert await read(await bucket.get("k")) == b"old"
    assert not list((tmp_path / "r2").glob("*.part"))  # no debris left behind


async def test_r2_list(bucket: FolderR2) -> None:
    for key in ("img/2", "img/1", "files/1", "img/3"):
        await bucket.put(key, key.encode())
    assert [o.key for o in await bucket.list("img/")] == ["img/1", "img/2", "img/3"]
    assert [o.key for o in await bucket.list()] == ["files/1", "img/1", "img/2", "img/3"]
    assert [o.key for o in await bucket.list("img/", limit=2)] == ["img/1", "img/2"]
    await bucket.delete(["img/1", "img/3"])
    assert [o.key for o in await bucket.list("img/")] == ["img/2"]
    assert (await bucket.list("img/"))[0].size == 5


async def test_r2_an_object_deleted_by_another_process_meanwhile(bucket: FolderR2, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # `serve --workers N`: another process may delete an object between this one's steps.
    await bucket.put("k", b"x" * 3000, content_type="text/plain")
    got = await bucket.get("k")
    await bucket.delete("k")  # after get, before the body is read (a download already answering 200)
    assert got is not None and got.size == 3000 and await read(got) == b"x" * 3000
    assert await bucket.head("k") is None and await bucket.get("k") is None
    # deleted between the listing of the folder and the reading of an object's metadata: left out
    await bucket.put("a", b"1")
    gone = tmp_path / "r2" / ("0" * 64)
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: [*real_glob(self, pattern), gone.with_suffix(".json")])
    assert [o.key for o in await bucket.list()] == ["a"]
    # metadata there, bytes just deleted: None, not an error
    await bucket.put("b", b"2")
    monkeypatch.setattr(Path, "glob", real_glob)
    for path in (tmp_path / "r2").iterdir():
        if path.suffix != ".json" and path.with_suffix(".json").exists() and path.read_bytes() == b"2":
            path.unlink()
    assert await bucket.head("b") is None and await bucket.get("b") is None


async def test_r2_leftovers_of_a_killed_write_are_removed(bucket: FolderR2, tmp_path: Path) -> None:
    root = tmp_path / "r2"
    old = [root / "a.1234.part", root / "a.1234.json-part"]  # a write killed before either was renamed
    for path in old:
        path.write_bytes(b"partial")
        os.utime(path, (0, 0))
    fresh = root / "b.5678.json-part"
    fresh.write_bytes(b"being written")
    assert bucket.remove_partials(older_than=3600) == 2
    assert not any(path.exists() for path in old) and fresh.exists()


async def test_r2_keys_with_any_characters(bucket: FolderR2) -> None:
    key = "../../etc/passwd ünïcode/🙂?x=1"
    await bucket.put(key, b"safe")
    assert await read(await bucket.get(key)) == b"safe"
    assert [o.key for o in await bucket.list("../")] == [key]


async def test_the_local_d1_refuses_what_d1_refuses(db: SQLiteD1) -> None:
    # D1's limits: a value (or row) over 2,000,000 bytes, more than 100 bound parameters a statement.
    await db.prepare("CREATE TABLE t (v TEXT)").run()
    await db.prepare("INSERT INTO t (v) VALUES (?)").bind("x" * 1_999_000).run()
    with pytest.raises(UpstreamError, match="D1_ERROR"):
        await db.prepare("INSERT INTO t (v) VALUES (?)").bind("x" * 2_000_001).run()
    await db.prepare(f"SELECT * FROM t WHERE v IN ({', '.join('?' * 100)})").bind(*range(100)).all()
    with pytest.raises(UpstreamError, match="D1_ERROR"):
        await db.prepare(f"SELECT * FROM t WHERE v IN ({', '.join('?' * 101)})").bind(*range(101)).all()
