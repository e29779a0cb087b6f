"""Bounded, deterministic fuzzing of every route in ``app.ROUTES``: bad input is a 4xx in the API's own shape.

Each case is a malformed or adversarial request: wrong JSON types for every field of each request
model (names from ``types/`` and OpenAI's request schemas) and every node inside richer bodies —
nulls, huge, negative and non-finite numbers, nested garbage, unicode edge cases; non-object and
non-JSON bodies under each content type; truncated and odd multipart forms, junk PNG/WAV uploads;
odd path params, headers and query strings; every method on every path; and seeded random requests
valid for OpenAI's own schemas. Each answer must be below 500 (only the simulator's ``fail:<status>``
reaches 502/503/504) and, when it is an error, an OpenAI ``{"error": {message, type, param, code}}``
(``param`` naming a real field) or an Ollama ``{"error": "…"}``; a 2xx body must be strict JSON and
a stream must not carry a server error. No unseeded randomness: a failure replays. Each test collects
every bad case before failing. The corpus and the checker live in ``tests/fuzz.py``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openai_workers_ai import app as app_module
from openai_workers_ai.simulator import Simulator

from .fuzz import (
    LLAMA,
    PNG,
    SCOUT,
    SPECS,
    SpecRequest,
    concrete,
    json_cases,
    multipart_cases,
    not_strict_json,
    png,
    run_cases,
    suffix,
)
from .test_auth_cors import walk


class JSONOnlySimulator(Simulator):
    """The simulator, refusing inputs that are not JSON (``NaN``, ``Infinity``) as the REST API and the
    binding's wire format cannot carry them: a gateway that lets them through answers 500 here."""

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        json.dumps(inputs, allow_nan=False, default=lambda _: None)  # bytes (audio, images) are the binding's
        return await super().run(model, inputs, options)


@pytest.fixture
def simulator() -> Simulator:
    return JSONOnlySimulator()


# ---- the routes ------------------------------------------------------------------------------

ALL = sorted(set(walk(app_module.ROUTES)))
PATHS = sorted({template for template, _ in ALL})
JSON_ROUTES = [(t, m) for t, m in ALL if m in ("POST", "DELETE") and suffix(t) in SPECS
               and SPECS[suffix(t)].kind == "json"]
PRIMARY = [(t, m) for t, m in JSON_ROUTES if t.startswith(("/v1/", "/api/"))]


@pytest.mark.parametrize(("template", "method"), PRIMARY)
async def test_every_field_gets_garbage(client: httpx.AsyncClient, template: str, method: str) -> None:
    route = suffix(template)

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for label, body, sent in json_cases(route):
            yield label, {"method": method, "url": template, "content": body.encode(),
                          "headers": {"content-type": "application/json"}, "sent": sent}

    await run_cases(client, cases(), route)


NOT_OBJECTS = [b"[]", b"1", b'"x"', b"null", b"true", b"{", b'{"model": ', b"", b"   ", b"\xff\xfe{}", b"{}",
               b"NaN", b"1e400", b'{"a":1}{"b":2}', b"[" * 5000 + b"]" * 5000, b'{"model": "\\ud800"}',
               b"\x00", '{"model": "\u202e"}'.encode(), b'{"__proto__": {}}', b"<xml/>",
               b'{"model": 1, "model": "x", "model": null}', b"\xef\xbb\xbf{}", b'{"a": 1e999999}']
CONTENT_TYPES = [None, "application/json", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data", "multipart/form-data; boundary=zzz", "application/json; charset=latin-1",
                 "application/problem+json", "*/*", "application/json\x7f", ""]


@pytest.mark.parametrize(("template", "method"), [(t, m) for t, m in ALL if m in ("POST", "DELETE", "PUT")])
async def test_bodies_that_are_no_object(client: httpx.AsyncClient, template: str, method: str) -> None:
    path = concrete(template)

    route = suffix(template)
    valid = json.dumps(SPECS[route].base).encode() if route in SPECS else b"{}"

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for content_type in CONTENT_TYPES:
            # Every body as JSON (or untyped); a few, and a valid one, under each other content type.
            bodies = NOT_OBJECTS if content_type in (None, "application/json") else [b"{}", b"[]", b"{", valid]
            for body in bodies:
                headers = {} if content_type is None else {"content-type": content_type}
                yield f"{content_type!r} {body[:30]!r}", {"method": method, "url": path, "content": body,
                                                          "headers": headers, "sent": _keys(body)}

    await run_cases(client, cases(), suffix(template))



