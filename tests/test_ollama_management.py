"""Ollama's model management routes and liveness probes: hosted models, clear answers."""

from __future__ import annotations

import json

import httpx

from openai_workers_ai.routes.ollama.version import OLLAMA_VERSION


async def test_pull_known_model_succeeds(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/pull", json={"model": "llama3.1:8b"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in r.text.splitlines()] == [{"status": "success"}]
    r = await client.post("/api/pull", json={"model": "llama3.1:8b", "stream": False})
    assert r.json() == {"status": "success"}


async def test_pull_unknown_model(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/pull", json={"model": "mixtral"})
    assert r.status_code == 404 and r.json() == {"error": "model 'mixtral' not found"}
    for body in ({}, {"model": ""}, {"name": " "}):  # PullHandler's words (server/routes.go)
        r = await client.post("/api/pull", json=body)
        assert r.status_code == 400 and r.json() == {"error": "invalid model name"}, body


async def test_push_create_copy_delete_refused(client: httpx.AsyncClient) -> None:
    for method, path, body in [
        ("POST", "/api/push", {"model": "llama3.1"}),
        ("POST", "/api/create", {"model": "mario", "from": "llama3.1"}),
        ("POST", "/api/copy", {"source": "llama3.1", "destination": "mine"}),
        ("DELETE", "/api/delete", {"model": "llama3.1"}),
        ("POST", "/api/blobs/sha256:abc", None),
    ]:
        r = await client.request(method, path, json=body)
        assert r.status_code == 403, path
        if method != "HEAD":
            assert "hosted by Cloudflare Workers AI" in r.json()["error"], path


async def test_head_blob_is_not_found(client: httpx.AsyncClient) -> None:
    # No blob is ever stored here: HEAD answers 404 as Ollama's HeadBlobHandler does for a missing blob, so
    # `ollama create` goes on to POST the blob and shows the 403 saying why, instead of failing on a bare 403.
    r = await client.head("/api/blobs/sha256:abc")
    assert r.status_code == 404


async def test_unknown_models_are_404(client: httpx.AsyncClient) -> None:
    r = await client.request("DELETE", "/api/delete", json={"model": "mixtral"})
    assert r.status_code == 404 and r.json() == {"error": "model 'mixtral' not found"}
    # As Ollama's CopyHandler (server/routes.go): both names checked, then the source looked up.
    r = await client.post("/api/copy", json={"source": "mixtral", "destination": "x"})
    assert r.status_code == 404 and r.json() == {"error": 'model "mixtral" not found'}
    r = await client.post("/api/copy", json={"destination": "x"})
    assert r.status_code == 400 and r.json() == {"error": 'source "" is invalid'}
    r = await client.post("/api/copy", json={"source": "mixtral"})
    assert r.status_code == 400 and r.json() == {"error": 'destination "" is invalid'}


async def test_version_and_root_are_public(app) -> None:  # noqa: ANN001
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for prefix in ("", "/llm/ollama"):
            r = await c.get(f"{prefix}/api/version")
            assert r.status_code == 200 and r.json() == {"version": OLLAMA_VERSION}
            r = await c.get(f"{prefix}/")
            assert r.status_code == 200 and r.text == "Ollama is running"
            r = await c.head(f"{prefix}/")
            assert r.status_code == 200 and r.text == ""
        r = await c.get("/api/tags")
        assert r.status_code == 401
