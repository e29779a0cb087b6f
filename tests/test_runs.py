"""Runs over the API: created in the background or streamed, tool calls through ``requires_action`` and
``submit_tool_outputs``, cancel, the run steps, the settings a run takes, and every 400 on the way.
Every streamed event and every object is checked against OpenAI's schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.context import AppContext
from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .assistants import (
    CALL_WEATHER,
    LLAMA,
    MESSAGE_MEMBERS,
    RUN_MEMBERS,
    SCOUT,
    STEP_MEMBERS,
    WEATHER_SHOWN,
    assistant,
    error_of,
    events,
    finished,
    listed,
    names,
    ok,
    run,
    text_of,
    thread,
)
from .conftest import KEY, OTHER_KEY

TEXT_RUN = ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
            "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"]


@pytest.fixture
def ctx(app: Any) -> AppContext:
    context: AppContext = app.state.ctx
    return context


async def test_a_run_in_the_background(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: Hello from the thread")
    created = await run(client, created_thread["id"], asst["id"])
    assert created["assistant_id"] == asst["id"] and created["thread_id"] == created_thread["id"]
    assert created["model"] == SCOUT and created["instructions"] == "Be brief." and created["tools"] == [WEATHER_SHOWN]
    assert created["usage"] is None and created["started_at"] is None
    assert created["expires_at"] == created["created_at"] + 600
    assert created["truncation_strategy"] == {"type": "auto", "last_messages": None}
    assert created["tool_choice"] == "auto" and created["parallel_tool_calls"] is True
    assert created["response_format"] == "auto"
    assert len(jobs) == 1  # sent to the background, not run yet
    r = await client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}")
    assert r.json()["status"] == "queued" and r.headers["openai-poll-after-ms"] == "100"

    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "completed" and done["last_error"] is None and done["required_action"] is None
    assert done["started_at"] is not None and done["completed_at"] is not None and done["expires_at"] is None
    usage = done["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] == 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    r = await client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}")
    assert "openai-poll-after-ms" not in r.headers

    reply = (await listed(client, f"/v1/threads/{created_thread['id']}/messages", "ListMessagesResponse"))[0]
    assert reply["role"] == "assistant" and reply["status"] == "completed"
    assert reply["content"] == [{"type": "text", "text": {"value": "Hello from the thread", "annotations": []}}]
    assert reply["assistant_id"] == asst["id"] and reply["run_id"] == created["id"]
    steps = await listed(client, f"/v1/threads/{created_thread['id']}/runs/{created['id']}/steps",
                         "ListRunStepsResponse")
    assert len(steps) == 1
    step = steps[0]
    assert step["type"] == "message_creation" and step["status"] == "completed"
    assert step["step_details"] == {"type": "message_creation", "message_creation": {"message_id": reply["id"]}}
    assert step["usage"] == usage and step["run_id"] == created["id"] and step["completed_at"] is not None
    one = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/steps/{step['id']}"),
                   "RunStepObject")
    assert one == step


async def test_a_streamed_run_sends_openais_event_sequence(client: httpx.AsyncClient, jobs: InProcessJobs) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: Streams are layered and simple")
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"], "stream": True})
    pairs = events(r)
    sequence = names(pairs)
    deltas = sequence.count("thread.message.delta")
    assert deltas >= 2
    assert sequence == [*TEXT_RUN, *["thread.message.delta"] * deltas, "thread.message.completed",
                        "thread.run.step.completed", "thread.run.completed"]
    assert text_of(pairs) == "Streams are layered and simple"
    completed_message = pairs[-3][1]
    assert completed_message["content"][0]["text"]["value"] == "Streams are layered and simple"
    final = pairs[-1][1]
    assert final["status"] == "completed" and final["usage"]["completion_tokens"] == 5
    assert len(jobs) == 1  # executed inline: only its watchdog, due when its mark would be stale
    stored = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{final['id']}"))
    assert stored == final
    messages = await listed(client, f"/v1/threads/{created_thread['id']}/messages", "ListMessagesResponse")
    assert messages[0] == completed_message


async def test_runs_steps_and_messages_list_their_members_in_openais_order(client: httpx.AsyncClient,
                                                                           jobs: InProcessJobs, ctx: AppContext) -> None:
    """Each object in every event of a streamed run, and as retrieved and listed, lists its members as OpenAI's
    do (openai/openai-dotnet tests/SessionRecords/AssistantsTests/StreamingRunWorks.json,
    BasicRunOperationsWork.json, BasicRunStepFunctionalityWorks.json)."""
    asst = await assistant(client)
    created_thread = await thread(client, "echo: Hello there")
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"], "stream": True})
    members = {"thread.run": RUN_MEMBERS, "thread.run.step": STEP_MEMBERS, "thread.message": MESSAGE_MEMBERS,
               "thread.message.delta": ["id", "object", "delta"]}
    for name, data in events(r):
        assert list(data) == members[data["object"]], name
    pairs = events(r)
    final = pairs[-1][1]
    assert list(await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{final['id']}"))) == RUN_MEMBERS
    # a step shows its run's expires_at while the run has one (streamed, the run not yet ended), null once the
    # run ended (listed after it completed), as OpenAI's (StreamingRunWorks.json, BasicRunStepFunctionalityWorks.json)
    expires_at = pairs[0][1]["expires_at"]
    assert expires_at is not None and final["expires_at"] is None
    assert {data["expires_at"] for name, data in pairs if name.startswith("thread.run.step.")} == {expires_at}
    steps = await listed(client, f"/v1/threads/{created_thread['id']}/runs/{final['id']}/steps", "ListRunStepsResponse")
    assert [list(s) for s in steps] == [STEP_MEMBERS] and steps[0]["expires_at"] is None
    queued = await run(client, created_thread["id"], asst["id"])
    assert list(queued) == RUN_MEMBERS
    await finished(client, jobs, ctx, queued)
    assert [list(r) for r in await listed(client, f"/v1/threads/{created_thread['id']}/runs", "ListRunsResponse")] == [
        RUN_MEMBERS, RUN_MEMBERS]


async def test_usage_shows_openais_details(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                           db: SQLiteD1) -> None:
    """A run's and a step's usage as OpenAI's: the counts, then ``prompt_token_details.cached_tokens`` (so spelled)
    and ``completion_tokens_details.reasoning_tokens`` (openai/openai-dotnet tests/SessionRecords/AssistantsTests/
    BasicRunOperationsWork.json, StreamingRunWorks.json, BasicRunStepFunctionalityWorks.json); a reasoning
    model's reasoning counted, on its step and summed on its run."""
    members = ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_token_details", "completion_tokens_details"]
    asst = await assistant(client)
    created_thread = await thread(client, "echo: Hello there")
    pairs = events(await client.post(f"/v1/threads/{created_thread['id']}/runs",
                                     json={"assistant_id": asst["id"], "stream": True}))
    step, final = pairs[-2][1], pairs[-1][1]
    for usage in (step["usage"], final["usage"]):
        assert list(usage) == members
        assert usage["prompt_token_details"] == {"cached_tokens": 0}
        assert usage["completion_tokens_details"] == {"reasoning_tokens": 0}
    stored = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{final['id']}"))
    assert stored["usage"] == final["usage"]
    reasoning = await assistant(client, model="@cf/openai/gpt-oss-20b", tools=[], instructions=None)
    done = await finished(client, jobs, ctx, await run(client, (await thread(client, "Why is the sky blue?"))["id"],
                                                       reasoning["id"]))
    assert done["status"] == "completed", done
    assert 0 < done["usage"]["completion_tokens_details"]["reasoning_tokens"] <= done["usage"]["completion_tokens"]
    steps = await listed(client, f"/v1/threads/{done['thread_id']}/runs/{done['id']}/steps", "ListRunStepsResponse")
    assert steps[0]["usage"] == done["usage"]
    # a run and its steps stored before migrations/0021 (no details) show 0s
    for table in ("runs", "run_steps"):
        db.conn.execute(f"UPDATE {table} SET cached_tokens = NULL, reasoning_tokens = NULL")
    before = await ok(client.get(f"/v1/threads/{done['thread_id']}/runs/{done['id']}"), "RunObject")
    assert before["usage"] == {**done["usage"], "completion_tokens_details": {"reasoning_tokens": 0}}


