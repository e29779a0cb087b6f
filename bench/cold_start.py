"""Cold start under CPython: the Worker's entry import (what the deploy-time snapshot holds), the
per-isolate build (settings, bindings, ``create_app`` from ``env``), and one request's steady-state cost.

    uv run python bench/cold_start.py

The entry import and the build run in the Worker stand-in world (``tests/worker_world``: ``js``,
``pyodide`` and the bindings as stand-ins, the real SDK), in a fresh interpreter; the request is a
non-streaming chat completion through the app in-process over the simulator, as ``bench/core.py``
measures it. An isolate's first build and the first request after it (through the app built from
``env``, ``env.AI`` a stand-in answering at once) are printed apart from the warm medians: they are
what a new isolate pays. In real Pyodide the same figures are printed by ``tests/in_pyodide/run``
(docs/pyodide.md). Target: an isolate's first build costs at most 5 requests' CPU.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, asgi_post  # noqa: E402

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1  # noqa: E402
from openai_workers_ai.app import create_app  # noqa: E402
from openai_workers_ai.ports import Backends  # noqa: E402
from openai_workers_ai.settings import Settings  # noqa: E402
from openai_workers_ai.simulator import Simulator  # noqa: E402
from tests.worker_world import worker_world  # noqa: E402

WORKER = """
    import json, statistics, time
    wall, cpu = time.perf_counter(), time.process_time()
    import entry
    imported = {{"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}}
    reply = JsObject([("response", "The quick brown fox jumps over the lazy dog."),
                      ("usage", JsObject([("prompt_tokens", 20), ("completion_tokens", 10), ("total_tokens", 30)]))])
    env = Env(AI=FakeAI(result=reply), DB=FakeD1(), BUCKET=FakeR2(), ACCESS_TOKEN="sk-a",
              MODEL_ALIASES='{{"house": "@cf/meta/llama-3.1-8b-instruct"}}')
    body = {chat!r}.encode()

    async def chat(app):
        scope = {{"type": "http", "asgi": {{"version": "3.0"}}, "http_version": "1.1", "method": "POST",
                  "scheme": "https", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
                  "query_string": b"", "root_path": "", "server": ("worker", 443), "client": ("203.0.113.1", 1),
                  "headers": [(b"authorization", b"Bearer sk-a"), (b"content-type", b"application/json")]}}
        messages, status = [{{"type": "http.request", "body": body, "more_body": False}}], []

        async def receive():
            return messages.pop() if messages else {{"type": "http.disconnect"}}

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)
        assert status == [200], status

    async def isolate():
        # An isolate as the snapshot starts it: its first event builds the app, then serves the request.
        start = time.process_time()
        app = entry._app(env)
        first_build = time.process_time() - start
        start = time.process_time()
        await chat(app)
        first_request = time.process_time() - start
        requests = []
        for _ in range({requests}):
            start = time.process_time()
            await chat(app)
            requests.append(time.process_time() - start)
        return first_build, first_request, statistics.median(requests)

    first_build, first_request, request = run(isolate())
    builds = []
    for _ in range({builds}):
        entry._isolate.clear()
        start = time.process_time()
        entry._app(env)
        builds.append(time.process_time() - start)
    print(json.dumps({{"import": imported, "first_build": first_build, "first_request": first_request,
                      "request": request, "build_cpu": statistics.median(builds)}}))
"""

CHAT = json.dumps({"model": "@cf/meta/llama-3.1-8b-instruct", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "echo: The quick brown fox jumps over the lazy dog."}]})


async def request_cpu(n: int) -> float:
    app = create_app(Backends(Simulator(keep_calls=0), SQLiteD1(), FolderR2(tempfile.mkdtemp(prefix="bench-r2-"))),
                     Settings(access_token=(KEY,)))
    call = asgi_post(app, "/v1/chat/completions", CHAT.encode())
    for _ in range(200):
        assert (await call())[0] == 200
    start = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - start) / n


def main() -> None:
    runs = [json.loads(worker_world(WORKER.format(builds=200, requests=300, chat=CHAT)).splitlines()[-1])
            for _ in range(3)]

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    imported = statistics.median(r["import"]["wall"] for r in runs)
    imported_cpu = statistics.median(r["import"]["cpu"] for r in runs)
    first_build, first_request, build = median("first_build"), median("first_request"), median("build_cpu")
    request = asyncio.run(request_cpu(3000))
    print("Worker cold start under CPython (stand-in world; median of 3 fresh interpreters), ms:")
    print(f"  import entry (the deploy-time snapshot's work):     {imported * 1000:8.1f} wall, "
          f"{imported_cpu * 1000:.1f} CPU")
    print(f"  an isolate's first build (settings, bindings, create_app): {first_build * 1000:8.3f} CPU")
    print(f"  the first request after it (a chat, raw ASGI, env.AI):   {first_request * 1000:8.3f} CPU")
    print(f"  that isolate's next requests, median:                    {median('request') * 1000:8.3f} CPU")
    print(f"  per-isolate build again, median of 200:                  {build * 1000:8.3f} CPU")
    print(f"  one non-streaming chat request, steady state (core):     {request * 1000:8.3f} CPU")
    verdict = "within" if first_build <= 5 * request else "OVER"
    print(f"  first build / request: {first_build / request:.1f}x ({verdict} the target of 5x); "
          f"median build / request: {build / request:.1f}x")


if __name__ == "__main__":
    main()
