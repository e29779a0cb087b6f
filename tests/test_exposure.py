"""A server safe to run: without keys it answers loopback host names only and no browser origin;
forwarded headers are believed from trusted proxies only."""

from __future__ import annotations

import httpx
import pytest

from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .conftest import KEY


def client_of(app, host: str = "127.0.0.1", base: str = "http://127.0.0.1:8787") -> httpx.AsyncClient:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app, client=(host, 5555))
    return httpx.AsyncClient(transport=transport, base_url=base, headers={"authorization": f"Bearer {KEY}"})


@pytest.fixture
def keyless(backends: Backends):  # noqa: ANN201
    return create_app(backends, Settings(auth_disabled=True))


@pytest.mark.parametrize("base", ["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"])
async def test_keyless_server_answers_loopback_names(keyless, base: str) -> None:  # noqa: ANN001
    async with client_of(keyless, base=base) as c:
        assert (await c.get("/v1/models")).status_code == 200


@pytest.mark.parametrize("base", ["http://evil.example", "http://192.168.1.5:8787", "http://127.0.0.1.evil.example"])
async def test_keyless_server_refuses_other_host_names(keyless, base: str) -> None:  # noqa: ANN001
    async with client_of(keyless, base=base) as c:
        r = await c.get("/v1/models")
        assert r.status_code == 403 and r.json()["error"]["code"] == "host_not_allowed"
        r = await c.post("/api/chat", json={"model": "llama3.1", "messages": []})
        assert r.status_code == 403 and set(r.json()) == {"error"}  # in Ollama's shape there


async def test_keyless_server_allows_no_browser_origin(keyless) -> None:  # noqa: ANN001
    async with client_of(keyless) as c:
        r = await c.options("/v1/files", headers={"origin": "https://any.example", "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in r.headers
        r = await c.get("/v1/models", headers={"origin": "https://any.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_a_keyed_server_keeps_its_cors(app) -> None:  # noqa: ANN001
    async with client_of(app, base="http://api.example.com") as c:
        r = await c.get("/v1/models", headers={"origin": "https://any.example"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


IMAGE = {"prompt": "a cat", "model": "dall-e-2", "response_format": "url"}
FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-host": "ai.example.com"}


async def test_forwarded_headers_only_from_trusted_proxies(app) -> None:  # noqa: ANN001
    async with client_of(app, host="203.0.113.9", base="http://gw.local:8787") as c:
        url = (await c.post("/v1/images/generations", json=IMAGE, headers=FORWARDED)).json()["data"][0]["url"]
        assert url.startswith("http://gw.local:8787/v1/images/")
    async with client_of(app, host="127.0.0.1", base="http://gw.local:8787") as c:  # a proxy on this machine
        url = (await c.post("/v1/images/generations", json=IMAGE, headers=FORWARDED)).json()["data"][0]["url"]
        assert url.startswith("https://ai.example.com/v1/images/")
        evil = {"x-forwarded-proto": "javascript", "x-forwarded-host": "evil.example/x?"}
        url = (await c.post("/v1/images/generations", json=IMAGE, headers=evil)).json()["data"][0]["url"]
        assert url.startswith("http://gw.local:8787/v1/images/")
