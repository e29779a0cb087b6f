"""The :class:`~openai_workers_ai.ports.Fetcher` adapters (image URLs for chat vision), without a network:
``WorkersFetcher`` over a stand-in global ``fetch`` in the Worker stand-in world (``tests/worker_world``), and
``HttpFetcher`` against a small app served on loopback."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from openai_workers_ai.adapters.local import HttpFetcher, _PublicResolver
from openai_workers_ai.outbound import Refused, check, public

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

    fetcher = HttpFetcher(allow_http=True, allow_private=True)  # the test server is on loopback, plain http
    try:
        async with served(serve) as url:
            got = await fetcher.get(f"{url}/moved", max_bytes=64)
            assert (got.body, got.content_type) == (b"\x89PNGdata", "image/png")
            with pytest.raises(OSError, match="larger than 64 bytes"):
                await fetcher.get(f"{url}/big", max_bytes=64)
            with pytest.raises(OSError, match="HTTP 404"):
                await fetcher.get(f"{url}/nothing", max_bytes=64)
            with pytest.raises(Refused, match="redirects"):
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

        async def fetch(url, init=None):
            assert init.redirect == "manual"  # redirects are followed by hand, each hop checked
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


INWARD = ["http://example.com/a.png", "https://127.0.0.1/a.png", "https://localhost/a.png", "https://LOCALHOST./a",
          "https://a.localhost/x", "https://[::1]/a.png", "https://0.0.0.0/a.png", "https://10.1.2.3/a",
          "https://169.254.169.254/latest/meta-data/", "https://100.64.0.1/a", "https://[::ffff:127.0.0.1]/a",
          "https://[fe80::1]/a", "https://224.0.0.1/a", "https://[2002:7f00:1::]/a", "ftp://example.com/a"]


@pytest.mark.parametrize("url", INWARD)
async def test_urls_aimed_inward_are_refused_before_any_connection(url: str) -> None:
    fetcher = HttpFetcher()
    try:
        with pytest.raises(Refused):
            await fetcher.get(url, max_bytes=64)
    finally:
        await fetcher.aclose()


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "127.1", "0177.0.0.1"])
async def test_host_names_resolving_inward_are_refused_at_resolution(host: str) -> None:
    """Odd spellings are host names to the URL parser; the resolver turns them into addresses, then checks."""
    resolver = _PublicResolver()
    try:
        with pytest.raises(Refused):
            await resolver.resolve(host, 443)
    finally:
        await resolver.close()


def test_the_address_rules() -> None:
    import ipaddress

    assert public(ipaddress.ip_address("93.184.216.34")) and public(ipaddress.ip_address("2606:4700::1111"))
    assert not any(public(ipaddress.ip_address(a)) for a in (
        "127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.1.1", "100.64.1.1", "0.0.0.0", "::",
        "::1", "fc00::1", "fe80::1", "::ffff:10.0.0.1", "2002:c0a8:101::1", "224.0.0.251", "ff02::1", "240.0.0.1"))
    assert check("https://example.com/x") == "example.com"
    assert check("http://example.com/x", allow_http=True) == "example.com"


def test_workers_fetcher_checks_every_redirect_hop() -> None:
    out = worker_world(
        """
        import asyncio
        from openai_workers_ai.adapters.workers import WorkersFetcher
        from openai_workers_ai.outbound import Refused

        class FetchResponse(JsProxy):
            js_name = "Response"
            def __init__(self, status, headers):
                self.status, self.ok = status, 200 <= status < 300
                self.headers = Headers.new(headers)
                self.body = ReadableStream([b"\\x89PNG"])

        HOPS = {"https://img.test/a": (302, [("location", "https://img.test/b")]),
                "https://img.test/b": (302, [("location", "http://169.254.169.254/latest")]),
                "https://img.test/ok": (301, [("location", "/final.png")]),
                "https://img.test/final.png": (200, [("content-type", "image/png")])}
        requested = []

        async def fetch(url, init=None):
            requested.append(url)
            return FetchResponse(*HOPS[url])
        js.fetch = fetch

        async def main():
            fetcher = WorkersFetcher()
            got = await fetcher.get("https://img.test/ok", max_bytes=100)
            assert got.content_type == "image/png"
            try:
                await fetcher.get("https://img.test/a", max_bytes=100)
            except Refused:
                print("refused", requested)
            for url in ("https://127.0.0.1/x", "http://img.test/x", "https://[::1]/x"):
                try:
                    await fetcher.get(url, max_bytes=100)
                except Refused:
                    continue
                raise AssertionError(url)

        asyncio.run(main())
        """
    )
    # the inward hop was refused before it was fetched; literal inward URLs never reached fetch
    assert out.strip() == ("refused ['https://img.test/ok', 'https://img.test/final.png', "
                           "'https://img.test/a', 'https://img.test/b']")
