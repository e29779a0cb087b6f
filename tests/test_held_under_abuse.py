"""The abuse issue's table, over real HTTP against a served local server process (``openai-workers-ai
serve``): a request's cost in memory measured as the server process's peak RSS through ``/proc``
(``VmHWM``, reset before each request), and SIGTERM with a request stalled in flight.

Each bound below is the one docs/limits.md states ("Held under abuse")."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import procfs
from .e2e.conftest import free_port
from .served import served

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-abuse"
HEADERS = {"authorization": f"Bearer {KEY}"}
MIB = 1 << 20
PEAK_BOUND = 64 * MIB
"""What one abusive request of these shapes may add to the server process's peak memory (its
VmHWM; docs/limits.md). Before the limits: tens of GB, 1.1 GB and 600 MB."""
IMAGES_PEAK_BOUND = 128 * MIB
"""The same for one chat request whose image URLs are each at the image limit (10 MiB): three
downloads at once (as many as the 32 MiB budget holds), each kept as its base64 ``data:`` URL, until
32 MiB together stop it. Measured +81-97 MiB (with six at once it was +124-169 MiB)."""


@contextmanager
def server(tmp_path: Path, setup: str = "", **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``serve`` (simulator, one process) on a free port, after ``setup`` (Python run before ``cli.main``);
    yields its URL and process, and stops it (SIGTERM) at the end."""
    port = free_port()
    code = textwrap.dedent("""
        import sys
        from openai_workers_ai import cli
        {setup}
        cli.main(sys.argv[1:])
    """).format(setup=setup)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    environment.update(ACCESS_TOKEN=KEY, PYTHONPATH=f"{ROOT / 'src'}", **env)
    log = tempfile.NamedTemporaryFile(dir=tmp_path, prefix="serve-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"),
         "--ai", "simulator"], cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{Path(log.name).read_text(errors='replace')}")
            try:
                if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _status(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` size, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


@contextmanager
def peak_growth(pid: int) -> Iterator[list[int]]:
    """How far the process's peak RSS rose above its RSS at the start of the block (bytes; the list
    holds it once the block ends). The peak is reset first (``clear_refs``), so start-up's does not count."""
    before = _status(pid, "VmRSS")
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pytest.skip("this system does not let the test reset a process's peak RSS")
    growth: list[int] = []
    yield growth
    growth.append(_status(pid, "VmHWM") - before)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with server(tmp_path_factory.mktemp("served")) as started:
        yield started


# ---- row 1: embeddings with 10⁶ inputs ------------------------------------------------------------


@pytest.mark.parametrize(("path", "model", "count"), [
    ("/api/embed", "bge-m3", 1_000_000), ("/v1/embeddings", "text-embedding-3-small", 1_000_000),
    ("/api/embed", "bge-m3", 20_000), ("/v1/embeddings", "text-embedding-3-small", 20_000),
])
def test_a_million_embedding_inputs_cost_a_few_mb(
    plain: tuple[str, subprocess.Popen[bytes]], path: str, model: str, count: int
) -> None:
    url, proc = plain
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as client:
        assert client.post(path, json={"model": model, "input": ["ab", "cd"]}).status_code == 200  # warm
        body = json.dumps({"model": model, "input": ["ab"] * count}).encode()
        started = time.monotonic()
        with peak_growth(proc.pid) as growth:
            r = client.post(path, content=body, headers={"content-type": "application/json"})
        took = time.monotonic() - started
        assert client.get("/health").status_code == 200
    error = r.json()["error"]
    message = error if path.startswith("/api") else error["message"]
    assert r.status_code == 400 and ("2048" if count < 100_000 else "too many JSON values") in message, message
    assert growth[0] < PEAK_BOUND, f"peak +{growth[0] / MIB:.0f} MiB"
    assert took < 5, f"{took:.1f} s"  # was: 15 s for 20,000 inputs, an OOM kill for 10⁶


# ---- row 3: image URLs of 10 MiB ---------------------------------------------------------------------


class Images:
    """An image server on loopback: every path is a PNG of ``size`` bytes; counts what it was asked."""

    def __init__(self, size: int) -> None:
        self.body = b"\x89PNG\r\n\x1a\n" + bytes(size - 8)
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.requests += 1
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"image/png"), (b"content-length", str(len(self.body)).encode())]})
        await send({"type": "http.response.body", "body": self.body})


# The server's fetcher may reach loopback (where the image server is) and plain http: the test-only
# switch the fetcher tests use (tests/test_fetchers.py).
LOOPBACK_FETCHER = ("import functools\n"
                    "cli.HttpFetcher = functools.partial(cli.HttpFetcher, allow_private=True)")


def chat(urls: list[str]) -> dict[str, Any]:
    parts = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return {"model": "@cf/meta/llama-4-scout-17b-16e-instruct",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "what?"}, *parts]}]}


async def test_image_urls_of_10_mib_cost_a_bounded_peak(tmp_path: Path) -> None:
    images, warm = Images(10 * MIB), Images(1024)
    async with served(images) as images_url, served(warm) as warm_url:
        with server(tmp_path, LOOPBACK_FETCHER, FETCH_ALLOW_HTTP="true") as (url, proc):
            async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60) as client:
                r = await client.post("/v1/chat/completions", json=chat([f"{warm_url}/warm.png"]))
                assert r.status_code == 200, r.text
                for count, code, bound in ((25, "too_many_images", PEAK_BOUND),
                                           (16, "image_too_large", IMAGES_PEAK_BOUND)):
                    before = images.requests
                    with peak_growth(proc.pid) as growth:
                        r = await client.post("/v1/chat/completions",
                                              json=chat([f"{images_url}/{i}.png" for i in range(count)]))
                    assert r.status_code == 400 and r.headers["content-type"] == "application/json", \
                        f"{count} URLs: {r.status_code} {r.headers.get('content-type')} {r.text[:300]!r}"
                    assert r.json()["error"]["code"] == code, f"{count} URLs: {r.text[:300]}"
                    assert growth[0] < bound, f"{count} URLs: peak +{growth[0] / MIB:.0f} MiB"  # was: +1.1 GB for 25
                    if code == "too_many_images":
                        assert images.requests == before  # refused before anything was downloaded
                    else:  # refused once 32 MiB were in (three 10 MiB images), not for their number
                        assert images.requests - before >= 3
                assert (await client.get("/health")).status_code == 200


# ---- row 6: chunked multipart floods -----------------------------------------------------------------


def post_chunked(url: str, path: str, content_type: str, chunks: Iterator[bytes]) -> tuple[int, dict[str, Any]]:
    """POST ``chunks`` with chunked transfer encoding (no Content-Length), until the server answers;
    the status and JSON body of its answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
                     f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for chunk in chunks:
                if select.select([sock], [], [], 0)[0]:
                    break  # it answered before the body ended
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 62


def parts(fields: Iterator[tuple[str, str | None, bytes]], boundary: bytes = b"b0undary") -> Iterator[bytes]:
    for name, filename, data in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        yield b"--" + boundary + f"\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        for start in range(0, len(data), MIB):
            yield data[start:start + MIB]
        yield b"\r\n"
    yield b"--" + boundary + b"--\r\n"


MULTIPART = "multipart/form-data; boundary=b0undary"


def test_chunked_multipart_floods_cost_a_bounded_peak(plain: tuple[str, subprocess.Popen[bytes]]) -> None:
    field, image = b"x" * MIB, b"\x89PNG\r\n\x1a\n" + bytes(10 * MIB - 8)
    floods = [  # was: +585 MB and a 200; +614 MB
        ("/v1/files", ((f"f{i}", None, field) for i in range(600)), "together"),
        ("/v1/images/edits", ((("prompt", None, b"a cat") if i == 0 else ("image[]", f"{i}.png", image))
                              for i in range(61)), "together"),
    ]
    url, proc = plain
    small = [("purpose", None, b"user_data"), ("file", "a.txt", b"hello")]
    assert post_chunked(url, "/v1/files", MULTIPART, parts(iter(small)))[0] == 200  # warm
    for path, fields, words in floods:
        with peak_growth(proc.pid) as growth:
            status, body = post_chunked(url, path, MULTIPART, parts(fields))
        assert status == 413 and words in body["error"]["message"], (status, body)
        assert growth[0] < PEAK_BOUND, f"{path}: peak +{growth[0] / MIB:.0f} MiB"
    assert httpx.get(url + "/health").status_code == 200


# ---- row 5: SIGTERM with work in flight ---------------------------------------------------------------


def test_sigterm_stops_a_server_whose_request_is_stalled(tmp_path: Path) -> None:
    grace = 1
    with server(tmp_path, f"cli.GRACEFUL_SHUTDOWN = {grace}") as (url, proc):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as stalled:
            # A request in flight that never ends: its body is promised and never sent.
            stalled.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
                            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode())
            deadline = time.monotonic() + 10  # the server has taken the connection (on a slow machine: later)
            while time.monotonic() < deadline and \
                    not any(procfs.holder([proc.pid], inode) for inode in procfs.accepted_on(int(port))):
                time.sleep(0.02)
            time.sleep(0.2)  # ... and read the headers it was sent with
            assert proc.poll() is None
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=grace + 10)
            except subprocess.TimeoutExpired:
                pytest.fail("the server still waits for its stalled request")
            took = time.monotonic() - started
    # uvicorn raises the signal again once it has shut down (-15), as a process killed by it would end.
    assert code in (0, -signal.SIGTERM) and grace <= took < grace + 5, (code, took)
