"""Auth on every route of ``app.ROUTES``, CORS, and the error shapes of 401/404/405."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from openai_workers_ai import app as app_module
from openai_workers_ai import auth
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .openapi import assert_matches

KEYS = ("sk-one", "sk-two", "sk-three")
SAMPLES = {"model": "@cf/meta/llama-3.1-8b-instruct", "file_id": "file-abc123", "name": "img-abc123.png",
           "digest": "sha256:" + "0" * 64,
           "response_id": "resp_abc123", "conversation_id": "conv_abc123", "item_id": "msg_abc123",
           "assistant_id": "asst_abc123", "thread_id": "thread_abc123", "message_id": "msg_abc123",
           "run_id": "run_abc123", "step_id": "step_abc123", "vector_store_id": "vs_abc123", "batch_id": "vsfb_abc123",
           "upload_id": "upload_abc123", "completion_id": "chatcmpl-abc123"}
# Reachable without a key: liveness probes and images fetched by unguessable name.
# `auth.PUBLIC` decides; it may open no more than these, and must open the first two.
MAY_BE_PUBLIC = {"/", "/health", "/api/version", "/llm/ollama/", "/llm/ollama/api/version",
                 "/v1/images/{name}", "/llm/openai/v1/images/{name}"}


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path template, method) for every route in the table."""
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                yield prefix + route.path, method


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLES[m.group(1)], template)


ALL = sorted(set(walk(app_module.ROUTES)))
PUBLIC = {t for t, _ in ALL if auth.PUBLIC.match(concrete(t))}
PRIVATE = [(t, m) for t, m in ALL if t not in PUBLIC]


def is_ollama(path: str) -> bool:
    return path.startswith(("/api/", "/llm/ollama"))


def assert_error_shape(r: httpx.Response, path: str) -> None:
    if r.request.method == "HEAD":
        return
    body = r.json()
    if is_ollama(path):
        assert set(body) == {"error"} and isinstance(body["error"], str)
    else:
        assert_matches(body, "ErrorResponse")
        assert set(body["error"]) == {"message", "type", "param", "code"}