def _keys(body: bytes) -> set[str]:
    """The top-level keys of a JSON object body: an unknown one may be named as the client sent it
    (a route whose fields are all optional answers so)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return set()
    return set(value) if isinstance(value, dict) else set()


# ---- multipart routes ------------------------------------------------------------------------

MULTIPART = [(t, m) for t, m in ALL if m == "POST" and suffix(t) in SPECS and SPECS[suffix(t)].kind == "multipart"]


@pytest.mark.parametrize(("template", "method"), [(t, m) for t, m in MULTIPART if t.startswith("/v1/")])
async def test_multipart_garbage(client: httpx.AsyncClient, template: str, method: str) -> None:
    route = suffix(template)

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for label, body, ctype in multipart_cases(route):
            sent = {n.partition("[")[0] or n for n in re.findall(r'name="([^"]*)"', body.decode("latin-1"))}
            yield label, {"method": method, "url": template, "content": body, "headers": {"content-type": ctype},
                          "sent": sent}

    await run_cases(client, cases(), route)



# ---- paths, methods, headers and query strings -----------------------------------------------

ODD_IDS = ["%00", "..%2Fx", "../x", "%2e%2e", "x%20y", "%ff", "%c0%ae", "%E2%80%AE", "%F0%9F%98%80", "a" * 3000,
           "%25", "x?y", "x;y", "x/y/z", "%0d%0aX-Injected:%201", "'%22;--", "*", "~", "%5Cx", ""]


@pytest.mark.parametrize("template", [t for t in PATHS if "{" in t])
async def test_odd_path_params(client: httpx.AsyncClient, template: str) -> None:
    methods = sorted({m for t, m in ALL if t == template})

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for odd in ODD_IDS:
            url = re.sub(r"\{(\w+)(?::\w+)?\}", odd, template)
            for method in methods:
                yield odd[:20], {"method": method, "url": url}

    await run_cases(client, cases(), suffix(template))


async def test_odd_paths_near_the_routes(client: httpx.AsyncClient) -> None:
    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for odd in ("/v1/files/../x", "/v1/models/%00", "/v1//models", "/v1/files/file-abc/content/x", "/v1/%00",
                    "/api/../v1/models", "/llm/ollama/api/%00", "/llm/ollama", "/v1/models/" + "a" * 8000,
                    "/v1/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/api/blobs/sha256:%00", "/v1/files?limit=%00"):
            for method in ("GET", "POST", "DELETE", "HEAD"):
                yield odd[:40], {"method": method, "url": odd, "sent": {"limit"}}

    await run_cases(client, cases(), None)


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@pytest.mark.parametrize("template", PATHS)
async def test_every_method_on_every_path(client: httpx.AsyncClient, template: str) -> None:
    path = concrete(template)

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for method in METHODS:
            yield method, {"method": method, "url": path}
            yield f"{method} + origin", {"method": method, "url": path,
                                         "headers": {"origin": "https://evil.example",
                                                     "access-control-request-method": "POST"}}

    await run_cases(client, cases(), suffix(template))


QUERIES = {
    "limit": ["0", "-1", "abc", "1e3", "99999999999999999999", "", "%00", "1.5"],
    "order": ["", "up", "ASC", "%00"],
    "after": ["", "x", "file-" + "z" * 24, "%00", "' OR 1=1 --", "a" * 3000],
    "purpose": ["", "x", "%00", "batch"],
}


async def test_query_garbage(client: httpx.AsyncClient) -> None:
    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for name, values in QUERIES.items():
            for value in values:
                for url in ("/v1/files", "/v1/models", "/api/tags", "/v1/files/file-abc/content"):
                    yield f"{name}={value[:20]}", {"method": "GET", "url": f"{url}?{name}={value}", "sent": {name}}
        yield "repeated", {"method": "GET", "url": "/v1/files?limit=1&limit=x&order=asc&order=zzz",
                           "sent": {"limit", "order"}}

    await run_cases(client, cases(), "/files")


async def test_nothing_stored_is_lost(client: httpx.AsyncClient) -> None:
    """Garbage uploads, deletes and downloads leave an existing file whole and listed."""
    content = b'{"keep": "me"}\n'
    r = await client.post("/v1/files", files={"file": ("keep.jsonl", content)}, data={"purpose": "batch"})
    assert r.status_code == 200, r.text
    file_id = r.json()["id"]
    for _label, body, ctype in multipart_cases("/files"):
        await client.post("/v1/files", content=body, headers={"content-type": ctype})
    for odd in (file_id + "%00", file_id + "/", file_id.upper(), file_id[:-1], f"{file_id}%2F..%2F{file_id}"):
        await client.delete(f"/v1/files/{odd}")
    listed = (await client.get("/v1/files")).json()["data"]
    assert [f["id"] for f in listed if f["id"] == file_id] == [file_id]
    assert (await client.get(f"/v1/files/{file_id}/content")).content == content


HEADERS: list[dict[str, str]] = [
    {"content-length": "abc"}, {"content-length": "-1"}, {"content-length": "99999999999999999999999"},
    {"content-length": "0"}, {"content-length": "1"},
    {"authorization": "Bearer"}, {"authorization": "Bearer \u00e9"}, {"authorization": "Basic !!!"},
    {"authorization": "Bearer " + "k" * 10000}, {"authorization": ""}, {"x-api-key": "\x7f"},
    {"content-type": "application/json; charset=utf-16"}, {"content-type": "multipart/form-data; boundary=\"\""},
    {"content-type": "multipart/form-data; boundary=" + "b" * 2000}, {"content-encoding": "gzip"},
    {"transfer-encoding": "chunked"}, {"accept": "text/event-stream"}, {"expect": "100-continue"},
]


@pytest.mark.parametrize("template", [t for t in PATHS if t.startswith(("/v1/", "/api/"))])
async def test_header_garbage(client: httpx.AsyncClient, template: str) -> None:
    path = concrete(template)
    route = suffix(template)
    methods = sorted({m for t, m in ALL if t == template} - {"HEAD"})
    body = json.dumps(SPECS[route].base).encode() if route in SPECS and SPECS[route].kind == "json" else b"{}"

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for headers in HEADERS:
            for method in methods:
                yield str(headers)[:60], {"method": method, "url": path, "content": body,
                                          "headers": {"content-type": b"application/json",
                                                      **{k: v.encode() for k, v in headers.items()}}}

    await run_cases(client, cases(), route)


async def test_a_mask_claiming_too_many_pixels_is_refused_before_inflating(client: httpx.AsyncClient) -> None:
    """A few KB of PNG can claim gigabytes of pixels: the mask's size is checked before its data is inflated."""
    bomb = png(8192, 8192, idat=zlib.compress(bytes(1 << 20), 1))  # would inflate to 256 MB if it were whole
    files = {"image": ("a.png", PNG, "image/png"), "mask": ("m.png", bomb, "image/png")}
    r = await client.post("/v1/images/edits", files=files, data={"prompt": "a fox", "size": "256x256"})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "mask" and "4096x4096" in error["message"]



