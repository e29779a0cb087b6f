"""``server_protocol``: the local server's HTTP protocol sends what the app wrote in one event-loop
pass together, and never holds anything longer than that pass."""

from __future__ import annotations

import asyncio
from typing import Any

from openai_workers_ai.server_protocol import GatheringHttpToolsProtocol, _GatheringTransport

from .served import served


class FakeTransport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_pass_leave_together() -> None:
    fake = FakeTransport()
    transport = _GatheringTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(b"body")
    assert fake.sent == []
    await asyncio.sleep(0)
    assert fake.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"more")
    await asyncio.sleep(0)
    assert fake.sent[-1] == b"more"
    transport.write(b"last")
    transport.close()  # what was written goes before the connection closes
    assert fake.sent[-1] == b"last" and fake.closed
    transport.write(b"too late")
    await asyncio.sleep(0)
    assert fake.sent[-1] == b"last"
    assert transport.get_extra_info("peername") == "info:peername"


async def test_a_stream_leaves_as_the_app_writes_it() -> None:
    go_on = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: first\n\n", "more_body": True})
        await go_on.wait()  # the first piece must reach the client before this returns
        await send({"type": "http.response.body", "body": b"data: second\n\n"})

    async with served(app, http=GatheringHttpToolsProtocol) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(2):  # two requests on one kept-alive connection
            writer.write(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200 OK") and b"transfer-encoding: chunked" in head
            first = await asyncio.wait_for(reader.readuntil(b"first\n\n\r\n"), 5)
            assert first.endswith(b"data: first\n\n\r\n")
            go_on.set()
            rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5)
            assert b"data: second" in rest
            go_on.clear()
        writer.close()
