"""The file_search tool in Assistants runs: the gateway searches the thread's and the assistant's vector
stores as a ``tool_calls`` step (results' content when ``include[]`` asks), the model goes on with the
results, and its reply cites them — background and streamed, forced, beside function calls, errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openai import AsyncAssistantEventHandler, AsyncOpenAI

from openai_workers_ai.app import create_app
from openai_workers_ai.context import AppContext
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.ports import Backends, Database
from openai_workers_ai.runner import file_search_tool
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator, chat_behaviour

from .assistants import CALL_WEATHER, LLAMA, WEATHER, assistant, error_of, events, finished, listed, names, ok, run
from .assistants import thread as new_thread
from .conftest import KEY, OTHER_KEY, START, Clock
from .openapi import assert_matches
from .test_file_search import ATTRIBUTES, CORPUS, corpus_store
from .vector_stores_util import drain, store_reads, store_with, upload

CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
QUESTION = "How do I reset my password?"
ANSWER = "To reset a forgotten password, open Settings, choose Security and press Reset password."
SEARCH = {"type": "file_search"}
SEARCH_SHOWN = {"type": "file_search", "file_search": {
    "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0, "hybrid_search": None}}}


@pytest.fixture
def ctx(app: Any) -> AppContext:
    context: AppContext = app.state.ctx
    return context


async def searching_assistant(client: httpx.AsyncClient, store_id: str | None, **fields: Any) -> dict[str, Any]:
    resources = {"file_search": {"vector_store_ids": [store_id]}} if store_id else {}
    return await assistant(client, tools=[SEARCH], tool_resources=resources, **fields)


async def steps_of(client: httpx.AsyncClient, done: dict[str, Any], include: bool = False) -> list[dict[str, Any]]:
    url = f"/v1/threads/{done['thread_id']}/runs/{done['id']}/steps?order=asc"
    return await listed(client, url + (f"&include[]={CONTENT}" if include else ""), "ListRunStepsResponse")


async def reply_of(client: httpx.AsyncClient, thread_id: str) -> dict[str, Any]:
    message = (await listed(client, f"/v1/threads/{thread_id}/messages", "ListMessagesResponse"))[0]
    assert message["role"] == "assistant"
    text: dict[str, Any] = message["content"][0]["text"]
    return text


async def test_a_run_searches_then_answers_citing_the_file(client: httpx.AsyncClient, app: Any, jobs: InProcessJobs,
                                                           ctx: AppContext) -> None:
    store_id, ids = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    assert asst["tools"] == [SEARCH_SHOWN] and asst["tool_resources"] == {"file_search": {"vector_store_ids": [store_id]}}
    created_thread = await new_thread(client, QUESTION)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert done["status"] == "completed" and done["usage"]["total_tokens"] > 0
    search, reply = await steps_of(client, done)
    assert search["type"] == "tool_calls" and search["status"] == "completed"
    (call,) = search["step_details"]["tool_calls"]
    assert call["type"] == "file_search" and call["id"].startswith("call_")
    assert call["file_search"]["ranking_options"] == {"ranker": "default_2024_08_21", "score_threshold": 0.0}
    results = call["file_search"]["results"]
    assert results[0]["file_id"] == ids["passwords.md"] and results[0]["file_name"] == "passwords.md"
    assert all("content" not in r for r in results) and len(results) == 4
    # each result's members as OpenAI's (FileSearchWorks.json): the file's attributes before the content
    assert [list(r) for r in results] == [["file_id", "file_name", "score", "attributes"]] * 4
    assert results[0]["attributes"] == ATTRIBUTES["passwords.md"]  # the file's in its store
    assert reply["type"] == "message_creation"
    assert search["usage"]["completion_tokens"] > 0 and reply["usage"]["completion_tokens"] > 0
    assert done["usage"]["completion_tokens"] == search["usage"]["completion_tokens"] + reply["usage"]["completion_tokens"]
    with_content = (await steps_of(client, done, include=True))[0]["step_details"]["tool_calls"][0]["file_search"]
    assert with_content["results"][0]["content"] == [{"type": "text", "text": CORPUS["passwords.md"]}]
    assert list(with_content["results"][0]) == ["file_id", "file_name", "score", "attributes", "content"]
    step = await ok(client.get(f"/v1/threads/{done['thread_id']}/runs/{done['id']}/steps/{search['id']}",
                               params={"include[]": CONTENT}), "RunStepObject")
    assert step["step_details"]["tool_calls"][0]["file_search"] == with_content
    text = await reply_of(client, created_thread["id"])
    assert text["value"] == f"{ANSWER} [0]"
    assert text["annotations"] == [{"type": "file_citation", "text": "[0]", "start_index": len(ANSWER) + 1,
                                    "end_index": len(ANSWER) + 4, "file_citation": {"file_id": ids["passwords.md"]}}]


async def test_a_search_reads_its_store_once(client: httpx.AsyncClient, app: Any, jobs: InProcessJobs,
                                             ctx: AppContext, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    store_id, _ = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)
    reads = store_reads(monkeypatch, db)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert done["status"] == "completed" and [s["type"] for s in await steps_of(client, done)] == [
        "tool_calls", "message_creation"]
    # made active when the run starts, then read once by its search (skipped if deleted or expired since)
    assert len(reads) == 2, reads


async def test_a_streamed_run(client: httpx.AsyncClient, app: Any) -> None:
    store_id, ids = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)
    url = f"/v1/threads/{created_thread['id']}/runs"
    pairs = events(await client.post(url, params={"include[]": CONTENT},
                                     json={"assistant_id": asst["id"], "stream": True}))
    assert names(pairs) == [
        "thread.run.created", "thread.run.queued", "thread.run.in_progress",
        "thread.run.step.created", "thread.run.step.in_progress", "thread.run.step.delta",
        "thread.run.step.completed",
        "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
        "thread.message.in_progress", *["thread.message.delta"] * (names(pairs).count("thread.message.delta")),
        "thread.message.completed", "thread.run.step.completed", "thread.run.completed"]
    searched = pairs[6][1]["step_details"]["tool_calls"][0]["file_search"]
    assert searched["results"][0]["content"][0]["text"].startswith("# Resetting your password")  # included
    # the delta naming the call brings its ranking options and no results yet, as OpenAI's
    # (openai/openai-dotnet tests/SessionRecords/AssistantsTests/FileSearchStreamingWorks.json)
    assert pairs[5][1]["delta"]["step_details"]["tool_calls"] == [
        {"index": 0, "id": pairs[6][1]["step_details"]["tool_calls"][0]["id"], "type": "file_search",
         "file_search": {"ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}, "results": []}}]
    deltas = [d["delta"]["content"][0]["text"] for n, d in pairs if n == "thread.message.delta"]
    assert "".join(t.get("value", "") for t in deltas) == f"{ANSWER} [0]"
    # streamed as OpenAI streams one, with its index and quote "" (FileSearchStreamingWorks.json)
    assert deltas[-1]["annotations"] == [{"index": 0, "type": "file_citation", "text": "[0]",
                                          "start_index": len(ANSWER) + 1, "end_index": len(ANSWER) + 4,
                                          "file_citation": {"file_id": ids["passwords.md"], "quote": ""}}]
    completed = pairs[-3][1]
    assert completed["content"][0]["text"]["annotations"] == [
        {"type": "file_citation", "text": "[0]", "start_index": len(ANSWER) + 1, "end_index": len(ANSWER) + 4,
         "file_citation": {"file_id": ids["passwords.md"]}}]
    # without include, a stream's steps show no content
    second = await new_thread(client, QUESTION)
    plain = events(await client.post(f"/v1/threads/{second['id']}/runs",
                                     json={"assistant_id": asst["id"], "stream": True}))
    assert all("content" not in r for r in plain[6][1]["step_details"]["tool_calls"][0]["file_search"]["results"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client marks the Assistants API deprecated
async def test_the_official_clients_stream_helper_reads_the_search_call(client: httpx.AsyncClient, app: Any) -> None:
    store_id, ids = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)
    created: list[Any] = []

    class Handler(AsyncAssistantEventHandler):
        async def on_tool_call_created(self, tool_call: Any) -> None:
            created.append(tool_call)

    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    async with official.beta.threads.runs.stream(thread_id=created_thread["id"], assistant_id=asst["id"],
                                                 event_handler=Handler()) as stream:
        await stream.until_done()
        run_id = (await stream.get_final_run()).id
    steps = await official.beta.threads.runs.steps.list(run_id, thread_id=created_thread["id"], order="asc")
    call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search" and call.file_search.results[0].file_id == ids["passwords.md"]
    # the call the helper saw created is the call the step holds (not its id twice over: 'call_…call_…')
    assert [(c.type, c.id) for c in created] == [("file_search", call.id)]


async def test_the_threads_and_the_assistants_stores_are_both_searched(
        client: httpx.AsyncClient, app: Any, jobs: InProcessJobs, ctx: AppContext, simulator: Simulator) -> None:
    store_id, ids = await corpus_store(client, app)
    thread_store, thread_ids = await store_with(client, app, {"faq.txt": "Passwords expire after ninety days."})
    asst = await searching_assistant(client, store_id, instructions="Answer from the files.")
    created_thread = await new_thread(client, "passwords",
                                      tool_resources={"file_search": {"vector_store_ids": [thread_store]}})
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    results = (await steps_of(client, done))[0]["step_details"]["tool_calls"][0]["file_search"]["results"]
    assert {r["file_id"] for r in results} >= {ids["passwords.md"], thread_ids["faq.txt"]}
    # the model read them numbered, as sources to cite
    tool_turn = simulator.calls[-1][1]["messages"][-1]
    assert tool_turn["role"] == "tool" and "[0] " in tool_turn["content"] and "[1] " in tool_turn["content"]


async def test_settings_of_the_tool(client: httpx.AsyncClient, app: Any, jobs: InProcessJobs, ctx: AppContext) -> None:
    store_id, ids = await corpus_store(client, app)
    asst = await assistant(client, tools=[{"type": "file_search", "file_search": {
        "max_num_results": 1, "ranking_options": {"ranker": "auto", "score_threshold": 0.5}}}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    created_thread = await new_thread(client, QUESTION)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    search = (await steps_of(client, done))[0]["step_details"]["tool_calls"][0]["file_search"]
    assert search["ranking_options"] == {"ranker": "default_2024_08_21", "score_threshold": 0.5}
    assert [r["file_id"] for r in search["results"]] == [ids["passwords.md"]]


@pytest.mark.parametrize("choice", ["required", {"type": "file_search"}])
async def test_a_forced_search_is_made_once(client: httpx.AsyncClient, app: Any, jobs: InProcessJobs, ctx: AppContext,
                                            choice: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)
    created = await run(client, created_thread["id"], asst["id"], tool_choice=choice)
    assert created["tool_choice"] == choice
    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "completed"
    assert [s["type"] for s in await steps_of(client, done)] == ["tool_calls", "message_creation"]


async def test_a_search_beside_a_function_call(client: httpx.AsyncClient, app: Any, jobs: InProcessJobs,
                                               ctx: AppContext, simulator: Simulator) -> None:
    """The search runs at once; the function call waits for its output; then the model reads both."""
    store_id, _ = await corpus_store(client, app)
    asst = await assistant(client, tools=[WEATHER, SEARCH], tool_resources={
        "file_search": {"vector_store_ids": [store_id]}})
    created_thread = await new_thread(client, f'call:file_search {{"queries": ["reset password"]}}\n{CALL_WEATHER}')
    waiting = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert waiting["status"] == "requires_action"
    (call,) = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    steps = await steps_of(client, waiting)
    assert [(s["step_details"]["tool_calls"][0]["type"], s["status"]) for s in steps] == [
        ("function", "in_progress"), ("file_search", "completed")]  # the function's step began as it streamed
    await ok(client.post(f"/v1/threads/{created_thread['id']}/runs/{waiting['id']}/submit_tool_outputs",
                         json={"tool_outputs": [{"tool_call_id": call["id"], "output": "sunny"}]}))
    done = await finished(client, jobs, ctx, waiting)
    assert done["status"] == "completed"
    turns = simulator.calls[-1][1]["messages"]
    tools = [t for t in turns if t["role"] == "tool"]
    assert tools[0]["content"] == "sunny" and tools[1]["content"].startswith("Results of the file search")
    text = await reply_of(client, created_thread["id"])
    assert text["value"] == f"{ANSWER} [0]" and text["annotations"][0]["text"] == "[0]"


async def test_a_reply_without_markers_gets_them_appended(client: httpx.AsyncClient, app: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store_id, ids = await corpus_store(client, app)
    original = chat_behaviour.cited_answer
    monkeypatch.setattr(chat_behaviour, "cited_answer", lambda results: (original(results) or "").rsplit(" [", 1)[0])
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)
    pairs = events(await client.post(f"/v1/threads/{created_thread['id']}/runs",
                                     json={"assistant_id": asst["id"], "stream": True}))
    last = [d for n, d in pairs if n == "thread.message.delta"][-1]["delta"]["content"][0]["text"]
    assert last["value"] == " [0]" and last["annotations"][0]["start_index"] == len(ANSWER) + 1
    text = await reply_of(client, created_thread["id"])
    assert text["value"] == f"{ANSWER} [0]" and text["annotations"][0]["file_citation"] == {
        "file_id": ids["passwords.md"]}


async def test_without_stores_the_search_finds_nothing(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                       ctx: AppContext) -> None:
    asst = await searching_assistant(client, None)
    created_thread = await new_thread(client, QUESTION)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert done["status"] == "completed"
    assert (await steps_of(client, done))[0]["step_details"]["tool_calls"][0]["file_search"]["results"] == []
    text = await reply_of(client, created_thread["id"])
    assert text["value"].startswith("Tool results: The file search found nothing") and text["annotations"] == []


async def test_a_store_made_from_files_in_tool_resources(client: httpx.AsyncClient, app: Any, jobs: InProcessJobs,
                                                         ctx: AppContext) -> None:
    file_id = await upload(client, "passwords.md", "To reset a forgotten password, open Settings.")
    asst = await assistant(client, tools=[SEARCH], tool_resources={"file_search": {"vector_stores": [
        {"file_ids": [file_id], "metadata": {"made": "inline"},
         "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}}
    ]}})
    (store_id,) = asst["tool_resources"]["file_search"]["vector_store_ids"]
    await drain(app)
    store = await ok(client.get(f"/v1/vector_stores/{store_id}"), "VectorStoreObject")
    assert store["metadata"] == {"made": "inline"} and store["file_counts"]["completed"] == 1
    created_thread = await new_thread(client, QUESTION)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    results = (await steps_of(client, done))[0]["step_details"]["tool_calls"][0]["file_search"]["results"]
    assert [r["file_id"] for r in results] == [file_id]
    assert (await reply_of(client, created_thread["id"]))["annotations"][0]["file_citation"]["file_id"] == file_id


async def test_a_thread_and_run_gives_its_resources_to_the_thread(client: httpx.AsyncClient, app: Any,
                                                                  jobs: InProcessJobs, ctx: AppContext) -> None:
    store_id, ids = await corpus_store(client, app)
    asst = await searching_assistant(client, None)
    created = await ok(client.post("/v1/threads/runs", json={
        "assistant_id": asst["id"], "thread": {"messages": [{"role": "user", "content": QUESTION}]},
        "tool_resources": {"file_search": {"vector_store_ids": [store_id]}}}), "RunObject")
    made = await ok(client.get(f"/v1/threads/{created['thread_id']}"), "ThreadObject")
    assert made["tool_resources"] == {"file_search": {"vector_store_ids": [store_id]}}
    await finished(client, jobs, ctx, created)
    assert (await reply_of(client, created["thread_id"]))["annotations"][0]["file_citation"]["file_id"] == \
        ids["passwords.md"]


async def test_another_keys_store_and_bad_resources(client: httpx.AsyncClient, app: Any) -> None:
    store_id, _ = await corpus_store(client, app)
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    resources = {"file_search": {"vector_store_ids": [store_id]}}
    for url, body in (("/v1/assistants", {"model": "@cf/meta/llama-4-scout-17b-16e-instruct",
                                          "tool_resources": resources}),
                      ("/v1/threads", {"tool_resources": resources})):
        error = error_of(await client.post(url, json=body, headers=other), 404)
        assert error["param"] == "tool_resources.file_search.vector_store_ids" and store_id in error["message"]
    error = error_of(await client.post("/v1/threads", json={"tool_resources": {"file_search": {
        "vector_store_ids": [store_id], "vector_stores": [{"file_ids": []}]}}}), 400)
    assert error["param"] == "tool_resources.file_search"
    error = error_of(await client.post("/v1/threads", json={"tool_resources": {"file_search": {
        "vector_stores": [{"file_ids": ["file-nope"]}]}}}), 404)
    assert error["param"] == "tool_resources.file_search.vector_stores[0].file_ids[0]"
    assert (await client.get("/v1/vector_stores")).json()["data"][0]["id"] == store_id  # no store half-made
    error = error_of(await client.post("/v1/assistants", json={"model": LLAMA, "tools": [SEARCH]}), 400)
    assert error["param"] == "tools"  # a model without tool calling cannot search


async def test_a_code_interpreter_stays_refused(client: httpx.AsyncClient) -> None:
    error = error_of(await client.post("/v1/assistants", json={
        "model": "@cf/meta/llama-4-scout-17b-16e-instruct", "tools": [SEARCH, {"type": "code_interpreter"}]}), 400)
    assert error["param"] == "tools[1].type"
    assert_matches({"error": error}, "ErrorResponse")


async def test_a_run_cancelled_while_searching_goes_no_further(client: httpx.AsyncClient, app: Any,
                                                               jobs: InProcessJobs, ctx: AppContext,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               simulator: Simulator) -> None:
    store_id, _ = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)
    created = await run(client, created_thread["id"], asst["id"])
    original = file_search_tool.search

    async def cancelled_meanwhile(*args: Any, **kwargs: Any) -> Any:
        await ok(client.post(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/cancel"))
        return await original(*args, **kwargs)

    monkeypatch.setattr(file_search_tool, "search", cancelled_meanwhile)
    def generations() -> int:
        return sum("messages" in inputs for _, inputs in simulator.calls)

    before = generations()
    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "cancelled"
    assert generations() == before + 1  # the generation that asked for the search, none after it
    assert [m["role"] for m in await listed(client, f"/v1/threads/{created_thread['id']}/messages",
                                            "ListMessagesResponse")] == ["user"]


async def test_workers_ai_failing_while_searching_fails_the_run(client: httpx.AsyncClient, app: Any,
                                                                jobs: InProcessJobs, ctx: AppContext,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    store_id, _ = await corpus_store(client, app)
    asst = await searching_assistant(client, store_id)
    created_thread = await new_thread(client, QUESTION)

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise UpstreamError("The embedding model is out of capacity.", status=503)

    monkeypatch.setattr(file_search_tool, "search", failing)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert done["status"] == "failed" and done["last_error"]["code"] == "server_error"
    (step,) = await steps_of(client, done)
    assert step["status"] == "failed" and step["step_details"]["tool_calls"][0]["type"] == "file_search"


async def test_a_threads_own_store_expires_a_week_after_its_last_run(backends: Backends, settings: Settings,
                                                                    jobs: InProcessJobs, clock: Clock) -> None:
    # OpenAI's file search guide: "Vector stores created using thread helpers (like
    # tool_resources.file_search.vector_stores in Threads …) have a default expiration policy of 7 days after
    # they were last active (defined as the last time the vector store was part of a run)."
    app = create_app(backends, settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        file_id = await upload(client, "passwords.md", ANSWER)
        helper = {"file_search": {"vector_stores": [{"file_ids": [file_id]}]}}
        asst = await searching_assistant(client, None)
        made = await new_thread(client, QUESTION, tool_resources=helper)
        modified = await ok(client.post(f"/v1/threads/{(await new_thread(client))['id']}",
                                        json={"tool_resources": helper}), "ThreadObject")
        thread_and_run = await ok(client.post("/v1/threads/runs", json={
            "assistant_id": asst["id"], "thread": {"tool_resources": helper}}), "RunObject")
        given_to_thread = await ok(client.post("/v1/threads/runs", json={
            "assistant_id": asst["id"], "tool_resources": helper}), "RunObject")
        threads = [made, modified, *[await ok(client.get(f"/v1/threads/{r['thread_id']}"))
                                     for r in (thread_and_run, given_to_thread)]]
        await jobs.drain(app.state.ctx)
        for made_thread in threads:
            (store_id,) = made_thread["tool_resources"]["file_search"]["vector_store_ids"]
            store = await ok(client.get(f"/v1/vector_stores/{store_id}"), "VectorStoreObject")
            assert store["expires_after"] == {"anchor": "last_active_at", "days": 7}
            assert (store["last_active_at"], store["expires_at"]) == (START, START + 7 * 86400)
        own = await assistant(client, tools=[SEARCH], tool_resources=helper)  # an assistant's: no default
        (own_store,) = own["tool_resources"]["file_search"]["vector_store_ids"]
        store = await ok(client.get(f"/v1/vector_stores/{own_store}"), "VectorStoreObject")
        assert store["expires_after"] is None and store["expires_at"] is None

        # Six days on, a run of the thread with the file_search tool keeps its store, searched or not.
        (store_id,) = made["tool_resources"]["file_search"]["vector_store_ids"]
        clock.now += 6 * 86400
        created = await run(client, made["id"], asst["id"], tool_choice="none")
        await jobs.drain(app.state.ctx)
        done = await ok(client.get(f"/v1/threads/{made['id']}/runs/{created['id']}"), "RunObject")
        assert done["status"] == "completed"
        steps = await listed(client, f"/v1/threads/{made['id']}/runs/{created['id']}/steps", "ListRunStepsResponse")
        assert [s["type"] for s in steps] == ["message_creation"]  # it did not search
        store = await ok(client.get(f"/v1/vector_stores/{store_id}"), "VectorStoreObject")
        assert (store["last_active_at"], store["expires_at"]) == (int(clock.now), int(clock.now) + 7 * 86400)
        clock.now += 7 * 86400  # a week with no run: expired
        assert (await ok(client.get(f"/v1/vector_stores/{store_id}")))["status"] == "expired"
