"""Every SQL statement the app runs reads through an index.

D1 bills and limits by rows read, and stops a query at 30 s: a statement that scans a table growing with
use (files, items, responses, runs, vector_store_chunks …) gets slower and dearer as users store more.
This test drives a representative workload through the app (files, uploads, responses, conversations, the
Assistants API, vector stores, the scheduled cleanup), records every distinct statement it sends to D1
(what the Worker would send: the local D1 runs the same SQL), and asks SQLite for each one's plan with
the parameters it ran with. A plan fails when it

- scans a table (``SCAN items``, or ``SCAN items USING INDEX …`` without a bound), or
- searches by ``status`` alone (a handful of values: nearly the whole table, e.g. every ``ready`` item),
  or
- sorts in a temporary B-tree (every matching row read before the ``LIMIT``),

unless :data:`ALLOWED` names that statement and that plan step, with the reason it stays small.
SQLite plans without statistics (D1 runs no ``ANALYZE``), so the plan here is the one D1 makes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Iterator
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import SQLiteD1, SQLiteStatement
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Statement

from .assistants import CALL_WEATHER, LLAMA, SCOUT, WEATHER
from .conftest import ADMIN_KEY
from .vector_stores_util import drain, upload

ALLOWED: list[tuple[str, str, str]] = [
    # (a regular expression the statement matches, a regular expression the plan step matches, why).
    # Tiny tables.
    (r"\bd1_migrations\b", r"SCAN d1_migrations", "one row a migration file"),
    # A list of everything (an admin key, no owner) in id order: the scan walks the primary key in the
    # order asked and stops at the LIMIT; the rows it skips are the few in flight (uploading, deleting).
    (r"^SELECT .* FROM (assistants|threads|files|vector_stores|conversations|responses|batches) WHERE .*"
     r"ORDER BY id (ASC|DESC) LIMIT \?$",
     r"^SCAN \w+ USING INDEX sqlite_autoindex_\w+_1$", "walks the primary key in order up to the LIMIT"),
    # Stored chat completions of every key (an admin key), in created order: as above, the (created_at, id)
    # index walked in the order asked up to the LIMIT.
    (r"^SELECT .* FROM chat_completions WHERE 1( AND .*)? ORDER BY created_at (ASC|DESC), id (ASC|DESC) LIMIT \?$",
     r"^SCAN chat_completions USING INDEX chat_completions_created$", "walks (created_at, id) in order up to the LIMIT"),
    # A list's metadata[key]=value filter reads the metadata of the completion at hand: 16 pairs at most.
    (r"FROM chat_completions WHERE .*EXISTS \(SELECT 1 FROM json_each\(metadata\)", r"^SCAN json_each VIRTUAL TABLE",
     "one completion's metadata (16 pairs at most)"),
    # A new batch holds the files it names: the batch's own ids (2,000 at most), each written by its key.
    (r"^INSERT OR IGNORE INTO vector_store_file_batch_files .* SELECT \?, \?, value FROM json_each\(\?\)$",
     r"^SCAN json_each VIRTUAL TABLE", "the batch's own file ids, each written by the primary key"),
    # Keyword search: FTS5 ranks what MATCH found (the searched stores' chunks only: the match names
    # them first, tests/test_keyword_search_scope.py); bm25 is known only once a row is found.
    (r"vector_store_chunks_fts MATCH \?", r"^SCAN s VIRTUAL TABLE INDEX 0:M\d+$", "FTS5's own index"),
    (r"vector_store_chunks_fts MATCH \?.*ORDER BY bm25", r"USE TEMP B-TREE FOR ORDER BY",
     "ranks the searched stores' chunks MATCH found"),
    # Sorts of rows an equality search already bounded to one parent.
    (r"FROM vector_store_files WHERE vector_store_id = \?( AND id IN \(SELECT file_id FROM vector_store_file_batch_files"
     r" WHERE batch_id = \?\))? GROUP BY status",
     r"USE TEMP B-TREE FOR GROUP BY", "file_counts: one store's (one batch's) files, by status"),
    (r"FROM vector_store_files WHERE id = \? ORDER BY vector_store_id", r"USE TEMP B-TREE FOR ORDER BY",
     "the stores one file is in"),
    (r"FROM items WHERE container = \? AND role = 'item' AND legacy_duplicate >= 0 AND item_id = \?",
     r"USE TEMP B-TREE FOR ORDER BY", "the rows of one id in one conversation (one, bar legacy duplicates)"),
    (r"FROM items WHERE item_id IN \(.*\) AND status = 'ready'( AND owner = \?)? AND \(role = 'input' OR",
     r"USE TEMP B-TREE FOR ORDER BY", "the (caller's) items of the ids asked for"),
    # A cursor of a response's input items (of a stored completion's messages) among that container's items of
    # that role: a response's input is 2,048 items at most (no index of every item by its id is written for it).
    (r"^SELECT id FROM items WHERE container = \? AND role = \? AND item_id = \?$",
     r"^not by item_id: SEARCH items USING INDEX items_container \(container=\? AND role=\?\)$",
     "one response's input items"),
    (r"FROM items WHERE container = \? AND role IN \(", r"USE TEMP B-TREE FOR ORDER BY",
     "one response's input and output items"),
    (r"^WITH RECURSIVE chain", r"USE TEMP B-TREE FOR ORDER BY",
     "the items of a previous_response_id chain (its depth is capped)"),
    (r"FROM runs WHERE thread_id = \? AND \(status = 'queued' OR", r"USE TEMP B-TREE FOR ORDER BY",
     "a thread's active runs (one at most)"),
]

NOT_TABLES = re.compile(r"^SCAN (CONSTANT ROW|\d+ CONSTANT ROWS|chain)\b")  # VALUES, a CTE
BY_STATUS_ONLY = re.compile(r"\(status=\?\)$")
BY_ITEM_ID = re.compile(r"\bFROM items\b.*\bitem_id (= \?|IN \()")
IS_NULL = re.compile(r"(?<![+\w.])(\w+) IS NULL\b")


def partial_indexes(db: SQLiteD1) -> set[str]:
    """The indexes with a ``WHERE``: each holds only the rows in flight (``deleting``, an active run …), so a
    scan of one is small. (A new partial index over many rows would pass unseen: keep them to such rows.)"""
    rows = db.conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    return {name for name, sql in rows if " WHERE " in " ".join(sql.upper().split())}


def problems(sql: str, plan: list[str], partial: set[str]) -> list[str]:
    """The plan steps of ``sql`` that read more than its result needs, and :data:`ALLOWED` does not excuse:
    besides scans, searches by status alone and sorts, a search by the NULLs of a column (``x IS NULL`` in a
    unique index: the NULLs are every row without one, which SQLite, without statistics, rates as one row),
    and a look-up of items by their API id that does not search by it (it reads the container's every item)."""
    found = []
    nulls = IS_NULL.findall(sql)
    for step in plan:
        scan = re.match(r"SCAN \w+(?: USING (?:COVERING )?INDEX (\w+))?", step)
        bad = (scan is not None and not NOT_TABLES.match(step) and scan.group(1) not in partial) or (
            "TEMP B-TREE" in step) or (step.startswith("SEARCH ") and BY_STATUS_ONLY.search(step) is not None) or (
            step.startswith("SEARCH ") and any(re.search(rf"\({column}=\?", step) for column in nulls))
        if bad and not any(re.search(s, sql) and re.search(p, step) for s, p, _ in ALLOWED):
            found.append(step)
    if BY_ITEM_ID.search(sql) and not any("item_id=?" in step for step in plan):
        step = f"not by item_id: {plan[0]}"
        if not any(re.search(s, sql) and re.search(p, step) for s, p, _ in ALLOWED):
            found.append(step)
    return found


def plan_of(db: SQLiteD1, sql: str, params: tuple[Any, ...]) -> list[str]:
    return [row[3] for row in db.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, tuple[Any, ...]]]:
    """Every distinct SQL statement the app sends to the local D1, with the parameters of its first run."""
    seen: dict[str, tuple[Any, ...]] = {}

    def recording(method: Any) -> Any:
        async def run(self: SQLiteStatement) -> Any:
            seen.setdefault(" ".join(self.sql.split()), self.params)
            return await method(self)
        return run

    for name in ("all", "first", "run"):
        monkeypatch.setattr(SQLiteStatement, name, recording(getattr(SQLiteStatement, name)))
    batch = SQLiteD1.batch

    async def batched(self: SQLiteD1, batch_statements: list[Statement]) -> None:
        for statement in batch_statements:
            assert isinstance(statement, SQLiteStatement)
            seen.setdefault(" ".join(statement.sql.split()), statement.params)
        await batch(self, batch_statements)

    monkeypatch.setattr(SQLiteD1, "batch", batched)
    yield seen


