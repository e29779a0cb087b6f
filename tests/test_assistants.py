"""``/v1/assistants``: create, list (paged), retrieve, modify, delete; the tools on offer; ownership."""

from __future__ import annotations

import httpx
import pytest

from .assistants import (
    ASSISTANT_MEMBERS,
    LLAMA,
    SCOUT,
    WEATHER,
    WEATHER_SHOWN,
    assistant,
    error_of,
    listed,
    ok,
    run,
    thread,
)
from .conftest import ADMIN_KEY, OTHER_KEY


async def test_create_shows_every_field_as_openai_does(client: httpx.AsyncClient) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
    created = await assistant(client, name="Weather", description="Says the weather", metadata={"team": "a"},
                              temperature=0.3, top_p=0.9, response_format=fmt)
    assert created["id"].startswith("asst_") and created["object"] == "assistant"
    assert created["model"] == SCOUT and created["instructions"] == "Be brief."
    assert created["name"] == "Weather" and created["description"] == "Says the weather"
    assert created["tools"] == [WEATHER_SHOWN] and created["tool_resources"] == {}
    assert created["metadata"] == {"team": "a"} and created["temperature"] == 0.3 and created["top_p"] == 0.9
    assert created["response_format"] == fmt
    assert await ok(client.get(f"/v1/assistants/{created['id']}"), "AssistantObject") == created