async def test_create_thread_and_run(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext) -> None:
    asst = await assistant(client)
    body = {"assistant_id": asst["id"], "thread": {"messages": [{"role": "user", "content": "echo: new thread"}],
                                                   "metadata": {"from": "create_and_run"}}}
    created = await ok(client.post("/v1/threads/runs", json=body), "RunObject")
    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "completed"
    made = await ok(client.get(f"/v1/threads/{created['thread_id']}"))
    assert made["metadata"] == {"from": "create_and_run"}
    replies = await listed(client, f"/v1/threads/{made['id']}/messages", "ListMessagesResponse")
    assert [m["role"] for m in replies] == ["assistant", "user"]
    assert replies[0]["content"][0]["text"]["value"] == "new thread"

    pairs = events(await client.post("/v1/threads/runs", json={**body, "stream": True}))
    assert names(pairs)[:4] == ["thread.created", "thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert pairs[0][1]["metadata"] == {"from": "create_and_run"} and pairs[1][1]["thread_id"] == pairs[0][1]["id"]
    assert names(pairs)[-1] == "thread.run.completed"


@pytest.mark.parametrize("instructions", [None, "Greet the user."])
async def test_a_run_on_an_empty_thread_completes(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                                  simulator: Simulator, instructions: str | None) -> None:
    """OpenAI runs an empty thread (the model answers from the instructions, or from nothing); Workers AI
    refuses an empty ``messages``, so the model is given one empty user turn when there is no other."""
    asst = await assistant(client, model=LLAMA, tools=[], instructions=instructions)
    empty = await thread(client)
    done = await finished(client, jobs, ctx, await run(client, empty["id"], asst["id"]))
    assert done["status"] == "completed" and done["last_error"] is None, done
    # none: null, as OpenAI's run of an assistant without instructions (BasicRunOperationsWork.json)
    assert done["instructions"] == instructions
    messages = simulator.calls[-1][1]["messages"]
    assert messages == ([{"role": "system", "content": instructions}] if instructions else
                        [{"role": "user", "content": ""}])
    replies = await listed(client, f"/v1/threads/{empty['id']}/messages", "ListMessagesResponse")
    assert [m["role"] for m in replies] == ["assistant"] and replies[0]["content"][0]["text"]["value"]
    pairs = events(await client.post(f"/v1/threads/{(await thread(client))['id']}/runs",
                                     json={"assistant_id": asst["id"], "stream": True}))
    assert names(pairs)[-1] == "thread.run.completed"
    # "If no thread is provided when running a request, an empty thread will be created." (createThreadAndRun)
    created = await ok(client.post("/v1/threads/runs", json={"assistant_id": asst["id"]}), "RunObject")
    assert (await finished(client, jobs, ctx, created))["status"] == "completed"


async def test_a_tool_call_through_requires_action_and_submit_tool_outputs(
    client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext
) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, CALL_WEATHER)
    base = f"/v1/threads/{created_thread['id']}"
    waiting = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert waiting["status"] == "requires_action"
    calls = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert waiting["required_action"]["type"] == "submit_tool_outputs"
    assert [(c["type"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("function", "get_weather", {"city": "Paris"})]
    assert calls[0]["id"].startswith("call_")
    assert waiting["expires_at"] is not None
    # OpenAI's requires_action runs show usage null, polled and streamed (openai/openai-dotnet
    # tests/SessionRecords/AssistantsTests/FunctionToolsWork.json, StreamingToolCall().json)
    assert waiting["usage"] is None
    steps = await listed(client, f"{base}/runs/{waiting['id']}/steps", "ListRunStepsResponse")
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "in_progress")]
    assert steps[0]["step_details"]["tool_calls"] == [{**calls[0], "function": {**calls[0]["function"], "output": None}}]
    assert steps[0]["usage"] is None  # RunStepCompletionUsage: null while the step is in_progress
    assert await listed(client, f"{base}/messages?run_id={waiting['id']}", "ListMessagesResponse") == []

    submitted = await ok(client.post(f"{base}/runs/{waiting['id']}/submit_tool_outputs",
                                     json={"tool_outputs": [{"tool_call_id": calls[0]["id"], "output": "sunny"}]}),
                         "RunObject")
    assert submitted["status"] == "queued" and submitted["required_action"] is None
    assert submitted["usage"] is None  # RunCompletionUsage: null until the run ends (OpenAI's example answer)
    done = await finished(client, jobs, ctx, submitted)
    assert done["status"] == "completed"
    steps = await listed(client, f"{base}/runs/{done['id']}/steps?order=asc", "ListRunStepsResponse")
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    # the first generation's usage, shown once the step completed; the run's counts both generations
    assert steps[0]["usage"]["completion_tokens"] > 0
    assert done["usage"]["prompt_tokens"] == steps[0]["usage"]["prompt_tokens"] + steps[1]["usage"]["prompt_tokens"]
    assert steps[0]["step_details"]["tool_calls"][0]["function"]["output"] == "sunny"
    reply = (await listed(client, f"{base}/messages", "ListMessagesResponse"))[0]
    assert reply["content"][0]["text"]["value"] == "Tool results: sunny"


