"""``/v1/batches`` in-process: a file of requests answered in the background through the app's own routes;
the input checked as OpenAI checks it (bad lines fail the batch, each error naming its line); slices of
requests a run, counted once however often a run is delivered; output and error files in order; cancel,
expiry, ownership, errors; the cleanup resuming a batch whose job went quiet."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ids import new_sortable_id
from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends
from openai_workers_ai.repositories import batches as batches_repo
from openai_workers_ai.runner import batches as runner
from openai_workers_ai.settings import Settings

from .conftest import ADMIN_KEY, KEY, OTHER_KEY, Clock
from .openapi import assert_matches

MODEL = "@cf/meta/llama-3.1-8b-instruct"
CHAT = "/v1/chat/completions"


@pytest.fixture
def app(backends: Backends, settings: Settings, clock: Clock) -> Any:
    return create_app(backends, settings, clock)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        yield c


def chat_line(custom_id: str, text: str, **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": CHAT,
            "body": {"model": MODEL, "messages": [{"role": "user", "content": text}], **body}}


def jsonl(lines: list[Any]) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)


async def upload(client: httpx.AsyncClient, data: bytes, purpose: str = "batch", key: str = KEY) -> str:
    r = await client.post("/v1/files", files={"file": ("requests.jsonl", data)}, data={"purpose": purpose},
                          headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def create(client: httpx.AsyncClient, file_id: str, endpoint: str = CHAT, **fields: Any) -> httpx.Response:
    return await client.post("/v1/batches", json={"input_file_id": file_id, "endpoint": endpoint,
                                                  "completion_window": "24h", **fields})


async def created(client: httpx.AsyncClient, data: bytes, endpoint: str = CHAT, **fields: Any) -> dict[str, Any]:
    r = await create(client, await upload(client, data), endpoint, **fields)
    assert r.status_code == 200, r.text
    check(r.json())
    return r.json()  # type: ignore[no-any-return]


def check(batch: dict[str, Any]) -> None:
    assert_matches({k: v for k, v in batch.items() if v is not None}, "Batch")


async def drain(app: Any) -> None:
    jobs = app.state.ctx.backends.jobs
    assert isinstance(jobs, InProcessJobs)
    await jobs.drain(app.state.ctx)


async def drain_count(app: Any) -> int:
    jobs = app.state.ctx.backends.jobs
    assert isinstance(jobs, InProcessJobs)
    return await jobs.drain(app.state.ctx)


async def retrieve(client: httpx.AsyncClient, batch_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/batches/{batch_id}")
    assert r.status_code == 200, r.text
    check(r.json())
    return r.json()  # type: ignore[no-any-return]


async def lines_of(client: httpx.AsyncClient, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    r = await client.get(f"/v1/files/{file_id}/content")
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.content.splitlines()]


async def test_a_batch_of_chats_is_answered_in_order_into_an_output_and_an_error_file(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 3)  # four slices for ten requests
    requests = [chat_line(f"req-{i}", f"echo: answer {i}") for i in range(10)]
    requests[4] = chat_line("req-4", "fail:400")
    requests[7] = chat_line("req-7", "hi", max_tokens=0)  # refused by the route's own validation
    batch = await created(client, jsonl(requests), metadata={"job": "nightly"})
    assert batch["status"] == "validating" and batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    # OpenAI's members in its order (openai/openai-dotnet, tests/SessionRecords/BatchTests/
    # CreateGetAndCancelBatchProtocol.json)
    assert list(batch) == [
        "id", "object", "endpoint", "model", "errors", "input_file_id", "completion_window", "status", "output_file_id",
        "error_file_id", "created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at",
        "expired_at", "cancelling_at", "cancelled_at", "request_counts", "usage", "metadata"]
    assert list(batch["usage"].items()) == [
        ("input_tokens", 0), ("output_tokens", 0), ("total_tokens", 0), ("input_tokens_details", {"cached_tokens": 0}),
        ("output_tokens_details", {"reasoning_tokens": 0})]
    assert batch["expires_at"] == batch["created_at"] + 86400 and batch["metadata"] == {"job": "nightly"}

    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed", done
    assert done["request_counts"] == {"total": 10, "completed": 8, "failed": 2}
    assert done["model"] == MODEL
    assert all(done[k] is not None for k in ("in_progress_at", "finalizing_at", "completed_at"))
    assert done["usage"]["input_tokens"] > 0 and done["usage"]["output_tokens"] > 0
    assert done["usage"]["total_tokens"] == done["usage"]["input_tokens"] + done["usage"]["output_tokens"]

    output = await lines_of(client, done["output_file_id"])
    assert [line["custom_id"] for line in output] == [f"req-{i}" for i in range(10) if i not in (4, 7)]
    for line in output:  # ids as in OpenAI's output files (BerriAI/litellm,
        # tests/batches_tests/test_batches_logging_unit_tests.py: batch_req_ and 32 hex digits; request_id 32 of them)
        assert re.fullmatch(r"batch_req_[0-9a-f]{32}", line["id"]) and line["error"] is None
        assert line["response"]["status_code"] == 200 and re.fullmatch(r"[0-9a-f]{32}", line["response"]["request_id"])
        body = line["response"]["body"]
        assert_matches(body, "CreateChatCompletionResponse")
        assert body["choices"][0]["message"]["content"] == f"answer {line['custom_id'][4:]}"
    errors = await lines_of(client, done["error_file_id"])
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("req-4", 400), ("req-7", 400)]
    assert errors[1]["response"]["body"]["error"]["param"] == "max_tokens"
    r = await client.get(f"/v1/files/{done['output_file_id']}")
    assert r.json()["purpose"] == "batch_output" and r.json()["filename"] == f"{batch['id']}_output.jsonl"
    assert r.json()["expires_at"] == r.json()["created_at"] + runner.OUTPUT_EXPIRY
    assert not await app.state.ctx.backends.bucket.list(runner.PARTS_PREFIX)  # the slices' objects deleted


@pytest.mark.parametrize(("endpoint", "body", "schema"), [
    ("/v1/embeddings", {"model": "@cf/baai/bge-small-en-v1.5", "input": ["one", "two"]}, "CreateEmbeddingResponse"),
    ("/v1/completions", {"model": MODEL, "prompt": "echo: hi"}, "CreateCompletionResponse"),
    ("/v1/responses", {"model": MODEL, "input": "echo: hi"}, "Response"),
    ("/v1/moderations", {"input": "hello"}, "CreateModerationResponse"),
])
async def test_each_endpoint_a_batch_runs(client: httpx.AsyncClient, app: Any, endpoint: str, body: dict[str, Any],
                                          schema: str) -> None:
    line = {"custom_id": "only", "method": "POST", "url": endpoint, "body": body}
    batch = await created(client, jsonl([line]), endpoint)
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed" and done["request_counts"]["completed"] == 1, done
    [out] = await lines_of(client, done["output_file_id"])
    assert_matches(out["response"]["body"], schema)
    assert done["error_file_id"] is None


async def test_a_response_in_a_batch_is_stored_for_the_batchs_creator(client: httpx.AsyncClient, app: Any) -> None:
    line = {"custom_id": "r", "method": "POST", "url": "/v1/responses", "body": {"model": MODEL, "input": "echo: x"}}
    batch = await created(client, jsonl([line]), "/v1/responses")
    await drain(app)
    [out] = await lines_of(client, (await retrieve(client, batch["id"]))["output_file_id"])
    response_id = out["response"]["body"]["id"]
    assert (await client.get(f"/v1/responses/{response_id}")).status_code == 200
    other = await client.get(f"/v1/responses/{response_id}", headers={"authorization": f"Bearer {OTHER_KEY}"})
    assert other.status_code == 404


@pytest.mark.parametrize(("lines", "code", "line_no", "param"), [
    ([b"{not json"], "invalid_json_line", 1, None),
    ([chat_line("a", "x"), chat_line("a", "y")], "duplicate_custom_id", 2, "custom_id"),
    ([chat_line("a", "x"), {**chat_line("b", "y"), "url": "/v1/embeddings"}], "url_mismatch", 2, "url"),
    ([chat_line("a", "x"), {**chat_line("b", "y"), "body": {"model": "@cf/qwen/qwq-32b", "messages": []}}],
     "model_mismatch", 2, "body.model"),
    ([{**chat_line("a", "x"), "method": "GET"}], "invalid_method", 1, "method"),
    ([{"method": "POST", "url": CHAT, "body": {}}], "missing_required_parameter", 1, "custom_id"),
    ([{**chat_line("a", "x"), "body": [1]}], "invalid_request", 1, "body"),
    ([b"", b"  "], "empty_file", None, "input_file_id"),
])
async def test_bad_input_fails_the_batch_naming_each_line(client: httpx.AsyncClient, app: Any, lines: list[Any],
                                                          code: str, line_no: int | None, param: str | None) -> None:
    batch = await created(client, jsonl(lines))
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed" and done["failed_at"] is not None, done
    [error] = done["errors"]["data"]
    assert (error["code"], error["line"], error["param"]) == (code, line_no, param), error
    assert done["output_file_id"] is None and done["error_file_id"] is None
    assert done["request_counts"]["total"] == 0


async def test_an_error_names_the_files_line_blank_lines_counted(client: httpx.AsyncClient, app: Any) -> None:
    batch = await created(client, jsonl([chat_line("a", "x"), b"", b"{oops"]))
    await drain(app)
    [error] = (await retrieve(client, batch["id"]))["errors"]["data"]
    assert (error["code"], error["line"]) == ("invalid_json_line", 3)


@pytest.mark.parametrize("lone", ["custom_id", "model", "url", "method", "content"])
async def test_a_line_holding_a_lone_surrogate_is_no_valid_json(client: httpx.AsyncClient, app: Any, lone: str) -> None:
    """A ``\\ud800`` escape without its pair (JSON the HTTP door's parser refuses) makes its line an
    ``invalid_json_line``: it was a validating job failing at each try (a custom_id), or a batch whose stored
    errors quoted it (a model, a url) and answered a 500 when retrieved or listed."""
    line = json.dumps(chat_line("a", "echo: x"))
    line = {"custom_id": line.replace('"a"', '"a\\udfff"', 1), "content": line.replace("echo: x", "echo: \\ud800"),
            "model": line.replace(MODEL, "x\\ud800"), "url": line.replace(CHAT, CHAT + "\\ud800"),
            "method": line.replace('"POST"', '"P\\ud800"')}[lone]
    pair = json.dumps(chat_line("b", "echo: \U0001f600"))  # (json.dumps escapes it as a pair: \ud83d\ude00)
    batch = await created(client, jsonl([chat_line("first", "echo: y"), line.encode(), pair.encode()]))
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed", done
    assert [(e["code"], e["line"]) for e in done["errors"]["data"]] == [("invalid_json_line", 2)]
    assert (await client.get("/v1/batches")).status_code == 200
    batch = await created(client, jsonl([pair.encode()]))  # a pair is a character, as ever
    await drain(app)
    assert (await retrieve(client, batch["id"]))["status"] == "completed"


async def test_a_batch_stored_with_a_lone_surrogate_in_its_errors_is_still_answered(
        client: httpx.AsyncClient, app: Any, db: SQLiteD1) -> None:
    """Stored before lines holding one were refused, such errors made every retrieve and list a 500: the
    replies write U+FFFD in its place instead."""
    batch = await created(client, jsonl([chat_line("a", "echo: x")]))
    await drain(app)
    errors = json.dumps([{"code": "invalid_model", "message": "bad model 'x\ud800'", "param": "body.model",
                          "line": 1}])  # escaped (\\ud800), as JSON text stores it: read back, a lone surrogate
    await db.prepare("UPDATE batches SET errors = ? WHERE id = ?").bind(errors, batch["id"]).run()
    [error] = (await retrieve(client, batch["id"]))["errors"]["data"]
    assert error["message"] == "bad model 'x\ufffd'"
    r = await client.get("/v1/batches")
    assert r.status_code == 200 and r.json()["data"][0]["errors"]["data"][0]["message"] == "bad model 'x\ufffd'"


async def test_finishing_again_after_a_failure_makes_each_file_once(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = await created(client, jsonl([chat_line("ok", "echo: x"), chat_line("bad", "fail:400")]))
    create_file = runner.files.create
    calls = []

    async def second_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1].filename)
        if len(calls) == 2:  # the error file, the first time: the run stops after the output file was made
            raise OSError("R2 is down")
        return await create_file(*args, **kwargs)

    monkeypatch.setattr(runner.files, "create", second_fails)
    await drain(app)  # the job fails once, and is retried
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed" and done["output_file_id"] and done["error_file_id"], done
    assert calls == [f"{batch['id']}_output.jsonl", f"{batch['id']}_error.jsonl", f"{batch['id']}_error.jsonl"]
    outputs = [f for f in (await client.get("/v1/files")).json()["data"] if f["purpose"] == "batch_output"]
    assert len(outputs) == 2


async def test_too_many_requests_fail_the_batch(client: httpx.AsyncClient, app: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MAX_REQUESTS", 3)
    batch = await created(client, jsonl([chat_line(f"r{i}", "x") for i in range(4)]))
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed" and done["errors"]["data"][0]["code"] == "too_many_tasks"


def embed_line(custom_id: str, value: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/embeddings",
            "body": {"model": "@cf/baai/bge-small-en-v1.5", "input": value}}


async def test_an_embeddings_batch_of_more_than_50000_inputs_fails(client: httpx.AsyncClient, app: Any) -> None:
    # OpenAI's CreateBatchRequest.endpoint: "/v1/embeddings batches are also restricted to a maximum of 50,000
    # embedding inputs across all requests in the batch" — here 25 requests of 2,048 inputs each (51,200)
    batch = await created(client, jsonl([embed_line(f"e{i}", ["x"] * 2048) for i in range(25)]), "/v1/embeddings")
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed", done
    [error] = done["errors"]["data"]
    assert (error["code"], error["line"], error["param"]) == ("too_many_tasks", None, "input_file_id")
    assert "51200" in error["message"]


async def test_an_embeddings_batch_counts_each_input_once(client: httpx.AsyncClient, app: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MAX_EMBEDDING_INPUTS", 5)
    # a string, a token array, and strings or token arrays one each: 1 + 1 + 2 + 1 = 5, at the limit
    lines = [embed_line("a", "one"), embed_line("b", [1, 2, 3]), embed_line("c", ["two", "three"]),
             embed_line("d", [[4, 5]])]
    done = await retrieve(client, (await created(client, jsonl(lines), "/v1/embeddings"))["id"])
    await drain(app)
    done = await retrieve(client, done["id"])
    assert done["status"] == "completed" and done["request_counts"]["total"] == 4, done
    failed = await created(client, jsonl([*lines, embed_line("e", "six")]), "/v1/embeddings")
    await drain(app)
    assert (await retrieve(client, failed["id"]))["errors"]["data"][0]["code"] == "too_many_tasks"
    # other endpoints' bodies are not counted
    chats = await created(client, jsonl([chat_line(f"r{i}", "echo: x") for i in range(6)]))
    await drain(app)
    assert (await retrieve(client, chats["id"]))["status"] == "completed"


async def chunked(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        yield data[start:end]


@pytest.mark.parametrize("seed", range(40))
async def test_lines_of_splits_a_stream_however_its_chunks_fall(seed: int) -> None:
    rng = random.Random(seed)
    lines = [bytes(rng.choice(b"ab{} ") for _ in range(rng.choice((0, 1, 5, 30, 120)))) for _ in range(rng.randint(1, 12))]
    data = b"\n".join(lines) + rng.choice((b"", b"\n"))
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 40)))) if len(data) > 1 else []
    expected, offset = [], 0
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") or not data else data.split(b"\n"):
        expected.append((offset, line))
        offset += len(line) + 1
    assert [x async for x in runner.lines_of(chunked(data, cuts))] == expected
    longest = rng.choice((0, 5, 29, 30))
    assert [x async for x in runner.lines_of(chunked(data, cuts), longest)] == [
        (at, line if len(line) <= longest else None) for at, line in expected]


async def test_a_line_longer_than_a_request_body_may_be_fails_the_batch(
        backends: Backends, settings: Settings, clock: Clock) -> None:
    app = create_app(backends, replace(settings, max_json_bytes=2000), clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        batch = await created(client, jsonl([chat_line("a", "x"), chat_line("b", "y" * 3000), chat_line("c", "z")]))
        await drain(app)
        done = await retrieve(client, batch["id"])
    assert done["status"] == "failed", done
    [error] = done["errors"]["data"]
    assert (error["code"], error["line"]) == ("request_too_large", 2), error
    assert "2000 bytes" in error["message"]


async def test_slices_hold_at_most_slice_bytes_of_lines(backends: Backends, settings: Settings, clock: Clock,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE_BYTES", 1500)
    app = create_app(backends, replace(settings, max_json_bytes=1000), clock)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    lines = [chat_line(f"r{i}", f"echo: {i} " + "w" * 500) for i in range(5)]  # ~620 bytes a line: 2 a slice
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        batch = await created(client, jsonl(lines))
        ctx = app.state.ctx
        assert await runner.run(ctx, batch["id"])  # validated
        row = await batches_repo.get(ctx.backends.db, batch["id"], None)
        assert row is not None and row.slices == 3 and row.offsets is not None
        sizes = [b - a for a, b in zip(row.offsets, row.offsets[1:], strict=False)]
        assert all(size <= 1500 for size in sizes) and sum(sizes) == len(jsonl(lines)), sizes
        await drain(app)
        done = await retrieve(client, batch["id"])
        assert done["request_counts"] == {"total": 5, "completed": 5, "failed": 0}
        assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == [
            f"r{i}" for i in range(5)]


async def test_streaming_and_background_lines_fail_alone(client: httpx.AsyncClient, app: Any) -> None:
    batch = await created(client, jsonl([chat_line("s", "x", stream=True), chat_line("ok", "echo: fine")]))
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
    [error] = await lines_of(client, done["error_file_id"])
    assert error["custom_id"] == "s" and error["response"]["body"]["error"]["param"] == "stream"


async def test_create_errors(client: httpx.AsyncClient, app: Any) -> None:
    good = await upload(client, jsonl([chat_line("a", "x")]))
    r = await create(client, good, "/v1/videos")
    assert r.status_code == 400 and r.json()["error"]["param"] == "endpoint"
    r = await create(client, good, "/v1/chat/completion")
    assert r.status_code == 400 and r.json()["error"]["param"] == "endpoint"
    r = await client.post("/v1/batches", json={"input_file_id": good, "endpoint": CHAT, "completion_window": "1h"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "completion_window"
    r = await create(client, "file-nope")
    assert r.status_code == 404 and r.json()["error"]["param"] == "input_file_id"
    r = await create(client, await upload(client, jsonl([chat_line("a", "x")]), purpose="assistants"))
    assert r.status_code == 400 and "purpose 'batch'" in r.json()["error"]["message"]
    other = await upload(client, jsonl([chat_line("a", "x")]), key=OTHER_KEY)
    assert (await create(client, other)).status_code == 404  # another key's file
    r = await create(client, good, output_expires_after={"anchor": "created_at", "seconds": 60})
    assert r.status_code == 400 and "output_expires_after" in r.json()["error"]["param"]
    r = await create(client, good, metadata={"k": 1})
    assert r.status_code == 400
    assert (await client.get("/v1/batches")).json()["data"] == []  # nothing made by the refusals


async def test_batch_ids_are_dated_hex_and_the_older_form_still_serves(
        client: httpx.AsyncClient, backends: Backends, clock: Clock) -> None:
    # OpenAI's: batch_ and 32 hex digits, the first 8 the created_at (openai/openai-dotnet
    # tests/SessionRecords/BatchTests/ListBatchesProtocol.json: "batch_68c98953e66c81909d850866ce61a5a0",
    # "created_at": 1758038355, which is 0x68c98953).
    clock.now = 1758038355
    batch = await created(client, jsonl([chat_line("a", "echo: x")]))
    assert re.fullmatch(r"batch_68c98953[0-9a-f]{24}", batch["id"]) and batch["created_at"] == 1758038355
    # An id made before (batch_ and 24 letters and digits, a millisecond stamp first) is still found, and
    # sorts before the hex ones, as it was made before them.
    old = new_sortable_id("batch_", (clock.now - 60) * 1000)
    row = await batches_repo.get(backends.db, batch["id"], None)
    assert row is not None
    await batches_repo.create(backends.db, replace(row, id=old, created_at=clock.now - 60), clock.now - 60)
    assert (await client.get(f"/v1/batches/{old}")).json()["id"] == old
    assert [b["id"] for b in (await client.get("/v1/batches")).json()["data"]] == [batch["id"], old]
    rest = (await client.get("/v1/batches", params={"after": batch["id"]})).json()
    assert [b["id"] for b in rest["data"]] == [old]
    assert (await client.get("/v1/batches/batch_68c98953e66c81909d850866ce61a5a")).status_code == 404


async def test_ownership_listing_and_not_found(client: httpx.AsyncClient, app: Any, clock: Clock) -> None:
    ids = []
    for _ in range(3):
        ids.append((await created(client, jsonl([chat_line("a", "echo: x")])))["id"])
        clock.now += 1
    page = (await client.get("/v1/batches", params={"limit": 2})).json()
    assert [b["id"] for b in page["data"]] == ids[::-1][:2] and page["has_more"] is True
    rest = (await client.get("/v1/batches", params={"after": page["last_id"]})).json()
    assert [b["id"] for b in rest["data"]] == ids[:1] and rest["has_more"] is False
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    assert (await client.get("/v1/batches", headers=other)).json()["data"] == []
    assert (await client.get(f"/v1/batches/{ids[0]}", headers=other)).status_code == 404
    assert (await client.post(f"/v1/batches/{ids[0]}/cancel", headers=other)).status_code == 404
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert (await client.get(f"/v1/batches/{ids[0]}", headers=admin)).status_code == 200
    r = await client.get("/v1/batches/batch_nope")
    assert r.status_code == 404 and r.json()["error"]["param"] == "batch_id"


async def test_cancel_keeps_what_was_answered(client: httpx.AsyncClient, app: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 2)
    batch = await created(client, jsonl([chat_line(f"r{i}", f"echo: {i}") for i in range(6)]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"])  # validated
    assert await runner.run(ctx, batch["id"])  # the first slice answered
    r = await client.post(f"/v1/batches/{batch['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelling" and r.json()["cancelling_at"] is not None
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "cancelled" and done["cancelled_at"] is not None
    assert done["request_counts"] == {"total": 6, "completed": 2, "failed": 0}
    assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == ["r0", "r1"]
    r = await client.post(f"/v1/batches/{batch['id']}/cancel")  # as at OpenAI: a 409, no param, no code
    assert r.status_code == 409 and r.json() == {"error": {
        "message": "Cannot cancel a batch with status 'cancelled'.", "type": "invalid_request_error", "param": None,
        "code": None}}


async def test_a_finalizing_or_ended_batch_is_not_cancelled(client: httpx.AsyncClient, app: Any) -> None:
    batch = await created(client, jsonl([chat_line("a", "echo: x")]))
    ctx = app.state.ctx
    while (await retrieve(client, batch["id"]))["status"] != "finalizing":
        assert await runner.run(ctx, batch["id"])
    for status in ("finalizing", "completed"):  # OpenAI's 409 (the client's ConflictError), the batch untouched
        r = await client.post(f"/v1/batches/{batch['id']}/cancel")
        assert r.status_code == 409 and r.json()["error"]["message"] == f"Cannot cancel a batch with status '{status}'."
        assert r.json()["error"]["param"] is None and r.json()["error"]["code"] is None
        assert (await retrieve(client, batch["id"]))["cancelling_at"] is None
        await drain(app)
    assert (await retrieve(client, batch["id"]))["status"] == "completed"


async def test_a_batch_past_its_window_expires_with_the_rest_as_errors(
        client: httpx.AsyncClient, app: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 2)
    batch = await created(client, jsonl([chat_line(f"r{i}", f"echo: {i}") for i in range(5)]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"]) and await runner.run(ctx, batch["id"])  # validated, one slice
    clock.now += 86400
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "expired" and done["expired_at"] is not None
    assert done["request_counts"] == {"total": 5, "completed": 2, "failed": 3}
    assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == ["r0", "r1"]
    errors = await lines_of(client, done["error_file_id"])
    assert [(e["custom_id"], e["error"]["code"], e["response"]) for e in errors] == [
        ("r2", "batch_expired", None), ("r3", "batch_expired", None), ("r4", "batch_expired", None)]


async def test_a_redelivered_run_counts_its_slice_once(client: httpx.AsyncClient, app: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 2)
    batch = await created(client, jsonl([chat_line(f"r{i}", f"echo: {i}") for i in range(4)]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"])
    row = await batches_repo.get(ctx.backends.db, batch["id"], None)
    assert row is not None
    await runner.answer_slice(ctx, row)
    await runner.answer_slice(ctx, row)  # the same run delivered twice, from the same state
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["request_counts"] == {"total": 4, "completed": 4, "failed": 0}
    assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == ["r0", "r1", "r2", "r3"]


async def test_a_job_delivered_twice_at_once_answers_each_request_once(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 2)
    batch = await created(client, jsonl([chat_line(f"r{i}", f"echo: {i}") for i in range(4)]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"])  # validated
    answered: list[str] = []
    original = runner._answer

    async def slow(*args: Any) -> Any:
        answered.append(args[-1].custom_id)
        await asyncio.sleep(0.01)  # the other delivery runs meanwhile
        return await original(*args)

    monkeypatch.setattr(runner, "_answer", slow)
    both = await asyncio.gather(runner.run(ctx, batch["id"]), runner.run(ctx, batch["id"]))
    assert sorted(both) == [False, True]  # one answered the slice and goes on; the other found it claimed
    assert answered == ["r0", "r1"]
    await drain(app)
    assert answered == ["r0", "r1", "r2", "r3"]
    done = await retrieve(client, batch["id"])
    assert done["request_counts"] == {"total": 4, "completed": 4, "failed": 0}
    assert len(await lines_of(client, done["output_file_id"])) == 4


async def test_a_slice_claimed_by_a_killed_run_is_taken_after_the_lease_and_a_failed_run_lets_go_at_once(
        client: httpx.AsyncClient, app: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = await created(client, jsonl([chat_line("a", "echo: x")]))
    ctx, db = app.state.ctx, app.state.ctx.backends.db
    assert await runner.run(ctx, batch["id"])
    await db.prepare("UPDATE batches SET claimed_by = 'run_killed', claimed_until = ?").bind(
        int(clock.now) + runner.LEASE).run()
    assert not await runner.run(ctx, batch["id"])  # held by a run that died: this one stops
    clock.now += runner.LEASE
    put = type(ctx.backends.bucket).put
    failures = iter([True])

    async def failing_once(bucket: Any, key: str, *args: Any, **kwargs: Any) -> Any:
        if "/output/" in key and next(failures, False):
            raise OSError("R2 is down")
        return await put(bucket, key, *args, **kwargs)

    monkeypatch.setattr(type(ctx.backends.bucket), "put", failing_once)
    with pytest.raises(OSError):
        await runner.run(ctx, batch["id"])  # the lease lapsed: taken; then R2 fails, and the claim is let go
    assert await runner.run(ctx, batch["id"])  # the retry takes it at once
    while await runner.run(ctx, batch["id"]):  # finalized
        pass
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed" and done["request_counts"]["completed"] == 1


async def test_a_slice_answered_while_the_batch_was_cancelled_leaves_nothing_behind(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = await created(client, jsonl([chat_line("a", "echo: x"), chat_line("b", "echo: y")]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"])
    original = runner._answer

    async def cancelled_meanwhile(*args: Any) -> Any:
        await client.post(f"/v1/batches/{batch['id']}/cancel")
        return await original(*args)

    monkeypatch.setattr(runner, "_answer", cancelled_meanwhile)
    assert not await runner.run(ctx, batch["id"])  # answered, not counted: its lines deleted
    monkeypatch.setattr(runner, "_answer", original)
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "cancelled" and done["request_counts"]["completed"] == 0
    assert done["output_file_id"] is None
    assert not await ctx.backends.bucket.list(runner.PARTS_PREFIX)


async def test_the_cleanup_resumes_a_batch_whose_job_was_lost(client: httpx.AsyncClient, app: Any, clock: Clock,
                                                              jobs: InProcessJobs,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    async def lost(job: Any, *, delay: int = 0) -> None:
        return None

    with monkeypatch.context() as losing:
        losing.setattr(jobs, "send", lost)  # the message lost
        batch = await created(client, jsonl([chat_line("a", "echo: x")]))
    assert await drain_count(app) == 0
    clock.now += runner.STALLED_AFTER + 1
    counts = await run_scheduled(app.state.ctx.backends, app.state.ctx.settings, now=int(clock.now))
    assert counts["batches_resumed"] == 1
    await drain(app)
    assert (await retrieve(client, batch["id"]))["status"] == "completed"


async def test_the_input_file_deleted_mid_batch_fails_it(client: httpx.AsyncClient, app: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 1)
    batch = await created(client, jsonl([chat_line("a", "echo: 1"), chat_line("b", "echo: 2")]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"]) and await runner.run(ctx, batch["id"])
    assert (await client.delete(f"/v1/files/{batch['input_file_id']}")).status_code == 200
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed" and done["errors"]["data"][0]["code"] == "invalid_file"
    assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == ["a"]


async def test_a_batch_of_a_revoked_key_stops_with_what_was_answered(
        client: httpx.AsyncClient, app: Any, backends: Backends, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SLICE", 1)
    batch = await created(client, jsonl([chat_line("a", "echo: 1"), chat_line("b", "echo: 2")]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"]) and await runner.run(ctx, batch["id"])  # validated, "a" answered
    revoked = create_app(backends, Settings(access_token=(OTHER_KEY,), admin_tokens=(ADMIN_KEY,)), clock)
    await drain(revoked)  # the same queue and storage, the key that made the batch no longer configured
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed" and done["errors"]["data"][0]["code"] == "invalid_api_key"
    assert done["request_counts"] == {"total": 2, "completed": 1, "failed": 0}
    assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == ["a"]


async def test_an_admin_key_made_plain_runs_its_batch_as_a_plain_key(
        client: httpx.AsyncClient, app: Any, backends: Backends, clock: Clock) -> None:
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    other_file = await upload(client, jsonl([chat_line("x", "echo: x")]), key=OTHER_KEY)
    line = {"custom_id": "r", "method": "POST", "url": "/v1/responses",
            "body": {"model": MODEL, "input": [{"role": "user", "content": [
                {"type": "input_file", "file_id": other_file}]}]}}
    file_id = await upload(client, jsonl([line]), key=ADMIN_KEY)
    r = await client.post("/v1/batches", headers=admin, json={
        "input_file_id": file_id, "endpoint": "/v1/responses", "completion_window": "24h"})
    assert r.status_code == 200, r.text
    demoted = create_app(backends, Settings(access_token=(KEY, OTHER_KEY, ADMIN_KEY)), clock)
    await drain(demoted)
    done = (await client.get(f"/v1/batches/{r.json()['id']}", headers=admin)).json()
    assert done["request_counts"] == {"total": 1, "completed": 0, "failed": 1}, done  # another key's file: unseen
    [error] = [json.loads(x) for x in (await client.get(f"/v1/files/{done['error_file_id']}/content",
                                                        headers=admin)).content.splitlines()]
    assert error["response"]["status_code"] == 404


async def test_without_a_queue_a_batch_is_refused(backends: Backends, settings: Settings) -> None:
    app = create_app(Backends(ai=backends.ai, db=backends.db, bucket=backends.bucket), settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        file_id = await upload(client, jsonl([chat_line("a", "x")]))
        r = await create(client, file_id)
    assert r.status_code == 400 and "Queue" in r.json()["error"]["message"]


async def test_lines_of_a_run_that_failed_before_its_slice_was_counted_are_not_in_the_files(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A run that wrote its slice's lines and then failed (D1 down, or killed) before counting the slice: its
    # retry answers the slice again; the files hold each request once, as the counts do.
    monkeypatch.setattr(runner, "SLICE", 2)
    batch = await created(client, jsonl([chat_line(f"r{i}", f"echo: {i}") for i in range(4)] + [
        chat_line("bad", "fail:400")]))
    slice_done = batches_repo.slice_done
    failures = iter([True])

    async def failing_once(*args: Any, **kwargs: Any) -> bool:
        if next(failures, False):
            raise OSError("D1 is down")
        return await slice_done(*args, **kwargs)

    monkeypatch.setattr(batches_repo, "slice_done", failing_once)
    await drain(app)  # the first slice's run fails after writing its lines; the job is retried
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed" and done["request_counts"] == {"total": 5, "completed": 4, "failed": 1}
    assert [line["custom_id"] for line in await lines_of(client, done["output_file_id"])] == ["r0", "r1", "r2", "r3"]
    assert [line["custom_id"] for line in await lines_of(client, done["error_file_id"])] == ["bad"]
    assert not await app.state.ctx.backends.bucket.list(runner.PARTS_PREFIX)


async def test_lines_written_while_the_batch_was_being_cancelled_are_not_in_the_files(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The run's lines are in R2, the batch is cancelled and its files made before the run finds its slice not
    # counted: those lines are not in the cancelled batch's files (its counts leave them out).
    batch = await created(client, jsonl([chat_line("a", "echo: x"), chat_line("b", "echo: y")]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"])
    slice_done = batches_repo.slice_done

    async def cancelled_and_finished_first(*args: Any, **kwargs: Any) -> bool:
        await client.post(f"/v1/batches/{batch['id']}/cancel")
        await drain(app)
        return await slice_done(*args, **kwargs)

    monkeypatch.setattr(batches_repo, "slice_done", cancelled_and_finished_first)
    assert not await runner.run(ctx, batch["id"])
    done = await retrieve(client, batch["id"])
    assert done["status"] == "cancelled" and done["request_counts"] == {"total": 2, "completed": 0, "failed": 0}
    assert done["output_file_id"] is None
    assert not await ctx.backends.bucket.list(runner.PARTS_PREFIX)


async def test_a_slice_counted_while_the_batch_expires_is_in_its_files_and_counts(
        client: httpx.AsyncClient, app: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    # A run answering a slice when the window passes: either its slice counts (its lines in the output file)
    # or it does not (its requests expired); never counted as answered and as expired both.
    monkeypatch.setattr(runner, "SLICE", 2)
    batch = await created(client, jsonl([chat_line(f"r{i}", f"echo: {i}") for i in range(4)]))
    ctx = app.state.ctx
    assert await runner.run(ctx, batch["id"])  # validated
    reached, gate = asyncio.Event(), asyncio.Event()
    slice_done, join = batches_repo.slice_done, runner._join

    async def waiting(*args: Any, **kwargs: Any) -> bool:
        reached.set()
        await gate.wait()
        return await slice_done(*args, **kwargs)

    async def joining(*args: Any, **kwargs: Any) -> Any:
        gate.set()  # the slice counted while its lines are joined
        await asyncio.sleep(0.01)
        return await join(*args, **kwargs)

    monkeypatch.setattr(batches_repo, "slice_done", waiting)
    monkeypatch.setattr(runner, "_join", joining)
    answering = asyncio.create_task(runner.run(ctx, batch["id"]))
    await reached.wait()
    clock.now += 86400
    await runner.run(ctx, batch["id"])  # the window passed
    gate.set()
    await answering
    while await runner.run(ctx, batch["id"]):
        pass
    done = await retrieve(client, batch["id"])
    counts = done["request_counts"]
    assert done["status"] == "expired" and counts["completed"] + counts["failed"] == counts["total"] == 4, done
    assert len(await lines_of(client, done["output_file_id"])) == counts["completed"]
    assert len(await lines_of(client, done["error_file_id"])) == counts["failed"]


async def test_a_run_makes_at_most_one_file(client: httpx.AsyncClient, app: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Each file reads one object a slice (500 for 50,000 requests): both in one run would pass the 1,000 calls a
    # Worker invocation may make.
    monkeypatch.setattr(runner, "SLICE", 1)
    batch = await created(client, jsonl([chat_line("a", "echo: x"), chat_line("b", "fail:400")]))
    ctx, join = app.state.ctx, runner._join
    joined: list[str] = []

    async def joining(ctx: Any, row: Any, kind: str, *args: Any) -> Any:
        joined.append(kind)
        return await join(ctx, row, kind, *args)

    monkeypatch.setattr(runner, "_join", joining)
    runs = []
    while await runner.run(ctx, batch["id"]):
        runs.append(joined[:])
        joined.clear()
    runs.append(joined)
    assert max(len(kinds) for kinds in runs) == 1 and [k for kinds in runs for k in kinds] == ["output", "errors"]
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed" and done["output_file_id"] and done["error_file_id"]


async def test_a_failed_batchs_errors_quote_long_values_clipped(client: httpx.AsyncClient, app: Any) -> None:
    # 100 errors each quoting a 100,000-character custom_id would be 10 MB in one D1 value (D1 stores 2 MB a
    # row): the job would fail at every run, the batch left validating.
    long_id = "x" * 100_000
    batch = await created(client, jsonl([chat_line(long_id, "a") for _ in range(3)]))
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "failed" and [e["code"] for e in done["errors"]["data"]] == ["duplicate_custom_id"] * 2
    assert all(len(e["message"]) < 300 for e in done["errors"]["data"])


async def test_a_run_that_fails_deleting_the_slices_objects_is_run_again(
        client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = await created(client, jsonl([chat_line("a", "echo: x")]))
    bucket = app.state.ctx.backends.bucket
    delete = type(bucket).delete
    failures = iter([True])

    async def failing_once(self: Any, keys: Any) -> None:
        if next(failures, False):
            raise OSError("R2 is down")
        await delete(self, keys)

    monkeypatch.setattr(type(bucket), "delete", failing_once)
    await drain(app)
    done = await retrieve(client, batch["id"])
    assert done["status"] == "completed" and len(await lines_of(client, done["output_file_id"])) == 1
    assert not await bucket.list(runner.PARTS_PREFIX)  # not left behind by the batch that ended
