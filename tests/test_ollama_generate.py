"""``POST /api/generate`` (Ollama) in-process over the simulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from openai_workers_ai.simulator import Simulator

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
    body = {"model": "llama3.1", "prompt": "echo: alpha beta. gamma", "options": {"stop": "."}}
    r = await client.post(URL, json=body)
    assert "".join(o.get("response", "") for o in lines(r)) == "alpha beta"


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
    assert simulator.calls == []


async def test_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "nomic-embed-text", "prompt": "x"})
    assert r.status_code == 404 and r.json() == {"error": "model 'nomic-embed-text' not found"}
    r = await client.post(URL, json={"model": "bge-m3", "prompt": "x"})
    assert r.status_code == 400 and r.json() == {"error": '"bge-m3" does not support generate'}
    r = await client.post(URL, json={"model": "llama3.1", "prompt": 5})
    assert r.status_code == 400 and "'prompt'" in r.json()["error"]
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "x", "options": {"num_predict": "many"}})
    assert r.status_code == 400 and "options.num_predict" in r.json()["error"]


async def test_failure_mid_stream(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "prompt": "fail-mid:503"})
    objs = lines(r)
    assert objs[0]["response"] == "partial " and set(objs[-1]) == {"error"}
