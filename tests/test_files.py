"""``/v1/files`` in-process: every route, filter, pagination edge, ownership rule and error."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends
from openai_workers_ai.routes.files import BATCH_EXPIRY, FILE_ID, PURPOSES, _attachment
from openai_workers_ai.settings import Settings

from .conftest import ADMIN_KEY, KEY, OTHER_KEY
from .openapi import assert_matches


def as_key(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def upload(
    client: httpx.AsyncClient,
    content: bytes = b"hello world\n",
    *,
    purpose: str | None = "assistants",
    filename: str = "notes.txt",
    content_type: str = "text/plain",
    key: str = KEY,
    **fields: str,
) -> httpx.Response:
    data = {**fields}
    if purpose is not None:
        data["purpose"] = purpose
    return await client.post(
        "/v1/files", data=data, files={"file": (filename, content, content_type)}, headers=as_key(key)
    )


async def uploaded(client: httpx.AsyncClient, content: bytes = b"data", **kw: Any) -> dict[str, Any]:
    response = await upload(client, content, **kw)
    assert response.status_code == 200, response.text
    return response.json()


def check_file(body: dict[str, Any]) -> None:
    # The spec types expires_at/status_details as non-null strings/ints, but the API (and the
    # openai client's FileObject) has them null when unset: validate what is set.
    assert_matches({k: v for k, v in body.items() if v is not None}, "OpenAIFile")


def assert_error(response: httpx.Response, status: int, param: str | None, text: str = "") -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert text in error["message"]


def rows(db: SQLiteD1) -> list[dict[str, Any]]:
    return [dict(r) for r in db.conn.execute("SELECT * FROM files ORDER BY id")]


# --- upload, retrieve, content, delete -------------------------------------------------------


async def test_upload_returns_the_file_object(client: httpx.AsyncClient) -> None:
    body = await uploaded(client, b"hello world\n", filename="notes.txt")
    check_file(body)
    assert FILE_ID.match(body["id"])
    assert body["object"] == "file" and body["bytes"] == 12 and body["filename"] == "notes.txt"
    assert body["purpose"] == "assistants" and body["status"] == "processed"
    assert body["expires_at"] is None and body["status_details"] is None
    again = await client.get(f"/v1/files/{body['id']}")
    assert again.status_code == 200 and again.json() == body


FILE_MEMBERS = ["object", "id", "purpose", "filename", "bytes", "created_at", "expires_at", "status", "status_details"]
"""The file object's members in the order OpenAI sends them (openai/openai-dotnet,
tests/SessionRecords/FilesTests/UploadFile(UsingBinaryData).json, GetFile.json, ListFiles.json)."""


async def test_members_are_in_openai_order(client: httpx.AsyncClient) -> None:
    body = await uploaded(client)
    assert list(body) == FILE_MEMBERS
    assert list((await client.get(f"/v1/files/{body['id']}")).json()) == FILE_MEMBERS
    listed = (await client.get("/v1/files")).json()
    assert list(listed) == ["object", "data", "has_more", "first_id", "last_id"]
    assert list(listed["data"][0]) == FILE_MEMBERS
    assert list((await client.delete(f"/v1/files/{body['id']}")).json()) == ["object", "deleted", "id"]


async def test_content_is_the_bytes_with_the_stored_content_type(client: httpx.AsyncClient) -> None:
    payload = bytes(range(256)) * 40
    body = await uploaded(client, payload, filename="pic ü.png", content_type="image/png", purpose="vision")
    response = await client.get(f"/v1/files/{body['id']}/content")
    assert response.status_code == 200
    assert response.content == payload
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == str(len(payload))
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''pic%20%C3%BC.png"


async def test_an_ascii_filename_is_downloaded_as_a_quoted_string(client: httpx.AsyncClient) -> None:
    # as OpenAI sends it (openai/openai-dotnet, tests/SessionRecords/FilesTests/DownloadContent.json)
    body = await uploaded(client, b"png", filename="images_dog_and_cat.png", content_type="image/png", purpose="vision")
    response = await client.get(f"/v1/files/{body['id']}/content")
    assert response.headers["content-disposition"] == 'attachment; filename="images_dog_and_cat.png"'
    # a double quote or a backslash would need escaping in a quoted string: RFC 6266's filename* instead
    assert _attachment('say "hi".txt') == "attachment; filename*=UTF-8''say%20%22hi%22.txt"
    assert _attachment("a\\b.txt") == "attachment; filename*=UTF-8''a%5Cb.txt"


@pytest.mark.parametrize("purpose", ["user_data", "assistants"])
async def test_files_for_models_to_read_cannot_be_downloaded(client: httpx.AsyncClient, purpose: str) -> None:
    body = await uploaded(client, b"private", purpose=purpose)  # as at OpenAI: a 400, no param, no code
    response = await client.get(f"/v1/files/{body['id']}/content")
    assert_error(response, 400, None, f"Not allowed to download files of purpose: {purpose}")
    assert response.json()["error"]["code"] is None
    assert (await client.get(f"/v1/files/{body['id']}")).json() == body  # its metadata is still served


@pytest.mark.parametrize("purpose", ["batch", "vision"])
async def test_batch_and_vision_files_can_be_downloaded(client: httpx.AsyncClient, purpose: str) -> None:
    body = await uploaded(client, b"mine", purpose=purpose)
    assert (await client.get(f"/v1/files/{body['id']}/content")).content == b"mine"


async def test_delete_removes_row_and_bytes(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2
) -> None:
    body = await uploaded(client)
    response = await client.delete(f"/v1/files/{body['id']}")
    assert response.status_code == 200
    assert response.json() == {"object": "file", "deleted": True, "id": body["id"]}
    assert_matches(response.json(), "DeleteFileResponse")
    assert rows(db) == [] and await bucket.list() == []
    for method, path in [("GET", ""), ("GET", "/content"), ("DELETE", "")]:
        again = await client.request(method, f"/v1/files/{body['id']}{path}")
        assert_error(again, 404, "id", f"No such File object: {body['id']}")


@pytest.mark.parametrize("purpose", PURPOSES)
async def test_every_purpose_is_accepted(client: httpx.AsyncClient, purpose: str) -> None:
    body = await uploaded(client, purpose=purpose)
    assert body["purpose"] == purpose
    expected = body["created_at"] + BATCH_EXPIRY if purpose == "batch" else None
    assert body["expires_at"] == expected  # OpenAI: batch files expire after 30 days by default


async def test_expires_after_sets_expires_at(client: httpx.AsyncClient) -> None:
    body = await uploaded(client, **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
    assert body["expires_at"] == body["created_at"] + 3600
    check_file(body)
    batch = await uploaded(
        client, purpose="batch", **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "7200"}
    )
    assert batch["expires_at"] == batch["created_at"] + 7200


async def test_the_object_key_is_not_derived_from_the_id_alone(
    client: httpx.AsyncClient, db: SQLiteD1
) -> None:
    first = await uploaded(client)
    await uploaded(client)
    stored = rows(db)
    key = next(r["object_key"] for r in stored if r["id"] == first["id"])
    prefix = f"files/{first['id']}/"
    assert key.startswith(prefix) and len(key) - len(prefix) >= 20
    assert len({r["object_key"].rsplit("/", 1)[1] for r in stored}) == 2


async def test_the_openai_prefixed_mount_serves_files_too(client: httpx.AsyncClient) -> None:
    body = await uploaded(client)
    response = await client.get(f"/llm/openai/v1/files/{body['id']}")
    assert response.status_code == 200 and response.json()["id"] == body["id"]


# --- upload errors ----------------------------------------------------------------------------


async def test_missing_file_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/files", data={"purpose": "assistants"}, files={"x": ("a", b"1")})
    assert_error(response, 400, "file", "Missing required parameter: 'file'")
    response = await client.post("/v1/files", data={"purpose": "assistants", "file": "text"},
                                 files={"x": ("a", b"1")})
    assert_error(response, 400, "file", "must be a file upload")


async def test_missing_or_bad_purpose_is_400(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    assert_error(await upload(client, purpose=None), 400, "purpose", "Missing required parameter")
    bad = await upload(client, purpose="world_domination")
    message = ("'world_domination' is not one of ['fine-tune', 'assistants', 'batch', 'user_data', 'vision', 'evals']"
               " - 'purpose'")  # OpenAI's words and body (openai/openai-dotnet, UploadFileCanParseServiceError.json)
    assert bad.status_code == 400
    assert bad.json() == {"error": {"message": message, "type": "invalid_request_error", "param": "purpose", "code": None},
                          "detail": {"message": message, "code": None}}
    assert_error(await upload(client, purpose="assistants_output"), 400, "purpose", "'assistants_output'")
    assert rows(db) == []


async def test_empty_file_is_400(client: httpx.AsyncClient, bucket: FolderR2) -> None:
    assert_error(await upload(client, b""), 400, "file", "empty")
    assert await bucket.list() == []


async def test_not_multipart_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/files", json={"purpose": "assistants"})
    assert_error(response, 400, None, "multipart/form-data")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"expires_after[anchor]": "last_active_at", "expires_after[seconds]": "3600"}, "expires_after.anchor"),
        ({"expires_after[seconds]": "3600"}, "expires_after.anchor"),
        ({"expires_after[anchor]": "created_at"}, "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "3599"}, "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"}, "expires_after.seconds"),
        ({"expires_after[anchor]": "created_at", "expires_after[seconds]": "1h"}, "expires_after.seconds"),
    ],
)
async def test_bad_expires_after_is_400(client: httpx.AsyncClient, fields: dict[str, str], param: str) -> None:
    assert_error(await upload(client, **fields), 400, param)


@pytest.fixture
def small_app(backends: Backends):  # noqa: ANN201
    return create_app(backends, Settings(access_token=(KEY,), max_file_bytes=1000))


async def test_too_large_is_413_from_content_length_and_while_reading(
    small_app, db: SQLiteD1, bucket: FolderR2  # noqa: ANN001
) -> None:
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=as_key(KEY)) as c:
        ok = await upload(c, b"x" * 1000)
        assert ok.status_code == 200
        big = await upload(c, b"x" * (2 << 20))  # declared Content-Length is over the limit
        assert_error(big, 413, None, "larger than the limit of 1000 bytes")
        assert big.json()["error"]["code"] == "payload_too_large"
        # No Content-Length (chunked): refused while reading, as soon as the file passes the limit.
        request = c.build_request("POST", "/v1/files", data={"purpose": "assistants"},
                                  files={"file": ("a.bin", b"y" * 1001)})
        body = request.read()

        async def chunked():  # noqa: ANN202
            for i in range(0, len(body), 256):
                yield body[i : i + 256]

        headers = {k: v for k, v in request.headers.items() if k != "content-length"}
        response = await c.post("/v1/files", content=chunked(), headers=headers)
        assert_error(response, 413, None, "larger than the limit")
    assert [r["bytes"] for r in rows(db)] == [1000]
    assert len(await bucket.list()) == 1  # the streamed part of the refused upload was removed


# --- retrieve / content / delete errors -------------------------------------------------------


@pytest.mark.parametrize("file_id", ["file-abc", "abc", "file-" + "A" * 24, "file-" + "!" * 24, "file-x/../y"])
@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("GET", "/content"), ("DELETE", "")])
async def test_unknown_or_malformed_id_is_404(
    client: httpx.AsyncClient, file_id: str, method: str, suffix: str
) -> None:
    response = await client.request(method, f"/v1/files/{file_id}{suffix}")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_404_has_the_openai_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/files/file-abc")
    assert response.json() == {"error": {
        "message": "No such File object: file-abc", "type": "invalid_request_error", "param": "id", "code": None,
    }}


# --- list -------------------------------------------------------------------------------------


async def test_list_envelope_and_default_order(client: httpx.AsyncClient) -> None:
    made = [(await uploaded(client, f"{i}".encode()))["id"] for i in range(3)]
    body = (await client.get("/v1/files")).json()
    assert_matches({**body, "data": [{k: v for k, v in f.items() if v is not None} for f in body["data"]]},
                   "ListFilesResponse")
    assert [f["id"] for f in body["data"]] == made[::-1]  # newest first
    assert body["first_id"] == made[-1] and body["last_id"] == made[0] and body["has_more"] is False


async def test_empty_list(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/files")).json()
    assert body == {"object": "list", "data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_pagination_walks_every_file_once(client: httpx.AsyncClient, order: str) -> None:
    made = [(await uploaded(client, b"%d" % i))["id"] for i in range(5)]
    expected = made if order == "asc" else made[::-1]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"limit": 2, "order": order, **({"after": after} if after else {})}
        body = (await client.get("/v1/files", params=params)).json()
        pages += 1
        seen += [f["id"] for f in body["data"]]
        if not body["has_more"]:
            break
        after = body["last_id"]
    assert seen == expected and pages == 3


async def test_exact_page_boundary_has_no_more(client: httpx.AsyncClient) -> None:
    made = [(await uploaded(client))["id"] for _ in range(2)]
    body = (await client.get("/v1/files", params={"limit": 2})).json()
    assert len(body["data"]) == 2 and body["has_more"] is False
    body = (await client.get("/v1/files", params={"limit": 1, "order": "asc"})).json()
    assert body["data"][0]["id"] == made[0] and body["has_more"] is True
    last = (await client.get("/v1/files", params={"after": made[1], "order": "asc"})).json()
    assert last["data"] == [] and last["has_more"] is False


async def test_cursor_survives_deleting_the_cursor_file(client: httpx.AsyncClient) -> None:
    made = [(await uploaded(client))["id"] for _ in range(3)]
    assert (await client.delete(f"/v1/files/{made[1]}")).status_code == 200
    body = (await client.get("/v1/files", params={"after": made[1], "order": "asc"})).json()
    assert [f["id"] for f in body["data"]] == [made[2]]
    body = (await client.get("/v1/files", params={"after": made[1]})).json()
    assert [f["id"] for f in body["data"]] == [made[0]]


async def test_purpose_filter(client: httpx.AsyncClient) -> None:
    a = await uploaded(client, purpose="assistants")
    b = await uploaded(client, purpose="fine-tune")
    body = (await client.get("/v1/files", params={"purpose": "fine-tune"})).json()
    assert [f["id"] for f in body["data"]] == [b["id"]]
    body = (await client.get("/v1/files", params={"purpose": "assistants"})).json()
    assert [f["id"] for f in body["data"]] == [a["id"]]
    body = (await client.get("/v1/files", params={"purpose": "vision"})).json()
    assert body["data"] == []


@pytest.mark.parametrize(("params", "param"), [
    ({"limit": "0"}, "limit"), ({"limit": "10001"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"limit": "-1"}, "limit"), ({"order": "newest"}, "order"),
    # int() reads these as 10, 5 and 5; no client sends them, and no integer is written so
    ({"limit": "1_0"}, "limit"), ({"limit": "٥"}, "limit"), ({"limit": " 5"}, "limit"),
])
async def test_bad_list_params_are_400(client: httpx.AsyncClient, params: dict[str, str], param: str) -> None:
    assert_error(await client.get("/v1/files", params=params), 400, param)


async def test_limit_bounds_are_accepted(client: httpx.AsyncClient) -> None:
    await uploaded(client)
    for limit in ("1", "10000"):
        assert (await client.get("/v1/files", params={"limit": limit})).status_code == 200


# --- ownership --------------------------------------------------------------------------------


async def test_another_key_cannot_see_or_touch_a_file(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    mine = await uploaded(client, b"secret", purpose="batch")
    theirs = await uploaded(client, b"theirs", key=OTHER_KEY)
    for method, suffix in [("GET", ""), ("GET", "/content"), ("DELETE", "")]:
        response = await client.request(method, f"/v1/files/{mine['id']}{suffix}", headers=as_key(OTHER_KEY))
        assert_error(response, 404, "id", "No such File object")
    listed = (await client.get("/v1/files", headers=as_key(OTHER_KEY))).json()
    assert [f["id"] for f in listed["data"]] == [theirs["id"]]
    listed = (await client.get("/v1/files")).json()
    assert [f["id"] for f in listed["data"]] == [mine["id"]]
    # A cursor from someone else's file reveals nothing either.
    listed = (await client.get("/v1/files", params={"after": mine["id"], "order": "asc"},
                               headers=as_key(OTHER_KEY))).json()
    assert all(f["id"] != mine["id"] for f in listed["data"])
    assert (await client.get(f"/v1/files/{mine['id']}/content")).content == b"secret"


async def test_rows_store_a_hash_of_the_key_never_the_key(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    await uploaded(client)
    (row,) = rows(db)
    assert row["owner"] == hashlib.sha256(KEY.encode()).hexdigest()
    dump = "\n".join(db.conn.iterdump())
    assert KEY not in dump


async def test_admin_keys_see_and_manage_every_file(client: httpx.AsyncClient) -> None:
    mine = await uploaded(client, b"mine", purpose="batch")
    theirs = await uploaded(client, b"theirs", key=OTHER_KEY)
    admin = as_key(ADMIN_KEY)
    listed = (await client.get("/v1/files", params={"order": "asc"}, headers=admin)).json()
    assert [f["id"] for f in listed["data"]] == [mine["id"], theirs["id"]]
    assert (await client.get(f"/v1/files/{theirs['id']}", headers=admin)).json() == theirs
    assert (await client.get(f"/v1/files/{mine['id']}/content", headers=admin)).content == b"mine"
    assert (await client.delete(f"/v1/files/{theirs['id']}", headers=admin)).status_code == 200
    assert (await client.get(f"/v1/files/{theirs['id']}", headers=as_key(OTHER_KEY))).status_code == 404


async def test_files_need_a_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/files", headers={"authorization": ""})
    assert response.status_code == 401


# --- expiry -----------------------------------------------------------------------------------


async def test_expired_files_are_not_served_and_are_cleaned_up(
    client: httpx.AsyncClient, backends: Backends, settings: Settings, db: SQLiteD1, bucket: FolderR2
) -> None:
    keep = await uploaded(client, b"keep")
    gone = await uploaded(client, b"gone", **{"expires_after[anchor]": "created_at",
                                              "expires_after[seconds]": "3600"})
    db.conn.execute("UPDATE files SET expires_at = ? WHERE id = ?", (gone["created_at"] - 1, gone["id"]))
    for method, suffix in [("GET", ""), ("GET", "/content"), ("DELETE", "")]:
        assert (await client.request(method, f"/v1/files/{gone['id']}{suffix}")).status_code == 404
    assert [f["id"] for f in (await client.get("/v1/files")).json()["data"]] == [keep["id"]]
    counts = await run_scheduled(backends, settings)
    expected = {"errors": 0, "files_expired": 1, "files_stale": 0, "files_orphans": 0}
    assert counts.items() >= expected.items()  # other resources add their own counts
    assert [r["id"] for r in rows(db)] == [keep["id"]]
    assert [o.key for o in await bucket.list()] == [rows(db)[0]["object_key"]]


async def test_a_file_is_served_until_its_expiry(
    client: httpx.AsyncClient, backends: Backends, settings: Settings
) -> None:
    body = await uploaded(client, **{"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
    counts = await run_scheduled(backends, settings, now=body["expires_at"] - 1)
    assert counts["files_expired"] == 0
    assert (await client.get(f"/v1/files/{body['id']}")).status_code == 200
    counts = await run_scheduled(backends, settings, now=body["expires_at"])
    assert counts["files_expired"] == 1
    assert (await client.get(f"/v1/files/{body['id']}")).status_code == 404


# --- field order and streaming ----------------------------------------------------------------

BOUNDARY = "b0undary"


def form_body(*parts: tuple[str, str | bytes]) -> bytes:
    """A multipart body with the parts in exactly this order (bytes values are file parts)."""
    out = b""
    for name, value in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        if isinstance(value, bytes):
            out += f'Content-Disposition: form-data; name="{name}"; filename="{name}.bin"\r\n'.encode()
            out += b"Content-Type: application/x-test\r\n\r\n" + value + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    return out + f"--{BOUNDARY}--\r\n".encode()


async def post_form(client: httpx.AsyncClient, *parts: tuple[str, str | bytes]) -> httpx.Response:
    return await client.post("/v1/files", content=form_body(*parts),
                             headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})


async def test_file_before_its_fields_is_accepted(client: httpx.AsyncClient) -> None:
    # The openai-node client sends `file` first: the fields after it still count.
    response = await post_form(client, ("file", b"node"), ("purpose", "batch"),
                               ("expires_after[anchor]", "created_at"), ("expires_after[seconds]", "7200"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["purpose"] == "batch" and body["expires_at"] == body["created_at"] + 7200
    assert body["bytes"] == 4 and body["filename"] == "file.bin"
    assert (await client.get(f"/v1/files/{body['id']}/content")).content == b"node"


async def test_fields_after_a_streamed_file_count_too(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    response = await post_form(client, ("purpose", "assistants"), ("file", b"streamed"),
                               ("purpose", "user_data"), ("expires_after[anchor]", "created_at"),
                               ("expires_after[seconds]", "3600"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["purpose"] == "user_data" and body["expires_at"] == body["created_at"] + 3600
    assert (await client.get(f"/v1/files/{body['id']}")).json() == body
    # Split around the file: the anchor before, the seconds after.
    response = await post_form(client, ("purpose", "vision"), ("expires_after[anchor]", "created_at"),
                               ("file", b"x"), ("expires_after[seconds]", "3600"))
    assert response.status_code == 200 and response.json()["expires_at"] is not None
    assert len(rows(db)) == 2


async def test_a_bad_field_after_a_streamed_file_undoes_the_upload(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2
) -> None:
    response = await post_form(client, ("purpose", "assistants"), ("file", b"streamed"), ("purpose", "nope"))
    assert_error(response, 400, "purpose", "'nope'")
    response = await post_form(client, ("purpose", "assistants"), ("file", b"streamed"),
                               ("expires_after[seconds]", "60"))
    assert_error(response, 400, "expires_after.anchor")
    assert rows(db) == [] and await bucket.list() == []


async def test_only_the_first_file_part_named_file_is_stored(client: httpx.AsyncClient) -> None:
    response = await post_form(client, ("other", b"ignored"), ("purpose", "batch"),
                               ("file", b"first"), ("file", b"second"))
    assert response.status_code == 200
    assert (await client.get(f"/v1/files/{response.json()['id']}/content")).content == b"first"
    response = await post_form(client, ("file", b"first"), ("file", b"second"), ("purpose", "batch"))
    assert (await client.get(f"/v1/files/{response.json()['id']}/content")).content == b"first"


async def test_malformed_multipart_is_400_and_stores_nothing(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2
) -> None:
    body = form_body(("purpose", "assistants"), ("file", b"abc"))
    response = await client.post("/v1/files", content=body[:-30] + b"\r\n--wrong\r\n garbage",
                                 headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400, response.text
    assert rows(db) == [] and await bucket.list() == []


@pytest.mark.parametrize("file_first", [False, True])
async def test_a_truncated_body_stores_nothing(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2, file_first: bool
) -> None:
    parts = [("purpose", "assistants"), ("file", b"z" * 5000)]
    body = form_body(*(parts[::-1] if file_first else parts))
    cut = body.index(b"zzz") + 1000
    response = await client.post("/v1/files", content=body[:cut],
                                  headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert_error(response, 400, None, "ends in the middle of a file")
    assert rows(db) == [] and await bucket.list() == []


async def test_the_upload_reaches_r2_as_a_stream(
    client: httpx.AsyncClient, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    put = bucket.put

    async def spy(key: str, body: Any, **kw: Any) -> Any:
        seen.append(type(body).__name__)
        return await put(key, body, **kw)

    monkeypatch.setattr(bucket, "put", spy)
    payload = bytes(range(256)) * 4096  # 1 MiB, sent in 64 KiB chunks
    data = form_body(("purpose", "batch"), ("file", payload))

    async def chunked():  # noqa: ANN202
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    response = await client.post("/v1/files", content=chunked(),
                                 headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 200 and response.json()["bytes"] == len(payload)
    assert seen == ["async_generator"]
    assert (await client.get(f"/v1/files/{response.json()['id']}/content")).content == payload


@pytest.mark.parametrize("content_type", ["text/plain\x01", "text/plain\x7f; a=b", "not-a-type", "text/plain; x"])
async def test_a_content_type_that_no_header_can_carry_is_refused(client: httpx.AsyncClient, content_type: str) -> None:
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
            f"Content-Type: {content_type}\r\n\r\nhello\r\n--{boundary}--\r\n").encode("latin-1")
    r = await client.post("/v1/files", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    assert (await client.get("/v1/files")).json()["data"] == []
