"""``/v1/responses`` in process: create (JSON and SSE), the Response object, stored responses, input items,
chains, tools, structured output, images and files, truncation, input_tokens, compact, errors, ownership."""

from __future__ import annotations

import base64
import json
import random
import re
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.replies import json_bytes
from openai_workers_ai.repositories import items as items_repo
from openai_workers_ai.repositories import responses as responses_repo
from openai_workers_ai.routes import responses as responses_route
from openai_workers_ai.runner import responses as runner
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.translate import response_objects as objects
from openai_workers_ai.workers_ai import spec

from .conftest import ADMIN_KEY, KEY, OTHER_KEY
from .images_util import rgba_png
from .openapi import assert_matches
from .responses_util import checked, left_before_it_began, obfuscated_kinds, sse_events

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # tools, vision, tool_choice
HERMES = "@hf/nousresearch/hermes-2-pro-mistral-7b"  # tools; a 24,000-token context window
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("model", LLAMA)
    r = await client.post("/v1/responses", json=body)
    assert r.status_code == 200, r.text
    response: dict[str, Any] = r.json()
    assert_matches(response, "Response")
    return response


def text_of(response: dict[str, Any]) -> str:
    """What the official client's ``output_text`` gives."""
    return "".join(p["text"] for item in response["output"] if item["type"] == "message"
                   for p in item["content"] if p["type"] == "output_text")


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert_matches(r.json(), "ErrorResponse")
    error: dict[str, Any] = r.json()["error"]
    return error


# ---- create ----------------------------------------------------------------------------------


async def test_a_response_is_openais_object_and_is_stored(client: httpx.AsyncClient) -> None:
    response = await create(client, input="echo: Hello there", instructions="Be brief.", metadata={"k": "v"},
                            temperature=0.5, user="u-1", prompt_cache_key="pc")
    assert response["id"].startswith("resp_") and response["object"] == "response"
    assert response["status"] == "completed" and response["error"] is None and response["incomplete_details"] is None
    assert text_of(response) == "Hello there"
    assert response["model"] == LLAMA and response["instructions"] == "Be brief."
    assert response["metadata"] == {"k": "v"} and response["temperature"] == 0.5 and response["user"] == "u-1"
    assert response["store"] is True and response["background"] is False and response["tool_choice"] == "auto"
    usage = response["usage"]
    assert usage["output_tokens"] == 2 and usage["total_tokens"] == usage["input_tokens"] + 2
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()
    assert stored == response


RECORDED_MEMBERS = {
    "id", "object", "created_at", "status", "background", "completed_at", "error", "frequency_penalty",
    "incomplete_details", "instructions", "max_output_tokens", "max_tool_calls", "model", "moderation", "output",
    "parallel_tool_calls", "presence_penalty", "previous_response_id", "prompt_cache_key", "prompt_cache_retention",
    "reasoning", "safety_identifier", "service_tier", "store", "temperature", "text", "tool_choice", "tool_usage",
    "tools", "top_logprobs", "top_p", "truncation", "usage", "user", "metadata"}
"""The members of every Response OpenAI sent in a capture of its traffic of 2026-09-17 (gpt-4o-mini: a plain
response, its ``response.created`` / ``response.completed`` events, a queued background response), also in
pydantic/pydantic-ai's ``tests/models/cassettes/test_openai_responses/`` (e.g. ``test_openai_responses_gpt_5_6_
reasoning_off_keeps_sampling_params.yaml``, 2026-07): ``frequency_penalty`` / ``presence_penalty`` 0.0,
``moderation``, ``user`` and (until generated) ``usage`` null, ``tool_usage`` at zero, and no ``conversation``
unless the response belongs to one (``test_openai_conversation_id_streaming_provider_details.yaml``, 2026-04)."""
TOOL_USAGE = {"image_gen": {"input_tokens": 0, "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                            "output_tokens": 0, "output_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                            "total_tokens": 0},
              "web_search": {"num_requests": 0}}


def assert_recorded_members(response: dict[str, Any], *, generated: bool, conversation: bool = False) -> None:
    assert set(response) == RECORDED_MEMBERS | ({"conversation"} if conversation else set()), set(response) ^ RECORDED_MEMBERS
    assert response["frequency_penalty"] == 0.0 and response["presence_penalty"] == 0.0
    assert isinstance(response["frequency_penalty"], float) and isinstance(response["presence_penalty"], float)
    assert response["moderation"] is None and response["tool_usage"] == TOOL_USAGE
    assert (response["usage"] is not None) is generated
    assert_matches(response, "Response")


