"""What the benchmarks share: a request straight through the ASGI app, a local server in a
temporary folder, and a server's memory and CPU figures (Linux ``/proc``)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.e2e.conftest import free_port, start, stop  # noqa: E402

KEY = "sk-bench"
MB = 1024 * 1024


def asgi_post(app: Any, path: str, body: bytes) -> Callable[[], Awaitable[tuple[int, int]]]:
    """A coroutine factory: one authenticated JSON ``POST path`` through the ASGI app (no HTTP
    client in the way); each call answers ``(status, response body size)``."""
    base = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "server": ("bench", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }

    async def call() -> tuple[int, int]:
        scope = dict(base)  # Starlette's routing rewrites the scope in place
        sent, status, size = False, [0], [0]

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                size[0] += len(message.get("body", b""))

        await app(scope, receive, send)
        return status[0], size[0]

    return call


@contextmanager
def local_server(prefix: str, ai: str = "simulator") -> Iterator[tuple[str, int]]:
    """``openai-workers-ai serve``, data and log in a fresh temporary folder, key :data:`KEY`;
    yields ``(base URL, pid)``. ``ai="simulator"``: the in-process simulator; ``ai="rest"``: the
    Workers AI REST backend against the simulator served over HTTP (``openai-workers-ai simulator``)."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.update(ACCESS_TOKEN=KEY)
    upstream = None
    if ai == "rest":
        sim_url = f"http://127.0.0.1:{free_port()}"
        upstream = start(["simulator", "--port", sim_url.rsplit(":", 1)[1], "--token", "bench-token"],
                         env, sim_url + "/", cwd=data_dir)
        env.update(CLOUDFLARE_ACCOUNT_ID="bench", CLOUDFLARE_API_TOKEN="bench-token", CLOUDFLARE_API_BASE_URL=sim_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        proc = start(["serve", "--port", str(port), "--data-dir", str(data_dir), "--ai", ai],
                     env, url + "/health", cwd=data_dir)
        try:
            yield url, proc.pid
        finally:
            stop(proc)
    finally:
        if upstream is not None:
            stop(upstream)


def memory(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) * 1024
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live descendant (from each process's parent in ``/proc/*/stat``)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended while we looked
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by every thread of ``pid`` and of its live descendants: the
    scheduler's nanosecond count (``/proc/<pid>/task/<tid>/schedstat``), not the 10 ms ticks of
    ``/proc/<pid>/stat``, so that short loads measure well."""
    total = 0
    for member in process_tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*/schedstat"):
            try:
                total += int(task.read_text().split()[0])
            except (OSError, IndexError, ValueError):  # the thread ended while we looked
                continue
    return total / 1e9


def reset_peak(pid: int) -> int:
    """Reset the peak RSS to the current RSS; return the current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory(pid)["VmRSS"]


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[memoryview]:
    """``data`` in ``size``-byte views (an upload body sent as it would stream)."""
    view = memoryview(data)
    for offset in range(0, len(data), size):
        yield view[offset : offset + size]
