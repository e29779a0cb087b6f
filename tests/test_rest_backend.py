"""The REST backend (``adapters.local.RestAI``) against the simulator served in the REST API's envelope,
over real HTTP on loopback (``tests/served.py``)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from openai_workers_ai.adapters.local import FolderR2, RestAI, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Backends, Base64Bytes
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.rest import create_rest_app
from openai_workers_ai.streaming import sse_events

from .conftest import KEY
from .openapi import assert_matches
from .served import refused_url, rest_ai_over, served

MODEL = "@cf/meta/llama-3.1-8b-instruct"
TOKEN = "cf-api-token"


@pytest.fixture
async def rest_ai(simulator: Simulator) -> AsyncIterator[Callable[..., RestAI]]:
    """``rest_ai(token=TOKEN)``: a :class:`RestAI` over the simulator's REST API (which wants ``TOKEN``)."""
    made: list[RestAI] = []
    async with served(create_rest_app(simulator, token=TOKEN)) as url:
        def make(token: str = TOKEN) -> RestAI:
            made.append(RestAI("account-1", token, base_url=url))
            return made[-1]

        yield make
        for ai in made:
            await ai.aclose()


def chat_inputs(content: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], **extra}


async def test_run_whole(simulator: Simulator, rest_ai: Callable[..., RestAI]) -> None:
    out = await rest_ai().run(MODEL, chat_inputs("echo: hi there"))
    assert isinstance(out, dict)
    assert out["response"] == "hi there"
    assert out["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert simulator.calls[-1] == (MODEL, chat_inputs("echo: hi there"))


async def test_run_streaming(rest_ai: Callable[..., RestAI]) -> None:
    out = await rest_ai().run(MODEL, chat_inputs("echo: naïve 🙂 ok", stream=True))
    assert not isinstance(out, (dict, bytes))
    events = [json.loads(e) async for e in sse_events(out)]
    assert "".join(e["response"] for e in events) == "naïve 🙂 ok"
    assert events[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [(400, 400, "invalid_request"), (404, 404, "model_not_found"), (429, 429, "rate_limit_exceeded"),
     (500, 502, "upstream_error"), (503, 503, "upstream_overloaded")],
)
async def test_errors_are_mapped(rest_ai: Callable[..., RestAI], status: int, expected: int, code: str) -> None:
    with pytest.raises(UpstreamError) as caught:
        await rest_ai().run(MODEL, chat_inputs(f"fail:{status}"))
    assert (caught.value.status, caught.value.code) == (expected, code)
    assert caught.value.message.startswith("Workers AI: ")


async def test_invalid_input_is_a_400(rest_ai: Callable[..., RestAI]) -> None:
    with pytest.raises(UpstreamError) as caught:
        await rest_ai().run(MODEL, {"messages": []})
    assert caught.value.status == 400


async def test_unknown_model(rest_ai: Callable[..., RestAI]) -> None:
    with pytest.raises(UpstreamError) as caught:
        await rest_ai().run("@cf/acme/none", chat_inputs("hi"))
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")


async def test_bad_token_is_a_bad_gateway(simulator: Simulator, rest_ai: Callable[..., RestAI]) -> None:
    # The gateway's own credentials are wrong: not the client's fault, so not a 401 to them.
    with pytest.raises(UpstreamError) as caught:
        await rest_ai(token="wrong").run(MODEL, chat_inputs("hi"))
    assert caught.value.status == 502
    assert simulator.calls == []


async def test_unreachable_is_a_bad_gateway() -> None:
    ai = RestAI("a", "t", base_url=refused_url())
    try:
        with pytest.raises(UpstreamError, match="unreachable") as caught:
            await ai.run(MODEL, chat_inputs("hi"))
        assert caught.value.status == 502
        with pytest.raises(UpstreamError, match="unreachable"):
            await ai.models()
    finally:
        await ai.aclose()


async def test_models_search(simulator: Simulator, rest_ai: Callable[..., RestAI]) -> None:
    models = await rest_ai().models()
    names = {m["name"] for m in models}
    assert MODEL in names and len(names) == len(simulator.catalog.models)
    with pytest.raises(UpstreamError):
        await rest_ai(token="wrong").models()


# ---- the whole app over the REST backend --------------------------------------------------


@pytest.fixture
async def rest_client(rest_ai: Callable[..., RestAI], tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    backends = Backends(ai=rest_ai(), db=SQLiteD1(), bucket=FolderR2(tmp_path / "r2"))
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
    async with rest_ai_over(Response(body, status, media_type=content_type)) as ai:
        with pytest.raises(UpstreamError) as caught:
            await ai.run(MODEL, chat_inputs("hi"))
        assert caught.value.status == expected
        with pytest.raises(UpstreamError):
            await ai.models()


async def test_stream_cut_off_mid_way_is_an_upstream_error() -> None:
    async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b'data: {"response": "par', "more_body": True})
        raise RuntimeError("the server fell over")  # the connection closes before the last chunk

    async with rest_ai_over(broken) as ai:
        stream = await ai.run(MODEL, chat_inputs("hi", stream=True))
        assert not isinstance(stream, (dict, bytes))
        with pytest.raises(UpstreamError, match="interrupted"):
            async for _ in stream:
                pass