SEARCH_SHOWN = {"type": "file_search", "file_search": {
    "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0, "hybrid_search": None}}}
"""``{"type": "file_search"}`` as OpenAI shows it on an assistant and its runs (the official client's print
of one: ``FileSearch(max_num_results=None, ranking_options=FileSearchRankingOptions(score_threshold=0.0,
ranker='default_2024_08_21'))``), with ``hybrid_search: null`` as OpenAI's answers show it (openai/openai-dotnet
tests/SessionRecords/AssistantsTests/BasicAssistantOperationsWork.json, FileSearchWorks.json)."""


async def test_tools_and_resources_show_openais_defaults(client: httpx.AsyncClient) -> None:
    strict = {"type": "function", "function": {"name": "lookup", "strict": True, "parameters": {
        "type": "object", "properties": {}, "required": [], "additionalProperties": False}}}
    created = await assistant(client, tools=[{"type": "file_search"}, WEATHER, strict])
    assert created["tools"] == [SEARCH_SHOWN, WEATHER_SHOWN, strict]
    # an assistant with the file_search tool and no store shows an empty file_search resource
    assert created["tool_resources"] == {"file_search": {"vector_store_ids": []}}
    assert await ok(client.get(f"/v1/assistants/{created['id']}"), "AssistantObject") == created
    # a run shows its tools the same way, and tool_resources {} (OpenAI's runs: tool_resources={})
    started = await run(client, (await thread(client, "echo: hi"))["id"], created["id"])
    assert started["tools"] == [SEARCH_SHOWN, WEATHER_SHOWN, strict] and started["tool_resources"] == {}
    given = {"type": "file_search",
             "file_search": {"max_num_results": 5, "ranking_options": {"ranker": "auto", "score_threshold": 0.4}}}
    changed = await ok(client.post(f"/v1/assistants/{created['id']}", json={"tools": [given]}), "AssistantObject")
    assert changed["tools"] == [{"type": "file_search", "file_search": {
        "max_num_results": 5, "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.4,
                                                   "hybrid_search": None}}}]
    # what it shows is accepted back as it is
    again = await ok(client.post(f"/v1/assistants/{created['id']}", json={"tools": changed["tools"]}),
                     "AssistantObject")
    assert again["tools"] == changed["tools"]


async def test_a_function_without_parameters_shows_openais_empty_ones(client: httpx.AsyncClient) -> None:
    """A function given without ``parameters`` shows ``{"type": "object", "properties": {}}``, its members in
    OpenAI's order (openai/openai-dotnet tests/SessionRecords/AssistantsTests/StreamingToolCall().json: sent as
    ``{"description", "name"}``, shown ``{"name", "description", "parameters", "strict": false}``), on the
    assistant and on its runs."""
    bare = {"type": "function", "function": {"description": "Gets the user's current weather",
                                             "name": "get_current_weather"}}
    shown = {"type": "function", "function": {"name": "get_current_weather",
                                              "description": "Gets the user's current weather",
                                              "parameters": {"type": "object", "properties": {}}, "strict": False}}
    created = await assistant(client, tools=[bare])
    assert created["tools"] == [shown] and list(created["tools"][0]["function"]) == list(shown["function"])
    started = await run(client, (await thread(client, "echo: hi"))["id"], created["id"])
    assert started["tools"] == [shown]
    # what it shows is accepted back as it is
    again = await ok(client.post(f"/v1/assistants/{created['id']}", json={"tools": created["tools"]}))
    assert again["tools"] == [shown]


async def test_defaults_and_the_model_named_as_the_client_named_it(client: httpx.AsyncClient) -> None:
    created = await ok(client.post("/v1/assistants", json={"model": "gpt-4o-mini"}), "AssistantObject")
    assert created["model"] == "gpt-4o-mini"
    assert created["tools"] == [] and created["metadata"] == {} and created["response_format"] == "auto"
    assert created["name"] is None and created["instructions"] is None
    # OpenAI's defaults shown ("If not set, defaults to 1"; its examples' 1.0), as the clients print them
    assert created["temperature"] == 1.0 and created["top_p"] == 1.0


async def test_an_assistant_lists_its_members_in_openais_order(client: httpx.AsyncClient) -> None:
    """As OpenAI's answers list them: ``top_p``, ``temperature``, ``reasoning_effort`` after ``tools``,
    ``response_format`` last (openai/openai-dotnet tests/SessionRecords/AssistantsTests/
    BasicAssistantOperationsWork.json: create, modify, retrieve, list)."""
    created = await ok(client.post("/v1/assistants", json={"model": "gpt-4o"}), "AssistantObject")
    assert list(created) == ASSISTANT_MEMBERS
    changed = await ok(client.post(f"/v1/assistants/{created['id']}", json={"name": "test assistant name"}))
    assert list(changed) == ASSISTANT_MEMBERS
    assert list(await ok(client.get(f"/v1/assistants/{created['id']}"))) == ASSISTANT_MEMBERS
    assert [list(a) for a in await listed(client, "/v1/assistants", "ListAssistantsResponse")] == [ASSISTANT_MEMBERS]


async def test_openai_beta_header_is_accepted_not_required(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/assistants", json={"model": SCOUT}, headers={"OpenAI-Beta": "assistants=v2"})
    assert r.status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/assistants"), ("GET", "/v1/assistants"), ("POST", "/v1/threads"), ("POST", "/v1/threads/runs"),
    ("GET", "/v1/threads/thread_x/messages"), ("GET", "/v1/threads/thread_x/runs/run_x/steps"),
])
async def test_the_v1_beta_header_is_openais_400(client: httpx.AsyncClient, method: str, path: str) -> None:
    """An application still on Assistants v1 (``OpenAI-Beta: assistants=v1``, as old clients send) gets
    OpenAI's answer, quoted in client issues (supershaneski/openai-assistants-api-multi-user-sample#4,
    JZO001/Forge.OpenAI#25: code ``invalid_beta``), not v2 answers to v1 bodies it would misread."""
    r = await client.request(method, path, json={"model": SCOUT}, headers={"OpenAI-Beta": "assistants=v1"})
    error = error_of(r, 400)
    assert error == {"message": "The v1 Assistants API has been deprecated. Please try again by setting the header "
                                "'OpenAI-Beta: assistants=v2'. See the migration guide for more information: "
                                "https://platform.openai.com/docs/assistants/migration.",
                     "type": "invalid_request_error", "param": None, "code": "invalid_beta"}


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"tools": [{"type": "code_interpreter"}]}, "tools[0].type", "not offered"),
    ({"tools": [WEATHER, {"type": "file_search"}, {"type": "file_search"}]}, "tools[2]", "Only one"),
    ({"tools": [{"type": "file_search"}, {"type": "function", "function": {"name": "file_search"}}]},
     "tools[1].function.name", "file_search tool"),
    ({"tools": [{"type": "file_search", "file_search": {"ranking_options": {"ranker": "auto"}}}]},
     "tools[0].file_search.ranking_options.score_threshold", "Missing"),
    ({"tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
     "tools[0].file_search.max_num_results", ""),
    ({"tool_resources": {"code_interpreter": {"file_ids": ["file-x"]}}}, "tool_resources.code_interpreter",
     "not offered"),
    ({"tools": [WEATHER, WEATHER]}, "tools[1].function.name", "Duplicate"),
    ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name", ""),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "too many properties"),
    ({"metadata": {"k" * 65: "v"}}, "metadata", "key too long"),
    ({"metadata": {"k": "v" * 513}}, "metadata.k", "string too long"),
    ({"temperature": 2.5}, "temperature", ""),
    ({"top_p": "1"}, "top_p", ""),
    ({"name": "n" * 257}, "name", ""),
    ({"response_format": "json"}, "response_format", ""),
    ({"reasoning_effort": "extreme"}, "reasoning_effort", ""),
    ({"unknown": 1}, "unknown", "Unrecognized"),
])
async def test_bad_fields_are_400s_naming_the_param(client: httpx.AsyncClient, body: dict, param: str,
                                                    words: str) -> None:
    error = error_of(await client.post("/v1/assistants", json={"model": SCOUT, **body}), 400)
    assert error["param"] == param and words in error["message"]
    assert error["type"] == "invalid_request_error"


