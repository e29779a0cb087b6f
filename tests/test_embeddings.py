"""``POST /v1/embeddings`` in-process over the simulator."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import pytest

from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.embeddings import vector
from openai_workers_ai.workers_ai.embeddings import shorten

from .openapi import assert_matches


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


async def test_single_string_float(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hello world"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateEmbeddingResponse")
    assert body["object"] == "list" and body["model"] == "@cf/baai/bge-base-en-v1.5"
    [item] = body["data"]
    assert item["object"] == "embedding" and item["index"] == 0
    assert len(item["embedding"]) == 768
    assert norm(item["embedding"]) == pytest.approx(1.0)
    assert item["embedding"] == pytest.approx(vector("@cf/baai/bge-base-en-v1.5", "hello world", 768))
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


async def test_list_keeps_order_and_index(client: httpx.AsyncClient) -> None:
    texts = ["alpha", "beta", "gamma", "alpha"]
    r = await client.post("/v1/embeddings", json={"model": "@cf/baai/bge-small-en-v1.5", "input": texts})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [d["index"] for d in data] == [0, 1, 2, 3]
    for d, text in zip(data, texts, strict=True):
        assert d["embedding"] == pytest.approx(vector("@cf/baai/bge-small-en-v1.5", text, 384))
    assert data[0]["embedding"] == data[3]["embedding"] != data[1]["embedding"]


async def test_large_batch_is_split_by_max_batch(client: httpx.AsyncClient, simulator: Simulator) -> None:
    texts = [f"text number {i}" for i in range(70)]
    r = await client.post("/v1/embeddings", json={"model": "@cf/qwen/qwen3-embedding-0.6b", "input": texts})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert len(data) == 70 and [d["index"] for d in data] == list(range(70))
    assert data[69]["embedding"] == pytest.approx(vector("@cf/qwen/qwen3-embedding-0.6b", texts[69], 1024))
    sizes = [len(inputs["text"]) for model, inputs in simulator.calls]
    assert sizes == [32, 32, 6]


async def test_base64_is_little_endian_float32(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/embeddings", json={"model": "text-embedding-3-large", "input": ["x", "y"], "encoding_format": "base64"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches({**body, "data": []}, "CreateEmbeddingResponse")
    raw = base64.b64decode(body["data"][1]["embedding"])
    floats = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(floats) == 1024
    assert floats == pytest.approx(vector("@cf/baai/bge-large-en-v1.5", "y", 1024), abs=1e-6)


@pytest.mark.parametrize(
    ("model", "dim", "family_keys"),
    [
        ("@cf/baai/bge-m3", 1024, None),
        ("@cf/google/embeddinggemma-300m", 768, None),
        ("@cf/qwen/qwen3-embedding-0.6b", 1024, None),
        ("@cf/pfnet/plamo-embedding-1b", 2048, None),
        ("text-embedding-ada-002", 768, None),
    ],
)
async def test_every_embedding_model(client: httpx.AsyncClient, model: str, dim: int, family_keys: None) -> None:
    r = await client.post("/v1/embeddings", json={"model": model, "input": ["one", "two"]})
    assert r.status_code == 200, r.text
    assert [len(d["embedding"]) for d in r.json()["data"]] == [dim, dim]


async def test_dimensions_truncates_and_renormalises_matryoshka(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/embeddings", json={"model": "@cf/google/embeddinggemma-300m", "input": "hi", "dimensions": 256}
    )
    assert r.status_code == 200, r.text
    v = r.json()["data"][0]["embedding"]
    assert len(v) == 256 and norm(v) == pytest.approx(1.0)
    full = vector("@cf/google/embeddinggemma-300m", "hi", 768)
    assert v == pytest.approx(shorten(full, 256))
    assert v != pytest.approx(full[:256])


async def test_dimensions_equal_to_native_is_accepted(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hi", "dimensions": 768})
    assert r.status_code == 200, r.text
    assert len(r.json()["data"][0]["embedding"]) == 768


@pytest.mark.parametrize(
    ("model", "dimensions", "fragment"),
    [
        ("text-embedding-3-small", 256, "does not support specifying dimensions"),
        ("@cf/qwen/qwen3-embedding-0.6b", 2048, "at most 1024"),
    ],
)
async def test_dimensions_errors(client: httpx.AsyncClient, model: str, dimensions: int, fragment: str) -> None:
    r = await client.post("/v1/embeddings", json={"model": model, "input": "hi", "dimensions": dimensions})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == "dimensions" and fragment in error["message"]
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("inputs", ["foo", ["prompt"], [[1]]])
async def test_dimensions_below_one_is_openais_recorded_400(client: httpx.AsyncClient, inputs: object) -> None:
    # openai/openai-dotnet tests/SessionRecords/EmbeddingsTests/BadOptions.json and
    # GenerateMultipleEmbeddingsWithBadOptions(UsingStrings|UsingIntegers).json: the same 400 for each input shape.
    r = await client.post("/v1/embeddings", json={"input": inputs, "model": "text-embedding-3-small",
                                                  "encoding_format": "base64", "dimensions": -42})
    assert r.status_code == 400
    assert r.json() == {"error": {"message": "-42 is less than the minimum of 1 - 'dimensions'",
                                  "type": "invalid_request_error", "param": None, "code": None}}
    r = await client.post("/v1/embeddings", json={"input": "hi", "model": "@cf/google/embeddinggemma-300m",
                                                  "dimensions": 0})
    assert r.json()["error"]["message"] == "0 is less than the minimum of 1 - 'dimensions'"


@pytest.mark.parametrize(
    ("payload", "param", "fragment"),
    [
        ({"input": ""}, "input", "empty string"),
        ({"input": []}, "input", "empty array"),
        ({"input": ["ok", ""]}, "input[1]", "empty string"),
        ({"input": ["ok", 3.5]}, "input[1]", "expected a string"),
        ({"input": {"text": "x"}}, "input", "expected a string"),
        ({"input": [True, False]}, "input[0]", "expected a string"),
        ({"input": [[1212, 318], []]}, "input[1]", "empty array"),
        ({"input": [[1212, 318], [257, "x"]]}, "input[1][1]", "expected an integer"),
        ({"input": [[1212], "x"]}, "input[1]", "expected an array"),  # never mixed
        ({"input": ["x", [1212]]}, "input[1]", "expected a string"),
        ({"input": [1] * 2049}, "input", "maximum length 2048"),  # the spec's maxItems for one token array
        ({"input": [[1] * 8193]}, "input", "maximum context length is 8192"),
        ({"input": [[1] * 8000] * 38}, "input", "max 300000 tokens"),
        ({"input": ["x"] * 2049}, "input", "maximum length 2048"),
        ({}, "input", "Missing required parameter"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format", "Invalid value"),
        ({"input": "x", "bogus": 1}, "bogus", "Unrecognized request argument"),
    ],
)
async def test_input_errors(client: httpx.AsyncClient, payload: dict, param: str, fragment: str) -> None:
    r = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", **payload})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and fragment in error["message"], error


async def test_unknown_and_wrong_task_models(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": "no-such-model", "input": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = await client.post("/v1/embeddings", json={"model": "gpt-4o-mini", "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


async def test_upstream_failure_maps_to_status(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["ok", "fail:503"]})
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "server_error"


async def test_mounted_under_llm_openai(client: httpx.AsyncClient) -> None:
    r = await client.post("/llm/openai/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    assert r.status_code == 200


async def test_requires_auth(app) -> None:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as anon:
        r = await anon.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    assert r.status_code == 401


# ---- the simulator's own schema checks ---------------------------------------------


async def test_simulator_validates_like_workers_ai(simulator: Simulator) -> None:
    from openai_workers_ai.errors import UpstreamError

    with pytest.raises(UpstreamError):
        await simulator.run("@cf/baai/bge-small-en-v1.5", {"text": ["x"] * 101})
    with pytest.raises(UpstreamError):
        await simulator.run("@cf/baai/bge-small-en-v1.5", {"text": [""]})
    with pytest.raises(UpstreamError):
        await simulator.run("@cf/baai/bge-small-en-v1.5", {"text": "x", "pooling": "max"})
    with pytest.raises(UpstreamError):
        await simulator.run("@cf/qwen/qwen3-embedding-0.6b", {"text": ["x"] * 33})
    out = await simulator.run("@cf/baai/bge-small-en-v1.5", {"text": "x", "pooling": "cls"})
    assert isinstance(out, dict) and out["pooling"] == "cls" and out["shape"] == [1, 384]
    out = await simulator.run("@cf/google/embeddinggemma-300m", {"text": ""})
    assert isinstance(out, dict) and set(out) == {"shape", "data"}
    out = await simulator.run("@cf/baai/bge-m3", {"query": "q", "contexts": [{"text": "a"}, {"text": "q"}]})
    assert isinstance(out, dict)
    scores = {r["id"]: r["score"] for r in out["response"]}
    assert scores[1] == pytest.approx(1.0) and abs(scores[0]) < 0.5


async def test_concurrency_is_bounded(app, simulator: Simulator, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    import asyncio

    from openai_workers_ai.workers_ai.embeddings import MAX_CONCURRENT

    in_flight = peak = 0
    real_run = simulator.run

    async def slow_run(model: str, inputs: dict, options: dict | None = None):  # noqa: ANN202
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        try:
            return await real_run(model, inputs, options)
        finally:
            in_flight -= 1

    simulator.run = slow_run  # type: ignore[method-assign]
    texts = [f"t{i}" for i in range(32 * 10)]
    r = await client.post("/v1/embeddings", json={"model": "@cf/qwen/qwen3-embedding-0.6b", "input": texts,
                                                  "encoding_format": "base64"})
    assert r.status_code == 200 and len(r.json()["data"]) == 320
    assert peak == MAX_CONCURRENT
