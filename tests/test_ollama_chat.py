"""``POST /api/chat`` (Ollama) in-process over the simulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .conftest import KEY, START, Clock

URL = "/api/chat"
METRICS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
           "eval_count", "eval_duration")
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(40)).decode()


def user(content: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content, **extra}]


def lines(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.text.endswith("\n")
    return [json.loads(line) for line in r.text.split("\n")[:-1]]


async def chat(client: httpx.AsyncClient, content: str = "echo: hi", **fields: Any) -> dict[str, Any]:
    body = {"model": "llama3.1:8b", "messages": user(content), "stream": False, **fields}
    r = await client.post(URL, json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


async def stream(client: httpx.AsyncClient, content: str = "echo: hi", **fields: Any) -> list[dict[str, Any]]:
    body = {"model": "llama3.1:8b", "messages": user(content), **fields}
    r = await client.post(URL, json=body)
    assert r.status_code == 200, r.text
    return lines(r)


def assert_final(obj: dict[str, Any], reason: str = "stop") -> None:
    assert obj["done"] is True and obj["done_reason"] == reason
    for key in METRICS:
        assert isinstance(obj[key], int) and obj[key] >= 0, key
    assert obj["total_duration"] >= obj["load_duration"] + obj["prompt_eval_duration"] + obj["eval_duration"] - 1


async def test_not_streaming(client: httpx.AsyncClient) -> None:
    body = await chat(client, "echo: Hello there")
    assert body["model"] == "llama3.1:8b"
    assert body["message"] == {"role": "assistant", "content": "Hello there"}
    assert body["created_at"].endswith("Z") and "T" in body["created_at"]
    assert_final(body)
    assert body["eval_count"] == 2 and body["prompt_eval_count"] >= 2


async def test_streams_by_default(client: httpx.AsyncClient) -> None:
    objs = await stream(client, "echo: one two three four")
    *pieces, final = objs
    assert len(pieces) >= 2 and all(o["done"] is False for o in pieces)
    assert all(o["message"]["role"] == "assistant" and o["model"] == "llama3.1:8b" for o in objs)
    assert "".join(o["message"]["content"] for o in pieces) == "one two three four"
    assert final["message"] == {"role": "assistant", "content": ""}
    assert_final(final)
    assert final["eval_count"] == 4


async def test_stream_true_and_prefix(client: httpx.AsyncClient) -> None:
    body = {"model": "llama3.1", "messages": user("echo: a b"), "stream": True}
    r = await client.post("/llm/ollama/api/chat", json=body)
    objs = lines(r)
    assert "".join(o["message"]["content"] for o in objs) == "a b" and objs[-1]["done"]


async def test_stop_sequences_enforced(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await chat(client, "echo: one two END three", options={"stop": ["END", "@@", "##", "%%", "^^"]})
    assert body["message"]["content"] == "one two " and body["done_reason"] == "stop"
    objs = await stream(client, "echo: one two END three four five", options={"stop": ["END"]})
    assert "".join(o["message"]["content"] for o in objs) == "one two "
    assert simulator.streams[-1].closed


async def test_num_predict_is_length(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await chat(client, "echo: a b c d e", options={"num_predict": 2})
    assert body["message"]["content"] == "a b" and body["done_reason"] == "length"
    assert body["eval_count"] == 2
    assert simulator.calls[-1][1]["max_tokens"] == 2
    objs = await stream(client, "echo: a b c d e", options={"num_predict": 3})
    assert_final(objs[-1], "length")
    await chat(client, "echo: a", options={"num_predict": -1})
    assert "max_tokens" not in simulator.calls[-1][1]
    # 0 is no limit too: Ollama's runner stops at num_predict only when it is > 0 (runner/ollamarunner)
    await chat(client, "echo: a", options={"num_predict": 0})
    assert "max_tokens" not in simulator.calls[-1][1]


async def test_options_reach_workers_ai(client: httpx.AsyncClient, simulator: Simulator) -> None:
    options = {"temperature": 0.3, "top_p": 0.8, "top_k": 20, "seed": 42, "repeat_penalty": 1.1,
               "presence_penalty": 0.5, "frequency_penalty": 0.25, "num_ctx": 4096, "mirostat": 1}
    await chat(client, options=options, keep_alive="5m")
    inputs = simulator.calls[-1][1]
    assert inputs["temperature"] == 0.3 and inputs["top_p"] == 0.8 and inputs["top_k"] == 20
    assert inputs["seed"] == 42 and inputs["repetition_penalty"] == 1.1
    assert inputs["presence_penalty"] == 0.5 and inputs["frequency_penalty"] == 0.25
    assert "num_ctx" not in inputs and "mirostat" not in inputs
    await chat(client, options={"seed": -1})
    assert "seed" not in simulator.calls[-1][1]



async def test_sampling_options_are_read_as_ollamas_sampler_reads_them(
    client: httpx.AsyncClient, simulator: Simulator
) -> None:
    """Ollama's sampler (sample/samplers.go NewSampler, transforms.go topK): top_k 0 or below is no top-k cut,
    top_p is held to 0-1 (1.5 is 1: no nucleus cut), a negative temperature is 0 (greedy). They were sent on
    as asked, and refused (Workers AI takes top_k 1-50 only; top_p above 1 was the gateway's 400)."""
    for top_k in (0, -1):
        await chat(client, options={"top_k": top_k})
        assert "top_k" not in simulator.calls[-1][1]
    await chat(client, options={"top_p": 1.5, "temperature": -0.5})
    assert simulator.calls[-1][1]["top_p"] == 1.0 and simulator.calls[-1][1]["temperature"] == 0.0
    await chat(client, options={"top_p": -0.25})
    assert simulator.calls[-1][1]["top_p"] == 0.001  # Workers AI's least (0 keeps the likeliest token, as it does)


async def test_integer_options_take_any_number(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """Ollama's Options.FromMap (api/types.go) cuts a JSON number to its whole part for an integer option."""
    body = await chat(client, "echo: a b c d", options={"num_predict": 2.9, "top_k": 20.5, "seed": 42.0,
                                                       "num_ctx": 4096.5})
    assert body["message"]["content"] == "a b" and body["done_reason"] == "length"
    inputs = simulator.calls[-1][1]
    assert inputs["max_tokens"] == 2 and inputs["top_k"] == 20 and inputs["seed"] == 42
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("x"), "options": {"top_k": "many"}})
    assert r.status_code == 400 and r.json() == {"error": 'option "top_k" must be of type integer'}


