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
    """``uvicorn.Config(http=GatheringHttpToolsProtocol)``: httptools, one write per loop pass."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self.transport = _GatheringTransport(self.transport, self.loop)  # type: ignore[assignment]
