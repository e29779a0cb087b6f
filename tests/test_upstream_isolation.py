"""An upstream that misbehaves: a hang is a 504 within the timeout, a silent stream ends with an error
event, the upstream's Retry-After reaches the client (issue: hold under abuse)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters import local
from openai_workers_ai.adapters.local import FolderR2, RestAI, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .conftest import KEY
from .served import served

MODEL = "@cf/meta/llama-3.1-8b-instruct"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}


async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The REST API misbehaving as the request's model name says: hang, stall mid-stream, or rate limit."""
    while (await receive()).get("more_body"):
        pass
    path = scope["path"]
    if path.endswith("/hang"):
        await asyncio.sleep(2)  # well past the 0.5 s timeout
    if path.endswith("/drip"):  # a JSON answer a byte every 0.2 s, each within the 0.5 s read timeout
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await drip(send, [b" "] * 12, 0.2)
        await send({"type": "http.response.body", "body": b'{"success":true,"result":{"response":"late"}}'})
        return
    if path.endswith(("/drip-sse", "/event-then-drip-sse")):  # SSE comments only, each within the read timeout
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        if path.endswith("/event-then-drip-sse"):
            await send({"type": "http.response.body", "body": b'data: {"response":"partial "}\n\n', "more_body": True})
        await drip(send, [b": still here\n\n"] * 12, 0.2)
        await send({"type": "http.response.body", "body": b'data: {"response":"late"}\n\ndata: [DONE]\n\n'})
        return
    if path.endswith("/slow-events"):  # events a byte at a time: 1.2 s in all, each event within 0.5 s
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        events = b"".join(b'data: {"response":"w%d "}\n\n' % i for i in range(4)) + b"data: [DONE]\n\n"
        await drip(send, [events[i:i + 1] for i in range(len(events))], 1.2 / len(events))
        await send({"type": "http.response.body", "body": b""})
        return
    if path.endswith("/stall"):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b'data: {"response":"partial "}\n\n', "more_body": True})
        await asyncio.sleep(2)  # well past the 0.5 s timeout
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"7")]})
    await send({"type": "http.response.body",
                "body": b'{"success":false,"errors":[{"code":3040,"message":"Capacity temporarily exceeded"}]}'})


async def drip(send: Any, pieces: list[bytes], every: float) -> None:
    for piece in pieces:
        try:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        except OSError:  # the gateway hung up
            return
        await asyncio.sleep(every)


@pytest.fixture
async def client(db: SQLiteD1, bucket: FolderR2):  # noqa: ANN201
    async with served(upstream) as url:
        ai = RestAI("acct", "t", base_url=url, timeout=0.5)
        app = create_app(Backends(ai=ai, db=db, bucket=bucket), Settings(access_token=(KEY,)))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     headers={"authorization": f"Bearer {KEY}"}) as c:
            yield c
        await ai.aclose()


async def test_a_hanging_upstream_is_a_504_within_the_timeout(client: httpx.AsyncClient) -> None:
    r = await asyncio.wait_for(client.post("/v1/chat/completions", json={**CHAT, "model": "@cf/x/hang"}), 5)
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"


async def test_a_stream_that_goes_silent_ends_with_an_error_event(client: httpx.AsyncClient) -> None:
    body = {**CHAT, "model": "@cf/x/stall", "stream": True}
    r = await asyncio.wait_for(client.post("/v1/chat/completions", json=body), 5)
    assert r.status_code == 200
    assert "partial" in r.text and "event: error" in r.text and "upstream_timeout" in r.text


async def test_a_trickling_answer_is_cut_by_the_total_timeout_which_its_error_names(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "TOTAL_TIMEOUT", 1.5)
    start = time.monotonic()
    r = await asyncio.wait_for(client.post("/v1/chat/completions", json={**CHAT, "model": "@cf/x/drip"}), 5)
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"
    assert "within 1.5 seconds" in r.json()["error"]["message"]  # the limit that fired, not the 0.5 s read timeout
    assert 1.4 < time.monotonic() - start < 2.4


