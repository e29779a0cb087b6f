"""Reading streams in tests, and leaving one half-way as a client does."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from .conftest import KEY
from .openapi import assert_matches


def chat_chunks(r: httpx.Response) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a 200 SSE response, each validated against
    OpenAI's schema; the stream must end with ``data: [DONE]``."""
    assert r.status_code == 200, r.text
    payloads = [line[6:] for line in r.text.split("\n") if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    for chunk in chunks:
        assert_matches(chunk, "CreateChatCompletionStreamResponse")
    return chunks


async def post_and_leave(app: Any, path: str, body: dict[str, Any], leave_after: bytes) -> None:
    """POST ``body`` as JSON to ``path`` over raw ASGI, the client leaving (``http.disconnect``) once a
    chunk holding ``leave_after`` reached it; returns when the app is done (the gate cancels the
    request when the client leaves, as it does under uvicorn)."""
    raw = json.dumps(body).encode()
    seen = asyncio.Event()
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await seen.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if leave_after in message.get("body", b""):
            seen.set()

    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", b"application/json")]}
    await app(scope, receive, send)