async def test_a_streamed_tool_call_and_streamed_outputs(client: httpx.AsyncClient) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, CALL_WEATHER)
    base = f"/v1/threads/{created_thread['id']}"
    pairs = events(await client.post(f"{base}/runs", json={"assistant_id": asst["id"], "stream": True}))
    sequence = names(pairs)
    assert sequence[:5] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress",
                            "thread.run.step.created", "thread.run.step.in_progress"]
    assert set(sequence[5:-1]) == {"thread.run.step.delta"} and sequence[-1] == "thread.run.requires_action"
    fragments = [c for name, data in pairs if name == "thread.run.step.delta"
                 for c in data["delta"]["step_details"]["tool_calls"]]
    assert fragments[0]["function"]["name"] == "get_weather" and fragments[0]["id"].startswith("call_")
    assert json.loads("".join(f["function"]["arguments"] for f in fragments)) == {"city": "Paris"}
    waiting = pairs[-1][1]
    assert waiting["usage"] is None  # as OpenAI's thread.run.requires_action (StreamingToolCall().json)
    call_id = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    assert fragments[0]["id"] == call_id

    pairs = events(await client.post(f"{base}/runs/{waiting['id']}/submit_tool_outputs",
                                      json={"tool_outputs": [{"tool_call_id": call_id, "output": "rain"}],
                                            "stream": True}))
    sequence = names(pairs)
    # OpenAI's streamed submit_tool_outputs example: the tool-calls step completed with the outputs first,
    # then the run queued and in_progress (no usage until it ends), then the reply
    assert sequence[:6] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress",
                            "thread.run.step.created", "thread.run.step.in_progress", "thread.message.created"]
    assert pairs[0][1]["step_details"]["tool_calls"][0]["function"]["output"] == "rain"
    assert [data["usage"] for name, data in pairs[1:3]] == [None, None]
    assert pairs[0][1]["usage"] is not None and pairs[-1][1]["usage"] is not None
    assert text_of(pairs) == "Tool results: rain" and sequence[-1] == "thread.run.completed"


