"""The index entries a stored response, a conversation's item and a stored chat completion write.

D1 bills and limits by rows written, and a write counts one row for the table and one for each index it adds an
entry to (a partial index only when the row is one it holds): ``migrations/0017_fewer_index_entries.sql``. These
tests count, table by table and index by index, the entries each request adds, so that an index that starts
holding these rows (or a statement that writes a row twice) shows here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.repositories import chat_completions

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
TABLES = ("responses", "conversations", "items", "chat_completions")


def entries(db: SQLiteD1) -> Counter[str]:
    """Rows of each table of :data:`TABLES`, and entries of each of their indexes: every row for a full index
    (a UNIQUE column's too, NULLs included), the rows its ``WHERE`` holds for a partial one."""
    counts: Counter[str] = Counter()
    for table in TABLES:
        counts[table] = db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for name, sql in db.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)).fetchall():
            where = " ".join((sql or "").split()).partition(" WHERE ")[2] or "1"
            counts[name] = db.conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
    return counts


async def written(db: SQLiteD1, request: Any) -> tuple[dict[str, int], int]:
    """The entries ``request`` adds (by table and index), and the rows its statements changed (an update too)."""
    before, changes = entries(db), db.conn.total_changes
    r = await request
    assert r.status_code == 200, r.text
    after = entries(db)
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}, (
        db.conn.total_changes - changes)


async def test_a_stored_response_writes_2_entries(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    added, changed = await written(db, client.post("/v1/responses", json={"model": LLAMA, "input": "echo: hi"}))
    assert changed == 1  # its row, which keeps its input and output messages, written once
    assert added == {"responses": 1, "sqlite_autoindex_responses_1": 1}  # the row, its id
    # 15 before 0017, 12 before 0021, 7 before 0022


async def test_a_stored_response_with_input_items_writes_5_entries_an_item(client: httpx.AsyncClient,
                                                                           db: SQLiteD1) -> None:
    """An input the row does not keep (two messages; one sent with its id) is rows of items, as before 0021."""
    for body in ([{"role": "user", "content": "hi"}, {"role": "user", "content": "echo: hi"}],
                 [{"type": "message", "id": "msg_mine", "role": "user", "content": "echo: hi"}]):
        added, changed = await written(db, client.post("/v1/responses", json={"model": LLAMA, "input": body}))
        assert changed == 1 + len(body)  # the answer kept in the row
        assert added["items"] == len(body) and added["items_referable"] == len(body)
        assert sum(added.values()) == 2 + 5 * len(body)


async def test_a_conversations_item_writes_6_entries(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    conversation = (await client.post("/v1/conversations", json={})).json()
    added, changed = await written(db, client.post(
        f"/v1/conversations/{conversation['id']}/items", json={"items": [{"role": "user", "content": "hi"}]}))
    assert changed == 1
    assert added == {"items": 1, "sqlite_autoindex_items_1": 1, "sqlite_autoindex_items_2": 1, "items_container": 1,
                     "items_referable": 1, "items_conversation_item": 1}  # 7 before 0017
    # A response in the conversation: its row, which keeps its input and output messages (2), and both appended to
    # the conversation as rows of items (a conversation's items are read as rows).
    added, changed = await written(db, client.post("/v1/responses", json={
        "model": LLAMA, "input": "echo: hi", "conversation": conversation["id"]}))
    assert changed == 3 and sum(added.values()) == 2 + 2 * 6  # 29 before 0017, 24 before 0021


async def test_a_stored_chat_completion_writes_its_row_alone(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    """Its row keeps its object and its messages (``migrations/0024_chat_completion_in_row.sql``): one INSERT."""
    added, changed = await written(db, client.post("/v1/chat/completions", json={
        "model": LLAMA, "messages": [{"role": "user", "content": "echo: hi"}], "store": True}))
    assert changed == 1
    assert added == {"chat_completions": 1, "sqlite_autoindex_chat_completions_1": 1,
                     "chat_completions_owner_created": 1, "chat_completions_owner_model_created": 1,
                     "chat_completions_created": 1}  # 17 before 0017, 13 before 0024 (its object and message: 4 each)


async def test_a_stored_chat_completions_items_are_in_no_index_of_ids(client: httpx.AsyncClient, db: SQLiteD1,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Its object and messages as items (too large for its row; every completion stored before 0024): 4 each."""
    monkeypatch.setattr(chat_completions, "keeps", lambda encoded: False)
    added, changed = await written(db, client.post("/v1/chat/completions", json={
        "model": LLAMA, "messages": [{"role": "user", "content": "echo: hi"}], "store": True}))
    assert changed == 3  # the completion's row; its object and its one message as items
    items = {name: n for name, n in added.items() if name.startswith(("items", "sqlite_autoindex_items"))}
    assert items == {"items": 2, "sqlite_autoindex_items_1": 2, "sqlite_autoindex_items_2": 2,
                     "items_container": 2}  # 12 before 0017
    assert sum(added.values()) == 5 + 2 * 4


def test_no_insert_builds_a_temporary_table_for_an_index(db: SQLiteD1) -> None:
    """A partial index's condition is evaluated for every row inserted; written as a list of three or more
    constants (``status IN ('a', 'b', 'c')``) it made SQLite build a temporary B-tree of the list each time an
    insert ran (``migrations/0019_partial_indexes_as_comparisons.sql``). No table's insert does now."""
    tables = [name for (name,) in db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE '%VIRTUAL%'"
        " AND name NOT LIKE '%_fts%'")]
    assert {"items", "runs", "batches", "files"} <= set(tables)
    building = {}
    for table in tables:
        columns = [row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        opcodes = [row[1] for row in db.conn.execute(f"EXPLAIN {sql}", [None] * len(columns))]
        if "OpenEphemeral" in opcodes:
            building[table] = sql
    assert building == {}
