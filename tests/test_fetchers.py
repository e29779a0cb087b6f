"""The :class:`~openai_workers_ai.ports.Fetcher` adapters (image URLs for chat vision), without a network:
``WorkersFetcher`` over a stand-in global ``fetch`` in the Worker stand-in world (``tests/worker_world``), and
``HttpFetcher`` against a small app served on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, quote

import aiohttp
import aiohttp.abc
import httpx
import pytest

from openai_workers_ai.adapters.local import HttpFetcher, _PublicResolver
from openai_workers_ai.app import create_app
from openai_workers_ai.outbound import Refused, check, literal, public
from openai_workers_ai.ports import Backends, Fetched
from openai_workers_ai.settings import Settings

from .conftest import KEY
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



async def test_http_fetcher_posts() -> None:
    """POST (webhook events): the body and headers arrive as given; anything but a 2xx, a redirect included
    (not followed), and a refused connection are raised; inward URLs are refused as for GET."""
    received: list[tuple[str, bytes, dict[bytes, bytes]]] = []

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received.append((scope["method"], body, dict(scope["headers"])))
        status, headers = {"/ok": (200, []), "/moved": (302, [(b"location", b"/ok")])}.get(scope["path"], (500, []))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"ignored"})

    fetcher = HttpFetcher(allow_http=True, allow_private=True)  # the test server is on loopback, plain http
    try:
        async with served(serve) as url:
            await fetcher.post(f"{url}/ok", b'{"a":1}', headers={"content-type": "application/json", "x-h": "v"})
            method, body, headers = received[0]
            assert (method, body, headers[b"content-type"], headers[b"x-h"]) == ("POST", b'{"a":1}',
                                                                                  b"application/json", b"v")
            with pytest.raises(OSError, match="HTTP 500"):
                await fetcher.post(f"{url}/fails", b"x", headers={})
            with pytest.raises(OSError, match="HTTP 302"):
                await fetcher.post(f"{url}/moved", b"x", headers={})
            assert [path_body[1] for path_body in received] == [b'{"a":1}', b"x", b"x"]  # the redirect not followed
        with pytest.raises(aiohttp.ClientConnectionError):
            await fetcher.post(f"{refused_url()}/ok", b"x", headers={})
    finally:
        await fetcher.aclose()
    strict = HttpFetcher()
    try:
        for inward in ("https://127.0.0.1/hook", "https://localhost/hook", "http://example.com/hook"):
            with pytest.raises(Refused):
                await strict.post(inward, b"x", headers={})
    finally:
        await strict.aclose()


def test_workers_fetcher_posts() -> None:
    out = worker_world(
        """
        import asyncio
        from openai_workers_ai.adapters.workers import WorkersFetcher
        from openai_workers_ai.outbound import Refused

        STATUS = {"https://hooks.test/ok": 200, "https://hooks.test/fails": 503, "https://hooks.test/moved": 302}
        sent = []

        async def fetch(url, init=None):
            sent.append((url, init.method, init.body.to_bytes(), getattr(init.headers, "x_h", None), init.redirect))
            if url not in STATUS:
                raise JsException("TypeError", "Network connection lost.")
            return FetchResponse(STATUS[url], [], [b"ignored"])
        js.fetch = fetch

        async def main():
            fetcher = WorkersFetcher()
            await fetcher.post("https://hooks.test/ok", b'{"a":1}', headers={"x_h": "v"})
            print(sent[0])
            for url, expected in [("https://hooks.test/fails", "HTTP 503"), ("https://hooks.test/moved", "HTTP 302"),
                                  ("https://hooks.test/offline", "Network connection lost")]:
                try:
                    await fetcher.post(url, b"x", headers={})
                except OSError as exc:
                    assert expected in str(exc), (url, exc)
                else:
                    raise AssertionError(url)
            for url in ("https://127.0.0.1/hook", "http://hooks.test/ok", "https://[::1]/hook"):
                try:
                    await fetcher.post(url, b"x", headers={})
                except Refused:
                    continue
                raise AssertionError(url)
            print("ok", len(sent))

        asyncio.run(main())
        """
    )
    assert out.splitlines() == ["('https://hooks.test/ok', 'POST', b'{\"a\":1}', 'v', 'manual')", "ok 4"]


INWARD = ["http://example.com/a.png", "https://127.0.0.1/a.png", "https://localhost/a.png", "https://LOCALHOST./a",
          "https://a.localhost/x", "https://[::1]/a.png", "https://0.0.0.0/a.png", "https://10.1.2.3/a",
          "https://169.254.169.254/latest/meta-data/", "https://100.64.0.1/a", "https://[::ffff:127.0.0.1]/a",
          "https://[fe80::1]/a", "https://224.0.0.1/a", "https://[2002:7f00:1::]/a", "ftp://example.com/a",
          # IPv4 as inet_aton and the URL standard read it (what fetch in the Worker connects to: no resolver of ours)
          "https://2130706433/", "https://0x7f.1/", "https://127.1/", "https://0177.0.0.1/", "https://0x7f000001/",
          "https://127.0.0.1./", "https://0xA9.0xFE.0xA9.0xFE/latest/meta-data/", "https://%31%32%37.0.0.1/",
          "https://１２７.０.０.１/", "https://ｌｏｃａｌｈｏｓｔ/", "https://1.2.3.4.5/", "https://0x1g.1/",
          # IPv6 forms carrying an inward IPv4 address, and site-local
          "https://[::7f00:1]/", "https://[::127.0.0.1]/", "https://[64:ff9b::7f00:1]/", "https://[64:ff9b::a9fe:a9fe]/",
          "https://[64:ff9b:1::a00:1]/", "https://[fec0::1]/"]


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
    assert not any(public(ipaddress.ip_address(a)) for a in (
        "::7f00:1", "::a00:1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::808:808", "fec0::1", "feff::1"))
    # the public IPv4 address inside is what counts
    assert public(ipaddress.ip_address("64:ff9b::808:808")) and public(ipaddress.ip_address("::ffff:8.8.8.8"))
    assert check("https://example.com/x") == "example.com"
    assert check("http://example.com/x", allow_http=True) == "example.com"
    for url in ("https://134744072/", "https://8.8.8.8/", "https://0x8.0x8.0x8.0x8/", "https://8.526344/",
                "https://[64:ff9b::808:808]/", "https://1.2.3.example/", "https://123abc.example/"):
        check(url)  # public addresses in odd spellings, and names that merely contain numbers, pass
    assert literal("2130706433") == literal("0x7f.1") == literal("127.1") == literal("0177.0.0.1") \
        == ipaddress.ip_address("127.0.0.1")
    assert literal("example.com") is None


def test_workers_fetcher_checks_every_redirect_hop() -> None:
    out = worker_world(
        """
        import asyncio
        from openai_workers_ai.adapters.workers import WorkersFetcher
        from openai_workers_ai.outbound import Refused

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
            for url in ("https://127.0.0.1/x", "http://img.test/x", "https://[::1]/x", "https://2130706433/x",
                        "https://0x7f.1/x", "https://[::7f00:1]/x", "https://[64:ff9b::7f00:1]/x"):
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