async def test_parallel_tool_calls(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, f'{CALL_WEATHER}\ncall:get_weather {{"city": "Oslo"}}')
    both = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert len(both["required_action"]["submit_tool_outputs"]["tool_calls"]) == 2
    calls = both["required_action"]["submit_tool_outputs"]["tool_calls"]
    url = f"/v1/threads/{created_thread['id']}/runs/{both['id']}/submit_tool_outputs"
    error = error_of(await client.post(url, json={"tool_outputs": [{"tool_call_id": calls[0]["id"], "output": "a"}]}),
                     400)
    assert error["param"] == "tool_outputs" and calls[1]["id"] in error["message"]
    await ok(client.post(url, json={"tool_outputs": [{"tool_call_id": c["id"], "output": o}
                                                     for c, o in zip(calls, ["sun", "snow"], strict=True)]}))
    done = await finished(client, jobs, ctx, both)
    reply = (await listed(client, f"/v1/threads/{created_thread['id']}/messages", "ListMessagesResponse"))[0]
    assert done["status"] == "completed" and reply["content"][0]["text"]["value"] == "Tool results: sun; snow"

    other_thread = await thread(client, f'{CALL_WEATHER}\ncall:get_weather {{"city": "Oslo"}}')
    one = await finished(client, jobs, ctx, await run(client, other_thread["id"], asst["id"], parallel_tool_calls=False))
    assert one["parallel_tool_calls"] is False
    assert len(one["required_action"]["submit_tool_outputs"]["tool_calls"]) == 1


