"""``POST /api/generate`` (Ollama) in-process over the simulator."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from typing import Any

import httpx
import pytest

from openai_workers_ai.errors import InvalidRequest
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.translate import ollama_context
from openai_workers_ai.types.ollama import MAX_CONTEXT_BYTES, MAX_CONTEXT_INTS

from .test_ollama_chat import METRICS, assert_final, lines

URL = "/api/generate"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(40)).decode()


async def generate(client: httpx.AsyncClient, prompt: str = "echo: hi", **fields: Any) -> dict[str, Any]:
    r = await client.post(URL, json={"model": "llama3.1:8b", "prompt": prompt, "stream": False, **fields})
    assert r.status_code == 200, r.text
    return r.json()


async def test_not_streaming(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await generate(client, "echo: Why is the sky blue?")
    assert body["model"] == "llama3.1:8b" and body["response"] == "Why is the sky blue?"
    assert_final(body)
    assert simulator.calls[-1][1]["messages"] == [{"role": "user", "content": "echo: Why is the sky blue?"}]


async def test_streams_by_default(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "echo: a b c"})
    *pieces, final = lines(r)
    assert all(o["done"] is False and "message" not in o for o in pieces)
    assert "".join(o["response"] for o in pieces) == "a b c"
    assert final["response"] == "" and all(k in final for k in METRICS)
    assert_final(final)


async def test_system_prompt(client: httpx.AsyncClient, simulator: Simulator) -> None:
    await generate(client, "echo: x", system="You are terse.")
    assert simulator.calls[-1][1]["messages"][0] == {"role": "system", "content": "You are terse."}


async def test_raw_prompt(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await generate(client, "echo: [INST] hi [/INST]", raw=True, options={"num_predict": 2, "top_k": 5})
    inputs = simulator.calls[-1][1]
    assert inputs["prompt"] == "echo: [INST] hi [/INST]" and inputs["raw"] is True and "messages" not in inputs
    assert inputs["max_tokens"] == 2 and inputs["top_k"] == 5
    assert body["response"] == "[INST] hi" and body["done_reason"] == "length"
    assert "context" not in body  # Ollama tokenizes a context only `if !req.Raw` (server/routes.go)
    body = await generate(client, "echo: x", raw=True, context=[])  # an empty one is not refused with raw
    assert body["response"] == "x" and "context" not in body


async def test_raw_refuses_format(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "raw": True, "format": "json"})
    assert r.status_code == 400 and "raw" in r.json()["error"]


async def test_raw_refuses_system_template_context(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # Ollama's GenerateHandler (server/routes.go) refuses these with raw rather than dropping them.
    for extra in ({"system": "be terse"}, {"template": "{{ .Prompt }}"}, {"context": [1, 2, 3]}):
        r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "raw": True, **extra})
        assert r.status_code == 400, extra
        assert r.json() == {"error": "raw mode does not support template, system, or context"}
    assert simulator.calls == []


async def test_suffix_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "def f():", "suffix": "    return x"})
    assert r.status_code == 400 and r.json() == {"error": '"llama3.1" does not support insert'}


async def test_stop_and_options(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await generate(client, "echo: alpha beta. gamma", options={"stop": ["."], "temperature": 0.1})
    assert body["response"] == "alpha beta" and simulator.calls[-1][1]["temperature"] == 0.1
    # A bare string is no stop list: Ollama's Options.FromMap refuses it (api/types.go).
    body = {"model": "llama3.1", "prompt": "echo: alpha beta. gamma", "options": {"stop": "."}}
    r = await client.post(URL, json=body)
    assert r.status_code == 400 and r.json() == {"error": 'option "stop" must be of type array'}


async def test_images(client: httpx.AsyncClient) -> None:
    body = await generate(client, "what is in this picture?", model="llama4:scout", images=[PNG])
    assert body["response"] == "I received 1 image: image/png."
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "images": [PNG]})
    assert r.status_code == 400


async def test_format(client: httpx.AsyncClient) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    body = await generate(client, "Ollama is 22 years old", format=schema)
    assert isinstance(json.loads(body["response"])["age"], int)
    body = await generate(client, "Respond using JSON", format="json")
    assert isinstance(json.loads(body["response"]), dict)


async def test_thinking(client: httpx.AsyncClient) -> None:
    body = await generate(client, "why?", model="deepseek-r1:32b")
    assert body["thinking"].strip().startswith("The user asks") and body["response"]
    # api.GenerateResponse's order (ollama/ollama api/types.go): thinking right after response, not at the end
    assert list(body)[:6] == ["model", "created_at", "response", "thinking", "done", "done_reason"]
    body = await generate(client, "why?", model="deepseek-r1:32b", think=False)
    assert "thinking" not in body
    r = await client.post(URL, json={"model": "qwq", "prompt": "why?"})
    assert "".join(o.get("thinking", "") for o in lines(r)).strip().startswith("The user asks")


async def test_load_and_unload(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post(URL, json={"model": "llama3.2"})
    assert r.status_code == 200
    assert r.json() == {**r.json(), "response": "", "done": True, "done_reason": "load", "model": "llama3.2"}
    r = await client.post(URL, json={"model": "llama3.2", "prompt": "", "keep_alive": "0"})
    assert r.json()["done_reason"] == "unload"
    # Images without a prompt load the model too: Ollama's GenerateHandler answers any empty prompt so.
    r = await client.post(URL, json={"model": "llama4:scout", "images": [PNG]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {**r.json(), "response": "", "done": True, "done_reason": "load"}
    r = await client.post(URL, json={"model": "llama4:scout", "prompt": "", "images": [PNG], "keep_alive": 0})
    assert r.json()["done_reason"] == "unload"
    # GenerateHandler refuses thinking on a model without it before loading, not before unloading.
    r = await client.post(URL, json={"model": "llama3.2", "think": "high"})
    assert r.status_code == 400 and r.json() == {"error": '"llama3.2" does not support thinking'}
    r = await client.post(URL, json={"model": "llama3.2", "think": True, "keep_alive": "0s"})
    assert r.status_code == 200 and r.json()["done_reason"] == "unload"
    r = await client.post(URL, json={"model": "qwq", "think": True})
    assert r.status_code == 200 and r.json()["done_reason"] == "load"
    assert simulator.calls == []


async def test_a_missing_model_is_ollamas_404(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """No default model: Ollama's GenerateHandler (server/routes.go) answers a missing, empty or blank model with
    its 404, naming the model as sent, for a prompt and for a load request alike."""
    for body in ({"prompt": "echo: hi"}, {"model": "", "prompt": "x"}, {"model": None}, {"keep_alive": 0}):
        r = await client.post(URL, json=body)
        assert r.status_code == 404 and r.json() == {"error": "model '' not found"}, body
    r = await client.post(URL, json={"model": "  ", "prompt": "x"})
    assert r.status_code == 404 and r.json() == {"error": "model '  ' not found"}
    assert simulator.calls == []


async def test_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "nomic-embed-text", "prompt": "x"})
    assert r.status_code == 404 and r.json() == {"error": "model 'nomic-embed-text' not found"}
    r = await client.post(URL, json={"model": "bge-m3", "prompt": "x"})
    assert r.status_code == 400 and r.json() == {"error": '"bge-m3" does not support generate'}
    r = await client.post(URL, json={"model": "llama3.1", "prompt": 5})
    error = "json: cannot unmarshal number into Go struct field GenerateRequest.prompt of type string"
    assert r.status_code == 400 and r.json() == {"error": error}
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "options": {"num_predict": "many"}})
    assert r.status_code == 400 and r.json() == {"error": 'option "num_predict" must be of type integer'}
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "options": {"temperature": "0.5"}})
    assert r.status_code == 400 and r.json() == {"error": 'option "temperature" must be of type float32'}


async def test_failure_mid_stream(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "fail-mid:503"})
    objs = lines(r)
    assert objs[0]["response"] == "partial " and set(objs[-1]) == {"error"}


async def test_context_continues_the_conversation(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # Ollama answers with `context` and runs a later generate on it, then the new prompt (GenerateHandler).
    first = await generate(client, "echo: The sky is blue.", system="Be brief.")
    context = first["context"]
    assert isinstance(context, list) and all(type(i) is int and 0 <= i < 1 << 24 for i in context)
    assert list(first).index("context") == list(first).index("done_reason") + 1
    assert_final(first)
    second = await generate(client, "echo: What colour is it?", context=context, system="Be brief.")
    assert simulator.calls[-1][1]["messages"] == [
        {"role": "system", "content": "Be brief."},  # once: it is already in force in the context
        {"role": "user", "content": "echo: The sky is blue."},
        {"role": "assistant", "content": "The sky is blue."},
        {"role": "user", "content": "echo: What colour is it?"},
    ]
    assert second["response"] == "What colour is it?"
    await generate(client, "echo: three", context=second["context"], system="Now be verbose.")
    assert [m["role"] for m in simulator.calls[-1][1]["messages"]] == [
        "system", "user", "assistant", "user", "assistant", "system", "user"]  # a new one where Ollama puts it
    assert simulator.calls[-1][1]["messages"][-2] == {"role": "system", "content": "Now be verbose."}
    assert ollama_context.decode(second["context"])[-1] == ("assistant", "What colour is it?")


async def test_context_streamed_on_the_last_object_only(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "echo: a b c"})
    *pieces, final = lines(r)
    assert pieces and all("context" not in o for o in pieces)
    assert ollama_context.decode(final["context"]) == (("user", "echo: a b c"), ("assistant", "a b c"))
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "echo: d", "context": final["context"]})
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: a b c", "a b c", "echo: d"]
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "fail-mid:503", "context": final["context"]})
    assert all("context" not in o for o in lines(r))


async def test_context_without_thinking_and_empty(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await generate(client, "why?", model="deepseek-r1:32b", context=[])
    assert body["thinking"] and ollama_context.decode(body["context"]) == (
        ("user", "why?"), ("assistant", body["response"]))  # the answer, not its reasoning
    assert simulator.calls[-1][1]["messages"] == [{"role": "user", "content": "why?"}]
    load = await client.post(URL, json={"model": "llama3.1", "context": [1, 2]})  # load: context not read
    assert load.status_code == 200 and "context" not in load.json()


async def test_context_errors(client: httpx.AsyncClient, simulator: Simulator) -> None:
    good = (await generate(client, "echo: hi"))["context"]
    calls = len(simulator.calls)
    bad: list[object] = [
        "abc", [1.5], ["1"], [True], [None], {"a": 1},  # not Go's []int
        [1, 2, 3],  # token ids from a real Ollama
        [ollama_context.MAGIC], [ollama_context.MAGIC, 5, 1],  # cut short
        [good[0], good[1], *good[2:-1], 1 << 24], [good[0], good[1], *good[2:-1], -1],  # out of range
        [good[0], good[1], *[i ^ 0x5A5A5A for i in good[2:]]],  # damaged
        [good[0], good[1] + 99, *good[2:]],
        [good[0], -1, *good[2:]],
    ]
    for context in bad:
        r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "context": context})
        assert r.status_code == 400, context
        assert set(r.json()) == {"error"} and "context" in r.json()["error"], context
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "context": [0] * (MAX_CONTEXT_INTS + 1)})
    assert r.status_code == 400 and r.json() == {
        "error": f"invalid value for 'context': at most {MAX_CONTEXT_INTS} items, got {MAX_CONTEXT_INTS + 1}"}
    assert len(simulator.calls) == calls


def test_context_codec_bounds() -> None:
    turns = (("system", "sys"), ("user", "q"), ("assistant", "a"))
    assert ollama_context.decode(ollama_context.encode(turns)) == turns
    assert ollama_context.decode(ollama_context.encode([("user", "\ud800 é 😀"), ("assistant", "")])) == (
        ("user", "\ud800 é 😀"), ("assistant", ""))
    big = "x" * (MAX_CONTEXT_BYTES // 3)
    long = [("system", "sys"), *[(r, f"{n} {big}") for n in range(4) for r in ("user", "assistant")]]
    kept = ollama_context.decode(ollama_context.encode(long))  # the oldest exchanges are dropped
    assert kept[0] == ("system", "sys") and kept[1][0] == "user" and kept[-1] == long[-1] and len(kept) == 3
    noise = "".join(random.Random(0).choices(string.ascii_letters + string.digits, k=MAX_CONTEXT_BYTES - 20))
    worst = ollama_context.encode([("user", noise)])  # as little as text deflates
    assert len(worst) <= MAX_CONTEXT_INTS and ollama_context.decode(worst) == (("user", noise),)
    with pytest.raises(InvalidRequest, match="over"):  # a deflate bomb is cut off at the bound
        ollama_context.decode(made(b"[" + b" " * (MAX_CONTEXT_BYTES + 10) + b"]"))
    for forged in (b"[" * 100_000, b'[[["user"], "x"]]', b'{"user": "x"}', b'[["tool", "x"]]', b"\xff", b"[1]"):
        with pytest.raises(InvalidRequest, match="damaged"):
            ollama_context.decode(made(forged))


def made(data: bytes) -> list[int]:
    """A context in this server's format carrying ``data`` (well formed or not)."""
    packed = zlib.compress(data)
    padded = packed + bytes(-len(packed) % 3)
    return [ollama_context.MAGIC, len(packed), *(int.from_bytes(padded[i:i + 3], "big") for i in range(0, len(padded), 3))]