@pytest.mark.parametrize(("options", "error"), [
    ({"temperature": "0.5"}, 'option "temperature" must be of type float32'),
    ({"temperature": "hot"}, 'option "temperature" must be of type float32'),
    ({"top_p": True}, 'option "top_p" must be of type float32'),
    ({"num_predict": "100"}, 'option "num_predict" must be of type integer'),
    ({"seed": False}, 'option "seed" must be of type integer'),
    ({"num_ctx": "4096"}, 'option "num_ctx" must be of type integer'),
    ({"use_mmap": 1}, 'option "use_mmap" must be of type boolean'),
    ({"stop": {"a": "b"}}, 'option "stop" must be of type array'),
    ({"stop": ["END", 1]}, 'option "stop" must be of an array of strings'),
])
async def test_an_option_of_the_wrong_type_is_ollamas_error(
    client: httpx.AsyncClient, simulator: Simulator, options: dict[str, Any], error: str
) -> None:
    """Ollama's Options.FromMap (api/types.go) takes a known option only as its Go type: a number sent as a
    string is refused, in its words (Ollama's handlers answer it with a 500; here it is the client's 400)."""
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("hi"), "options": options})
    assert r.status_code == 400 and r.json() == {"error": error}
    assert simulator.calls == []


async def test_null_and_unknown_options_are_skipped(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """As Options.FromMap skips them: a null option and one Ollama does not know (whatever its value)."""
    await chat(client, options={"temperature": None, "mirostat": "x", "tfs_z": "y", "penalize_newline": 3})
    assert "temperature" not in simulator.calls[-1][1]


@pytest.mark.parametrize("url", [URL, "/api/generate"])
async def test_sampling_options_past_workers_ais_ranges_are_held_to_them(
    client: httpx.AsyncClient, simulator: Simulator, url: str
) -> None:
    """Ollama takes any top_k, temperature or repeat_penalty (api/types.go: plain numbers; its default top_k is
    40, and clients send 100 and more); Workers AI's schemas take top_k 1-50, temperature 0-5,
    repetition_penalty 0-2, so past them each is held to the bound, not Workers AI's 400 sent back."""
    text = {"messages": user("echo: hi")} if url == URL else {"prompt": "echo: hi"}
    options = {"top_k": 100, "temperature": 9, "repeat_penalty": 3.5, "top_p": 0.9, "seed": 12_345_678_901}
    r = await client.post(url, json={"model": "llama3.1", **text, "stream": False, "options": options})
    assert r.status_code == 200, r.text
    inputs = simulator.calls[-1][1]
    assert (inputs["top_k"], inputs["temperature"], inputs["repetition_penalty"]) == (50, 5.0, 2.0)
    assert inputs["top_p"] == 0.9 and 1 <= inputs["seed"] <= 9_999_999_999
    r = await client.post(url, json={"model": "llama3.1", **text, "stream": False,
                                     "options": {"top_k": 50, "temperature": 3.5, "repeat_penalty": -1}})
    assert r.status_code == 200, r.text
    inputs = simulator.calls[-1][1]
    assert (inputs["top_k"], inputs["temperature"], inputs["repetition_penalty"]) == (50, 3.5, 0.0)


@pytest.mark.parametrize(("keep_alive", "error"), [
    ("5", 'time: missing unit in duration "5"'),
    ("soon", 'time: invalid duration "soon"'),
    ("5y", 'time: unknown unit "y" in duration "5y"'),
    (True, "Unsupported type: 'bool'"),
])
async def test_an_unparseable_keep_alive_is_ollamas_400(client: httpx.AsyncClient, simulator: Simulator,
                                                       keep_alive: Any, error: str) -> None:
    """Ollama's api.Duration.UnmarshalJSON (api/types.go) fails the bind, and its handlers answer 400 with
    the error's own words (server/routes.go: c.ShouldBindJSON … gin.H{"error": err.Error()})."""
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("hi"), "keep_alive": keep_alive})
    assert r.status_code == 400 and r.json() == {"error": error}
    assert simulator.calls == []


