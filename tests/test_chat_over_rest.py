"""Chat fidelity through the REST backend (``RestAI``) and the simulator in the REST API's
envelope: every family's tools, JSON mode and reasoning survive the HTTP hop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.rest import create_rest_app

from .conftest import KEY
from .openapi import assert_matches
from .served import rest_ai_over

URL = "/v1/chat/completions"
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}


@pytest.fixture
async def rest_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with rest_ai_over(create_rest_app(Simulator(), token="t"), token="t", account="acc") as ai:
        app = create_app(Backends(ai=ai, db=SQLiteD1(":memory:"), bucket=FolderR2(tmp_path)),
                         Settings(access_token=(KEY,)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers={"authorization": f"Bearer {KEY}"}) as client:
            yield client


async def run(client: httpx.AsyncClient, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """The assistant message (rebuilt from chunks when streaming) and the finish reason."""
    r = await client.post(URL, json={**body, "stream": stream})
    assert r.status_code == 200, r.text
    if not stream:
        assert_matches(r.json(), "CreateChatCompletionResponse")
        choice = r.json()["choices"][0]
        return {**choice["message"], "finish_reason": choice["finish_reason"]}
    message: dict[str, Any] = {"content": "", "reasoning_content": "", "tool_calls": []}
    for line in r.text.split("\n"):
        if not line.startswith("data: {"):
            continue
        chunk = json.loads(line[6:])
        assert_matches(chunk, "CreateChatCompletionStreamResponse")
        choice = chunk["choices"][0]
        delta = choice["delta"]
        message["content"] += delta.get("content") or ""
        message["reasoning_content"] += delta.get("reasoning_content") or ""
        for call in delta.get("tool_calls") or ():
            if "id" in call:
                message["tool_calls"].append({"id": call["id"], "type": "function",
                                              "function": {"name": call["function"]["name"], "arguments": ""}})
            message["tool_calls"][call["index"]]["function"]["arguments"] += call["function"].get("arguments") or ""
        message["finish_reason"] = choice["finish_reason"] or message.get("finish_reason")
    return message


@pytest.mark.parametrize("model", ["@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/meta/llama-4-scout-17b-16e-instruct",
                                   "@cf/qwen/qwen3-30b-a3b-fp8", "@cf/moonshotai/kimi-k2.6", "@cf/openai/gpt-oss-20b"])
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_round_trip_over_rest(rest_client: httpx.AsyncClient, model: str, stream: bool) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": 'call:lookup {"q": "straße 🙂"}'}]
    first = await run(rest_client, {"model": model, "messages": messages, "tools": [TOOL]}, stream)
    assert first["finish_reason"] == "tool_calls"
    [call] = first["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"q": "straße 🙂"}
    messages += [{"role": "assistant", "content": None, "tool_calls": [call]},
                 {"role": "tool", "tool_call_id": call["id"], "content": "found"}]
    final = await run(rest_client, {"model": model, "messages": messages, "tools": [TOOL]}, stream)
    assert (final["content"], final["finish_reason"]) == ("Tool results: found", "stop")


@pytest.mark.parametrize("stream", [False, True])
async def test_json_mode_and_reasoning_over_rest(rest_client: httpx.AsyncClient, stream: bool) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": TOOL["function"]["parameters"]}}
    body = {"model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "messages": [{"role": "user", "content": "q"}],
            "response_format": fmt}
    assert isinstance(json.loads((await run(rest_client, body, stream))["content"])["q"], str)
    body = {"model": "@cf/qwen/qwq-32b", "messages": [{"role": "user", "content": "echo: yes"}]}
    message = await run(rest_client, body, stream)
    assert message["content"] == "yes" and message["reasoning_content"].strip().startswith("The user asks")
