"""Stored chat completions (``store: true``): what is stored, streamed or not; the list, retrieve, update,
delete and messages routes; ownership; pagination and filters; errors."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.replies import json_bytes
from openai_workers_ai.repositories import chat_completions as chat_completions_repo
from openai_workers_ai.settings import Settings

from .conftest import ADMIN_KEY, KEY, OTHER_KEY, Clock
from .openapi import assert_matches

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # tools and vision
URL = "/v1/chat/completions"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def messages(text: str = "echo: hi") -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await client.post(URL, json={"model": LLAMA, "messages": messages(), "store": True, **body})
    assert r.status_code == 200, r.text
    created: dict[str, Any] = r.json()
    return created


async def got(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


RECORDED_KEYS = ["object", "id", "model", "created", "request_id", "tool_choice", "usage", "seed", "top_p",
                 "temperature", "presence_penalty", "frequency_penalty", "system_fingerprint", "input_user",
                 "service_tier", "tools", "metadata", "choices", "response_format"]
"""A stored completion's members, in order, as OpenAI answers ``GET /chat/completions/{id}`` (openai/openai-dotnet,
tests/SessionRecords/ChatStoreTests/StoredChatCompletionsWork.json, UpdateChatCompletionWorks.json)."""


def with_refusals(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored completion as the spec reads it: the stored messages OpenAI answers have no ``refusal`` (the
    recordings of :data:`RECORDED_KEYS`), which the spec's ``ChatCompletionResponseMessage`` requires."""
    return {**stored, "choices": [{**c, "message": {**c["message"], "refusal": None}} for c in stored["choices"]]}


def check_stored(stored: dict[str, Any]) -> None:
    """OpenAI's members in its order, and ``CreateChatCompletionResponse`` (what the spec says the GET returns)."""
    assert list(stored) == RECORDED_KEYS, list(stored)
    assert all(list(c["message"]) == ["content", "role", "tool_calls", "function_call"] for c in stored["choices"])
    assert_matches(with_refusals(stored), "CreateChatCompletionResponse")


def check_list(listed: dict[str, Any]) -> None:
    for stored in listed["data"]:
        check_stored(stored)
    assert_matches({**listed, "data": [with_refusals(c) for c in listed["data"]]}, "ChatCompletionList")


def as_listed(completion: dict[str, Any], metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """A stored completion as read back with other metadata."""
    return {**completion, "metadata": metadata or {}}


def check_messages(listed: dict[str, Any]) -> None:
    """``ChatCompletionMessageList``, but for ``role`` and ``refusal``: the spec's schema reuses the assistant's
    response message, whose role is the constant ``assistant`` and which requires ``refusal``, while the list
    holds the request's messages of every role, with no ``refusal`` (OpenAI's own example of the list, and its
    recorded answers: openai/openai-dotnet, tests/SessionRecords/ChatStoreTests/
    GetChatCompletionMessagesWithBasicUsage_PM.json, show a ``user`` message without one)."""
    assert all(m["role"] in ("system", "developer", "user", "assistant", "tool", "function") for m in listed["data"])
    assert_matches({**listed, "data": [{"refusal": None, **m, "role": "assistant"} for m in listed["data"]]},
                   "ChatCompletionMessageList")


async def count(db: SQLiteD1, sql: str) -> int:
    row = await db.prepare(f"SELECT COUNT(*) AS n FROM {sql}").first()
    assert row is not None
    return int(row["n"])


def other(client: httpx.AsyncClient, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=client._transport, base_url="http://testserver",
                             headers={"authorization": f"Bearer {key}"})


# ---- storing ---------------------------------------------------------------------------------


async def test_stored_as_openai_keeps_it_with_its_metadata(client: httpx.AsyncClient) -> None:
    """Not the created object but OpenAI's record of it (:data:`RECORDED_KEYS`): the request's sampling parameters
    (OpenAI's defaults where not sent), usage without details, messages without refusal or annotations."""
    created = await create(client, metadata={"topic": "demo"})
    stored = await got(client, f"{URL}/{created['id']}")
    check_stored(stored)
    assert {k: stored[k] for k in ("id", "model", "created", "service_tier", "system_fingerprint")} == {
        k: created[k] for k in ("id", "model", "created", "service_tier", "system_fingerprint")}
    assert stored["request_id"].startswith("req_") and len(stored["request_id"]) == 36
    assert stored["usage"] == {k: created["usage"][k] for k in ("total_tokens", "completion_tokens", "prompt_tokens")}
    assert (stored["tool_choice"], stored["seed"], stored["tools"], stored["input_user"],
            stored["response_format"]) == (None, None, None, None, None)
    assert (stored["top_p"], stored["temperature"], stored["presence_penalty"], stored["frequency_penalty"]) == (
        1.0, 1.0, 0.0, 0.0)
    assert stored["metadata"] == {"topic": "demo"}
    assert stored["choices"] == [{"index": 0, "message": {"content": "hi", "role": "assistant", "tool_calls": None,
                                                          "function_call": None},
                                  "finish_reason": "stop", "logprobs": None}]


async def test_stored_with_the_requests_parameters_as_sent(client: httpx.AsyncClient) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}}
    created = await create(client, model=SCOUT, tools=[WEATHER], tool_choice="required", seed=7, top_p=0.5,
                           temperature=0.2, presence_penalty=0.1, frequency_penalty=-0.1, user="u1",
                           response_format=fmt, messages=[{"role": "user", "content": 'call:get_weather {"city": "Oslo"}'}])
    stored = await got(client, f"{URL}/{created['id']}")
    check_stored(stored)
    assert {k: stored[k] for k in ("tool_choice", "seed", "top_p", "temperature", "presence_penalty",
                                   "frequency_penalty", "input_user", "tools", "response_format")} == {
        "tool_choice": "required", "seed": 7, "top_p": 0.5, "temperature": 0.2, "presence_penalty": 0.1,
        "frequency_penalty": -0.1, "input_user": "u1", "tools": [WEATHER], "response_format": fmt}
    assert stored["choices"][0]["message"]["tool_calls"] == created["choices"][0]["message"]["tool_calls"]


