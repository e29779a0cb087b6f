"""Benchmark of a batch's validation (``runner/batches.py``): the run that reads the whole input file.

    uv run python bench/batches.py [--mb 50] [--long-mb 64]

Through the app in process (SQLite, a folder for R2, the simulator): a JSONL file of chat requests of
~4 KiB each (``--mb`` MiB) is uploaded and a batch made of it, then the batch's first run (validation)
is timed alone: CPU seconds, MiB of input per CPU-second, and the peak of Python's allocations while it
runs (``tracemalloc``, in a second run of its own: tracing slows it). Then the same for a file whose
second line is ``--long-mb`` MiB long (one line is read into memory whole only up to the request body
limit). The figures say what a 200 MB file (OpenAI's limit) costs a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, MB  # noqa: E402

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1  # noqa: E402
from openai_workers_ai.app import create_app  # noqa: E402
from openai_workers_ai.jobs import InProcessJobs  # noqa: E402
from openai_workers_ai.ports import Backends  # noqa: E402
from openai_workers_ai.repositories import batches  # noqa: E402
from openai_workers_ai.runner import batches as runner  # noqa: E402
from openai_workers_ai.settings import Settings  # noqa: E402
from openai_workers_ai.simulator import Simulator  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = "@cf/meta/llama-3.1-8b-instruct"


def line(i: int, text: str) -> bytes:
    return json.dumps({"custom_id": f"request-{i}", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": MODEL, "max_tokens": 64, "messages": [
                           {"role": "system", "content": "You are a careful assistant."},
                           {"role": "user", "content": text}]}}).encode() + b"\n"


def requests_file(mb: int) -> bytes:
    text = "Summarise this paragraph, please. " * 118  # ~4 KiB a line
    out, size, i = [], 0, 0
    while size < mb * MB:
        out.append(line(i, f"{i}: {text}"))
        size += len(out[-1])
        i += 1
    return b"".join(out)


def long_line_file(mb: int) -> bytes:
    return line(0, "short") + line(1, "x" * (mb * MB)) + line(2, "short")


async def validation(data: bytes, traced: bool) -> tuple[float, int, str]:
    """CPU seconds of the batch's validating run over ``data``, the peak of traced allocations (bytes,
    0 untraced), and the batch's status after it."""
    db = SQLiteD1()
    db.apply_migrations(ROOT / "migrations")
    backends = Backends(Simulator(keep_calls=0), db, FolderR2(tempfile.mkdtemp(prefix="bench-batches-")),
                        jobs=InProcessJobs())
    app = create_app(backends, Settings(access_token=(KEY,)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600,
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        r = await client.post("/v1/files", files={"file": ("requests.jsonl", data)}, data={"purpose": "batch"})
        r.raise_for_status()
        r = await client.post("/v1/batches", json={"input_file_id": r.json()["id"], "endpoint": "/v1/chat/completions",
                                                   "completion_window": "24h"})
        r.raise_for_status()
        batch_id = r.json()["id"]
    ctx: Any = app.state.ctx
    if traced:
        tracemalloc.start()
    c0 = time.process_time()
    await runner.run(ctx, batch_id)
    cpu = time.process_time() - c0
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    row = await batches.get(db, batch_id, None)
    assert row is not None
    return cpu, peak, row.status


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=50, help="MiB of ~4 KiB requests")
    parser.add_argument("--long-mb", type=int, default=64, help="MiB of the long line")
    args = parser.parse_args()
    for name, data in ((f"{args.mb} MiB of ~4 KiB requests", requests_file(args.mb)),
                       (f"a {args.long_mb} MiB line among short ones", long_line_file(args.long_mb))):
        cpu, _, status = await validation(data, traced=False)
        _, peak, _ = await validation(data, traced=True)
        mib = len(data) / MB
        print(f"{name}: validated in {cpu:.2f} s CPU ({mib / cpu:.0f} MiB per CPU-second; 200 MB: "
              f"{200e6 / MB / (mib / cpu):.1f} s), peak allocations {peak / MB:.1f} MiB, batch {status}")


if __name__ == "__main__":
    asyncio.run(main())