async def test_every_response_has_the_members_openai_sends(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    body = {"model": LLAMA, "input": "echo: hi"}
    made = await create(client, **body)
    assert_recorded_members(made, generated=True)
    assert made["user"] is None
    # usage's members in OpenAI's order (openai/openai-dotnet tests/SessionRecords/ResponseStoreTests/
    # GetInputItemsWithCombinedOptions.json, 2026-08)
    assert list(made["usage"]) == ["input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details",
                                   "total_tokens"]
    assert list(made["usage"]["input_tokens_details"]) == ["cache_write_tokens", "cached_tokens"]
    # prompt_cache_retention "in_memory" when not sent (the same recording), as sent otherwise
    assert made["prompt_cache_retention"] == "in_memory"
    assert (await create(client, **body, prompt_cache_retention="24h"))["prompt_cache_retention"] == "24h"
    assert_recorded_members((await client.get(f"/v1/responses/{made['id']}")).json(), generated=True)
    events = sse_events(await client.post("/v1/responses", json={**body, "stream": True}))
    for event in events:
        if "response" in event:
            assert_recorded_members(event["response"], generated=event is events[-1])
    queued = await create(client, **body, background=True)
    assert queued["status"] == "queued"
    assert_recorded_members(queued, generated=False)
    assert_recorded_members((await client.get(f"/v1/responses/{queued['id']}")).json(), generated=False)
    conversation = (await client.post("/v1/conversations", json={})).json()["id"]
    within = await create(client, **body, conversation=conversation)
    assert_recorded_members(within, generated=True, conversation=True)
    assert within["conversation"] == {"id": conversation}
    # A response stored before its echo held ``user``: null all the same
    await db.prepare("UPDATE responses SET request = json_remove(request, '$.user') WHERE id = ?").bind(made["id"]).run()
    assert (await client.get(f"/v1/responses/{made['id']}")).json()["user"] is None


async def test_service_tier_and_reasoning_as_openai_echoes_them(client: httpx.AsyncClient, jobs: Any,
                                                              app: Any) -> None:
    """``service_tier`` is "auto" while a response waits or is generated, "default" once done (a capture of
    api.openai.com of 2026-09-17: "service_tier flips from auto in response.created to default in
    response.completed", and a queued background response's is "auto"; pydantic/pydantic-ai's
    ``test_background_mode_vcr.yaml``, 2026-02, the same for a GET while queued / in progress / completed).
    ``reasoning`` has ``context`` (null unless sent: ``{"context":null,"effort":null,"summary":null}`` for
    gpt-4o-mini in that capture)."""
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", "stream": True}))
    assert [e["response"]["service_tier"] for e in events if "response" in e] == ["auto", "auto", "default"]
    assert events[0]["response"]["reasoning"] == {"context": None, "effort": None, "summary": None}
    queued = await create(client, input="hi", background=True)
    assert queued["service_tier"] == "auto"
    assert (await client.get(f"/v1/responses/{queued['id']}")).json()["service_tier"] == "auto"
    await jobs.drain(app.state.ctx)
    done = (await client.get(f"/v1/responses/{queued['id']}")).json()
    assert done["status"] == "completed" and done["service_tier"] == "default"
    made = await create(client, model="@cf/qwen/qwen3-30b-a3b-fp8", input="hi",
                        reasoning={"context": "all_turns", "effort": "low"})
    assert made["reasoning"] == {"context": "all_turns", "effort": "low", "summary": None}
    assert (await client.get(f"/v1/responses/{made['id']}")).json()["reasoning"] == made["reasoning"]


@pytest.mark.parametrize("body", [
    {"reasoning": {"context": "auto", "effort": "low", "summary": "auto", "mode": "standard"}},
    {"reasoning": {"mode": "some-newer-mode"}},  # the client's Union[str, Literal['standard', 'pro']]
    {"text": {"format": {"type": "text"}, "verbosity": "low"}},
    {"text": {"format": {"type": "json_object"}}, "input": "answer in json"},
    {"text": {"format": {"type": "json_schema", "name": "s", "description": "d", "strict": True, "schema": {
        "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}}}},
    {"stream": True, "stream_options": {"include_obfuscation": False}},
    {"prompt_cache_options": {"comparison_response_id": "resp_1", "mode": "explicit", "prewarm": False, "ttl": "12h"}},
    {"context_management": [{"type": "compaction", "compact_threshold": 1000}, {"type": "compaction"}]},
    {"input": [{"role": "user", "content": "hi"}, {"type": "configuration_update", "id": "cfg_1",
                                                    "reasoning": {"effort": "high"}, "text": {"format": {
                                                        "type": "json_schema", "name": "s", "description": "d",
                                                        "strict": True, "schema": {"type": "object", "properties": {},
                                                                                  "additionalProperties": False}}}}]},
    {"input": [{"role": "user", "content": "hi"}, {"type": "configuration_update", "text": {"format": {
        "type": "text"}}}]},
])
async def test_every_key_the_clients_types_list_is_taken(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Unknown keys inside reasoning, text, text.format, stream_options, prompt_cache_options, context_management
    entries and configuration_update items are refused; each key openai-python 3.63's Reasoning,
    ResponseTextConfigParam (its three format types), StreamOptions, PromptCacheOptions, ContextManagement and
    ResponseConfigurationUpdateItemParamParam list is still taken."""
    r = await client.post("/v1/responses", json={"model": "@cf/qwen/qwen3-30b-a3b-fp8", "input": "hi", **body})
    assert r.status_code == 200, r.text


async def test_penalties_reach_the_model_and_are_echoed(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """``frequency_penalty`` / ``presence_penalty``: OpenAI's Responses API takes them (TAKEN in tests/spec/rules.py);
    passed to the model as chat completions pass them, and echoed as sent (0.0 when not: the recorded members)."""
    response = await create(client, input="echo: again", frequency_penalty=0.5, presence_penalty=-1.25)
    assert text_of(response) == "again"
    inputs = simulator.calls[-1][1]
    assert inputs["frequency_penalty"] == 0.5 and inputs["presence_penalty"] == -1.25
    assert response["frequency_penalty"] == 0.5 and response["presence_penalty"] == -1.25
    members = list(response)  # where OpenAI puts them, as when not sent
    assert members.index("frequency_penalty") == members.index("error") + 1
    assert members.index("presence_penalty") == members.index("output") + 1
    assert (await client.get(f"/v1/responses/{response['id']}")).json() == response
    one = await create(client, input="echo: one", presence_penalty=2)
    assert one["presence_penalty"] == 2.0 and one["frequency_penalty"] == 0.0
    assert "frequency_penalty" not in simulator.calls[-1][1]  # left to the model's default
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: streamed",
                                                                 "frequency_penalty": -2, "stream": True}))
    assert {e["response"]["frequency_penalty"] for e in events if "response" in e} == {-2.0}
    assert simulator.calls[-1][1]["frequency_penalty"] == -2


@pytest.mark.parametrize(("body", "error"), [
    ({"presence_penalty": "x"}, {"param": "presence_penalty", "code": "invalid_type"}),
    ({"frequency_penalty": 2.5}, {"param": "frequency_penalty", "code": "decimal_above_max_value"}),
    ({"presence_penalty": -3}, {"param": "presence_penalty", "code": "decimal_below_min_value"}),
    # OpenAI's reasoning models refuse them (gpt-5.6-terra, 2026-08-30: no code): the models here that reason too
    ({"model": "@cf/openai/gpt-oss-20b", "presence_penalty": 0.5},
     {"param": "presence_penalty", "code": None,
      "message": "Unsupported parameter: 'presence_penalty' is not supported with this model."}),
    ({"model": "gpt-5.6-terra", "frequency_penalty": 0},
     {"param": "frequency_penalty", "code": None,
      "message": "Unsupported parameter: 'frequency_penalty' is not supported with this model."}),
    ({"model": "@cf/qwen/qwq-32b", "frequency_penalty": 0.1}, {"param": "frequency_penalty", "code": None}),
])
async def test_bad_penalties_are_openais_400s(client: httpx.AsyncClient, simulator: Simulator,
                                              body: dict[str, Any], error: dict[str, Any]) -> None:
    calls = len(simulator.calls)
    got = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", **body}), 400)
    assert {k: got[k] for k in error} == error
    assert len(simulator.calls) == calls


@pytest.mark.parametrize("body", [
    {"input": "echo: Hello there", "instructions": "Be brief.", "temperature": 1e-05, "top_p": 0.25},
    {"input": "echo: penalised", "frequency_penalty": 0.5, "presence_penalty": 1},
    {"input": "echo: émoji ✓ \u2028 \"quoted\"", "metadata": {"k": "v"}, "user": "u-1", "store": False},
    {"input": "echo: " + " ".join(["once upon a time by the sea"] * 8), "max_output_tokens": 16},  # incomplete
])
async def test_the_reply_is_the_objects_json(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """The reply is put together from the JSON of the response's stored parts (runner.complete_json): byte for
    byte what serializing the whole Response object gives (replies.json_bytes), and it is what GET shows."""
    r = await client.post("/v1/responses", json={"model": LLAMA, **body})
    assert r.status_code == 200, r.text
    response = json.loads(r.content)
    assert r.content == json_bytes(response)  # the members in the object's order, serialized as it would be
    if response["store"]:
        assert (await client.get(f"/v1/responses/{response['id']}")).json() == response


async def test_a_lone_surrogate_in_the_answer_is_replaced(client: httpx.AsyncClient, simulator: Simulator,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer holding half a surrogate pair (pydantic-core serializes no such string): the reply and the
    stored item are json.dumps's, the half replaced, as before the reply was put together from parts."""
    async def cut(model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"response": "half \ud83d", "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}

    monkeypatch.setattr(simulator, "run", cut)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", "temperature": 1e-05})
    assert r.status_code == 200, r.text
    response = json.loads(r.content)
    assert text_of(response) == "half \ufffd" and response["temperature"] == 1e-05
    assert r.content == json.dumps(response, ensure_ascii=False, separators=(",", ":")).encode()
    assert (await client.get(f"/v1/responses/{response['id']}")).json() == response


def test_response_json_is_the_response_objects() -> None:
    """``response_json`` puts a Response's JSON together from its parts' JSON, as ``response_object`` lays it out."""
    echoed = {"instructions": "Be brief. ✓", "max_output_tokens": None, "metadata": {"a": "b"}, "temperature": 0.7,
              "tools": [{"type": "function", "name": "f", "parameters": {"x": [1, 2.5, None]}}], "user": "u"}
    items = [{"id": "msg_1", "type": "message", "content": [{"type": "output_text", "text": "hi \"there\""}]},
             {"id": "fc_1", "type": "function_call", "arguments": "{}"}]
    usage = {"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0}, "total_tokens": 5}
    for output, fields in [
        (items, {}),
        ([], {"usage": None}),
        (items[:1], {"previous_response_id": "resp_abc", "incomplete_details": {"reason": "max_output_tokens"}}),
        (items[1:], {"conversation_id": "conv_1", "background": True, "completed_at": 17, "status": "failed",
                     "error": {"code": "server_error", "message": "x"}}),
    ]:
        fields = {"status": "completed", "usage": usage, **fields}
        whole = objects.response_object("resp_1", created_at=12, model="@cf/m", echoed=echoed, output=output,
                                        **fields)
        made = fields.pop("usage")
        parts = objects.response_json("resp_1", created_at=12, model="@cf/m", echoed_json=json_bytes(echoed),
                                      output_json=[json_bytes(item) for item in output],
                                      usage_json=None if made is None else json_bytes(made), **fields)
        assert parts == json_bytes(whole)
    assert objects.response_json("resp_1", created_at=1, status="completed", model="m", echoed_json=b'{"user":null}',
                                 output_json=[]) == json_bytes(
        objects.response_object("resp_1", created_at=1, status="completed", model="m", echoed={"user": None},
                                output=[]))


async def test_store_false_is_not_stored(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    response = await create(client, input="echo: hi", store=False)
    assert response["store"] is False
    assert (await client.get(f"/v1/responses/{response['id']}")).status_code == 404
    assert (await db.prepare("SELECT COUNT(*) AS n FROM items").first()) == {"n": 0}


async def test_input_items_are_listed_paginated(client: httpx.AsyncClient) -> None:
    sent = [{"role": "developer", "content": "be nice"}, {"role": "user", "content": "one"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "two"}], "id": "msg_mine"},
            {"role": "assistant", "content": "three", "phase": "commentary"},
            {"role": "user", "content": "echo: four"}]
    response = await create(client, input=sent)
    path = f"/v1/responses/{response['id']}/input_items"
    listed = (await client.get(path)).json()
    assert_matches(listed, "ResponseItemList")
    # OpenAI's members and order (openai/openai-dotnet tests/SessionRecords/ResponseStoreTests/
    # GetInputItemsWithPaginationNoOptions.json), newest first when no order is given
    assert list(listed) == ["object", "data", "first_id", "has_more", "last_id"]
    assert [i["role"] for i in listed["data"]] == ["user", "assistant", "user", "user", "developer"]  # desc
    assert listed["data"][2]["id"] == "msg_mine" and listed["data"][1]["phase"] == "commentary"
    page = (await client.get(path, params={"order": "asc", "limit": 2})).json()
    assert [i["role"] for i in page["data"]] == ["developer", "user"] and page["has_more"] is True
    rest = (await client.get(path, params={"order": "asc", "after": page["last_id"]})).json()
    assert [i["id"] for i in rest["data"]][0] == "msg_mine" and rest["has_more"] is False
    error = error_of(await client.get(path, params={"after": "msg_nope"}), 400)
    assert error["param"] == "after"
    # A cursor names an item of the list: not one of the response's output items (it was a place after them all).
    error = error_of(await client.get(path, params={"before": response["output"][0]["id"]}), 400)
    assert error["param"] == "before"


async def test_a_text_input_and_answer_are_kept_in_the_responses_row(client: httpx.AsyncClient,
                                                                     db: SQLiteD1) -> None:
    """One input message the response gave its id to (a text, or one message sent without an id), and one output
    message: its row keeps them (``migrations/0021_…``, ``0022_…``), and everything that reads a response's items
    reads them there, as it reads items stored as rows. Here a response answered in its request without streaming,
    in no conversation; the tests below keep a conversation's, a streamed, a background response's and a function
    call's too."""
    for sent in ("echo: kept", [{"role": "user", "content": "echo: kept"}]):
        response = await create(client, input=sent)
        digits = response["id"].removeprefix("resp_")
        kept_id = "msg_" + digits
        assert response["output"][0]["id"] == "msg_" + digits[:-1] + "0123456789abcdef0"[int(digits[-1], 16) + 1]
        row = await db.prepare("SELECT input_item, output_item FROM responses WHERE id = ?").bind(
            response["id"]).first()
        assert row is not None and json.loads(row["input_item"])["id"] == kept_id
        assert json.loads(row["output_item"]) == response["output"][0]
        assert await db.prepare("SELECT role FROM items WHERE container = ?").bind(response["id"]).all() == []
        retrieved = (await client.get(f"/v1/responses/{response['id']}")).json()
        assert retrieved == response
        path = f"/v1/responses/{response['id']}/input_items"
        for order in ("asc", "desc"):
            listed = (await client.get(path, params={"order": order})).json()
            assert_matches(listed, "ResponseItemList")
            assert listed == {"object": "list", "data": [{
                "id": kept_id, "type": "message", "status": "completed",
                "content": [{"type": "input_text", "text": "echo: kept"}], "role": "user"}],
                "first_id": kept_id, "last_id": kept_id, "has_more": False}
        for cursor in ("after", "before"):
            assert (await client.get(path, params={cursor: kept_id})).json()["data"] == []
            assert error_of(await client.get(path, params={cursor: "msg_nope"}), 400) == {
                "message": "Invalid '" + cursor + "': no item with id 'msg_nope' in this list.",
                "type": "invalid_request_error", "param": cursor, "code": None}


async def test_a_conversations_response_keeps_its_messages_and_the_conversation_its_copies(
        client: httpx.AsyncClient, simulator: Simulator, db: SQLiteD1) -> None:
    conversation = (await client.post("/v1/conversations", json={})).json()
    first = await create(client, input="echo: one", conversation=conversation["id"])
    kept = await db.prepare("SELECT input_item, output_item FROM responses WHERE id = ?").bind(first["id"]).first()
    assert kept is not None and json.loads(kept["output_item"]) == first["output"][0]
    assert await db.prepare("SELECT role FROM items WHERE container = ?").bind(first["id"]).all() == []
    listed = (await client.get(f"/v1/conversations/{conversation['id']}/items", params={"order": "asc"})).json()
    assert [i["id"] for i in listed["data"]] == [json.loads(kept["input_item"])["id"], first["output"][0]["id"]]
    inputs = (await client.get(f"/v1/responses/{first['id']}/input_items")).json()["data"]
    assert inputs == [listed["data"][0]]
    # The next turn reads the conversation's rows; the response, deleted, leaves the conversation whole.
    await create(client, input="echo: two", conversation=conversation["id"])
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: one", "one", "echo: two"]
    assert (await client.delete(f"/v1/responses/{first['id']}")).status_code == 200
    after = (await client.get(f"/v1/conversations/{conversation['id']}/items", params={"order": "asc"})).json()
    assert [i["id"] for i in after["data"]][:2] == [i["id"] for i in listed["data"]]
    # An item_reference to it finds the conversation's copy (one of the key's items).
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": first["output"][0]["id"]}, {"role": "user", "content": "echo: three"}]})
    assert r.status_code == 200, r.text
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["one", "echo: three"]


async def test_a_function_calling_loop_keeps_each_turns_items_in_its_row(client: httpx.AsyncClient,
                                                                         db: SQLiteD1) -> None:
    """A function call as the one output item, and its output as the next turn's one input item (sent without an
    id), are kept in their responses' rows, with ids of their own types (``fc_``, ``fco_``)."""
    first = await create(client, model=SCOUT, input='call:get_weather {"city": "Paris"}', tools=[WEATHER])
    call = first["output"][0]
    digits = first["id"].removeprefix("resp_")
    assert call["type"] == "function_call" and call["id"].startswith("fc_") and call["id"][3:-1] == digits[:-1]
    second = await create(client, model=SCOUT, tools=[WEATHER], previous_response_id=first["id"], input=[
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}])
    given = (await client.get(f"/v1/responses/{second['id']}/input_items")).json()["data"]
    assert [i["type"] for i in given] == ["function_call_output"]
    assert given[0]["id"] == "fco_" + second["id"].removeprefix("resp_")
    for response in (first, second):
        assert await db.prepare("SELECT role FROM items WHERE container = ?").bind(response["id"]).all() == []
    assert text_of(second) == "Tool results: sunny"  # the model read the call and its output from the rows
    # Both found by item_reference as items stored as rows are.
    r = await client.post("/v1/responses", json={"model": SCOUT, "tools": [WEATHER], "input": [
        {"type": "item_reference", "id": call["id"]}, {"type": "item_reference", "id": given[0]["id"]}]})
    assert r.status_code == 200, r.text
    assert text_of(r.json()) == "Tool results: sunny"


async def test_kept_inputs_are_read_in_chains_and_item_references(client: httpx.AsyncClient, simulator: Simulator,
                                                                  db: SQLiteD1) -> None:
    first = await create(client, input="echo: one")  # kept in its row
    second = await create(client, input=[{"role": "user", "content": "a"}, {"role": "user", "content": "echo: two"}],
                          previous_response_id=first["id"])  # rows of items
    third = await create(client, input="echo: three", previous_response_id=second["id"])  # kept
    await create(client, input="echo: four", previous_response_id=third["id"])
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == [
        "echo: one", "one", "a", "echo: two", "two", "echo: three", "three", "echo: four"]
    chained = await db.prepare("SELECT count(*) AS n FROM responses WHERE input_item IS NOT NULL"
                               " AND output_item IS NOT NULL").first()
    assert chained == {"n": 3}  # the second's input is rows (two messages), its answer kept
    # An item_reference names a kept message as it names an item stored as a row (an admin key's: any key's).
    kept_id = "msg_" + first["id"].removeprefix("resp_")
    for headers in ({}, {"authorization": f"Bearer {ADMIN_KEY}"}):
        r = await client.post("/v1/responses", headers=headers, json={"model": LLAMA, "input": [
            {"type": "item_reference", "id": kept_id}, {"type": "item_reference", "id": third["output"][0]["id"]},
            {"type": "item_reference", "id": first["output"][0]["id"]}, {"role": "user", "content": "echo: five"}]})
        assert r.status_code == 200, r.text
        assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: one", "three", "one",
                                                                              "echo: five"]
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    error = error_of(await client.post("/v1/responses", headers=other, json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": kept_id}]}), 404)
    assert error["param"] == "input[0].id"
    # Deleted with its response (one that no later input copied, as the references above copied the first's).
    gone = await create(client, input="echo: gone")
    assert (await client.delete(f"/v1/responses/{gone['id']}")).status_code == 200
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": "msg_" + gone["id"].removeprefix("resp_")}]}), 404)
    assert error["param"] == "input[0].id"


async def test_an_input_the_row_does_not_keep_is_rows_of_items(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    conversation = (await client.post("/v1/conversations", json={})).json()
    large = "echo: " + "x" * (items_repo.INLINE_MAX + 10)  # its JSON over a row's share: an item in R2
    for body in ({"input": [{"role": "user", "content": "echo: hi", "id": "msg_sent"}]},  # sent with its id
                 {"input": [{"role": "user", "content": "echo: hi", "id": "msg_c"}], "conversation": conversation["id"]},
                 {"input": large}):
        response = await create(client, **body)
        row = await db.prepare("SELECT input_item FROM responses WHERE id = ?").bind(response["id"]).first()
        assert row == {"input_item": None}
        inputs = await db.prepare("SELECT item_id FROM items WHERE container = ? AND role = 'input'").bind(
            response["id"]).all()
        listed = (await client.get(f"/v1/responses/{response['id']}/input_items")).json()["data"]
        assert [i["id"] for i in listed] == [r["item_id"] for r in inputs] and len(listed) == 1


async def test_an_output_the_row_does_not_keep_is_rows_of_items(client: httpx.AsyncClient, db: SQLiteD1,
                                                                app: Any) -> None:
    """Two output items (reasoning and its answer) and an answer over a row's share are rows of items (a response
    streamed in its request, and one generated in the background, keep their answer as one answered in its request
    without streaming)."""
    streamed = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: s", "stream": True}))
    kept = await db.prepare("SELECT output_item FROM responses WHERE id = ?").bind(
        streamed[-1]["response"]["id"]).first()
    assert kept is not None and json.loads(kept["output_item"]) == streamed[-1]["response"]["output"][0]
    queued = await create(client, input="echo: bg", background=True)
    await app.state.ctx.backends.jobs.drain(app.state.ctx)
    done = (await client.get(f"/v1/responses/{queued['id']}")).json()
    kept = await db.prepare("SELECT output_item FROM responses WHERE id = ?").bind(queued["id"]).first()
    assert done["status"] == "completed" and kept is not None and json.loads(kept["output_item"]) == done["output"][0]
    ids = []
    for body in ({"model": "@cf/qwen/qwen3-30b-a3b-fp8", "input": "echo: hi", "reasoning": {"effort": "low"}},
                 {"input": "echo: " + "y" * (items_repo.INLINE_MAX + 10)}):
        ids.append((await create(client, **body))["id"])
    assert [i["type"] for i in (await client.get(f"/v1/responses/{ids[0]}")).json()["output"]] == [
        "reasoning", "message"]
    for response_id in ids:
        row = await db.prepare("SELECT output_item FROM responses WHERE id = ?").bind(response_id).first()
        assert row == {"output_item": None}
        stored = await db.prepare("SELECT item_id FROM items WHERE container = ? AND role = 'output'").bind(
            response_id).all()
        retrieved = (await client.get(f"/v1/responses/{response_id}")).json()
        assert [i["id"] for i in retrieved["output"]] == [r["item_id"] for r in stored] != []


def kept_ids_of(response_id: str) -> tuple[str, str]:
    """The ids of the input and output message a response's row keeps, when they are messages (``msg_`` and its hex
    digits; the output's last digit one up, mod 16; another type's item has its own prefix), worked out here apart
    from the code under test."""
    digits = response_id.removeprefix("resp_")
    return "msg_" + digits, "msg_" + digits[:-1] + "0123456789abcdef"[(int(digits[-1], 16) + 1) % 16]


def test_kept_ids_and_their_keepers_are_inverses() -> None:
    """Every last hex digit, the wrap from f to 0 too: each kept id leads back to the response that keeps it."""
    for digit in "0123456789abcdef":
        response_id = "resp_" + "0662078bc00d51c5dacc9114f38f2be655d80678f029b10" + digit
        ids = tuple("msg_" + digits for digits in responses_repo.kept_digits(response_id))
        assert ids == kept_ids_of(response_id)
        assert all(response_id in responses_repo._keepers(item_id) for item_id in ids)
        assert response_id in responses_repo._keepers("fc_" + ids[1][4:])  # any type's prefix
    assert [responses_repo._keepers(i) for i in ("msg0662", "msg_", "msg_xyz", "msg_0662Z")] == [[]] * 4


async def test_item_references_find_kept_messages_whatever_the_last_digit(
        client: httpx.AsyncClient, simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """A response whose id ends in f keeps its answer under an id ending in 0 (and one ending in 0, its text under
    an id ending in 0): an item_reference finds each, for its key and an admin's, not another key's."""
    real = runner.translate.object_id
    ending = iter("f0")
    monkeypatch.setattr(runner.translate, "object_id",
                        lambda prefix: real(prefix)[:-1] + next(ending) if prefix == "resp_" else real(prefix))
    made = [await create(client, input=f"echo: {n}") for n in ("f", "0")]
    monkeypatch.undo()
    assert [r["id"][-1] for r in made] == ["f", "0"] and [r["output"][0]["id"][-1] for r in made] == ["0", "1"]
    for response in made:
        for item_id, text in zip(kept_ids_of(response["id"]), (f"echo: {response['id'][-1]}", response["id"][-1]),
                                 strict=True):
            for headers in ({}, {"authorization": f"Bearer {ADMIN_KEY}"}):
                r = await client.post("/v1/responses", headers=headers, json={"model": LLAMA, "input": [
                    {"type": "item_reference", "id": item_id}, {"role": "user", "content": "echo: next"}]})
                assert r.status_code == 200, r.text
                assert simulator.calls[-1][1]["messages"][0]["content"] == text
            error = error_of(await client.post("/v1/responses", headers={"authorization": f"Bearer {OTHER_KEY}"},
                                               json={"model": LLAMA, "input": [
                                                   {"type": "item_reference", "id": item_id}]}), 404)
            assert error["param"] == "input[0].id"


async def test_responses_stored_before_their_rows_kept_messages_are_read_beside_new_ones(
        client: httpx.AsyncClient, simulator: Simulator, db: SQLiteD1, app: Any) -> None:
    """Rows written before migrations 0021 and 0022 (a text exchange's input and output as rows of items, the row's
    columns NULL), in a chain with responses whose rows keep their messages: chained in order, retrieved, listed
    and referenced as before."""
    backends = app.state.ctx.backends

    async def stored_the_old_way(response: dict[str, Any]) -> None:
        row = await db.prepare("SELECT owner, input_item, output_item FROM responses WHERE id = ?").bind(
            response["id"]).first()
        assert row is not None and row["input_item"] is not None and row["output_item"] is not None
        new = [items_repo.NewItem(response["id"], role, json.loads(row[f"{role}_item"])) for role in ("input", "output")]
        await db.batch([db.prepare("UPDATE responses SET input_item = NULL, output_item = NULL WHERE id = ?").bind(
            response["id"]), *await items_repo.stage(backends, row["owner"], new, response["created_at"])])

    first = await create(client, input="echo: one")
    second = await create(client, input="echo: two", previous_response_id=first["id"])
    third = await create(client, input="echo: three", previous_response_id=second["id"])
    for old in (first, third):
        await stored_the_old_way(old)
    await create(client, input="echo: four", previous_response_id=third["id"])
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == [
        "echo: one", "one", "echo: two", "two", "echo: three", "three", "echo: four"]
    for response in (first, second, third):
        assert (await client.get(f"/v1/responses/{response['id']}")).json() == response
        listed = (await client.get(f"/v1/responses/{response['id']}/input_items")).json()
        assert [i["id"] for i in listed["data"]] == [kept_ids_of(response["id"])[0]]
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": item_id} for response in (first, second) for item_id in
        kept_ids_of(response["id"])]})
    assert r.status_code == 200, r.text
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: one", "one", "echo: two", "two"]
    error = error_of(await client.post("/v1/responses", json={  # a repeat of an old row's id, as of a kept one's
        "model": LLAMA, "previous_response_id": third["id"], "input": [
            {"type": "item_reference", "id": kept_ids_of(first["id"])[1]}]}), 400)
    assert error["message"].startswith(f"Duplicate item found with id {kept_ids_of(first['id'])[1]}.")


async def test_truncation_drops_the_oldest_turns_of_a_chain_kept_in_rows(client: httpx.AsyncClient,
                                                                          simulator: Simulator) -> None:
    previous = None
    for turn in range(4):  # ~6,000 estimated tokens a message, its answer as many: past hermes' 24,000 by the third
        previous = (await create(client, model=HERMES, input=f"echo: {turn} " + "x " * 12_000,
                                 previous_response_id=previous, truncation="auto"))["id"]
    trimmed = await create(client, model=HERMES, input="echo: last", previous_response_id=previous, truncation="auto")
    assert trimmed["status"] == "completed"
    sent = [m["content"].split(" ")[:2] for m in simulator.calls[-1][1]["messages"]]
    assert sent[0] == ["echo:", sent[1][0]] and sent[-1] == ["echo:", "last"]  # a user turn first, then its answer
    assert 1 < len(sent) < 9 and sent[-3:-1] == [["echo:", "3"], ["3", "x"]]


async def test_a_kept_message_with_files_is_read_by_the_model_and_by_its_chain(client: httpx.AsyncClient,
                                                                               simulator: Simulator,
                                                                               db: SQLiteD1) -> None:
    png = rgba_png(2, 2, b"\xff" * 4)
    image = (await client.post("/v1/files", files={"file": ("a.png", png, "image/png")},
                               data={"purpose": "vision"})).json()
    notes = (await client.post("/v1/files", files={"file": ("notes.txt", b"the secret is 42", "text/plain")},
                               data={"purpose": "user_data"})).json()
    seen = await create(client, model=SCOUT, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "what is this"}, {"type": "input_image", "file_id": image["id"]}]}])
    read = await create(client, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "echo: "}, {"type": "input_file", "file_id": notes["id"]}]}])
    assert text_of(seen) == "I received 1 image: image/png." and text_of(read) == "File notes.txt:\nthe secret is 42"
    for response in (seen, read):  # kept as sent (by file_id), read again on the next turn
        row = await db.prepare("SELECT input_item FROM responses WHERE id = ?").bind(response["id"]).first()
        assert row is not None and "file_id" in json.loads(row["input_item"])["content"][1]
    follow = await create(client, model=SCOUT, input="and now?", previous_response_id=seen["id"])
    assert text_of(follow) == "I received 1 image: image/png."
    await create(client, input="echo: again", previous_response_id=read["id"])
    assert simulator.calls[-1][1]["messages"][0]["content"] == "echo: File notes.txt:\nthe secret is 42"
    await create(client, input=[{"type": "item_reference", "id": kept_ids_of(read["id"])[0]}])
    assert simulator.calls[-1][1]["messages"][0]["content"] == "echo: File notes.txt:\nthe secret is 42"