# ---- through the API ---------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"


async def image_site(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/a.png``; ``/r?to=<url>`` redirects there; ``/secret`` is what must never be reached; else 404."""
    path, query = scope["path"], parse_qs(scope["query_string"].decode())
    status, headers, body = {
        "/a.png": (200, [(b"content-type", b"image/png")], PNG),
        "/secret": (200, [(b"content-type", b"image/png")], PNG),
        "/r": (302, [(b"location", query.get("to", ["/a.png"])[0].encode())], b""),
    }.get(path, (404, [], b""))
    scope["state"]["requested"].append(path)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def site() -> AsyncIterator[tuple[str, list[str]]]:
    """``image_site`` on loopback: its base URL and the paths requested of it."""
    requested: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["state"] = {"requested": requested}
        await image_site(scope, receive, send)

    async with served(app) as url:
        yield url, requested


def vision_chat(url: str) -> dict[str, Any]:
    return {"model": SCOUT, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}]}]}


async def chat_with(backends: Backends, fetcher: Any, url: str) -> httpx.Response:
    app = create_app(replace(backends, fetcher=fetcher), Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        return await c.post("/v1/chat/completions", json=vision_chat(url))


async def test_every_fetch_failure_reads_the_same(backends: Backends) -> None:
    """A 404, a refused connection and a refusal by the policy give one text: the errors do not tell a
    client which ports are open inside, nor what the policy refused."""
    async with site() as (base, requested):
        loopback_allowed = HttpFetcher(allow_http=True, allow_private=True)  # what a test needs to reach its server
        default = HttpFetcher(allow_http=True)  # the policy: public addresses only
        https_only = HttpFetcher()
        try:
            r = await chat_with(backends, loopback_allowed, f"{base}/a.png")
            assert r.status_code == 200 and requested == ["/a.png"]  # the image itself is fine
            texts = set()
            for fetcher, url in [
                (loopback_allowed, f"{base}/missing.png"),  # a 404
                (loopback_allowed, f"{refused_url()}/a.png"),  # a closed port
                (default, f"{base}/a.png"),  # refused by policy: a loopback address
                (default, f"{base.replace('127.0.0.1', 'localhost')}/a.png"),  # a loopback name
                (default, f"http://2130706433:{base.rsplit(':', 1)[1]}/a.png"),  # a loopback number
                (https_only, f"{base}/a.png"),  # plain http
            ]:
                r = await chat_with(backends, fetcher, url)
                error = r.json()["error"]
                assert r.status_code == 400 and error["code"] == "invalid_image_url", (url, r.text)
                assert error["param"] == "messages[0].content[1].image_url.url"
                texts.add(error["message"].replace(url, "<url>"))
            assert len(texts) == 1, texts
            assert requested == ["/a.png", "/missing.png"]  # the refused ones never reached the server
        finally:
            for fetcher in (loopback_allowed, default, https_only):
                await fetcher.aclose()


class OnlyImgTest(aiohttp.abc.AbstractResolver):
    """DNS where ``img.test`` (a public image host, in a test) is the loopback server; nothing else resolves."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        if host != "img.test":
            raise OSError(f"{host}: no such host")
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


async def test_a_redirect_inward_is_refused_under_the_default_policy() -> None:
    async with site() as (base, requested):
        port = base.rsplit(":", 1)[1]
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=OnlyImgTest()))
        fetcher = HttpFetcher(session, allow_http=True)  # private addresses refused (no allow_private)
        try:
            start = f"http://img.test:{port}/r?to="
            assert (await fetcher.get(start + quote("/a.png"), max_bytes=64)).body == PNG  # a redirect within the host
            for target in (f"http://127.0.0.1:{port}/secret", f"http://localhost:{port}/secret",
                           f"http://2130706433:{port}/secret", f"http://0x7f.1:{port}/secret",
                           f"http://[::ffff:127.0.0.1]:{port}/secret", f"http://[::7f00:1]:{port}/secret",
                           "http://169.254.169.254/latest/meta-data/", f"http://10.0.0.1:{port}/secret"):
                with pytest.raises(Refused):
                    await fetcher.get(start + quote(target, safe=""), max_bytes=64)
            assert "/secret" not in requested and requested.count("/r") == 9
        finally:
            await session.close()


