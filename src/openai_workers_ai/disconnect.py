"""A request's work stops when its client leaves: an ASGI middleware.

Once the app has read the whole request body, the middleware listens for the client's
``http.disconnect``; if it comes while the handler still works (a non-streaming completion waiting
on the model, a fan-out of many calls), the handler is cancelled — its model calls with it
(``fanout.gather_bounded`` cancels what it started). Streaming responses already stop when the
client leaves (Starlette's ``StreamingResponse`` listens the same way); the disconnect message is
passed on to them. Servers that only report a disconnect after the response (the Worker's ASGI
bridge; test transports) are unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CancelOnDisconnect:
    """Cancel the app's handling of a request whose client has gone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_read = asyncio.Event()
        later: asyncio.Queue[Message] = asyncio.Queue()
        gone = False

        async def app_receive() -> Message:
            if body_read.is_set():
                return await later.get()
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read.set()
            return message

        handler = asyncio.ensure_future(self.app(scope, app_receive, send))

        async def watch() -> None:
            nonlocal gone
            await body_read.wait()
            message = await receive()
            gone = message["type"] == "http.disconnect"
            await later.put(message)
            if gone:
                handler.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await handler
        except asyncio.CancelledError:
            if not gone:  # cancelled from outside (server shutdown): the handler goes too
                handler.cancel()
                raise
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
