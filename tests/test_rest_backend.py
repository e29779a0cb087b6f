"""The REST backend (``adapters.local.RestAI``) against the simulator served in the REST API's envelope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, RestAI, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.rest import create_rest_app
from openai_workers_ai.streaming import sse_events

from .conftest import KEY
from .openapi import assert_matches

MODEL = "@cf/meta/llama-3.1-8b-instruct"
TOKEN = "cf-api-token"


def rest_ai(simulator: Simulator, token: str = TOKEN) -> RestAI:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(create_rest_app(simulator, token=TOKEN)))
    return RestAI("account-1", token, base_url="http://rest.test", client=client)


def chat_inputs(content: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], **extra}


async def test_run_whole(simulator: Simulator) -> None:
    out = await rest_ai(simulator).run(MODEL, chat_inputs("echo: hi there"))
    assert isinstance(out, dict)
    assert out["response"] == "hi there"
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert simulator.calls[-1] == (MODEL, chat_inputs("echo: hi there"))


async def test_run_streaming(simulator: Simulator) -> None:
    out = await rest_ai(simulator).run(MODEL, chat_inputs("echo: naïve 🙂 ok", stream=True))
    assert not isinstance(out, (dict, bytes))
    events = [json.loads(e) async for e in sse_events(out)]
    assert "".join(e["response"] for e in events) == "naïve 🙂 ok"
    assert events[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [(400, 400, "invalid_request"), (404, 404, "model_not_found"), (429, 429, "rate_limit_exceeded"),
     (500, 502, "upstream_error"), (503, 503, "upstream_overloaded")],
)
async def test_errors_are_mapped(simulator: Simulator, status: int, expected: int, code: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        await rest_ai(simulator).run(MODEL, chat_inputs(f"fail:{status}"))
    assert (caught.value.status, caught.value.code) == (expected, code)
    assert caught.value.message.startswith("Workers AI: ")


async def test_invalid_input_is_a_400(simulator: Simulator) -> None:
    with pytest.raises(UpstreamError) as caught:
        await rest_ai(simulator).run(MODEL, {"messages": []})
    assert caught.value.status == 400


async def test_unknown_model(simulator: Simulator) -> None:
    with pytest.raises(UpstreamError) as caught:
        await rest_ai(simulator).run("@cf/acme/none", chat_inputs("hi"))
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")


async def test_bad_token_is_a_bad_gateway(simulator: Simulator) -> None:
    # The gateway's own credentials are wrong: not the client's fault, so not a 401 to them.
    with pytest.raises(UpstreamError) as caught:
        await rest_ai(simulator, token="wrong").run(MODEL, chat_inputs("hi"))
    assert caught.value.status == 502
    assert simulator.calls == []


async def test_unreachable_is_a_bad_gateway() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    ai = RestAI("a", "t", base_url="http://nowhere.test", client=httpx.AsyncClient(transport=httpx.MockTransport(refuse)))
    with pytest.raises(UpstreamError) as caught:
        await ai.run(MODEL, chat_inputs("hi"))
    assert caught.value.status == 502


async def test_models_search(simulator: Simulator) -> None:
    models = await rest_ai(simulator).models()
    names = {m["name"] for m in models}
    assert MODEL in names and len(names) == len(simulator.catalog.models)
    with pytest.raises(UpstreamError):
        await rest_ai(simulator, token="wrong").models()


# ---- the whole app over the REST backend --------------------------------------------------


@pytest.fixture
async def rest_client(simulator: Simulator, tmp_path) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    backends = Backends(ai=rest_ai(simulator), db=SQLiteD1(), bucket=FolderR2(tmp_path / "r2"))
    app = create_app(backends, Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        yield c


async def test_chat_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/chat/completions", json={"model": MODEL, "messages": [
        {"role": "user", "content": "echo: over the wire"}]})
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateChatCompletionResponse")
    assert r.json()["choices"][0]["message"]["content"] == "over the wire"


async def test_chat_stream_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/chat/completions", json={
        "model": MODEL, "stream": True, "stop": ["wire"], "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "echo: über the wire and on"}]})
    assert r.status_code == 200
    payloads = [line[6:] for line in r.text.split("\n") if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    for chunk in chunks:
        assert_matches(chunk, "CreateChatCompletionStreamResponse")
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "über the "
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(("status", "expected"), [(400, 400), (404, 404), (429, 429), (503, 503)])
async def test_chat_errors_over_rest(rest_client: httpx.AsyncClient, status: int, expected: int) -> None:
    r = await rest_client.post("/v1/chat/completions", json={
        "model": MODEL, "messages": [{"role": "user", "content": f"fail:{status}"}]})
    assert r.status_code == expected
    assert_matches(r.json(), "ErrorResponse")


async def test_failure_mid_stream_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/chat/completions", json={
        "model": MODEL, "stream": True, "messages": [{"role": "user", "content": "fail-mid:503"}]})
    assert r.status_code == 200
    frames = [f for f in r.text.split("\n\n") if f.strip()]
    assert frames[-1].startswith("event: error\n")
    assert json.loads(frames[-1].split("data: ", 1)[1])["error"]["code"] == "upstream_overloaded"
    assert "partial" in r.text and "[DONE]" not in r.text


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected"),
    [
        (502, "text/html", b"<html>Bad gateway</html>", 502),  # Cloudflare's edge, not the API
        (503, "text/html", b"<html>busy</html>", 503),
        (429, "text/plain", b"slow down", 429),
        (200, "application/json", b"{not json", 502),
        (200, "application/json", b"[1, 2]", 502),
        (200, "application/json", b'{"success": false, "errors": "oops"}', 502),
        (400, "application/json", b'{"success": false, "errors": [{"code": 5006, "message": "bad"}]}', 400),
        (500, "application/json", b"", 502),
    ],
)
async def test_unexpected_answers_are_upstream_errors(status: int, content_type: str, body: bytes, expected: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    ai = RestAI("a", "t", base_url="http://cf.test", client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    with pytest.raises(UpstreamError) as caught:
        await ai.run(MODEL, chat_inputs("hi"))
    assert caught.value.status == expected
    with pytest.raises(UpstreamError):
        await ai.models()


async def test_stream_cut_off_mid_way_is_an_upstream_error() -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'data: {"response": "par'
            raise httpx.ReadError("connection reset")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Broken(), headers={"content-type": "text/event-stream"})

    ai = RestAI("a", "t", base_url="http://cf.test", client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    stream = await ai.run(MODEL, chat_inputs("hi", stream=True))
    assert not isinstance(stream, (dict, bytes))
    with pytest.raises(UpstreamError, match="interrupted"):
        async for _ in stream:
            pass


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"{bad", b"null"])
async def test_simulator_rest_app_refuses_non_objects(simulator: Simulator, body: bytes) -> None:
    transport = httpx.ASGITransport(create_rest_app(simulator))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as c:
        r = await c.post(f"/client/v4/accounts/a/ai/run/{MODEL}", content=body,
                         headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["success"] is False and r.json()["errors"][0]["code"] == 5006
