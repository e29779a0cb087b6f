"""Helpers for the Assistants tests: objects made over the API, runs executed, streams read and checked
against OpenAI's schemas."""

from __future__ import annotations

import json
from typing import Any

import httpx

from openai_workers_ai.context import AppContext
from openai_workers_ai.jobs import InProcessJobs

from .openapi import assert_matches

SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # tools and vision
LLAMA = "@cf/meta/llama-3.1-8b-instruct"  # no tools
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}}
WEATHER_SHOWN = {"type": "function", "function": {**WEATHER["function"], "strict": False}}
""":data:`WEATHER` as an assistant or a run shows it: OpenAI's ``strict: false`` filled in."""
CALL_WEATHER = 'call:get_weather {"city": "Paris"}'


def schema_of(event: str) -> str:
    """The OpenAPI schema of an AssistantStreamEvent's data."""
    if event == "thread.created":
        return "ThreadObject"
    if event == "thread.run.step.delta":
        return "RunStepDeltaObject"
    if event.startswith("thread.run.step."):
        return "RunStepObject"
    if event.startswith("thread.run."):
        return "RunObject"
    if event == "thread.message.delta":
        return "MessageDeltaObject"
    if event.startswith("thread.message."):
        return "MessageObject"
    assert event == "error", event
    return "Error"


def events(r: httpx.Response) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a streamed run, each validated against OpenAI's schemas (its data, and
    the pair as an ``AssistantStreamEvent``); the stream must end with ``done`` / ``[DONE]``."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    out: list[tuple[str, Any]] = []
    for block in r.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], lines["data"]))
    assert out[-1] == ("done", "[DONE]"), out[-1]
    parsed = [(name, json.loads(data)) for name, data in out[:-1]]
    for name, data in parsed:
        assert_matches(data, schema_of(name))
        assert_matches({"event": name, "data": data}, "AssistantStreamEvent")
    assert_matches({"event": "done", "data": "[DONE]"}, "AssistantStreamEvent")
    return parsed


def names(pairs: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in pairs]


def text_of(pairs: list[tuple[str, Any]]) -> str:
    """The text the ``thread.message.delta`` events carried, joined."""
    return "".join(part["text"]["value"] for name, data in pairs if name == "thread.message.delta"
                   for part in data["delta"]["content"])


async def ok(r: Any, schema: str | None = None) -> dict[str, Any]:
    """The JSON of a 200 answer (awaited if need be), validated against ``schema``."""
    response: httpx.Response = await r if not isinstance(r, httpx.Response) else r
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if schema is not None:
        assert_matches(body, schema)
    return body


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    """The OpenAI error object of a failed answer with ``status``."""
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


async def assistant(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await ok(client.post("/v1/assistants", json={"model": SCOUT, "instructions": "Be brief.",
                                                        "tools": [WEATHER], **fields}), "AssistantObject")


async def thread(client: httpx.AsyncClient, *contents: str, **fields: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": c} for c in contents]
    return await ok(client.post("/v1/threads", json={"messages": messages, **fields}), "ThreadObject")


async def run(client: httpx.AsyncClient, thread_id: str, assistant_id: str, **fields: Any) -> dict[str, Any]:
    """A run created without streaming (``queued``, sent to the background)."""
    created = await ok(client.post(f"/v1/threads/{thread_id}/runs", json={"assistant_id": assistant_id, **fields}),
                       "RunObject")
    assert created["status"] == "queued"
    return created


async def finished(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, created: dict[str, Any]
                   ) -> dict[str, Any]:
    """The run after the background jobs ran."""
    await jobs.drain(ctx)
    return await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}"), "RunObject")


async def listed(client: httpx.AsyncClient, url: str, schema: str) -> list[dict[str, Any]]:
    """A list page's objects, the page validated against ``schema``. An empty page has ``first_id`` and
    ``last_id`` null, as OpenAI answers (the spec types them as strings)."""
    body = await ok(client.get(url))
    data: list[dict[str, Any]] = body["data"]
    if data:
        assert_matches(body, schema)
    else:
        assert body == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    return data


# The members of each object in the order OpenAI's answers list them: openai/openai-dotnet
# tests/SessionRecords/AssistantsTests/BasicAssistantOperationsWork.json (assistants), BasicThreadOperationsWork.json
# (threads), BasicRunOperationsWork.json (runs), StreamingRunWorks.json (thread.run.*, thread.run.step.* and
# thread.message.* events) and BasicRunStepFunctionalityWorks.json (a run's steps listed).
ASSISTANT_MEMBERS = ["id", "object", "created_at", "name", "description", "model", "instructions", "tools", "top_p",
                     "temperature", "reasoning_effort", "tool_resources", "metadata", "response_format"]
THREAD_MEMBERS = ["id", "object", "created_at", "metadata", "tool_resources"]
MESSAGE_MEMBERS = ["id", "object", "created_at", "assistant_id", "thread_id", "run_id", "status", "incomplete_details",
                   "incomplete_at", "completed_at", "role", "content", "attachments", "metadata"]
RUN_MEMBERS = ["id", "object", "created_at", "assistant_id", "thread_id", "status", "started_at", "expires_at",
               "cancelled_at", "failed_at", "completed_at", "required_action", "last_error", "model", "instructions",
               "tools", "tool_resources", "metadata", "temperature", "top_p", "reasoning_effort",
               "max_completion_tokens", "max_prompt_tokens", "truncation_strategy", "incomplete_details", "usage",
               "response_format", "tool_choice", "parallel_tool_calls"]
STEP_MEMBERS = ["id", "object", "created_at", "run_id", "assistant_id", "thread_id", "type", "status", "cancelled_at",
                "completed_at", "expires_at", "failed_at", "last_error", "step_details", "usage"]
"""A step's: ``expires_at`` where OpenAI's spec has ``expired_at``, and no ``metadata``, in every recorded step."""