async def test_an_infinite_keep_alive_is_a_400(client: httpx.AsyncClient) -> None:
    body = b'{"model": "llama3.1", "messages": [{"role": "user", "content": "hi"}], "keep_alive": 1e999}'
    r = await client.post(URL, content=body)
    assert r.status_code == 400 and "keep_alive" in r.json()["error"]


@pytest.mark.parametrize("keep_alive", [300, -1, "5m", "1h30m", "-1s", "300ms", "0", None])
async def test_durations_ollama_takes(client: httpx.AsyncClient, keep_alive: Any) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("hi"), "keep_alive": keep_alive,
                                     "stream": False})
    assert r.status_code == 200, r.text


async def test_tool_call(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await chat(client, 'call:get_weather {"city": "Paris"}', model="llama3.3", tools=TOOLS)
    [call] = body["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather" and call["function"]["arguments"] == {"city": "Paris"}
    assert call["id"].startswith("call_") and body["done_reason"] == "stop"
    assert simulator.calls[-1][1]["tools"][0]["name"] == "get_weather"


async def test_tool_call_streamed_whole(client: httpx.AsyncClient) -> None:
    for model in ("llama3.3", "gpt-oss:20b"):  # classic, and OpenAI-style fragments
        objs = await stream(client, 'call:get_weather {"city": "Oslo"}', model=model, tools=TOOLS, think=False)
        calls = [c for o in objs for c in o["message"].get("tool_calls", ())]
        assert [c["function"]["arguments"] for c in calls] == [{"city": "Oslo"}], model
        assert objs[-1]["done"] and "tool_calls" not in objs[-1]["message"]


async def test_tool_results_round_trip(client: httpx.AsyncClient, simulator: Simulator) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
    ]
    r = await client.post(URL, json={"model": "llama3.3", "messages": messages, "tools": TOOLS, "stream": False})
    assert r.status_code == 200, r.text
    assert r.json()["message"]["content"] == "Tool results: sunny"
    sent = simulator.calls[-1][1]["messages"]
    assert sent[2]["role"] == "tool" and sent[2]["content"] == "sunny" and sent[2]["name"] == "get_weather"
    assert "get_weather" in sent[1]["content"]  # classic models get the call written into the turn


async def test_roles_are_read_in_any_case(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """Ollama's Message.UnmarshalJSON (api/types.go) lower-cases every role: "System", "USER" are taken."""
    messages = [{"role": "System", "content": "be brief"}, {"role": "USER", "content": "echo: cased"},
                {"role": "Assistant", "content": "cased"}, {"role": "User", "content": "echo: again"}]
    body = await chat(client, messages=messages)
    assert body["message"]["content"] == "again"
    assert [m["role"] for m in simulator.calls[-1][1]["messages"]] == ["system", "user", "assistant", "user"]


async def test_a_role_workers_ai_has_no_turn_for_is_skipped(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """Ollama takes any role and leaves it to the model's template, and the templates of the models Workers AI
    hosts render only system, user, assistant and tool turns: another role's message is skipped, not a 400."""
    messages = [{"role": "system", "content": "be brief"}, {"role": "Narrator", "content": "meanwhile"},
                {"content": "no role"}, {"role": None, "content": "null role"}, {"role": "user", "content": "echo: hi"}]
    body = await chat(client, messages=messages)
    assert body["message"]["content"] == "hi"
    sent = simulator.calls[-1][1]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [("system", "be brief"), ("user", "echo: hi")]
    calls = len(simulator.calls)
    r = await client.post(URL, json={"model": "llama3.1", "messages": [{"role": "foo", "content": "x"}]})
    error = "no message has a role Workers AI takes (system, user, assistant or tool)"
    assert r.status_code == 400 and r.json() == {"error": error}  # nothing left to send: no call is made
    assert len(simulator.calls) == calls


async def test_tool_call_ids_pair_native(client: httpx.AsyncClient, simulator: Simulator) -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "A"}}},
            {"id": "call_given", "function": {"name": "get_weather", "arguments": {"city": "B"}}}]},
        {"role": "tool", "content": "rain", "tool_name": "get_weather"},
        {"role": "tool", "content": "snow", "tool_name": "get_weather"},
    ]
    r = await client.post(URL, json={"model": "gpt-oss:20b", "messages": messages, "tools": TOOLS, "stream": False})
    assert r.status_code == 200, r.text
    sent = simulator.calls[-1][1]["messages"]
    ids = [c["id"] for c in sent[1]["tool_calls"]]
    assert ids[1] == "call_given" and [sent[2]["tool_call_id"], sent[3]["tool_call_id"]] == ids
    assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "A"}