async def ok(request: Awaitable[httpx.Response]) -> Any:
    r = await request
    assert r.status_code == 200, r.text
    return r.json()


async def files_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient) -> None:
    file_id = await upload(client, "a.txt", "alpha beta gamma")
    expiring = await ok(client.post("/v1/files", files={"file": ("b.txt", b"b")}, data={
        "purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"}))
    await ok(client.get(f"/v1/files/{file_id}"))
    assert (await client.get(f"/v1/files/{expiring['id']}/content")).status_code == 200
    listed = await ok(client.get("/v1/files", params={"limit": 1}))
    await ok(client.get("/v1/files", params={"limit": 1, "after": listed["data"][0]["id"], "order": "asc"}))
    await ok(client.get("/v1/files", params={"purpose": "batch"}))
    await ok(admin.get("/v1/files", params={"limit": 2}))
    await ok(client.delete(f"/v1/files/{expiring['id']}"))


async def uploads_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient) -> None:
    new = {"filename": "big.jsonl", "purpose": "fine-tune", "bytes": 4, "mime_type": "text/jsonl"}
    upload = await ok(client.post("/v1/uploads", json=new))
    path = f"/v1/uploads/{upload['id']}"
    parts = [(await ok(client.post(f"{path}/parts", files={"data": ("b", data)})))["id"] for data in (b"ab", b"cd")]
    await ok(admin.post(f"{path}/complete", json={"part_ids": parts}))
    cancelled = await ok(client.post("/v1/uploads", json=new))
    await ok(client.post(f"/v1/uploads/{cancelled['id']}/parts", files={"data": ("b", b"ab")}))
    await ok(client.post(f"/v1/uploads/{cancelled['id']}/cancel"))
    left = await ok(client.post("/v1/uploads", json=new))  # expires with its part: the cleanup's
    await ok(client.post(f"/v1/uploads/{left['id']}/parts", files={"data": ("b", b"ab")}))


