"""Bounded work per request: one fan-out helper with a limit, and caps on list inputs (issue: hold under abuse)."""

from __future__ import annotations

import asyncio
import json
import random
import re

import httpx
import pytest

from openai_workers_ai.errors import InvalidRequest
from openai_workers_ai.fanout import MAX_IN_FLIGHT, gather_bounded
from openai_workers_ai.translate.completions import MAX_PROMPTS
from openai_workers_ai.types.common import MAX_CONTENT_PARTS, Request
from openai_workers_ai.types.embeddings import MAX_INPUTS
from openai_workers_ai.types.responses import MAX_INPUT_ITEMS
from openai_workers_ai.types.threads import MAX_THREAD_MESSAGES
from openai_workers_ai.validation import MAX_CONTAINERS, MAX_VALUES, _maybe_not_finite, check_size, validate


async def test_fanout_keeps_order_and_its_bound() -> None:
    running = peak = 0

    async def call(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (i % 3))
        running -= 1
        return i

    assert await gather_bounded([lambda i=i: call(i) for i in range(40)]) == list(range(40))
    assert peak == MAX_IN_FLIGHT
    assert await gather_bounded([lambda i=i: call(i) for i in range(10)], limit=2) == list(range(10))
    assert peak == MAX_IN_FLIGHT and running == 0


async def test_the_first_failure_cancels_the_rest() -> None:
    finished: list[int] = []

    async def call(i: int) -> int:
        if i == 3:
            raise ValueError("boom")
        await asyncio.sleep(0.05)
        finished.append(i)
        return i

    with pytest.raises(ValueError, match="boom"):
        await gather_bounded([lambda i=i: call(i) for i in range(20)])
    await asyncio.sleep(0.1)
    assert finished == []  # nothing ran on after the failure


async def test_a_cancelled_request_cancels_its_calls() -> None:
    started: list[int] = []
    finished: list[int] = []

    async def call(i: int) -> None:
        started.append(i)
        await asyncio.sleep(0.05)
        finished.append(i)

    task = asyncio.ensure_future(gather_bounded([lambda i=i: call(i) for i in range(20)]))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert len(started) == MAX_IN_FLIGHT and finished == []


async def test_completions_prompts_are_capped(client: httpx.AsyncClient) -> None:
    body = {"model": "@cf/meta/llama-3.1-8b-instruct", "prompt": ["echo: x"] * (MAX_PROMPTS + 1)}
    r = await client.post("/v1/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    r = await client.post("/v1/completions", json={**body, "prompt": ["echo: x"] * 20})
    assert r.status_code == 200 and len(r.json()["choices"]) == 20


async def test_ollama_embed_inputs_are_capped_as_openais(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/embed", json={"model": "bge-m3", "input": ["x"] * (MAX_INPUTS + 1)})
    assert r.status_code == 400 and "at most 2048" in r.json()["error"]
    r = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["x"] * (MAX_INPUTS + 1)})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"


class SlowAI:
    """A model that takes its time, and notes whether its call was abandoned."""

    def __init__(self) -> None:
        self.started = self.cancelled = 0

    async def run(self, model: str, inputs: dict, options: dict | None = None) -> dict:  # type: ignore[type-arg]
        self.started += 1
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return {"response": "late"}


async def test_a_non_streaming_request_stops_when_its_client_leaves(db, bucket) -> None:  # noqa: ANN001
    from openai_workers_ai.app import create_app
    from openai_workers_ai.ports import Backends
    from openai_workers_ai.settings import Settings

    ai = SlowAI()
    app = create_app(Backends(ai=ai, db=db, bucket=bucket), Settings(access_token=("k",)))
    body = b'{"model": "@cf/meta/llama-3.1-8b-instruct", "prompt": ["a", "b", "c"]}'
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/completions", "raw_path": b"/v1/completions", "query_string": b"", "root_path": "",
             "server": ("t", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"authorization", b"Bearer k"), (b"content-type", b"application/json")]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []  # type: ignore[type-arg]

    async def receive() -> dict:  # type: ignore[type-arg]
        if messages:
            return messages.pop()
        await asyncio.sleep(0.05)  # the client hangs up while the model works
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=2)
    assert ai.started == 3 and ai.cancelled == 3 and sent == []


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


