"""``/v1/conversations``: CRUD, items, ownership, and responses that read and append to a conversation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.context import AppContext
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Database
from openai_workers_ai.repositories import conversations, items
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.workers_ai import pipeline
from openai_workers_ai.workers_ai.spec import ChatSpec, Event, Generated

from .conftest import ADMIN_KEY, OTHER_KEY, ROOT, migrated_before
from .openapi import assert_matches
from .responses_util import sse_events

LLAMA = "@cf/meta/llama-3.1-8b-instruct"


async def new_conversation(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await client.post("/v1/conversations", json=body)
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "ConversationResource")
    conversation: dict[str, Any] = r.json()
    return conversation


async def items_of(client: httpx.AsyncClient, conversation_id: str, **params: Any) -> dict[str, Any]:
    r = await client.get(f"/v1/conversations/{conversation_id}/items", params=params)
    assert r.status_code == 200, r.text
    listed: dict[str, Any] = r.json()
    if listed["data"]:
        assert_matches(listed, "ConversationItemList")
    return listed


async def test_create_retrieve_update_delete(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    conversation = await new_conversation(client, metadata={"topic": "demo"}, safety_identifier="user-42",
                                          items=[{"role": "user", "content": "hello"}])
    assert conversation["id"].startswith("conv_") and conversation["object"] == "conversation"
    assert "safety_identifier" not in conversation  # accepted (openai-python 3.63 sends it), not shown
    path = f"/v1/conversations/{conversation['id']}"
    assert (await client.get(path)).json() == conversation
    updated = (await client.post(path, json={"metadata": {"topic": "new"}})).json()
    assert updated["metadata"] == {"topic": "new"} and (await client.get(path)).json() == updated
    deleted = (await client.delete(path)).json()
    assert deleted == {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}
    assert_matches(deleted, "DeletedConversationResource")
    assert (await client.get(path)).status_code == 404
    assert (await db.prepare("SELECT COUNT(*) AS n FROM items").first()) == {"n": 0}


async def test_update_with_metadata_null_clears_it(client: httpx.AsyncClient) -> None:
    """``metadata`` is required and nullable in OpenAI's ``UpdateConversationBody`` (the official client's
    ``conversations.update(id, metadata=None)`` sends ``null``): it clears the metadata, as null does on create."""
    conversation = await new_conversation(client, metadata={"topic": "demo"})
    path = f"/v1/conversations/{conversation['id']}"
    r = await client.post(path, json={"metadata": None})
    assert r.status_code == 200, r.text
    assert r.json() == {**conversation, "metadata": {}} and (await client.get(path)).json() == r.json()
    assert_matches(r.json(), "ConversationResource")
    r = await client.post(path, json={})
    assert r.status_code == 400 and r.json()["error"]["param"] == "metadata"


async def test_items_are_added_listed_retrieved_and_deleted(client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(client, items=[{"role": "user", "content": "one"}])
    path = f"/v1/conversations/{conversation['id']}/items"
    added = (await client.post(path, json={"items": [{"role": "assistant", "content": "two"},
                                                     {"role": "user", "content": "three", "id": "msg_three"}]}))
    assert added.status_code == 200 and [i["id"] for i in added.json()["data"]][1] == "msg_three"
    assert_matches(added.json(), "ConversationItemList")
    listed = await items_of(client, conversation["id"], order="asc")
    assert [i["content"][0]["text"] for i in listed["data"]] == ["one", "two", "three"]
    assert [i["content"][0]["text"] for i in (await items_of(client, conversation["id"]))["data"]] == [
        "three", "two", "one"]  # newest first by default
    page = await items_of(client, conversation["id"], order="asc", limit=1, after=listed["data"][0]["id"])
    assert [i["content"][0]["text"] for i in page["data"]] == ["two"] and page["has_more"] is True
    one = await client.get(f"{path}/msg_three")
    assert one.status_code == 200 and one.json()["content"][0]["text"] == "three"
    assert_matches(one.json(), "ConversationItem")
    after = await client.delete(f"{path}/msg_three")
    assert after.status_code == 200 and after.json()["id"] == conversation["id"]
    assert (await client.get(f"{path}/msg_three")).status_code == 404
    duplicate = await client.post(path, json={"items": [{"role": "user", "content": "x",
                                                         "id": listed["data"][0]["id"]}]})
    assert duplicate.status_code == 400 and duplicate.json()["error"]["param"] == "items"


async def test_the_item_list_is_as_openai_answers_it(client: httpx.AsyncClient) -> None:
    """The exchange of openai/openai-dotnet tests/SessionRecords/ResponsesTests/ResponseUsingConversations.json:
    a conversation made with one item, a response in it, then its items listed without parameters: newest first,
    each message as stored, the list's members ``object, data, first_id, has_more, last_id`` in that order
    (the ids around ``has_more``; the items added answer in the same list shape)."""
    conversation = await new_conversation(client, metadata={"topic": "test"},
                                          items=[{"type": "message", "role": "user", "content": "tell me a joke"}])
    assert list(conversation) == ["id", "object", "created_at", "metadata"]
    r = await client.post("/v1/responses", json={
        "model": LLAMA, "conversation": {"id": conversation["id"]},
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "tell me another"}]}]})
    assert r.status_code == 200, r.text
    listed = await items_of(client, conversation["id"])
    assert list(listed) == ["object", "data", "first_id", "has_more", "last_id"]
    assert [(i["role"], i["content"][0]["type"]) for i in listed["data"]] == [
        ("assistant", "output_text"), ("user", "input_text"), ("user", "input_text")]
    assert listed["first_id"] == listed["data"][0]["id"] and listed["last_id"] == listed["data"][-1]["id"]
    assert listed["has_more"] is False and listed["data"][-1]["status"] == "completed"
    assert all(list(item) == ["id", "type", "status", "content", "role"] for item in listed["data"])
    assert list(listed["data"][0]["content"][0]) == ["type", "annotations", "logprobs", "text"]
    added = await client.post(f"/v1/conversations/{conversation['id']}/items",
                              json={"items": [{"role": "user", "content": "x"}]})
    assert list(added.json()) == ["object", "data", "first_id", "has_more", "last_id"]


@pytest.mark.parametrize(("body", "param"), [
    ({"items": [{"role": "user", "content": "x"}] * 21}, "items"),
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"items": [{"type": "item_reference", "id": "msg_1"}]}, "items[0]"),
    ({"items": [{"role": "user"}]}, "items[0].content"),
])
async def test_bad_conversations_are_400s(client: httpx.AsyncClient, body: dict[str, Any], param: str) -> None:
    r = await client.post("/v1/conversations", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


async def test_an_unknown_key_is_the_responses_apis_400(client: httpx.AsyncClient) -> None:
    """The Conversations API words an unknown key as the Responses API does, not as chat completions does."""
    conversation = await new_conversation(client)
    path = f"/v1/conversations/{conversation['id']}"
    for url, body in (("/v1/conversations", {"bogus": 1}), (path, {"metadata": None, "bogus": 1}),
                      (f"{path}/items", {"items": [{"role": "user", "content": "x"}], "bogus": 1})):
        r = await client.post(url, json=body)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error == {"message": "Unknown parameter: 'bogus'.", "type": "invalid_request_error", "param": "bogus",
                         "code": "unknown_parameter"}, (url, error)


async def test_another_keys_conversation_is_a_404(client: httpx.AsyncClient) -> None:
    conversation = await new_conversation(client, items=[{"role": "user", "content": "secret", "id": "msg_s"}])
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    path = f"/v1/conversations/{conversation['id']}"
    for method, suffix in (("GET", ""), ("POST", ""), ("DELETE", ""), ("GET", "/items"), ("GET", "/items/msg_s"),
                           ("DELETE", "/items/msg_s")):
        r = await client.request(method, path + suffix, headers=other, json={"metadata": {}})
        assert r.status_code == 404, (method, suffix, r.text)
    r = await client.post("/v1/responses", headers=other, json={"model": LLAMA, "input": "hi",
                                                                "conversation": conversation["id"]})
    assert r.status_code == 404 and r.json()["error"]["message"] == f"Conversation with id '{conversation['id']}' not found."
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert (await client.get(path, headers=admin)).status_code == 200


async def test_responses_read_and_append_to_a_conversation(client: httpx.AsyncClient,
                                                           simulator: Simulator) -> None:
    conversation = await new_conversation(client, items=[{"role": "system", "content": "Be terse."}])
    first = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: first",
                                                     "conversation": conversation["id"]})
    assert first.status_code == 200 and first.json()["conversation"] == {"id": conversation["id"]}
    second = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: second",
                                                      "conversation": {"id": conversation["id"]}})
    assert second.status_code == 200
    assert [(m["role"], m["content"]) for m in simulator.calls[-1][1]["messages"]] == [
        ("system", "Be terse."), ("user", "echo: first"), ("assistant", "first"), ("user", "echo: second")]
    listed = await items_of(client, conversation["id"], order="asc")
    assert [i["role"] for i in listed["data"]] == ["system", "user", "assistant", "user", "assistant"]
    assert listed["data"][2]["id"] == first.json()["output"][0]["id"]
    # The response's own record is separate: deleting it leaves the conversation whole.
    await client.delete(f"/v1/responses/{first.json()['id']}")
    assert len((await items_of(client, conversation["id"]))["data"]) == 5


async def test_a_failed_response_appends_nothing(client: httpx.AsyncClient, db: SQLiteD1,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = await new_conversation(client)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "fail:500",
                                                 "conversation": conversation["id"]})
    assert r.status_code == 502  # Workers AI's 500, as the gateway reports it
    real = db.batch
    calls = 0

    async def fails_once(statements: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise UpstreamError("D1_ERROR: simulated outage")
        await real(statements)

    monkeypatch.setattr(db, "batch", fails_once)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: x",
                                                 "conversation": conversation["id"]})
    assert r.status_code == 502
    assert (await items_of(client, conversation["id"]))["data"] == []  # all or nothing


def message(text: str, item_id: str) -> dict[str, Any]:
    return {"role": "user", "content": text, "id": item_id}


async def test_two_requests_adding_one_id_at_once_one_wins(client: httpx.AsyncClient,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = await new_conversation(client)
    path = f"/v1/conversations/{conversation['id']}/items"
    real, checks = conversations.item_ids, 0
    both_checked = asyncio.Barrier(2)

    async def checked_together(db: Database, conversation_id: str, ids: list[str]) -> set[str]:
        nonlocal checks
        found = await real(db, conversation_id, ids)
        checks += 1
        if checks <= 2:
            await both_checked.wait()  # neither request writes before both have checked: the race
        return found

    monkeypatch.setattr(conversations, "item_ids", checked_together)
    requests = {"a": [message("a", "msg_a"), message("a", "msg_same")],
                "b": [message("b", "msg_b"), message("b", "msg_same")]}
    answers = await asyncio.gather(*(client.post(path, json={"items": sent}) for sent in requests.values()))
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    winner, loser = ("a", "b") if answers[0].status_code == 200 else ("b", "a")
    error = answers[list(requests).index(loser)].json()["error"]
    assert error["param"] == "items" and error["message"] == "The conversation already has an item with id 'msg_same'."
    listed = await items_of(client, conversation["id"], order="asc")
    # the id once, and all of the winner's items, none of the loser's (its batch was rolled back)
    assert [(i["id"], i["content"][0]["text"]) for i in listed["data"]] == [
        (f"msg_{winner}", winner), ("msg_same", winner)]


@pytest.mark.parametrize("repeated_is_large", [False, True])
async def test_a_request_that_loses_the_race_leaves_nothing_staged(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch,
    repeated_is_large: bool,
) -> None:
    conversation = await new_conversation(client, items=[message("first", "msg_same")])
    path = f"/v1/conversations/{conversation['id']}/items"

    async def checked_before_the_other_wrote(db: Database, conversation_id: str, ids: list[str]) -> set[str]:
        return set()

    monkeypatch.setattr(conversations, "item_ids", checked_before_the_other_wrote)
    large = "x" * 70_000  # over items.INLINE_MAX: staged in R2 before the batch
    sent = [message(large, "msg_big"), message(large if repeated_is_large else "small", "msg_same")]
    r = await client.post(path, json={"items": sent})
    assert r.status_code == 400 and r.json()["error"]["param"] == "items", r.text
    assert await db.prepare("SELECT item_id, status FROM items ORDER BY id").all() == [
        {"item_id": "msg_same", "status": "ready"}]  # msg_big's staged row is gone …
    assert await bucket.list("items/", 10) == []  # … and so are its bytes
    assert (await client.post(path, json={"items": [message(large, "msg_big")]})).status_code == 200


@pytest.mark.parametrize("stream", [False, True])
async def test_a_response_whose_input_id_was_added_meanwhile_is_a_400(
    client: httpx.AsyncClient, db: SQLiteD1, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    conversation = await new_conversation(client)
    path = f"/v1/conversations/{conversation['id']}/items"

    async def add_meanwhile() -> None:  # another request adds the id while the model runs
        assert (await client.post(path, json={"items": [message("theirs", "msg_mine")]})).status_code == 200

    real_complete, real_stream = pipeline.complete, pipeline.stream

    async def complete(ctx: AppContext, spec: ChatSpec) -> Generated:
        await add_meanwhile()
        return await real_complete(ctx, spec)

    async def streamed(ctx: AppContext, spec: ChatSpec) -> AsyncIterator[Event]:
        await add_meanwhile()
        async for event in real_stream(ctx, spec):
            yield event

    monkeypatch.setattr(pipeline, "complete", complete)
    monkeypatch.setattr(pipeline, "stream", streamed)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": [message("echo: mine", "msg_mine")],
                                                 "conversation": conversation["id"], "stream": stream})
    expected = "Duplicate item found with id msg_mine. Remove duplicate items from your input and try again."
    if stream:  # the stream had begun: the error ends it, and the response is stored failed
        events = sse_events(r)
        assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
        assert events[-2]["message"] == expected
    else:
        assert r.status_code == 400 and r.json()["error"]["message"] == expected, r.text
        assert r.json()["error"]["param"] == "input"
        assert await db.prepare("SELECT id FROM responses").all() == []  # nothing of it was stored
    listed = await items_of(client, conversation["id"])
    assert [(i["id"], i["content"][0]["text"]) for i in listed["data"]] == [("msg_mine", "theirs")]


@pytest.mark.parametrize("input_items", [
    [message("echo: again", "msg_old")],  # an id the conversation holds
    [message("echo: one", "msg_new"), message("echo: two", "msg_new")],  # an id twice in the input
    [{"type": "item_reference", "id": "msg_old"}],  # a reference to an item the conversation holds
])
async def test_a_response_repeating_an_id_of_its_conversation_is_a_400_before_the_model_runs(
    client: httpx.AsyncClient, simulator: Simulator, input_items: list[dict[str, Any]]
) -> None:
    conversation = await new_conversation(client, items=[message("old", "msg_old")])
    before = len(simulator.calls)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": input_items,
                                                 "conversation": conversation["id"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input", r.text
    assert r.json()["error"]["message"].startswith("Duplicate item found with id msg_")
    assert len(simulator.calls) == before
    assert [i["id"] for i in (await items_of(client, conversation["id"]))["data"]] == ["msg_old"]


async def test_the_migration_keeps_ids_a_conversation_already_repeats(tmp_path: Path) -> None:
    db = migrated_before(tmp_path, "0006_conversation_item_ids.sql")
    insert = ("INSERT INTO items (id, container, role, item_id, owner, type, data, bytes, status, created_at, "
              "updated_at) VALUES (?, ?, ?, ?, 'o', 'message', '{}', 2, 'ready', 1, 1)")
    rows = [("it1", "conv_1", "item", "msg_x"), ("it2", "conv_1", "item", "msg_x")]  # stored before the fix
    await db.batch([db.prepare(insert).bind(*row) for row in rows])
    assert db.apply_migrations(ROOT / "migrations")[0] == "0006_conversation_item_ids.sql"  # and those after it
    kept = await db.prepare("SELECT id FROM items WHERE item_id = 'msg_x' ORDER BY id").all()
    assert [row["id"] for row in kept] == ["it1", "it2"]
    with pytest.raises(UpstreamError, match="UNIQUE constraint failed: items.container, items.item_id"):  # a third one is refused
        await db.prepare(insert).bind("it3", "conv_1", "item", "msg_x").run()
    with pytest.raises(UpstreamError, match="UNIQUE constraint failed: items.container, items.item_id"):  # whatever it is sent with
        await db.batch([db.prepare(insert).bind("it4", "conv_1", "item", "msg_y"),
                        db.prepare(insert).bind("it5", "conv_1", "item", "msg_y")])
    assert await db.prepare("SELECT id FROM items WHERE item_id = 'msg_y'").all() == []
    # a response's own items, and another conversation's, may share the id
    await db.batch([db.prepare(insert).bind("it6", "resp_1", "input", "msg_x"),
                    db.prepare(insert).bind("it7", "resp_1", "output", "msg_x"),
                    db.prepare(insert).bind("it8", "conv_2", "item", "msg_x")])


async def test_0017_numbers_the_repeats_and_still_holds_an_id_once(tmp_path: Path) -> None:
    db = migrated_before(tmp_path, "0017_fewer_index_entries.sql")
    insert = ("INSERT INTO items (id, container, role, item_id, owner, type, data, bytes, status, created_at, "
              "updated_at, legacy_duplicate) VALUES (?, 'conv_1', 'item', ?, 'o', 'message', '{}', 2, 'ready', 1, 1, ?)")
    rows = [("it1", "msg_x", 0), ("it2", "msg_x", 1), ("it3", "msg_x", 1),  # as 0006 left three copies of an id
            ("it4", "msg_y", 1), ("it5", "msg_y", 1),  # ... and two, once the first of three was deleted
            ("it6", "msg_z", 0)]
    await db.batch([db.prepare(insert).bind(*row) for row in rows])
    assert db.apply_migrations(ROOT / "migrations")[0] == "0017_fewer_index_entries.sql"
    numbered = await db.prepare("SELECT id, legacy_duplicate FROM items ORDER BY id").all()
    assert [(row["id"], row["legacy_duplicate"]) for row in numbered] == [
        ("it1", 0), ("it2", 1), ("it3", 2), ("it4", 1), ("it5", 2), ("it6", 0)]
    for key, item_id in (("it7", "msg_x"), ("it8", "msg_z")):  # an id held is refused still
        with pytest.raises(UpstreamError, match=items.ITEM_ID_TAKEN):
            await db.prepare(insert).bind(key, item_id, 0).run()
    # Applied again (wrangler would not, but the statements must allow it), it changes nothing.
    db.conn.executescript((ROOT / "migrations" / "0017_fewer_index_entries.sql").read_text())
    assert await db.prepare("SELECT id, legacy_duplicate FROM items ORDER BY id").all() == numbered
    indexes = {row["name"] for row in await db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all()}
    assert {"items_conversation_item", "items_referable"} <= indexes
    assert not indexes & {"items_container_item", "items_conversation_item_once", "items_owner_item",
                          "responses_owner_id", "conversations_owner_id"}


async def test_an_id_a_conversation_repeats_is_retrieved_deleted_and_paged_by(
    client: httpx.AsyncClient, db: SQLiteD1
) -> None:
    """An id stored twice before 0006 (numbered by 0017) is found through the conversation's index of ids:
    retrieved and deleted first copy first, named by a cursor, and held until its last copy is deleted."""
    conversation = await new_conversation(client, items=[message("one", "msg_x"), message("after", "msg_after")])
    db.conn.execute(  # the copies, stored right after the first
        "INSERT INTO items (id, container, role, item_id, owner, type, data, bytes, status, created_at, updated_at,"
        " legacy_duplicate) SELECT id || '-' || n, container, role, item_id, owner, type,"
        " replace(data, '\"one\"', '\"copy ' || n || '\"'), bytes, status, created_at, updated_at, n"
        " FROM items, (SELECT 1 AS n UNION ALL SELECT 2) WHERE item_id = 'msg_x'")
    path = f"/v1/conversations/{conversation['id']}/items"
    listed = await items_of(client, conversation["id"], order="asc")
    assert [i["content"][0]["text"] for i in listed["data"]] == ["one", "copy 1", "copy 2", "after"]
    page = await items_of(client, conversation["id"], order="asc", after="msg_x")  # after the first copy
    assert [i["content"][0]["text"] for i in page["data"]] == ["copy 1", "copy 2", "after"]
    for text in ("one", "copy 1", "copy 2"):
        got = await client.get(f"{path}/msg_x")
        assert got.status_code == 200 and got.json()["content"][0]["text"] == text, got.text
        taken = await client.post(path, json={"items": [message("again", "msg_x")]})
        assert taken.status_code == 400 and taken.json()["error"]["param"] == "items", taken.text
        assert (await client.delete(f"{path}/msg_x")).status_code == 200
    assert (await client.get(f"{path}/msg_x")).status_code == 404
    assert (await client.post(path, json={"items": [message("again", "msg_x")]})).status_code == 200