@pytest.mark.parametrize(("outputs", "param", "words"), [
    ([{"output": "x"}], "tool_outputs[0].tool_call_id", "Missing"),
    ([{"tool_call_id": "call_nope", "output": "x"}], "tool_outputs[0].tool_call_id", "no pending tool call"),
    ("dup", "tool_outputs[1]", "Duplicate"),
])
async def test_bad_tool_outputs(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, outputs: Any,
                                param: str, words: str) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, CALL_WEATHER)
    waiting = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    if outputs == "dup":
        outputs = [{"tool_call_id": call, "output": "a"}, {"tool_call_id": call, "output": "b"}]
    url = f"/v1/threads/{created_thread['id']}/runs/{waiting['id']}/submit_tool_outputs"
    error = error_of(await client.post(url, json={"tool_outputs": outputs}), 400)
    assert error["param"] == param and words in error["message"]
    assert (await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{waiting['id']}")))["status"] == \
        "requires_action"


async def test_tool_outputs_only_for_a_run_that_waits_for_them(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                               ctx: AppContext) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hi")
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs/{done['id']}/submit_tool_outputs",
                          json={"tool_outputs": [{"tool_call_id": "call_1", "output": "x"}]})
    assert error_of(r, 400)["message"] == 'Runs in status "completed" do not accept tool outputs.'


async def test_cancel_a_queued_run_and_a_waiting_one(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                     ctx: AppContext) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: never")
    base = f"/v1/threads/{created_thread['id']}/runs"
    queued = await run(client, created_thread["id"], asst["id"])
    cancelled = await ok(client.post(f"{base}/{queued['id']}/cancel"), "RunObject")
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    assert await jobs.drain(ctx) == 1  # its job still runs, and finds nothing to do
    assert (await ok(client.get(f"{base}/{queued['id']}")))["status"] == "cancelled"
    assert len(await listed(client, f"/v1/threads/{created_thread['id']}/messages", "ListMessagesResponse")) == 1
    error = error_of(await client.post(f"{base}/{queued['id']}/cancel"), 400)
    assert error["message"] == "Cannot cancel run with status 'cancelled'."

    await ok(client.post(f"/v1/threads/{created_thread['id']}/messages", json={"role": "user", "content": CALL_WEATHER}))
    waiting = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert waiting["status"] == "requires_action"
    cancelled = await ok(client.post(f"{base}/{waiting['id']}/cancel"), "RunObject")
    assert cancelled["status"] == "cancelled" and cancelled["required_action"] is None
    steps = await listed(client, f"{base}/{waiting['id']}/steps", "ListRunStepsResponse")
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "cancelled")]
    assert steps[0]["cancelled_at"] is not None


async def test_a_thread_takes_one_active_run_and_no_message_meanwhile(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                                      ctx: AppContext) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: one")
    base = f"/v1/threads/{created_thread['id']}"
    first = await run(client, created_thread["id"], asst["id"])
    error = error_of(await client.post(f"{base}/runs", json={"assistant_id": asst["id"]}), 400)
    assert error["message"] == f"Thread {created_thread['id']} already has an active run {first['id']}."
    error = error_of(await client.post(f"{base}/messages", json={"role": "user", "content": "x"}), 400)
    assert error["message"] == f"Can't add messages to {created_thread['id']} while a run {first['id']} is active."
    error = error_of(await client.post(f"{base}/runs", json={
        "assistant_id": asst["id"], "additional_messages": [{"role": "user", "content": "x"}]}), 400)
    assert "already has an active run" in error["message"]
    assert len(await listed(client, f"{base}/messages", "ListMessagesResponse")) == 1  # the extra one not added
    await finished(client, jobs, ctx, first)
    await ok(client.post(f"{base}/messages", json={"role": "user", "content": "echo: two"}))
    second = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert second["status"] == "completed"
    runs = await listed(client, f"{base}/runs", "ListRunsResponse")
    assert [r["id"] for r in runs] == [second["id"], first["id"]]


