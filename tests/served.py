"""An ASGI app on a real loopback port, in the test's own event loop: what the HTTP-client adapters
(``RestAI``, ``HttpFetcher``) talk to in tests, over the same wire they use in production."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from openai_workers_ai.adapters.local import RestAI

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@asynccontextmanager
async def served(app: ASGIApp, http: Any = "auto") -> AsyncIterator[str]:
    """Serve ``app`` (uvicorn, no lifespan; ``http``: its protocol) on 127.0.0.1 and a free port;
    yield its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="critical", access_log=False, http=http))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.001)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def refused_url() -> str:
    """A loopback URL nothing listens on (connecting is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def rest_ai_over(app: ASGIApp, token: str = "t", account: str = "account-1") -> AsyncIterator[RestAI]:
    """A :class:`RestAI` whose REST API is ``app`` served on loopback (closed on exit)."""
    async with served(app) as url:
        ai = RestAI(account, token, base_url=url)
        try:
            yield ai
        finally:
            await ai.aclose()
