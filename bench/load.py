"""The load generator of ``bench/gateway.py``: OpenAI chat completions, plain and streamed, each
reply checked, over a bare-bones HTTP/1.1 client (raw bytes out, httptools in), so that the load
takes as little as it can of the cores it shares with the gateway under test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import lru_cache
from json import dumps, loads
from typing import Any, TypeVar

import httptools
from upstream import reply_tokens

MODEL = "@cf/meta/llama-3.1-8b-instruct"
TOKENS = 64
CONCURRENCY = 16
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, on uvloop where it is installed (as the servers run)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def expected(i: int) -> str:
    return "".join(reply_tokens(f"req-{i}", TOKENS))


@lru_cache(maxsize=16384)
def chat_body(i: int, stream: bool) -> bytes:
    return dumps({"model": MODEL, "messages": [{"role": "user", "content": f"req-{i}"}],
                  "max_tokens": TOKENS, "stream": stream}).encode()


@lru_cache(maxsize=8192)
def expected_literal(i: int) -> bytes:
    """Request ``i``'s reply text as a JSON string, quotes included: no other request's reply holds it."""
    return dumps(expected(i)).encode()


def prepare(n: int) -> None:
    """Make the first ``n`` (≤ 8,192) requests' bodies and expected replies before a measurement, not in it:
    the load generator's CPU is taken from the cores the gateway under test shares."""
    for i in range(n):
        chat_body(i, False), chat_body(i, True), expected_literal(i)


FULL_CHECK_EVERY = 50
"""Every so many replies is parsed in full and its message's content compared (the others: their text found
in the body as :func:`expected_literal`, ~1 µs against ~9 µs)."""


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time: raw bytes out, httptools in.
    As lean as a client gets, so that the load generator takes little of the cores it shares."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        self.done: asyncio.Future[tuple[int, bytes]] | None = None
        self.keep_alive = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()  # asked later, the parser has forgotten

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(f"the server closed the connection ({exc})"))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.body, self.done = [], asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.done


class Load:
    """The load generator against one gateway's ``POST /v1/chat/completions``; checks every reply."""

    def __init__(self, url: str, token: str, path: str = "/v1/chat/completions") -> None:
        self.host, _, port = url.removeprefix("http://").partition(":")
        self.port, self.path, self.token = int(port), path, token
        self.idle: list[_Connection] = []

    async def close(self) -> None:
        for connection in self.idle:
            assert connection.transport is not None
            connection.transport.close()

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.idle:
            connection = self.idle.pop()
        else:
            _, connection = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        head = (f"POST {self.path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\nauthorization: Bearer {self.token}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n")
        answer = await connection.request(head.encode() + body)
        if connection.keep_alive:
            self.idle.append(connection)
        else:
            assert connection.transport is not None
            connection.transport.close()
        return answer

    async def chat(self, i: int) -> None:
        check_chat(i, *await self.post(chat_body(i, False)))

    async def stream(self, i: int) -> int:
        """One streamed chat, checked; the number of chunks (``data:`` events before ``[DONE]``)."""
        status, body = await self.post(chat_body(i, True))
        if status != 200:
            raise AssertionError(f"HTTP {status}: {body[:300]!r}")
        events = [line[6:].strip() for line in body.split(b"\n") if line.startswith(b"data: ")]
        if not events or events[-1] != b"[DONE]":
            raise AssertionError(f"stream {i} did not end with [DONE]: {body[-200:]!r}")
        text = []
        for event in events[:-1]:
            for choice in loads(event).get("choices") or ():
                text.append((choice.get("delta") or {}).get("content") or "")
        if "".join(text) != expected(i):
            raise AssertionError(f"stream {i} got {''.join(text)[:80]!r}")
        return len(events) - 1

    async def serial(self, n: int, start: int = 0) -> list[float]:
        """``n`` chats one at a time, each checked; their latencies (the request's alone, as the stand-in's
        own is timed)."""
        latencies = []
        for i in range(start, start + n):
            body = chat_body(i, False)
            t0 = time.perf_counter()
            answer = await self.post(body)
            latencies.append(time.perf_counter() - t0)
            check_chat(i, *answer)
        return latencies

    async def concurrent(self, n: int, call: Callable[[int], Awaitable[T]], concurrency: int = CONCURRENCY) -> list[T]:
        todo = iter(range(n))
        results: list[T] = []

        async def worker() -> None:
            for i in todo:
                results.append(await call(i))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return results


def check_chat(i: int, status: int, body: bytes) -> None:
    """An AssertionError unless ``body`` is request ``i``'s ``chat.completion``."""
    if status != 200:
        raise AssertionError(f"HTTP {status}: {body[:300]!r}")
    if i % FULL_CHECK_EVERY == 0:
        content = loads(body)["choices"][0]["message"]["content"]
        if content != expected(i):
            raise AssertionError(f"request {i} got {content[:80]!r}")
    elif expected_literal(i) not in body:
        raise AssertionError(f"request {i} got {body[:300]!r}")
