"""The file_search tool in ``/v1/responses``: the gateway runs the search the model asks for, adds a
``file_search_call`` item (results when ``include`` asks), and the answer cites the files it used —
JSON and SSE, filters, several stores, forced choices, chains, background, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.ports import Database
from openai_workers_ai.simulator import Simulator, chat_behaviour

from .conftest import ADMIN_KEY, OTHER_KEY
from .openapi import assert_matches
from .responses_util import left_before_it_began, sse_events
from .test_file_search import ATTRIBUTES, CORPUS, corpus_store
from .vector_stores_util import drain, store_reads, store_with

SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # tools and tool_choice
HERMES = "@hf/nousresearch/hermes-2-pro-mistral-7b"  # tools, but no tool_choice: a forced call is constrained output
RESULTS = "file_search_call.results"
QUESTION = "How do I reset my password?"
ANSWER = "To reset a forgotten password, open Settings, choose Security and press Reset password."


def file_search(*store_ids: str, **options: Any) -> dict[str, Any]:
    return {"type": "file_search", "vector_store_ids": list(store_ids), **options}


async def respond(client: httpx.AsyncClient, *, stream: bool = False, **body: Any) -> dict[str, Any]:
    body.setdefault("model", SCOUT)
    r = await client.post("/v1/responses", json={**body, "stream": stream})
    if stream:
        events = sse_events(r)  # each event checked against OpenAI's schemas, and the sequence's order
        response: dict[str, Any] = events[-1]["response"]
        response["_events"] = events
        return response
    assert r.status_code == 200, r.text
    response = r.json()
    assert_matches(response, "Response")
    return response


def call_of(response: dict[str, Any]) -> dict[str, Any]:
    calls = [i for i in response["output"] if i["type"] == "file_search_call"]
    assert len(calls) == 1
    return calls[0]


def answer_of(response: dict[str, Any]) -> dict[str, Any]:
    message = response["output"][-1]
    assert message["type"] == "message"
    part: dict[str, Any] = message["content"][0]
    return part


async def test_a_search_reads_its_store_once(client: httpx.AsyncClient, app: Any, db: Database,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store_id, _ = await corpus_store(client, app)
    reads = store_reads(monkeypatch, db)
    response = await respond(client, input=QUESTION, tools=[file_search(store_id)])
    assert call_of(response)["status"] == "completed"
    # the caller's store checked when the request is made (404, 400), then read once when the search runs
    # (skipped if deleted or expired since; its last_active_at moved): not once more for the search itself
    assert len(reads) == 2 and "AND owner = ?" in reads[0] and "AND owner = ?" not in reads[1], reads


@pytest.mark.parametrize("stream", [False, True])
async def test_the_answer_comes_from_the_files_and_cites_them(client: httpx.AsyncClient, app: Any,
                                                              stream: bool) -> None:
    store_id, ids = await corpus_store(client, app)
    # streamed in the background, to replay it (OpenAI replays the streams of background responses only)
    response = await respond(client, stream=stream, background=stream, input=QUESTION, tools=[file_search(store_id)])
    assert [i["type"] for i in response["output"]] == ["file_search_call", "message"]
    call = call_of(response)
    assert call["status"] == "completed" and call["queries"] == [QUESTION] and call["results"] is None
    assert call["id"].startswith("fs_")
    part = answer_of(response)
    assert part["text"] == ANSWER  # the best result's first sentence, its marker taken out
    assert part["annotations"] == [{"type": "file_citation", "file_id": ids["passwords.md"],
                                    "filename": "passwords.md", "index": len(ANSWER)}]
    assert response["tools"] == [{"type": "file_search", "vector_store_ids": [store_id], "filters": None,
                                  "max_num_results": 20, "ranking_options": {"ranker": "auto",
                                                                             "score_threshold": 0.0}}]
    if stream:
        events = response["_events"]
        kinds = [e["type"] for e in events]
        search = kinds.index("response.file_search_call.in_progress")
        assert kinds[search - 1:search + 4] == [
            "response.output_item.added", "response.file_search_call.in_progress",
            "response.file_search_call.searching", "response.file_search_call.completed",
            "response.output_item.done"]
        assert events[search - 1]["item"]["status"] == "in_progress"
        # added before the search, without its queries yet (openai/openai-dotnet tests/SessionRecords/
        # ResponsesToolTests/FileSearchCallStreaming.json: {"id":"fs_…","type":"file_search_call",
        # "status":"in_progress","queries":[],"results":null}), which come with output_item.done
        assert events[search - 1]["item"] == {**call, "status": "in_progress", "queries": [], "results": None}
        assert events[search + 3]["item"] == call
        added = [e for e in events if e["type"] == "response.output_text.annotation.added"]
        assert [e["annotation"] for e in added] == part["annotations"] and added[0]["annotation_index"] == 0
        assert kinds.index("response.output_text.annotation.added") < kinds.index("response.output_text.done")
        shown = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        assert shown == ANSWER  # the marker never reached the client
        # a replay (a resumed stream) sends these very events, the search's and the citation's in their places
        replayed = sse_events(await client.get(f"/v1/responses/{response['id']}", params={"stream": "true"}))
        unpadded = [{k: v for k, v in e.items() if k != "obfuscation"} for e in events[:-1]]
        assert [{k: v for k, v in e.items() if k != "obfuscation"} for e in replayed[:-1]] == unpadded
        assert replayed[-1]["response"] == {k: v for k, v in response.items() if k != "_events"}
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()
    assert stored["output"][-1]["content"][0] == part and call_of(stored)["results"] is None


async def test_a_tool_without_max_num_results_finds_up_to_twenty(client: httpx.AsyncClient, app: Any) -> None:
    """OpenAI's default for the Responses tool is 20 results (its echo in a recording of its traffic:
    pydantic/pydantic-ai's test_openai_responses_model_file_search_tool_with_results.yaml, 2025-12), where the
    store search endpoint's is 10."""
    notes = {f"note-{i}.md": f"Note {i}: to reset a password, open Settings (step {i})." for i in range(25)}
    store_id, _ = await store_with(client, app, notes)
    response = await respond(client, input=QUESTION, tools=[file_search(store_id)], include=[RESULTS])
    assert len(call_of(response)["results"]) == 20
    assert response["tools"][0]["max_num_results"] == 20
    # the echo's members in OpenAI's order (openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/
    # FileSearch.json, 2026-08: the tool sent as {type, vector_store_ids})
    assert response["tools"][0] == {"type": "file_search", "filters": None, "max_num_results": 20,
                                    "ranking_options": {"ranker": "auto", "score_threshold": 0.0},
                                    "vector_store_ids": [store_id]}
    assert list(response["tools"][0]) == ["type", "filters", "max_num_results", "ranking_options", "vector_store_ids"]


