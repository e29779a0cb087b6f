"""The :class:`~openai_workers_ai.ports.Fetcher` adapters (image URLs for chat vision), without a network:
``WorkersFetcher`` over a stand-in global ``fetch`` in the Worker stand-in world (``tests/worker_world``), and
``HttpFetcher`` over an httpx mock transport."""

from __future__ import annotations

import httpx
import pytest

from openai_workers_ai.adapters.local import HttpFetcher

from .worker_world import worker_world


async def test_http_fetcher() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a.png":
            return httpx.Response(200, content=b"\x89PNGdata", headers={"content-type": "image/png"})
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"location": "https://img.test/a.png"})
        if request.url.path == "/big":
            return httpx.Response(200, content=b"x" * 100)
        return httpx.Response(404)

    fetcher = HttpFetcher(httpx.AsyncClient(transport=httpx.MockTransport(serve), follow_redirects=True))
    got = await fetcher.get("https://img.test/moved", max_bytes=64)
    assert (got.body, got.content_type) == (b"\x89PNGdata", "image/png")
    with pytest.raises(OSError, match="larger than 64 bytes"):
        await fetcher.get("https://img.test/big", max_bytes=64)
    with pytest.raises(OSError, match="HTTP 404"):
        await fetcher.get("https://img.test/nothing", max_bytes=64)


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