def make_client(backends: Backends, settings: Settings, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(backends, settings), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


@pytest.fixture
async def anon(backends: Backends) -> httpx.AsyncClient:
    settings = Settings.from_mapping({"ACCESS_TOKEN": " sk-one, sk-two ,sk-three", "ADMIN_TOKENS": "sk-admin"})
    async with make_client(backends, settings) as c:
        yield c


def test_the_walk_sees_the_spine() -> None:
    templates = {t for t, _ in ALL}
    for path in ("/v1/chat/completions", "/llm/openai/v1/completions", "/v1/models/{model:path}", "/health"):
        assert path in templates
    assert PRIVATE
    assert {"/", "/health"} <= PUBLIC <= MAY_BE_PUBLIC


@pytest.mark.parametrize(("template", "method"), PRIVATE)
async def test_every_private_route_needs_a_key(anon: httpx.AsyncClient, template: str, method: str) -> None:
    path = concrete(template)
    for headers in ({}, {"authorization": "Bearer sk-wrong"}, {"authorization": "Bearer "},
                    {"authorization": "Token sk-one"}, {"authorization": "Bearer sk-one-and-more"}):
        r = await anon.request(method, path, headers=headers)
        assert r.status_code == 401, (path, method, headers, r.text)
        assert_error_shape(r, path)
        if method != "HEAD" and not is_ollama(path):
            assert r.json()["error"]["code"] == "invalid_api_key"
    for key in (*KEYS, "sk-admin"):
        r = await anon.request(method, path, headers={"authorization": f"Bearer {key}"})
        assert r.status_code not in (401, 500), (path, method, key, r.text)


@pytest.mark.parametrize("template", sorted(PUBLIC))
async def test_public_routes_need_no_key(anon: httpx.AsyncClient, template: str) -> None:
    r = await anon.get(concrete(template))
    assert r.status_code != 401, r.text


async def test_liveness(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/")).status_code == 200
    r = await anon.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert (await anon.head("/health")).status_code == 200


@pytest.mark.parametrize("userinfo", ["user:sk-two", ":sk-two", "anything:sk-three"])
async def test_basic_auth_with_the_key_as_password(anon: httpx.AsyncClient, userinfo: str) -> None:
    token = base64.b64encode(userinfo.encode()).decode()
    r = await anon.get("/v1/models", headers={"authorization": f"Basic {token}"})
    assert r.status_code == 200


@pytest.mark.parametrize("header", ["Basic sk-one", "Basic " + base64.b64encode(b"sk-one").decode(),
                                    "Basic " + base64.b64encode(b"sk-one:wrong").decode()])
async def test_bad_basic_auth(anon: httpx.AsyncClient, header: str) -> None:
    assert (await anon.get("/v1/models", headers={"authorization": header})).status_code == 401


async def test_bearer_scheme_is_case_insensitive(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/v1/models", headers={"authorization": "bearer sk-one"})).status_code == 200


@pytest.mark.parametrize("env", [{}, {"ACCESS_TOKEN": ""}, {"ACCESS_TOKEN": " , "}])
async def test_no_access_token_refuses_everything(backends: Backends, env: dict[str, str]) -> None:
    settings = Settings.from_mapping(env)
    assert not settings.access_token and not settings.auth_disabled
    async with make_client(backends, settings) as c:
        for template, method in PRIVATE:
            for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Bearer anything"}):
                r = await c.request(method, concrete(template), headers=headers)
                assert r.status_code == 401, (template, method)
        r = await c.get("/v1/models", headers={"authorization": "Bearer x"})
        assert "ACCESS_TOKEN" in r.json()["error"]["message"]
        assert (await c.get("/health")).status_code == 200


# ---- error shapes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nope", 404, "unknown_url"),
        ("GET", "/llm/openai/v1/nope", 404, "unknown_url"),
        ("GET", "/nope", 404, "unknown_url"),
        ("PUT", "/v1/chat/completions", 405, "method_not_allowed"),
        ("DELETE", "/v1/models", 405, "method_not_allowed"),
        ("PUT", "/llm/openai/v1/completions", 405, "method_not_allowed"),
    ],
)
async def test_openai_error_shapes(anon: httpx.AsyncClient, method: str, path: str, status: int, code: str) -> None:
    r = await anon.request(method, path, headers={"authorization": "Bearer sk-one"})
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    assert_matches(r.json(), "ErrorResponse")
    assert r.json()["error"]["code"] == code


@pytest.mark.parametrize(("method", "path", "status"),
                         [("GET", "/api/nope", 404), ("GET", "/llm/ollama/api/nope", 404)])
async def test_ollama_error_shapes(anon: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    r = await anon.request(method, path, headers={"authorization": "Bearer sk-one"})
    assert r.status_code == status
    assert set(r.json()) == {"error"} and isinstance(r.json()["error"], str)
    r = await anon.request(method, path)
    assert r.status_code == 401 and set(r.json()) == {"error"}


@pytest.mark.parametrize(("template", "method"), [(t, m) for t, m in PRIVATE if t.startswith("/api/")][:1])
async def test_ollama_405_shape(anon: httpx.AsyncClient, template: str, method: str) -> None:
    wrong = "PUT" if method != "PUT" else "PATCH"
    r = await anon.request(wrong, concrete(template), headers={"authorization": "Bearer sk-one"})
    assert r.status_code == 405
    assert set(r.json()) == {"error"} and isinstance(r.json()["error"], str)


async def test_unknown_route_without_key_is_401_not_404(anon: httpx.AsyncClient) -> None:
    # no probing of what exists without a key
    assert (await anon.get("/v1/secret-thing")).status_code == 401


# ---- CORS ---------------------------------------------------------------------------------

PREFLIGHT = {
    "origin": "https://app.example",
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, x-stainless-os, x-stainless-lang",
}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/llm/openai/v1/models", "/api/chat"])
async def test_preflight_needs_no_key_and_echoes_headers(anon: httpx.AsyncClient, path: str) -> None:
    r = await anon.options(path, headers=PREFLIGHT)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] in ("*", "https://app.example")
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-stainless-os", "x-stainless-lang"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert int(r.headers["access-control-max-age"]) > 0


async def test_cors_headers_on_answers_and_errors(anon: httpx.AsyncClient) -> None:
    origin = {"origin": "https://app.example"}
    r = await anon.get("/v1/models", headers={**origin, "authorization": "Bearer sk-one"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"]
    r = await anon.get("/v1/models", headers=origin)
    assert r.status_code == 401 and r.headers["access-control-allow-origin"]  # the browser can read why


async def test_allowed_origins_are_configurable(backends: Backends) -> None:
    settings = Settings.from_mapping({"ACCESS_TOKEN": "sk-one", "CORS_ALLOW_ORIGINS": "https://good.example"})
    async with make_client(backends, settings) as c:
        r = await c.options("/v1/chat/completions", headers={**PREFLIGHT, "origin": "https://good.example"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://good.example"
        r = await c.options("/v1/chat/completions", headers={**PREFLIGHT, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
        r = await c.get("/v1/models", headers={"origin": "https://evil.example", "authorization": "Bearer sk-one"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


class Boom:
    """An AI binding with a bug."""

    async def run(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")


BODIES = {
    "/v1/chat/completions": {"model": "@cf/meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": "x"}]},
    "/llm/openai/v1/completions": {"model": "@cf/meta/llama-3.1-8b-instruct", "prompt": "x"},
}


@pytest.mark.parametrize("path", sorted(BODIES))
async def test_a_bug_is_a_500_in_the_apis_shape_with_cors(backends: Backends, path: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(access_token=("sk-one",))
    broken = Backends(ai=Boom(), db=backends.db, bucket=backends.bucket)  # type: ignore[arg-type]
    async with make_client(broken, settings, authorization="Bearer sk-one", origin="https://app.example") as c:
        r = await c.post(path, json=BODIES[path])
    assert r.status_code == 500
    assert r.headers["access-control-allow-origin"]
    assert "secret internals" not in r.text
    assert_matches(r.json(), "ErrorResponse")
    assert r.json()["error"]["type"] == "server_error"
    request_id = r.headers["x-request-id"]  # named by the answer and by the log line of the bug, as OpenAI asks
    assert f"request ID {request_id}" in r.json()["error"]["message"]
    assert any(request_id in record.getMessage() and record.exc_info for record in caplog.records)


async def test_every_answer_has_a_request_id_as_openais(backends: Backends) -> None:
    """``x-request-id: req_<32 hex>`` on every answer, a refusal and a 404 too (the official clients show it
    as ``_request_id``), a new one for each request."""
    settings = Settings(access_token=("sk-one",))
    seen = []
    async with make_client(backends, settings, authorization="Bearer sk-one") as c:
        for r in (await c.get("/v1/models"), await c.get("/v1/models"), await c.get("/v1/files/file-none"),
                  await c.get("/v1/models", headers={"authorization": "Bearer wrong"}), await c.get("/api/tags"),
                  await c.options("/v1/models", headers={"origin": "https://app.example"})):
            assert re.fullmatch(r"req_[0-9a-f]{32}", r.headers["x-request-id"]), r.headers
            seen.append(r.headers["x-request-id"])
    assert len(set(seen)) == len(seen)


async def test_openai_answers_name_the_api_version_and_processing_time(backends: Backends) -> None:
    """OpenAI's answers carry ``openai-version: 2020-10-01`` and ``openai-processing-ms`` (an integer), a
    stream's too (every recording of its traffic, e.g. pydantic/pydantic-ai's
    tests/models/cassettes/test_openai/test_openai_text_verbosity_chat_completions.yaml, 2026-10-02, and
    test_run_stream_sync_streams_real_model.yaml's event streams); Ollama's API sends neither."""
    settings = Settings(access_token=("sk-one",))
    async with make_client(backends, settings, authorization="Bearer sk-one") as c:
        chat = {"model": "@cf/meta/llama-3.1-8b-instruct", "messages": [{"role": "user", "content": "echo: hi"}]}
        for r in (await c.get("/v1/models"), await c.post("/v1/chat/completions", json=chat),
                  await c.post("/v1/chat/completions", json={**chat, "stream": True}),
                  await c.get("/v1/files/file-none"),
                  await c.get("/v1/models", headers={"authorization": "Bearer wrong"})):
            assert r.headers["openai-version"] == "2020-10-01", r.headers
            assert re.fullmatch(r"\d+", r.headers["openai-processing-ms"]), r.headers
        ollama = await c.get("/api/tags")
        assert "openai-version" not in ollama.headers and "openai-processing-ms" not in ollama.headers


async def test_every_answer_varies_by_origin(anon: httpx.AsyncClient) -> None:
    # CORSMiddleware's Vary: Origin, also on answers to clients that send no Origin (caches must not share them).
    for headers in ({"authorization": "Bearer sk-one"}, {"authorization": "Bearer sk-one", "origin": "https://app.example"}, {}):
        r = await anon.get("/v1/models", headers=headers)
        assert r.headers.get_list("vary") == ["Origin"], (headers, r.headers)


# ---- how keys are compared, and who a public route runs as --------------------------------


@pytest.mark.parametrize("presented", ["sk-one", "sk-two", "sk-admin-with-a-much-longer-key-than-the-others",
                                       "x", "sk-on", "sk-one!", "y" * 300, "sk-admin"])
async def test_keys_are_compared_as_digests_of_one_length(
    backends: Backends, monkeypatch: pytest.MonkeyPatch, presented: str
) -> None:
    """Whatever the length of the key presented or configured, ``hmac.compare_digest`` sees two SHA-256
    digests (32 bytes each), once for every configured key: its time tells nothing of the keys' lengths."""
    compared: list[tuple[int, int]] = []
    real = auth.hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", recording)
    settings = Settings(access_token=("sk-one", "sk-two-is-longer"),
                        admin_tokens=("sk-admin-with-a-much-longer-key-than-the-others",))
    async with make_client(backends, settings) as c:
        r = await c.get("/v1/models", headers={"authorization": f"Bearer {presented}"})
    accepted = presented in ("sk-one", "sk-admin-with-a-much-longer-key-than-the-others")
    assert r.status_code == (200 if accepted else 401)
    assert compared == [(32, 32)] * (3 + accepted)  # every key (no early exit); then the admin key, if it matched


async def test_a_public_route_runs_as_nobody(backends: Backends, settings: Settings) -> None:
    """A public route (liveness, an image URL) gets a principal that owns nothing and is no admin, so it
    can read nothing stored, whoever calls it and whether or not the server has keys."""
    from starlette.responses import JSONResponse
    from starlette.routing import Route as StarletteRoute

    from openai_workers_ai.context import context, owner, principal
    from openai_workers_ai.pagination import page
    from openai_workers_ai.repositories import files
    from openai_workers_ai.routing import Router

    from .conftest import ADMIN_KEY, KEY

    async def probe(request):  # noqa: ANN001, ANN202  # what a route behind the gate may read
        ctx, who = context(request), principal(request)
        rows, _ = await files.list_page(ctx.backends.db, owner=owner(request), now=ctx.now(), page=page({}))
        return JSONResponse({"key_hash": who.key_hash, "admin": who.admin, "files": [row.id for row in rows]})

    for app_settings, key in ((settings, ADMIN_KEY), (Settings(auth_disabled=True), "anything")):
        app = create_app(backends, app_settings)
        headers = {"authorization": f"Bearer {KEY if not app_settings.auth_disabled else key}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787", headers=headers) as c:
            stored = await c.post("/v1/files", files={"file": ("a.txt", b"secret")}, data={"purpose": "assistants"})
            assert stored.status_code == 200
        app.router = Router([StarletteRoute(path, probe) for path in ("/health", "/v1/images/{name}", "/v1/files")])
        app.middleware_stack = None  # the gate in front of the probe, built again on the next request
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8787",
                                     headers={"authorization": f"Bearer {key}"}) as c:
            mine = (await c.get("/v1/files")).json()
            assert stored.json()["id"] in mine["files"]  # the probe sees what the caller may see on a private route
            for path in ("/health", "/v1/images/img-abc123.png"):
                seen = (await c.get(path)).json()
                assert seen == {"key_hash": "", "admin": False, "files": []}, (path, seen)