@pytest.mark.parametrize("stream", [False, True])
async def test_results_when_include_asks_for_them(client: httpx.AsyncClient, app: Any, stream: bool) -> None:
    store_id, ids = await corpus_store(client, app)
    response = await respond(client, stream=stream, input=QUESTION, tools=[file_search(store_id, max_num_results=2)],
                             include=[RESULTS])
    results = call_of(response)["results"]
    assert [r["filename"] for r in results][0] == "passwords.md" and len(results) == 2
    assert results[0] == {"file_id": ids["passwords.md"], "filename": "passwords.md", "score": results[0]["score"],
                          "attributes": ATTRIBUTES["passwords.md"], "text": CORPUS["passwords.md"]}
    assert 0 <= results[1]["score"] <= results[0]["score"] <= 1
    # stored whole: a later read shows them when it asks too
    url = f"/v1/responses/{response['id']}"
    assert call_of((await client.get(url)).json())["results"] is None
    assert call_of((await client.get(url, params={"include": RESULTS})).json())["results"] == results
    # a background stream's replay (OpenAI replays no other) shows them too when it asks
    body = {"model": SCOUT, "input": QUESTION, "tools": [file_search(store_id, max_num_results=2)],
            "include": [RESULTS]}
    if stream:
        response = await respond(client, stream=True, background=True, **body)
        url = f"/v1/responses/{response['id']}"
    else:  # its client left before it began: its job generates it
        url = f"/v1/responses/{await left_before_it_began(app.state.ctx, **body)}"
        await app.state.ctx.backends.jobs.drain(app.state.ctx)
        response = (await client.get(url, params={"include": RESULTS})).json()
    assert call_of(response)["results"] == results
    replayed = sse_events(await client.get(url, params={"stream": "true", "include[]": RESULTS}))
    assert [e["type"] for e in replayed].count("response.output_text.annotation.added") == 1
    assert call_of(replayed[-1]["response"]) == call_of(response)
    assert replayed[-1]["response"]["output"][-1] == response["output"][-1]