async def chunked(body: bytes):  # noqa: ANN201
    for start in range(0, len(body), 65536):  # no Content-Length: the limits apply while reading
        yield body[start : start + 65536]


HEADERS = {"content-type": "multipart/form-data; boundary=b0undary"}


async def test_a_form_is_bounded_in_parts_and_in_total(client: httpx.AsyncClient) -> None:
    fields = [(f"f{i}", None, b"x" * (1 << 20)) for i in range(5)]  # 1 MiB each: each field fits, together not
    r = await client.post("/v1/files", content=chunked(multipart(fields)), headers=HEADERS)
    assert r.status_code == 413 and "together" in r.json()["error"]["message"]
    many = [(f"f{i}", None, b"x") for i in range(100)]
    r = await client.post("/v1/files", content=chunked(multipart(many)), headers=HEADERS)
    assert r.status_code == 400 and "parts" in r.json()["error"]["message"]


async def test_image_parts_together_are_bounded(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    limit = app.state.ctx.settings.max_image_bytes
    images = [("image[]", f"{i}.png", b"\x89PNG" + b"x" * (limit - 4)) for i in range(3)]  # each at the limit
    r = await client.post("/v1/images/edits", content=chunked(multipart([("prompt", None, b"a cat"), *images])),
                          headers=HEADERS)
    assert r.status_code == 413 and "together" in r.json()["error"]["message"]


@pytest.mark.parametrize("url", ["/v1/chat/completions", "/api/chat"])
async def test_a_huge_message_list_is_refused_before_it_is_validated(client: httpx.AsyncClient, url: str) -> None:
    model = "llama3.1" if url.startswith("/api") else "gpt-4o-mini"
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}] * 20_000}).encode()
    r = await client.post(url, content=body, headers={"content-type": "application/json"})
    # Counted on the parsed JSON (validating 20,000 messages one by one first would take a while):
    # the count's own words, not pydantic's "List should have at most 2048 items after validation".
    assert r.status_code == 400 and "2048" in r.text and "after validation" not in r.text
    if url.startswith("/v1"):
        assert r.json()["error"]["param"] == "messages" and r.json()["error"]["code"] == "array_above_max_length"
    r = await client.post(url, json={"model": model, "messages": [{"role": "user", "content": "hi"}] * 2049})
    assert r.status_code == 400 and "2048" in r.text
    # 300,000 messages are not even parsed: the body's brackets are counted first.
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}] * 300_000}).encode()
    r = await client.post(url, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "too many JSON values" in r.text


# ---- JSON bodies: counted before they are parsed, their lists before they are validated -------------


def test_a_body_is_counted_by_its_brackets_and_commas() -> None:
    check_size(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
    for shape in ([[]] * (MAX_CONTAINERS + 1), [{}] * (MAX_CONTAINERS + 1), [0] * MAX_VALUES):
        with pytest.raises(InvalidRequest) as caught:
            check_size(json.dumps({"input": shape}).encode())
        assert caught.value.code == "too_many_json_values"
    check_size(json.dumps({"input": [[]] * (MAX_CONTAINERS - 2)}).encode())  # and the object, and its list
    check_size(json.dumps({"input": [0] * (MAX_VALUES - 2)}).encode())
    # Brackets and commas in strings are text, escaped quotes included: counted past, not held against it.
    text = '[{,\\"' * MAX_VALUES
    check_size(json.dumps({"messages": [{"role": "user", "content": text}] * 3}).encode())
    with pytest.raises(InvalidRequest, match="too many JSON values"):
        check_size(json.dumps({"messages": [{"role": "user", "content": text}], "x": [[]] * MAX_CONTAINERS}).encode())


@pytest.mark.parametrize(("url", "body", "ollama"), [
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
                              "tools": [{"type": "function", "function": {"name": "f", "parameters": {
                                  "type": "object", "properties": {f"p{i}": {} for i in range(40_000)}}}}]}, False),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["ab"] * 1_000_000}, False),
    ("/api/generate", {"model": "llama3.1", "prompt": "x", "context": [1] * 1_000_000}, True),
    ("/api/chat", {"model": "llama3.1", "messages": [{"role": "user", "content": "hi"}],
                   "options": {"stop": [[]] * 100_000}}, True),
])
async def test_a_body_of_too_many_values_is_a_400_in_the_apis_words(
    client: httpx.AsyncClient, url: str, body: dict, ollama: bool  # type: ignore[type-arg]
) -> None:
    r = await client.post(url, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    assert r.status_code == 400
    if ollama:
        assert r.json() == {"error": f"request body holds too many JSON values: at most {MAX_CONTAINERS} arrays and "
                                     f"objects, and {MAX_VALUES} items and members in all"}
    else:
        assert r.json()["error"]["code"] == "too_many_json_values" and r.json()["error"]["type"] == "invalid_request_error"


async def test_a_websocket_message_is_counted_too(app) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from .conftest import KEY

    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        ws.send_text(json.dumps({"type": "response.create", "model": "gpt-4o-mini", "input": [[]] * 40_000}))
        event = json.loads(ws.receive_text())  # OpenAI's ResponseWsError: the payload under "error"
        assert event["type"] == "error" and event["error"]["code"] == "too_many_json_values"
        items = [{"role": "user", "content": "hi"}] * (MAX_INPUT_ITEMS + 1)
        ws.send_text(json.dumps({"type": "response.create", "model": "gpt-4o-mini", "input": items}))
        event = json.loads(ws.receive_text())
        error = event["error"]
        assert event["type"] == "error" and error["param"] == "input" and error["code"] == "array_above_max_length"


def parts(n: int, kind: str = "text") -> list[dict]:  # type: ignore[type-arg]
    return [{"type": kind, "text": "a"}] * n


@pytest.mark.parametrize(("url", "body", "param", "limit"), [
    ("/v1/threads", {"messages": [{"role": "user", "content": "hi"}] * 33}, "messages", MAX_THREAD_MESSAGES),
    ("/v1/threads", {"messages": [{"role": "user", "content": parts(257)}]}, "messages[0].content",
     MAX_CONTENT_PARTS),
    ("/v1/threads/runs", {"assistant_id": "asst_x", "thread": {"messages": [{"role": "user", "content": "hi"}] * 33}},
     "thread.messages", MAX_THREAD_MESSAGES),
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "hi"}, {"role": "user", "content": parts(257)}]}, "messages[1].content",
     MAX_CONTENT_PARTS),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": [{"role": "user", "content": "hi"}] * 2049}, "input",
     MAX_INPUT_ITEMS),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": [{"role": "user", "content": parts(257, "input_text")}]},
     "input[0].content", MAX_CONTENT_PARTS),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": [{"type": "function_call_output", "call_id": "c",
                                                          "output": parts(257, "input_text")}]},
     "input[0].output", MAX_CONTENT_PARTS),
    ("/v1/conversations", {"items": [{"role": "user", "content": "hi"}] * 21}, "items", 20),
])
async def test_lists_are_capped_naming_the_param(
    client: httpx.AsyncClient, url: str, body: dict, param: str, limit: int  # type: ignore[type-arg]
) -> None:
    r = await client.post(url, json=body)
    error = r.json()["error"]
    assert r.status_code == 400 and error["param"] == param, error
    assert error["message"].startswith(f"Invalid '{param}': array too long. Expected an array with maximum length "
                                       f"{limit}, but got an array with length {limit + 1} instead.")