async def test_a_kept_id_repeated_in_a_later_input_is_a_duplicate(client: httpx.AsyncClient) -> None:
    """A kept message's id in a later input of its chain is OpenAI's duplicate 400, as a stored item's; a response not
    stored, or deleted, has no message to continue from or to reference."""
    first = await create(client, input="echo: one")
    for item_id in kept_ids_of(first["id"]):
        for sent in ({"type": "item_reference", "id": item_id},
                     {"type": "message", "id": item_id, "role": "user", "content": "echo: again"}):
            error = error_of(await client.post("/v1/responses", json={
                "model": LLAMA, "previous_response_id": first["id"], "input": [sent]}), 400)
            assert error["message"] == (f"Duplicate item found with id {item_id}. Remove duplicate items from your "
                                        "input and try again.") and error["param"] == "input"
        error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [
            {"type": "item_reference", "id": item_id}, {"type": "item_reference", "id": item_id}]}), 400)
        assert error["message"].startswith(f"Duplicate item found with id {item_id}.")
    unstored = await create(client, input="echo: not kept", store=False)
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi",
                                                              "previous_response_id": unstored["id"]}), 400)
    assert error["code"] == "previous_response_not_found"
    assert (await client.delete(f"/v1/responses/{first['id']}")).status_code == 200  # its messages go with it
    for path in (first["id"], f"{first['id']}/input_items"):
        assert error_of(await client.get(f"/v1/responses/{path}"), 404)["message"] == (
            f"Response with id '{first['id']}' not found.")
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi",
                                                              "previous_response_id": first["id"]}), 400)
    assert error["code"] == "previous_response_not_found"
    for item_id in (*kept_ids_of(first["id"]), kept_ids_of(unstored["id"])[0], unstored["output"][0]["id"]):
        error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [
            {"type": "item_reference", "id": item_id}]}), 404)
        assert error["param"] == "input[0].id"


