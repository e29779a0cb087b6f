"""uvicorn's httptools protocol, writing once per event-loop pass (the local server; CPython only).

uvicorn writes the status line and headers, then each body message, with one ``transport.write``
each, and uvloop sends each at once: a JSON answer costs two system calls, a streamed chat one per
chunk. Here the writes made while the app runs are gathered and sent together when it next waits
(``loop.call_soon``): the chunks of one upstream read leave in one system call. Nothing waits
longer than the current pass of the event loop. ``bench/gateway.py`` measures the gain.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _GatheringTransport:
    """A transport whose ``write`` queues until the end of the current event-loop pass."""

    __slots__ = ("_transport", "_loop", "_queued")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._queued: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._queued:
            self._loop.call_soon(self.flush)
        self._queued.append(data)

    def flush(self) -> None:
        queued, self._queued = self._queued, []
        if queued and not self._transport.is_closing():
            self._transport.write(queued[0] if len(queued) == 1 else b"".join(queued))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=GatheringHttpToolsProtocol)``: httptools, one write per loop pass; and a
    connection must send a request's headers within :attr:`header_timeout` seconds of opening (or of
    starting the request), so idle and header-trickling connections cannot be held open (uvicorn
    itself closes idle keep-alive connections after ``timeout_keep_alive``)."""

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.transport = _GatheringTransport(self.transport, self.loop)  # type: ignore[assignment]
        self._wait_for_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._wait_for_headers()

    def on_headers_complete(self) -> None:
        self._headers_arrived()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def _wait_for_headers(self) -> None:
        self._headers_arrived()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_arrived(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        self.transport.close()
