"""Benchmark of the spine: gateway overhead, stream translation, local server latency.

    uv run python bench/core.py [--quick]

Every figure is measured in this run, on this machine, against a baseline
measured in the same run (printed side by side as a ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, asgi_post, local_server  # noqa: E402

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1  # noqa: E402
from openai_workers_ai.app import create_app  # noqa: E402
from openai_workers_ai.catalog import Catalog  # noqa: E402
from openai_workers_ai.context import AppContext  # noqa: E402
from openai_workers_ai.ports import Backends  # noqa: E402
from openai_workers_ai.routes.chat_completions import _frames  # noqa: E402
from openai_workers_ai.settings import Settings  # noqa: E402
from openai_workers_ai.simulator import Simulator  # noqa: E402
from openai_workers_ai.translate.chat import chat_spec  # noqa: E402
from openai_workers_ai.translate.chat_completion import ChunkWriter  # noqa: E402
from openai_workers_ai.types.chat import CreateChatCompletionRequest  # noqa: E402
from openai_workers_ai.workers_ai import pipeline  # noqa: E402

CHAT = {
    "model": "@cf/meta/llama-3.1-8b-instruct",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "echo: The quick brown fox jumps over the lazy dog."},
    ],
    "temperature": 0.7,
    "max_tokens": 64,
}


async def bench_requests(n: int) -> dict[str, float]:
    sim = Simulator()
    app = create_app(Backends(sim, SQLiteD1(), FolderR2(tempfile.mkdtemp(prefix="bench-r2-"))), Settings(access_token=(KEY,)))
    body = json.dumps(CHAT).encode()
    call = asgi_post(app, "/v1/chat/completions", body)
    info = Catalog().resolve(CHAT["model"])
    inputs = {"messages": CHAT["messages"], "temperature": 0.7, "max_tokens": 64}
    for _ in range(200):  # warm up both paths
        assert (await call())[0] == 200
        await sim.run(info.id, inputs)
    sim.calls.clear()

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        await sim.run(info.id, inputs)
    sim_wall, sim_cpu = time.perf_counter() - t0, time.process_time() - c0
    sim.calls.clear()

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        await call()
    app_wall, app_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "app_rps": n / app_wall, "app_cpu_ms": app_cpu / n * 1000,
        "sim_rps": n / sim_wall, "sim_cpu_ms": sim_cpu / n * 1000,
        "overhead_cpu_ms": (app_cpu - sim_cpu) / n * 1000,
    }


def upstream_sse(tokens: int, chunk: int) -> list[bytes]:
    """A Workers AI stream of `tokens` events, cut into `chunk`-byte transport pieces."""
    events = b"".join(
        b"data: " + json.dumps({"response": f" t\u00e9k{i % 97}", "p": "abcdef"}).encode() + b"\n\n"
        for i in range(tokens)
    ) + b'data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}}\n\ndata: [DONE]\n\n' % (tokens, tokens + 5)
    return [events[i : i + chunk] for i in range(0, len(events), chunk)]


class ReplayAI:
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def run(self, model: str, inputs: dict[str, Any], options: Any = None) -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            for piece in self.pieces:
                yield piece

        return gen()


async def bench_stream(tokens: int, stops: list[str]) -> dict[str, float]:
    pieces = upstream_sse(tokens, 64)
    model = Catalog().resolve("@cf/meta/llama-3.1-8b-instruct")
    body = CreateChatCompletionRequest.model_validate(
        {"model": model.id, "messages": [{"role": "user", "content": "hi"}], "stop": stops or None}
    )
    spec = chat_spec(body, model)
    backends = Backends(ReplayAI(pieces), SQLiteD1(), FolderR2(tempfile.mkdtemp(prefix="bench-r2-")))
    ctx = AppContext(backends, Settings(), Catalog())

    best = float("inf")
    for _ in range(3):
        writer = ChunkWriter("chatcmpl-bench", 0, model.id, include_usage=True)
        c0 = time.process_time()
        frames = 0
        async for _frame in _frames(writer, pipeline.stream(ctx, spec), 1):
            frames += 1
        best = min(best, time.process_time() - c0)
    return {"chunks": frames, "chunks_per_s": frames / best, "us_per_chunk": best / frames * 1e6}


def bench_server(n: int) -> dict[str, float]:
    """Latency of one request at a time: over HTTP to the local server vs in-process ASGI."""
    body = json.dumps(CHAT).encode()
    with local_server("bench-core-") as (url, _pid):
        headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
        with httpx.Client(base_url=url, headers=headers) as client:
            for _ in range(100):
                client.post("/v1/chat/completions", content=body)
            http = []
            for _ in range(n):
                t0 = time.perf_counter()
                r = client.post("/v1/chat/completions", content=body)
                http.append(time.perf_counter() - t0)
                assert r.status_code == 200
            # Baseline: the same client against a bare HTTP server doing no work (/health).
            bare = []
            for _ in range(n):
                t0 = time.perf_counter()
                client.get("/health")
                bare.append(time.perf_counter() - t0)

    sim = Simulator()
    app = create_app(Backends(sim, SQLiteD1(), FolderR2(tempfile.mkdtemp(prefix="bench-r2-"))), Settings(access_token=(KEY,)))

    call = asgi_post(app, "/v1/chat/completions", body)

    async def inproc() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await call()
            out.append(time.perf_counter() - t0)
        return out

    local = asyncio.run(inproc())
    med = statistics.median
    return {"http_ms": med(http) * 1000, "inproc_ms": med(local) * 1000,
            "added_ms": (med(http) - med(local)) * 1000, "health_http_ms": med(bare) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 500 if args.quick else 3000
    r = asyncio.run(bench_requests(n))
    print(f"non-streaming chat, {n} requests through the whole app (parse, auth, validate, translate, simulator, serialize):")
    print(f"  app:        {r['app_rps']:8.0f} req/s  {r['app_cpu_ms']:.3f} ms CPU/request")
    print(f"  simulator:  {r['sim_rps']:8.0f} req/s  {r['sim_cpu_ms']:.3f} ms CPU/request (baseline: the model call alone)")
    print(f"  gateway overhead: {r['overhead_cpu_ms']:.3f} ms CPU/request "
          f"(ratio app/simulator {r['app_cpu_ms'] / r['sim_cpu_ms']:.1f}x; target <= 1 ms)")
    tokens = 5000 if args.quick else 20000
    plain = asyncio.run(bench_stream(tokens, []))
    stopped = asyncio.run(bench_stream(tokens, ["NEVER-MATCHES", "</stop>"]))
    print(f"stream translation, {tokens} upstream events in 64-byte transport chunks -> chat.completion.chunk SSE:")
    print(f"  no stop sequences: {plain['chunks_per_s']:9.0f} chunks/s ({plain['us_per_chunk']:.2f} us/chunk; target >= 100k/s)")
    print(f"  2 stop sequences:  {stopped['chunks_per_s']:9.0f} chunks/s ({stopped['us_per_chunk']:.2f} us/chunk; "
          f"ratio {plain['chunks_per_s'] / stopped['chunks_per_s']:.2f}x slower)")
    s = bench_server(300 if args.quick else 1000)
    print("local server, one request at a time (median):")
    print(f"  over HTTP: {s['http_ms']:.3f} ms   in-process ASGI: {s['inproc_ms']:.3f} ms   "
          f"added by the local server: {s['added_ms']:.3f} ms (target <= 1 ms)")
    print(f"  (GET /health over HTTP, the HTTP round trip floor: {s['health_http_ms']:.3f} ms)")


if __name__ == "__main__":
    main()