async def test_tool_type_defaults_to_function(client: httpx.AsyncClient) -> None:
    tools = [{"function": TOOLS[0]["function"]}]  # Ollama does not insist on "type"
    body = await chat(client, 'call:get_weather {"city": "Rome"}', model="llama3.3", tools=tools)
    assert body["message"]["tool_calls"][0]["function"]["arguments"] == {"city": "Rome"}


async def test_tool_results_pair_by_name(client: httpx.AsyncClient, simulator: Simulator) -> None:
    messages = [
        {"role": "user", "content": "weather and time?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "A"}}},
            {"function": {"name": "get_time", "arguments": {}}}]},
        {"role": "tool", "content": "noon", "tool_name": "get_time"},  # answered out of order
        {"role": "tool", "content": "rain", "tool_name": "get_weather"},
    ]
    tools = TOOLS + [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
    r = await client.post(URL, json={"model": "gpt-oss:20b", "messages": messages, "tools": tools, "stream": False})
    assert r.status_code == 200, r.text
    sent = simulator.calls[-1][1]["messages"]
    ids = {c["function"]["name"]: c["id"] for c in sent[1]["tool_calls"]}
    assert sent[2]["tool_call_id"] == ids["get_time"] and sent[3]["tool_call_id"] == ids["get_weather"]


async def test_tools_unsupported_model(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("hi"), "tools": TOOLS})
    assert r.status_code == 400 and "does not support tools" in r.json()["error"]


async def test_format_json(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await chat(client, "Answer in JSON please", format="json")
    assert isinstance(json.loads(body["message"]["content"]), dict)
    assert simulator.calls[-1][1]["response_format"] == {"type": "json_object"}
    body = await chat(client, "no mention of the format", format="json")  # Ollama needs no "json" word
    assert isinstance(json.loads(body["message"]["content"]), dict)


async def test_format_schema(client: httpx.AsyncClient) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}, "ok": {"type": "boolean"}},
              "required": ["age", "ok"]}
    body = await chat(client, "Ollama is 22", format=schema)
    value = json.loads(body["message"]["content"])
    assert isinstance(value["age"], int) and isinstance(value["ok"], bool)
    objs = await stream(client, "Ollama is 22", format=schema)
    assert set(json.loads("".join(o["message"]["content"] for o in objs))) == {"age", "ok"}


async def test_format_invalid(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("hi"), "format": "xml"})
    assert r.status_code == 400 and "format" in r.json()["error"]
    body = await chat(client, "echo: plain", format="")
    assert body["message"]["content"] == "plain"


async def test_images_for_vision_model(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await chat(client, "what is this?", model="llama4:scout", images=None,
                      messages=user("what is this?", images=[PNG]))
    assert body["message"]["content"] == "I received 1 image: image/png."
    parts = simulator.calls[-1][1]["messages"][0]["content"]
    assert parts[1]["image_url"]["url"] == f"data:image/png;base64,{PNG}"


async def test_images_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("x", images=[PNG])})
    assert r.status_code == 400 and "images" in r.json()["error"]
    r = await client.post(URL, json={"model": "llama4:scout", "messages": user("x", images=["not base64!"])})
    assert r.status_code == 400 and "messages[0].images[0]" in r.json()["error"]