async def test_filters_and_several_stores(client: httpx.AsyncClient, app: Any, simulator: Simulator) -> None:
    store_id, ids = await corpus_store(client, app)
    other_store, other_ids = await store_with(client, app, {"faq.txt": "Passwords expire after ninety days."})
    account = {"type": "eq", "key": "topic", "value": "account"}
    response = await respond(client, input="security settings", include=[RESULTS],
                             tools=[file_search(store_id, filters=account)])
    assert {r["filename"] for r in call_of(response)["results"]} == {"passwords.md", "security.md"}
    both = await respond(client, input="passwords", include=[RESULTS], tools=[file_search(store_id, other_store)])
    assert {r["file_id"] for r in call_of(both)["results"]} >= {ids["passwords.md"], other_ids["faq.txt"]}
    threshold = await respond(client, input=QUESTION, include=[RESULTS],
                              tools=[file_search(store_id, ranking_options={"score_threshold": 0.5})])
    assert [r["filename"] for r in call_of(threshold)["results"]] == ["passwords.md"]
    # what the model read: the results numbered as sources, and asked to cite them
    tool_turn = simulator.calls[-1][1]["messages"][-1]
    assert tool_turn["role"] == "tool" and "[0] passwords.md\n# Resetting your password" in tool_turn["content"]


async def test_an_empty_search_and_a_store_deleted_since(client: httpx.AsyncClient, app: Any) -> None:
    empty = (await client.post("/v1/vector_stores", json={"name": "empty"})).json()["id"]
    response = await respond(client, input=QUESTION, include=[RESULTS], tools=[file_search(empty)])
    assert call_of(response)["results"] == [] and answer_of(response)["annotations"] == []
    assert answer_of(response)["text"].startswith("Tool results: The file search found nothing")
    store_id, _ = await corpus_store(client, app)
    queued = (await client.post("/v1/responses", json={"model": SCOUT, "input": QUESTION, "background": True,
                                                       "tools": [file_search(store_id)]})).json()
    assert (await client.delete(f"/v1/vector_stores/{store_id}")).status_code == 200
    await drain(app)  # checked when the request was made; gone when the search runs: skipped
    done = (await client.get(f"/v1/responses/{queued['id']}", params={"include": RESULTS})).json()
    assert done["status"] == "completed" and call_of(done)["results"] == []


@pytest.mark.parametrize("choice", ["required", {"type": "file_search"},
                                    {"type": "allowed_tools", "mode": "required", "tools": [{"type": "file_search"}]}])
@pytest.mark.parametrize("model", [SCOUT, HERMES])
async def test_a_forced_search_is_made_once_then_the_model_answers(client: httpx.AsyncClient, app: Any,
                                                                   choice: Any, model: str) -> None:
    store_id, _ = await corpus_store(client, app)
    response = await respond(client, model=model, input=QUESTION, tool_choice=choice, tools=[file_search(store_id)])
    assert [i["type"] for i in response["output"]] == ["file_search_call", "message"]
    assert call_of(response)["queries"] == [QUESTION]
    assert response["status"] == "completed" and answer_of(response)["text"] == ANSWER


async def test_the_model_may_ask_several_queries_and_search_again(client: httpx.AsyncClient, app: Any) -> None:
    store_id, ids = await corpus_store(client, app)
    directives = 'call:file_search {"queries": ["invoices", "holidays"]}'
    response = await respond(client, input=directives, include=[RESULTS], tools=[file_search(store_id)])
    call = call_of(response)
    assert call["queries"] == ["invoices", "holidays"]
    assert {r["filename"] for r in call["results"][:2]} == {"billing.md", "holidays.txt"}
    limited = await respond(client, input=QUESTION, max_tool_calls=1, tools=[file_search(store_id)])
    assert [i["type"] for i in limited["output"]] == ["file_search_call", "message"]


