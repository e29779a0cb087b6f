"""Chat completions with the deprecated ``functions`` / ``function_call``: served as OpenAI still serves
them, as function tools through the one pipeline, answered with ``message.function_call`` (one call, no
id) and ``finish_reason: "function_call"``; ``function`` messages in the history are the calls' results.
In-process over the simulator."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

from .openapi import assert_matches
from .sse import chat_chunks
from .test_chat_tools import CLASSIC, GLM, OSS, SCOUT, TOOL_MODELS, URL, WEATHER, error_of

FUNCTION = WEATHER["function"]
TIME = {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}
ARGS = {"city": "Paris"}
CALL = f"call:get_weather {json.dumps(ARGS)}"
TWO = f"{CALL}\ncall:get_time {{\"zone\": \"UTC\"}}"


def body_of(model: str, content: str | list[dict[str, Any]] = CALL, **fields: Any) -> dict[str, Any]:
    messages = content if isinstance(content, list) else [{"role": "user", "content": content}]
    return {"model": model, "messages": messages, "functions": [FUNCTION, TIME], **fields}


async def ok(client: httpx.AsyncClient, model: str, content: Any = CALL, **fields: Any) -> dict[str, Any]:
    r = await client.post(URL, json=body_of(model, content, **fields))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert_matches(body, "CreateChatCompletionResponse")
    return body


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_a_call_is_a_function_call(client: httpx.AsyncClient, model: str) -> None:
    choice = (await ok(client, model))["choices"][0]
    assert choice["finish_reason"] == "function_call"
    message = choice["message"]
    assert "tool_calls" not in message and message["content"] is None
    assert message["function_call"]["name"] == "get_weather"
    assert json.loads(message["function_call"]["arguments"]) == ARGS
    assert set(message["function_call"]) == {"name", "arguments"}
    # in OpenAI's order (openai/openai-dotnet, tests/SessionRecords/ChatToolTests/FunctionsWork.json)
    members = [k for k in message if k != "reasoning_content"]  # a reasoning model's, not OpenAI's
    assert members == ["role", "content", "function_call", "refusal", "annotations"]


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_only_one_call_per_choice(client: httpx.AsyncClient, model: str) -> None:
    message = (await ok(client, model, TWO))["choices"][0]["message"]
    assert message["function_call"]["name"] == "get_weather"
    r = await client.post(URL, json=body_of(model, TWO, stream=True))
    chunks = chat_chunks(r)
    names = [c["choices"][0]["delta"]["function_call"].get("name") for c in chunks
             if c["choices"] and "function_call" in c["choices"][0]["delta"]]
    assert [n for n in names if n] == ["get_weather"]


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_a_call_streamed_is_function_call_deltas(client: httpx.AsyncClient, model: str) -> None:
    r = await client.post(URL, json=body_of(model, stream=True, stream_options={"include_usage": True}))
    chunks = chat_chunks(r)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert not any("tool_calls" in d for d in deltas)
    calls = [d["function_call"] for d in deltas if "function_call" in d]
    assert calls[0]["name"] == "get_weather" and all("name" not in c for c in calls[1:])
    if model in (CLASSIC, SCOUT):  # the answer starts with the call: it opens the stream, content null
        assert deltas[0]["role"] == "assistant" and deltas[0]["content"] is None and "function_call" in deltas[0]
    assert json.loads("".join(c["arguments"] for c in calls)) == ARGS
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "function_call" and finishes.count("function_call") == 1
    assert chunks[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("model", [CLASSIC, SCOUT, GLM, OSS])
async def test_a_round_trip_with_function_messages(client: httpx.AsyncClient, simulator: Simulator,
                                                   model: str) -> None:
    first = (await ok(client, model))["choices"][0]["message"]
    history = [{"role": "user", "content": CALL}, first, {"role": "function", "name": "get_weather", "content": "21"}]
    final = (await ok(client, model, history))["choices"][0]
    assert final["finish_reason"] == "stop"
    assert final["message"]["content"] == "Tool results: 21"
    assert "function_call" not in final["message"]


async def test_the_history_reaches_the_model_as_one_tool_round_trip(client: httpx.AsyncClient,
                                                                     simulator: Simulator) -> None:
    call = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    history = [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": None, "function_call": call},
               {"role": "function", "name": "get_weather", "content": "21"}]
    await ok(client, GLM, history)
    sent = simulator.calls[-1][1]["messages"]
    [tool_call] = sent[1]["tool_calls"]
    assert tool_call["function"] == call
    assert sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == tool_call["id"] and sent[2]["content"] == "21"


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_a_function_result_with_no_call_before_it_is_read_as_one(client: httpx.AsyncClient,
                                                                       simulator: Simulator, model: str) -> None:
    """OpenAI takes a ``function`` message anywhere; Workers AI refuses a tool result that answers no call on
    some models (GLM, gpt-oss: 5006 "tool_call_id is missing"). Each result reaches the model answering a
    call of its function; a second result of one call gets a call of its own."""
    history = [{"role": "user", "content": "weather?"}, {"role": "function", "name": "get_weather", "content": "21"},
               {"role": "function", "name": "get_weather", "content": "22"}]
    final = (await ok(client, model, history))["choices"][0]
    assert final["message"]["content"] == "Tool results: 22"  # the simulator answers the results that end the chat
    if model == GLM:
        sent = simulator.calls[-1][1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "tool"]
        assert [c["function"] for m in sent[1::2] for c in m.get("tool_calls", [])] == [
            {"name": "get_weather", "arguments": "{}"}] * 2
        assert sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"] != sent[4]["tool_call_id"]


@pytest.mark.parametrize("model", [CLASSIC, GLM])
async def test_function_call_choices(client: httpx.AsyncClient, simulator: Simulator, model: str) -> None:
    forced = (await ok(client, model, "weather in Paris?", function_call={"name": "get_weather"}))["choices"][0]
    assert forced["finish_reason"] == "function_call"
    assert forced["message"]["function_call"]["name"] == "get_weather"
    none = (await ok(client, model, CALL, function_call="none"))["choices"][0]
    assert none["finish_reason"] == "stop" and "function_call" not in none["message"]
    assert "tools" not in simulator.calls[-1][1]
    auto = (await ok(client, model, CALL, function_call="auto"))["choices"][0]
    assert auto["finish_reason"] == "function_call"


async def test_functions_and_tools_together_is_openais_400(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=body_of(GLM, tools=[WEATHER]))
    assert "'functions' and 'tools' cannot both be provided" in error_of(r, None)["message"]


async def test_function_call_without_functions_is_openais_400(client: httpx.AsyncClient) -> None:
    body = {"model": GLM, "messages": [{"role": "user", "content": "x"}], "function_call": "auto"}
    message = error_of(await client.post(URL, json=body), "function_call")["message"]
    assert message == ("Invalid value for 'function_call': 'function_call' is only allowed when 'functions' are "
                       "specified.")


async def test_function_call_naming_an_unknown_function(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=body_of(GLM, function_call={"name": "nope"}))
    assert "no function named 'nope' was specified in the 'functions' parameter" in error_of(r, "function_call")[
        "message"]


async def test_functions_on_a_model_without_function_calling(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=body_of("@cf/meta/llama-3.1-8b-instruct"))
    error_of(r, "functions")


async def test_stored_with_functions_as_returned_and_as_sent(client: httpx.AsyncClient) -> None:
    """``store: true`` with the deprecated ``functions``: the completion read back has the ``function_call`` returned
    (streamed or not; ``tool_calls`` null, as OpenAI's stored messages read), and the request's assistant
    ``function_call`` and ``function`` message are listed as sent (``ChatCompletionResponseMessage.function_call``),
    not dropped."""
    created = await ok(client, GLM, store=True)
    message = (await client.get(f"{URL}/{created['id']}")).json()["choices"][0]["message"]
    assert message["function_call"] == created["choices"][0]["message"]["function_call"]
    assert message["tool_calls"] is None
    r = await client.post(URL, json=body_of(GLM, store=True, stream=True))
    chunks = chat_chunks(r)
    streamed = "".join(c["choices"][0]["delta"]["function_call"]["arguments"] for c in chunks
                       if c["choices"] and "function_call" in c["choices"][0]["delta"])
    stored = (await client.get(f"{URL}/{chunks[0]['id']}")).json()["choices"][0]
    assert stored["finish_reason"] == "function_call" and stored["message"]["tool_calls"] is None
    assert stored["message"]["function_call"] == {"name": "get_weather", "arguments": streamed}
    call = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    history = [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": None, "function_call": call},
               {"role": "function", "name": "get_weather", "content": "21"}]
    created = await ok(client, GLM, history, store=True)
    listed = (await client.get(f"{URL}/{created['id']}/messages")).json()["data"]
    assert listed[1]["role"] == "assistant" and listed[1]["content"] is None and listed[1]["function_call"] == call
    assert "function_call" not in listed[0] and "function_call" not in listed[2]
    assert (listed[2]["role"], listed[2]["name"], listed[2]["content"]) == ("function", "get_weather", "21")
