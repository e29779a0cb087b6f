"""The official ``ollama`` Python client, unchanged, against the local server (simulator backend)."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
from collections.abc import Iterator

import httpx
import ollama
import pytest
from pydantic import BaseModel

from .conftest import E2E_KEY, free_port, start, stop

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


@pytest.fixture
def client(server: str) -> ollama.Client:
    return ollama.Client(host=server, headers={"Authorization": f"Bearer {E2E_KEY}"})


def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
      city: The city's name
    """
    return "sunny"


def test_version_and_root(server: str) -> None:
    r = httpx.get(f"{server}/api/version")  # public, as on Ollama
    assert r.status_code == 200 and r.json()["version"].count(".") == 2
    assert httpx.get(server).text == "Ollama is running"


def test_chat(client: ollama.Client) -> None:
    r = client.chat(model="llama3.1:8b", messages=[{"role": "user", "content": "echo: Hello Ollama"}])
    assert r.message.role == "assistant" and r.message.content == "Hello Ollama"
    assert r.done and r.done_reason == "stop" and r.eval_count == 2
    assert r.total_duration and r.total_duration >= (r.eval_duration or 0)
    r = client.chat(model="llama3.1:8b", messages=[{"role": "User", "content": "echo: any case"}])  # as Ollama
    assert r.message.content == "any case"
    # Any role is taken, as Ollama takes it; one Workers AI has no turn for is skipped, as templates skip it.
    r = client.chat(model="llama3.1", messages=[{"role": "narrator", "content": "echo: skipped"},
                                                {"role": "user", "content": "echo: kept"}])
    assert r.message.content == "kept"


def test_chat_streaming(client: ollama.Client) -> None:
    parts = list(client.chat(model="llama3.1", messages=[{"role": "user", "content": "echo: one two three"}],
                             stream=True, options={"temperature": 0.2, "top_k": 10}))
    assert all(not p.done for p in parts[:-1]) and parts[-1].done
    assert "".join(p.message.content or "" for p in parts) == "one two three"
    assert parts[-1].done_reason == "stop" and parts[-1].prompt_eval_count


def test_chat_stop_and_num_predict(client: ollama.Client) -> None:
    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "echo: a b STOP c"}],
                    options={"stop": ["STOP"]})
    assert r.message.content == "a b " and r.done_reason == "stop"
    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "echo: a b c d"}],
                    options={"num_predict": 2})
    assert r.message.content == "a b" and r.done_reason == "length"
    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "echo: a b c d"}],
                    options={"num_predict": 2.5})  # an integer option cut to its whole part, as Ollama's
    assert r.message.content == "a b" and r.done_reason == "length"


def test_sampling_options_past_workers_ais_ranges_are_held_to_them(client: ollama.Client) -> None:
    # Ollama takes any top_k (its default is 40; clients send 100), Workers AI 1-50: held to 50, not its 400.
    options = {"top_k": 100, "temperature": 9, "repeat_penalty": 3}
    assert client.generate(model="llama3.1", prompt="echo: held", options=options).response == "held"
    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "echo: held"}], options=options)
    assert r.message.content == "held"


def test_chat_tools(client: ollama.Client) -> None:
    messages = [{"role": "user", "content": 'call:get_weather {"city": "Paris"}'}]
    r = client.chat(model="llama3.3", messages=messages, tools=[get_weather])
    [call] = r.message.tool_calls or []
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}
    result = get_weather(**call.function.arguments)
    messages += [r.message, {"role": "tool", "content": result, "tool_name": "get_weather"}]
    r = client.chat(model="llama3.3", messages=messages, tools=[get_weather])
    assert r.message.content == "Tool results: sunny"
    parts = list(client.chat(model="gpt-oss:20b", messages=messages[:1], tools=[get_weather], stream=True))
    calls = [c for p in parts for c in (p.message.tool_calls or [])]
    assert [c.function.arguments for c in calls] == [{"city": "Paris"}]