class Recording:
    """A fetcher that serves anything, and records what it was asked for."""

    def __init__(self) -> None:
        self.requested: list[str] = []

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        self.requested.append(url)
        return Fetched(PNG, "image/png")


@pytest.mark.parametrize("image", ["https://img.test/a.png", "http://127.0.0.1:8080/a.png", "//img.test/a.png"])
async def test_an_ollama_image_is_never_a_url_to_fetch(backends: Backends, image: str) -> None:
    """Ollama's ``images`` are base64 data: a URL there is a 400, never a download."""
    fetcher = Recording()
    app = create_app(replace(backends, fetcher=fetcher), Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await c.post("/api/chat", json={"model": "llama4:scout", "stream": False,
                                            "messages": [{"role": "user", "content": "what?", "images": [image]}]})
        assert r.status_code == 400 and "messages[0].images[0]" in r.json()["error"]
        r = await c.post("/api/generate", json={"model": "llama4:scout", "prompt": "what?", "images": [image],
                                                "stream": False})
        assert r.status_code == 400 and "images[0]" in r.json()["error"]
        r = await c.post("/v1/chat/completions", json=vision_chat("https://img.test/a.png"))
        assert r.status_code == 200  # the same fetcher does download an OpenAI image_url
    assert fetcher.requested == ["https://img.test/a.png"]


async def test_the_fetch_timeout_bounds_all_hops_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six hops of 0.15 s each: within a 0.5 s limit one by one, not together."""
    import asyncio
    import time

    from openai_workers_ai import outbound

    async def slow_hops(scope: dict[str, Any], receive: Any, send: Any) -> None:
        hop = int(scope["path"].rsplit("/", 1)[1])
        await asyncio.sleep(0.15)
        last = hop == outbound.MAX_REDIRECTS
        await send({"type": "http.response.start", "status": 200 if last else 302,
                    "headers": [(b"content-type", b"image/png")] if last else [(b"location", b"/hop/%d" % (hop + 1))]})
        await send({"type": "http.response.body", "body": PNG if last else b""})

    fetcher = HttpFetcher(allow_http=True, allow_private=True)
    try:
        async with served(slow_hops) as url:
            monkeypatch.setattr(outbound, "FETCH_TIMEOUT", 0.5)
            start = time.monotonic()
            with pytest.raises(TimeoutError):  # an OSError, as the Fetcher port's failures are
                await fetcher.get(f"{url}/hop/0", max_bytes=64)
            assert time.monotonic() - start < 0.8
            monkeypatch.setattr(outbound, "FETCH_TIMEOUT", 5.0)
            assert (await fetcher.get(f"{url}/hop/0", max_bytes=64)).body == PNG
    finally:
        await fetcher.aclose()


def test_the_workers_fetcher_gives_every_hop_one_timeout_signal() -> None:
    out = worker_world(
        """
        import asyncio
        from openai_workers_ai.adapters.workers import WorkersFetcher

        class Signal:
            pass

        class AbortSignal:
            made = []
            @staticmethod
            def timeout(ms):
                AbortSignal.made.append(ms)
                return Signal()
        js.AbortSignal = AbortSignal

        HOPS = {"https://img.test/a": (302, [("location", "/b")]), "https://img.test/b": (302, [("location", "/c")]),
                "https://img.test/c": (200, [("content-type", "image/png")])}
        signals = []

        async def fetch(url, init=None):
            signals.append(init.signal)
            return FetchResponse(*HOPS[url])
        js.fetch = fetch

        async def main():
            await WorkersFetcher().get("https://img.test/a", max_bytes=100)
            print(AbortSignal.made, len(signals), len({id(s) for s in signals}))

        asyncio.run(main())
        """
    )
    assert out.strip() == "[30000] 3 1"  # one 30 s signal, shared by the three hops