async def test_a_model_that_cannot_serve_the_settings_is_refused_at_once(client: httpx.AsyncClient) -> None:
    error = error_of(await client.post("/v1/assistants", json={"model": LLAMA, "tools": [WEATHER]}), 400)
    assert error["param"] == "tools"
    error = error_of(await client.post("/v1/assistants", json={"model": "gpt-9-turbo"}), 404)
    assert error["code"] == "model_not_found"
    error = error_of(await client.post("/v1/assistants", json={"model": "@cf/baai/bge-m3"}), 400)
    assert error["param"] == "model"
    error = error_of(await client.post("/v1/assistants", json={}), 400)
    assert error["param"] == "model"


async def test_reasoning_effort_where_the_model_reasons(client: httpx.AsyncClient) -> None:
    created = await ok(client.post("/v1/assistants", json={"model": "@cf/openai/gpt-oss-20b",
                                                           "reasoning_effort": "low"}), "AssistantObject")
    assert created["reasoning_effort"] == "low"
    # gpt-oss always reasons: `none` (the Agents SDK's default for the GPT-5.x names) runs as low, its least
    none = await ok(client.post("/v1/assistants", json={"model": "@cf/openai/gpt-oss-20b", "reasoning_effort": "none"}))
    assert none["reasoning_effort"] == "none"
    error = error_of(await client.post("/v1/assistants", json={"model": SCOUT, "reasoning_effort": "low"}), 400)
    assert error["param"] == "reasoning_effort" and error["code"] == "unsupported_parameter"


async def test_modify_changes_only_what_is_sent(client: httpx.AsyncClient) -> None:
    created = await assistant(client, name="A", metadata={"a": "1"})
    changed = await ok(client.post(f"/v1/assistants/{created['id']}",
                                   json={"name": None, "instructions": "Be long.", "metadata": {"b": "2"},
                                         "tools": []}), "AssistantObject")
    assert changed["name"] is None and changed["instructions"] == "Be long."
    assert changed["metadata"] == {"b": "2"} and changed["tools"] == []
    assert changed["model"] == SCOUT and changed["created_at"] == created["created_at"]
    assert await ok(client.get(f"/v1/assistants/{created['id']}")) == changed
    # the settings are checked against the (new) model, and nothing is written when they fail
    error = error_of(await client.post(f"/v1/assistants/{created['id']}",
                                       json={"model": LLAMA, "tools": [WEATHER]}), 400)
    assert error["param"] == "tools"
    assert (await ok(client.get(f"/v1/assistants/{created['id']}")))["model"] == SCOUT