async def test_thinking(client: httpx.AsyncClient) -> None:
    body = await chat(client, "why is the sky blue", model="qwq:32b")
    assert body["message"]["thinking"].strip().startswith("The user asks")
    assert "The user asks" not in body["message"]["content"]
    objs = await stream(client, "why is the sky blue", model="gpt-oss:20b", think="high")
    assert "".join(o["message"].get("thinking", "") for o in objs).startswith("The user asks")
    body = await chat(client, "why is the sky blue", model="gpt-oss:20b", think=False)
    assert "thinking" not in body["message"] and body["message"]["content"]


async def test_thinking_opens_without_whitespace(client: httpx.AsyncClient) -> None:
    """Ollama's thinking parser (thinking/parser.go) eats the whitespace thinking opens with (QwQ's opens
    with a line break), streamed or not; the rest is left as the model wrote it."""
    body = await chat(client, "echo: ok", model="qwq:32b")
    assert body["message"]["thinking"] == "The user asks: echo: ok. I will answer.\n"
    objs = await stream(client, "echo: ok", model="qwq:32b")
    thoughts = [o["message"]["thinking"] for o in objs if "thinking" in o["message"]]
    assert thoughts[0] == "The" and "".join(thoughts) == body["message"]["thinking"]
    body = (await client.post("/api/generate", json={"model": "qwq", "prompt": "echo: ok", "stream": False})).json()
    assert body["thinking"] == "The user asks: echo: ok. I will answer.\n"


async def test_think_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("x"), "think": True})
    assert r.status_code == 400 and r.json() == {"error": '"llama3.1" does not support thinking'}
    # Ollama's api.ThinkValue (api/types.go) refuses any other value as the body is read, whatever the model.
    levels = '(must be "high", "medium", "low", true, or false)'
    for model in ("gpt-oss:20b", "llama3.1"):
        for value in ("max", "True"):
            r = await client.post(URL, json={"model": model, "messages": user("x"), "think": value})
            assert r.status_code == 400 and r.json() == {"error": f'invalid think value: "{value}" {levels}'}
        for value in (1, 0, [], {"effort": "low"}):
            r = await client.post(URL, json={"model": model, "messages": user("x"), "think": value})
            assert r.status_code == 400, value
            assert r.json() == {"error": 'think must be a boolean or string ("high", "medium", "low", true, or false)'}