async def test_a_run_overrides_its_assistant(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext) -> None:
    asst = await assistant(client, temperature=0.2, metadata={"a": "1"})
    created_thread = await thread(client, "echo: first")
    created = await run(client, created_thread["id"], asst["id"], model="@cf/qwen/qwen3-30b-a3b-fp8",
                        instructions="Be exact.", additional_instructions="Answer in French.", tools=[],
                        temperature=0.7, top_p=0.5, max_prompt_tokens=2000, max_completion_tokens=500,
                        truncation_strategy={"type": "last_messages", "last_messages": 5},
                        response_format={"type": "json_object"}, metadata={"run": "1"},
                        additional_messages=[{"role": "user", "content": "echo: second"}])
    assert created["model"] == "@cf/qwen/qwen3-30b-a3b-fp8"
    assert created["instructions"] == "Be exact.\n\nAnswer in French."
    assert created["tools"] == [] and created["temperature"] == 0.7 and created["top_p"] == 0.5
    assert created["max_prompt_tokens"] == 2000 and created["max_completion_tokens"] == 500
    assert created["truncation_strategy"] == {"type": "last_messages", "last_messages": 5}
    assert created["response_format"] == {"type": "json_object"} and created["metadata"] == {"run": "1"}
    messages = await listed(client, f"/v1/threads/{created_thread['id']}/messages?order=asc", "ListMessagesResponse")
    assert [m["content"][0]["text"]["value"] for m in messages] == ["echo: first", "echo: second"]
    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "completed"
    reply = (await listed(client, f"/v1/threads/{created_thread['id']}/messages", "ListMessagesResponse"))[0]
    assert isinstance(json.loads(reply["content"][0]["text"]["value"]), dict)  # JSON mode

    inherited = await run(client, created_thread["id"], asst["id"])
    assert inherited["temperature"] == 0.2 and inherited["metadata"] == {} and inherited["instructions"] == "Be brief."


async def test_unset_sampling_shows_openais_default_and_leaves_the_models(client: httpx.AsyncClient,
                                                                          ctx: AppContext) -> None:
    """An assistant and a run without ``temperature`` / ``top_p`` show 1.0, OpenAI's default, as its objects
    do; what generates is still the model's own default (nothing stored, nothing sent)."""
    created_thread = await thread(client, "echo: hi")
    created = await run(client, created_thread["id"], (await assistant(client))["id"])
    assert (created["temperature"], created["top_p"]) == (1.0, 1.0)
    listed_runs = await listed(client, f"/v1/threads/{created_thread['id']}/runs", "ListRunsResponse")
    assert (listed_runs[0]["temperature"], listed_runs[0]["top_p"]) == (1.0, 1.0)
    row = await ctx.backends.db.prepare("SELECT temperature, top_p FROM runs WHERE id = ?").bind(created["id"]).first()
    assert (row["temperature"], row["top_p"]) == (None, None)


@pytest.mark.parametrize(("body", "param", "status"), [
    ({"tools": [{"type": "code_interpreter"}]}, "tools[0].type", 400),
    ({"tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice.function.name", 400),
    ({"tool_choice": {"type": "file_search"}}, "tool_choice.type", 400),  # not among the run's tools
    ({"tools": [], "tool_choice": "required"}, "tool_choice", 400),
    ({"max_prompt_tokens": 100}, "max_prompt_tokens", 400),
    ({"max_completion_tokens": 255}, "max_completion_tokens", 400),
    ({"truncation_strategy": {"type": "last_messages"}}, "truncation_strategy.last_messages", 400),
    ({"truncation_strategy": {"type": "first_messages"}}, "truncation_strategy.type", 400),
    ({"model": LLAMA}, "tools", 400),  # the assistant's tools on a model without tools
    ({"model": "gpt-9"}, None, 404),
    ({"stream": "yes"}, "stream", 400),
    ({"assistant_id": "asst_nope"}, None, 404),
    ({"assistant_id": None}, "assistant_id", 400),
    ({"additional_messages": [{"role": "user", "content": ""}]}, "additional_messages[0].content", 400),
    ({"metadata": {"k": "v" * 600}}, "metadata.k", 400),
])
async def test_bad_runs_are_refused(client: httpx.AsyncClient, body: dict[str, Any], param: str | None,
                                    status: int) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "hi")
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"], **body})
    assert error_of(r, status)["param"] == param
    assert await listed(client, f"/v1/threads/{created_thread['id']}/runs", "ListRunsResponse") == []


