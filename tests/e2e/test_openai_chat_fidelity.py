"""The official ``openai`` client's tool-calling, structured-output, vision, ``n`` and
reasoning paths, unchanged, against the real local server (simulator backend)."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from typing import Any

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel

from ..openapi import assert_matches
from .conftest import E2E_KEY

CLASSIC = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
GLM = "@cf/zai-org/glm-4.7-flash"
OSS = "@cf/openai/gpt-oss-120b"
QWQ = "@cf/qwen/qwq-32b"
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode()


class GetWeather(BaseModel):
    """Weather for a city."""

    city: str
    unit: str


class Country(BaseModel):
    name: str
    population: int
    languages: list[str]
    capital: City


class City(BaseModel):
    name: str
    coastal: bool


Country.model_rebuild()


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=server + "/v1", api_key=E2E_KEY, max_retries=0)


TOOL = openai.pydantic_function_tool(GetWeather)
ASK = 'call:GetWeather {"city": "Paris", "unit": "C"}'


@pytest.mark.parametrize("model", [CLASSIC, SCOUT, GLM, OSS])
def test_tool_round_trip(client: OpenAI, model: str) -> None:
    messages: list[Any] = [{"role": "user", "content": ASK}]
    first = client.chat.completions.create(model=model, messages=messages, tools=[TOOL])
    assert_matches(first.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls or []
    assert call.id.startswith("call_") and call.function.name == "GetWeather"
    assert GetWeather.model_validate_json(call.function.arguments) == GetWeather(city="Paris", unit="C")
    messages += [first.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": "21 degrees"}]
    final = client.chat.completions.create(model=model, messages=messages, tools=[TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Tool results: 21 degrees"


@pytest.mark.parametrize("model", [CLASSIC, SCOUT, GLM, OSS])
def test_tool_round_trip_with_the_stream_helper(client: OpenAI, model: str) -> None:
    messages: list[Any] = [{"role": "user", "content": ASK + '\ncall:GetWeather {"city": "Oslo", "unit": "F"}'}]
    done: list[Any] = []
    with client.chat.completions.stream(model=model, messages=messages, tools=[TOOL]) as stream:
        for event in stream:
            if event.type == "tool_calls.function.arguments.done":
                done.append(event.parsed_arguments)
        first = stream.get_final_completion()
    assert done == [GetWeather(city="Paris", unit="C"), GetWeather(city="Oslo", unit="F")]
    calls = first.choices[0].message.tool_calls or []
    assert [c.function.parsed_arguments for c in calls] == done
    assert first.choices[0].finish_reason == "tool_calls"
    messages.append(first.choices[0].message.model_dump(exclude_none=True, exclude={"parsed"}))
    messages += [{"role": "tool", "tool_call_id": c.id, "content": f"{i}0 degrees"} for i, c in enumerate(calls)]
    with client.chat.completions.stream(model=model, messages=messages, tools=[TOOL]) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert text == final.choices[0].message.content == "Tool results: 00 degrees; 10 degrees"


@pytest.mark.parametrize("model", [CLASSIC, GLM, OSS])
def test_parse_with_a_pydantic_model(client: OpenAI, model: str) -> None:
    completion = client.chat.completions.parse(
        model=model, messages=[{"role": "user", "content": "Describe Portugal."}], response_format=Country)
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Country) and isinstance(parsed.capital, City)
    assert parsed == Country.model_validate_json(completion.choices[0].message.content or "")
    with client.chat.completions.stream(model=model, messages=[{"role": "user", "content": "Portugal?"}],
                                        response_format=Country) as stream:
        final = stream.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, Country)


def test_json_mode_on_a_model_without_it(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.parse(model="@cf/meta/llama-3.2-1b-instruct",
                                      messages=[{"role": "user", "content": "x"}], response_format=Country)
    assert info.value.param == "response_format" and info.value.code == "response_format_not_supported"


def test_prompt_cache_options(client: OpenAI) -> None:
    """The client's ``prompt_cache_options`` keys are taken; another (sent as the client sends a dict) is chat's 400."""
    messages: Any = [{"role": "user", "content": "echo: cached"}]
    done = client.chat.completions.create(model=CLASSIC, messages=messages,
                                          prompt_cache_options={"mode": "implicit", "ttl": "30m"})
    assert done.choices[0].message.content == "cached"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=CLASSIC, messages=messages,
                                       prompt_cache_options={"ttl": "30m", "prewarm": True})  # type: ignore[typeddict-unknown-key]
    assert info.value.param == "prompt_cache_options.prewarm" and info.value.code is None


def test_vision_with_a_data_url(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What do you see?"},
        {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": PNG}},
    ]}])
    assert completion.choices[0].message.content == "I received 2 images: image/png, image/png."


def test_images_for_a_text_model(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=CLASSIC, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": PNG}}]}])
    assert info.value.param == "messages[0].content[0]" and info.value.code == "image_not_supported"


def test_n_3_streaming(client: OpenAI) -> None:
    text: dict[int, str] = defaultdict(str)
    finishes: dict[int, str] = {}
    stream = client.chat.completions.create(model=GLM, messages=[{"role": "user", "content": "a poem"}],
                                            n=3, seed=1, stream=True, stream_options={"include_usage": True})
    usage = None
    for chunk in stream:
        assert_matches(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert len({text[0], text[1], text[2]}) == 3 and all(text.values())
    assert usage is not None and usage.completion_tokens > 0
    with client.chat.completions.stream(model=GLM, messages=[{"role": "user", "content": "a poem"}],
                                        n=3, seed=1) as helper:
        final = helper.get_final_completion()
    assert [c.message.content for c in final.choices] == [text[0], text[1], text[2]]


def test_n_above_4(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=GLM, messages=[{"role": "user", "content": "x"}], n=5)
    assert info.value.param == "n"


@pytest.mark.parametrize("model", [QWQ, OSS])
def test_reasoning_content(client: OpenAI, model: str) -> None:
    messages: list[Any] = [{"role": "user", "content": "echo: 42"}]
    completion = client.chat.completions.create(model=model, messages=messages, reasoning_effort="low")
    message = completion.choices[0].message
    assert message.content == "42"
    reasoning = (message.model_extra or {})["reasoning_content"]
    assert reasoning.startswith("The user asks")
    thought, answer = "", ""
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        if chunk.choices:
            thought += (chunk.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
            answer += chunk.choices[0].delta.content or ""
    assert (thought.strip(), answer) == (reasoning, "42")


def test_logprobs_are_null(client: OpenAI) -> None:
    completion = client.chat.completions.create(model=GLM, messages=[{"role": "user", "content": "x"}],
                                                logprobs=True, top_logprobs=2)
    assert completion.choices[0].logprobs is None


def test_forcing_a_tool_on_a_classic_model(client: OpenAI) -> None:
    # No tool_choice on llama-3.3: the call is the model's answer held to the tool's schema.
    for choice in ("required", {"type": "function", "function": {"name": TOOL["function"]["name"]}}):
        completion = client.chat.completions.create(model=CLASSIC, messages=[{"role": "user", "content": "x"}],
                                                    tools=[TOOL], tool_choice=choice)  # type: ignore[arg-type]
        [call] = completion.choices[0].message.tool_calls or []
        assert call.function.name == TOOL["function"]["name"] and json.loads(call.function.arguments)
        # a named choice finishes with "stop", as OpenAI's (openai/openai-dotnet ChatToolTests/ConstraintsWork.json)
        assert completion.choices[0].finish_reason == ("tool_calls" if choice == "required" else "stop")


@pytest.mark.parametrize("model", [CLASSIC, GLM])
def test_deprecated_functions_round_trip(client: OpenAI, model: str) -> None:
    """``functions=`` / ``function_call=``, still parameters of the official client: the answer carries
    ``message.function_call`` and ``finish_reason: "function_call"``, and a ``function`` message answers it."""
    function: Any = TOOL["function"]
    messages: list[Any] = [{"role": "user", "content": ASK}]
    first = client.chat.completions.create(model=model, messages=messages, functions=[function])
    assert_matches(first.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert first.choices[0].finish_reason == "function_call"
    call = first.choices[0].message.function_call
    assert call is not None and call.name == "GetWeather" and first.choices[0].message.tool_calls is None
    assert GetWeather.model_validate_json(call.arguments) == GetWeather(city="Paris", unit="C")
    messages += [first.choices[0].message, {"role": "function", "name": call.name, "content": "21 degrees"}]
    final = client.chat.completions.create(model=model, messages=messages, functions=[function],
                                           function_call="auto")
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Tool results: 21 degrees"
    streamed = client.chat.completions.create(model=model, messages=messages[:1], functions=[function],
                                              function_call={"name": "GetWeather"}, stream=True)
    chunks = list(streamed)
    deltas = [c.choices[0].delta.function_call for c in chunks if c.choices and c.choices[0].delta.function_call]
    assert deltas[0].name == "GetWeather"
    GetWeather.model_validate_json("".join(d.arguments or "" for d in deltas))  # forced: held to the schema
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "function_call"
