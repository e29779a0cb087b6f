"""A server safe to run: without keys it answers loopback host names only and no web page (a request
with a foreign Origin, or marked cross-site by the browser, is refused: WebSockets too); forwarded
headers are believed from trusted proxies only."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

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


# What a page on another site can send to http://127.0.0.1:8787 without a preflight (issue 14's probes).
CHAT = {"model": "llama3.1", "messages": [{"role": "user", "content": "hi"}], "stream": False}
EVIL = {"origin": "https://evil.example"}


async def plain_text_chat(c: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await c.post("/api/chat", content=json.dumps(CHAT), headers={**headers, "content-type": "text/plain"})


async def form_upload(c: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await c.post("/v1/files", files={"file": ("a.txt", b"planted by a web page")},
                        data={"purpose": "assistants"}, headers=headers)


@pytest.mark.parametrize("headers", [EVIL, {"origin": "null"}, {"origin": "http://127.0.0.1.evil.example"},
                                     {"origin": "http://localhost.evil.example:8787"},
                                     {"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"},
                                     {"origin": "http://localhost:3000", "sec-fetch-site": "cross-site"}])
async def test_keyless_server_refuses_web_pages_simple_requests(keyless, headers: dict[str, str]) -> None:  # noqa: ANN001
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keyless), base_url="http://127.0.0.1:8787") as c:
        r = await plain_text_chat(c, headers)
        assert r.status_code == 403 and set(r.json()) == {"error"} and "origin" in r.json()["error"]  # Ollama's shape
        r = await form_upload(c, headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
        assert (await c.get("/v1/files")).json()["data"] == []  # nothing was stored


@pytest.mark.parametrize("headers", [{}, {"origin": "http://127.0.0.1:8787"}, {"origin": "http://localhost"},
                                     {"origin": "https://[::1]:3000"}, {"sec-fetch-site": "same-origin"},
                                     {"sec-fetch-site": "none"}])
async def test_keyless_server_serves_its_own_clients(keyless, headers: dict[str, str]) -> None:  # noqa: ANN001
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=keyless), base_url="http://127.0.0.1:8787") as c:
        r = await plain_text_chat(c, headers)
        assert r.status_code == 200 and r.json()["done"] is True
        r = await form_upload(c, headers)
        assert r.status_code == 200 and r.json()["object"] == "file"


def response_over_websocket(app: Any, headers: dict[str, str]) -> dict[str, Any]:
    with TestClient(app) as client, \
            client.websocket_connect("/v1/responses", headers={"host": "127.0.0.1:8787", **headers}) as ws:
        ws.send_text(json.dumps({"type": "response.create", "model": "@cf/meta/llama-3.1-8b-instruct",
                                 "input": "echo: hi from a web page"}))
        while True:
            event: dict[str, Any] = json.loads(ws.receive_text())
            if event["type"] in ("response.completed", "response.failed", "error"):
                return event


def test_keyless_server_refuses_a_web_pages_websocket(keyless) -> None:  # noqa: ANN001
    for headers in (EVIL, {"sec-fetch-site": "cross-site"}):
        with pytest.raises(WebSocketDisconnect) as refused:
            response_over_websocket(keyless, headers)
        assert refused.value.code == 1008 and "origin" in refused.value.reason
    for headers in ({}, {"origin": "http://localhost:8787"}):
        assert response_over_websocket(keyless, headers)["type"] == "response.completed"


async def test_a_keyed_server_does_not_judge_origins(app) -> None:  # noqa: ANN001
    """With keys, a key is what admits a request: browsers are served as CORS_ALLOW_ORIGINS says."""
    async with client_of(app) as c:
        r = await plain_text_chat(c, {**EVIL, "sec-fetch-site": "cross-site"})
        assert r.status_code == 200


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