async def test_lists_at_their_caps_are_taken(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/threads", json={"messages": [{"role": "user", "content": parts(MAX_CONTENT_PARTS)}]
                                               * MAX_THREAD_MESSAGES})
    assert r.status_code == 200, r.text
    thread = r.json()["id"]
    r = await client.post(f"/v1/threads/{thread}/messages", json={"role": "user", "content": parts(257)})
    assert r.status_code == 400 and r.json()["error"]["param"] == "content"
    r = await client.post("/v1/chat/completions", json={"model": "@cf/meta/llama-3.1-8b-instruct", "messages": [
        {"role": "user", "content": parts(MAX_CONTENT_PARTS)}]})
    assert r.status_code == 200, r.text
    r = await client.post("/v1/responses", json={"model": "@cf/meta/llama-3.1-8b-instruct", "store": False, "input": [
        {"role": "user", "content": parts(MAX_CONTENT_PARTS, "input_text")}] * 4})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("url", "body"), [
    ("/api/generate", {"model": "llama4:scout", "prompt": "x", "images": ["not base64!"] * 17}),
    ("/api/chat", {"model": "llama4:scout", "messages": [{"role": "user", "content": "x", "images": ["not base64!"] * 17}]}),
    ("/api/chat", {"model": "llama4:scout", "messages": [{"role": "user", "content": "x", "images": ["not base64!"] * 9}] * 2}),
])
async def test_ollama_images_are_counted_before_any_is_decoded(client: httpx.AsyncClient, url: str, body: dict) -> None:  # type: ignore[type-arg]
    r = await client.post(url, json={**body, "stream": False})
    # The count's error, not "invalid image data" (each would be base64-decoded first).
    assert r.status_code == 400 and "at most 16" in r.json()["error"], r.text
    assert "invalid image data" not in r.text


