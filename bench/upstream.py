"""A no-delay Workers AI REST stand-in for the gateway benchmark: as little CPU as an HTTP server can spend.

    python bench/upstream.py --port 9100 [--tokens 64]

A model whose name contains ``stall`` never answers (the connection is held open: ``bench/abuse.py``).
``POST /client/v4/accounts/{id}/ai/run/{model}`` with ``{"messages": [...], "stream": bool}`` answers at
once, in the REST API's shapes (and ``…/ai/v1/chat/completions``, the OpenAI-compatible endpoint, in
OpenAI's): the ``{"result": {"response", "usage"}, "success": true, ...}``
envelope, or a ``text/event-stream`` of ``data: {"response": ...}`` events (one chunked-encoding chunk
each, as Workers AI sends them), a usage event and ``data: [DONE]``. The reply is :func:`reply_tokens`
of the last message's text, so a load generator can check every answer reached the request that asked.
Raw asyncio and httptools: not the code under test, so it should cost the shared cores little.
"""

from __future__ import annotations

import argparse
import asyncio
from json import dumps, loads
from typing import Any

import httptools


def reply_tokens(prompt: str, tokens: int) -> list[str]:
    """The reply to ``prompt``: the prompt itself, then counting words, ``tokens`` pieces in all."""
    return [prompt] + [f" w{i}" for i in range(1, tokens)]


def _usage(tokens: int) -> dict[str, int]:
    return {"prompt_tokens": 12, "completion_tokens": tokens, "total_tokens": tokens + 12}


def _chunk(event: str) -> bytes:
    data = b"data: " + event.encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Replies:
    """The REST API's replies to a prompt, all but the prompt's part made once: the stand-in's CPU a chat
    is what it takes from the cores the gateway under test shares."""

    def __init__(self, tokens: int) -> None:
        rest = reply_tokens("", tokens)[1:]
        self.suffix = "".join(rest)
        self.plain_head = b'{"result": {"response": '
        self.plain_tail = (', "tool_calls": [], "usage": ' + dumps(_usage(tokens))
                           + '}, "success": true, "errors": [], "messages": []}').encode()
        events = [dumps({"response": piece, "p": "abcdefgh"}) for piece in rest]
        events += [dumps({"response": "", "usage": _usage(tokens)}), "[DONE]"]
        self.stream_tail = [*(_chunk(event) for event in events), b"0\r\n\r\n"]

    def plain(self, prompt: str) -> bytes:
        """The whole HTTP reply to a non-streaming run, as ``dumps`` of the envelope makes it."""
        body = self.plain_head + dumps(prompt + self.suffix).encode() + self.plain_tail
        return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
            len(body), body)

    def stream(self, prompt: str) -> list[bytes]:
        """The HTTP reply to a streamed run, written a chunk at a time: one an event, as Workers AI sends them."""
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        return [head, _chunk(dumps({"response": prompt, "p": "abcdefgh"})), *self.stream_tail]


class _Protocol(asyncio.Protocol):
    def __init__(self, tokens: int, replies: _Replies) -> None:
        self.tokens, self.replies = tokens, replies
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_begin(self) -> None:
        self.body, self.url = [], b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if b"/stall" in self.url:  # a model that never answers (bench/abuse.py): the connection is held
            return
        try:
            inputs: Any = loads(b"".join(self.body) or b"{}")
            prompt = str(inputs["messages"][-1]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            body = b'{"result":null,"success":false,"errors":[{"code":5006,"message":"bad input"}],"messages":[]}'
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (len(body), body))
            return
        if self.url.endswith(b"/ai/v1/chat/completions"):
            self.openai(reply_tokens(prompt, self.tokens), bool(inputs.get("stream")), str(inputs.get("model")))
        elif inputs.get("stream"):
            for data in self.replies.stream(prompt):
                self.transport.write(data)
        else:
            self.transport.write(self.replies.plain(prompt))
        if not self.parser.should_keep_alive():
            self.transport.close()

    def openai(self, pieces: list[str], stream: bool, model: str) -> None:
        """Workers AI's OpenAI-compatible endpoint (``…/ai/v1/chat/completions``, what LiteLLM calls)."""
        assert self.transport is not None
        base = {"id": "chatcmpl-standin", "created": 1700000000, "model": model}
        if not stream:
            message = {"role": "assistant", "content": "".join(pieces)}
            body = dumps({**base, "object": "chat.completion", "usage": _usage(self.tokens), "choices": [
                {"index": 0, "message": message, "finish_reason": "stop"}]}).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (len(body), body))
            return
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                             b"transfer-encoding: chunked\r\n\r\n")
        chunk = {**base, "object": "chat.completion.chunk"}
        events = [dumps({**chunk, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]})
                  for p in pieces]
        events.append(dumps({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        events.append("[DONE]")
        for event in events:
            data = b"data: " + event.encode() + b"\n\n"
            self.transport.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.transport.write(b"0\r\n\r\n")


async def serve(host: str, port: int, tokens: int) -> None:
    replies = _Replies(tokens)
    server = await asyncio.get_running_loop().create_server(lambda: _Protocol(tokens, replies), host, port,
                                                            backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.host, args.port, args.tokens))


if __name__ == "__main__":
    main()