async def test_load_and_unload(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post(URL, json={"model": "llama3.1"})
    body = r.json()
    assert r.status_code == 200 and body["done"] is True and body["done_reason"] == "load"
    assert body["message"] == {"role": "assistant", "content": ""}
    # api.ChatResponse's members in its order, done before done_reason (ollama/ollama server/routes.go answers
    # a load with the struct), as the streamed answers have them
    assert list(body) == ["model", "created_at", "message", "done", "done_reason"]
    r = await client.post(URL, json={"model": "llama3.1", "messages": [], "keep_alive": 0})
    assert r.json()["done_reason"] == "unload"
    assert list(r.json()) == ["model", "created_at", "message", "done", "done_reason"]
    for zero in ("0s", "0.0m", 0.5):  # a zero duration as Ollama reads it (a number is whole seconds)
        r = await client.post(URL, json={"model": "llama3.1", "messages": [], "keep_alive": zero})
        assert r.json()["done_reason"] == "unload"
    r = await client.post(URL, json={"model": "llama3.1", "messages": [], "keep_alive": "1s"})
    assert r.json()["done_reason"] == "load"
    r = await client.post(URL, json={"model": "llama3.1", "messages": None})  # Go reads null as no messages
    assert r.status_code == 200 and r.json()["done_reason"] == "load"
    # Ollama's ChatHandler refuses thinking on a model without it before loading, not before unloading.
    r = await client.post(URL, json={"model": "llama3.1", "think": True})
    assert r.status_code == 400 and r.json() == {"error": '"llama3.1" does not support thinking'}
    r = await client.post(URL, json={"model": "llama3.1", "think": "low", "keep_alive": 0})
    assert r.status_code == 200 and r.json()["done_reason"] == "unload"
    r = await client.post(URL, json={"model": "llama3.1", "think": False})
    assert r.status_code == 200 and r.json()["done_reason"] == "load"
    assert simulator.calls == []
    r = await client.post(URL, json={"model": "nope", "messages": []})
    assert r.status_code == 404


@pytest.mark.parametrize(("url", "empty"), [(URL, {"messages": []}), ("/api/generate", {"prompt": ""})])
async def test_options_are_read_where_ollama_reads_them(
    client: httpx.AsyncClient, simulator: Simulator, url: str, empty: dict[str, Any]
) -> None:
    """Ollama's Chat- and GenerateHandler read options in scheduleRunner (server/routes.go): after the model's
    lookup, an unload request and the thinking check, before a load request is answered."""
    bad = {"options": {"temperature": "hot"}}
    error = {"error": 'option "temperature" must be of type float32'}
    r = await client.post(url, json={"model": "llama3.1", **empty, **bad, "keep_alive": 0})
    assert r.status_code == 200 and r.json()["done_reason"] == "unload"
    r = await client.post(url, json={"model": "no-such-model", **empty, **bad})
    assert r.status_code == 404 and r.json() == {"error": "model 'no-such-model' not found"}
    r = await client.post(url, json={"model": "llama3.1", **empty, **bad, "think": True})
    assert r.status_code == 400 and r.json() == {"error": '"llama3.1" does not support thinking'}
    r = await client.post(url, json={"model": "llama3.1", **empty, **bad})  # a load request
    assert r.status_code == 400 and r.json() == error
    r = await client.post(url, json={"model": "llama3.1", **empty, "options": {"presence_penalty": 3}})
    assert r.status_code == 400 and "'options.presence_penalty'" in r.json()["error"]
    assert simulator.calls == []


async def test_embedding_options_are_read_after_the_model_lookup(client: httpx.AsyncClient) -> None:
    """As Ollama's EmbedHandler and EmbeddingsHandler read them, in scheduleRunner after the model's lookup."""
    for url, text in (("/api/embed", "input"), ("/api/embeddings", "prompt")):
        body = {"model": "no-such-model", text: "hi", "options": {"top_k": "many"}}
        r = await client.post(url, json=body)
        assert r.status_code == 404 and r.json() == {"error": "model 'no-such-model' not found"}, url
        r = await client.post(url, json={**body, "model": "embeddinggemma"})
        assert r.status_code == 400 and r.json() == {"error": 'option "top_k" must be of type integer'}, url


async def test_a_missing_model_is_ollamas_400(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """No default model: Ollama's ChatHandler (server/routes.go) answers a missing, empty or blank model (its
    names are trimmed first) with a 400, for a chat and for a load request alike."""
    for body in ({"messages": user("echo: hi")}, {"model": "", "messages": user("x")}, {"model": " ", "messages": []},
                 {"model": None}, {"keep_alive": 0}):
        r = await client.post(URL, json=body)
        assert r.status_code == 400 and r.json() == {"error": "model is required"}, body
    assert simulator.calls == []


def go_mismatch(kind: str, field: str, go_type: str) -> dict[str, str]:
    return {"error": f"json: cannot unmarshal {kind} into Go struct field {field} of type {go_type}"}


@pytest.mark.parametrize(("url", "body", "error"), [
    # Go's decoder takes no string for a bool or a number (nor the reverse); Ollama's handlers answer its
    # error as a 400 (c.ShouldBindJSON in server/routes.go). The first field of the body at fault is named.
    (URL, {"model": "llama3.1", "messages": user("hi"), "stream": "false"},
     go_mismatch("string", "ChatRequest.stream", "bool")),
    (URL, {"model": "llama3.1", "messages": user("hi"), "stream": 0}, go_mismatch("number", "ChatRequest.stream", "bool")),
    (URL, {"model": "llama3.1", "messages": user("hi"), "truncate": "yes", "shift": 1},
     go_mismatch("string", "ChatRequest.truncate", "bool")),
    (URL, {"model": "llama3.1", "messages": user("hi"), "shift": 1, "truncate": "yes"},
     go_mismatch("number", "ChatRequest.shift", "bool")),
    (URL, {"model": 3, "messages": user("hi")}, go_mismatch("number", "ChatRequest.model", "string")),
    (URL, {"model": "llama3.1", "messages": user(5)}, go_mismatch("number", "ChatRequest.messages.content", "string")),
    (URL, {"model": "llama3.1", "messages": user("hi", images=[1])},
     go_mismatch("number", "ChatRequest.messages.images", "api.ImageData")),
    (URL, {"model": "llama3.1", "messages": user("hi"), "options": "x"},
     go_mismatch("string", "ChatRequest.options", "map[string]interface {}")),
    (URL, {"model": "llama3.1", "messages": user("hi"), "tools": {}}, go_mismatch("object", "ChatRequest.tools", "api.Tools")),
    ("/api/generate", {"model": "llama3.1", "prompt": "hi", "raw": "yes"},
     go_mismatch("string", "GenerateRequest.raw", "bool")),
    ("/api/generate", {"model": "llama3.1", "prompt": ["hi"]}, go_mismatch("array", "GenerateRequest.prompt", "string")),
    ("/api/generate", {"model": "llama3.1", "prompt": "hi", "system": True},
     go_mismatch("bool", "GenerateRequest.system", "string")),
    ("/api/embed", {"model": "embeddinggemma", "input": "hi", "truncate": "false"},
     go_mismatch("string", "EmbedRequest.truncate", "bool")),
    ("/api/embed", {"model": "embeddinggemma", "input": "hi", "dimensions": "128"},
     go_mismatch("string", "EmbedRequest.dimensions", "int")),
    ("/api/embed", {"model": "embeddinggemma", "input": "hi", "dimensions": 1.5},
     go_mismatch("number 1.5", "EmbedRequest.dimensions", "int")),
    ("/api/embeddings", {"model": "embeddinggemma", "prompt": 1}, go_mismatch("number", "EmbeddingRequest.prompt", "string")),
    ("/api/show", {"model": "llama3.1", "verbose": "true"}, go_mismatch("string", "ShowRequest.verbose", "bool")),
    ("/api/pull", {"model": "llama3.1", "stream": "false"}, go_mismatch("string", "PullRequest.stream", "bool")),
    ("/api/copy", {"source": "llama3.1", "destination": 2}, go_mismatch("number", "CopyRequest.destination", "string")),
])
async def test_a_field_of_another_json_type_is_gos_error(
    client: httpx.AsyncClient, simulator: Simulator, url: str, body: dict[str, Any], error: dict[str, str]
) -> None:
    r = await client.post(url, json=body)
    assert r.status_code == 400 and r.json() == error
    assert simulator.calls == []


async def test_what_ollama_decodes_is_taken(client: httpx.AsyncClient) -> None:
    """Go's decoding is strict, but these are Ollama's own types: think a bool or a level, keep_alive a number or
    a duration, format "json" or a schema, null for any field (left unset)."""
    await chat(client, think=False, keep_alive=5, format="json", truncate=True, shift=False)
    await chat(client, keep_alive="5m", format={"type": "object"}, options=None, truncate=None)
    await chat(client, "echo: hi", model="qwen3", think="low")
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("echo: hi"), "stream": None})
    assert r.status_code == 200 and lines(r)[-1]["done"] is True
    r = await client.post("/api/embeddings", json={"model": "embeddinggemma", "prompt": None})
    assert r.status_code == 200 and r.json() == {"embedding": []}


