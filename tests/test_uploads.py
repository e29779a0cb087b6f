"""``/v1/uploads`` in-process: create, add parts, complete (the file made of the parts in the order named),
cancel; ownership, every error, expiry and the scheduled cleanup of parts left behind."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends
from openai_workers_ai.repositories import uploads as uploads_repo
from openai_workers_ai.routes.files import BATCH_EXPIRY, FILE_ID
from openai_workers_ai.routes.uploads import MAX_PART_BYTES, UPLOAD_EXPIRY, UPLOAD_ID
from openai_workers_ai.settings import Settings

from .conftest import ADMIN_KEY, KEY, OTHER_KEY, Clock
from .openapi import assert_matches


@pytest.fixture
async def client(backends: Backends, settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(backends, settings, clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        yield c


def as_key(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def check_upload(body: dict[str, Any]) -> None:
    assert_matches({k: v for k, v in body.items() if v is not None and k != "file"}, "Upload")
    if body.get("file") is not None:
        assert_matches({k: v for k, v in body["file"].items() if v is not None}, "OpenAIFile")


async def create(client: httpx.AsyncClient, size: int, *, key: str = KEY, **fields: Any) -> httpx.Response:
    body = {"filename": "data.jsonl", "purpose": "fine-tune", "bytes": size, "mime_type": "text/jsonl", **fields}
    return await client.post("/v1/uploads", json=body, headers=as_key(key))


async def created(client: httpx.AsyncClient, size: int, **fields: Any) -> dict[str, Any]:
    r = await create(client, size, **fields)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def add_part(client: httpx.AsyncClient, upload_id: str, data: bytes, *, key: str = KEY) -> httpx.Response:
    return await client.post(f"/v1/uploads/{upload_id}/parts", files={"data": ("blob", data)}, headers=as_key(key))


async def part_id(client: httpx.AsyncClient, upload_id: str, data: bytes) -> str:
    r = await add_part(client, upload_id, data)
    assert r.status_code == 200, r.text
    return r.json()["id"]  # type: ignore[no-any-return]


def assert_error(r: httpx.Response, status: int, param: str | None, text: str = "") -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    assert text in error["message"], error


def part_rows(db: SQLiteD1) -> list[dict[str, Any]]:
    return [dict(r) for r in db.conn.execute("SELECT * FROM upload_parts ORDER BY id")]


async def part_objects(bucket: FolderR2) -> list[str]:
    return [obj.key for obj in await bucket.list(uploads_repo.PARTS.prefix)]


# --- the happy path --------------------------------------------------------------------------


UPLOAD_MEMBERS = ["id", "object", "bytes", "created_at", "filename", "purpose", "status", "expires_at"]
"""An upload's members as OpenAI sends them, ``file`` only once completed (openai/openai-dotnet,
tests/SessionRecords/UploadsTests/CreateUploadWorks(True).json, CancelUploadWorks.json, CompleteUploadWorks.json)."""


async def test_parts_completed_in_the_order_named_make_a_file(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2, clock: Clock
) -> None:
    upload = await created(client, 11)
    check_upload(upload)
    assert UPLOAD_ID.match(upload["id"]) and upload["object"] == "upload" and upload["status"] == "pending"
    assert upload["expires_at"] == upload["created_at"] + UPLOAD_EXPIRY == int(clock.now) + 3600
    assert list(upload) == UPLOAD_MEMBERS  # no "file" member, not a null one
    assert upload["bytes"] == 11 and upload["filename"] == "data.jsonl"
    second = await add_part(client, upload["id"], b" world")
    assert second.status_code == 200, second.text
    part = second.json()
    assert_matches(part, "UploadPart")
    assert list(part) == ["id", "object", "created_at", "upload_id"]
    assert part["object"] == "upload.part" and part["upload_id"] == upload["id"] and part["id"].startswith("part_")
    first = await part_id(client, upload["id"], b"hello")
    md5 = hashlib.md5(b"hello world").hexdigest()
    r = await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [first, part["id"]], "md5": md5})
    assert r.status_code == 200, r.text
    done = r.json()
    check_upload(done)
    assert done["status"] == "completed" and done["id"] == upload["id"]
    assert list(done) == [*UPLOAD_MEMBERS, "file"]
    file = done["file"]
    assert FILE_ID.match(file["id"]) and file["bytes"] == 11 and file["filename"] == "data.jsonl"
    assert file["purpose"] == "fine-tune" and file["status"] == "processed" and file["expires_at"] is None
    assert (await client.get(f"/v1/files/{file['id']}")).json() == file
    content = await client.get(f"/v1/files/{file['id']}/content")
    assert content.content == b"hello world" and content.headers["content-type"].startswith("text/jsonl")
    assert file["id"] in [f["id"] for f in (await client.get("/v1/files")).json()["data"]]
    assert part_rows(db) == [] and await part_objects(bucket) == []  # the parts are gone
    deleted = await client.delete(f"/v1/files/{file['id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True


async def test_ids_are_openai_s_and_older_ones_are_still_found(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    # openai/openai-dotnet, tests/SessionRecords/UploadsTests/CompleteUploadWorks.json: "upload_68cb2a7db1008191a9fc811a39b4a95b"
    # (created_at 1758145149 = 0x68cb2a7d), "part_68cb2a7e21c88191a82274273ca367ef" (created_at 1758145150)
    upload = await created(client, 3)
    assert re.fullmatch(r"upload_[0-9a-f]{32}", upload["id"]) and int(upload["id"][7:15], 16) == upload["created_at"]
    part = (await add_part(client, upload["id"], b"abc")).json()
    assert re.fullmatch(r"part_[0-9a-f]{32}", part["id"]) and int(part["id"][5:13], 16) == part["created_at"]
    old = "upload_" + "Ab3" * 8  # as ids were made here before
    db.conn.execute("UPDATE uploads SET id = ? WHERE id = ?", (old, upload["id"]))
    db.conn.execute("UPDATE upload_parts SET upload_id = ? WHERE upload_id = ?", (old, upload["id"]))
    assert UPLOAD_ID.match(old)
    done = await client.post(f"/v1/uploads/{old}/complete", json={"part_ids": [part["id"]]})
    assert done.status_code == 200, done.text
    assert done.json()["id"] == old


async def test_expires_after_and_batch_files_expire_as_files_do(client: httpx.AsyncClient, clock: Clock) -> None:
    upload = await created(client, 1, expires_after={"anchor": "created_at", "seconds": 7200})
    part = await part_id(client, upload["id"], b"x")
    file = (await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [part]})).json()["file"]
    assert file["expires_at"] == file["created_at"] + 7200
    batch = await created(client, 1, purpose="batch")
    part = await part_id(client, batch["id"], b"y")
    file = (await client.post(f"/v1/uploads/{batch['id']}/complete", json={"part_ids": [part]})).json()["file"]
    assert file["expires_at"] == file["created_at"] + BATCH_EXPIRY
    clock.now += 7201
    assert (await client.get(f"/v1/files/{file['id']}")).status_code == 200


async def test_cancel_deletes_the_parts(client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2) -> None:
    upload = await created(client, 10)
    part = await part_id(client, upload["id"], b"12345")
    assert len(part_rows(db)) == 1 and len(await part_objects(bucket)) == 1
    r = await client.post(f"/v1/uploads/{upload['id']}/cancel")
    assert r.status_code == 200, r.text
    check_upload(r.json())
    assert r.json()["status"] == "cancelled" and list(r.json()) == UPLOAD_MEMBERS
    assert part_rows(db) == [] and await part_objects(bucket) == []
    assert_error(await add_part(client, upload["id"], b"x"), 400, "upload_id", "cancelled")
    assert_error(await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [part]}),
                 400, "upload_id", "cancelled")
    assert_error(await client.post(f"/v1/uploads/{upload['id']}/cancel"), 400, "upload_id", "cancelled")


# --- errors ----------------------------------------------------------------------------------


async def test_create_errors(client: httpx.AsyncClient) -> None:
    assert_error(await create(client, 5, purpose="nonsense"), 400, "purpose", "is not one of")
    assert_error(await create(client, 5, mime_type="not a type"), 400, "mime_type")
    assert_error(await create(client, 0), 400, "bytes")
    # what one Worker invocation can join (a read a part, a write every 8 MiB, 1,000 calls in all)
    assert (await create(client, 4 << 30)).status_code == 200
    assert_error(await create(client, (4 << 30) + 1), 400, "bytes")
    assert_error(await create(client, 5, expires_after={"anchor": "created_at", "seconds": 60}),
                 400, "expires_after.seconds")
    r = await client.post("/v1/uploads", json={"filename": "a", "purpose": "assistants", "bytes": 1})
    assert_error(r, 400, "mime_type")
    user_data = await created(client, 5, purpose="user_data")  # the Files API's purposes, as the client's
    assert user_data["purpose"] == "user_data"


async def test_unknown_and_other_keys_uploads_are_404(client: httpx.AsyncClient) -> None:
    upload = await created(client, 3)
    part = await part_id(client, upload["id"], b"abc")
    for upload_id in ("upload_doesnotexist", "upload_" + "A" * 24, "file-abc"):
        assert_error(await add_part(client, upload_id, b"x"), 404, "upload_id")
        assert_error(await client.post(f"/v1/uploads/{upload_id}/cancel"), 404, "upload_id")
    for key in (OTHER_KEY,):
        assert_error(await add_part(client, upload["id"], b"x", key=key), 404, "upload_id", "No such Upload")
        r = await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [part]}, headers=as_key(key))
        assert_error(r, 404, "upload_id")
        assert_error(await client.post(f"/v1/uploads/{upload['id']}/cancel", headers=as_key(key)), 404, "upload_id")
    admin = await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [part]},
                              headers=as_key(ADMIN_KEY))
    assert admin.status_code == 200, admin.text  # an admin key reaches every upload
    file_id = admin.json()["file"]["id"]
    assert (await client.get(f"/v1/files/{file_id}")).status_code == 200  # the file is the upload's owner's


async def test_complete_errors(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    upload = await created(client, 6)
    one = await part_id(client, upload["id"], b"abc")
    two = await part_id(client, upload["id"], b"def")
    path = f"/v1/uploads/{upload['id']}/complete"
    assert_error(await client.post(path, json={"part_ids": [one, "part_nope"]}), 400, "part_ids[1]", "part_nope")
    assert_error(await client.post(path, json={"part_ids": [one, one]}), 400, "part_ids[1]")
    assert_error(await client.post(path, json={"part_ids": [one]}), 400, "bytes", "(3)")
    assert_error(await client.post(path, json={"part_ids": []}), 400, "part_ids")
    assert_error(await client.post(path, json={}), 400, "part_ids")
    assert_error(await client.post(path, json={"part_ids": [one] * 401}), 400, "part_ids")
    assert_error(await client.post(path, json={"part_ids": [one, two], "md5": "0" * 32}), 400, "md5")
    assert [dict(r)["status"] for r in db.conn.execute("SELECT status FROM uploads")] == ["pending"]
    assert db.conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0  # the md5 undid the file
    other = await created(client, 3)
    foreign = await part_id(client, other["id"], b"xyz")
    assert_error(await client.post(path, json={"part_ids": [one, foreign]}), 400, "part_ids[1]")
    done = await client.post(path, json={"part_ids": [two, one]})
    assert done.status_code == 200, done.text
    assert (await client.get(f"/v1/files/{done.json()['file']['id']}/content")).content == b"defabc"
    assert_error(await client.post(path, json={"part_ids": [two, one]}), 400, "upload_id", "completed")
    assert_error(await add_part(client, upload["id"], b"x"), 400, "upload_id", "completed")
    assert_error(await client.post(f"/v1/uploads/{upload['id']}/cancel"), 400, "upload_id", "completed")


async def test_part_errors(client: httpx.AsyncClient) -> None:
    upload = await created(client, 3)
    path = f"/v1/uploads/{upload['id']}/parts"
    assert_error(await client.post(path, files={"other": ("b", b"x")}), 400, "data")
    assert_error(await client.post(path, data={"data": "text"}, files={"x": ("b", b"y")}), 400, "data", "file upload")
    assert_error(await add_part(client, upload["id"], b""), 400, "data")
    r = await client.post(path, json={"data": "abc"})
    assert r.status_code == 400, r.text
    too_big = await client.post(path, files={"data": ("b", b"x")},
                                headers={"content-length": str(MAX_PART_BYTES + (8 << 20))})
    assert too_big.status_code in (400, 413), too_big.text


async def test_an_expired_upload_takes_nothing_and_its_parts_are_swept(
    client: httpx.AsyncClient, backends: Backends, settings: Settings, db: SQLiteD1, bucket: FolderR2, clock: Clock
) -> None:
    upload = await created(client, 2)
    part = await part_id(client, upload["id"], b"ab")
    clock.now += UPLOAD_EXPIRY
    assert_error(await add_part(client, upload["id"], b"x"), 400, "upload_id", "expired")
    assert_error(await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": [part]}),
                 400, "upload_id", "expired")
    assert len(part_rows(db)) == 1 and len(await part_objects(bucket)) == 1
    counts = await run_scheduled(backends, settings, int(clock.now))
    assert counts["upload_parts_expired"] == 1 and counts["errors"] == 0
    assert part_rows(db) == [] and await part_objects(bucket) == []
    cancelled = await client.post(f"/v1/uploads/{upload['id']}/cancel")  # an expired upload can still be cancelled
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    counts = await run_scheduled(backends, settings, int(clock.now) + uploads_repo.KEPT_AFTER_EXPIRY)
    assert counts["uploads_dropped"] == 1
    assert db.conn.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0


async def test_parts_a_failed_delete_left_are_swept(
    client: httpx.AsyncClient, backends: Backends, settings: Settings, db: SQLiteD1, bucket: FolderR2,
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = await created(client, 4)
    await part_id(client, upload["id"], b"ab")
    await part_id(client, upload["id"], b"cd")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("R2 is down")

    monkeypatch.setattr(bucket, "delete", broken)
    r = await client.post(f"/v1/uploads/{upload['id']}/cancel")
    assert r.status_code == 200, r.text  # cancelled; the parts are left for the sweep
    monkeypatch.undo()
    assert len(part_rows(db)) == 2  # made to expire now: the sweep's
    counts = await run_scheduled(backends, settings, int(clock.now) + 1)
    assert counts["upload_parts_expired"] == 2
    assert part_rows(db) == [] and await part_objects(bucket) == []


async def test_a_part_for_an_upload_completed_meanwhile_is_not_kept(
    client: httpx.AsyncClient, backends: Backends, db: SQLiteD1, bucket: FolderR2, clock: Clock
) -> None:
    upload = await created(client, 1)
    row = await uploads_repo.get(db, upload["id"], None, int(clock.now))
    assert row is not None
    await uploads_repo.cancel(db, upload["id"], int(clock.now))

    async def body() -> AsyncIterator[bytes]:
        yield b"late"

    assert not await uploads_repo.add_part(backends, row, "part_late", "upload_parts/part_late/k", body(),
                                           int(clock.now))
    assert part_rows(db) == [] and await part_objects(bucket) == []


async def test_completing_deletes_the_parts_in_a_few_calls(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A completion may name 400 parts, and join them within a Worker invocation's 1,000 calls: its parts
    then go in three (their objects in one R2 call, their rows in one D1 batch), not three each."""
    upload = await created(client, 12)
    ids = [await part_id(client, upload["id"], bytes([65 + i]) * 2) for i in range(6)]
    deletes: list[Any] = []
    delete = bucket.delete

    async def counted(keys: Any) -> None:
        deletes.append(keys)
        await delete(keys)

    monkeypatch.setattr(bucket, "delete", counted)
    r = await client.post(f"/v1/uploads/{upload['id']}/complete", json={"part_ids": ids})
    assert r.status_code == 200, r.text
    assert len(deletes) == 1 and len(deletes[0]) == 6
    assert part_rows(db) == [] and await part_objects(bucket) == []
    assert (await client.get(f"/v1/files/{r.json()['file']['id']}/content")).content == b"AABBCCDDEEFF"


async def test_a_completion_that_stopped_without_an_end_can_be_made_again(
    client: httpx.AsyncClient, db: SQLiteD1, clock: Clock
) -> None:
    """A Worker killed while it joins the parts (out of CPU time, say) leaves the upload ``completing``: after
    ``ABANDONED_AFTER`` it takes a completion again; before, it is being completed."""
    upload = await created(client, 2)
    part = await part_id(client, upload["id"], b"ok")
    db.conn.execute("UPDATE uploads SET status = 'completing', updated_at = ?", (int(clock.now),))
    path = f"/v1/uploads/{upload['id']}/complete"
    assert_error(await client.post(path, json={"part_ids": [part]}), 400, "upload_id", "being completed")
    clock.now += uploads_repo.ABANDONED_AFTER
    done = await client.post(path, json={"part_ids": [part]})
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    assert (await client.get(f"/v1/files/{done.json()['file']['id']}/content")).content == b"ok"