async def test_keeping_messages_in_the_row_changes_nothing_a_client_sees(
        client: httpx.AsyncClient, simulator: Simulator, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same requests, their messages kept in the responses' rows, then every item stored as a row (as before
    migrations 0021 and 0022: responses.keeps answering no): the same replies, stored responses, input items,
    conversation items, compactions and model calls, but for the ids."""
    png = rgba_png(2, 2, b"\xff" * 4)
    image = (await client.post("/v1/files", files={"file": ("a.png", png, "image/png")},
                               data={"purpose": "vision"})).json()

    async def seen() -> list[Any]:
        out: list[Any] = []
        start = len(simulator.calls)

        async def post(**body: Any) -> dict[str, Any]:
            r = await client.post("/v1/responses", json={"model": LLAMA, **body})
            made = sse_events(r)[-1]["response"] if body.get("stream") else r.json()
            out.append((r.status_code, made, (await client.get(f"/v1/responses/{made['id']}")).json(),
                        *[(await client.get(f"/v1/responses/{made['id']}/input_items",
                                            params={"order": order, "limit": 1})).json() for order in ("asc", "desc")]))
            return made

        one = await post(input="echo: one")
        two = await post(input=[{"role": "user", "content": "echo: two"}], previous_response_id=one["id"])
        three = await post(input=[{"role": "user", "content": "x"}, {"role": "user", "content": "echo: three"}],
                           previous_response_id=two["id"], stream=True)
        four = await post(model=SCOUT, previous_response_id=three["id"], input=[{"role": "user", "content": [
            {"type": "input_text", "text": "see"}, {"type": "input_image", "file_id": image["id"]}]}])
        await post(model=SCOUT, input="and?", previous_response_id=four["id"], stream=True)
        reasoned = await post(model="@cf/openai/gpt-oss-20b", input="echo: r", previous_response_id=two["id"],
                              reasoning={"effort": "low"})
        referred = await post(input=[{"type": "item_reference", "id": one["output"][0]["id"]},
                                     {"type": "item_reference", "id": reasoned["output"][-1]["id"]},
                                     {"role": "user", "content": "echo: refs"}])
        conversation = (await client.post("/v1/conversations", json={})).json()
        await post(input="echo: in it", conversation=conversation["id"])
        await post(input="echo: and on", conversation=conversation["id"], stream=True)
        out.append((await client.get(f"/v1/conversations/{conversation['id']}/items")).json())
        queued = await post(input="echo: later", background=True)
        await app.state.ctx.backends.jobs.drain(app.state.ctx)
        out.append((await client.get(f"/v1/responses/{queued['id']}")).json())
        await post(input="echo: after", previous_response_id=queued["id"])
        compacted = (await client.post("/v1/responses/compact", json={
            "model": LLAMA, "input": "echo: c", "previous_response_id": referred["id"]})).json()
        out.append({**compacted, "id": None, "output": compacted["output"][:-1]})  # (its summary: a model's)
        out.append((await client.post("/v1/responses/input_tokens", json={
            "model": LLAMA, "input": "echo: c", "previous_response_id": referred["id"]})).json())
        out.append(simulator.calls[start:])
        return out

    def without_ids(value: Any) -> str:
        names: dict[str, str] = {}
        text = json.dumps(value, sort_keys=True)
        text = re.sub(r"\b(msg|resp|rs|conv|cmp)_[0-9a-f]{48}\b",
                      lambda m: names.setdefault(m.group(0), f"{m.group(1)}#{len(names)}"), text)
        return re.sub(r'"(created_at|completed_at)": \d+', r'"\1": 0', text)

    kept = await seen()
    monkeypatch.setattr(responses_repo, "keeps", lambda *args, **kwargs: False)
    as_rows = await seen()
    assert [without_ids(part) for part in kept] == [without_ids(part) for part in as_rows]


async def test_streaming_follows_openais_event_sequence(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: Streaming works, café ☕",
                                                 "stream": True})
    events = sse_events(r)
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    final = events[-1]["response"]
    assert text_of(final) == "Streaming works, café ☕" and final["status"] == "completed"
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == text_of(final)
    assert (await client.get(f"/v1/responses/{final['id']}")).json() == final


@pytest.mark.parametrize("model", ["@cf/qwen/qwen3-30b-a3b-fp8", "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
                                   "@cf/openai/gpt-oss-20b"])
async def test_reasoning_comes_as_a_reasoning_item(client: httpx.AsyncClient, model: str) -> None:
    whole = await create(client, model=model, input="echo: the answer", reasoning={"effort": "low"})
    kinds = [i["type"] for i in whole["output"]]
    assert kinds == ["reasoning", "message"] and text_of(whole) == "the answer"
    assert whole["output"][0]["content"][0]["text"].startswith("The user asks")
    assert whole["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    r = await client.post("/v1/responses", json={"model": model, "input": "echo: the answer", "stream": True,
                                                 "reasoning": {"effort": "low"}})
    events = sse_events(r)
    assert "response.reasoning_text.delta" in [e["type"] for e in events]
    assert [i["type"] for i in events[-1]["response"]["output"]] == ["reasoning", "message"]
    # content before summary, as OpenAI's reasoning items (openai/openai-dotnet tests/SessionRecords/ResponsesTests/
    # ReasoningStreamingWorks.json, 2026-08); status, which they do not carry, last
    reasoning = [whole["output"][0], events[-1]["response"]["output"][0],
                 *(e["item"] for e in events if e["type"].startswith("response.output_item.") and e["output_index"] == 0)]
    assert [list(i) for i in reasoning] == [["id", "type", "content", "summary", "status"]] * 4


@pytest.mark.parametrize("model", ["@cf/openai/gpt-oss-120b", "@cf/qwen/qwq-32b",
                                   "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"])
async def test_a_reasoning_summary_is_the_reasoning_as_openai_streams_one(client: httpx.AsyncClient,
                                                                          model: str) -> None:
    """``reasoning.summary`` set: the reasoning item carries the model's reasoning as its one ``summary_text`` part
    and no ``content``, as OpenAI's reasoning models answer (an o3 stream of 2025-09 recorded in bella-assistants'
    docs); streamed, OpenAI's summary events in its order: ``reasoning_summary_part.added`` (empty part) before the
    first ``reasoning_summary_text.delta``, ``….text.done`` with the text, ``….part.done`` with the part, then
    ``output_item.done`` with the whole summary. Stored the same; given back as input, taken."""
    body = {"model": model, "input": "echo: the answer", "reasoning": {"effort": "low"}}
    plain = await create(client, **body)
    thought = plain["output"][0]["content"][0]["text"]
    for summary in ("auto", "concise", "detailed"):
        whole = await create(client, **{**body, "reasoning": {"effort": "low", "summary": summary}})
        item = whole["output"][0]
        assert item == {"id": item["id"], "type": "reasoning", "status": "completed",
                        "summary": [{"type": "summary_text", "text": thought}]}
        assert whole["reasoning"]["summary"] == summary and text_of(whole) == "the answer"
        assert (await client.get(f"/v1/responses/{whole['id']}")).json() == whole
    events = sse_events(await client.post("/v1/responses", json={
        **body, "reasoning": {"effort": "low", "summary": "detailed"}, "stream": True}))
    final = events[-1]["response"]
    item = final["output"][0]
    assert [p["type"] for p in item["summary"]] == ["summary_text"] and "content" not in item
    assert item["summary"][0]["text"].strip() == thought  # (a stream's reasoning keeps the model's newlines)
    mine = [e for e in events if e.get("item_id") == item["id"] or e.get("item", {}).get("id") == item["id"]]
    kinds = [e["type"] for e in mine]
    deltas = kinds.count("response.reasoning_summary_text.delta")
    assert deltas > 0 and kinds == [
        "response.output_item.added", "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * deltas, "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done", "response.output_item.done"]
    assert mine[0]["item"] == {"id": item["id"], "type": "reasoning", "summary": [], "status": "in_progress"}
    assert mine[-1]["item"] == item and mine[-2]["part"] == item["summary"][0]
    assert mine[-3]["text"] == item["summary"][0]["text"]
    assert {e["output_index"] for e in mine} == {0} and {e["summary_index"] for e in mine[1:-1]} == {0}
    assert not any(e["type"].startswith(("response.reasoning_text.", "response.content_part.")) and
                   e["output_index"] == 0 for e in events)
    assert (await client.get(f"/v1/responses/{final['id']}")).json() == final
    # given back as input (the OpenAI Agents SDK sends its output items back): history, as any reasoning item
    again = await create(client, model=model, reasoning={"effort": "low", "summary": "auto"},
                         input=[{"role": "user", "content": "echo: the answer"}, *final["output"],
                                {"role": "user", "content": "echo: more"}])
    assert text_of(again) == "more"


async def test_reasoning_on_a_model_that_does_not_reason_is_openais_400(client: httpx.AsyncClient) -> None:
    """A model that does not reason takes neither ``reasoning.effort`` nor ``reasoning.summary``: OpenAI's 400s in its
    words (gpt-4o / gpt-4.1's: the effort's "with this model", the summary's naming the model), not a response
    without a reasoning item (a background one's too, before it is queued). ``reasoning`` with neither
    (``context`` only) is taken."""
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    for extra in ({}, {"background": True}, {"stream": True}):
        r = await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", "reasoning": {"summary": "auto"},
                                                     **extra})
        assert error_of(r, 400) == {
            "message": f"Unsupported parameter: 'reasoning.summary' is not supported with the '{LLAMA}' model.",
            "type": "invalid_request_error", "param": "reasoning.summary", "code": "unsupported_parameter"}
    with pytest.raises(BadRequestError, match="'reasoning.summary' is not supported"):
        await official.responses.create(model=LLAMA, input="hi", reasoning={"effort": "low", "summary": "concise"})
    assert error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi",
                                                             "reasoning": {"effort": "low"}}), 400) == {
        "message": "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
        "type": "invalid_request_error", "param": "reasoning.effort", "code": "unsupported_parameter"}
    assert text_of(await create(client, model=LLAMA, input="echo: plain", reasoning={"context": "auto"})) == "plain"


def test_a_summary_cut_short_says_so() -> None:
    """A summarized reasoning item cut short (``max_output_tokens`` reached while the model reasons): its
    ``reasoning_summary_part.done`` has ``status: incomplete`` (the spec's "set to `incomplete` when generation was
    interrupted"), streamed and replayed."""
    writer = objects.EventWriter(summary=True)
    events = [*writer.delta(spec.Delta(0, reasoning="The user")), *writer.close_all("incomplete")]
    done = [e for e in events if e["type"] == "response.reasoning_summary_part.done"]
    assert done == [{"type": "response.reasoning_summary_part.done", "sequence_number": 4,
                     "item_id": writer.output[0]["id"], "output_index": 0, "summary_index": 0,
                     "part": {"type": "summary_text", "text": "The user"},
                     "status": "incomplete"}]
    assert writer.output[0]["status"] == "incomplete"
    response = {"id": "resp_1", "status": "incomplete", "background": True, "output": writer.output}
    for shape in (writer.shape, None):
        replayed = objects.replay(response, shape)
        again = [e for e in replayed if e["type"] == "response.reasoning_summary_part.done"]
        assert [{**e, "sequence_number": 4} for e in again] == done


async def test_gpt_oss_gets_responses_shaped_input(client: httpx.AsyncClient, simulator: Simulator) -> None:
    await create(client, model="gpt-oss-120b", instructions="Be brief.", input="echo: hi", max_output_tokens=64,
                 reasoning={"effort": "high"}, tools=[WEATHER])
    model, inputs = simulator.calls[-1]
    assert model == "@cf/openai/gpt-oss-120b" and "messages" not in inputs
    assert inputs["instructions"] == "Be brief." and inputs["input"] == [{"role": "user", "content": "echo: hi"}]
    assert inputs["reasoning"] == {"effort": "high"} and inputs["max_output_tokens"] == 64
    assert inputs["tools"][0]["name"] == "get_weather" and "function" not in inputs["tools"][0]
    await create(client, model=LLAMA, input="hi")
    assert "messages" in simulator.calls[-1][1]  # every other model: the chat path


async def test_reasoning_items_are_history_no_model_reads_back(client: httpx.AsyncClient,
                                                                simulator: Simulator) -> None:
    first = await create(client, model="@cf/openai/gpt-oss-20b", input="echo: the answer",
                         reasoning={"effort": "low"})
    assert [i["type"] for i in first["output"]] == ["reasoning", "message"]
    await create(client, model="@cf/openai/gpt-oss-20b", input="echo: again", previous_response_id=first["id"])
    inputs = simulator.calls[-1][1]["input"]  # the gpt-oss path: Responses-shaped input, built from the messages
    assert inputs == [{"role": "user", "content": "echo: the answer"}, {"role": "assistant", "content": "the answer"},
                      {"role": "user", "content": "echo: again"}]
    await create(client, model=LLAMA, input=[*first["output"], {"role": "user", "content": "echo: more"}])
    assert [m["role"] for m in simulator.calls[-1][1]["messages"]] == ["assistant", "user"]  # the chat path too


async def test_assistant_history_without_a_type_is_taken(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """The Vercel AI SDK's OpenAI provider (``@ai-sdk/openai``, its default Responses model) sends earlier assistant
    turns as ``{role: "assistant", content: [{type: "output_text", text}]}``, no ``type: "message"`` (only other
    hosts' providers set ``explicitMessageItemType``); OpenAI takes it as the assistant's message."""
    await create(client, model=SCOUT, store=False, input=[
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "echo: again"}]}])
    assert [(m["role"], m["content"]) for m in simulator.calls[-1][1]["messages"][1:]] == [
        ("user", "hi"), ("assistant", "hello"), ("user", "echo: again")]


async def test_a_configuration_update_sets_what_follows(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """A ``configuration_update`` item (client 3.63's ``ResponseConfigurationUpdateItemParam``) changes
    ``reasoning.effort`` and / or ``text.format`` for the responses after it, each setting until a later update
    replaces it; the request's own settings stay the baseline the Response echoes (OpenAI's mid-conversation effort
    change, which keeps the cached prompt). It is stored and listed as an input item, and chained."""
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    oss = "@cf/openai/gpt-oss-20b"
    first = await official.responses.create(model=oss, reasoning={"effort": "low"}, input=[
        {"role": "user", "content": "echo: think hard"},
        {"type": "configuration_update", "reasoning": {"effort": "high"}}])
    assert simulator.calls[-1][1]["reasoning"] == {"effort": "high"}
    assert first.reasoning is not None and first.reasoning.effort == "low"  # the baseline, as sent
    listed = (await official.responses.input_items.list(first.id, order="asc")).data
    assert [item.type for item in listed] == ["message", "configuration_update"]
    assert listed[1].id.startswith("cfg_") and listed[1].reasoning.effort == "high"  # type: ignore[union-attr]
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": False}
    await official.responses.create(model=oss, reasoning={"effort": "low"}, previous_response_id=first.id,
                                    input=[{"type": "configuration_update", "text": {"format": {
                                        "type": "json_schema", "name": "answer", "schema": schema, "strict": True}}},
                                           {"role": "user", "content": "echo: {\"a\": \"b\"}"}])
    inputs = simulator.calls[-1][1]  # the earlier update's effort still holds, and the new format too
    assert inputs["reasoning"] == {"effort": "high"} and inputs["text"]["format"]["name"] == "answer"
    await create(client, model=LLAMA, input=[{"role": "user", "content": "echo: hi"}, {
        "type": "configuration_update", "id": "cfg_mine", "text": {"format": {"type": "text"}}}])
    assert "response_format" not in simulator.calls[-1][1]
    # what cannot be honoured is a 400 naming the item
    bad = {"model": LLAMA, "input": [{"role": "user", "content": "hi"},
                                     {"type": "configuration_update", "reasoning": {"effort": "high"}}]}
    assert error_of(await client.post("/v1/responses", json=bad), 400)["param"] == "input[1].reasoning.effort"
    for update, param in (({}, "input[1]"), ({"reasoning": {"effort": "huge"}}, "input[1].reasoning.effort"),
                          ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "input[1].text.format.schema")):
        body = {"model": "@cf/openai/gpt-oss-20b", "input": [
            {"role": "user", "content": "hi"}, {"type": "configuration_update", **update}]}
        assert error_of(await client.post("/v1/responses", json=body), 400)["param"] == param, update
    twice = [{"role": "user", "content": "hi"}, *[{"type": "configuration_update", "reasoning": {"effort": e}}
                                                   for e in ("low", "high")]]
    error = error_of(await client.post("/v1/responses", json={"model": "@cf/openai/gpt-oss-20b", "input": twice}), 400)
    assert error["param"] == "input[2]" and "follows another" in error["message"]
    conversation = (await client.post("/v1/conversations", json={"items": [
        {"type": "configuration_update", "reasoning": {"effort": "medium"}}]})).json()
    listed = (await client.get(f"/v1/conversations/{conversation['id']}/items")).json()["data"]
    assert [(i["type"], i["reasoning"]) for i in listed] == [("configuration_update", {"effort": "medium"})]
    await create(client, model="@cf/openai/gpt-oss-20b", conversation=conversation["id"], input="echo: and so")
    assert simulator.calls[-1][1]["reasoning"] == {"effort": "medium"}


async def test_function_tools_are_echoed_strict_by_default(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """OpenAI's Responses API makes a function tool strict unless it says ``strict: false`` (its function-calling
    guide), and echoes ``strict: true``: in the Response, its stream's, and the stored one. The model is still
    called with ``strict`` as sent (a schema left loose is not held to the strict rules)."""
    loose = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {}}}}
    tools = [loose, {**loose, "name": "other", "strict": None}, {**loose, "name": "lax", "strict": False}]
    response = await create(client, model=SCOUT, input='call:lookup {"q": 1}', tools=tools)
    assert [t["strict"] for t in response["tools"]] == [True, True, False]
    assert ["strict" not in t["function"] for t in simulator.calls[-1][1]["tools"]] == [True, True, True]
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()
    assert [t["strict"] for t in stored["tools"]] == [True, True, False]
    r = await client.post("/v1/responses", json={"model": SCOUT, "input": "hi", "tools": tools, "stream": True})
    events = [e for e in sse_events(r) if "response" in e]
    assert events and all([t["strict"] for t in e["response"]["tools"]] == [True, True, False] for e in events)
    # Each with OpenAI's members, in its order (openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/
    # FunctionToolStreamingWorks.json, 2026-08): output_schema null unless sent
    order = ["type", "description", "name", "output_schema", "parameters", "strict"]
    assert [list(t) for t in response["tools"] + stored["tools"] + events[-1]["response"]["tools"]] == [order] * 9
    assert {t["output_schema"] for t in response["tools"]} == {None}


