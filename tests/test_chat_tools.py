"""Chat completions tools: tools / tool_choice / parallel_tool_calls per model family,
tool calls back (whole and streamed), multi-turn tool history. In-process over the simulator."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

from .openapi import assert_matches
from .sse import chat_chunks

URL = "/v1/chat/completions"
CLASSIC = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # flat {name, arguments: object}
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # OpenAI-shaped calls, object arguments, vLLM stream
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"  # messages-oai: classic input, chat.completion output
GLM = "@cf/zai-org/glm-4.7-flash"  # openai family
OSS = "@cf/openai/gpt-oss-120b"  # gpt-oss
NO_TOOLS = "@cf/meta/llama-3.1-8b-instruct"
TOOL_MODELS = [CLASSIC, SCOUT, QWEN3, GLM, OSS]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}},
                       "required": ["city"]},
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {
    "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
ARGS = {"city": "Zürich, 日本"}
CALL = f"call:get_weather {json.dumps(ARGS, ensure_ascii=False)}"


async def post(client: httpx.AsyncClient, model: str, content: str | list[dict[str, Any]] = CALL,
               **fields: Any) -> httpx.Response:
    messages = content if isinstance(content, list) else [{"role": "user", "content": content}]
    body = {"model": model, "messages": messages, "tools": [WEATHER, TIME], **fields}
    return await client.post(URL, json=body)


async def ok(client: httpx.AsyncClient, model: str, content: Any = CALL, **fields: Any) -> dict[str, Any]:
    r = await post(client, model, content, **fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateChatCompletionResponse")
    return body


async def chunks_of(client: httpx.AsyncClient, model: str, content: Any = CALL, **fields: Any) -> list[dict[str, Any]]:
    r = await post(client, model, content, stream=True, **fields)
    return chat_chunks(r)


def error_of(r: httpx.Response, param: str | None) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param
    return error


def accumulate(chunks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Tool calls rebuilt from deltas as a client does; checks OpenAI's delta rules on the way."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for delta in choice["delta"].get("tool_calls") or ():
                index = delta["index"]
                if index not in calls:  # the first delta names the call
                    assert delta["id"].startswith("call_") and delta["type"] == "function"
                    assert delta["function"]["name"]
                    calls[index] = {"id": delta["id"], "name": delta["function"]["name"], "arguments": ""}
                else:
                    assert "id" not in delta and "name" not in delta["function"]
                calls[index]["arguments"] += delta["function"].get("arguments") or ""
    return calls


# ---- calls back ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_tool_call_whole(client: httpx.AsyncClient, model: str) -> None:
    body = await ok(client, model)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == ARGS


async def test_a_calls_message_has_openais_member_order(client: httpx.AsyncClient) -> None:
    """The call comes before ``refusal``: ``role, content, tool_calls, refusal, annotations``, as OpenAI's
    answers order them (openai/openai-dotnet, tests/SessionRecords/ChatToolTests/ParallelToolCalls.json,
    ConstraintsWork.json, NoParameterToolWorks.json); a text answer has no call: ``role, content, refusal,
    annotations`` (HelloWorldChat.json)."""
    called = (await ok(client, SCOUT))["choices"][0]["message"]
    assert list(called) == ["role", "content", "tool_calls", "refusal", "annotations"]
    said = (await ok(client, SCOUT, "echo: hi"))["choices"][0]["message"]
    assert list(said) == ["role", "content", "refusal", "annotations"]


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_tool_call_streamed(client: httpx.AsyncClient, model: str) -> None:
    chunks = await chunks_of(client, model, stream_options={"include_usage": True})
    calls = accumulate(chunks)
    assert [c["name"] for c in calls.values()] == ["get_weather"]
    assert json.loads(calls[0]["arguments"]) == ARGS
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls" and finishes.count("tool_calls") == 1
    assert chunks[-1]["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("model", [CLASSIC, SCOUT])
async def test_an_answer_that_starts_with_a_call_opens_with_it(client: httpx.AsyncClient, model: str) -> None:
    """As OpenAI streams a tool call: the first chunk is the role, ``content: null`` and the call's first delta
    (no ``content: ""`` chunk before it), so a stream put back together has the whole answer's ``content``,
    null. A text answer still opens with ``{"role": "assistant", "content": "", "refusal": null}``."""
    chunks = await chunks_of(client, model)
    opening = chunks[0]["choices"][0]["delta"]
    assert opening["role"] == "assistant" and opening["content"] is None and opening["refusal"] is None
    assert opening["tool_calls"][0]["function"]["name"] == "get_weather" and "id" in opening["tool_calls"][0]
    assert not any(c["choices"][0]["delta"].get("role") for c in chunks[1:])
    assert not any("content" in c["choices"][0]["delta"] for c in chunks[1:])
    text = await chunks_of(client, model, "echo: hi")
    assert text[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}


@pytest.mark.parametrize("model", TOOL_MODELS)
async def test_parallel_calls_and_parallel_tool_calls_false(client: httpx.AsyncClient, model: str) -> None:
    two = f"{CALL}\ncall:get_time {{\"zone\": \"UTC\"}}"
    calls = (await ok(client, model, two))["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert len({c["id"] for c in calls}) == 2
    streamed = accumulate(await chunks_of(client, model, two))
    assert sorted(streamed) == [0, 1] and streamed[1]["name"] == "get_time"
    one = (await ok(client, model, two, parallel_tool_calls=False))["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in one] == ["get_weather"]
    assert list(accumulate(await chunks_of(client, model, two, parallel_tool_calls=False))) == [0]


async def test_arguments_default_to_a_schema_instance(client: httpx.AsyncClient) -> None:
    [call] = (await ok(client, GLM, "call:get_weather"))["choices"][0]["message"]["tool_calls"]
    assert isinstance(json.loads(call["function"]["arguments"])["city"], str)


# ---- what Workers AI receives ----------------------------------------------------------------


@pytest.mark.parametrize("model", [CLASSIC, QWEN3])
async def test_classic_models_get_flat_tools_and_no_tool_choice(
    client: httpx.AsyncClient, simulator: Simulator, model: str
) -> None:
    await ok(client, model, "hi", tool_choice="auto", parallel_tool_calls=True)
    inputs = simulator.calls[-1][1]
    assert inputs["tools"][0] == {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": WEATHER["function"]["parameters"],
    }
    # description and parameters.properties are required by the classic schemas
    assert inputs["tools"][1]["description"] == "" and inputs["tools"][1]["parameters"]["properties"]
    assert "tool_choice" not in inputs and "parallel_tool_calls" not in inputs


@pytest.mark.parametrize("model", [SCOUT, GLM, OSS])
async def test_openai_shaped_models_get_tools_and_tool_choice(
    client: httpx.AsyncClient, simulator: Simulator, model: str
) -> None:
    await ok(client, model, "hi", tool_choice={"type": "function", "function": {"name": "get_time"}})
    inputs = simulator.calls[-1][1]
    assert inputs["tools"][0] == WEATHER
    assert inputs["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}


async def test_tool_choice_none_sends_no_tools(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await ok(client, CLASSIC, tool_choice="none")
    assert body["choices"][0]["finish_reason"] == "stop"
    assert "tool_calls" not in body["choices"][0]["message"]
    assert "tools" not in simulator.calls[-1][1]


@pytest.mark.parametrize("model", [SCOUT, GLM, OSS])
async def test_tool_choice_required_and_named_force_a_call(client: httpx.AsyncClient, model: str) -> None:
    forced = (await ok(client, model, "no directive here", tool_choice="required"))["choices"][0]
    assert forced["finish_reason"] == "tool_calls"
    assert forced["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    named = {"type": "function", "function": {"name": "get_time"}}
    calls = (await ok(client, model, "hello", tool_choice=named))["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["get_time"]
    assert "zone" in json.loads(calls[0]["function"]["arguments"])


@pytest.mark.parametrize("model", [CLASSIC, SCOUT, GLM, OSS])
async def test_a_named_choice_that_called_finishes_with_stop(client: httpx.AsyncClient, model: str) -> None:
    """A named function choice answers its call with ``finish_reason: "stop"``, as OpenAI does
    (openai/openai-dotnet, tests/SessionRecords/ChatToolTests/ConstraintsWork.json: ``tool_choice``
    ``{"type": "function", "function": {"name": …}}`` → the call and ``"finish_reason": "stop"``, where ``auto``
    answers ``tool_calls``), streamed too; ``auto`` and ``required`` stay ``tool_calls``."""
    named = {"type": "function", "function": {"name": "get_weather"}}
    choice = (await ok(client, model, CALL, tool_choice=named))["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["tool_calls"]
    chunks = await chunks_of(client, model, CALL, tool_choice=named)
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]] \
        == ["stop"] and accumulate(chunks)
    for other in ("auto", "required"):
        assert (await ok(client, model, CALL, tool_choice=other))["choices"][0]["finish_reason"] == "tool_calls"


# ---- multi-turn ---------------------------------------------------------------------------


def history(call: dict[str, Any], result: str = '{"temperature": "18C"}') -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": CALL},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": result},
    ]


@pytest.mark.parametrize("model", TOOL_MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_round_trip(client: httpx.AsyncClient, simulator: Simulator, model: str, stream: bool) -> None:
    [call] = (await ok(client, model))["choices"][0]["message"]["tool_calls"]
    messages = history(call)
    if stream:
        chunks = await chunks_of(client, model, messages)
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    else:
        body = await ok(client, model, messages)
        text = body["choices"][0]["message"]["content"]
        assert body["choices"][0]["finish_reason"] == "stop"
    assert text == 'Tool results: {"temperature": "18C"}'
    sent = simulator.calls[-1][1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["content"] == '{"temperature": "18C"}'
    if model in (GLM, OSS):  # Chat Completions models get the calls and their ids as fields
        assert sent[1]["tool_calls"][0]["id"] == call["id"] == sent[2]["tool_call_id"]
        assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == ARGS
    else:  # classic schemas only have role/content: the call is written as the model emits it
        assert json.loads(sent[1]["content"]) == [{"name": "get_weather", "arguments": ARGS}]
        assert ("tool_call_id" in sent[2]) == (model == SCOUT)


async def test_upstream_ids_are_kept_inside_call_ids(client: httpx.AsyncClient) -> None:
    [call] = (await ok(client, GLM))["choices"][0]["message"]["tool_calls"]
    assert call["id"].startswith("call_chatcmpl-tool-")  # the model's own id, so history matches it


# ---- 400s ---------------------------------------------------------------------------------


async def test_tools_on_a_model_without_function_calling(client: httpx.AsyncClient, simulator: Simulator) -> None:
    calls = len(simulator.calls)
    error = error_of(await post(client, NO_TOOLS), "tools")
    assert error["code"] == "tools_not_supported" and NO_TOOLS in error["message"]
    assert len(simulator.calls) == calls


async def test_tool_choice_without_tools(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": GLM, "messages": [{"role": "user", "content": "x"}],
                                     "tool_choice": "required"})
    assert "only allowed when 'tools' are specified" in error_of(r, "tool_choice")["message"]


async def test_named_tool_choice_must_name_a_given_tool(client: httpx.AsyncClient) -> None:
    r = await post(client, GLM, tool_choice={"type": "function", "function": {"name": "nope"}})
    error_of(r, "tool_choice.function.name")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": "get_weather"}, "tools"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tools": [WEATHER] * 129}, "tools"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"functions": "get_weather"}, "functions"),
        ({"functions": [{"name": "f"}]}, None),  # beside tools: OpenAI's 400 names no param
        ({"function_call": "auto"}, "function_call"),
    ],
)
async def test_wrong_tool_fields(client: httpx.AsyncClient, fields: dict[str, Any], param: str | None) -> None:
    body = {"model": GLM, "messages": [{"role": "user", "content": "x"}], "tools": [WEATHER], **fields}
    error_of(await client.post(URL, json=body), param)


def broken_histories() -> list[tuple[list[dict[str, Any]], str, str]]:
    call = {"id": "call_x", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    unknown = history(call)
    unknown[2]["tool_call_id"] = "call_other"
    missing = history(call)
    del missing[2]["tool_call_id"]
    unanswered = [*history(call)[:2], {"role": "user", "content": "and?"}]
    orphan = [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_x", "content": "1"}]
    return [(unknown, "messages[2].role", "must be a response"),
            (missing, "messages[2].tool_call_id", "Missing required parameter"),
            (unanswered, "messages[1].role", "did not have response messages: call_x"),
            (orphan, "messages[1].role", "must be a response")]


@pytest.mark.parametrize(("messages", "param", "text"), broken_histories())
async def test_broken_tool_history(client: httpx.AsyncClient, messages: list[dict[str, Any]], param: str,
                                   text: str) -> None:
    assert text in error_of(await post(client, GLM, messages), param)["message"]


def test_the_simulator_checks_tool_call_ids_too(simulator: Simulator) -> None:
    from openai_workers_ai.simulator import SimulatedFailure

    messages, _, _ = broken_histories()[0]
    with pytest.raises(SimulatedFailure, match="tool_call_id"):
        simulator.answer(GLM, {"messages": messages, "tools": [WEATHER]})


@pytest.mark.parametrize("model", [CLASSIC, GLM])
async def test_allowed_tools_narrows_the_tools(client: httpx.AsyncClient, simulator: Simulator, model: str) -> None:
    choice = {"type": "allowed_tools",
              "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "get_time"}}]}}
    body = await ok(client, model, f"{CALL}\ncall:get_time {{\"zone\": \"CET\"}}", tool_choice=choice)
    assert [c["function"]["name"] for c in body["choices"][0]["message"]["tool_calls"]] == ["get_time"]
    inputs = simulator.calls[-1][1]
    assert len(inputs["tools"]) == 1 and inputs.get("tool_choice", "auto") == "auto"


async def test_allowed_tools_required_and_unknown(client: httpx.AsyncClient) -> None:
    ref = {"type": "function", "function": {"name": "get_time"}}
    required = {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [ref]}}
    for model in (GLM, CLASSIC):  # classic: forced as constrained output
        calls = (await ok(client, model, "hi", tool_choice=required))["choices"][0]["message"]["tool_calls"]
        assert [c["function"]["name"] for c in calls] == ["get_time"]
    unknown = {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [
        ref, {"type": "function", "function": {"name": "nope"}}]}}
    error_of(await post(client, GLM, tool_choice=unknown), "tool_choice.allowed_tools.tools[1].function.name")
    bad_mode = {"type": "allowed_tools", "allowed_tools": {"mode": "sometimes", "tools": [ref]}}
    error_of(await post(client, GLM, tool_choice=bad_mode), "tool_choice.allowed_tools.mode")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("content", "names"),
    [('call-text:get_weather {"city": "Rome"}', ["get_weather"]),
     ('call-text:get_weather {"city": "Rome"}\ncall-text:get_time {"zone": "CET"}', ["get_weather", "get_time"])],
)
async def test_calls_written_as_text_are_recovered(
    client: httpx.AsyncClient, simulator: Simulator, content: str, names: list[str], stream: bool
) -> None:
    # Classic models sometimes write the call in `response` ({"name", "parameters"} or <tool_call> tags).
    if stream:
        calls = list(accumulate(await chunks_of(client, CLASSIC, content)).values())
    else:
        message = (await ok(client, CLASSIC, content))["choices"][0]["message"]
        assert message["content"] is None
        calls = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                 for c in message["tool_calls"]]
    assert [c["name"] for c in calls] == names
    assert json.loads(calls[0]["arguments"]) == {"city": "Rome"}
    raw = simulator.answer(CLASSIC, simulator.calls[-1][1])  # what Workers AI answered: text, no calls
    assert isinstance(raw, dict) and raw["tool_calls"] == [] and "Rome" in raw["response"]


async def test_text_that_is_not_a_known_call_stays_text(client: httpx.AsyncClient) -> None:
    body = await ok(client, CLASSIC, 'echo: {"name": "unknown_tool", "parameters": {}}')
    assert body["choices"][0]["finish_reason"] == "stop"
    assert json.loads(body["choices"][0]["message"]["content"])["name"] == "unknown_tool"
    native = await ok(client, GLM, 'call-text:get_weather {"city": "Rome"}')  # Chat Completions models: as sent
    assert native["choices"][0]["finish_reason"] == "stop" and native["choices"][0]["message"]["content"]