async def batches_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient, app: Any) -> None:
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": LLAMA, "messages": [{"role": "user", "content": "echo: hi"}]}}
    requests = (json.dumps(line) + "\n").encode()
    for ending in ("completed", "cancelled"):
        r = await client.post("/v1/files", files={"file": ("r.jsonl", requests)}, data={"purpose": "batch"})
        batch = await ok(client.post("/v1/batches", json={
            "input_file_id": r.json()["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"}))
        if ending == "cancelled":
            await ok(client.post(f"/v1/batches/{batch['id']}/cancel"))
        await drain(app)
        await ok(client.get(f"/v1/batches/{batch['id']}"))
    listed = await ok(client.get("/v1/batches", params={"limit": 1}))
    await ok(client.get("/v1/batches", params={"after": listed["data"][0]["id"]}))
    await ok(admin.get("/v1/batches", params={"limit": 1}))


async def responses_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient, app: Any) -> None:
    first = await ok(client.post("/v1/responses", json={"model": LLAMA, "input": "echo: one"}))
    second = await ok(client.post("/v1/responses", json={  # two messages: rows of items (a text: kept in the row)
        "model": LLAMA, "input": [{"role": "user", "content": "hi"}, {"role": "user", "content": "echo: two"}],
        "previous_response_id": first["id"]}))
    await ok(client.get(f"/v1/responses/{second['id']}"))
    items = await ok(client.get(f"/v1/responses/{second['id']}/input_items", params={"limit": 1}))
    await ok(client.get(f"/v1/responses/{second['id']}/input_items",
                        params={"after": items["data"][0]["id"], "order": "asc"}))
    # An item_reference to an item stored earlier.
    output_id = second["output"][0]["id"]
    await ok(client.post("/v1/responses", json={
        "model": LLAMA, "input": [{"type": "item_reference", "id": output_id}, {"role": "user", "content": "hi"}]}))
    await ok(admin.post("/v1/responses", json={  # an admin key's: any key's item (no owner to search by)
        "model": LLAMA, "input": [{"type": "item_reference", "id": output_id}, {"role": "user", "content": "hi"}]}))
    # An item_reference to an input message a response's row keeps (its id is the response's).
    kept_id = "msg_" + first["id"].removeprefix("resp_")
    for caller in (client, admin):
        await ok(caller.post("/v1/responses", json={
            "model": LLAMA, "input": [{"type": "item_reference", "id": kept_id}, {"role": "user", "content": "hi"}]}))
    streamed = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: s", "stream": True})
    assert streamed.status_code == 200
    queued = await ok(client.post("/v1/responses", json={"model": LLAMA, "input": "echo: bg", "background": True}))
    await drain(app)
    await ok(client.get(f"/v1/responses/{queued['id']}"))
    cancelled = await ok(client.post("/v1/responses", json={"model": LLAMA, "input": "echo: c", "background": True}))
    await ok(client.post(f"/v1/responses/{cancelled['id']}/cancel"))
    await drain(app)
    await ok(client.delete(f"/v1/responses/{first['id']}"))