@pytest.mark.parametrize("media_type", ["text/event-stream", "application/x-ndjson"])
def test_a_stream_is_cut_into_lines_as_its_clients_cut_it(media_type: str) -> None:
    """The checker reads a stream's lines at CR / LF only, as SSE and NDJSON clients do: a JSON string holding
    U+2028 or U+0085 as is (a completion echoing token ids that decode to them) is no broken document; NaN is."""
    def answer(text: str) -> httpx.Response:
        line = f"data: {text}" if media_type == "text/event-stream" else text
        return httpx.Response(200, headers={"content-type": media_type}, text=f"{line}\r\n\r\n")

    assert not_strict_json(answer(json.dumps({"text": "a\u2028b\x85c\u2029"}, ensure_ascii=False))) is None
    assert not_strict_json(answer('{"a": NaN}')) is not None


# ---- requests valid for OpenAI's own schemas -------------------------------------------------

SPEC_ROUTES = {
    "/chat/completions": ("CreateChatCompletionRequest", [LLAMA, SCOUT, "@cf/qwen/qwen3-30b-a3b-fp8", "gpt-4o-mini",
                                                          "@cf/openai/gpt-oss-20b"]),
    "/completions": ("CreateCompletionRequest", [LLAMA, "gpt-3.5-turbo-instruct"]),
    "/embeddings": ("CreateEmbeddingRequest", ["text-embedding-3-small", "@cf/google/embeddinggemma-300m"]),
    "/moderations": ("CreateModerationRequest", ["omni-moderation-latest", "text-moderation-latest"]),
    "/audio/speech": ("CreateSpeechRequest", ["tts-1", "gpt-4o-mini-tts"]),
    "/images/generations": ("CreateImageRequest", ["dall-e-2", "dall-e-3", "gpt-image-1"]),
    "/assistants": ("CreateAssistantRequest", [LLAMA, SCOUT, "gpt-4o-mini", "@cf/qwen/qwen3-30b-a3b-fp8"]),
}
SPEC_CASES = 100


@pytest.mark.parametrize("route", sorted(SPEC_ROUTES))
async def test_requests_valid_for_openais_schema(client: httpx.AsyncClient, route: str) -> None:
    """Random requests OpenAI's schema accepts (with one of our models): answered, or refused with a 4xx."""
    schema, models = SPEC_ROUTES[route]

    def cases() -> Iterator[tuple[str, dict[str, Any]]]:
        for i in range(SPEC_CASES):
            generator = SpecRequest(f"{route}-{i}")
            body = generator.value({"$ref": f"#/components/schemas/{schema}"})
            body["model"] = generator.rng.choice(models)
            if route == "/images/generations":
                body.update(n=1, size="256x256") if body["model"] == "dall-e-2" else body.pop("n", None)
            yield f"seed {route}-{i} {json.dumps(body)[:600]}", {"method": "POST", "url": "/v1" + route, "json": body,
                                                                "sent": set(body)}

    await run_cases(client, cases(), route)