async def test_modify_tool_resources(client: httpx.AsyncClient) -> None:
    created = await assistant(client, tools=[{"type": "file_search"}])
    url = f"/v1/assistants/{created['id']}"
    store = await ok(client.post("/v1/vector_stores", json={"name": "kb"}))
    named = {"file_search": {"vector_store_ids": [store["id"]]}}
    changed = await ok(client.post(url, json={"tool_resources": named}), "AssistantObject")
    assert changed["tool_resources"] == named and changed["tools"] == created["tools"]
    assert await ok(client.get(url)) == changed
    # refused, and nothing written: code_interpreter files, a store that is not the caller's, two stores
    for body, status, param in (
        ({"code_interpreter": {"file_ids": ["file-x"]}}, 400, "tool_resources.code_interpreter"),
        ({"file_search": {"vector_store_ids": ["vs_nope"]}}, 404, "tool_resources.file_search.vector_store_ids"),
        ({"file_search": {"vector_store_ids": [store["id"]], "vector_stores": [{"file_ids": []}]}}, 400,
         "tool_resources.file_search"),
    ):
        error = error_of(await client.post(url, json={"tool_resources": body, "name": "changed"}), status)
        assert error["param"] == param
        assert await ok(client.get(url)) == changed
    other = error_of(await client.post(url, json={"tool_resources": named}, headers={"authorization": f"Bearer {OTHER_KEY}"}),
                     404)
    assert other["param"] is None
    # a store made from vector_stores replaces the named one; an empty object clears them
    made = await ok(client.post(url, json={"tool_resources": {"file_search": {"vector_stores": [{"file_ids": []}]}}}),
                    "AssistantObject")
    [made_id] = made["tool_resources"]["file_search"]["vector_store_ids"]
    assert made_id != store["id"] and (await ok(client.get(f"/v1/vector_stores/{made_id}")))["id"] == made_id
    cleared = await ok(client.post(url, json={"tool_resources": {}}), "AssistantObject")
    empty = {"file_search": {"vector_store_ids": []}}  # OpenAI's show of no store beside the file_search tool
    assert cleared["tool_resources"] == empty and (await ok(client.get(url)))["tool_resources"] == empty


async def test_delete_leaves_its_threads(client: httpx.AsyncClient) -> None:
    created = await assistant(client)
    kept = await thread(client, "hello")
    deleted = await ok(client.delete(f"/v1/assistants/{created['id']}"), "DeleteAssistantResponse")
    assert deleted == {"id": created["id"], "object": "assistant.deleted", "deleted": True}
    for r in (await client.get(f"/v1/assistants/{created['id']}"), await client.delete(f"/v1/assistants/{created['id']}"),
              await client.post(f"/v1/assistants/{created['id']}", json={"name": "x"})):
        assert error_of(r, 404)["message"] == f"No assistant found with id '{created['id']}'."
    assert (await ok(client.get(f"/v1/threads/{kept['id']}")))["id"] == kept["id"]
    r = await client.post(f"/v1/threads/{kept['id']}/runs", json={"assistant_id": created["id"]})
    assert error_of(r, 404)["message"] == f"No assistant found with id '{created['id']}'."


async def test_list_pages_both_ways(client: httpx.AsyncClient) -> None:
    ids = [(await assistant(client, name=str(i)))["id"] for i in range(7)]
    first = await ok(client.get("/v1/assistants?limit=3"), "ListAssistantsResponse")
    assert [a["id"] for a in first["data"]] == ids[::-1][:3] and first["has_more"] is True
    assert first["first_id"] == ids[6] and first["last_id"] == ids[4]
    second = await ok(client.get(f"/v1/assistants?limit=3&after={first['last_id']}"))
    third = await ok(client.get(f"/v1/assistants?limit=3&after={second['last_id']}"))
    assert [a["id"] for a in second["data"] + third["data"]] == ids[::-1][3:]
    assert second["has_more"] is True and third["has_more"] is False
    ascending = await listed(client, f"/v1/assistants?order=asc&after={ids[1]}&before={ids[5]}",
                             "ListAssistantsResponse")
    assert [a["id"] for a in ascending] == ids[2:5]
    assert len(await listed(client, "/v1/assistants", "ListAssistantsResponse")) == 7  # default limit 20
    for query, param in (("limit=0", "limit"), ("limit=101", "limit"), ("order=up", "order")):
        assert error_of(await client.get(f"/v1/assistants?{query}"), 400)["param"] == param


async def test_another_key_sees_nothing_and_an_admin_key_sees_all(client: httpx.AsyncClient) -> None:
    mine = await assistant(client)
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    for r in (await client.get(f"/v1/assistants/{mine['id']}", headers=other),
              await client.post(f"/v1/assistants/{mine['id']}", json={"name": "x"}, headers=other),
              await client.delete(f"/v1/assistants/{mine['id']}", headers=other)):
        error_of(r, 404)
    assert await listed(client, "/v1/assistants", "ListAssistantsResponse") != []
    assert (await ok(client.get("/v1/assistants", headers=other)))["data"] == []
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert [a["id"] for a in (await ok(client.get("/v1/assistants", headers=admin)))["data"]] == [mine["id"]]
    assert (await ok(client.get(f"/v1/assistants/{mine['id']}", headers=admin)))["id"] == mine["id"]
