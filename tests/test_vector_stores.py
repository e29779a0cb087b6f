"""``/v1/vector_stores``, its files and file batches: every route, its objects and its errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local_vectors import LocalVectorIndex
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .conftest import ADMIN_KEY, KEY, OTHER_KEY, START, Clock
from .openapi import assert_matches
from .vector_stores_util import docx, drain, pdf, store_with, upload

DOCS = {
    "cats.txt": "Cats are small domesticated felines. They purr, groom themselves and sleep most of the day.",
    "dogs.md": "# Dogs\n\nDogs are loyal companions. They bark, fetch sticks and guard the house.",
}


async def test_create_ingest_retrieve_list_modify_delete(client: httpx.AsyncClient, app: Any,
                                                       vectors: LocalVectorIndex) -> None:
    store_id, ids = await store_with(client, app, DOCS, metadata={"team": "pets"},
                                     expires_after={"anchor": "last_active_at", "days": 3})
    r = await client.get(f"/v1/vector_stores/{store_id}")
    store = r.json()
    assert_matches(store, "VectorStoreObject")
    assert store["status"] == "completed" and store["name"] == "kb" and store["metadata"] == {"team": "pets"}
    assert store["file_counts"] == {"in_progress": 0, "completed": 2, "failed": 0, "cancelled": 0, "total": 2}
    assert store["usage_bytes"] > 0
    assert store["expires_after"] == {"anchor": "last_active_at", "days": 3}
    assert store["expires_at"] == store["last_active_at"] + 3 * 86400
    assert len(vectors) == 2  # one chunk each

    r = await client.post(f"/v1/vector_stores/{store_id}", json={"name": "renamed", "metadata": {"a": "b"},
                                                                 "expires_after": None})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["metadata"], r.json()["expires_at"]) == ("renamed", {"a": "b"}, None)

    listed = (await client.get("/v1/vector_stores")).json()
    assert_matches(listed, "ListVectorStoresResponse")
    assert [s["id"] for s in listed["data"]] == [store_id]

    r = await client.delete(f"/v1/vector_stores/{store_id}")
    assert r.json() == {"id": store_id, "object": "vector_store.deleted", "deleted": True}
    assert (await client.get(f"/v1/vector_stores/{store_id}")).status_code == 404
    assert len(vectors) == 0
    db = app.state.ctx.backends.db
    for table in ("vector_store_files", "vector_store_chunks"):
        assert (await db.prepare(f"SELECT COUNT(*) AS n FROM {table}").first())["n"] == 0
    # the files themselves stay
    assert (await client.get(f"/v1/files/{ids['cats.txt']}")).status_code == 200


async def test_store_object_as_openai_records_it(client: httpx.AsyncClient, app: Any) -> None:
    """The ``vector_store`` object has the fields OpenAI sends, ``expires_after`` null when unset, as recorded
    in pydantic/pydantic-ai's tests/models/cassettes/test_openai_responses/
    test_openai_responses_model_file_search_tool_with_results.yaml (created_at 1765387622, Dec 2025):
    ``{created_at, description: null, expires_after: null, expires_at: null, file_counts: {cancelled, completed,
    failed, in_progress, total}, id, last_active_at, metadata: {}, name, object, status, usage_bytes}``; the
    same in test_openai_responses_file_citation_context_replay.yaml (created_at 1787809814, Aug 2026)."""
    recorded = {"id", "object", "created_at", "name", "description", "usage_bytes", "file_counts", "status",
                "expires_after", "expires_at", "last_active_at", "metadata"}
    made = (await client.post("/v1/vector_stores", json={"name": "test-file-search"})).json()
    store_id = made["id"]
    for store in (made, (await client.get(f"/v1/vector_stores/{store_id}")).json(),
                  (await client.get("/v1/vector_stores")).json()["data"][0],
                  (await client.post(f"/v1/vector_stores/{store_id}", json={"name": "x"})).json()):
        assert set(store) == recorded, set(store) ^ recorded
        assert_matches(store, "VectorStoreObject")
        assert (store["description"], store["expires_after"], store["expires_at"]) == (None, None, None)
        assert store["metadata"] == {} and store["status"] == "completed" and store["usage_bytes"] == 0
        assert isinstance(store["last_active_at"], int) and isinstance(store["created_at"], int)
        assert store["file_counts"] == {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}
    dated = (await client.post(f"/v1/vector_stores/{store_id}", json={
        "expires_after": {"anchor": "last_active_at", "days": 2}})).json()
    assert set(dated) == recorded and dated["expires_after"] == {"anchor": "last_active_at", "days": 2}
    cleared = (await client.post(f"/v1/vector_stores/{store_id}", json={"expires_after": None})).json()
    assert set(cleared) == recorded and cleared["expires_after"] is None


async def test_modify_takes_null_as_the_sdk_sends_it(client: httpx.AsyncClient) -> None:
    """``client.vector_stores.update(id, metadata=None)`` sends ``"metadata": null``: the spec's
    UpdateVectorStoreRequest allows null for ``name``, ``metadata`` and ``expires_after``; null clears each
    (as ``metadata: null`` does on every other update endpoint), and a field left out changes nothing."""
    store = (await client.post("/v1/vector_stores", json={
        "name": "kb", "metadata": {"a": "b"}, "expires_after": {"anchor": "last_active_at", "days": 3}})).json()
    r = await client.post(f"/v1/vector_stores/{store['id']}", json={})
    assert r.status_code == 200 and r.json() == store
    r = await client.post(f"/v1/vector_stores/{store['id']}", json={"metadata": None})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["metadata"], r.json()["expires_after"]) == ("kb", {}, store["expires_after"])
    r = await client.post(f"/v1/vector_stores/{store['id']}", json={"name": None, "expires_after": None})
    assert (r.json()["name"], r.json()["expires_after"], r.json()["expires_at"]) == (None, None, None)
    assert (await client.get(f"/v1/vector_stores/{store['id']}")).json() == r.json()


async def test_a_store_without_a_name_answers_name_null(client: httpx.AsyncClient) -> None:
    """OpenAI answers ``name: null`` for a store created without one (the spec has no null for it), as
    recorded in openai/openai-dotnet, tests/SessionRecords/VectorStoresTests/CanCreateGetAndDeleteVectorStores.json
    (``POST /v1/vector_stores`` with ``{}`` and with only ``file_ids``, 2025-09: ``"name": null``,
    ``"description": null``) and CanUseBatchIngestion.json; a named store keeps its name."""
    store = (await client.post("/v1/vector_stores", json={})).json()
    assert (store["name"], store["description"]) == (None, None)
    assert_matches(store, "VectorStoreObject")
    assert (await client.get(f"/v1/vector_stores/{store['id']}")).json()["name"] is None
    assert (await client.get("/v1/vector_stores")).json()["data"][0]["name"] is None
    named = (await client.post(f"/v1/vector_stores/{store['id']}", json={"name": "kb"})).json()
    assert named["name"] == "kb"


async def test_pagination_as_openai_pages(client: httpx.AsyncClient) -> None:
    created = [(await client.post("/v1/vector_stores", json={"name": f"s{i}"})).json()["id"] for i in range(5)]
    first = (await client.get("/v1/vector_stores?limit=2")).json()
    assert [s["id"] for s in first["data"]] == created[::-1][:2] and first["has_more"]
    second = (await client.get(f"/v1/vector_stores?limit=2&after={first['last_id']}")).json()
    assert [s["id"] for s in second["data"]] == created[::-1][2:4]
    ascending = (await client.get("/v1/vector_stores?order=asc&limit=10")).json()
    assert [s["id"] for s in ascending["data"]] == created and not ascending["has_more"]
    r = await client.get("/v1/vector_stores?limit=101")
    assert r.status_code == 400 and r.json()["error"]["param"] == "limit"


async def test_stores_belong_to_their_key(client: httpx.AsyncClient, app: Any) -> None:
    store_id = (await client.post("/v1/vector_stores", json={"name": "mine"})).json()["id"]
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    for method, path in (("GET", ""), ("POST", ""), ("DELETE", ""), ("POST", "/search"), ("GET", "/files")):
        r = await client.request(method, f"/v1/vector_stores/{store_id}{path}", headers=other,
                                 json={"query": "x"} if method == "POST" else None)
        assert r.status_code == 404, (method, path, r.text)
    assert (await client.get("/v1/vector_stores", headers=other)).json()["data"] == []
    admin = await client.get(f"/v1/vector_stores/{store_id}", headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert admin.status_code == 200
    # another key's file cannot be attached
    file_id = await upload(client, "a.txt", "hello")
    mine = (await client.post("/v1/vector_stores", json={}, headers=other)).json()["id"]
    r = await client.post(f"/v1/vector_stores/{mine}/files", json={"file_id": file_id}, headers=other)
    assert r.status_code == 404 and r.json()["error"]["param"] == "file_id"


@pytest.mark.parametrize(("body", "param"), [
    ({"file_ids": ["file-nope"]}, "file_ids[0]"),
    ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}}},
     "chunking_strategy.static.max_chunk_size_tokens"),
    ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}}},
     "chunking_strategy.static.max_chunk_size_tokens"),
    ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401}}},
     "chunking_strategy.static.chunk_overlap_tokens"),
    ({"chunking_strategy": {"type": "other"}}, "chunking_strategy.type"),
    ({"expires_after": {"anchor": "created_at", "days": 1}}, "expires_after.anchor"),
    ({"expires_after": {"anchor": "last_active_at", "days": 366}}, "expires_after.days"),
    ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
    ({"name": 5}, "name"),
    ({"file_ids": ["x"] * 501}, "file_ids"),
    ({"colour": "red"}, "colour"),
])
async def test_create_refuses_bad_bodies(client: httpx.AsyncClient, body: dict[str, Any], param: str) -> None:
    r = await client.post("/v1/vector_stores", json=body)
    assert r.status_code in (400, 404), r.text
    error = r.json()["error"]
    assert error["param"] == param, error
    assert (await client.get("/v1/vector_stores")).json()["data"] == []


async def test_unknown_and_malformed_ids_are_404(client: httpx.AsyncClient) -> None:
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    for path in ("/v1/vector_stores/vs_nope", "/v1/vector_stores/vs_" + "a" * 24,
                 f"/v1/vector_stores/{store_id}/files/file-nope", f"/v1/vector_stores/{store_id}/files/x/content",
                 f"/v1/vector_stores/{store_id}/file_batches/vsfb_nope",
                 f"/v1/vector_stores/{store_id}/file_batches/vsfb_nope/files"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["type"] == "invalid_request_error"


async def test_a_store_id_with_characters_no_id_has_is_openais_400(client: httpx.AsyncClient) -> None:
    """OpenAI answers a path ``vector_store_id`` with characters outside letters, digits, ``_`` and ``-`` with a 400
    naming it, as BerriAI/litellm#34788 quotes (``Invalid 'vector_store_id': 'lit6612-qa-vectors:litellm-index-
    5049eabb'. Expected an ID that contains letters, numbers, underscores, or dashes, but this value contained
    additional characters.``, ``invalid_request_error``, param ``vector_store_id``, code ``invalid_v…``, cut there:
    ``invalid_value``, the code OpenAI gives the sibling "Expected an ID that begins with …", continuedev/continue#11494);
    it was a 404. An id of the right characters that names no store stays a 404."""
    bad = "kb-index:v2"
    expected = {"message": f"Invalid 'vector_store_id': '{bad}'. Expected an ID that contains letters, numbers, "
                           "underscores, or dashes, but this value contained additional characters.",
                "type": "invalid_request_error", "param": "vector_store_id", "code": "invalid_value"}
    for method, path, body in (("GET", "", None), ("POST", "", {"name": "x"}), ("DELETE", "", None),
                               ("POST", "/search", {"query": "cats"}), ("GET", "/files", None),
                               ("POST", "/file_batches", {"file_ids": []})):
        r = await client.request(method, f"/v1/vector_stores/{bad}{path}", json=body)
        assert (r.status_code, r.json()) == (400, {"error": expected}), (method, path, r.text)
    assert (await client.get("/v1/vector_stores/kb-index_v2")).status_code == 404


async def test_a_batch_id_without_the_batch_prefix_is_openais_400(client: httpx.AsyncClient) -> None:
    """Cancelling a file batch by the store's id (a ``vs_`` id) is OpenAI's 400 ``Invalid 'batch_id': 'vs_…'.
    Expected an ID that begins with 'vsfb_'.``, as logged in webgptorg/promptbook,
    prompts/2026-01-0461-agents-server-agents-taking-sooooooo-long-to-prepare-and-answer.md (param and code not
    shown there: ``batch_id``, and ``invalid_value`` as OpenAI gives that message for an item id,
    continuedev/continue#11494); retrieving the batch or its files by such an id answers the same. It was a 404."""
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    expected = {"message": f"Invalid 'batch_id': '{store_id}'. Expected an ID that begins with 'vsfb_'.",
                "type": "invalid_request_error", "param": "batch_id", "code": "invalid_value"}
    batch = f"/v1/vector_stores/{store_id}/file_batches/{store_id}"
    for method, path in (("POST", f"{batch}/cancel"), ("GET", batch), ("GET", f"{batch}/files")):
        r = await client.request(method, path)
        assert (r.status_code, r.json()) == (400, {"error": expected}), (method, path, r.text)


async def test_files_attach_list_filter_update_content_delete(client: httpx.AsyncClient, app: Any,
                                                            vectors: LocalVectorIndex) -> None:
    store_id = (await client.post("/v1/vector_stores", json={"name": "kb"})).json()["id"]
    good = await upload(client, "notes.txt", "Remember the milk. " * 300)
    bad = await upload(client, "archive.zip", b"PK\x03\x04 not for indexing", "application/zip")
    r = await client.post(f"/v1/vector_stores/{store_id}/files", json={
        "file_id": good, "attributes": {"author": "ann", "year": 2024, "draft": False},
        "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}})
    assert r.status_code == 200, r.text
    attached = r.json()
    assert_matches(attached, "VectorStoreFileObject")
    assert attached["status"] == "in_progress" and attached["attributes"]["year"] == 2024
    assert attached["chunking_strategy"]["static"] == {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}
    await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": bad})
    await drain(app)

    done = (await client.get(f"/v1/vector_stores/{store_id}/files/{good}")).json()
    assert done["status"] == "completed" and done["last_error"] is None and done["usage_bytes"] > 0
    failed = (await client.get(f"/v1/vector_stores/{store_id}/files/{bad}")).json()
    assert failed["status"] == "failed" and failed["last_error"]["code"] == "unsupported_file"
    listed = (await client.get(f"/v1/vector_stores/{store_id}/files?filter=failed")).json()
    assert_matches(listed, "ListVectorStoreFilesResponse")
    assert [f["id"] for f in listed["data"]] == [bad]
    r = await client.get(f"/v1/vector_stores/{store_id}/files?filter=done")
    assert r.status_code == 400 and r.json()["error"]["param"] == "filter"

    r = await client.post(f"/v1/vector_stores/{store_id}/files/{good}", json={"attributes": {"author": "bo"}})
    assert r.json()["attributes"] == {"author": "bo"}
    r = await client.post(f"/v1/vector_stores/{store_id}/files/{good}", json={"attributes": {"k": "x" * 513}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "attributes.k"

    content = (await client.get(f"/v1/vector_stores/{store_id}/files/{good}/content")).json()
    assert_matches(content, "VectorStoreFileContentResponse")
    assert len(content["data"]) == len(vectors) > 5
    assert all(len(part["text"]) <= 800 and "milk" in part["text"] for part in content["data"])

    r = await client.delete(f"/v1/vector_stores/{store_id}/files/{good}")
    assert r.json() == {"id": good, "object": "vector_store.file.deleted", "deleted": True}
    assert len(vectors) == 0
    assert (await client.get(f"/v1/vector_stores/{store_id}/files/{good}")).status_code == 404
    assert (await client.get(f"/v1/files/{good}")).status_code == 200  # the file itself stays
    # attached again: ingested again
    await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": good})
    await drain(app)
    assert (await client.get(f"/v1/vector_stores/{store_id}/files/{good}")).json()["status"] == "completed"


async def test_content_pages(client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from openai_workers_ai.routes import vector_store_files

    monkeypatch.setattr(vector_store_files, "CONTENT_PAGE", 3)
    store_id, ids = await store_with(client, app, {"long.txt": "word " * 2000}, chunking_strategy={
        "type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}})
    url = f"/v1/vector_stores/{store_id}/files/{ids['long.txt']}/content"
    texts, page = [], None
    while True:
        body = (await client.get(url + (f"?page={page}" if page else ""))).json()
        texts += [d["text"] for d in body["data"]]
        if not body["has_more"]:
            break
        page = body["next_page"]
    assert len(texts) == 25 and body["next_page"] is None
    assert (await client.get(url + "?page=x")).status_code == 400


@pytest.mark.parametrize("token", ["99999999999999999999999", "-99999999999999999999999", "٣", "1_0", " 3"])
async def test_a_page_token_no_page_made_is_400_not_500(client: httpx.AsyncClient, app: Any, token: str) -> None:
    # A page token past SQLite's 64-bit integers raised OverflowError in the query (a 500); a Unicode
    # digit or an underscore, which int() reads, was taken as a token though no page names one.
    store_id, ids = await store_with(client, app, {"a.txt": "some words"})
    r = await client.get(f"/v1/vector_stores/{store_id}/files/{ids['a.txt']}/content", params={"page": token})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "page"


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("page.html", "<html><head><style>p{}</style></head><body><h2>Refunds</h2><p>Refunds take five days.</p></body></html>",
     "## Refunds\n\nRefunds take five days."),
    ("report.pdf", pdf("Quarterly revenue grew", "by twelve percent"), "Quarterly revenue grew\nby twelve percent"),
    ("report2.pdf", pdf("Compressed text works too", compress=True), "Compressed text works too"),
    ("letter.docx", docx("Dear reader,", "hello."), "Dear reader,\n\nhello."),
    ("data.json", '{"answer": 42}', '{"answer": 42}'),
    ("main.py", "def main():\n    return 1\n", "def main():\n    return 1"),
])
async def test_file_types(client: httpx.AsyncClient, app: Any, name: str, content: str | bytes, expected: str) -> None:
    store_id, ids = await store_with(client, app, {name: content})
    row = (await client.get(f"/v1/vector_stores/{store_id}/files/{ids[name]}")).json()
    assert row["status"] == "completed", row
    text = (await client.get(f"/v1/vector_stores/{store_id}/files/{ids[name]}/content")).json()["data"][0]["text"]
    assert text == expected


@pytest.mark.parametrize(("name", "content", "code"), [
    ("latin1.txt", "café".encode("latin-1"), "invalid_file"),
    ("blob.bin", b"\x00\x01\x02", "unsupported_file"),
    ("empty.txt", "   \n  ", "invalid_file"),
    ("scan.pdf", b"%PDF-1.4 no text objects here", "invalid_file"),
])
async def test_files_that_cannot_be_indexed_fail(client: httpx.AsyncClient, app: Any, name: str, content: bytes | str,
                                                 code: str) -> None:
    store_id, ids = await store_with(client, app, {name: content})
    row = (await client.get(f"/v1/vector_stores/{store_id}/files/{ids[name]}")).json()
    assert row["status"] == "failed" and row["last_error"]["code"] == code, row
    store = (await client.get(f"/v1/vector_stores/{store_id}")).json()
    assert store["file_counts"]["failed"] == 1 and store["status"] == "completed"


async def test_file_batches(client: httpx.AsyncClient, app: Any, vectors: LocalVectorIndex) -> None:
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    ids = [await upload(client, f"f{i}.txt", f"document number {i} about topic {i}") for i in range(6)]
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={
        "file_ids": ids[:3], "attributes": {"group": "a"}})
    assert r.status_code == 200, r.text
    batch = r.json()
    assert_matches(batch, "VectorStoreFileBatchObject")
    assert batch["status"] == "in_progress" and batch["file_counts"]["in_progress"] == 3
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={
        "files": [{"file_id": ids[3], "attributes": {"group": "b"}}, {"file_id": ids[4]}]})
    second = r.json()
    await drain(app)
    done = (await client.get(f"/v1/vector_stores/{store_id}/file_batches/{batch['id']}")).json()
    assert done["status"] == "completed" and done["file_counts"]["completed"] == 3
    files = (await client.get(f"/v1/vector_stores/{store_id}/file_batches/{second['id']}/files")).json()["data"]
    assert sorted(f["id"] for f in files) == sorted(ids[3:5])
    assert {f["id"]: f["attributes"] for f in files} == {ids[3]: {"group": "b"}, ids[4]: {}}
    assert len(vectors) == 5

    # cancelled before it ran: its files end cancelled and store nothing
    third = (await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [ids[5]]})).json()
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{third['id']}/cancel")
    assert r.json()["status"] == "cancelled" and r.json()["file_counts"]["cancelled"] == 1
    await drain(app)
    assert len(vectors) == 5
    row = (await client.get(f"/v1/vector_stores/{store_id}/files/{ids[5]}")).json()
    assert row["status"] == "cancelled"

    # a batch cancelled already is answered as it is (a retried cancel); one that completed cannot be
    # cancelled, and stays completed
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{third['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["file_counts"]["cancelled"] == 1
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{batch['id']}/cancel")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert "'completed'" in r.json()["error"]["message"]
    again = (await client.get(f"/v1/vector_stores/{store_id}/file_batches/{batch['id']}")).json()
    assert again["status"] == "completed" and again["file_counts"]["cancelled"] == 0

    # {}: the spec's first form (file_ids) is the one named missing
    for body, param in (({}, "file_ids"), ({"file_ids": ids[:1], "files": [{"file_id": ids[0]}]}, "file_ids"),
                        ({"file_ids": []}, "file_ids"), ({"file_ids": ["file-x"]}, "file_ids[0]"),
                        ({"files": [{"file_id": ids[0]}, {"file_id": "file-x"}]}, "files[1].file_id"),
                        # a file's own chunking or attributes: named by its place, not as the batch's own fields
                        ({"files": [{"file_id": ids[0]}, {"file_id": ids[1], "chunking_strategy": {
                            "type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 51}}}]},
                         "files[1].chunking_strategy.static.chunk_overlap_tokens"),
                        ({"files": [{"file_id": ids[0], "attributes": {"k" * 65: "v"}}]}, "files[0].attributes")):
        r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json=body)
        assert r.status_code in (400, 404) and r.json()["error"]["param"] == param, (body, r.text)


async def test_a_batch_object_as_openai_records_it(client: httpx.AsyncClient, app: Any) -> None:
    """A file batch is ``vector_store.file_batch`` with its members in OpenAI's order, as recorded in
    openai/openai-dotnet, tests/SessionRecords/VectorStoresTests/CanUseBatchIngestion.json (2025-09) and
    CanTestGetVectorStoreFilesInBatchCollectionOptions.json (2025-10), ``POST …/file_batches``: ``{id, object:
    "vector_store.file_batch", created_at, status, vector_store_id, file_counts}`` (the spec's enum says
    ``vector_store.files_batch``, its description ``vector_store.file_batch``)."""
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    ids = [await upload(client, f"f{i}.txt", f"document number {i}") for i in range(2)]
    batches = f"/v1/vector_stores/{store_id}/file_batches"
    made = (await client.post(batches, json={"file_ids": ids[:1]})).json()
    cancelled = (await client.post(f"{batches}/{(await client.post(batches, json={'file_ids': ids[1:]})).json()['id']}"
                                   "/cancel")).json()
    await drain(app)
    for batch in (made, (await client.get(f"{batches}/{made['id']}")).json(), cancelled):
        assert list(batch) == ["id", "object", "created_at", "status", "vector_store_id", "file_counts"]
        assert batch["object"] == "vector_store.file_batch" and batch["vector_store_id"] == store_id
        assert_matches(batch, "VectorStoreFileBatchObject")
    assert (made["status"], cancelled["status"]) == ("in_progress", "cancelled")


async def test_a_batch_counts_the_files_it_names_that_the_store_has_already(
        client: httpx.AsyncClient, app: Any, vectors: LocalVectorIndex) -> None:
    """A file already in the store, completed or still in progress, is part of a batch that names it,
    as it is: counted and listed by the batch, not ingested again."""
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    done, pending, new = [await upload(client, f"{n}.txt", f"document {n} about {n}") for n in ("a", "b", "c")]
    assert (await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": done})).status_code == 200
    await drain(app)
    stored = len(vectors)
    first = (await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [pending]})).json()
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [done, pending, new]})
    assert r.status_code == 200, r.text
    batch = r.json()
    assert batch["status"] == "in_progress"
    assert batch["file_counts"] == {"in_progress": 2, "completed": 1, "failed": 0, "cancelled": 0, "total": 3}
    # the file is in both batches: the first still counts it
    earlier = (await client.get(f"/v1/vector_stores/{store_id}/file_batches/{first['id']}")).json()
    assert earlier["file_counts"]["total"] == earlier["file_counts"]["in_progress"] == 1
    await drain(app)
    ended = (await client.get(f"/v1/vector_stores/{store_id}/file_batches/{batch['id']}")).json()
    assert ended["status"] == "completed" and ended["file_counts"]["completed"] == 3
    files = (await client.get(f"/v1/vector_stores/{store_id}/file_batches/{batch['id']}/files")).json()["data"]
    assert sorted(f["id"] for f in files) == sorted([done, pending, new])
    store = (await client.get(f"/v1/vector_stores/{store_id}")).json()
    assert store["file_counts"]["completed"] == 3 and store["file_counts"]["total"] == 3
    assert len(vectors) == stored + 2  # the completed file was not ingested again


async def test_a_file_two_batches_named_is_in_both_and_counted_once_by_the_store(
        client: httpx.AsyncClient, app: Any, vectors: LocalVectorIndex) -> None:
    """Each batch counts and lists every file it named, with the file's one status; the store has the file
    once. A file a later batch started over (it had failed) is counted by every batch as it is now, and
    cancelling an earlier batch cancels it; a file taken out of the store leaves its batches for good."""
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    shared, own, bad = (await upload(client, "a.txt", "document a about a"),
                        await upload(client, "b.txt", "document b about b"), await upload(client, "c.bin", b"\x00"))
    batches = f"/v1/vector_stores/{store_id}/file_batches"
    first = (await client.post(batches, json={"file_ids": [shared, bad]})).json()["id"]
    await drain(app)
    r = await client.post(batches, json={"file_ids": [shared, own, bad]})
    assert r.status_code == 200, r.text
    second = r.json()["id"]
    await drain(app)

    async def counted(batch_id: str) -> tuple[dict[str, int], list[str]]:
        batch = (await client.get(f"{batches}/{batch_id}")).json()
        listed = (await client.get(f"{batches}/{batch_id}/files", params={"order": "asc"})).json()["data"]
        return batch["file_counts"], sorted(f["id"] for f in listed)

    both_failed = {"in_progress": 0, "completed": 1, "failed": 1, "cancelled": 0, "total": 2}
    assert await counted(first) == (both_failed, sorted([shared, bad]))
    assert await counted(second) == ({**both_failed, "completed": 2, "total": 3}, sorted([shared, own, bad]))
    store = (await client.get(f"/v1/vector_stores/{store_id}")).json()
    assert store["file_counts"] == {"in_progress": 0, "completed": 2, "failed": 1, "cancelled": 0, "total": 3}

    # a third batch starts the failed file over; the first batch, cancelled, cancels it (it is in that batch too)
    third = (await client.post(batches, json={"file_ids": [bad]})).json()["id"]
    r = await client.post(f"{batches}/{first}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    cancelled = {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 1, "total": 1}
    assert await counted(third) == (cancelled, [bad])
    assert r.json()["file_counts"] == {**cancelled, "completed": 1, "total": 2}

    # taken out of the store, a file leaves every batch that named it
    assert (await client.delete(f"/v1/vector_stores/{store_id}/files/{shared}")).status_code == 200
    await drain(app)
    assert (await counted(second))[1] == sorted([own, bad])
    assert (await counted(first))[0]["total"] == 1
    r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": shared})  # attached again alone
    assert r.status_code == 200, r.text
    assert (await counted(first))[0]["total"] == 1


async def test_an_expired_store_shows_expired_and_refuses_use(client: httpx.AsyncClient, app: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    store_id = (await client.post("/v1/vector_stores", json={
        "expires_after": {"anchor": "last_active_at", "days": 1}})).json()["id"]
    ctx = app.state.ctx
    later = ctx.clock() + 2 * 86400
    monkeypatch.setattr(type(ctx), "now", lambda self: int(later))
    assert (await client.get(f"/v1/vector_stores/{store_id}")).json()["status"] == "expired"
    r = await client.post(f"/v1/vector_stores/{store_id}/search", json={"query": "x"})
    assert r.status_code == 400 and "expired" in r.json()["error"]["message"]


async def test_a_search_moves_last_active_at_and_the_expiry_with_it(backends: Backends, settings: Settings,
                                                                    clock: Clock) -> None:
    app = create_app(backends, settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        store_id, _ = await store_with(client, app, DOCS, expires_after={"anchor": "last_active_at", "days": 1})
        forever, _ = await store_with(client, app, {"a.txt": "Cats purr."})
        created = (await client.get(f"/v1/vector_stores/{store_id}")).json()
        assert (created["last_active_at"], created["expires_at"]) == (START, START + 86400)

        async def search_then_get(which: str) -> dict[str, Any]:
            r = await client.post(f"/v1/vector_stores/{which}/search", json={"query": "cats"})
            assert r.status_code == 200, r.text
            return dict((await client.get(f"/v1/vector_stores/{which}")).json())

        clock.now += 30  # within a minute of the last move: no write
        assert (await search_then_get(store_id))["last_active_at"] == START
        clock.now += 23 * 3600  # the store would expire an hour from now
        searched = await search_then_get(store_id)
        assert searched["last_active_at"] == int(clock.now)
        assert searched["expires_at"] == int(clock.now) + 86400
        clock.now += 2 * 3600  # past the first expiry, not the moved one
        assert (await client.get(f"/v1/vector_stores/{store_id}")).json()["status"] == "completed"
        assert (await search_then_get(store_id))["expires_at"] == int(clock.now) + 86400
        unexpiring = await search_then_get(forever)
        assert (unexpiring["last_active_at"], unexpiring["expires_at"]) == (int(clock.now), None)
        clock.now += 86400  # untouched for its whole expires_after: expired
        assert (await client.get(f"/v1/vector_stores/{store_id}")).json()["status"] == "expired"


@pytest.mark.parametrize(("body", "param"), [
    ({"expires_after": {"anchor": "last_active_at", "days": 0}}, "expires_after.days"),
    ({"expires_after": {"anchor": "last_active_at", "days": 366}}, "expires_after.days"),
    ({"expires_after": {"anchor": "last_active_at", "days": "7"}}, "expires_after.days"),
    ({"expires_after": {"anchor": "created_at", "days": 7}}, "expires_after.anchor"),
    ({"expires_after": {"days": 7}}, "expires_after.anchor"),
    ({"name": 3}, "name"),
    ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
    ({"metadata": {"k": 1}}, "metadata.k"),
    ({"chunking_strategy": {"type": "auto"}}, "chunking_strategy"),  # only on creation
    ({"file_ids": []}, "file_ids"),
])
async def test_modify_refuses_bad_bodies_and_changes_nothing(client: httpx.AsyncClient, body: dict[str, Any],
                                                             param: str) -> None:
    store = (await client.post("/v1/vector_stores", json={
        "name": "kb", "metadata": {"a": "b"}, "expires_after": {"anchor": "last_active_at", "days": 3}})).json()
    r = await client.post(f"/v1/vector_stores/{store['id']}", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param), error
    assert (await client.get(f"/v1/vector_stores/{store['id']}")).json() == store


async def test_a_large_batch_costs_a_few_queries_not_a_few_a_file(client: httpx.AsyncClient, app: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # A batch names up to 2,000 files; D1 queries for each would pass a Worker's subrequest budget.
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    ids = [await upload(client, f"f{i}.txt", f"document {i}") for i in range(150)]
    db = app.state.ctx.backends.db
    queries: list[str] = []
    prepare = db.prepare
    monkeypatch.setattr(db, "prepare", lambda sql: (queries.append(sql), prepare(sql))[1])
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [*ids, ids[0]]})
    assert r.status_code == 200, r.text
    assert len([q for q in queries if q.startswith("SELECT") and " FROM files " in q]) == 2  # 150 ids: 98 + 52
    batch_id = r.json()["id"]
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [*ids[:120], "file-nope"]})
    assert r.status_code == 404 and r.json()["error"]["param"] == "file_ids[120]", r.text
    # cancelled before it ran: a handful of statements, not a few per file
    queries.clear()
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches/{batch_id}/cancel")
    assert r.status_code == 200 and r.json()["file_counts"]["cancelled"] == 150, r.text
    assert len(queries) < 10, queries


async def test_a_stores_files_are_listed_in_the_order_attached(backends: Backends, settings: Settings,
                                                               clock: Clock) -> None:
    """As OpenAI lists them, by ``created_at`` (when attached), not by when the files were uploaded; the
    cursors follow that order both ways."""
    app = create_app(backends, settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        uploaded = [await upload(client, f"{name}.txt", f"About {name}.") for name in "abcd"]
        store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
        attached = [uploaded[i] for i in (2, 0, 3, 1)]
        for file_id in attached:
            clock.now += 1
            r = await client.post(f"/v1/vector_stores/{store_id}/files", json={"file_id": file_id})
            assert r.status_code == 200, r.text

        async def listed(**params: Any) -> tuple[list[str], bool]:
            r = await client.get(f"/v1/vector_stores/{store_id}/files", params=params)
            assert r.status_code == 200, r.text
            return [f["id"] for f in r.json()["data"]], r.json()["has_more"]

        assert await listed(order="asc") == (attached, False)
        assert await listed() == (attached[::-1], False)  # newest first by default
        assert await listed(order="asc", limit=2) == (attached[:2], True)
        assert await listed(order="asc", after=attached[1]) == (attached[2:], False)
        assert await listed(order="desc", after=attached[2]) == (attached[1::-1], False)
        assert await listed(order="asc", before=attached[2]) == (attached[:2], False)
        assert await listed(order="asc", after=attached[3]) == ([], False)  # the end of the list: no error
        # a cursor the store no longer has (taken out of it) has no place in the list: a 400 naming it, as the
        # item lists answer, not an empty page that reads as the end of the list
        r = await client.delete(f"/v1/vector_stores/{store_id}/files/{attached[1]}")
        assert r.status_code == 200, r.text
        for name in ("after", "before"):
            r = await client.get(f"/v1/vector_stores/{store_id}/files", params={name: attached[1]})
            assert r.status_code == 400 and r.json()["error"]["param"] == name, r.text
            assert r.json()["error"]["message"] == f"Invalid '{name}': no file with id '{attached[1]}' in this list."
        r = await client.get(f"/v1/vector_stores/{store_id}/files", params={"after": "file-nope"})
        assert r.status_code == 400 and r.json()["error"]["param"] == "after", r.text


async def test_a_file_or_batch_still_ingesting_tells_the_polling_helpers_when_to_look_again(
    client: httpx.AsyncClient, app: Any
) -> None:
    """``openai-poll-after-ms`` (the official clients' ``poll`` / ``create_and_poll`` wait by it, 1 s without)."""
    store_id = (await client.post("/v1/vector_stores", json={})).json()["id"]
    file_id = await upload(client, "a.txt", "Cats purr.")
    r = await client.post(f"/v1/vector_stores/{store_id}/file_batches", json={"file_ids": [file_id]})
    batch_id = r.json()["id"]
    file_url, batch_url = (f"/v1/vector_stores/{store_id}/files/{file_id}",
                           f"/v1/vector_stores/{store_id}/file_batches/{batch_id}")
    for url in (file_url, batch_url):
        r = await client.get(url)
        assert r.json()["status"] == "in_progress" and r.headers["openai-poll-after-ms"] == "250", r.headers
    await drain(app)
    for url in (file_url, batch_url):
        r = await client.get(url)
        assert r.json()["status"] == "completed" and "openai-poll-after-ms" not in r.headers