async def chat_completions_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "echo: one"}]
    stored = await ok(client.post("/v1/chat/completions", json={
        "model": LLAMA, "messages": messages, "store": True, "metadata": {"k": "v"}}))
    streamed = await client.post("/v1/chat/completions", json={"model": LLAMA, "messages": messages, "store": True,
                                                                "stream": True})
    assert streamed.status_code == 200
    path = f"/v1/chat/completions/{stored['id']}"
    await ok(client.get(path))
    await ok(client.post(path, json={"metadata": {"k": "w"}}))
    listed = await ok(client.get("/v1/chat/completions", params={"limit": 1}))
    await ok(client.get("/v1/chat/completions", params={"after": listed["data"][0]["id"], "order": "desc"}))
    await ok(client.get("/v1/chat/completions", params={"model": LLAMA, "metadata[k]": "w"}))
    await ok(admin.get("/v1/chat/completions", params={"limit": 1}))
    await ok(admin.get("/v1/chat/completions", params={"model": LLAMA, "after": listed["data"][0]["id"]}))
    messages_page = await ok(client.get(f"{path}/messages", params={"limit": 1}))
    await ok(client.get(f"{path}/messages", params={"after": messages_page["data"][0]["id"], "order": "desc"}))
    await ok(client.delete(path))
    # Messages too large for the completion's row (an image sent as a data URL: one in R2) are rows of items.
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(70_000)).decode()
    large = await ok(client.post("/v1/chat/completions", json={"model": SCOUT, "store": True, "messages": [
        *messages, {"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}}]}]}))
    path = f"/v1/chat/completions/{large['id']}"
    await ok(client.get(path))
    messages_page = await ok(client.get(f"{path}/messages", params={"limit": 1}))
    await ok(client.get(f"{path}/messages", params={"after": messages_page["data"][0]["id"], "order": "desc"}))
    await ok(client.get(f"{path}/messages", params={"before": messages_page["data"][0]["id"]}))
    await ok(client.delete(path))


async def conversations_workload(client: httpx.AsyncClient) -> None:
    conversation = await ok(client.post("/v1/conversations", json={
        "items": [{"type": "message", "role": "user", "content": "hello"}], "metadata": {"k": "v"}}))
    path = f"/v1/conversations/{conversation['id']}"
    await ok(client.get(path))
    await ok(client.post(path, json={"metadata": {"k": "w"}}))
    added = await ok(client.post(f"{path}/items", json={"items": [
        {"type": "message", "role": "user", "content": "more"},
        {"type": "message", "role": "assistant", "content": "sure", "id": "msg_client_1"}]}))
    await ok(client.post("/v1/responses", json={
        "model": LLAMA, "input": "echo: in it", "conversation": conversation["id"]}))
    listed = await ok(client.get(f"{path}/items", params={"limit": 1}))
    await ok(client.get(f"{path}/items", params={"after": listed["data"][0]["id"], "order": "asc"}))
    await ok(client.get(f"{path}/items/{added['data'][1]['id']}"))
    await ok(client.delete(f"{path}/items/{added['data'][0]['id']}"))
    await ok(client.delete(path))


async def assistants_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient, app: Any) -> None:
    assistant = await ok(client.post("/v1/assistants", json={"model": SCOUT, "instructions": "Be brief.",
                                                             "tools": [WEATHER]}))
    await ok(client.get(f"/v1/assistants/{assistant['id']}"))
    await ok(client.post(f"/v1/assistants/{assistant['id']}", json={"name": "helper"}))
    listed = await ok(client.get("/v1/assistants", params={"limit": 1}))
    await ok(client.get("/v1/assistants", params={"after": listed["data"][0]["id"], "before": "asst_zzzz"}))
    await ok(admin.get("/v1/assistants"))
    thread = await ok(client.post("/v1/threads", json={"messages": [{"role": "user", "content": "hi"}]}))
    base = f"/v1/threads/{thread['id']}"
    await ok(client.get(base))
    await ok(client.post(base, json={"metadata": {"k": "v"}}))
    message = await ok(client.post(f"{base}/messages", json={"role": "user", "content": "weather?"}))
    await ok(client.get(f"{base}/messages/{message['id']}"))
    await ok(client.post(f"{base}/messages/{message['id']}", json={"metadata": {"k": "v"}}))
    listed = await ok(client.get(f"{base}/messages", params={"limit": 1, "order": "asc"}))
    await ok(client.get(f"{base}/messages", params={"before": listed["data"][0]["id"]}))
    # A run that calls a tool, waits for its output and completes.
    await ok(client.post(f"{base}/messages", json={"role": "user", "content": CALL_WEATHER}))
    run = await ok(client.post(f"{base}/runs", json={"assistant_id": assistant["id"]}))
    busy = await client.post(f"{base}/messages", json={"role": "user", "content": "not now"})
    assert busy.status_code == 400, busy.text  # the thread's run is active
    await drain(app)
    waiting = await ok(client.get(f"{base}/runs/{run['id']}"))
    assert waiting["status"] == "requires_action", waiting
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]
    await ok(client.post(f"{base}/runs/{run['id']}/submit_tool_outputs",
                         json={"tool_outputs": [{"tool_call_id": call["id"], "output": "sunny"}]}))
    await drain(app)
    await ok(client.get(f"{base}/runs", params={"limit": 1}))
    steps = await ok(client.get(f"{base}/runs/{run['id']}/steps"))
    await ok(client.get(f"{base}/runs/{run['id']}/steps/{steps['data'][0]['id']}"))
    await ok(client.get(f"{base}/messages", params={"run_id": run["id"]}))
    # A run cancelled before it ran; a streamed one; one made with its thread.
    other = await ok(client.post(f"{base}/runs", json={"assistant_id": assistant["id"]}))
    await ok(client.post(f"{base}/runs/{other['id']}/cancel"))
    await drain(app)
    streamed = await client.post(f"{base}/runs", json={"assistant_id": assistant["id"], "stream": True,
                                                       "model": LLAMA, "tools": []})
    assert streamed.status_code == 200
    await ok(client.post("/v1/threads/runs", json={"assistant_id": assistant["id"], "model": LLAMA, "tools": [],
                                                   "thread": {"messages": [{"role": "user", "content": "x"}]}}))
    await drain(app)
    await ok(client.delete(f"{base}/messages/{message['id']}"))
    await ok(client.delete(base))
    await ok(client.delete(f"/v1/assistants/{assistant['id']}"))


async def vector_stores_workload(client: httpx.AsyncClient, admin: httpx.AsyncClient, app: Any) -> None:
    ids = [await upload(client, f"{n}.txt", f"document {n} about espresso and tea {n}") for n in range(3)]
    store = await ok(client.post("/v1/vector_stores", json={
        "name": "kb", "file_ids": ids[:1], "expires_after": {"anchor": "last_active_at", "days": 1}}))
    base = f"/v1/vector_stores/{store['id']}"
    await drain(app)
    await ok(client.post(f"{base}/files", json={"file_id": ids[1], "attributes": {"k": "v"}}))
    batch = await ok(client.post(f"{base}/file_batches", json={"file_ids": [ids[2]]}))
    await ok(client.get(f"{base}/file_batches/{batch['id']}"))
    await drain(app)
    await ok(client.get(f"{base}/file_batches/{batch['id']}/files"))
    await ok(client.get(base))
    await ok(client.post(base, json={"name": "kb2", "metadata": {"k": "v"}}))
    await ok(client.get("/v1/vector_stores", params={"limit": 1}))
    await ok(admin.get("/v1/vector_stores"))
    await ok(client.get(f"{base}/files", params={"limit": 1}))
    await ok(client.get(f"{base}/files", params={"filter": "completed"}))
    await ok(client.get(f"{base}/files/{ids[1]}"))
    await ok(client.post(f"{base}/files/{ids[1]}", json={"attributes": {"k": "w"}}))
    await ok(client.get(f"{base}/files/{ids[1]}/content"))
    found = await ok(client.post(f"{base}/search", json={"query": "espresso", "max_num_results": 2}))
    assert found["data"], found
    await ok(client.post(f"{base}/search", json={"query": "tea", "filters": {"type": "eq", "key": "k", "value": "v"}}))
    await ok(client.post(f"{base}/search", json={"query": "espresso", "rewrite_query": False,
                                                 "ranking_options": {"ranker": "none"}}))
    await ok(client.post("/v1/responses", json={"model": SCOUT, "input": "espresso?", "tools": [
        {"type": "file_search", "vector_store_ids": [store["id"]]}], "include": ["file_search_call.results"]}))
    cancelled = await ok(client.post(f"{base}/file_batches", json={"file_ids": [ids[0]]}))
    await client.post(f"{base}/file_batches/{cancelled['id']}/cancel")
    await ok(client.delete(f"{base}/files/{ids[1]}"))
    await drain(app)
    await ok(client.delete(f"/v1/files/{ids[0]}"))  # out of every store that holds it
    await drain(app)
    doomed = await ok(client.post("/v1/vector_stores", json={"name": "gone", "file_ids": [ids[2]]}))
    await drain(app)
    await ok(client.delete(f"/v1/vector_stores/{doomed['id']}"))
    await drain(app)


async def test_every_statement_reads_through_an_index(
    app: Any, client: httpx.AsyncClient, db: SQLiteD1, statements: dict[str, tuple[Any, ...]]
) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        await files_workload(client, admin)
        await uploads_workload(client, admin)
        await batches_workload(client, admin, app)
        await responses_workload(client, admin, app)
        await chat_completions_workload(client, admin)
        await conversations_workload(client)
        await assistants_workload(client, admin, app)
        await vector_stores_workload(client, admin, app)
    backends, settings = app.state.ctx.backends, app.state.ctx.settings
    for hour in range(5):  # everything past its expiry; each run starts with the next cleanup in turn
        await run_scheduled(backends, settings, now=2_000_000_000 + hour * 3600)
    await drain(app)

    assert len(statements) >= 130, f"the workload reached only {len(statements)} statements"
    failures, partial = [], partial_indexes(db)
    for sql, params in sorted(statements.items()):
        plan = plan_of(db, sql, params)
        if bad := problems(sql, plan, partial):
            failures.append(f"{sql}\n  plan: {plan}\n  reads too much: {bad}")
    assert not failures, f"{len(failures)} of {len(statements)} statements:\n\n" + "\n\n".join(failures)


def test_the_checker_flags_scans_status_searches_and_sorts(db: SQLiteD1) -> None:
    def check(sql: str, *params: Any) -> list[str]:
        return problems(sql, plan_of(db, sql, params), partial_indexes(db))

    assert check("SELECT id FROM items WHERE type = ?", "message") == ["SCAN items"]
    assert check("SELECT id FROM responses ORDER BY created_at LIMIT 1") == [
        "SCAN responses", "USE TEMP B-TREE FOR ORDER BY"]
    assert check("SELECT id FROM items WHERE container = ? AND role = ? ORDER BY id", "c", "input") == []
    assert check("SELECT id FROM d1_migrations ORDER BY id") == []
    assert check("SELECT id FROM vector_stores WHERE status = 'deleting' ORDER BY id") == []  # a partial index
    # A look-up in a unique index by its NULLs (object_key: every inline item); by the container instead.
    assert check("DELETE FROM items WHERE container = ? AND object_key IS NULL", "c") == [
        "SEARCH items USING INDEX sqlite_autoindex_items_2 (object_key=?)"]
    assert check("DELETE FROM items WHERE container = ? AND +object_key IS NULL", "c") == []
    # A conversation's items by id: the rows of that id, not every item of the conversation.
    assert check("SELECT id FROM items WHERE container = ? AND role = 'item' AND item_id IN (?, ?)", "c", "a", "b") == [
        "not by item_id: SEARCH items USING INDEX items_container (container=? AND role=?)"]
    assert check("SELECT id FROM items WHERE container = ? AND role = 'item' AND legacy_duplicate >= 0"
                 " AND item_id IN (?, ?)", "c", "a", "b") == []
    db.conn.execute("CREATE INDEX items_by_status ON items (status)")
    assert check("SELECT id FROM items WHERE container = ? AND status = ?", "c", "ready") == [
        "SEARCH items USING INDEX items_by_status (status=?)"]
