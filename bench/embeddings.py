"""Benchmark: ``POST /v1/embeddings`` with 100 inputs through the app vs the simulator alone.

    uv run python bench/embeddings.py [--quick]

The baseline is the simulator answering the same Workers AI calls directly (same
batches); the app adds request parsing, batch splitting, (Matryoshka) truncation,
base64/float encoding and JSON. Both are measured in this run, on this machine;
the ratio is app / simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, asgi_post  # noqa: E402

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1  # noqa: E402
from openai_workers_ai.app import create_app  # noqa: E402
from openai_workers_ai.catalog import Catalog  # noqa: E402
from openai_workers_ai.ports import Backends  # noqa: E402
from openai_workers_ai.settings import Settings  # noqa: E402
from openai_workers_ai.simulator import Simulator  # noqa: E402
from openai_workers_ai.workers_ai.embeddings import DEFAULT_MAX_BATCH, batches  # noqa: E402

TEXTS = [f"Document {i}: the quick brown fox jumps over the lazy dog, again and again." for i in range(100)]
CASES = [
    ("bge-base-en-v1.5, float", {"model": "@cf/baai/bge-base-en-v1.5", "encoding_format": "float"}),
    ("bge-base-en-v1.5, base64", {"model": "@cf/baai/bge-base-en-v1.5", "encoding_format": "base64"}),
    ("qwen3-embedding (4 calls), base64", {"model": "@cf/qwen/qwen3-embedding-0.6b", "encoding_format": "base64"}),
    ("embeddinggemma dimensions=256", {"model": "@cf/google/embeddinggemma-300m", "dimensions": 256}),
]


async def timed(fn: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await fn()  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def main(rounds: int) -> None:
    simulator = Simulator()
    catalog = Catalog()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Backends(ai=simulator, db=SQLiteD1(), bucket=FolderR2(tmp)),
                         Settings(access_token=(KEY,)))
        print(f"POST /v1/embeddings, {len(TEXTS)} inputs, median of {rounds} rounds (in-process ASGI)")
        print(f"{'case':38} {'simulator':>10} {'app':>10} {'ratio':>7} {'body':>10}")
        for label, fields in CASES:
            info = catalog.resolve(fields["model"], task="text-embeddings")
            groups = batches(TEXTS, info.max_batch or DEFAULT_MAX_BATCH)

            async def baseline(model: str = info.id, groups: list[list[str]] = groups) -> None:
                await asyncio.gather(*(simulator.run(model, {"text": g}) for g in groups))

            call = asgi_post(app, "/v1/embeddings", json.dumps({**fields, "input": TEXTS}).encode())
            status, size = await call()
            assert status == 200, status
            base, full = await timed(baseline, rounds), await timed(call, rounds)
            simulator.calls.clear()
            print(f"{label:38} {base * 1e3:8.2f}ms {full * 1e3:8.2f}ms {full / base:6.2f}x {size / 1024:8.0f}KB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    asyncio.run(main(5 if args.quick else 30))