async def test_max_output_tokens_makes_an_incomplete_response(client: httpx.AsyncClient) -> None:
    story = "echo: " + " ".join(["once upon a time by the sea"] * 8)  # longer than OpenAI's least budget (16)
    response = await create(client, input=story, max_output_tokens=16)
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": story, "max_output_tokens": 16,
                                                 "stream": True})
    assert sse_events(r)[-1]["type"] == "response.incomplete"


# ---- tools, structured output, images, files -----------------------------------------------------


async def test_a_function_tool_round_trip(client: httpx.AsyncClient) -> None:
    first = await create(client, model=SCOUT, input='call:get_weather {"city": "Paris"}', tools=[WEATHER])
    [call] = first["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather" and call["call_id"].startswith("call_")
    assert json.loads(call["arguments"]) == {"city": "Paris"} and call["status"] == "completed"
    assert first["tools"][0]["name"] == "get_weather" and first["tools"][0]["strict"] is True
    second = await create(client, model=SCOUT, previous_response_id=first["id"], tools=[WEATHER],
                          input=[{"type": "function_call_output", "call_id": call["call_id"], "output": "22°C"}])
    assert text_of(second) == "Tool results: 22°C"
    # The same without storage: the client sends the whole history back.
    third = await create(client, model=SCOUT, tools=[WEATHER], store=False, input=[
        {"role": "user", "content": "weather?"}, call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}])
    assert text_of(third) == "Tool results: sunny"


async def test_a_function_call_left_without_its_output_is_openais_400(client: httpx.AsyncClient) -> None:
    """OpenAI answers every ``function_call`` of the context with its output or refuses the request (400 'No tool
    output found for function call …', param ``input``), before the model runs: a follow-up that skips the
    output (a chain, a conversation) is refused, the same follow-up with it runs."""
    first = await create(client, model=SCOUT, input='call:get_weather {"city": "Paris"}', tools=[WEATHER])
    [call] = first["output"]
    r = await client.post("/v1/responses", json={"model": SCOUT, "tools": [WEATHER], "input": "and now?",
                                                 "previous_response_id": first["id"]})
    error = error_of(r, 400)
    assert error["param"] == "input" and error["message"] == f"No tool output found for function call {call['call_id']}."
    conversation = (await client.post("/v1/conversations", json={})).json()
    await create(client, model=SCOUT, input='call:get_weather {"city": "Oslo"}', tools=[WEATHER],
                 conversation=conversation["id"])
    r = await client.post("/v1/responses", json={"model": SCOUT, "tools": [WEATHER], "input": "and now?",
                                                 "conversation": conversation["id"]})
    assert error_of(r, 400)["message"].startswith("No tool output found for function call call_")
    r = await client.post("/v1/responses/input_tokens", json={"model": SCOUT, "input": "and now?",
                                                              "previous_response_id": first["id"]})
    assert error_of(r, 400)["param"] == "input"
    answered = await create(client, model=SCOUT, previous_response_id=first["id"], tools=[WEATHER], input=[
        {"type": "function_call_output", "call_id": call["call_id"], "output": "22°C"},
        {"role": "user", "content": "and now?"}])
    assert answered["status"] == "completed"


async def test_streamed_tool_calls(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/responses", json={
        "model": SCOUT, "tools": [WEATHER], "stream": True,
        "input": 'call:get_weather {"city": "Paris"}\ncall:get_weather {"city": "Oslo"}'})
    events = sse_events(r)
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [json.loads(e["arguments"]) for e in done] == [{"city": "Paris"}, {"city": "Oslo"}]
    # OpenAI's members (a gpt-5.4 stream of 2026-05 held in a public repository's tests; the client 3.63's type)
    assert all(set(e) == {"type", "sequence_number", "item_id", "output_index", "arguments"} for e in done)
    assert [i["type"] for i in events[-1]["response"]["output"]] == ["function_call", "function_call"]
    # The item's members in OpenAI's order, at added and done, in the Response, stored and listed as input
    # (openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/FunctionToolStreamingWorks.json, 2026-08)
    order = ["id", "type", "status", "arguments", "call_id", "name"]
    items = [e["item"] for e in events if e["type"].startswith("response.output_item.")]
    stored = (await client.get(f"/v1/responses/{events[-1]['response']['id']}")).json()["output"]
    assert [list(i) for i in items + events[-1]["response"]["output"] + stored] == [order] * 8
    sent = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"}
    answered = await create(client, model=SCOUT, tools=[WEATHER], input=[
        sent, {"type": "function_call_output", "call_id": "call_1", "output": "22°C"}])
    listed = (await client.get(f"/v1/responses/{answered['id']}/input_items", params={"order": "asc"})).json()
    assert list(listed["data"][0]) == order


async def test_tool_choice_and_parallel_tool_calls(client: httpx.AsyncClient) -> None:
    forced = await create(client, model=SCOUT, input="hello", tools=[WEATHER],
                          tool_choice={"type": "function", "name": "get_weather"})
    assert forced["output"][0]["type"] == "function_call"
    assert forced["tool_choice"] == {"type": "function", "name": "get_weather"}
    none = await create(client, model=SCOUT, input='call:get_weather {"city": "x"}', tools=[WEATHER],
                        tool_choice="none")
    assert [i["type"] for i in none["output"]] == ["message"]
    one = await create(client, model=SCOUT, tools=[WEATHER], parallel_tool_calls=False,
                       input='call:get_weather {"city": "a"}\ncall:get_weather {"city": "b"}')
    assert len(one["output"]) == 1 and one["parallel_tool_calls"] is False


async def test_json_schema_output(client: httpx.AsyncClient) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False}
    response = await create(client, input="a person", text={"format": {
        "type": "json_schema", "name": "person", "schema": schema, "strict": True}})
    assert set(json.loads(text_of(response))) == {"name", "age"}
    assert response["text"]["format"]["name"] == "person"
    # Echoed as OpenAI echoes it: its members in this order, description null and strict true when not sent
    # (openai/openai-dotnet tests/SessionRecords/ResponsesTests/StructuredOutputs(%gpt-4o-mini%).json)
    unsaid = await create(client, input="a person", text={"format": {"type": "json_schema", "name": "person",
                                                                     "schema": schema}})
    assert unsaid["text"]["format"] == {"type": "json_schema", "description": None, "name": "person", "schema": schema,
                                        "strict": True}
    assert list(unsaid["text"]["format"]) == ["type", "description", "name", "schema", "strict"]
    assert list(response["text"]["format"]) == ["type", "description", "name", "schema", "strict"]
    assert (await client.get(f"/v1/responses/{unsaid['id']}")).json()["text"] == unsaid["text"]
    loose = await create(client, input="answer in JSON", text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(text_of(loose)), dict)


async def test_images_by_data_url_and_by_file_id(client: httpx.AsyncClient) -> None:
    png = rgba_png(2, 2, b"\xff" * 4)
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    response = await create(client, model=SCOUT, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "what is this"}, {"type": "input_image", "image_url": url}]}])
    assert text_of(response) == "I received 1 image: image/png."
    uploaded = (await client.post("/v1/files", files={"file": ("a.png", png, "image/png")},
                                  data={"purpose": "vision"})).json()
    by_file = await create(client, model=SCOUT, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "and this"}, {"type": "input_image", "file_id": uploaded["id"]}]}])
    assert text_of(by_file) == "I received 1 image: image/png."
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": url}]}]}), 400)
    assert error["param"] == "input[0].content[0]" and error["code"] == "image_not_supported"


async def test_text_files_are_read_by_the_model(client: httpx.AsyncClient) -> None:
    data = base64.b64encode(b"the secret is 42").decode()
    response = await create(client, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "echo: "},
        {"type": "input_file", "filename": "notes.txt", "file_data": f"data:text/plain;base64,{data}"}]}])
    assert text_of(response) == "File notes.txt:\nthe secret is 42"
    binary = base64.b64encode(b"%PDF-1.4\xff\xfe").decode()
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [{"role": "user", "content": [
        {"type": "input_file", "filename": "a.pdf", "file_data": binary}]}]}), 400)
    assert error["param"] == "input[0].content[0]" and "text file" in error["message"]


async def test_large_items_live_in_r2(client: httpx.AsyncClient, bucket: FolderR2, db: SQLiteD1) -> None:
    png = rgba_png(300, 300, random.Random(3).randbytes(300 * 300))
    assert len(png) > items_repo.INLINE_MAX
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    response = await create(client, model=SCOUT, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "look"}, {"type": "input_image", "image_url": url}]}])
    row = await db.prepare("SELECT data, object_key, bytes FROM items WHERE role = 'input'").first()
    assert row is not None and row["data"] is None and row["object_key"].startswith("items/")
    assert [o.key for o in await bucket.list("items/")] == [row["object_key"]]
    listed = (await client.get(f"/v1/responses/{response['id']}/input_items")).json()
    assert listed["data"][0]["content"][1]["image_url"] == url
    follow = await create(client, model=SCOUT, input="and now?", previous_response_id=response["id"])
    assert text_of(follow) == "I received 1 image: image/png."  # the chain reads the item back from R2
    assert (await client.delete(f"/v1/responses/{response['id']}")).status_code == 200
    assert await bucket.list("items/") == []


# ---- chains -----------------------------------------------------------------------------------


async def test_previous_response_id_three_turns_deep(client: httpx.AsyncClient, simulator: Simulator) -> None:
    previous = None
    for turn in ("one", "two", "three"):
        response = await create(client, input=f"echo: {turn}", previous_response_id=previous,
                                instructions=f"turn {turn}")
        previous = response["id"]
    messages = simulator.calls[-1][1]["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("system", "turn three"), ("user", "echo: one"), ("assistant", "one"), ("user", "echo: two"),
        ("assistant", "two"), ("user", "echo: three")]  # earlier instructions are not carried over
    assert response["previous_response_id"] is not None


class CountingD1(SQLiteD1):
    """D1 that counts the statements it runs (reads and writes)."""

    def __init__(self) -> None:
        super().__init__()
        self.selects = 0

    def prepare(self, sql: str) -> Any:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            self.selects += 1
        return super().prepare(sql)


@pytest.fixture
def db() -> SQLiteD1:
    from .conftest import ROOT

    database = CountingD1()
    database.apply_migrations(ROOT / "migrations")
    return database


async def test_a_20_turn_chain_is_read_in_two_queries(client: httpx.AsyncClient, db: CountingD1,
                                                      simulator: Simulator) -> None:
    previous = None
    for turn in range(20):
        previous = (await create(client, input=f"echo: {turn}", previous_response_id=previous))["id"]
    before = db.selects
    await create(client, input="echo: last", previous_response_id=previous)
    assert db.selects - before == 2  # the previous response's row, then the whole chain
    assert len(simulator.calls[-1][1]["messages"]) == 41


async def test_truncation(client: httpx.AsyncClient, simulator: Simulator) -> None:
    big = "word " * 60_000  # ~75,000 estimated tokens: past hermes' 24,000
    error = error_of(await client.post("/v1/responses", json={"model": HERMES, "input": big}), 400)
    assert error["code"] == "context_length_exceeded" and error["param"] == "input"
    first = await create(client, model=HERMES, input="echo: " + "x " * 30_000)  # ~15,000 tokens: fits
    chained = {"model": HERMES, "input": "echo: " + "y " * 30_000, "previous_response_id": first["id"]}
    error = error_of(await client.post("/v1/responses", json=chained), 400)
    assert error["code"] == "context_length_exceeded"
    trimmed = await create(client, **chained, truncation="auto")
    assert trimmed["status"] == "completed" and trimmed["truncation"] == "auto"
    sent = simulator.calls[-1][1]["messages"]
    assert len(sent) == 1 and sent[0]["content"].startswith("echo: y")