async def test_without_store_nothing_is_written(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    for store in ({}, {"store": False}):
        r = await client.post(URL, json={"model": LLAMA, "messages": messages(), **store})
        assert r.status_code == 200, r.text
        assert (await client.get(f"{URL}/{r.json()['id']}")).status_code == 404
        streamed = await client.post(URL, json={"model": LLAMA, "messages": messages(), "stream": True, **store})
        assert streamed.status_code == 200
    assert await count(db, "chat_completions") == 0 and await count(db, "items") == 0
    assert (await got(client, URL))["data"] == []


def sse_chunks(r: httpx.Response) -> list[dict[str, Any]]:
    datas = [line[len("data: "):] for line in r.text.splitlines() if line.startswith("data: ")]
    assert datas[-1] == "[DONE]"
    return [json.loads(d) for d in datas[:-1]]


async def test_a_stream_is_stored_as_the_completion_it_makes(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": LLAMA, "messages": messages("echo: one two three"), "store": True,
                                     "stream": True, "n": 2, "metadata": {"k": "v"}})
    assert r.status_code == 200, r.text
    chunks = sse_chunks(r)
    stored = await got(client, f"{URL}/{chunks[0]['id']}")
    check_stored(stored)
    assert stored["object"] == "chat.completion" and stored["created"] == chunks[0]["created"]
    assert stored["metadata"] == {"k": "v"} and stored["usage"]["total_tokens"] > 0
    for index in (0, 1):
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks
                       if c["choices"] and c["choices"][0]["index"] == index)
        choice = stored["choices"][index]
        assert choice["message"]["content"] == text == "one two three"
        assert choice["finish_reason"] == "stop" and choice["index"] == index
    # the same request not streamed is stored as the same object (but for id, created, request_id and metadata)
    whole = await got(client, f"{URL}/{(await create(client, messages=messages('echo: one two three'), n=2))['id']}")
    keys = ("id", "created", "request_id", "metadata")
    assert {k: v for k, v in stored.items() if k not in keys} == {k: v for k, v in whole.items() if k not in keys}


async def test_a_streamed_tool_call_is_stored_with_the_id_the_stream_showed(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": SCOUT, "store": True, "stream": True, "tools": [WEATHER], "messages": [
        {"role": "user", "content": 'call:get_weather {"city": "Paris"}'}]})
    assert r.status_code == 200, r.text
    chunks = sse_chunks(r)
    opened = [call for c in chunks if c["choices"] for call in c["choices"][0]["delta"].get("tool_calls", [])
              if "id" in call]
    assert len(opened) == 1
    stored = await got(client, f"{URL}/{chunks[0]['id']}")
    check_stored(stored)
    (call,) = stored["choices"][0]["message"]["tool_calls"]
    assert call["id"] == opened[0]["id"] and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert stored["choices"][0]["finish_reason"] == "tool_calls"


