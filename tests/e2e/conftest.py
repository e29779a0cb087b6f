"""End-to-end fixtures: the real local server (``openai-workers-ai serve``) on a free port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2

from ..vocab import seed

ROOT = Path(__file__).resolve().parents[2]
E2E_KEY = "sk-e2e-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LOGS: dict[int, Path] = {}


def output(proc: subprocess.Popen[bytes]) -> str:
    """What a server started by :func:`start` has printed so far."""
    return LOGS[proc.pid].read_text(errors="replace")


def start(args: list[str], env: dict[str, str], url: str, cwd: Path,
          entry: tuple[str, ...] = ("-m", "openai_workers_ai.cli")) -> subprocess.Popen[bytes]:
    """The CLI (``entry``: how Python runs it) with ``args``, once ``url`` answers."""
    # Output goes to a file, not a pipe nobody drains (a full pipe would freeze the server).
    with tempfile.NamedTemporaryFile(dir=cwd, prefix=f"{args[0]}-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            [sys.executable, *entry, *args],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    LOGS[proc.pid] = Path(log.name)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early ({proc.returncode}):\n{output(proc)}")
        try:
            httpx.get(url, timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start within 30 s")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a local server (simulator backend), keys ``E2E_KEY``."""
    port = free_port()
    data = tmp_path_factory.mktemp("server-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    # OpenAI's token vocabularies already in its R2, as `openai-workers-ai vocabulary` puts them; nothing
    # is ever downloaded (the download URL is a closed loopback port).
    asyncio.run(seed(FolderR2(data / "r2")))
    env.update(ACCESS_TOKEN=E2E_KEY, ADMIN_TOKENS="sk-e2e-admin", TIKTOKEN_URL="http://127.0.0.1:9/")
    url = f"http://127.0.0.1:{port}"
    proc = start(["serve", "--port", str(port), "--data-dir", str(data), "--ai", "simulator"],
                 env, url + "/health", cwd=data)
    yield url
    stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a server started with :func:`start` (SIGTERM, then SIGKILL after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
