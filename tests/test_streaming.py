"""``streaming.py``: decoding Workers AI SSE under any chunking; writing SSE with in-band errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from openai_workers_ai.errors import RateLimited
from openai_workers_ai.streaming import primed, sse_events, sse_response


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def decode(*parts: bytes) -> list[str]:
    return [event async for event in sse_events(chunks_of(*parts))]


STREAM = (
    'data: {"response":"naïve 日本語 🙂"}\n\n'
    'data: {"response":"ü"}\n\n'
    "data: [DONE]\n\n"
).encode()
EXPECTED = ['{"response":"naïve 日本語 🙂"}', '{"response":"ü"}']


async def test_every_split_point() -> None:
    # Every cut of the byte stream, including inside each multi-byte character.
    for at in range(len(STREAM) + 1):
        assert await decode(STREAM[:at], STREAM[at:]) == EXPECTED, at


async def test_every_pair_of_split_points_in_a_multibyte_payload() -> None:
    payload = 'data: "🙂é"\n\n'.encode()
    for i in range(len(payload) + 1):
        for j in range(i, len(payload) + 1):
            assert await decode(payload[:i], payload[i:j], payload[j:]) == ['"🙂é"'], (i, j)


async def test_byte_at_a_time() -> None:
    assert await decode(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == EXPECTED


async def test_crlf_line_endings_split_anywhere() -> None:
    stream = STREAM.replace(b"\n", b"\r\n")
    for at in range(len(stream) + 1):
        assert await decode(stream[:at], stream[at:]) == EXPECTED, at


async def test_multi_line_data_is_joined_with_newlines() -> None:
    stream = b"data: first\ndata: second\ndata:third\n\ndata: [DONE]\n\n"
    assert await decode(stream) == ["first\nsecond\nthird"]


async def test_comments_event_names_and_ids_are_ignored() -> None:
    stream = b": keep-alive\nevent: message\nid: 7\nretry: 10\ndata: x\n\n"
    assert await decode(stream) == ["x"]


async def test_stops_at_done_without_reading_further() -> None:
    read: list[bytes] = []

    async def source() -> AsyncIterator[bytes]:
        for part in (b"data: a\n\n", b"data: [DONE]\n\n", b"data: never\n\n"):
            read.append(part)
            yield part

    assert [e async for e in sse_events(source())] == ["a"]
    assert len(read) == 2


async def test_last_event_without_blank_line() -> None:
    assert await decode(b"data: a\n\ndata: b") == ["a", "b"]
    assert await decode(b"data: a\n\ndata: b\n") == ["a", "b"]
    assert await decode(b"data: a\r\n\r\ndata: b\r") == ["a", "b"]
    assert await decode(b"data: a\n\ndata: [DONE]") == ["a"]


async def test_source_is_closed_when_consumer_stops() -> None:
    closed = []

    async def source() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"data: x\n\n"
        finally:
            closed.append(True)

    events = sse_events(source())
    assert await anext(events) == "x"
    await events.aclose()  # type: ignore[attr-defined]
    assert closed == [True]


async def body_of(response) -> bytes:  # noqa: ANN001
    out = b""
    async for part in response.body_iterator:
        out += part if isinstance(part, bytes) else part.encode()
    return out


async def test_error_mid_stream_becomes_an_error_event() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        raise RateLimited("slow down")

    body = await body_of(sse_response(frames()))
    first, error, *rest = body.split(b"\n\n")
    assert first == b"data: 1" and rest == [b""]
    event, data = error.split(b"\n")
    assert event == b"event: error"
    assert json.loads(data[6:])["error"]["code"] == "rate_limit_exceeded"


async def test_a_bug_mid_stream_is_reported_in_band() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        raise KeyError("bug")

    body = await body_of(sse_response(frames()))
    assert b"event: error" in body and b"server_error" in body and b"KeyError" not in body


async def test_primed_raises_before_the_first_item() -> None:
    async def failing() -> AsyncIterator[int]:
        raise RateLimited("no")
        yield 1  # pragma: no cover

    with pytest.raises(RateLimited):
        await primed(failing())


async def test_primed_keeps_every_item() -> None:
    async def items() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    assert [i async for i in await primed(items())] == [0, 1, 2]

    async def empty() -> AsyncIterator[int]:
        return
        yield 1  # pragma: no cover

    assert [i async for i in await primed(empty())] == []