async def test_a_chain_continues_after_a_search(client: httpx.AsyncClient, app: Any, simulator: Simulator) -> None:
    store_id, _ = await corpus_store(client, app)
    first = await respond(client, input=QUESTION, tools=[file_search(store_id)])
    second = await respond(client, input="echo: thanks", previous_response_id=first["id"])
    assert answer_of(second)["text"] == "thanks"
    turns = simulator.calls[-1][1]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"] and turns[1]["content"] == ANSWER
    # the output sent back as input (as the Agents SDK does without previous_response_id)
    replayed = await respond(client, input=[*[{k: v for k, v in i.items()} for i in first["output"]],
                                            {"role": "user", "content": "echo: again"}])
    assert answer_of(replayed)["text"] == "again"
    items = (await client.get(f"/v1/responses/{replayed['id']}/input_items", params={"order": "asc"})).json()
    assert items["data"][0]["type"] == "file_search_call" and items["data"][0]["results"] is None


async def test_in_the_background(client: httpx.AsyncClient, app: Any) -> None:
    store_id, ids = await corpus_store(client, app)
    r = await client.post("/v1/responses", json={"model": SCOUT, "input": QUESTION, "background": True,
                                                  "tools": [file_search(store_id)]})
    assert r.status_code == 200 and r.json()["status"] == "queued"
    await drain(app)
    done = (await client.get(f"/v1/responses/{r.json()['id']}", params={"include": RESULTS})).json()
    assert_matches(done, "Response")
    assert done["status"] == "completed" and call_of(done)["results"][0]["file_id"] == ids["passwords.md"]
    assert answer_of(done)["annotations"][0]["file_id"] == ids["passwords.md"]


@pytest.mark.parametrize("background", [False, True])
async def test_max_tool_calls_caps_the_searches_in_the_background_too(client: httpx.AsyncClient, app: Any,
                                                                     background: bool) -> None:
    store_id, _ = await corpus_store(client, app)
    two = 'call:file_search {"queries": ["invoices"]}\ncall:file_search {"queries": ["holidays"]}'
    body = {"model": SCOUT, "input": two, "tools": [file_search(store_id)], "include": [RESULTS],
            "background": background}
    uncapped = (await client.post("/v1/responses", json=body)).json()
    capped = (await client.post("/v1/responses", json={**body, "max_tool_calls": 1})).json()
    await drain(app)
    uncapped, capped = [(await client.get(f"/v1/responses/{r['id']}", params={"include": RESULTS})).json()
                        for r in (uncapped, capped)]
    assert [i["type"] for i in uncapped["output"]] == ["file_search_call", "file_search_call", "message"]
    assert [i["type"] for i in capped["output"]] == ["file_search_call", "message"]  # the second call ignored
    assert capped["max_tool_calls"] == 1 and call_of(capped)["queries"] == ["invoices"]
    assert call_of(capped)["results"]  # include holds for the job as for the request