# ---- obfuscation -----------------------------------------------------------------------------

REASONS = {"model": "@cf/qwen/qwen3-30b-a3b-fp8", "input": "echo: the answer to it all", "reasoning": {"effort": "low"}}
CALLS = {"model": SCOUT, "input": 'call:get_weather {"city": "Paris"}', "tools": [WEATHER]}


@pytest.mark.parametrize("options", [None, {}, {"include_obfuscation": True}])
async def test_delta_events_carry_obfuscation_by_default(client: httpx.AsyncClient, options: Any) -> None:
    """OpenAI's ``ResponseStreamOptions.include_obfuscation``: "Stream obfuscation adds random characters to an
    `obfuscation` field on streaming delta events to normalize payload sizes … included by default"."""
    extra = {} if options is None else {"stream_options": options}
    kinds = set()
    for body in (REASONS, CALLS):
        r = await client.post("/v1/responses", json={**body, "stream": True, **extra})
        kinds |= obfuscated_kinds(sse_events(r))  # the events still match OpenAI's event schemas
    assert kinds == {"response.reasoning_text.delta", "response.output_text.delta",
                     "response.function_call_arguments.delta"}


async def test_include_obfuscation_false_leaves_it_out(client: httpx.AsyncClient) -> None:
    for body in (REASONS, CALLS):
        r = await client.post("/v1/responses", json={**body, "stream": True,
                                                     "stream_options": {"include_obfuscation": False}})
        assert "obfuscation" not in r.text
        assert any(e["type"].endswith(".delta") for e in sse_events(r))


async def test_obfuscation_is_random_and_never_stored(client: httpx.AsyncClient) -> None:
    """Added as an event is sent: two streams of the same text differ in it, and a resumed stream
    (``GET …?stream=true``) of a response streamed with it follows its own ``include_obfuscation``."""
    pads = []
    for _ in range(2):  # (in the background: OpenAI replays the streams of background responses only)
        events = sse_events(await client.post("/v1/responses", json={
            **REASONS, "stream": True, "background": True, "stream_options": {"include_obfuscation": True}}))
        pads.append([e["obfuscation"] for e in events if "obfuscation" in e])
    assert pads[0] != pads[1] and len(pads[0]) == len(pads[1]) > 0
    url = f"/v1/responses/{events[-1]['response']['id']}"
    r = await client.get(url, params={"stream": "true", "include_obfuscation": "false"})
    assert "obfuscation" not in r.text and sse_events(r)[-1]["response"] == events[-1]["response"]
    assert "obfuscation" not in (await client.get(url)).text


async def test_a_background_stream_carries_obfuscation_only_when_asked(client: httpx.AsyncClient) -> None:
    """OpenAI's background streams, and their replays (``GET …?stream=true``, with or without ``starting_after``),
    have no ``obfuscation`` on their deltas: pydantic/pydantic-ai's ``tests/models/cassettes/test_openai_responses/
    test_background_mode_streaming_vcr.yaml``, ``…_starting_after_vcr.yaml`` and ``…_continuation_vcr.yaml``
    (2026-02, the official client asking nothing of it). Asked for (``stream_options.include_obfuscation``, the
    ``include_obfuscation`` query parameter the official client sends), they carry it."""
    events = sse_events(await client.post("/v1/responses", json={**REASONS, "stream": True, "background": True}))
    assert any(e["type"].endswith(".delta") for e in events) and not any("obfuscation" in e for e in events)
    response = events[-1]["response"]
    url = f"/v1/responses/{response['id']}"
    for params in ({"stream": "true"}, {"stream": "true", "starting_after": "0"}):
        replayed = (await client.get(url, params=params)).text
        assert '.delta"' in replayed and "obfuscation" not in replayed
    kinds = obfuscated_kinds(sse_events(await client.get(url, params={"stream": "true", "include_obfuscation": "true"})))
    assert kinds == {"response.reasoning_text.delta", "response.output_text.delta"}
    later = await client.get(url, params={"stream": "true", "starting_after": "3", "include_obfuscation": "true"})
    tail = [json.loads(line[6:]) for line in later.text.split("\n") if line.startswith("data: ")]
    assert obfuscated_kinds(checked(tail, first=4))
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    for include, carried in ((None, False), (False, False), (True, True)):
        options = {} if include is None else {"include_obfuscation": include}
        stream = await official.responses.retrieve(response["id"], stream=True, **options)
        deltas = [event async for event in stream if event.type.endswith(".delta")]
        assert deltas and all(hasattr(event, "obfuscation") is carried for event in deltas)
    asked = sse_events(await client.post("/v1/responses", json={
        **REASONS, "stream": True, "background": True, "stream_options": {"include_obfuscation": True}}))
    assert obfuscated_kinds(asked) == kinds


async def test_a_bad_boolean_or_integer_query_value_is_a_400_naming_it(client: httpx.AsyncClient) -> None:
    """``stream`` and ``include_obfuscation`` are booleans in OpenAI's spec (the official client sends ``true`` /
    ``false``), ``starting_after`` an integer: another value is a 400 naming it, not taken for true (or a 500)."""
    response = await in_background(client, input="echo: flags")
    url = f"/v1/responses/{response['id']}"
    for params, param in (({"stream": "true", "include_obfuscation": "maybe"}, "include_obfuscation"),
                          ({"include_obfuscation": "nope"}, "include_obfuscation"),
                          ({"stream": "sometimes"}, "stream"),
                          ({"stream": "true", "starting_after": "--3"}, "starting_after"),
                          ({"stream": "true", "starting_after": "1.5"}, "starting_after")):
        assert error_of(await client.get(url, params=params), 400)["param"] == param, params
    r = await client.get(url, params={"stream": "True", "include_obfuscation": "False"})
    assert "obfuscation" not in r.text and sse_events(r)[-1]["response"] == response
    assert (await client.get(url, params={"stream": "false"})).json() == response


def test_dumps_event_pads_every_kind_of_delta() -> None:
    """Any ``response.….delta`` event (a refusal's, a summary's too), whatever its delta's length; the field is
    in its alphabetical place, before ``output_index``, as in OpenAI's streams of 2026 (openai/openai-dotnet
    tests/SessionRecords/ResponsesTests/ReasoningStreamingWorks.json: ``…"item_id":…,"obfuscation":"7",
    "output_index":0,"sequence_number":4,"summary_index":0}``), and the rest of the event is as without it."""
    for kind in ("response.output_text.delta", "response.refusal.delta", "response.reasoning_summary_text.delta",
                 "response.function_call_arguments.delta"):
        for delta in ("", "P", "**Craft", "x" * 16, "é" * 17, '"\\', ',"output_index":'):
            event = {"type": kind, "delta": delta, "item_id": "msg_1", "output_index": 0, "sequence_number": 3}
            encoded = objects.dumps_event(event, obfuscate=True)
            decoded = json.loads(encoded)
            assert list(decoded) == ["type", "delta", "item_id", "obfuscation", "output_index", "sequence_number"]
            assert obfuscated_kinds([decoded]) == {kind}
            assert {k: v for k, v in decoded.items() if k != "obfuscation"} == event
            assert objects.dumps_event(event) == json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    done = {"type": "response.output_text.done", "sequence_number": 4, "text": "P"}
    assert "obfuscation" not in objects.dumps_event(done, obfuscate=True)


# ---- stored responses ------------------------------------------------------------------------


async def in_background(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """A response streamed in the background, as stored (OpenAI replays no other:
    :func:`test_only_a_background_response_is_replayed`)."""
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, **body, "background": True,
                                                                 "stream": True}))
    response: dict[str, Any] = events[-1]["response"]
    return response


async def test_only_a_background_response_is_replayed(client: httpx.AsyncClient) -> None:
    """OpenAI keeps the events of a background response only: ``GET …?stream=true`` of another, streamed or not,
    is its 400 (``param`` ``stream``), and the official client's ``responses.stream(response_id=…)`` raises it."""
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    streamed = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", "stream": True}))
    for response in (await create(client, input="echo: not kept"), streamed[-1]["response"]):
        url = f"/v1/responses/{response['id']}"
        assert error_of(await client.get(url, params={"stream": "true"}), 400) == {
            "message": "This response cannot be streamed because it was not created with background=true.",
            "type": "invalid_request_error", "param": "stream", "code": "invalid_request_error"}
        assert (await client.get(url, params={"stream": "false"})).json() == response
        with pytest.raises(BadRequestError, match="not created with background=true"):
            async with official.responses.stream(response_id=response["id"]) as stream:
                [event async for event in stream]
    assert error_of(await client.get("/v1/responses/resp_unknown", params={"stream": "true"}), 404)


