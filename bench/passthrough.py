"""The floor for ``bench/gateway.py``: the least an OpenAI-to-Workers-AI gateway can do, in aiohttp.

    python bench/passthrough.py --port 9200 --upstream http://127.0.0.1:9100 --account a --token t

``POST /v1/chat/completions`` (OpenAI) becomes ``POST …/ai/run/{model}`` (Workers AI REST) and the answer
comes back in OpenAI's shape, streamed or not. No validation, no auth, no model catalog: a floor to
measure the real gateway against, not a gateway.
"""

from __future__ import annotations

import argparse
import time
from json import dumps, loads
from typing import Any

import aiohttp
from aiohttp import web


def completion(model: str, result: dict[str, Any]) -> dict[str, Any]:
    message = {"role": "assistant", "content": result.get("response") or ""}
    return {"id": "chatcmpl-floor", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": result.get("usage")}


def chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-floor", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + dumps(body).encode() + b"\n\n"


def make_app(upstream: str, account: str, token: str) -> web.Application:
    base = f"{upstream.rstrip('/')}/client/v4/accounts/{account}/ai/run/"
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    app = web.Application()

    async def open_session(app: web.Application) -> Any:
        app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await app["session"].close()

    async def chat(request: web.Request) -> web.StreamResponse:
        body = loads(await request.read())
        model, stream = body["model"], bool(body.get("stream"))
        inputs = {"messages": body["messages"], "max_tokens": body.get("max_tokens"), "stream": stream}
        async with app["session"].post(base + model, data=dumps(inputs), headers=headers) as upstream_response:
            if not stream:
                result = loads(await upstream_response.read())["result"]
                return web.json_response(completion(model, result))
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            buffer = b""
            async for data in upstream_response.content.iter_any():
                buffer += data
                *events, buffer = buffer.split(b"\n\n")
                out = []
                for event in events:
                    payload = event.removeprefix(b"data: ")
                    if payload == b"[DONE]":
                        out.append(chunk(model, {}, "stop") + b"data: [DONE]\n\n")
                    elif text := loads(payload).get("response"):
                        out.append(chunk(model, {"content": text}))
                if out:
                    await response.write(b"".join(out))
            await response.write_eof()
            return response

    app.cleanup_ctx.append(open_session)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", lambda request: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--account", default="bench")
    parser.add_argument("--token", default="bench-token")
    args = parser.parse_args()
    try:
        import uvloop

        loop_factory: Any = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    web.run_app(make_app(args.upstream, args.account, args.token), host="127.0.0.1", port=args.port,
                access_log=None, print=None, **({"loop": loop_factory()} if loop_factory else {}))


if __name__ == "__main__":
    main()
