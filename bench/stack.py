"""The floor's logic on this project's HTTP stack, for ``bench/gateway.py``: what the gateway would
cost if the app did no more than ``bench/passthrough.py`` does.

    python bench/stack.py --port 9300 --upstream http://127.0.0.1:9100

A bare ASGI app (OpenAI chat in, ``RestAI.run`` out, no validation) served as ``serve`` serves:
uvicorn with ``GatheringHttpToolsProtocol`` on uvloop. Its distance to the floor is the stack's;
the project's distance to it is the app's (routing, middleware, validation, translation).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator
from json import dumps, loads
from typing import Any

import uvicorn
import uvloop

from openai_workers_ai.adapters.local import RestAI
from openai_workers_ai.server_protocol import GatheringHttpToolsProtocol


def chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-stack", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + dumps(body).encode() + b"\n\n"


def make_app(ai: RestAI) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if scope["path"] == "/health":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        request = loads(body)
        model, stream = request["model"], bool(request.get("stream"))
        out = await ai.run(model, {"messages": request["messages"], "max_tokens": request.get("max_tokens"),
                                   "stream": stream})
        if isinstance(out, dict):
            message = {"role": "assistant", "content": out.get("response") or ""}
            answer = dumps({"id": "chatcmpl-stack", "object": "chat.completion", "created": int(time.time()),
                            "model": model, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                            "usage": out.get("usage")}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
            await send({"type": "http.response.body", "body": answer})
            return
        assert not isinstance(out, bytes)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await forward(model, out, send)

    return app


async def forward(model: str, upstream: AsyncIterator[bytes], send: Any) -> None:
    buffer = b""
    async for data in upstream:
        buffer += data
        *events, buffer = buffer.split(b"\n\n")
        for event in events:
            payload = event.removeprefix(b"data: ")
            if payload == b"[DONE]":
                frame = chunk(model, {}, "stop") + b"data: [DONE]\n\n"
            elif text := loads(payload).get("response"):
                frame = chunk(model, {"content": text})
            else:
                continue
            await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--account", default="bench")
    parser.add_argument("--token", default="bench-token")
    args = parser.parse_args()
    app = make_app(RestAI(args.account, args.token, base_url=args.upstream))
    config = uvicorn.Config(app, port=args.port, log_level="warning", access_log=False,
                            http=GatheringHttpToolsProtocol, lifespan="off")
    uvloop.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
