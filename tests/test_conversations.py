"""``/v1/conversations``: CRUD, items, ownership, and responses that read and append to a conversation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.simulator import Simulator

from .conftest import ADMIN_KEY, OTHER_KEY
from .openapi import assert_matches

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
    conversation = await new_conversation(client, metadata={"topic": "demo"},
                                          items=[{"role": "user", "content": "hello"}])
    assert conversation["id"].startswith("conv_") and conversation["object"] == "conversation"
    path = f"/v1/conversations/{conversation['id']}"
    assert (await client.get(path)).json() == conversation
    updated = (await client.post(path, json={"metadata": {"topic": "new"}})).json()
    assert updated["metadata"] == {"topic": "new"} and (await client.get(path)).json() == updated
    deleted = (await client.delete(path)).json()
    assert deleted == {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}
    assert_matches(deleted, "DeletedConversationResource")
    assert (await client.get(path)).status_code == 404
    assert (await db.prepare("SELECT COUNT(*) AS n FROM items").first()) == {"n": 0}


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


@pytest.mark.parametrize(("body", "param"), [
    ({"items": [{"role": "user", "content": "x"}] * 21}, "items"),
    ({"metadata": {"k" * 65: "v"}}, "metadata"),
    ({"items": [{"type": "item_reference", "id": "msg_1"}]}, "items[0]"),
    ({"items": [{"role": "user"}]}, "items[0].content"),
])
async def test_bad_conversations_are_400s(client: httpx.AsyncClient, body: dict[str, Any], param: str) -> None:
    r = await client.post("/v1/conversations", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text


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
    assert r.status_code == 404 and r.json()["error"]["param"] == "conversation"
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