async def test_a_background_response_created_without_stream_is_not_replayed(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenAI resumes the stream of a background response created with ``stream: true`` only (its background guide:
    "create a Response with both background and stream set to true"): ``GET …?stream=true`` of one created without,
    queued or done, is its 400 (``param`` ``stream``), and the official client's ``responses.stream(response_id=…)``
    raises it; a plain ``GET`` returns it, and one created with ``stream`` is still replayed."""
    monkeypatch.setattr(responses_route, "FOLLOW_LOOKS", 1)  # (were it followed, not for long)
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    queued = await create(client, input="echo: polled", background=True)
    url = f"/v1/responses/{queued['id']}"
    refused = {"message": "This response cannot be streamed because it was not created with stream=true.",
               "type": "invalid_request_error", "param": "stream", "code": "invalid_request_error"}
    assert error_of(await client.get(url, params={"stream": "true"}), 400) == refused
    await app.state.ctx.backends.jobs.drain(app.state.ctx)
    assert text_of((await client.get(url)).json()) == "polled"
    for params in ({"stream": "true"}, {"stream": "true", "starting_after": "2"}):
        assert error_of(await client.get(url, params=params), 400) == refused
    with pytest.raises(BadRequestError, match="not created with stream=true"):
        async with official.responses.stream(response_id=queued["id"]) as stream:
            [event async for event in stream]
    streamed = await in_background(client, input="echo: kept")
    assert sse_events(await client.get(f"/v1/responses/{streamed['id']}", params={"stream": "true"}))[-1][
        "response"] == streamed


async def test_retrieve_replays_the_stream(client: httpx.AsyncClient, app: Any) -> None:
    """A background response generated by its job (its stream's client left before it began) is replayed with one
    delta an item."""
    queued = await left_before_it_began(app.state.ctx, model="@cf/qwen/qwen3-30b-a3b-fp8", input="echo: replayed")
    await app.state.ctx.backends.jobs.drain(app.state.ctx)
    response = (await client.get(f"/v1/responses/{queued}")).json()
    assert response["status"] == "completed"
    r = await client.get(f"/v1/responses/{response['id']}", params={"stream": "true"})
    events = sse_events(r)
    assert events[-1]["response"] == response
    assert [i["id"] for i in events[-1]["response"]["output"]] == [i["id"] for i in response["output"]]
    later = await client.get(f"/v1/responses/{response['id']}", params={"stream": "true", "starting_after": "3"})
    tail = [json.loads(line[6:]) for line in later.text.split("\n") if line.startswith("data: ")]
    checked(tail, first=4)
    # Not streamed, its replay has one delta an item: a client that followed a longer stream (one a job finished
    # after its client left) and asks to start after its end gets the ending, numbered on, not an endless stream.
    beyond = len(events) + 40
    r = await client.get(f"/v1/responses/{response['id']}", params={"stream": "true", "starting_after": beyond})
    [ending] = checked([json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")], beyond + 1)
    assert ending == {**events[-1], "sequence_number": beyond + 1}


async def test_the_official_clients_stream_helper_resumes_a_stored_response(client: httpx.AsyncClient,
                                                                           app: Any) -> None:
    """``responses.stream(response_id=…)`` (a replay) accumulates the items from their events: the replay's
    ``response.created`` holds none of them yet (else: "Duplicate response output index 0")."""
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    queued = await left_before_it_began(app.state.ctx, model="@cf/qwen/qwen3-30b-a3b-fp8", input="echo: before")
    await app.state.ctx.backends.jobs.drain(app.state.ctx)  # (the model thinks: a reasoning item, then the message)
    response = await official.responses.retrieve(queued)
    async with official.responses.stream(response_id=response.id) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds.count("response.output_item.added") == len(response.output) == 2
    assert final.output_text == response.output_text == "before"
    assert [item.id for item in final.output] == [item.id for item in response.output]


def without_obfuscation(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in event.items() if k != "obfuscation"} for event in events]


TWO_CALLS = {"model": SCOUT, "tools": [WEATHER],
             "input": 'call:get_weather {"city": "Paris"}\ncall:get_weather {"city": "Lyon"}'}


@pytest.mark.parametrize("body", [REASONS, CALLS, TWO_CALLS, {"model": LLAMA, "input": "echo: " + "word " * 40}])
async def test_a_streamed_responses_replay_is_its_stream(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """``GET …?stream=true`` of a streamed response sends the events its stream sent, numbered as they were
    (OpenAI keeps a stream's events): a client resuming it from the last number it saw (``starting_after``, or
    the official client's ``responses.stream(response_id=…, starting_after=…)``) gets the rest of it — every
    delta it had not seen, and the closing event — never a gap, a repeat or a stream with no end."""
    live = without_obfuscation(sse_events(await client.post("/v1/responses", json={**body, "stream": True,
                                                                                     "background": True})))
    assert len([e for e in live if e["type"].endswith(".delta")]) > len(live[-1]["response"]["output"])
    url = f"/v1/responses/{live[-1]['response']['id']}"
    assert without_obfuscation(sse_events(await client.get(url, params={"stream": "true"}))) == live
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    for seen in (2, len(live) // 2, len(live) - 2):
        r = await client.get(url, params={"stream": "true", "starting_after": str(seen)})
        tail = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")]
        assert without_obfuscation(checked(tail, first=seen + 1)) == live[seen + 1:]
        async with official.responses.stream(response_id=live[0]["response"]["id"], starting_after=seen) as stream:
            rest = [(event.type, event.sequence_number) async for event in stream]
            final = await stream.get_final_response()
        assert rest == [(e["type"], e["sequence_number"]) for e in live[seen + 1:]]
        assert final.output_text == text_of(live[-1]["response"])
        assert final.id == live[-1]["response"]["id"] and final.status == live[-1]["response"]["status"]
        assert [item.id for item in final.output] == [item["id"] for item in live[-1]["response"]["output"]]


async def test_a_stream_too_long_to_keep_is_replayed_with_one_delta_an_item(client: httpx.AsyncClient,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Past :data:`runner.SHAPED_EVENTS` events a stream's shape is not stored (a D1 row holds 2 MB): its replay is
    still OpenAI's event sequence, one delta an item."""
    monkeypatch.setattr(runner, "SHAPED_EVENTS", 10)
    live = sse_events(await client.post("/v1/responses", json={**REASONS, "stream": True, "background": True}))
    assert len(live) > 10
    replayed = sse_events(await client.get(f"/v1/responses/{live[-1]['response']['id']}", params={"stream": "true"}))
    assert [e for e in replayed if e["type"].endswith(".delta")] and len(replayed) < len(live)
    assert replayed[-1]["response"] == live[-1]["response"]


async def test_delete(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    """The deleted object as OpenAI answers it (openai/openai-dotnet,
    tests/SessionRecords/ResponsesTests/CanDeleteResponse.json: ``DELETE /v1/responses/{id}``)."""
    response = await create(client, input="echo: bye")
    r = await client.delete(f"/v1/responses/{response['id']}")
    assert list(r.json().items()) == [("id", response["id"]), ("object", "response.deleted"), ("deleted", True)]
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/input_items")):
        assert (await client.request(method, f"/v1/responses/{response['id']}{path}")).status_code == 404
    assert (await db.prepare("SELECT COUNT(*) AS n FROM items").first()) == {"n": 0}


async def test_a_message_lists_its_members_as_openai_does(client: httpx.AsyncClient) -> None:
    """A message item is ``id, type, status, content, role`` and an ``output_text`` part ``type, annotations,
    logprobs, text``, in that order, wherever OpenAI answers one: the output (also streamed), the input items,
    a conversation's items, a compaction's kept messages. Sources, all openai/openai-dotnet
    tests/SessionRecords/ResponsesTests/: CanDeleteResponse.json (client 2.13.0, POST and GET /v1/responses),
    ResponseUsingConversations.json (GET /v1/conversations/{id}/items: the user's and the assistant's),
    CanCompactConversation.json (POST /v1/responses/compact: the kept user message)."""
    message, text = ["id", "type", "status", "content", "role"], ["type", "annotations", "logprobs", "text"]
    response = await create(client, input=[{"type": "message", "role": "user",
                                            "content": [{"type": "input_text", "text": "Hello, model!"}]},
                                           {"role": "assistant", "content": "Hi."}, {"role": "user", "content": "x"}])
    assert list(response["output"][0]) == message and list(response["output"][0]["content"][0]) == text
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()["output"][0]
    assert list(stored) == message and list(stored["content"][0]) == text
    given = (await client.get(f"/v1/responses/{response['id']}/input_items", params={"order": "asc"})).json()["data"]
    assert all(list(item) == message for item in given) and list(given[1]["content"][0]) == text
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", "stream": True}))
    items = [e["item"] for e in events if e["type"].startswith("response.output_item.")]
    parts = [e["part"] for e in events if e["type"].startswith("response.content_part.")]
    assert items and all(list(item) == message for item in items) and all(list(p) == text for p in parts)
    compacted = (await client.post("/v1/responses/compact", json={"model": LLAMA, "input": given})).json()
    assert list(compacted["output"][0]) == message


async def test_another_keys_response_is_a_404_but_admins_see_it(client: httpx.AsyncClient) -> None:
    response = await create(client, input="echo: mine")
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/input_items"), ("POST", "/cancel")):
        error = error_of(await client.request(method, f"/v1/responses/{response['id']}{path}", headers=other), 404)
        assert error == {"message": f"Response with id '{response['id']}' not found.", "type": "invalid_request_error",
                         "param": None, "code": None}  # OpenAI's (openai/openai-dotnet's and BerriAI/litellm's tests)
    error = error_of(await client.post("/v1/responses", headers=other, json={
        "model": LLAMA, "input": "hi", "previous_response_id": response["id"]}), 400)  # as an unknown one
    assert error["code"] == "previous_response_not_found" and error["param"] == "previous_response_id"
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert (await client.get(f"/v1/responses/{response['id']}", headers=admin)).json() == response


# ---- input_tokens, compact ---------------------------------------------------------------------


async def test_input_tokens_is_an_estimate_that_grows_with_the_input(client: httpx.AsyncClient) -> None:
    counts = []
    for text in ("hi", "hello " * 100):
        r = await client.post("/v1/responses/input_tokens", json={"model": LLAMA, "input": text, "tools": [WEATHER]})
        assert r.status_code == 200, r.text
        assert_matches(r.json(), "TokenCountsResource")
        counts.append(r.json()["input_tokens"])
    assert 0 < counts[0] < counts[1]


async def test_client_3_63_request_options_are_taken_or_refused_by_name(client: httpx.AsyncClient) -> None:
    """access_programs, image and prompt_cache_options.ttl 12h (OpenAI's client 3.63.0): what this server does
    anyway is taken (Standard, no image compression, no prompt cache); what it cannot do is a 400 naming it."""
    await create(client, input="echo: hi", access_programs={"cyber": "standard"},
                 image={"context_compression": "disabled"}, prompt_cache_options={"ttl": "12h", "mode": "implicit"},
                 background_options={"completion_window": "soonest", "continuation_id": "c-1"})
    for fields, param in [
        ({"access_programs": {"cyber": "daybreak_blue"}}, "access_programs.cyber"),
        ({"image": {"context_compression": "enabled"}}, "image.context_compression"),
    ]:
        error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", **fields}), 400)
        assert error["param"] == param and "is not supported here" in error["message"], error
    # "The `2h` and `8h` completion windows require `background: true` … and `stream: false` or omitted."
    for fields in ({}, {"background": True, "stream": True}):
        error = error_of(await client.post("/v1/responses", json={
            "model": LLAMA, "input": "hi", "background_options": {"completion_window": "8h"}, **fields}), 400)
        assert error["param"] == "background_options.completion_window", error
    r = await client.post("/v1/responses/compact", json={"model": LLAMA, "input": "echo: hi",
                                                         "image": {"context_compression": "auto"}})
    assert r.status_code == 200, r.text
    r = await client.post("/v1/responses/compact", json={"model": LLAMA, "input": "echo: hi",
                                                         "image": {"context_compression": "enabled"}})
    assert error_of(r, 400)["param"] == "image.context_compression"


async def test_compact_keeps_the_user_messages_and_makes_an_item_that_feeds_back(
    client: httpx.AsyncClient, simulator: Simulator
) -> None:
    """As OpenAI's compacted window: the user messages as they were, then one ``compaction`` item for the
    rest (the assistant's answers, tool calls, reasoning); fed back as input, it continues the conversation."""
    first = await create(client, input="echo: we chose blue")
    r = await client.post("/v1/responses/compact", json={
        "model": LLAMA, "previous_response_id": first["id"], "input": [{"role": "user", "content": "echo: and red"}],
        "safety_identifier": "user-42"})
    assert r.status_code == 200, r.text
    compacted = r.json()
    assert_matches(compacted, "CompactResource")
    assert compacted["safety_identifier"] == "user-42"  # openai-python 3.63's CompactedResponse shows it
    kept, item = compacted["output"][:-1], compacted["output"][-1]
    assert [(m["type"], m["role"], m["status"], m["content"]) for m in kept] == [
        ("message", "user", "completed", [{"type": "input_text", "text": text}])
        for text in ("echo: we chose blue", "echo: and red")]
    stored_input = (await client.get(f"/v1/responses/{first['id']}/input_items")).json()["data"]
    assert kept[0]["id"] == stored_input[0]["id"] and kept[1]["id"].startswith("msg_")  # as stored, or new
    assert item["type"] == "compaction" and item["id"].startswith("cmp_")
    follow = await create(client, input=[*kept, item, {"role": "user", "content": "echo: go on"}])
    sent = simulator.calls[-1][1]["messages"]
    assert [m["role"] for m in sent] == ["user", "user", "system", "user"]
    assert sent[2]["content"].startswith("A summary of the conversation so far:")
    assert text_of(follow) == "go on"
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "compaction", "encrypted_content": "c29tZXRoaW5n"}]}), 400)
    assert error["param"] == "input[0].encrypted_content"
    assert error_of(await client.post("/v1/responses/compact", json={"input": "x"}), 400)["param"] == "model"
    # an unknown key in the Responses API's words (OpenAI's remote compaction: "Unknown parameter:
    # 'prompt_cache_retention'.", code unknown_parameter, in a public repository's tests)
    error = error_of(await client.post("/v1/responses/compact", json={"model": LLAMA, "input": "x", "bogus": 1}), 400)
    assert (error["message"], error["param"], error["code"]) == ("Unknown parameter: 'bogus'.", "bogus",
                                                                 "unknown_parameter")
    # its prompt_cache_options: the two keys client 3.63's response_compact_params lists, no other
    compact = {"model": LLAMA, "input": "echo: x"}
    r = await client.post("/v1/responses/compact", json={**compact, "prompt_cache_options": {"mode": "implicit",
                                                                                            "ttl": "30m"}})
    assert r.status_code == 200, r.text
    error = error_of(await client.post("/v1/responses/compact", json={
        **compact, "prompt_cache_options": {"prewarm": True}}), 400)
    assert (error["message"], error["param"], error["code"]) == (
        "Unknown parameter: 'prompt_cache_options.prewarm'.", "prompt_cache_options.prewarm", "unknown_parameter")


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "param", "needle"), [
    ({"input": [{"type": "web_search_call", "id": "ws_1", "status": "completed",
                 "action": {"type": "search", "query": "x"}}]}, "input[0].type", "not supported"),
    ({"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0].status", "Missing"),
    ({"input": [{"role": "robot", "content": "hi"}]}, "input[0].role", "user"),
    ({"input": [{"role": "user"}]}, "input[0].content", "Missing"),
    ({"input": [{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]}, "input[0].content[0].type",
     "input_text"),
    ({"input": [{"role": "user", "content": "x", "phase": "final_answer"}]}, "input[0].phase", "assistant"),
    ({"input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}]}, "input",
     "No tool call found for function call output with call_id call_x"),
    ({"input": [{"role": "user", "content": "hi"},
                {"type": "function_call", "call_id": "call_y", "name": "f", "arguments": "{}"},
                {"role": "user", "content": "and?"}]}, "input", "No tool output found for function call call_y."),
    ({"input": [{"type": "function_call", "call_id": "call_z", "name": "f", "arguments": "{}"}]}, "input",
     "No tool output found for function call call_z."),
    ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id", "Missing"),
    ({"input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type", "function"),
    ({"input": "hi", "tools": [{"type": "function", "name": "f", "strict": True,
                                "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}]},
     "tools[0].parameters", "additionalProperties"),
    ({"input": "hi", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice.name",
     "nope"),
    ({"input": "hi", "tool_choice": "required"}, "tool_choice", "tool"),
    ({"input": "hi", "text": {"format": {"type": "json_object"}}}, "input", "json"),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "s"}}}, "text.format.schema", "Missing"),
    ({"input": "hi", "background": True, "store": False}, "store", "store"),
    ({"input": "hi", "prompt": {"id": "pmpt_1"}}, "prompt", "not supported"),
    ({"input": "hi", "include": ["everything"]}, "include[0]", "everything"),
    ({"input": "hi", "previous_response_id": "resp_x", "conversation": "conv_y"}, "previous_response_id",
     "together"),
    ({}, "input", "Missing required parameter: 'input'."),
    ({"input": "hi", "reasoning": {"effort": "high"}}, "reasoning.effort", "not supported"),
    ({"input": "hi", "tools": [WEATHER], "model": "@cf/meta/llama-3.1-8b-instruct"}, "tools", "tools"),
    ({"input": "hi", "bogus": 1}, "bogus", "Unknown parameter: 'bogus'."),
])
async def test_bad_requests_are_400s_naming_the_param(client: httpx.AsyncClient, body: dict[str, Any], param: str,
                                                      needle: str) -> None:
    body.setdefault("model", LLAMA)
    error = error_of(await client.post("/v1/responses", json=body), 400)
    assert error["param"] == param and needle.lower() in error["message"].lower(), error


NO_INPUT = {"message": "One of \"input\" or \"previous_response_id\" or 'prompt' or 'conversation' must be provided.",
            "type": "invalid_request_error", "param": None, "code": "missing_required_parameter"}


@pytest.mark.parametrize(("body", "error"), [
    # OpenAI's (gpt-5.6-terra, observed 2026-08-30 in a public repository's tests of its error bodies), for an
    # input left out, and one empty with nothing else to answer ([] or "": both, before the model's own 400s)
    ({}, {"message": "Missing required parameter: 'input'.", "type": "invalid_request_error", "param": "input",
          "code": "missing_required_parameter"}),
    ({"input": []}, NO_INPUT),
    ({"input": ""}, NO_INPUT),
    ({"input": [], "model": "@cf/openai/gpt-oss-20b", "presence_penalty": 0.5}, NO_INPUT),
    ({"input": "hi", "messages": [{"role": "user", "content": "hi"}]},
     {"message": "Unsupported parameter: 'messages'. In the Responses API, this parameter has moved to 'input'. Try "
                 "again with the new parameter. See the API documentation for more information: "
                 "https://platform.openai.com/docs/api-reference/responses/create.",
      "type": "invalid_request_error", "param": None, "code": "unsupported_parameter"}),
    ({"input": "hi", "messages": None}, {"param": None, "code": "unsupported_parameter"}),
    # an unknown key, in the Responses API's words, not chat completions' ("Unrecognized request argument
    # supplied: system", no code); also OpenAI's answer to o3-deep-research sent chat's 'system'
    ({"input": "hi", "system": "be brief"},
     {"message": "Unknown parameter: 'system'.", "type": "invalid_request_error", "param": "system",
      "code": "unknown_parameter"}),
    # summary's deprecated old name (in OpenAI's spec and client), which OpenAI refuses as unknown (also
    # openai/openai-go#392, 2025-05, the same body)
    ({"input": "hi", "reasoning": {"generate_summary": "concise"}},
     {"message": "Unknown parameter: 'reasoning.generate_summary'.", "type": "invalid_request_error",
      "param": "reasoning.generate_summary", "code": "unknown_parameter"}),
    # an unknown key inside reasoning, text, text.format (a key another format type has: OpenAI's 400 for a text
    # format's 'name' in public repositories' tests) and stream_options (gpt-5.6-terra, observed 2026-08-30)
    ({"input": "hi", "reasoning": {"foo": 1}},
     {"message": "Unknown parameter: 'reasoning.foo'.", "type": "invalid_request_error", "param": "reasoning.foo",
      "code": "unknown_parameter"}),
    ({"input": "hi", "text": {"foo": 1}},
     {"message": "Unknown parameter: 'text.foo'.", "type": "invalid_request_error", "param": "text.foo",
      "code": "unknown_parameter"}),
    ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "s", "schema": {}, "foo": 1}}},
     {"message": "Unknown parameter: 'text.format.foo'.", "type": "invalid_request_error", "param": "text.format.foo",
      "code": "unknown_parameter"}),
    ({"input": "hi", "text": {"format": {"type": "text", "name": "s"}}},
     {"message": "Unknown parameter: 'text.format.name'.", "type": "invalid_request_error", "param": "text.format.name",
      "code": "unknown_parameter"}),
    ({"input": "hi", "text": {"format": {"type": "json_object", "schema": {}}}},
     {"message": "Unknown parameter: 'text.format.schema'.", "type": "invalid_request_error", "param": "text.format.schema",
      "code": "unknown_parameter"}),
    ({"input": "hi", "stream": True, "stream_options": {"foo": True}},
     {"message": "Unknown parameter: 'stream_options.foo'.", "type": "invalid_request_error", "param": "stream_options.foo",
      "code": "unknown_parameter"}),
    # and inside prompt_cache_options, a context_management entry and a configuration_update item, at any depth
    # (OpenAI's words for an input item's unknown key: {"code":"unknown_parameter","message":"Unknown parameter:
    # 'input[2].status'.","param":"input[2].status"} in a public gateway's tests)
    ({"input": "hi", "prompt_cache_options": {"ttl": "30m", "foo": 1}},
     {"message": "Unknown parameter: 'prompt_cache_options.foo'.", "type": "invalid_request_error",
      "param": "prompt_cache_options.foo", "code": "unknown_parameter"}),
    ({"input": "hi", "context_management": [{"type": "compaction"}, {"type": "compaction", "threshold": 1000}]},
     {"message": "Unknown parameter: 'context_management[1].threshold'.", "type": "invalid_request_error",
      "param": "context_management[1].threshold", "code": "unknown_parameter"}),
    *[({"model": "@cf/openai/gpt-oss-20b", "input": [{"role": "user", "content": "hi"},
                                                   {"type": "configuration_update", **update}]},
       {"message": f"Unknown parameter: '{param}'.", "type": "invalid_request_error", "param": param,
        "code": "unknown_parameter"})
      for update, param in (
          ({"reasoning": {"effort": "low"}, "status": "completed"}, "input[1].status"),
          ({"reasoning": {"effort": "low", "summary": "auto"}}, "input[1].reasoning.summary"),
          ({"text": {"format": {"type": "text"}, "verbosity": "low"}}, "input[1].text.verbosity"),
          ({"text": {"format": {"type": "text", "name": "x"}}}, "input[1].text.format.name"),
          ({"text": {"format": {"type": "json_schema", "name": "x", "schema": {}, "foo": 1}}},
           "input[1].text.format.foo"))],
])
async def test_what_openai_refuses_is_refused_in_its_words(client: httpx.AsyncClient, simulator: Simulator,
                                                           body: dict[str, Any], error: dict[str, Any]) -> None:
    calls = len(simulator.calls)
    got = error_of(await client.post("/v1/responses", json={"model": LLAMA, **body}), 400)
    assert {k: got[k] for k in error} == error
    assert len(simulator.calls) == calls