async def test_a_failed_generation_stores_nothing(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    r = await client.post(URL, json={"model": LLAMA, "messages": messages("fail:500"), "store": True})
    assert r.status_code == 502, r.text
    r = await client.post(URL, json={"model": LLAMA, "messages": messages("fail-mid:500"), "store": True,
                                     "stream": True})
    assert r.status_code == 200 and "[DONE]" not in r.text and "error" in r.text, r.text
    assert await count(db, "chat_completions") == 0 and await count(db, "items") == 0


# ---- messages --------------------------------------------------------------------------------


TOOL_TURN = [{"role": "developer", "content": "Be brief.", "name": "rules"},
             {"role": "user", "content": [{"type": "text", "text": "echo: "}, {"type": "text", "text": "hi"}]},
             {"role": "assistant", "content": None, "tool_calls": [
                 {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
             {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
             {"role": "user", "content": "echo: ok"}]
"""A tool round trip's messages: each role, a name, a text in parts, a call and its output."""


async def test_messages_are_listed_in_order_with_ids(client: httpx.AsyncClient) -> None:
    sent = TOOL_TURN
    created = await create(client, model=SCOUT, messages=sent, tools=[WEATHER])
    path = f"{URL}/{created['id']}/messages"
    listed = await got(client, path)
    check_messages(listed)
    data = listed["data"]
    assert [m["id"] for m in data] == [f"{created['id']}-{i}" for i in range(5)]
    assert [m["role"] for m in data] == ["developer", "user", "assistant", "tool", "user"]
    # OpenAI's members in its order (openai/openai-dotnet, tests/SessionRecords/ChatStoreTests/
    # GetChatCompletionMessagesWithBasicUsage_PM.json): no refusal but an assistant's own
    assert list(data[0].items()) == [("id", f"{created['id']}-0"), ("role", "developer"), ("content", "Be brief."),
                                     ("content_parts", None), ("name", "rules")]
    assert data[1]["content"] == "echo: hi" and data[1]["content_parts"] == sent[1]["content"]
    assert data[2]["content"] is None and data[2]["tool_calls"] == sent[2]["tool_calls"]
    assert data[3]["tool_call_id"] == "call_1" and data[3]["content"] == "sunny"
    assert (listed["first_id"], listed["last_id"], listed["has_more"]) == (data[0]["id"], data[-1]["id"], False)
    # pages
    first = await got(client, path, limit=2)
    assert [m["id"] for m in first["data"]] == [m["id"] for m in data[:2]] and first["has_more"] is True
    rest = await got(client, path, limit=10, after=first["last_id"])
    assert [m["id"] for m in rest["data"]] == [m["id"] for m in data[2:]] and rest["has_more"] is False
    backwards = await got(client, path, order="desc", limit=2)
    assert [m["id"] for m in backwards["data"]] == [data[4]["id"], data[3]["id"]]
    r = await client.get(path, params={"after": "msg_nope"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "after"


async def test_a_large_message_lives_in_r2_and_goes_with_the_completion(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2
) -> None:
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400).decode()
    sent = [{"role": "user", "content": [{"type": "text", "text": "what is it?"},
                                         {"type": "image_url", "image_url": {"url": image}}]}]
    created = await create(client, model=SCOUT, messages=sent)
    completion, kept = await columns(db, created["id"])
    assert completion is not None and kept is None  # the row keeps the completion, not the message
    assert await count(db, "items") == 1
    assert await count(db, "items WHERE object_key IS NOT NULL AND status = 'ready'") == 1
    assert len(await bucket.list("items/", 100)) == 1
    listed = await got(client, f"{URL}/{created['id']}/messages")
    assert listed["data"][0]["content_parts"][1]["image_url"]["url"] == image
    check_messages(listed)
    r = await client.delete(f"{URL}/{created['id']}")
    assert r.status_code == 200, r.text
    assert await count(db, "items") == 0 and await count(db, "chat_completions") == 0
    assert await bucket.list("items/", 100) == []


# ---- list ------------------------------------------------------------------------------------


async def test_list_pages_in_created_order(backends: Backends, settings: Settings, clock: Clock) -> None:
    transport = httpx.ASGITransport(app=create_app(backends, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        ids = []
        for _ in range(5):
            ids.append((await create(c))["id"])
            clock.now += 1
        # newest first when no order is named, as OpenAI answers (openai/openai-dotnet, tests/SessionRecords/
        # ChatStoreTests/GetChatCompletionsWithEmptyOptionsAsync.json), though the spec says asc
        listed = await got(c, URL)
        check_list(listed)
        assert [x["id"] for x in listed["data"]] == ids[::-1] and listed["has_more"] is False
        desc = await got(c, URL, limit=3)
        assert [x["id"] for x in desc["data"]] == ids[::-1][:3] and desc["has_more"] is True
        after = await got(c, URL, after=ids[2])
        assert [x["id"] for x in after["data"]] == [ids[1], ids[0]]
        first = await got(c, URL, limit=2, order="asc")
        assert [x["id"] for x in first["data"]] == ids[:2] and first["has_more"] is True
        assert (first["first_id"], first["last_id"]) == (ids[0], ids[1])
        second = await got(c, URL, limit=2, order="asc", after=first["last_id"])
        assert [x["id"] for x in second["data"]] == ids[2:4] and second["has_more"] is True
        assert [x["id"] for x in (await got(c, URL, order="asc", after=second["last_id"]))["data"]] == ids[4:]
        last = await got(c, URL, order="asc", after=ids[-1])  # the last one: an empty page, not an unknown cursor
        assert last == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
        assert_unknown_cursor(await c.get(URL, params={"after": "chatcmpl-unknown"}), "after", "chatcmpl-unknown")
        assert_unknown_cursor(await c.get(URL, params={"before": "chatcmpl-unknown"}), "before", "chatcmpl-unknown")
        assert (await c.delete(f"{URL}/{ids[1]}")).status_code == 200  # a deleted one is no place in the list
        assert_unknown_cursor(await c.get(URL, params={"after": ids[1]}), "after", ids[1])


def assert_unknown_cursor(r: httpx.Response, name: str, cursor: str) -> None:
    """A cursor that names no completion of the caller's is a 400 naming it, as the other cursor lists answer."""
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"message": f"Invalid '{name}': no chat completion with id '{cursor}' in this list.",
                                 "type": "invalid_request_error", "param": name, "code": None}


async def test_completions_made_in_the_same_second_page_by_id(client: httpx.AsyncClient) -> None:
    ids = sorted([(await create(client))["id"] for _ in range(4)])
    listed = await got(client, URL, order="asc")
    if len({x["created"] for x in listed["data"]}) == 1:  # the wall clock did not tick meanwhile
        assert [x["id"] for x in listed["data"]] == ids
    seen: list[str] = []
    after = None
    while True:
        page = await got(client, URL, limit=1, **({"after": after} if after else {}))
        seen += [x["id"] for x in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert sorted(seen) == ids and len(seen) == 4


async def test_list_filters_by_model_and_metadata(client: httpx.AsyncClient) -> None:
    a = await create(client, metadata={"team": "a", "env": "prod"})
    b = await create(client, model=SCOUT, metadata={"team": "b", "env": "prod"})
    c = await create(client, metadata={"team": "a", "env": "dev"})

    async def ids(**params: Any) -> list[str]:
        return sorted(x["id"] for x in (await got(client, URL, **params))["data"])

    assert await ids(model=SCOUT) == [b["id"]]
    assert await ids(model=LLAMA) == sorted([a["id"], c["id"]])
    assert await ids(model="gpt-4o-mini") == [b["id"]]  # an alias: the model it stands for (Scout)
    assert await ids(model="no-such-model") == [] and await ids(model="@cf/baai/bge-m3") == []
    assert await ids(**{"metadata[team]": "a"}) == sorted([a["id"], c["id"]])
    assert await ids(**{"metadata[team]": "a", "metadata[env]": "prod"}) == [a["id"]]
    assert await ids(**{"metadata[env]": "prod"}, model=SCOUT) == [b["id"]]
    assert await ids(**{"metadata[team]": "z"}) == []
    assert await ids(**{"metadata[nope]": "a"}) == []
    listed = await got(client, URL, **{"metadata[env]": "prod"})
    check_list(listed)
    assert {x["id"]: x["metadata"] for x in listed["data"]} == {
        a["id"]: {"team": "a", "env": "prod"}, b["id"]: {"team": "b", "env": "prod"}}


@pytest.mark.parametrize(("params", "param"), [
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"), ({"order": "up"}, "order"),
    ({"metadata[" + "k" * 65 + "]": "v"}, "metadata"), ({"metadata[k]": "v" * 513}, "metadata.k"),
    ({f"metadata[k{i}]": "v" for i in range(17)}, "metadata"),
])
async def test_list_errors_are_400s(client: httpx.AsyncClient, params: dict[str, str], param: str) -> None:
    r = await client.get(URL, params=params)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]
    assert set(error) == {"message", "type", "param", "code"}


# ---- update, delete, errors ------------------------------------------------------------------


async def test_update_sets_metadata_only(client: httpx.AsyncClient) -> None:
    created = await create(client, metadata={"a": "1"})
    path = f"{URL}/{created['id']}"
    before = await got(client, path)
    r = await client.post(path, json={"metadata": {"b": "2"}})
    assert r.status_code == 200, r.text
    assert r.json() == as_listed(before, {"b": "2"}) == await got(client, path)
    check_stored(r.json())
    assert [x["id"] for x in (await got(client, URL, **{"metadata[b]": "2"}))["data"]] == [created["id"]]
    assert (await got(client, URL, **{"metadata[a]": "1"}))["data"] == []
    cleared = await client.post(path, json={"metadata": None})
    assert cleared.status_code == 200 and cleared.json()["metadata"] == {}
    for body, param in (({"metadata": {"a": "1"}, "model": LLAMA}, "model"), ({}, "metadata"),
                        ({"metadata": {"a": 1}}, "metadata.a"), ({"metadata": {"k" * 65: "v"}}, "metadata"),
                        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata")):
        bad = await client.post(path, json=body)
        assert bad.status_code == 400, (body, bad.text)
        assert bad.json()["error"]["param"] == param, (body, bad.text)
    bad = await client.post(path, content=b"{", headers={"content-type": "application/json"})
    assert bad.status_code == 400
    assert (await got(client, path))["metadata"] == {}


async def test_delete(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    created = await create(client)
    path = f"{URL}/{created['id']}"
    r = await client.delete(path)
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "chat.completion.deleted", "id": created["id"], "deleted": True}
    assert_matches(r.json(), "ChatCompletionDeleted")
    for method in ("GET", "POST", "DELETE"):
        assert (await client.request(method, path, json={"metadata": {}})).status_code == 404
    assert (await client.get(f"{path}/messages")).status_code == 404
    assert await count(db, "chat_completions") == 0 and await count(db, "items") == 0


@pytest.mark.parametrize("completion_id", ["chatcmpl-doesnotexist0000000000", "nope", "resp_" + "0" * 48])
async def test_unknown_ids_are_404s(client: httpx.AsyncClient, completion_id: str) -> None:
    """As OpenAI's (openai/openai-dotnet, tests/SessionRecords/ChatStoreTests/StoredChatCompletionsWork.json and
    GetChatCompletionMessagesWithBasicUsage_PM.json: GET of the completion and of its messages)."""
    for method, suffix in (("GET", ""), ("POST", ""), ("DELETE", ""), ("GET", "/messages")):
        r = await client.request(method, f"{URL}/{completion_id}{suffix}", json={"metadata": {}})
        assert r.status_code == 404, r.text
        assert r.json() == {"error": {"message": f"Completion {completion_id} not found",
                                      "type": "invalid_request_error", "param": "completion_id", "code": "not_found"}}


async def test_a_response_item_reference_does_not_reach_a_stored_message(client: httpx.AsyncClient) -> None:
    created = await create(client)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": f"{created['id']}-1"}]})
    assert r.status_code == 404, r.text  # as any id it never made: the message is no Responses item
    assert r.json()["error"]["param"] == "input[0].id"


# ---- ownership -------------------------------------------------------------------------------


async def test_another_key_sees_nothing_an_admin_key_sees_all(client: httpx.AsyncClient) -> None:
    mine = await got(client, f"{URL}/{(await create(client, metadata={'k': 'v'}))['id']}")
    async with other(client, OTHER_KEY) as theirs, other(client, ADMIN_KEY) as admin:
        their_own = await create(theirs)
        path = f"{URL}/{mine['id']}"
        for method, suffix in (("GET", ""), ("POST", ""), ("DELETE", ""), ("GET", "/messages")):
            r = await theirs.request(method, f"{path}{suffix}", json={"metadata": {}})
            assert r.status_code == 404, (method, suffix, r.text)
        assert [x["id"] for x in (await got(theirs, URL))["data"]] == [their_own["id"]]
        assert [x["id"] for x in (await got(client, URL))["data"]] == [mine["id"]]
        assert sorted(x["id"] for x in (await got(admin, URL))["data"]) == sorted([mine["id"], their_own["id"]])
        assert (await got(admin, URL, **{"metadata[k]": "v"}))["data"][0]["id"] == mine["id"]
        assert (await got(admin, path)) == as_listed(mine, {"k": "v"})
        assert len((await got(admin, f"{path}/messages"))["data"]) == 2
        updated = await admin.post(path, json={"metadata": {"by": "admin"}})
        assert updated.status_code == 200 and (await got(client, path))["metadata"] == {"by": "admin"}
        assert (await admin.delete(path)).status_code == 200
    assert (await client.get(path)).status_code == 404


async def test_another_keys_id_as_a_cursor_is_unknown(backends: Backends, settings: Settings, clock: Clock) -> None:
    """``after`` / ``before`` name the caller's own completions: another key's id gives the 400 an unknown id
    gives, not the caller's completions made after (or before) it, which would tell that it exists and when it
    was made."""
    transport = httpx.ASGITransport(app=create_app(backends, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as mine:
        theirs, admin = other(mine, OTHER_KEY), other(mine, ADMIN_KEY)
        early = await create(mine)
        clock.now += 10
        their_id = (await create(theirs))["id"]
        clock.now += 10
        late = await create(mine)
        assert_unknown_cursor(await mine.get(URL, params={"after": their_id}), "after", their_id)
        assert_unknown_cursor(await mine.get(URL, params={"after": their_id, "order": "asc"}), "after", their_id)
        assert_unknown_cursor(await mine.get(URL, params={"after": "chatcmpl-unknown"}), "after", "chatcmpl-unknown")
        assert [x["id"] for x in (await got(mine, URL, after=late["id"]))["data"]] == [early["id"]]
        assert [x["id"] for x in (await got(mine, URL, after=early["id"], order="asc"))["data"]] == [late["id"]]
        assert [x["id"] for x in (await got(admin, URL, after=their_id))["data"]] == [early["id"]]
        await theirs.aclose()
        await admin.aclose()


# ---- what the row keeps ----------------------------------------------------------------------


async def columns(db: SQLiteD1, completion_id: str) -> tuple[Any, Any]:
    """The completion object and the messages its row keeps (None: they are items)."""
    row = await db.prepare("SELECT completion, messages FROM chat_completions WHERE id = ?").bind(completion_id).first()
    assert row is not None
    return tuple(None if row[name] is None else json.loads(row[name]) for name in ("completion", "messages"))


BODIES: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "echo: one"}]},
    {"model": SCOUT, "messages": TOOL_TURN, "tools": [WEATHER], "metadata": {"team": "a"}},
    {"messages": messages("echo: three"), "metadata": {"team": "b"}, "stream": True},
    {"messages": messages("echo: four"), "n": 2, "metadata": {"team": "a", "env": "dev"}},
]
"""Completions of 1, 5 and 2 messages, of two models, streamed or not, with and without metadata."""


async def reads(client: httpx.AsyncClient, ids: list[str]) -> list[Any]:
    """Every read a client makes of the stored completions ``ids`` (made in that order, a second apart): each one,
    its messages on every page (each ``order``, ``limit``, ``after`` and ``before`` of its ids and of none), and
    the list on every page and filter."""
    out: list[Any] = []

    async def answer(path: str, params: dict[str, Any]) -> None:
        r = await client.get(path, params=params)
        out.append((path, params, r.status_code, r.json()))

    for completion_id in ids:
        await answer(f"{URL}/{completion_id}", {})
        path = f"{URL}/{completion_id}/messages"
        message_ids = [m["id"] for m in (await got(client, path))["data"]]
        cursors = [None, *message_ids, f"{completion_id}-9", ids[0] if completion_id != ids[0] else "nope"]
        for order in (None, "asc", "desc"):
            for limit in (None, 1, 2, 3):
                for after in cursors:
                    for before in cursors:
                        await answer(path, {name: value for name, value in (
                            ("order", order), ("limit", limit), ("after", after), ("before", before))
                            if value is not None})
    for order in (None, "asc", "desc"):
        for limit in (None, 1, 3):
            for after in (None, *ids, "chatcmpl-unknown"):
                for before in (None, ids[0], ids[-1]):
                    await answer(URL, {name: value for name, value in (
                        ("order", order), ("limit", limit), ("after", after), ("before", before)) if value is not None})
    for filters in ({"model": LLAMA}, {"model": SCOUT}, {"model": "gpt-4o-mini"}, {"metadata[team]": "a"},
                    {"metadata[team]": "a", "metadata[env]": "dev"}, {"metadata[team]": "a", "model": LLAMA},
                    {"metadata[team]": "z"}):
        for cursor in ({}, {"after": ids[1]}, {"after": ids[1], "order": "asc", "limit": 1}):
            await answer(URL, {**filters, **cursor})
    return out


async def stored_and_read(client: httpx.AsyncClient, clock: Clock, db: SQLiteD1) -> list[Any]:
    """The completions of :data:`BODIES` stored, read (:func:`reads`), updated and deleted: every answer."""
    out: list[Any] = []
    ids = []
    for body in BODIES:
        r = await client.post(URL, json={"model": LLAMA, "store": True, **body})
        assert r.status_code == 200, r.text
        answer = sse_chunks(r) if body.get("stream") else r.json()
        ids.append(answer[0]["id"] if body.get("stream") else answer["id"])
        out.append(answer)
        clock.now += 1
    out += await reads(client, ids)
    updated = await client.post(f"{URL}/{ids[1]}", json={"metadata": {"team": "c"}})
    out += [updated.json(), await got(client, URL, **{"metadata[team]": "c"}), await got(client, f"{URL}/{ids[1]}")]
    for completion_id in ids:
        out.append((await client.delete(f"{URL}/{completion_id}")).json())
        out += [(r.status_code, r.json()) for r in (await client.get(f"{URL}/{completion_id}"),
                                                   await client.get(f"{URL}/{completion_id}/messages"))]
    assert await count(db, "chat_completions") == 0 and await count(db, "items") == 0
    out.append(await got(client, URL))
    return out


def without_ids(answers: list[Any]) -> list[str]:
    """``answers`` in JSON, the completions' ids named in the order they first appear, without times, request ids
    or a stream's random ``obfuscation``."""
    names: dict[str, str] = {}
    out = []
    for answer in answers:
        text = json.dumps(answer, sort_keys=True)
        text = re.sub(r"chatcmpl-[A-Za-z0-9]{24}", lambda m: names.setdefault(m.group(0), f"chatcmpl#{len(names)}"),
                      text)
        out.append(re.sub(r'"(created|request_id|obfuscation)": ("[^"]*"|\d+)', r'"\1": 0', text))
    return out


async def test_the_row_keeps_the_completion_and_its_messages(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    """``migrations/0024_chat_completion_in_row.sql``: no row of items, the completion and its messages read there."""
    created = await create(client, model=SCOUT, messages=TOOL_TURN, tools=[WEATHER], metadata={"k": "v"})
    completion, kept = await columns(db, created["id"])
    assert await count(db, "items") == 0
    stored = await got(client, f"{URL}/{created['id']}")
    assert {**completion, "metadata": stored["metadata"]} == stored and list(completion) == list(stored)
    assert kept == (await got(client, f"{URL}/{created['id']}/messages"))["data"]
    assert [m["id"] for m in kept] == [f"{created['id']}-{i}" for i in range(len(TOOL_TURN))]
    assert (await got(client, URL))["data"] == [stored]


async def test_keeping_them_in_the_row_changes_nothing_a_client_sees(
        backends: Backends, settings: Settings, clock: Clock, db: SQLiteD1, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same completions kept in their rows, then as rows of items (as before 0024: ``keeps`` answering no):
    the same answers to the create, the retrieve, every page of messages and of the list, the update and the
    delete, but for the ids."""
    transport = httpx.ASGITransport(app=create_app(backends, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        kept = await stored_and_read(c, clock, db)
        monkeypatch.setattr(chat_completions_repo, "keeps", lambda encoded: False)
        as_rows = await stored_and_read(c, clock, db)
    assert len(kept) > 1000
    assert without_ids(kept) == without_ids(as_rows)


async def test_completions_stored_before_0024_are_read_as_before(
        backends: Backends, settings: Settings, clock: Clock, db: SQLiteD1, bucket: FolderR2) -> None:
    """Rows written as before 0024 (the row's new columns NULL; the completion and its messages rows of items,
    inserted by the SQL that wrote them then) answer every read as the same completions kept in their rows, and
    are deleted with their items."""
    transport = httpx.ASGITransport(app=create_app(backends, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        ids = []
        for body in BODIES:
            r = await c.post(URL, json={"model": LLAMA, "store": True, **body})
            ids.append(sse_chunks(r)[0]["id"] if body.get("stream") else r.json()["id"])
            clock.now += 1
        kept = await reads(c, ids)
        for completion_id in ids[1:]:
            await stored_the_old_way(db, completion_id)
        assert await count(db, "chat_completions WHERE completion IS NULL AND messages IS NULL") == 3
        assert await count(db, "items") == (1 + 5) + (1 + 2) + (1 + 2)  # each one's object and messages
        assert await reads(c, ids) == kept
        for completion_id in ids:
            assert (await c.delete(f"{URL}/{completion_id}")).status_code == 200
        assert await count(db, "chat_completions") == 0 and await count(db, "items") == 0


async def stored_the_old_way(db: SQLiteD1, completion_id: str) -> None:
    """The completion's row written again as the code before 0024 wrote it: its five columns, and its completion
    object and messages as rows of items (``migrations/0011_chat_completions.sql``)."""
    row = await db.prepare("SELECT * FROM chat_completions WHERE id = ?").bind(completion_id).first()
    assert row is not None and row["completion"] is not None and row["messages"] is not None
    insert = ("INSERT INTO items (id, container, role, item_id, owner, type, data, object_key, bytes, status,"
              " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, 'ready', ?, ?)")
    values = [("completion", json.loads(row["completion"])), *(("message", m) for m in json.loads(row["messages"]))]
    await db.batch([
        db.prepare("DELETE FROM chat_completions WHERE id = ?").bind(completion_id),
        db.prepare("INSERT INTO chat_completions (id, owner, model, metadata, created_at) VALUES (?, ?, ?, ?, ?)").bind(
            completion_id, row["owner"], row["model"], row["metadata"], row["created_at"]),
        *(db.prepare(insert).bind(f"it{row['created_at'] * 1_000_000 + i:014x}{completion_id[-10:]}", completion_id,
                                  role, str(item.get("id", "")), row["owner"], str(item.get("type", "")),
                                  json_bytes(item).decode(), len(json_bytes(item)), row["created_at"],
                                  row["created_at"])
          for i, (role, item) in enumerate(values)),
    ])


async def test_messages_too_large_together_are_items(client: httpx.AsyncClient, db: SQLiteD1,
                                                     bucket: FolderR2) -> None:
    """Messages of more than MESSAGES_MAX of JSON together, each small, are rows of items (none in R2); the
    completion is kept all the same."""
    text = "x" * 60_000  # each message's JSON under INLINE_MAX
    sent = [{"role": "user", "content": text} for _ in range(chat_completions_repo.MESSAGES_MAX // 60_000)]
    sent.append({"role": "user", "content": "echo: " + text})
    created = await create(client, messages=sent)
    completion, kept = await columns(db, created["id"])
    assert completion is not None and kept is None
    assert await count(db, "items WHERE role = 'message' AND object_key IS NULL") == len(sent)
    assert await bucket.list("items/", 100) == []
    listed = await got(client, f"{URL}/{created['id']}/messages", limit=100)
    assert [m["content"] for m in listed["data"]] == [m["content"] for m in sent]
    assert (await client.delete(f"{URL}/{created['id']}")).status_code == 200
    assert await count(db, "items") == 0


async def test_a_completion_too_large_for_the_row_is_an_item(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    """A completion object of more than INLINE_MAX of JSON is an item (its messages kept all the same); the
    retrieve and the list read it there."""
    created = await create(client, messages=messages("echo: " + "y" * 40_000), n=2, metadata={"k": "v"})
    completion, kept = await columns(db, created["id"])
    assert completion is None and kept is not None and len(kept) == 2
    assert await count(db, "items WHERE role = 'completion'") == 1 and await count(db, "items") == 1
    stored = await got(client, f"{URL}/{created['id']}")
    assert [c["message"]["content"] for c in stored["choices"]] == ["y" * 40_000] * 2
    assert (await got(client, URL))["data"] == [stored] == (await got(client, URL, **{"metadata[k]": "v"}))["data"]
    assert (await client.delete(f"{URL}/{created['id']}")).status_code == 200
    assert await count(db, "items") == 0 and await count(db, "chat_completions") == 0


async def test_a_kept_completion_is_one_statement_to_store_read_and_delete(client: httpx.AsyncClient,
                                                                           db: SQLiteD1) -> None:
    """Its row alone: stored by one INSERT (a batch of one statement: no BEGIN and COMMIT), retrieved by the read
    of its row, deleted by one DELETE (no items to look for)."""
    sent: list[tuple[str, ...]] = []
    db.conn.set_trace_callback(lambda sql: sent.append(
        (sql.split()[0], *re.findall(r"\b(?:FROM|INTO|UPDATE) (\w+)", sql))))
    created = await create(client)
    assert sent == [("INSERT", "chat_completions")]
    for method, statements in (("GET", [("SELECT", "chat_completions")]),
                               ("DELETE", [("SELECT", "chat_completions"), ("DELETE", "chat_completions")])):
        sent.clear()
        assert (await client.request(method, f"{URL}/{created['id']}")).status_code == 200
        assert [sql for sql in sent if sql not in (("BEGIN",), ("COMMIT",))] == statements
