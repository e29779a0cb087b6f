"""Async HTTP clients for the REST backend, side by side: what each costs the gateway per call.

    uv run python bench/http_clients.py [--clients aiohttp,httpx,...]

Each client, in a process of its own on uvloop (as the server runs), calls the no-delay Workers AI
stand-in (``bench/upstream.py``) as ``RestAI`` does: JSON out, the whole answer read (serially and
16 at a time), and streams read piece by piece (16 at a time). Prints the client process's CPU per
call and the calls per second. Clients that are not installed are skipped; the others listed in
``docs/gateway.md`` install with ``uv pip install NAME`` (not project dependencies).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from json import dumps, loads
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port  # noqa: E402
from gateway import running  # noqa: E402
from load import run  # noqa: E402

HEADERS = {"authorization": "Bearer t", "content-type": "application/json"}
CLIENTS = {"aiohttp": "aiohttp", "httpx": "httpx", "httpx+aiohttp transport": "httpx_aiohttp",
           "pyreqwest": "pyreqwest", "httpx2": "httpx2", "niquests": "niquests", "rnet": "rnet"}
Call = Callable[[bytes], Awaitable[int]]


def calls(name: str, url: str) -> tuple[Call, Call]:
    """(one call read whole, one call streamed): each answers the number of body pieces read."""
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def whole(body: bytes) -> int:
            async with session.post(url, data=body, headers=HEADERS) as r:
                return len(await r.read()) > 0

        async def streamed(body: bytes) -> int:
            async with session.post(url, data=body, headers=HEADERS) as r:
                return sum([1 async for _ in r.content.iter_any()])

        return whole, streamed
    if name in ("httpx", "httpx+aiohttp transport", "httpx2"):
        httpx: Any = importlib.import_module("httpx2" if name == "httpx2" else "httpx")
        options: dict[str, Any] = {}
        if name == "httpx+aiohttp transport":
            from httpx_aiohttp import AiohttpTransport

            options["transport"] = AiohttpTransport()
        client = httpx.AsyncClient(timeout=300, **options)

        async def whole_x(body: bytes) -> int:
            r = await client.post(url, content=body, headers=HEADERS)
            return len(r.content) > 0

        async def streamed_x(body: bytes) -> int:
            async with client.stream("POST", url, content=body, headers=HEADERS) as r:
                return sum([1 async for _ in r.aiter_raw()])

        return whole_x, streamed_x
    if name == "pyreqwest":
        from pyreqwest.client import ClientBuilder

        reqwest = ClientBuilder().build()

        async def whole_r(body: bytes) -> int:
            async with reqwest.post(url).headers(HEADERS).body_bytes(body).build_streamed() as r:
                return len(await r.bytes()) > 0

        async def streamed_r(body: bytes) -> int:
            pieces = 0
            async with reqwest.post(url).headers(HEADERS).body_bytes(body).build_streamed() as r:
                while await r.body_reader.read_chunk() is not None:
                    pieces += 1
            return pieces

        return whole_r, streamed_r
    if name == "niquests":
        import niquests

        nsession = niquests.AsyncSession(pool_maxsize=32)

        async def whole_n(body: bytes) -> int:
            return len((await nsession.post(url, data=body, headers=HEADERS)).content or b"") > 0

        async def streamed_n(body: bytes) -> int:
            r = await nsession.post(url, data=body, headers=HEADERS, stream=True)
            return sum([1 async for _ in await r.iter_raw()])

        return whole_n, streamed_n
    if name == "rnet":
        import rnet

        rclient = rnet.Client()

        async def whole_t(body: bytes) -> int:
            return len(await (await rclient.post(url, body=body, headers=HEADERS)).bytes()) > 0

        async def streamed_t(body: bytes) -> int:
            async with (await rclient.post(url, body=body, headers=HEADERS)).stream() as s:
                return sum([1 async for _ in s])

        return whole_t, streamed_t
    raise ValueError(name)


def chat(i: int, stream: bool = False) -> bytes:
    return dumps({"messages": [{"role": "user", "content": f"req-{i}"}], "max_tokens": 64, "stream": stream}).encode()


async def measure(name: str, url: str, n: int) -> dict[str, float]:
    whole, streamed = calls(name, url)
    for i in range(200):
        await whole(chat(i))
        await streamed(chat(i, True))

    async def at(concurrency: int, count: int, call: Call, stream: bool) -> tuple[float, float]:
        todo = iter(range(count))

        async def worker() -> None:
            for i in todo:
                await call(chat(i, stream))

        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (time.process_time() - c0) / count * 1e6, count / (time.perf_counter() - t0)

    serial = await at(1, n // 2, whole, False)
    concurrent = await at(16, n, whole, False)
    streams = await at(16, n // 5, streamed, True)
    return {"serial_us": serial[0], "concurrent_us": concurrent[0], "concurrent_rps": concurrent[1],
            "stream_us": streams[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one client, in this process
        print(dumps(run(measure(args.child[0], args.child[1], args.calls))))
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}/client/v4/accounts/a/ai/run/@cf/meta/llama-3.1-8b-instruct"
    print(f"{'client':26s} {'CPU us/call c=1':>16s} {'c=16':>8s} {'calls/s c=16':>13s} {'CPU us/stream c=16':>19s}")
    stand_in = [sys.executable, str(Path(__file__).parent / "upstream.py"), "--port", str(port)]
    with tempfile.TemporaryDirectory(prefix="bench-clients-") as logs, \
            running(stand_in, {}, f"http://127.0.0.1:{port}/", Path(logs)):
        for name in args.clients.split(","):
            if importlib.util.find_spec(CLIENTS[name]) is None:
                print(f"{name:26s} skipped (not installed)")
                continue
            out = subprocess.run([sys.executable, __file__, "--calls", str(args.calls), "--child", name, url],
                                 capture_output=True, text=True)
            if out.returncode:
                print(f"{name:26s} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = loads(out.stdout)
            print(f"{name:26s} {r['serial_us']:16.0f} {r['concurrent_us']:8.0f} {r['concurrent_rps']:13.0f} "
                  f"{r['stream_us']:19.0f}", flush=True)


if __name__ == "__main__":
    main()
