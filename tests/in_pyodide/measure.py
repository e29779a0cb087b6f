"""Figures measured the same way in Pyodide and in CPython: the entry module's guarded import (the
deploy-time snapshot's work), the per-isolate build (``create_app``), and the wall time of a
non-streaming chat completion through raw ASGI with the simulator in process (no network, no JS
bridge: the core's own cost in each runtime).

In Pyodide the harness (``world.mjs``, ``worker.test.mjs``) calls these functions; under CPython
``python tests/in_pyodide/measure.py PYODIDE_FIGURES.json`` measures the same — ``import entry`` in
the stand-in world (``tests/worker_world``) through the same ``snapshot.import_entry``, the rest in a
fresh interpreter whose code has run first, as the Pyodide suite's figures come after its scenarios —
and prints both side by side, with the ratio. Rows that would not compare like with like are not
printed (``import_app``: in Pyodide ``entry`` has already imported the app by then).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from json import dumps, loads
from pathlib import Path
from typing import Any

BODY = dumps({"model": "@cf/meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": "echo: hello"}]})
KEY = "sk-figures"


def import_app() -> float:
    """Seconds to import ``openai_workers_ai.app`` (the first time in this interpreter)."""
    start = time.perf_counter()
    import openai_workers_ai.app  # noqa: F401

    return time.perf_counter() - start


class _Unused:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a chat completion does not touch storage ({name})")


def build(times: int = 20) -> tuple[Any, float]:
    """The app over the in-process simulator, and the median seconds ``create_app`` took (of ``times``)."""
    from openai_workers_ai.app import create_app
    from openai_workers_ai.ports import Backends
    from openai_workers_ai.settings import Settings
    from openai_workers_ai.simulator import Simulator

    backends = Backends(ai=Simulator(keep_calls=0), db=_Unused(), bucket=_Unused())
    settings = Settings(access_token=(KEY,))
    took = []
    for _ in range(times):
        start = time.perf_counter()
        app = create_app(backends, settings)
        took.append(time.perf_counter() - start)
    return app, statistics.median(took)


async def chat(app: Any) -> int:
    """One chat completion through raw ASGI; its status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"",
        "headers": [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", b"application/json")],
    }
    messages = [{"type": "http.request", "body": BODY.encode(), "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def requests(app: Any, count: int) -> dict[str, float]:
    """Seconds for the first request and the median of ``count`` after it."""
    start = time.perf_counter()
    assert await chat(app) == 200
    first = time.perf_counter() - start
    times = []
    for _ in range(count):
        start = time.perf_counter()
        assert await chat(app) == 200
        times.append(time.perf_counter() - start)
    return {"first_request": first, "request": statistics.median(times)}


async def batch_validation(mib: int = 8) -> float:
    """Seconds a batch's validation takes per MiB of input (``runner.batches``: the lines split and
    checked as ``validate`` does; ~4 KiB chat requests in 64 KiB chunks, as a stream from R2 comes), the
    median of 3: what decides whether a 200 MB file fits a run's CPU time."""
    from openai_workers_ai.runner import batches

    text = "Summarise this paragraph, please. " * 118
    one = [dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": "@cf/meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": f"{i} {text}"}]}})
        for i in range(64)]
    data = ("\n".join(one) + "\n").encode()
    data = data * (mib * 2**20 // len(data))
    chunk = 64 * 1024

    async def stream() -> Any:
        for at in range(0, len(data), chunk):
            yield data[at:at + chunk]

    took = []
    for _ in range(3):
        checker = batches._Checker("/v1/chat/completions")
        start = time.perf_counter()
        async for number, (_, raw) in aenumerate(batches.lines_of(stream(), 16 * 2**20)):
            assert raw is not None
            checker.check(raw, number)
        took.append(time.perf_counter() - start)
    return statistics.median(took) / (len(data) / 2**20)


async def aenumerate(items: Any) -> Any:
    number = 0
    async for item in items:
        number += 1
        yield number, item


async def figures(count: int = 200) -> dict[str, float]:
    """The build and the requests under CPython as the Pyodide suite measures them: after the code
    has run (its scenarios come first there), a new app's build, first request and median."""
    app, _ = build()
    await requests(app, count)
    app, built = build()
    return {"create_app": built, **await requests(app, count), "batch_validation": await batch_validation()}


def import_entry() -> float:
    """Seconds ``snapshot.import_entry()`` takes in a fresh interpreter of the CPython stand-in world
    (``entry`` and the whole app imported, entropy blocked), as ``world.mjs`` times it in Pyodide."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root))
    from tests.worker_world import worker_world

    out = worker_world("""
        import time
        sys.path.insert(0, "tests/in_pyodide")
        start = time.perf_counter()
        from snapshot import import_entry
        import_entry()
        print(time.perf_counter() - start)
    """)
    return float(out.splitlines()[-1])


def _row(name: str, pyodide: float | None, cpython: float | None) -> str:
    def ms(value: float | None) -> str:
        return f"{value * 1000:10.2f}" if value is not None else f"{'-':>10}"

    ratio = f"{pyodide / cpython:7.1f}x" if pyodide and cpython else f"{'':>8}"
    return f"  {name:<44}{ms(pyodide)}{ms(cpython)} {ratio}"


def report(pyodide: dict[str, float], cpython: dict[str, float]) -> str:
    """The side-by-side table (milliseconds)."""
    lines = [f"  {'':<44}{'Pyodide':>10}{'CPython':>10}   ratio   (ms)"]
    names = {
        "import_entry": "import entry (top level, entropy blocked)",
        "create_app": "create_app (per-isolate build), median",
        "first_request": "a new app's first chat request (raw ASGI)",
        "request": "chat request, median (raw ASGI)",
        "shell_first_request": "first request through the shell (build incl.)",
        "shell_request": "chat request through the shell, median",
        "binding_call": "  of which inside env.AI.run (loopback HTTP)",
        "shell_chat_own": "chat through the shell, AI and D1 apart",
        "shell_response_own": "stored Response, the same (median)",
        "shell_response_d1": "  its D1 statements (node:sqlite)",
        "batch_validation": "a batch's input validated, per MiB",
    }
    for key, name in names.items():
        if key in pyodide or key in cpython:
            lines.append(_row(name, pyodide.get(key), cpython.get(key)))
    if pyodide.get("shell_chat_own") and pyodide.get("shell_response_own"):
        ratio = pyodide["shell_response_own"] / pyodide["shell_chat_own"]
        lines.append(f"  stored Response / chat, through the shell, AI and D1 apart: {ratio:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    measured = {"import_entry": import_entry(), **asyncio.run(figures())}
    if len(sys.argv) > 1:
        with open(sys.argv[1]) as file:
            print(report(loads(file.read()), measured))
    else:
        print(dumps(measured))