async def test_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "no-such-model", "messages": user("x")})
    assert r.status_code == 404 and r.json() == {"error": "model 'no-such-model' not found"}
    r = await client.post(URL, json={"model": "bge-m3", "messages": user("x")})
    assert r.status_code == 400 and r.json() == {"error": '"bge-m3" does not support chat'}
    r = await client.post(URL, content=b"")
    assert r.status_code == 400 and r.json() == {"error": "missing request body"}
    r = await client.post(URL, content=b"{nope")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid JSON body")
    r = await client.post(URL, content=b'{"model": "llama3.1", "messages": [')
    assert r.status_code == 400 and r.json() == {"error": "unexpected EOF"}  # Go's json.Decoder, cut short


@pytest.mark.parametrize(("url", "struct"), [
    ("/api/chat", "ChatRequest"), ("/api/generate", "GenerateRequest"), ("/api/embed", "EmbedRequest"),
    ("/api/embeddings", "EmbeddingRequest"), ("/api/show", "ShowRequest"), ("/api/pull", "PullRequest"),
    ("/api/copy", "CopyRequest"),
])
async def test_a_body_that_is_no_object_is_gos_error(client: httpx.AsyncClient, url: str, struct: str) -> None:
    """Ollama binds a body with gin's ShouldBindJSON, one json.Decoder.Decode into the handler's struct
    (gin-gonic/gin binding/json.go), and answers a failure with the error itself (server/routes.go): a JSON
    value of another kind is Go's UnmarshalTypeError naming the struct."""
    for body, kind in ((b"[1]", "array"), (b'"x"', "string"), (b"1", "number"), (b"true", "bool")):
        r = await client.post(url, content=body)
        error = f"json: cannot unmarshal {kind} into Go value of type api.{struct}"
        assert r.status_code == 400 and r.json() == {"error": error}, body