async def test_a_stream_of_comments_without_events_is_a_hang(client: httpx.AsyncClient) -> None:
    # Comments every 0.2 s keep the connection from ever being silent for the 0.5 s read timeout.
    start = time.monotonic()
    r = await asyncio.wait_for(client.post("/v1/chat/completions", json={**CHAT, "model": "@cf/x/drip-sse", "stream": True}), 5)
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"  # before its first event
    assert "no event within 0.5 seconds" in r.json()["error"]["message"]
    r = await asyncio.wait_for(client.post("/v1/chat/completions",
                                           json={**CHAT, "model": "@cf/x/event-then-drip-sse", "stream": True}), 5)
    assert r.status_code == 200 and "partial" in r.text and "late" not in r.text
    assert "event: error" in r.text and "upstream_timeout" in r.text  # once started, ended with the error event
    assert time.monotonic() - start < 2.5  # each cut after about 0.5 s, not after the 2.4 s of comments
    r = await client.post("/api/chat", json={"model": "@cf/x/event-then-drip-sse", "messages": CHAT["messages"]})
    lines = r.text.splitlines()
    assert "partial" in lines[0] and "no event within 0.5 seconds" in lines[-1]  # Ollama's error line


async def test_a_stream_whose_events_trickle_in_time_is_not_cut(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "model": "@cf/x/slow-events", "stream": True})
    assert "error" not in r.text and r.text.endswith("data: [DONE]\n\n")
    assert "w0 w1 w2 w3" in "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in r.text.splitlines() if line.startswith("data: {"))


def test_a_connect_timeout_names_its_own_limit() -> None:
    import aiohttp

    error = local._unreachable(aiohttp.ConnectionTimeoutError(), 60.0)
    assert error.status == 504 and f"within {local.CONNECT_TIMEOUT:g} seconds" in error.message
    assert "within 60 seconds" in local._unreachable(aiohttp.SocketTimeoutError(), 60.0).message


def test_data_lines_are_told_from_comments_however_the_stream_is_split() -> None:
    stream = b': keep\n\ndata: {"a":1}\n\n:data: no\n\ndata:{"b":2}\r\n\n'
    for size in (1, 2, 3, 7, len(stream)):
        lines, completed = local._DataLines(), []
        for start in range(0, len(stream), size):
            if lines.completed_in(stream[start:start + size]):
                completed.append(start + size)
        ends = [i + 1 for i in range(len(stream)) if stream[i:i + 1] == b"\n"]
        # the pieces that end the two data lines, and no others
        data_ends = [ends[2], ends[6]]
        assert completed == sorted({-(-end // size) * size for end in data_ends}), size


async def test_the_upstreams_retry_after_reaches_the_client(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/chat/completions", json={**CHAT, "model": "@cf/x/limited"})
    assert r.status_code == 503 and r.headers["retry-after"] == "7"
    r = await client.post("/api/chat", json={"model": "@cf/x/limited", "messages": [{"role": "user", "content": "x"}]})
    assert r.headers["retry-after"] == "7"


async def test_a_rate_limit_without_retry_after_still_says_when() -> None:
    error = UpstreamError("slow down", status=429)
    from openai_workers_ai.errors import render

    assert render(error).headers["retry-after"] == "1"


async def test_idle_and_header_trickling_connections_are_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from openai_workers_ai.server_protocol import GatheringHttpToolsProtocol

    monkeypatch.setattr(GatheringHttpToolsProtocol, "header_timeout", 0.3)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async with served(app, http=GatheringHttpToolsProtocol) as url:
        host, port = url.removeprefix("http://").split(":")

        async def closed_after(*sends: bytes) -> float:
            reader, writer = await asyncio.open_connection(host, int(port))
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                for data in sends:
                    writer.write(data)
                    await writer.drain()
                    await asyncio.sleep(0.1)
                assert await asyncio.wait_for(reader.read(), 3) == b""  # closed by the server, nothing answered
            except ConnectionError:  # closed while we were still trickling
                pass
            writer.close()
            return loop.time() - start

        assert await closed_after() < 1.5  # a connection that never says anything
        trickle = [b"GET / HTTP/1.1\r\n", b"Host: x\r\n", b"X-A: 1\r\n", b"X-B: 1\r\n", b"X-C: 1\r\n"] * 3
        assert await closed_after(*trickle) < 2.5  # headers one line at a time, never finished
        async with httpx.AsyncClient() as c:  # a normal request is unaffected
            assert (await c.get(url + "/")).text == "ok"


class SlowAI:
    """A model that answers after ``delay`` seconds; a stream starts at once, then waits ``delay``."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def run(self, model: str, inputs: dict[str, Any], options: Any = None) -> Any:
        if not inputs.get("stream"):
            await asyncio.sleep(self.delay)
            return {"response": "late"}

        async def events() -> Any:
            yield b'data: {"response":"early "}\n\n'  # the stream starts, then the model goes quiet
            await asyncio.sleep(self.delay)
            yield b'data: {"response":"late"}\n\n'
            yield b"data: [DONE]\n\n"

        return events()


def slow_app(db: SQLiteD1, bucket: FolderR2, delay: float, **settings: Any):  # noqa: ANN201
    keys = ("key-a", "key-b")
    return create_app(Backends(ai=SlowAI(delay), db=db, bucket=bucket), Settings(access_token=keys, **settings))


async def test_a_silent_stream_gets_keep_alive_comments(
    db: SQLiteD1, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openai_workers_ai import streaming

    monkeypatch.setattr(streaming, "SSE_KEEPALIVE", 0.1)
    app = slow_app(db, bucket, 0.35)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": "Bearer key-a"}) as c:
        r = await c.post("/v1/chat/completions", json={**CHAT, "stream": True})
    frames = r.text.split("\n\n")
    assert frames.count(": keep-alive") >= 2  # the model was silent for three periods
    assert '"content":"late"' in r.text and r.text.endswith("data: [DONE]\n\n")


async def test_one_keys_requests_in_flight_are_bounded_not_the_others(db: SQLiteD1, bucket: FolderR2) -> None:
    app = slow_app(db, bucket, 0.3, max_in_flight_per_key=2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"authorization": "Bearer key-a"}) as a, \
            httpx.AsyncClient(transport=transport, base_url="http://t", headers={"authorization": "Bearer key-b"}) as b:
        answers = await asyncio.gather(*(a.post("/v1/chat/completions", json=CHAT) for _ in range(3)),
                                       b.post("/v1/chat/completions", json=CHAT))
        statuses = sorted(r.status_code for r in answers[:3])
        assert statuses == [200, 200, 429] and answers[3].status_code == 200
        refused = next(r for r in answers if r.status_code == 429)
        assert refused.json()["error"]["code"] == "too_many_requests_in_flight" and refused.headers["retry-after"]
        assert (await a.get("/v1/models")).status_code == 200  # the count went back down
        assert app.state.ctx is not None


async def test_stalled_calls_do_not_take_every_upstream_connection() -> None:
    """More upstream calls stalled than a default pool holds (aiohttp's 100): another call still gets
    a connection of its own at once (issue 14: every other key's calls waited up to 300 s)."""
    from .served import rest_ai_over

    stalled, release = [0], asyncio.Event()

    async def stalling(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        if scope["path"].endswith("/stall"):
            stalled[0] += 1
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"success":true,"result":{"response":"ok"}}'})

    n = 120
    async with rest_ai_over(stalling) as ai:
        calls = [asyncio.create_task(ai.run("@cf/x/stall", {"prompt": "x"})) for _ in range(n)]
        try:
            for _ in range(300):  # until the upstream holds them all (a capped pool never gets there)
                if stalled[0] == n:
                    break
                await asyncio.sleep(0.01)
            start = time.monotonic()
            assert await asyncio.wait_for(ai.run("@cf/x/quick", {"prompt": "x"}), 3) == {"response": "ok"}
            assert time.monotonic() - start < 1 and stalled[0] == n
        finally:
            release.set()
            assert await asyncio.gather(*calls) == [{"response": "ok"}] * n