async def test_an_answer_without_markers_cites_what_it_used(client: httpx.AsyncClient, app: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store_id, ids = await corpus_store(client, app)
    original = chat_behaviour.cited_answer
    monkeypatch.setattr(chat_behaviour, "cited_answer", lambda results: (original(results) or "").rsplit(" [", 1)[0])
    for stream in (False, True):
        response = await respond(client, stream=stream, input=QUESTION, tools=[file_search(store_id)])
        assert answer_of(response) == {"type": "output_text", "text": ANSWER, "logprobs": [], "annotations": [
            {"type": "file_citation", "file_id": ids["passwords.md"], "filename": "passwords.md",
             "index": len(ANSWER)}]}


async def test_input_tokens_counts_the_search_function(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    body = {"model": SCOUT, "input": QUESTION}
    plain = (await client.post("/v1/responses/input_tokens", json=body)).json()["input_tokens"]
    r = await client.post("/v1/responses/input_tokens", json={**body, "tools": [file_search(store_id)]})
    assert r.status_code == 200 and r.json()["input_tokens"] > plain


async def test_another_keys_store_is_not_found(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    body = {"model": SCOUT, "input": QUESTION, "tools": [file_search(store_id)]}
    r = await client.post("/v1/responses", json=body, headers={"authorization": f"Bearer {OTHER_KEY}"})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["param"] == "tools[0].vector_store_ids" and store_id in r.json()["error"]["message"]
    admin = await client.post("/v1/responses", json=body, headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert admin.status_code == 200


async def test_an_expired_store_is_refused(client: httpx.AsyncClient, app: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store_id = (await client.post("/v1/vector_stores", json={
        "expires_after": {"anchor": "last_active_at", "days": 1}})).json()["id"]
    ctx = app.state.ctx
    later = int(ctx.clock() + 2 * 86400)
    monkeypatch.setattr(type(ctx), "now", lambda self: later)
    r = await client.post("/v1/responses", json={"model": SCOUT, "input": QUESTION, "tools": [file_search(store_id)]})
    assert r.status_code == 400 and "expired" in r.json()["error"]["message"]


@pytest.mark.parametrize(("tool", "param"), [
    ({"type": "file_search"}, "tools[0].vector_store_ids"),
    ({"type": "file_search", "vector_store_ids": "vs_1"}, "tools[0].vector_store_ids"),
    (file_search("vs_nope"), "tools[0].vector_store_ids"),
    (file_search(max_num_results=51), "tools[0].max_num_results"),
    (file_search(filters={"type": "eq", "key": "topic"}), "tools[0].filters.value"),
    (file_search(filters={"type": "near", "key": "k", "value": 1}), "tools[0].filters.type"),
    (file_search(ranking_options={"ranker": "best"}), "tools[0].ranking_options.ranker"),
    (file_search(ranking_options={"score_threshold": 2}), "tools[0].ranking_options.score_threshold"),
    (file_search(bogus=1), "tools[0].bogus"),
])
async def test_bad_file_search_tools(client: httpx.AsyncClient, tool: dict[str, Any], param: str) -> None:
    r = await client.post("/v1/responses", json={"model": SCOUT, "input": "hi", "tools": [tool]})
    assert r.status_code in (400, 404), r.text
    assert_matches(r.json(), "ErrorResponse")
    assert r.json()["error"]["param"] == param, r.text


async def test_at_most_ten_stores_a_search(client: httpx.AsyncClient, app: Any) -> None:
    # Their ids and the files pushed to the index make one Vectorize filter (under 2,048 bytes).
    store_id, _ = await corpus_store(client, app)
    r = await client.post("/v1/responses", json={"model": SCOUT, "input": "hi",
                                                 "tools": [file_search(*[store_id] * 11)]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "array_above_max_length", r.text
    assert r.json()["error"]["param"] == "tools[0].vector_store_ids"


async def test_one_search_tool_and_no_function_of_its_name(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    twice = await client.post("/v1/responses", json={"model": SCOUT, "input": "hi",
                                                     "tools": [file_search(store_id), file_search(store_id)]})
    assert twice.status_code == 400 and twice.json()["error"]["param"] == "tools[1]"
    named = {"type": "function", "name": "file_search", "parameters": {"type": "object", "properties": {}}}
    clash = await client.post("/v1/responses", json={"model": SCOUT, "input": "hi",
                                                     "tools": [file_search(store_id), named]})
    assert clash.status_code == 400 and clash.json()["error"]["param"] == "tools[1].name"
    alone = await client.post("/v1/responses", json={"model": SCOUT, "input": "call:file_search", "tools": [named]})
    assert alone.status_code == 200 and alone.json()["output"][-1]["type"] == "function_call"  # the client's own


async def test_a_conversations_items_show_results_when_included(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    conversation = (await client.post("/v1/conversations", json={})).json()["id"]
    await respond(client, input=QUESTION, conversation=conversation, tools=[file_search(store_id)])
    url = f"/v1/conversations/{conversation}/items"
    listed = (await client.get(url, params={"order": "asc"})).json()["data"]
    assert [i["type"] for i in listed] == ["message", "file_search_call", "message"] and listed[1]["results"] is None
    included = (await client.get(url, params={"order": "asc", "include[]": RESULTS})).json()["data"]
    assert included[1]["results"][0]["filename"] == "passwords.md"
    one = (await client.get(f"{url}/{listed[1]['id']}", params={"include": RESULTS})).json()
    assert one == included[1]
