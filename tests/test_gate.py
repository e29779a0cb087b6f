"""The gate (``gate.Gate``): a request whose client leaves is cancelled, streams included, once it
has run long enough to listen; one that finished, or a client still there, is left alone; a
cancellation from outside (the server stopping) goes through."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from openai_workers_ai import gate
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

MODEL = "@cf/meta/llama-3.1-8b-instruct"


class SlowAI:
    """Answers a stream with one event, then waits ``pause`` before each of the rest; records
    whether the stream was stopped before its end."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.sent = 0
        self.closed_early = False

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        if not inputs.get("stream"):
            await asyncio.sleep(self.pause)
            return {"response": "whole"}
        return self._events()

    async def _events(self) -> AsyncIterator[bytes]:
        try:
            for i in range(5):
                if i:
                    await asyncio.sleep(self.pause)
                self.sent += 1
                yield b'data: {"response": "w%d "}\n\n' % i
        finally:  # cancelled or closed, or at its end
            self.closed_early = self.sent < 5


def exchange(body: dict[str, Any], leave: asyncio.Event | None) -> tuple[dict[str, Any], Any, Any, list[dict[str, Any]]]:
    """A scope, receive and send for one chat; the client leaves when ``leave`` is set."""
    raw = json.dumps(body).encode()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
             "query_string": b"", "root_path": "", "server": ("t", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"authorization", b"Bearer k"), (b"content-type", b"application/json")]}
    sent: list[dict[str, Any]] = []
    read = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not read:
            read = True
            return {"type": "http.request", "body": raw, "more_body": False}
        waits = [asyncio.ensure_future(done.wait())] + ([asyncio.ensure_future(leave.wait())] if leave else [])
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    return scope, receive, send, sent


def app_over(ai: SlowAI, db: SQLiteD1, bucket: FolderR2) -> Any:
    return create_app(Backends(ai=ai, db=db, bucket=bucket), Settings(access_token=("k",)))  # type: ignore[arg-type]


async def test_a_stream_stops_when_its_client_leaves(db: SQLiteD1, bucket: FolderR2) -> None:
    ai = SlowAI(pause=gate.LISTEN_AFTER * 2)
    leave = asyncio.Event()
    scope, receive, send, sent = exchange({"model": MODEL, "messages": [{"role": "user", "content": "hi"}],
                                           "stream": True}, leave)

    async def client_leaves_after_the_first_delta() -> None:
        while not any(b"w0" in m.get("body", b"") for m in sent):
            await asyncio.sleep(0.005)
        leave.set()

    watcher = asyncio.ensure_future(client_leaves_after_the_first_delta())
    await asyncio.wait_for(app_over(ai, db, bucket)(scope, receive, send), timeout=2)
    await watcher
    assert ai.closed_early and ai.sent < 5
    assert not any(b"[DONE]" in m.get("body", b"") for m in sent)


async def test_a_client_that_stays_gets_the_whole_stream(db: SQLiteD1, bucket: FolderR2) -> None:
    ai = SlowAI(pause=gate.LISTEN_AFTER / 2)
    scope, receive, send, sent = exchange({"model": MODEL, "messages": [{"role": "user", "content": "hi"}],
                                           "stream": True}, None)
    await asyncio.wait_for(app_over(ai, db, bucket)(scope, receive, send), timeout=2)
    assert ai.sent == 5 and not ai.closed_early
    assert b"data: [DONE]" in sent[-2]["body"] and sent[-1] == {"type": "http.response.body", "body": b"",
                                                                  "more_body": False}


async def test_a_cancellation_from_outside_goes_through(db: SQLiteD1, bucket: FolderR2) -> None:
    ai = SlowAI(pause=5)
    scope, receive, send, sent = exchange({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}, None)
    request = asyncio.ensure_future(app_over(ai, db, bucket)(scope, receive, send))
    await asyncio.sleep(gate.LISTEN_AFTER * 2)  # listening by now
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert sent == []


async def test_a_completion_stops_when_its_client_leaves(db: SQLiteD1, bucket: FolderR2) -> None:
    ai = SlowAI(pause=5)
    leave = asyncio.Event()
    scope, receive, send, sent = exchange({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}, leave)
    asyncio.get_running_loop().call_later(gate.LISTEN_AFTER / 2, leave.set)  # gone before the listening starts
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(app_over(ai, db, bucket)(scope, receive, send), timeout=2)
    assert asyncio.get_running_loop().time() - started < gate.LISTEN_AFTER + 0.5 and sent == []


async def test_the_shared_listen_timer_starts_every_due_request_even_after_one_that_fails() -> None:
    """Requests whose body was read share one timer; a listener that cannot start (logged) does not stop the
    timer from starting the others', nor from being armed again for later requests."""
    async def nothing(scope: Any, receive: Any, send: Any) -> None:
        pass

    the_gate = gate.Gate(nothing, Settings(access_token=("sk-x",)))
    started: list[str] = []

    def failing() -> None:
        raise RuntimeError("no listener")

    the_gate._listen_later(failing)
    the_gate._listen_later(lambda: started.append("second"))
    await asyncio.sleep(gate.LISTEN_AFTER * 3)
    assert started == ["second"] and not the_gate.waiting
    the_gate._listen_later(lambda: started.append("later"))
    await asyncio.sleep(gate.LISTEN_AFTER * 3)
    assert started == ["second", "later"]