async def test_an_empty_input_continues_a_chain_or_a_conversation(client: httpx.AsyncClient,
                                                                  simulator: Simulator) -> None:
    """Only an empty input with nothing before it is refused: with a previous response or a conversation, the
    model reads what they hold."""
    first = await create(client, input="echo: first")
    await create(client, input=[], previous_response_id=first["id"])
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: first", "first"]
    conversation = (await client.post("/v1/conversations", json={"items": [
        {"role": "user", "content": "echo: held"}]})).json()["id"]
    await create(client, input="", conversation=conversation)
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]][0] == "echo: held"


@pytest.mark.parametrize(("item", "prefix"), [
    ({"type": "message", "role": "user", "content": "hi", "id": "item_1"}, "msg"),
    ({"role": "assistant", "content": "hi", "id": "019f629b-43ee-7a82-acb1-3071dbffbdad"}, "msg"),
    ({"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}", "id": "call_1"}, "fc"),
    ({"type": "reasoning", "summary": [], "id": "item_df7e40c3f04fc8ade5c3800e"}, "rs"),
])
async def test_an_item_id_with_another_types_prefix_is_openais_400(client: httpx.AsyncClient, item: dict[str, Any],
                                                                   prefix: str) -> None:
    """OpenAI checks a sent item's id against its type's prefix (``msg``, ``fc``, ``rs``): 400 ``invalid_id_prefix``,
    in a response's input as in the items added to a conversation."""
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"role": "user", "content": "first"}, item, {"role": "user", "content": "hi"}]})
    assert error_of(r, 400) == {"message": f"Invalid 'input[1].id': '{item['id']}'. Expected an ID that begins with "
                                           f"'{prefix}'.", "type": "invalid_request_error", "param": "input[1].id",
                                "code": "invalid_id_prefix"}
    r = await client.post("/v1/conversations", json={"items": [item]})
    assert error_of(r, 400)["param"] == "items[0].id"


async def test_unknown_previous_response_and_conversation(client: httpx.AsyncClient) -> None:
    """An unknown previous response is OpenAI's 400 (a capture of api.openai.com of 2026-09-17: HTTP 400,
    ``{"message": "Previous response with id 'resp_000…' not found.", "type": "invalid_request_error", "param":
    "previous_response_id", "code": "previous_response_not_found"}``), not a 404."""
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi",
                                                              "previous_response_id": "resp_nope"}), 400)
    assert error == {"message": "Previous response with id 'resp_nope' not found.", "type": "invalid_request_error",
                     "param": "previous_response_id", "code": "previous_response_not_found"}
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "hi",
                                                              "conversation": "conv_nope"}), 404)
    # OpenAI's, observed 2026-08-30 (gpt-5.6-terra; a public repository's tests of its error bodies): no param, no code
    assert error == {"message": "Conversation with id 'conv_nope' not found.", "type": "invalid_request_error",
                     "param": None, "code": None}
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": "msg_nope"}]}), 404)
    assert error["param"] == "input[0].id"


async def test_item_references_read_stored_items(client: httpx.AsyncClient, simulator: Simulator) -> None:
    first = await create(client, input=[{"role": "user", "content": "echo: remembered", "id": "msg_ref1"}])
    await create(client, input=[{"type": "item_reference", "id": "msg_ref1"},
                                {"type": "item_reference", "id": first["output"][0]["id"]},
                                {"role": "user", "content": "echo: next"}])
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: remembered", "remembered",
                                                                          "echo: next"]


async def test_an_admin_keys_item_reference_reads_any_keys_item(client: httpx.AsyncClient,
                                                                 simulator: Simulator) -> None:
    await create(client, input=[{"role": "user", "content": "echo: mine", "id": "msg_mine"}])
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    r = await client.post("/v1/responses", headers=admin, json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": "msg_mine"}, {"role": "user", "content": "echo: next"}]})
    assert r.status_code == 200, r.text
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: mine", "echo: next"]
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    error = error_of(await client.post("/v1/responses", headers=other, json={"model": LLAMA, "input": [
        {"type": "item_reference", "id": "msg_mine"}]}), 404)
    assert error["param"] == "input[0].id"


async def test_model_failures(client: httpx.AsyncClient, db: SQLiteD1) -> None:
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "fail:503"}), 503)
    assert error["type"] == "server_error"
    assert (await db.prepare("SELECT COUNT(*) AS n FROM responses").first()) == {"n": 0}  # nothing stored
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "fail-mid:500", "stream": True})
    events = sse_events(r)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    stored = (await client.get(f"/v1/responses/{failed['id']}")).json()
    assert stored["status"] == "failed" and stored["error"] == failed["error"] and stored["output"] == []
    # A stream whose model refuses the request before answering is an HTTP error, not an event.
    error = error_of(await client.post("/v1/responses", json={"model": LLAMA, "input": "fail:400", "stream": True}),
                     400)


# ---- gateway-run tools ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_a_gateway_run_tool_is_run_by_the_server(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
                                                       stream: bool) -> None:
    """The plug-in point file_search uses: a registered tool type is offered to the model as a function;
    the server runs its calls, adds the item it answers, and calls the model again."""
    from openai_workers_ai.runner import responses as runner
    from openai_workers_ai.runner.gateway import Ran
    from openai_workers_ai.workers_ai import spec

    ran: list[str] = []

    class Lookup:  # registered as web_search: a hosted type OpenAI's schemas know
        type = "web_search"
        function = spec.Tool("lookup", "Look it up.", {
            "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
        working = None

        async def check(self, ctx: Any, declared: dict[str, Any], index: int, reader: str | None) -> None:
            pass

        def begin(self, arguments: str, fallback: str) -> dict[str, Any]:
            return {"id": "fc_lookup", "type": "function_call", "status": "in_progress", "call_id": "call_lookup",
                    "name": "lookup", "arguments": arguments}

        async def run(self, ctx: Any, declared: dict[str, Any], item: dict[str, Any], budget: int, first: int) -> Ran:
            ran.append(json.loads(item["arguments"])["query"])
            return Ran({**item, "status": "completed"}, "found: the manual says 42")

    monkeypatch.setitem(runner.GATEWAY_TOOLS, "web_search", Lookup())
    body = {"model": SCOUT, "input": 'call:lookup {"query": "answer"}', "stream": stream,
            "tools": [{"type": "web_search"}]}
    r = await client.post("/v1/responses", json=body)
    response = sse_events(r)[-1]["response"] if stream else r.json()
    assert_matches(response, "Response")
    assert ran == ["answer"]
    assert [i["type"] for i in response["output"]] == ["function_call", "message"]
    assert text_of(response) == "Tool results: found: the manual says 42"


@pytest.mark.parametrize("repeat", ["input", "chain"])
async def test_an_input_repeating_an_item_id_is_openais_400_before_the_model_runs(
    client: httpx.AsyncClient, simulator: Simulator, repeat: str
) -> None:
    """As OpenAI answers a client that replays items it already sent (in the same input, or those of the
    ``previous_response_id`` chain): "Duplicate item found with id …", ``param: input``."""
    first = await create(client, model=LLAMA, input="echo: first")
    said = first["output"][0]
    body: dict[str, Any] = {"model": LLAMA, "input": [said, {"role": "user", "content": "echo: next"}, said]}
    if repeat == "chain":
        body = {"model": LLAMA, "previous_response_id": first["id"],
                "input": [said, {"role": "user", "content": "echo: next"}]}
    before = len(simulator.calls)
    r = await client.post("/v1/responses", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "message": f"Duplicate item found with id {said['id']}. Remove duplicate items from your input and try again.",
        "type": "invalid_request_error", "param": "input", "code": None}
    assert len(simulator.calls) == before
    # the same items, each once, are taken
    body["input"] = body["input"][1:] if repeat == "chain" else body["input"][:2]
    assert (await client.post("/v1/responses", json=body)).status_code == 200


async def test_an_id_with_characters_no_id_has_is_openais_400(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """As OpenAI answers a template placeholder left in ``previous_response_id`` or an empty item id."""
    before = len(simulator.calls)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "hi", "previous_response_id": "@results.ress"})
    assert r.status_code == 400 and r.json()["error"] == {
        "message": "Invalid 'previous_response_id': '@results.ress'. Expected an ID that contains letters, numbers, "
                   "underscores, or dashes, but this value contained additional characters.",
        "type": "invalid_request_error", "param": "previous_response_id", "code": None}, r.text
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": [
        {"type": "message", "role": "user", "content": "hi"},
        {"type": "function_call", "id": "", "call_id": "c1", "name": "f", "arguments": "{}"}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input[1].id", r.text
    assert r.json()["error"]["message"].startswith("Invalid 'input[1].id': ''. Expected an ID that contains letters")
    assert len(simulator.calls) == before