async def test_a_stream_is_forwarded_as_it_arrives() -> None:
    """Each piece reaches the caller before the upstream sends the next one (no buffering)."""
    sent: list[bytes] = []
    go_on = asyncio.Event()

    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for piece in (b'data: {"response": "a"}\n\n', b'data: {"response": "b"}\n\n'):
            sent.append(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            await go_on.wait()
            go_on.clear()
        sent.append(b"data: [DONE]\n\n")
        await send({"type": "http.response.body", "body": sent[-1]})

    async with rest_ai_over(slow) as ai:
        stream = await ai.run(MODEL, chat_inputs("hi", stream=True))
        assert not isinstance(stream, (dict, bytes))
        received = []
        async for chunk in stream:
            received.append(chunk)
            assert b"".join(received) == b"".join(sent)  # nothing more was sent yet
            go_on.set()
        assert len(received) == 3 and received[-1] == b"data: [DONE]\n\n"


async def test_request_bodies_as_sent(simulator: Simulator) -> None:
    """What goes over the wire: JSON, a streamed base64 JSON body and a raw binary body, each with
    its Content-Length (no chunked upload), and the bearer token."""
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def record(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen.append((scope["query_string"].decode(), headers, body))
        answer = json.dumps({"result": {"ok": True}, "success": True, "errors": [], "messages": []}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})

    audio = bytes(range(256)) * 5000
    async with rest_ai_over(record, token="tok") as ai:
        assert await ai.run(MODEL, {"prompt": "hi ü"}) == {"ok": True}
        await ai.run(MODEL, {"audio": Base64Bytes(audio), "language": "en"})
        await ai.run(MODEL, {"audio": {"body": memoryview(audio), "contentType": "audio/wav"}, "smart_format": True})
    for _, headers, body in seen:
        assert headers["authorization"] == "Bearer tok"
        assert headers["content-length"] == str(len(body)) and "transfer-encoding" not in headers
    assert json.loads(seen[0][2]) == {"prompt": "hi ü"}
    assert json.loads(seen[1][2]) == {"audio": base64.b64encode(audio).decode(), "language": "en"}
    assert seen[2][0] == "smart_format=true" and seen[2][1]["content-type"] == "audio/wav" and seen[2][2] == audio


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"{bad", b"null"])
async def test_simulator_rest_app_refuses_non_objects(simulator: Simulator, body: bytes) -> None:
    transport = httpx.ASGITransport(create_rest_app(simulator))
    async with httpx.AsyncClient(transport=transport, base_url="http://rest.test") as c:
        r = await c.post(f"/client/v4/accounts/a/ai/run/{MODEL}", content=body,
                         headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["success"] is False and r.json()["errors"][0]["code"] == 5006
