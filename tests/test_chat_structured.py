"""Chat completions ``response_format``: text / json_object / json_schema → Workers AI JSON mode
(or ``guided_json``), per model family; a 400 where the model has no JSON mode."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.json_instance import instance

from .openapi import assert_matches
from .sse import chat_chunks

URL = "/v1/chat/completions"
CLASSIC = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # JSON_MODE, classic
GLM = "@cf/zai-org/glm-4.7-flash"  # openai family
OSS = "@cf/openai/gpt-oss-20b"
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"  # messages-oai
GEMMA3 = "@cf/google/gemma-3-12b-it"  # guided_json only
PLAIN = "@cf/meta/llama-3.2-1b-instruct"  # no JSON mode

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3},
        "capital": {"type": "string"},
        "population": {"type": "integer", "minimum": 1000},
        "languages": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "continent": {"enum": ["Asia", "Europe"]},
        "leader": {"$ref": "#/$defs/Person"},
        "motto": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 4}]},
    },
    "required": ["name", "capital", "population", "languages", "continent", "leader", "motto"],
    "additionalProperties": False,
    "$defs": {"Person": {"type": "object", "properties": {"born": {"type": "string", "format": "date"}},
                         "required": ["born"], "additionalProperties": False}},
}
FORMAT = {"type": "json_schema", "json_schema": {"name": "country", "schema": SCHEMA, "strict": True}}


def chat(model: str, content: str = "Describe India as JSON.", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **fields}


async def ok(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(URL, json=body)
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateChatCompletionResponse")
    return r.json()


async def streamed_text(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    r = await client.post(URL, json={**body, "stream": True})
    chunks = chat_chunks(r)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def valid(text: str, schema: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    value = json.loads(text)
    errors = list(Draft202012Validator(schema).iter_errors(value))
    assert not errors, errors
    return value


@pytest.mark.parametrize("model", [CLASSIC, GLM, OSS, QWEN3, GEMMA3])
async def test_json_schema_whole_and_streamed(client: httpx.AsyncClient, model: str) -> None:
    body = await ok(client, chat(model, response_format=FORMAT))
    whole = body["choices"][0]["message"]["content"]
    assert "reasoning_content" not in body["choices"][0]["message"]  # constrained decoding: no thinking
    valid(whole)
    assert await streamed_text(client, chat(model, response_format=FORMAT)) == whole


async def test_classic_json_mode_sends_the_schema_and_does_not_stream(
    client: httpx.AsyncClient, simulator: Simulator
) -> None:
    await streamed_text(client, chat(CLASSIC, response_format=FORMAT))
    inputs = simulator.calls[-1][1]
    # Workers AI's classic JSON mode: {type, json_schema: <the schema itself>}, and it cannot stream
    assert inputs["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}
    assert "stream" not in inputs


@pytest.mark.parametrize("model", [GLM, OSS])
async def test_chat_completions_models_get_response_format_as_is(
    client: httpx.AsyncClient, simulator: Simulator, model: str
) -> None:
    await streamed_text(client, chat(model, response_format=FORMAT))
    inputs = simulator.calls[-1][1]
    assert inputs["response_format"] == FORMAT and inputs["stream"] is True


async def test_guided_json_models(client: httpx.AsyncClient, simulator: Simulator) -> None:
    await ok(client, chat(GEMMA3, response_format=FORMAT))
    inputs = simulator.calls[-1][1]
    assert inputs["guided_json"] == SCHEMA and "response_format" not in inputs


@pytest.mark.parametrize("model", [CLASSIC, GLM])
async def test_json_object(client: httpx.AsyncClient, simulator: Simulator, model: str) -> None:
    body = await ok(client, chat(model, response_format={"type": "json_object"}))
    assert isinstance(json.loads(body["choices"][0]["message"]["content"]), dict)
    assert simulator.calls[-1][1]["response_format"] == {"type": "json_object"}


async def test_json_object_needs_the_word_json(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=chat(GLM, "Describe India.", response_format={"type": "json_object"}))
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    assert "json" in r.json()["error"]["message"]


async def test_text_format_is_plain(client: httpx.AsyncClient, simulator: Simulator) -> None:
    await ok(client, chat(PLAIN, response_format={"type": "text"}))
    assert "response_format" not in simulator.calls[-1][1]


async def test_model_without_json_mode_is_a_400(client: httpx.AsyncClient, simulator: Simulator) -> None:
    calls = len(simulator.calls)
    r = await client.post(URL, json=chat(PLAIN, response_format=FORMAT))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == "response_format" and error["code"] == "response_format_not_supported"
    assert PLAIN in error["message"] and len(simulator.calls) == calls


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ("json", "response_format"),
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),  # Missing required parameter
        ({"type": "json_schema", "json_schema": {"schema": SCHEMA}}, "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": "my schema", "schema": SCHEMA}},
         "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": "x", "strict": "yes please"}},
         "response_format.json_schema.strict"),
    ],
)
async def test_wrong_response_format(client: httpx.AsyncClient, response_format: Any, param: str) -> None:
    r = await client.post(URL, json=chat(GLM, response_format=response_format))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "number", "exclusiveMinimum": 5, "maximum": 6}, "maxItems": 3},
        {"type": ["integer", "null"], "multipleOf": 7, "minimum": 10},
        {"allOf": [{"properties": {"a": {"const": 1}}}, {"properties": {"b": {"type": "boolean"}}}]},
        {"type": "object", "properties": {"t": {"type": "string", "format": "date-time"}},
         "required": ["t"]},
        {"oneOf": [{"type": "string", "minLength": 12}], "maxLength": 12},
    ],
)
def test_simulated_instances_are_valid(schema: dict[str, Any]) -> None:
    assert not list(Draft202012Validator(schema).iter_errors(instance(schema, "seed")))


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
         "'additionalProperties' is required"),
        ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"],
          "additionalProperties": False}, "Missing 'b'"),
        ({"type": "array", "items": {"type": "string"}}, "must be a JSON Schema of 'type: \"object\"'"),
        ({**SCHEMA, "$defs": {"Person": {"type": "object", "properties": {"born": {"type": "string"}}}}},
         "In context=('$defs', 'Person')"),
        ({"type": "object", "additionalProperties": False, "required": ["xs"], "properties": {
            "xs": {"type": "array", "items": {"type": "object", "properties": {}}}}},
         "In context=('properties', 'xs', 'items')"),
    ],
)
async def test_strict_schemas_follow_openai_rules(client: httpx.AsyncClient, schema: dict[str, Any],
                                                  fragment: str) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema, "strict": True}}
    r = await client.post(URL, json=chat(GLM, response_format=fmt))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == ("response_format", "invalid_json_schema")
    assert fragment in error["message"] and error["message"].startswith("Invalid schema for response_format 's'")
    lenient = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}  # not strict: fine
    assert (await client.post(URL, json=chat(GLM, response_format=lenient))).status_code == 200


async def test_strict_tool_parameters(client: httpx.AsyncClient) -> None:
    loose = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools = [{"type": "function", "function": {"name": "ok", "strict": True, "parameters": {
                 **loose, "required": ["city"], "additionalProperties": False}}},
             {"type": "function", "function": {"name": "f", "strict": True, "parameters": loose}}]
    r = await client.post(URL, json=chat(GLM, tools=tools))
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["param"], error["code"]) == ("tools[1].function.parameters", "invalid_function_parameters")
    assert error["message"].startswith("Invalid schema for function 'f'")



async def test_a_strict_tool_without_parameters_is_openais_400(client: httpx.AsyncClient) -> None:
    """A strict tool must give its parameters: without them OpenAI reads an object schema with no
    ``additionalProperties: false`` and refuses it (openai/openai-dotnet, tests/SessionRecords/ChatToolTests/
    StructuredOutputs(WithoutSchema,Strict,FailureExpected).json); not strict, it is taken."""
    tool = {"type": "function", "function": {"name": "get_favorite_color_for_day_of_week", "strict": True,
                                             "description": "Gets the favorite color of the user on that day."}}
    r = await client.post(URL, json=chat(GLM, tools=[tool]))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "message": "Invalid schema for function 'get_favorite_color_for_day_of_week': In context=(), "
                   "'additionalProperties' is required to be supplied and to be false.",
        "type": "invalid_request_error", "param": "tools[0].function.parameters", "code": "invalid_function_parameters"}
    lenient = {"type": "function", "function": {k: v for k, v in tool["function"].items() if k != "strict"}}
    assert (await client.post(URL, json=chat(GLM, tools=[lenient]))).status_code == 200

# ---- json_object with the schema in the prompt --------------------------------------------------------
# Programs that ask for json_object put the schema they want in the conversation; the simulator's answer
# fits it, as a model's would. The prompts below are copied in shape from what the libraries send.

USER_SCHEMA: dict[str, Any] = {
    "$defs": {"Address": {"properties": {"city": {"title": "City", "type": "string"},
                                         "zip": {"title": "Zip", "type": "string"}},
                          "required": ["city", "zip"], "title": "Address", "type": "object"}},
    "properties": {"name": {"title": "Name", "type": "string"}, "age": {"title": "Age", "type": "integer"},
                   "address": {"$ref": "#/$defs/Address"}},
    "required": ["name", "age", "address"], "title": "User", "type": "object"}


def instructor_json(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """instructor's JSON mode (1.x, OpenAI-compatible providers): the schema, indented, in the system message."""
    system = ("\nAs a genius expert, your task is to understand the content and provide\nthe parsed objects in json "
              f"that match the following json_schema:\n\n\n{json.dumps(schema, indent=2)}\n\n"
              "Make sure to return an instance of the JSON, not the schema itself\n")
    return [{"role": "system", "content": system}, {"role": "user", "content": "Jason lives in Paris, 75001; he is 25."}]


