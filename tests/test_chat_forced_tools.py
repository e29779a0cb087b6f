"""Forced tool choice (``tool_choice: "required"`` or a named function) on every family that can be
forced: natively where the model takes ``tool_choice``, else as constrained output (JSON mode /
``guided_json`` held to the tool's parameter schema) read back as a proper tool call."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from openai_workers_ai.catalog import JSON_MODE, STREAMING, TOOLS, ModelInfo
from openai_workers_ai.errors import InvalidRequest
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.json_instance import instance
from openai_workers_ai.workers_ai import families, forced, spec

from .test_chat_tools import CLASSIC, GLM, QWEN3, SCOUT, TIME, WEATHER, accumulate, chunks_of, error_of, ok, post

HERMES = "@hf/nousresearch/hermes-2-pro-mistral-7b"
JSON_ONLY = "@cf/meta/llama-3.1-8b-instruct"  # JSON mode, no function calling
GUIDED = "@cf/google/gemma-3-12b-it"  # guided_json, no function calling
NEITHER = "@cf/meta/llama-3.2-1b-instruct"  # no tools, no JSON mode
CONSTRAINED = [CLASSIC, QWEN3, HERMES, JSON_ONLY, GUIDED]
NAMED = {"type": "function", "function": {"name": "get_weather"}}
SCHEMAS = {"get_weather": WEATHER["function"]["parameters"], "get_time": TIME["function"]["parameters"]}


def sent_schema(inputs: dict[str, Any]) -> Any:
    if "guided_json" in inputs:
        return inputs["guided_json"]
    assert inputs["response_format"]["type"] == "json_schema"
    return inputs["response_format"]["json_schema"]


def the_call(body: dict[str, Any], finish_reason: str = "tool_calls") -> dict[str, Any]:
    choice = body["choices"][0]
    assert choice["finish_reason"] == finish_reason and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    return call


@pytest.mark.parametrize("model", CONSTRAINED)
async def test_a_named_function_is_the_answer_held_to_its_schema(
    client: httpx.AsyncClient, simulator: Simulator, model: str
) -> None:
    call = the_call(await ok(client, model, "Weather in Paris?", tool_choice=NAMED), "stop")
    assert call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), SCHEMAS["get_weather"])
    inputs = simulator.calls[-1][1]
    assert "tools" not in inputs and "tool_choice" not in inputs  # constrained output, not function calling
    assert sent_schema(inputs) == SCHEMAS["get_weather"]
    system = inputs["messages"][0]
    assert system["role"] == "system" and "`get_weather` (Weather for a city)" in system["content"]
    assert "Do not call any other function" in system["content"]  # two tools were given


@pytest.mark.parametrize("model", CONSTRAINED)
async def test_required_is_a_choice_among_the_tools(
    client: httpx.AsyncClient, simulator: Simulator, model: str
) -> None:
    call = the_call(await ok(client, model, "Weather in Paris?", tool_choice="required"))
    assert call["function"]["name"] in SCHEMAS
    jsonschema.validate(json.loads(call["function"]["arguments"]), SCHEMAS[call["function"]["name"]])
    schema = sent_schema(simulator.calls[-1][1])
    names = [option["properties"]["name"]["enum"] for option in schema["anyOf"]]
    assert names == [["get_weather"], ["get_time"]]


@pytest.mark.parametrize("model", [CLASSIC, GUIDED])
async def test_forced_calls_stream_as_tool_call_deltas(client: httpx.AsyncClient, model: str) -> None:
    for choice in (NAMED, "required"):
        chunks = await chunks_of(client, model, "Weather?", tool_choice=choice, stream_options={"include_usage": True})
        [call] = accumulate(chunks).values()
        jsonschema.validate(json.loads(call["arguments"]), SCHEMAS[call["name"]])
        finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        assert finishes[-1] == ("stop" if choice == NAMED else "tool_calls")  # as OpenAI: see test_chat_tools.py
        assert not any(c["choices"][0]["delta"].get("content") for c in chunks if c["choices"])
        assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_an_existing_system_message_carries_the_instruction(
    client: httpx.AsyncClient, simulator: Simulator
) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}]
    await ok(client, CLASSIC, messages, tool_choice=NAMED)
    sent = simulator.calls[-1][1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[0]["content"].startswith("Be brief.\n\nCall the function `get_weather`")


async def test_one_allowed_tool_required_is_that_tool(client: httpx.AsyncClient, simulator: Simulator) -> None:
    choice = {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [
        {"type": "function", "function": {"name": "get_time"}}]}}
    call = the_call(await ok(client, CLASSIC, "What time is it?", tool_choice=choice))
    assert call["function"]["name"] == "get_time"
    assert sent_schema(simulator.calls[-1][1]) == SCHEMAS["get_time"]
    assert "Do not call any other function" not in simulator.calls[-1][1]["messages"][0]["content"]


async def test_every_choice_is_a_call(client: httpx.AsyncClient) -> None:
    body = await ok(client, CLASSIC, "Weather?", tool_choice=NAMED, n=2, seed=-5)
    assert [c["message"]["tool_calls"][0]["function"]["name"] for c in body["choices"]] == ["get_weather"] * 2


async def test_the_result_goes_back_and_the_model_answers(client: httpx.AsyncClient) -> None:
    call = the_call(await ok(client, CLASSIC, "Weather?", tool_choice=NAMED), "stop")
    history = [{"role": "user", "content": "Weather?"},
               {"role": "assistant", "content": None, "tool_calls": [call]},
               {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]
    body = await ok(client, CLASSIC, history, tool_choice="auto")
    assert body["choices"][0]["message"]["content"] == "Tool results: sunny"


@pytest.mark.parametrize("model", [SCOUT, GLM])
async def test_models_taking_tool_choice_get_it_as_is(
    client: httpx.AsyncClient, simulator: Simulator, model: str
) -> None:
    call = the_call(await ok(client, model, "Weather?", tool_choice=NAMED), "stop")
    assert call["function"]["name"] == "get_weather"
    inputs = simulator.calls[-1][1]
    assert inputs["tool_choice"] == NAMED and "response_format" not in inputs and "guided_json" not in inputs


async def test_a_model_with_neither_tools_nor_json_mode(client: httpx.AsyncClient) -> None:
    error = error_of(await post(client, NEITHER, tool_choice="required"), "tools")
    assert error["code"] == "tools_not_supported"


def test_tool_choice_not_supported_stays_for_tools_without_a_constrained_mode() -> None:
    model = ModelInfo("@cf/x/tools-only", "text-generation", "x", None, frozenset({STREAMING, TOOLS}), "messages")
    tool = spec.Tool("get_weather", None, SCHEMAS["get_weather"])
    forced = spec.ChatSpec(model=model, messages=(spec.Message("user", "hi"),), tools=(tool,),
                           tool_choice=spec.Forced("get_weather"))
    with pytest.raises(InvalidRequest) as info:
        families.calls(forced)
    assert (info.value.code, info.value.param) == ("tool_choice_not_supported", "tool_choice")
    assert families.calls(spec.ChatSpec(model=model, messages=forced.messages, tools=(tool,), tool_choice="auto"))


def test_tools_with_definitions_keep_their_references_in_a_choice() -> None:
    def pydantic_like(name: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"item": {"$ref": "#/$defs/Item"}}, "required": ["item"],
                "$defs": {"Item": {"type": "object", "properties": {name: {"type": "integer", "minimum": 3}},
                                   "required": [name]}}}

    tools = (spec.Tool("a", None, pydantic_like("x")), spec.Tool("b", None, pydantic_like("y")))
    schema = forced.forced_schema(tools)
    assert sorted(schema["$defs"]) == ["a.Item", "b.Item"]
    jsonschema.Draft202012Validator.check_schema(schema)
    value = instance(schema)
    jsonschema.validate(value, schema)
    assert value["name"] == "a" and value["arguments"]["item"]["x"] >= 3
    jsonschema.validate(value["arguments"], pydantic_like("x"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "b", "arguments": {"item": {"x": 5}}}, schema)


@pytest.mark.parametrize(("text", "names", "expected"), [
    ('{"city": "Paris"}', ("get_weather",), ("get_weather", '{"city": "Paris"}')),
    ('```json\n{"city": "Paris"}\n```', ("get_weather",), ("get_weather", '{"city": "Paris"}')),
    ('{"city": "Pa', ("get_weather",), ("get_weather", '{"city": "Pa')),  # cut by max_tokens: kept as is
    ('{"name": "get_time", "arguments": {"zone": "UTC"}}', ("get_weather", "get_time"),
     ("get_time", '{"zone": "UTC"}')),
    ('{"name": "other", "arguments": {}}', ("get_weather", "get_time"), None),
    ("not json", ("get_weather", "get_time"), None),
])
def test_reading_a_forced_answer_back(text: str, names: tuple[str, ...], expected: tuple[str, str] | None) -> None:
    from openai_workers_ai.workers_ai.outputs import forced_call

    found = forced_call(text, names)
    assert (None if found is None else (found.name, found.arguments)) == expected


def test_json_mode_models_are_the_constrainable_ones() -> None:
    assert families.constrains(ModelInfo("m", "text-generation", "x", None, frozenset({JSON_MODE})))
    assert families.constrains(ModelInfo("m", "text-generation", "x", extra={"guided_json": True}))
    assert not families.constrains(ModelInfo("m", "text-generation", "x"))
