"""The :class:`~openai_workers_ai.ports.Fetcher` adapters (image URLs for chat vision), without a network:
``WorkersFetcher`` over a stand-in global ``fetch`` in the Worker stand-in world (``tests/worker_world``), and
``HttpFetcher`` against a small app served on loopback."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from openai_workers_ai.adapters.local import HttpFetcher

from .served import refused_url, served
from .worker_world import worker_world


async def test_http_fetcher() -> None:
    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, host = scope["path"], dict(scope["headers"])[b"host"].decode()
        status, headers, body = {
            "/a.png": (200, [(b"content-type", b"image/png")], b"\x89PNGdata"),
            "/moved": (302, [(b"location", f"http://{host}/a.png".encode())], b""),
            "/loop": (302, [(b"location", b"/loop")], b""),
            "/big": (200, [], b"x" * 100),
        }.get(path, (404, [], b""))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    fetcher = HttpFetcher()
    try:
        async with served(serve) as url:
            got = await fetcher.get(f"{url}/moved", max_bytes=64)
            assert (got.body, got.content_type) == (b"\x89PNGdata", "image/png")
            with pytest.raises(OSError, match="larger than 64 bytes"):
                await fetcher.get(f"{url}/big", max_bytes=64)
            with pytest.raises(OSError, match="HTTP 404"):
                await fetcher.get(f"{url}/nothing", max_bytes=64)
            with pytest.raises(aiohttp.TooManyRedirects):
                await fetcher.get(f"{url}/loop", max_bytes=64)
        with pytest.raises(aiohttp.ClientConnectionError):
            await fetcher.get(f"{refused_url()}/a.png", max_bytes=64)
    finally:
        await fetcher.aclose()


def test_workers_fetcher_reads_the_body_and_enforces_the_limit() -> None:
    out = worker_world(
        """
        import asyncio
        from openai_workers_ai.adapters.workers import WorkersFetcher

        class FetchResponse(JsProxy):
            js_name = "Response"
            def __init__(self, status, headers, chunks):
                self.status, self.ok = status, 200 <= status < 300
                self.headers = Headers.new(headers)
                self.body = ReadableStream(chunks) if chunks is not None else jsnull

        PAGES = {
            "https://img.test/a.png": (200, [("content-type", "image/png")], [b"\\x89PNG", b"more"]),
            "https://img.test/big": (200, [("content-length", "999")], [b"x"]),
            "https://img.test/chunked-big": (200, [], [b"12345", b"67890"]),
            "https://img.test/missing": (404, [], [b"not found"]),
            "https://img.test/empty": (200, [], None),
        }
        requested = []

        async def fetch(url):
            requested.append(url)
            if url not in PAGES:
                raise JsException("TypeError", "Network connection lost.")
            return FetchResponse(*PAGES[url])
        js.fetch = fetch

        async def main():
            fetcher = WorkersFetcher()
            got = await fetcher.get("https://img.test/a.png", max_bytes=100)
            assert (got.body, got.content_type) == (b"\\x89PNGmore", "image/png"), got
            assert (await fetcher.get("https://img.test/empty", max_bytes=10)).body == b""
            for url, expected in [("https://img.test/big", "larger than 8 bytes"),
                                  ("https://img.test/chunked-big", "larger than 8 bytes"),
                                  ("https://img.test/missing", "HTTP 404"),
                                  ("https://img.test/offline", "Network connection lost")]:
                try:
                    await fetcher.get(url, max_bytes=8)
                except OSError as exc:
                    assert expected in str(exc), (url, exc)
                else:
                    raise AssertionError(url)
            print("ok", len(requested))

        asyncio.run(main())
        """
    )
    assert out.strip() == "ok 6"