class BigImages:
    """A fetcher whose every URL is a 4 MiB PNG; counts what it was asked for."""

    def __init__(self) -> None:
        self.requested = 0

    async def get(self, url: str, *, max_bytes: int):  # noqa: ANN201
        from openai_workers_ai.ports import Fetched

        self.requested += 1
        body = b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024)
        if len(body) > max_bytes:
            raise OSError(f"larger than {max_bytes} bytes")
        await asyncio.sleep(0.01)
        return Fetched(body, "image/png")


@pytest.mark.parametrize(("count", "code"), [(17, "too_many_images"), (12, "image_too_large")])
async def test_the_images_of_a_request_are_bounded_in_number_and_bytes(
    db, bucket, count: int, code: str  # noqa: ANN001
) -> None:
    from openai_workers_ai.app import create_app
    from openai_workers_ai.ports import Backends
    from openai_workers_ai.settings import Settings
    from openai_workers_ai.simulator import Simulator

    fetcher = BigImages()
    app = create_app(Backends(ai=Simulator(), db=db, bucket=bucket, fetcher=fetcher), Settings(access_token=("k",)))
    parts = [{"type": "image_url", "image_url": {"url": f"https://img.example/{i}.png"}} for i in range(count)]
    body = {"model": "@cf/meta/llama-4-scout-17b-16e-instruct",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "what?"}, *parts]}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": "Bearer k"}) as client:
        r = await client.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    if code == "too_many_images":
        assert fetcher.requested == 0  # refused before anything was fetched


# ---- numbers JSON cannot hold: found without a regular expression tried at every digit ----------------


class _Scores(Request):
    score: float | None = None
    scores: list[float] = []


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+400", "2.5e999", "9" * 309 + ".5", "-" + "1" * 310 + ".0", "NaN",
                                    "Infinity", "-Infinity"])
def test_a_number_no_float_holds_is_a_400(number: str) -> None:
    for body, param in ((f'{{"score": {number}}}', "score"), (f'{{"scores": [1, 2, {number}]}}', "scores[2]")):
        with pytest.raises(InvalidRequest) as info:
            validate(_Scores, body.encode())
        assert info.value.param == param and "numbers must be finite" in str(info.value)


@pytest.mark.parametrize("number", ["1e308", "1.7976931348623157e+308", "-1E+300", "9" * 308 + ".5", "1e-400", "0.5"])
def test_a_number_a_float_holds_is_taken(number: str) -> None:
    assert validate(_Scores, f'{{"score": {number}}}'.encode()).score == float(number)


def test_the_pre_filter_misses_no_number_the_regular_expressions_found() -> None:
    """The bytes search flags every body the two regular expressions it replaced flagged (and a few more,
    which only cost a walk of the validated request)."""
    exponent, long_number = re.compile(rb"\d[eE]\+?\d{3}"), re.compile(rb"\d{309}")
    rng = random.Random(7)
    alphabet = b"0123456789eE+-. x\"NaIfinty"
    for _ in range(20_000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 40)))
        if rng.random() < 0.01:
            body += b"7" * rng.randrange(300, 320)
        if exponent.search(body) or long_number.search(body) or b"NaN" in body or b"Infinity" in body:
            assert _maybe_not_finite(body), body