async def test_a_null_body_and_what_follows_the_object_are_gos(client: httpx.AsyncClient) -> None:
    # Go decodes null into a struct as nothing: a body without a model (Ollama's ChatHandler: 400)
    r = await client.post(URL, content=b"null")
    assert r.status_code == 400 and r.json() == {"error": "model is required"}
    r = await client.post("/api/generate", content=b" null ")
    assert r.status_code == 404 and r.json() == {"error": "model '' not found"}
    # json.Decoder reads the first value and leaves the rest of the body unread
    body = json.dumps({"model": "llama3.1", "messages": user("echo: read"), "stream": False}).encode()
    r = await client.post(URL, content=body + b"\n{trailing}")
    assert r.status_code == 200 and r.json()["message"]["content"] == "read"
    r = await client.post(URL, json={"model": "llama3.1", "messages": "hi"})
    error = "json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message"
    assert r.status_code == 400 and r.json() == {"error": error}
    r = await client.post(URL, json={"model": "llama3.1", "messages": [{"content": "x"}]})  # Go's role ""
    error = "no message has a role Workers AI takes (system, user, assistant or tool)"
    assert r.status_code == 400 and r.json() == {"error": error}
    r = await client.get(URL)
    assert r.status_code == 405 and set(r.json()) == {"error"}


async def test_form_encoded_body_accepted(client: httpx.AsyncClient) -> None:
    # ``curl -d '{…}'`` sends application/x-www-form-urlencoded; Ollama reads the JSON anyway.
    body = json.dumps({"model": "llama3.1", "messages": user("echo: curl"), "stream": False})
    r = await client.post(URL, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and r.json()["message"]["content"] == "curl"


async def test_upstream_failure_before_stream(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("fail:429")})
    assert r.status_code == 429 and set(r.json()) == {"error"}
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("fail:503"), "stream": False})
    assert r.status_code == 503 and set(r.json()) == {"error"}


async def test_failure_mid_stream_is_one_error_line(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "messages": user("fail-mid:500")})
    assert r.status_code == 200
    objs = lines(r)
    assert [o["message"]["content"] for o in objs[:-1]] == ["partial ", "answer"]
    assert set(objs[-1]) == {"error"} and objs[-1]["error"]
    assert not any(o.get("done") for o in objs)


@pytest.mark.parametrize("headers", [
    {"authorization": f"Bearer {KEY}"},
    {"authorization": "Basic " + base64.b64encode(f"user:{KEY}".encode()).decode()},
])
async def test_auth_styles(app: Any, headers: dict[str, str]) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        r = await c.post(URL, json={"model": "llama3.1", "messages": user("echo: ok"), "stream": False})
        assert r.status_code == 200 and r.json()["message"]["content"] == "ok"


async def test_auth_required(app: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post(URL, json={"model": "llama3.1", "messages": user("x")})
        assert r.status_code == 401 and set(r.json()) == {"error"}
        r = await c.post("/llm/ollama/api/chat", json={}, headers={"authorization": "Bearer wrong"})
        assert r.status_code == 401 and set(r.json()) == {"error"}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/chat", {"model": "llama3.1:8b", "messages": user("echo: one two")}),
    ("/api/chat", {"model": "llama3.1:8b"}),  # a load request
    ("/api/generate", {"model": "llama3.1:8b", "prompt": "echo: one two"}),
    ("/api/generate", {"model": "llama3.1:8b"}),
])
@pytest.mark.parametrize(("fraction", "written"), [
    # Go writes a time.Time as RFC 3339 with the fraction's trailing zeros dropped, and the dot with them when
    # nothing is left (golang/go src/time/format_rfc3339.go: stdFracSecond9); here with microseconds
    (0.25, "2030-03-17T17:46:40.25Z"), (0.0, "2030-03-17T17:46:40Z"), (0.000125, "2030-03-17T17:46:40.000125Z"),
])
async def test_created_at_is_the_app_clock_s_time_with_microseconds(
        backends: Backends, settings: Settings, clock: Clock, path: str, body: dict[str, Any],
        fraction: float, written: str) -> None:
    clock.now = START + fraction
    transport = httpx.ASGITransport(app=create_app(backends, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        r = await client.post(path, json=body)
    assert r.status_code == 200, r.text
    objs = [json.loads(line) for line in r.text.splitlines()]
    assert {o["created_at"] for o in objs} == {written}
