"""Streaming in layers: decode upstream SSE → (translators) → encode SSE / NDJSON.

- :func:`sse_events` turns Workers AI's raw byte stream, split anywhere (inside
  an event, inside a multi-byte UTF-8 character), into decoded ``data`` payloads.
- :func:`sse_response` / :func:`ndjson_response` write an async iterator of
  events to the client; a failure after the headers went out becomes one final
  error event (OpenAI: ``event: error``; Ollama: ``{"error": …}`` line), and the
  upstream iterator is always closed so we stop reading from Workers AI. A client
  that leaves stops the stream: the gate (:mod:`.gate`) cancels its request.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from json import dumps
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from .errors import APIError

logger = logging.getLogger(__name__)

DONE = "[DONE]"


async def sse_events(chunks: AsyncIterator[bytes]) -> AsyncGenerator[str, None]:
    """Yield the ``data`` of each server-sent event, joining multi-line data.

    Stops at ``data: [DONE]``. Works on any chunking of the byte stream.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    buffer = ""
    data: list[str] = []
    async with aclosing(chunks) as stream:  # type: ignore[type-var]  # an async generator: has aclose()
        async for chunk in stream:
            buffer += decoder.decode(chunk)
            if "\n" not in buffer:
                continue
            *lines, buffer = buffer.split("\n")
            for line in lines:
                line = line.removesuffix("\r")
                if line.startswith("data:"):
                    data.append(line[6:] if line.startswith("data: ") else line[5:])
                elif not line and data:
                    payload = "\n".join(data)
                    data.clear()
                    if payload == DONE:
                        return
                    yield payload
        buffer += decoder.decode(b"", final=True)
        if buffer.startswith("data:"):
            data.append(buffer[5:].removeprefix(" ").removesuffix("\r"))
        if data and (payload := "\n".join(data)) != DONE:
            yield payload


def sse(data: str, event: str | None = None) -> bytes:
    """One server-sent event: ``data: …`` (after ``event: …`` when given) and the blank line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


SSE_DONE = sse(DONE)


def sse_response(
    events: AsyncIterator[bytes], *, on_error: Callable[[APIError], bytes] | None = None
) -> Streamed:
    """Stream pre-encoded SSE frames; an :class:`APIError` mid-stream ends it with an error event."""

    def openai_error(error: APIError) -> bytes:
        return sse(dumps(error.to_openai()), event="error")

    return Streamed(
        _guarded(events, on_error or openai_error),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        keepalive=SSE_KEEPALIVE,
    )


def ndjson_response(events: AsyncIterator[dict[str, Any]]) -> Streamed:
    """One JSON object per line (Ollama); an error mid-stream is one ``{"error": …}`` line."""

    async def lines() -> AsyncIterator[bytes]:
        async with aclosing(events) as stream:  # type: ignore[type-var]  # an async generator: has aclose()
            async for event in stream:
                yield dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    def ollama_error(error: APIError) -> bytes:
        return dumps(error.to_ollama(), ensure_ascii=False).encode() + b"\n"

    return Streamed(_guarded(lines(), ollama_error), media_type="application/x-ndjson")


SSE_KEEPALIVE = 15.0
"""Seconds a server-sent event stream may stay silent before a comment line (``: keep-alive``) goes out,
so that proxies and clients waiting on a slow model (or on a Workers AI that hangs, until its timeout
ends the stream with an error event) do not close it."""
_KEEPALIVE_FRAME = b": keep-alive\n\n"


class Streamed(StreamingResponse):
    """Starlette's streaming response, without the task group it runs per response (on servers
    of ASGI spec < 2.4, uvicorn's) to listen for the client leaving: the gate cancels a request
    whose client left, streams included. With ``keepalive``, a silent stream gets a comment line
    every ``keepalive`` seconds (one timer a stream, none a chunk)."""

    def __init__(self, content: AsyncIterator[bytes], *, keepalive: float | None = None, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.keepalive = keepalive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.keepalive is None:
                await self.stream_response(send)
            else:
                await self._stream_with_keepalive(send, self.keepalive)
        except OSError:  # a send to a client gone (ASGI 2.4), as Starlette answers it
            raise ClientDisconnect() from None

    async def _stream_with_keepalive(self, send: Send, every: float) -> None:
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        pending: set[asyncio.Task[None]] = set()
        timer: asyncio.TimerHandle | None = None

        async def keepalive() -> None:
            await send({"type": "http.response.body", "body": _KEEPALIVE_FRAME, "more_body": True})

        def tick() -> None:
            nonlocal timer, last_sent
            idle = loop.time() - last_sent
            if idle >= every:  # silent for a whole period: say something
                last_sent = loop.time()
                task = loop.create_task(keepalive())
                pending.add(task)
                task.add_done_callback(pending.discard)
                idle = 0.0
            timer = loop.call_later(every - idle, tick)

        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        timer = loop.call_later(every, tick)
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                last_sent = loop.time()
        finally:
            if timer is not None:
                timer.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _guarded(
    frames: AsyncIterator[bytes], on_error: Callable[[APIError], bytes]
) -> AsyncIterator[bytes]:
    try:
        async with aclosing(frames) as stream:  # type: ignore[type-var]  # an async generator: has aclose()
            async for frame in stream:
                yield frame
    except APIError as error:
        yield on_error(error)
    except Exception:  # a bug; headers are gone, so report it in-band and log it
        logger.exception("stream failed")
        yield on_error(APIError("The server had an error while processing your request."))


async def primed(items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Start ``items`` now, so a failure before the first item is a normal error
    response (with its status), not an event in an already-started stream."""
    try:
        first = await anext(items)
    except StopAsyncIteration:
        first = _EMPTY
    except BaseException:
        await items.aclose()  # type: ignore[attr-defined]  # an async generator: has aclose()
        raise

    async def chained() -> AsyncIterator[Any]:
        async with aclosing(items) as rest:  # type: ignore[type-var]  # an async generator: has aclose()
            if first is not _EMPTY:
                yield first
            async for item in rest:
                yield item

    return chained()


_EMPTY = object()