async def test_include_names_only_file_search_results(client: httpx.AsyncClient) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hi")
    url = f"/v1/threads/{created_thread['id']}/runs"
    error = error_of(await client.post(f"{url}?include[]=usage", json={"assistant_id": asst["id"]}), 400)
    assert error["param"] == "include"
    await ok(client.post(f"{url}?include[]=step_details.tool_calls[*].file_search.results[*].content",
                         json={"assistant_id": asst["id"]}))


async def test_modify_list_and_steps_of_runs(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: a")
    base = f"/v1/threads/{created_thread['id']}/runs"
    ids = []
    for _ in range(3):
        done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
        ids.append(done["id"])
    changed = await ok(client.post(f"{base}/{ids[0]}", json={"metadata": {"tag": "x"}}), "RunObject")
    assert changed["metadata"] == {"tag": "x"} and changed["status"] == "completed"
    assert (await ok(client.get(f"{base}/{ids[0]}")))["metadata"] == {"tag": "x"}
    page1 = await ok(client.get(f"{base}?limit=2"), "ListRunsResponse")
    page2 = await ok(client.get(f"{base}?limit=2&after={page1['last_id']}"), "ListRunsResponse")
    assert [r["id"] for r in page1["data"] + page2["data"]] == ids[::-1] and page2["has_more"] is False
    assert error_of(await client.get(f"{base}/run_nope"), 404)["message"] == "No run found with id 'run_nope'."
    assert error_of(await client.get(f"{base}/run_nope/steps"), 404)["message"] == "No run found with id 'run_nope'."
    r = await client.get(f"{base}/{ids[0]}/steps/step_nope")
    assert error_of(r, 404)["message"] == "No run step found with id 'step_nope'."
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    for url in (f"{base}/{ids[0]}", f"{base}/{ids[0]}/steps", f"{base}/{ids[0]}/cancel"):
        r = await client.request("POST" if url.endswith("cancel") else "GET", url, headers=other)
        assert error_of(r, 404)["message"] == f"No thread found with id '{created_thread['id']}'."


async def test_without_a_job_queue_a_run_executes_before_the_reply(simulator: Simulator, db: SQLiteD1,
                                                                     tmp_path: Path) -> None:
    app = create_app(Backends(ai=simulator, db=db, bucket=FolderR2(tmp_path / "r2")), Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        asst = await assistant(client)
        created_thread = await thread(client, "echo: at once")
        r = await client.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"]})
        assert (await ok(r, "RunObject"))["status"] == "completed"


async def test_values_a_d1_row_cannot_hold_are_400s_not_502s(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                             ctx: AppContext) -> None:
    # Each fits the 16 MiB body limit; none fits a D1 row (2 MB): refused, naming the param, nothing stored.
    big = "x" * (1024 * 1024 + 1)
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hi")
    thread_id = created_thread["id"]
    for url, body, param in [
        (f"/v1/threads/{thread_id}/messages", {"role": "user", "content": big}, "content"),
        (f"/v1/threads/{thread_id}/messages",
         {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + big}}]},
         "content"),
        ("/v1/threads", {"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": big}]},
         "messages[1].content"),
        (f"/v1/threads/{thread_id}/runs", {"assistant_id": asst["id"], "additional_instructions": big},
         "additional_instructions"),
    ]:
        error = error_of(await client.post(url, json=body), 400)
        assert error["param"] == param and "D1 row" in error["message"], (url, error)
    assert len(await listed(client, f"/v1/threads/{thread_id}/messages", "ListMessagesResponse")) == 1
    waiting = await finished(client, jobs, ctx, await run(client, (await thread(client, CALL_WEATHER))["id"], asst["id"]))
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    url = f"/v1/threads/{waiting['thread_id']}/runs/{waiting['id']}/submit_tool_outputs"
    error = error_of(await client.post(url, json={"tool_outputs": [{"tool_call_id": call, "output": big}]}), 400)
    assert error["param"] == "tool_outputs"
    assert (await ok(client.get(f"/v1/threads/{waiting['thread_id']}/runs/{waiting['id']}")))["status"] == \
        "requires_action"
