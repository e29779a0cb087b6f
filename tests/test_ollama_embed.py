"""``POST /api/embed`` and ``POST /api/embeddings`` (Ollama) in-process over the simulator."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

URL = "/api/embed"


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


async def test_single_input(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "bge-m3", "input": "Why is the sky blue?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "bge-m3"
    [vector] = body["embeddings"]
    assert len(vector) == 1024
    assert isinstance(body["total_duration"], int) and isinstance(body["load_duration"], int)
    assert body["prompt_eval_count"] >= 1


async def test_many_inputs_in_order_and_same_as_openai(client: httpx.AsyncClient) -> None:
    texts = ["first", "second", "third"]
    r = await client.post(URL, json={"model": "@cf/baai/bge-small-en-v1.5", "input": texts})
    vectors = r.json()["embeddings"]
    assert len(vectors) == 3 and all(len(v) == 384 for v in vectors)
    assert vectors[0] != vectors[1]
    o = await client.post("/v1/embeddings", json={"model": "@cf/baai/bge-small-en-v1.5", "input": texts})
    assert [d["embedding"] for d in o.json()["data"]] == vectors


async def test_empty_input(client: httpx.AsyncClient, simulator: Simulator) -> None:
    for empty in ([], "", None):
        r = await client.post(URL, json={"model": "bge-m3", "input": empty})
        # Ollama's EmbedHandler (server/routes.go) answers api.EmbedResponse{Model, Embeddings: [][]float32{}}
        # before it embeds: its durations and prompt_eval_count are zero, omitted (omitempty, api/types.go)
        assert r.status_code == 200 and r.json() == {"model": "bge-m3", "embeddings": []}
    assert simulator.calls == []
    r = await client.post(URL, json={"model": "bge-m3", "input": ["a", ""]})
    assert r.status_code == 400


async def test_dimensions(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "embeddinggemma", "input": "x", "dimensions": 256})
    [vector] = r.json()["embeddings"]
    assert len(vector) == 256 and abs(norm(vector) - 1) < 1e-9
    # Ollama's EmbedHandler (server/routes.go) shortens any model's vectors to 0 < dimensions < their length,
    # renormalised, and leaves them whole otherwise; it never refuses dimensions.
    r = await client.post(URL, json={"model": "bge-m3", "input": "x", "dimensions": 256})
    assert r.status_code == 200, r.text
    [vector] = r.json()["embeddings"]
    assert len(vector) == 256 and abs(norm(vector) - 1) < 1e-6
    for dimensions in (0, -1, 1024, 5000):
        r = await client.post(URL, json={"model": "bge-m3", "input": "x", "dimensions": dimensions})
        assert r.status_code == 200 and len(r.json()["embeddings"][0]) == 1024, dimensions


async def test_truncate_false_refuses_long_input(client: httpx.AsyncClient) -> None:
    long = "word " * 1000  # ~1250 estimated tokens; bge-small takes 512
    r = await client.post(URL, json={"model": "bge-small-en-v1.5", "input": long, "truncate": False})
    assert r.status_code == 400 and r.json() == {"error": "the input length exceeds the context length"}  # Ollama's
    r = await client.post(URL, json={"model": "bge-small-en-v1.5", "input": long})
    assert r.status_code == 200


async def test_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "llama3.1", "input": "x"})
    assert r.status_code == 400 and r.json() == {"error": '"llama3.1" does not support embeddings'}
    r = await client.post(URL, json={"model": "all-minilm", "input": "x"})
    assert r.status_code == 404 and r.json() == {"error": "model 'all-minilm' not found"}
    # Ollama's EmbedHandler (server/routes.go): a string, a list of strings or null, else "invalid input type".
    for value in ([1, 2], ["a", 2], 5, {"text": "a"}, True, [["a"]]):
        r = await client.post(URL, json={"model": "bge-m3", "input": value})
        assert r.status_code == 400 and r.json() == {"error": "invalid input type"}, value
    r = await client.post(URL, json={"model": "bge-m3", "input": None})
    assert r.status_code == 200 and r.json()["embeddings"] == []


async def test_a_missing_model_is_ollamas_answer(client: httpx.AsyncClient) -> None:
    """No default embedding model: a missing (or empty) model is what Ollama answers — /api/embed's 404
    (EmbedHandler, server/routes.go) and /api/embeddings' 400 (EmbeddingsHandler)."""
    for body in ({"input": "x"}, {"model": "", "input": "x"}):
        r = await client.post(URL, json=body)
        assert r.status_code == 404 and r.json() == {"error": "model '' not found"}, body
    for body in ({"prompt": "x"}, {"model": "", "prompt": "x"}, {"model": " ", "prompt": "x"}):
        r = await client.post("/api/embeddings", json=body)
        assert r.status_code == 400 and r.json() == {"error": "model is required"}, body


async def test_legacy_embeddings(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/embeddings", json={"model": "bge-base-en-v1.5:latest", "prompt": "Here is an article"})
    assert r.status_code == 200
    assert set(r.json()) == {"embedding"} and len(r.json()["embedding"]) == 768
    r2 = await client.post(URL, json={"model": "bge-base-en-v1.5", "input": "Here is an article"})
    assert r2.json()["embeddings"][0] == r.json()["embedding"]
    r = await client.post("/api/embeddings", json={"model": "bge-base-en-v1.5", "prompt": ""})
    assert r.json() == {"embedding": []}


async def test_an_option_of_the_wrong_type_is_ollamas_error(client: httpx.AsyncClient) -> None:
    """Embed takes options too, checked as Ollama's Options.FromMap (api/types.go) checks them."""
    for url, text in ((URL, "input"), ("/api/embeddings", "prompt")):
        r = await client.post(url, json={"model": "bge-m3", text: "x", "options": {"num_ctx": "2048"}})
        assert r.status_code == 400 and r.json() == {"error": 'option "num_ctx" must be of type integer'}, url


async def test_embed_scales_every_vector_to_unit_length_and_the_older_endpoint_does_not(
    client: httpx.AsyncClient, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Ollama's EmbedHandler normalises each embedding (server/routes.go) and its EmbeddingsHandler does
    not; here a model whose vectors are not of unit length (three times it)."""
    run = simulator.run

    async def longer(model: str, inputs: Any, options: Any = None) -> Any:
        out = await run(model, inputs, options)
        return {**out, "data": [[3 * x for x in vector] for vector in out["data"]]}

    monkeypatch.setattr(simulator, "run", longer)
    embedded = (await client.post(URL, json={"model": "bge-m3", "input": ["a", "b"]})).json()["embeddings"]
    assert [round(norm(v), 5) for v in embedded] == [1.0, 1.0]
    legacy = (await client.post("/api/embeddings", json={"model": "bge-m3", "prompt": "a"})).json()["embedding"]
    assert round(norm(legacy), 4) == 3.0
    assert embedded[0] == pytest.approx([x / 3 for x in legacy], rel=1e-5, abs=1e-7)