def test_chat_format(client: ollama.Client) -> None:
    class Country(BaseModel):
        name: str
        capital: str
        population: int

    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "Tell me about Canada."}],
                    format=Country.model_json_schema())
    country = Country.model_validate_json(r.message.content or "")
    assert country.name and isinstance(country.population, int)
    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "Answer in JSON."}], format="json")
    assert isinstance(json.loads(r.message.content or ""), dict)


def test_chat_images_and_thinking(client: ollama.Client) -> None:
    r = client.chat(model="llama4:scout", messages=[{"role": "user", "content": "what is this?", "images": [PNG]}])
    assert r.message.content == "I received 1 image: image/png."
    r = client.chat(model="gpt-oss:20b", messages=[{"role": "user", "content": "why is the sky blue?"}], think="low")
    assert (r.message.thinking or "").startswith("The user asks") and r.message.content
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="gpt-oss:20b", messages=[{"role": "user", "content": "why?"}], think="max")  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert caught.value.error == 'invalid think value: "max" (must be "high", "medium", "low", true, or false)'


def test_generate(client: ollama.Client) -> None:
    r = client.generate(model="llama3.2", prompt="echo: Why is the sky blue?", system="Be brief.")
    assert r.response == "Why is the sky blue?" and r.done and r.done_reason == "stop"
    parts = list(client.generate(model="llama3.2", prompt="echo: a b c", stream=True))
    assert "".join(p.response or "" for p in parts) == "a b c" and parts[-1].done and parts[-1].eval_count == 3
    r = client.generate(model="llama3.2", prompt="")
    assert r.done and r.done_reason == "load"
    r = client.generate(model="llama4:scout", prompt="", images=[PNG])  # an empty prompt loads, images or not
    assert r.done and r.done_reason == "load" and r.response == ""


def test_generate_context(client: ollama.Client) -> None:
    # generate -> generate(context=...): the earlier turns reach the model before the new prompt (the
    # simulator counts every turn's words as prompt tokens), and the answer's context carries them on.
    first = client.generate(model="llama3.2", prompt="echo: The sky is blue.", system="Be brief.")
    assert first.context and all(isinstance(i, int) for i in first.context)
    alone = client.generate(model="llama3.2", prompt="echo: What colour?", system="Be brief.")
    second = client.generate(model="llama3.2", prompt="echo: What colour?", system="Be brief.", context=first.context)
    assert second.response == "What colour?" and second.done
    assert (second.prompt_eval_count or 0) > (alone.prompt_eval_count or 0)
    parts = list(client.generate(model="llama3.2", prompt="echo: And now?", context=second.context, stream=True))
    assert all(p.context is None for p in parts[:-1]) and parts[-1].context
    assert len(parts[-1].context) >= len(second.context)
    with pytest.raises(ollama.ResponseError) as error:
        client.generate(model="llama3.2", prompt="x", context=[1, 2, 3])  # token ids of a real Ollama
    assert error.value.status_code == 400 and "context" in error.value.error


def test_embed(client: ollama.Client) -> None:
    r = client.embed(model="bge-m3", input=["Why is the sky blue?", "Why is the grass green?"])
    assert len(r.embeddings) == 2 and len(r.embeddings[0]) == 1024
    r = client.embed(model="embeddinggemma", input="hello", dimensions=128)
    assert len(r.embeddings[0]) == 128
    legacy = list(client.embeddings(model="bge-m3", prompt="Why is the sky blue?").embedding)
    unit = list(client.embed(model="bge-m3", input="Why is the sky blue?").embeddings[0])
    norm = math.sqrt(math.fsum(x * x for x in legacy))  # /api/embed scales to unit length, /api/embeddings not
    assert unit == pytest.approx([x / norm for x in legacy], rel=1e-5, abs=1e-7)
    assert math.fsum(x * x for x in unit) == pytest.approx(1.0, abs=1e-5)