def langchain_json(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """LangChain's JSON / Pydantic output parsers' format instructions (title and type dropped): an example
    schema, an object that is not one, then the real schema in a code block."""
    reduced = {k: v for k, v in schema.items() if k not in ("title", "type")}
    instructions = (
        "The output should be formatted as a JSON instance that conforms to the JSON schema below.\n\n"
        'As an example, for the schema {"properties": {"foo": {"title": "Foo", "description": "a list of strings", '
        '"type": "array", "items": {"type": "string"}}}, "required": ["foo"]}\nthe object {"foo": ["bar", "baz"]} is '
        'a well-formatted instance of the schema. The object {"properties": {"foo": ["bar", "baz"]}} is not '
        f"well-formatted.\n\nHere is the output schema:\n```\n{json.dumps(reduced)}\n```")
    return [{"role": "system", "content": "Answer the user query.\n" + instructions},
            {"role": "user", "content": [{"type": "text", "text": "Jason lives in Paris, 75001; he is 25."}]}]


@pytest.mark.parametrize("messages", [instructor_json(USER_SCHEMA), langchain_json(USER_SCHEMA)],
                         ids=["instructor", "langchain"])
@pytest.mark.parametrize("model", [CLASSIC, GLM, OSS, QWEN3])
async def test_json_object_fits_a_schema_in_the_prompt(client: httpx.AsyncClient, model: str,
                                                        messages: list[dict[str, Any]]) -> None:
    body = {"model": model, "messages": messages, "response_format": {"type": "json_object"}}
    value = valid((await ok(client, body))["choices"][0]["message"]["content"], USER_SCHEMA)
    assert set(value) == {"name", "age", "address"} and set(value["address"]) == {"city", "zip"}
    again = (await ok(client, body))["choices"][0]["message"]["content"]
    assert json.loads(again) == value  # deterministic


async def test_json_object_fits_a_schema_in_responses_instructions(client: httpx.AsyncClient) -> None:
    # pydantic-ai's prompted output, through the Responses door (gpt-oss takes it as Responses input)
    instructions = ("Always respond with a JSON object that's compatible with this schema:\n\n"
                    f"{json.dumps(USER_SCHEMA)}\n\nDon't include any text or Markdown fencing before or after.\n")
    r = await client.post("/v1/responses", json={"model": OSS, "instructions": instructions, "input": "Jason, 25.",
                                                 "text": {"format": {"type": "json_object"}}})
    assert r.status_code == 200, r.text
    message = next(i for i in r.json()["output"] if i["type"] == "message")
    valid(message["content"][0]["text"], USER_SCHEMA)


MD_JSON = "Return the correct JSON response within a ```json codeblock. not the JSON_SCHEMA"
"""instructor's MD_JSON mode's request (instructor/mode handlers: merged into the last user message)."""


def instructor_md_json(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """instructor's MD_JSON mode: its JSON mode's system message, no ``response_format``, and the user's message
    ending with :data:`MD_JSON` (consecutive user messages merged)."""
    system, user = instructor_json(schema)
    return [system, {"role": "user", "content": f"{user['content']}\n\n{MD_JSON}"}]


def codeblock(text: str) -> str:
    """The ```json block's body, which instructor's MD_JSON mode parses."""
    match = re.search(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    assert match is not None, text
    return match.group(1)


@pytest.mark.parametrize("model", [CLASSIC, GLM, OSS, QWEN3])
async def test_a_json_codeblock_asked_for_in_the_prompt_fits_its_schema(client: httpx.AsyncClient,
                                                                         model: str) -> None:
    body = {"model": model, "messages": instructor_md_json(USER_SCHEMA)}
    text = (await ok(client, body))["choices"][0]["message"]["content"]
    assert text.startswith("```json\n") and text.endswith("\n```"), text
    value = valid(codeblock(text), USER_SCHEMA)
    assert set(value) == {"name", "age", "address"}
    assert codeblock(await streamed_text(client, {**body, "stream": True})) == codeblock(text)
    # without a schema in the conversation, or with an echo, the usual answer
    plain = [{"role": "user", "content": f"Jason is 25.\n\n{MD_JSON}"}]
    assert "```" not in (await ok(client, {"model": model, "messages": plain}))["choices"][0]["message"]["content"]
    echo = [instructor_md_json(USER_SCHEMA)[0], {"role": "user", "content": "echo: ```json {}```"}]
    assert (await ok(client, {"model": model, "messages": echo}))["choices"][0]["message"]["content"] == "```json {}```"


@pytest.mark.parametrize("content", [
    "Answer in JSON.",
    'Answer in JSON like {"properties": {"foo": ["bar"]}}.',  # not a schema: a property that is no schema
    'Answer in JSON for {"type": "object", "properties": {"n": {"type": "integer", "minimum": "x"}}}.',  # unreadable
    'Answer in JSON: {"type": "string", "properties": {"n": {}}}',  # no object
    "Answer in JSON: {" * 500,
])
async def test_json_object_without_a_schema_in_the_prompt_answers_answer(client: httpx.AsyncClient,
                                                                          content: str) -> None:
    body = await ok(client, chat(GLM, content, response_format={"type": "json_object"}))
    assert list(json.loads(body["choices"][0]["message"]["content"])) == ["answer"]
