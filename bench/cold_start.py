"""Cold start under CPython: the Worker's entry import (what the deploy-time snapshot holds), the
per-isolate build (settings, bindings, ``create_app`` from ``env``), and one request's steady-state cost.

    uv run python bench/cold_start.py

The entry import and the build run in the Worker stand-in world (``tests/worker_world``: ``js``,
``pyodide`` and the bindings as stand-ins, the real SDK), in a fresh interpreter; the request is a
non-streaming chat completion through the app in-process over the simulator, as ``bench/core.py``
measures it. In real Pyodide the same figures are printed by ``tests/in_pyodide/run``
(docs/pyodide.md). Target: the per-isolate build costs at most 5 requests' CPU.
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
    env = Env(AI=FakeAI(), DB=FakeD1(), BUCKET=FakeR2(), ACCESS_TOKEN="sk-a",
              MODEL_ALIASES='{{"house": "@cf/meta/llama-3.1-8b-instruct"}}')
    builds = []
    for _ in range({builds}):
        entry._isolate.clear()
        start = time.process_time()
        entry._app(env)
        builds.append(time.process_time() - start)
    print(json.dumps({{"import": imported, "build_cpu": statistics.median(builds)}}))
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
    runs = [json.loads(worker_world(WORKER.format(builds=200)).splitlines()[-1]) for _ in range(3)]
    imported = statistics.median(r["import"]["wall"] for r in runs)
    imported_cpu = statistics.median(r["import"]["cpu"] for r in runs)
    build = statistics.median(r["build_cpu"] for r in runs)
    request = asyncio.run(request_cpu(3000))
    print("Worker cold start under CPython (stand-in world; median of 3 fresh interpreters):")
    print(f"  import entry (the deploy-time snapshot's work): {imported * 1000:8.1f} ms wall, "
          f"{imported_cpu * 1000:.1f} ms CPU")
    print(f"  per-isolate build (settings, bindings, create_app): {build * 1000:8.3f} ms CPU")
    print(f"  one non-streaming chat request, steady state:     {request * 1000:8.3f} ms CPU")
    print(f"  build / request: {build / request:.1f}x (target <= 5x)")


if __name__ == "__main__":
    main()