def test_list_show_ps(client: ollama.Client) -> None:
    names = {m.model: m for m in client.list().models}
    llama = names["llama-3.1-8b-instruct:latest"]
    assert llama.details and llama.details.family == "llama" and llama.details.parameter_size == "8B"
    assert llama.size == 0 and llama.digest and len(llama.digest) == 64 and llama.modified_at
    shown = client.show("llama-3.1-8b-instruct:latest")
    assert shown.capabilities == ["completion"] and shown.modelinfo
    assert client.show("gpt-oss:20b").modelinfo["gpt-oss.context_length"] == 128000
    running = {m.model: m for m in client.ps().models}
    assert running["gpt-oss-20b:latest"].context_length == 128000
    gpt = running["gpt-oss-20b:latest"]
    assert gpt.size_vram == 0 and gpt.expires_at is not None and gpt.expires_at.year > 2300  # loaded for good


def test_cloud_model_names(client: ollama.Client) -> None:
    # Ollama's cloud names (`ollama run gpt-oss:120b-cloud`) reach the same model on Workers AI.
    r = client.chat(model="gpt-oss:120b-cloud", messages=[{"role": "user", "content": "echo: cloud"}])
    assert r.message.content == "cloud" and r.model == "gpt-oss:120b-cloud"
    assert client.generate(model="gpt-oss:20b-cloud", prompt="echo: hi").response == "hi"
    assert client.show("gpt-oss:120b-cloud").modelinfo["gpt-oss.context_length"] == 128000
    with pytest.raises(ollama.ResponseError) as caught:  # no Workers AI model: Ollama's 404
        client.chat(model="kimi-k2:1t-cloud", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404 and caught.value.error == "model 'kimi-k2:1t-cloud' not found"


def test_pull_and_management(client: ollama.Client) -> None:
    assert client.pull("llama3.1:8b").status == "success"
    assert [p.status for p in client.pull("llama3.1:8b", stream=True)] == ["success"]
    with pytest.raises(ollama.ResponseError) as caught:
        client.delete("llama3.1:8b")
    assert caught.value.status_code == 403 and "hosted" in caught.value.error


def test_errors(client: ollama.Client, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="mixtral:8x7b", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404 and caught.value.error == "model 'mixtral:8x7b' not found"
    # What the client refuses to send (no model) or corrects (a number as a string), over plain HTTP:
    # Ollama's answers — ChatHandler's, GenerateHandler's and Options.FromMap's words.
    headers = {"Authorization": f"Bearer {E2E_KEY}"}
    hi = [{"role": "user", "content": "hi"}]
    r = httpx.post(f"{server}/api/chat", json={"messages": hi}, headers=headers)
    assert r.status_code == 400 and r.json() == {"error": "model is required"}
    r = httpx.post(f"{server}/api/generate", json={"model": "", "prompt": "hi"}, headers=headers)
    assert r.status_code == 404 and r.json() == {"error": "model '' not found"}
    body = {"model": "llama3.1", "messages": hi, "options": {"temperature": "0.5"}}
    r = httpx.post(f"{server}/api/chat", json=body, headers=headers)
    assert r.status_code == 400 and r.json() == {"error": 'option "temperature" must be of type float32'}
    r = httpx.post(f"{server}/api/generate", json={"model": "llama3.1", "prompt": "hi", "stream": "false"},
                   headers=headers)  # Go's decoder takes no string for a bool: its error, Ollama's 400
    error = "json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool"
    assert r.status_code == 400 and r.json() == {"error": error}
    # Options are read where Ollama reads them: not on an unload request, nor before the model's lookup.
    r = client.generate(model="llama3.1", keep_alive=0, options={"temperature": "hot"})
    assert r.done_reason == "unload"
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="mixtral:8x7b", messages=hi, options={"temperature": "hot"})
    assert caught.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as caught:  # a bare string is no stop list (Options.FromMap)
        client.generate(model="llama3.1", prompt="echo: a. b", options={"stop": "."})
    assert caught.value.status_code == 400 and caught.value.error == 'option "stop" must be of type array'
    with pytest.raises(ollama.ResponseError) as caught:
        list(client.chat(model="llama3.1", messages=[{"role": "user", "content": "fail-mid:500"}], stream=True))
    assert caught.value.error  # the stream's one {"error": …} line
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    with pytest.raises(ollama.ResponseError) as caught:
        ollama.Client(host=server).list()  # no key
    assert caught.value.status_code == 401


def test_prefix_host_and_async(server: str) -> None:
    prefixed = ollama.Client(host=f"{server}/llm/ollama", headers={"Authorization": f"Bearer {E2E_KEY}"})
    r = prefixed.chat(model="llama3.1", messages=[{"role": "user", "content": "echo: via prefix"}])
    assert r.message.content == "via prefix"

    async def run() -> str:
        aclient = ollama.AsyncClient(host=server, headers={"Authorization": f"Bearer {E2E_KEY}"})
        parts = [p async for p in await aclient.chat(
            model="llama3.1", messages=[{"role": "user", "content": "echo: async ok"}], stream=True)]
        return "".join(p.message.content or "" for p in parts)

    assert asyncio.run(run()) == "async ok"


def test_ndjson_framing_raw_http(server: str) -> None:
    basic = base64.b64encode(f"open-webui:{E2E_KEY}".encode()).decode()  # Basic, key as password
    body = {"model": "llama3.1", "messages": [{"role": "user", "content": "echo: naïve café 日本語 🙂 done"}]}
    with httpx.stream("POST", f"{server}/api/chat", json=body, headers={"Authorization": f"Basic {basic}"}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
        raw = b"".join(r.iter_raw())
    assert raw.endswith(b"\n") and b"\n\n" not in raw
    objs = [json.loads(line) for line in raw.decode().split("\n")[:-1]]
    assert len(objs) >= 3 and [o["done"] for o in objs] == [False] * (len(objs) - 1) + [True]
    assert "".join(o["message"]["content"] for o in objs) == "naïve café 日本語 🙂 done"
    final = objs[-1]
    for key in ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
                "eval_count", "eval_duration"):
        assert isinstance(final[key], int), key
    r = httpx.post(f"{server}/api/chat", json={**body, "stream": False}, headers={"Authorization": f"Bearer {E2E_KEY}"})
    assert r.headers["content-type"] == "application/json" and r.json()["done"] is True


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server on the Workers AI REST backend (``serve --ai rest``), against the simulator over HTTP."""
    data = tmp_path_factory.mktemp("ollama-rest")
    sim_port, port = free_port(), free_port()
    sim_url, url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    sim = start(["simulator", "--port", str(sim_port), "--token", "cf-token"], env, sim_url + "/", cwd=data)
    try:
        env.update(ACCESS_TOKEN=E2E_KEY, CLOUDFLARE_ACCOUNT_ID="acc", CLOUDFLARE_API_TOKEN="cf-token",
                   CLOUDFLARE_API_BASE_URL=sim_url)
        server = start(["serve", "--port", str(port), "--data-dir", str(data / "d"), "--ai", "rest"],
                       env, url + "/health", cwd=data)
        try:
            yield url
        finally:
            stop(server)
    finally:
        stop(sim)


def test_over_the_rest_backend(rest_server: str) -> None:
    client = ollama.Client(host=rest_server, headers={"Authorization": f"Bearer {E2E_KEY}"})
    parts = list(client.chat(model="llama3.1:8b", messages=[{"role": "user", "content": "echo: über 日本語 🙂"}],
                             stream=True))
    assert "".join(p.message.content or "" for p in parts) == "über 日本語 🙂" and parts[-1].done
    r = client.chat(model="gpt-oss:20b", messages=[{"role": "user", "content": 'call:get_weather {"city": "Lima"}'}],
                    tools=[get_weather])
    assert [c.function.arguments for c in r.message.tool_calls or []] == [{"city": "Lima"}]
    assert len(client.embed(model="bge-m3", input=["a", "b"]).embeddings) == 2
    with pytest.raises(ollama.ResponseError):
        list(client.chat(model="llama3.1", messages=[{"role": "user", "content": "fail-mid:503"}], stream=True))
