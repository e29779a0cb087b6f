"""Holding under load and abuse: the local server as a gateway (``serve --ai rest``) against a stand-in upstream.

    uv run python bench/abuse.py

1. 200 concurrent streamed chats through the REST backend: every stream complete and correct, no error;
   the server's peak memory printed.
2. One key sends 300 upstream calls that never answer; meanwhile another key's chats complete in their
   normal time (median latency printed beside the same key's before the stall). The stalled calls end
   as 504s after ``UPSTREAM_TIMEOUT`` (set short here), or at once as 429s past the per-key in-flight
   limit (256).

Loopback only, bounded; every process is stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, memory  # noqa: E402

from tests.e2e.conftest import free_port, start, stop  # noqa: E402

KEYS = ("sk-abuse-a", "sk-abuse-b")
CHAT = {"model": "@cf/meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": "hello"}]}


async def streams(url: str, count: int) -> tuple[int, int]:
    """``count`` concurrent streamed chats; (complete and correct, failed)."""
    headers = {"authorization": f"Bearer {KEYS[0]}"}
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:

        async def one(i: int) -> bool:
            body = {**CHAT, "messages": [{"role": "user", "content": f"stream {i}"}], "stream": True}
            async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                text = "".join([chunk async for chunk in r.aiter_text()])
            content = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                              for line in text.splitlines()
                              if line.startswith("data: {") and json.loads(line[6:])["choices"])
            return r.status_code == 200 and text.endswith("data: [DONE]\n\n") and content.startswith(f"stream {i}")

        results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    good = sum(1 for r in results if r is True)
    return good, count - good


async def latencies(client: httpx.AsyncClient, n: int) -> list[float]:
    out = []
    for i in range(n):
        start_ = time.perf_counter()
        r = await client.post("/v1/chat/completions", json={**CHAT, "messages": [{"role": "user", "content": f"q{i}"}]})
        assert r.status_code == 200, r.text
        out.append(time.perf_counter() - start_)
    return out


async def stalls(url: str, stalled: int) -> dict[str, Any]:
    other = httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {KEYS[1]}"}, timeout=30)
    holder = httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {KEYS[0]}"}, timeout=60,
                               limits=httpx.Limits(max_connections=stalled + 10, max_keepalive_connections=stalled))
    async with other, holder:
        before = await latencies(other, 50)
        held = [asyncio.ensure_future(holder.post("/v1/chat/completions", json={**CHAT, "model": "@cf/x/stall"}))
                for _ in range(stalled)]
        await asyncio.sleep(1.0)  # every stalled call is in flight upstream
        during = await latencies(other, 50)
        answers = await asyncio.gather(*held, return_exceptions=True)
    statuses = [str(a.status_code) if isinstance(a, httpx.Response) else type(a).__name__ for a in answers]
    counts = ", ".join(f"{statuses.count(s)} × {s}" for s in sorted(set(statuses)))
    return {"before_ms": statistics.median(before) * 1000, "during_ms": statistics.median(during) * 1000,
            "statuses": counts}


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    upstream_port, port = free_port(), free_port()
    upstream = subprocess.Popen([sys.executable, str(ROOT / "bench" / "upstream.py"), "--port", str(upstream_port)])
    data = Path(os.environ.get("TMPDIR", "/tmp")) / f"abuse-{os.getpid()}"
    data.mkdir(exist_ok=True)
    env.update(ACCESS_TOKEN=",".join(KEYS), CLOUDFLARE_ACCOUNT_ID="bench", CLOUDFLARE_API_TOKEN="t",
               CLOUDFLARE_API_BASE_URL=f"http://127.0.0.1:{upstream_port}", UPSTREAM_TIMEOUT="5")
    url = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port), "--data-dir", str(data), "--ai", "rest"], env, url + "/health",
                   cwd=data)
    try:
        rss = memory(server.pid)["VmRSS"]
        good, failed = asyncio.run(streams(url, 200))
        peak = memory(server.pid)["VmHWM"]
        print(f"200 concurrent streams through the REST backend: {good} complete, {failed} errors; "
              f"server RSS {rss / 2**20:.0f} MB before, peak {peak / 2**20:.0f} MB")
        result = asyncio.run(stalls(url, 300))
        print(f"300 stalled upstream calls from one key (MAX_IN_FLIGHT_PER_KEY 256): the other key's chat median {result['before_ms']:.1f} ms "
              f"before, {result['during_ms']:.1f} ms during (ratio {result['during_ms'] / result['before_ms']:.2f}); "
              f"the stalled calls ended as {result['statuses']}")
    finally:
        stop(server)
        upstream.terminate()
        upstream.wait(10)


if __name__ == "__main__":
    main()
