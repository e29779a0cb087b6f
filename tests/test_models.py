"""``GET /v1/models`` and ``GET /v1/models/{model}``: the catalog plus aliases, OpenAI's shape."""

from __future__ import annotations

import httpx
import pytest

from openai_workers_ai.app import create_app
from openai_workers_ai.catalog import Catalog
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .conftest import KEY
from .openapi import assert_matches

PREFIXES = ["/v1", "/llm/openai/v1"]
LLAMA = "@cf/meta/llama-3.1-8b-instruct"


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_list_has_every_model_and_alias(client: httpx.AsyncClient, prefix: str) -> None:
    r = await client.get(f"{prefix}/models")
    assert r.status_code == 200
    body = r.json()
    assert_matches(body, "ListModelsResponse")
    catalog = Catalog()
    ids = [m["id"] for m in body["data"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(catalog.models) | set(catalog.aliases)
    for model in body["data"]:
        assert_matches(model, "Model")
        assert model["object"] == "model" and isinstance(model["created"], int)
        target = catalog.models[model.get("alias_for", model["id"])]
        assert model["task"] == target.task
        assert model["context_window"] == target.context_window
        assert model["capabilities"] == sorted(target.capabilities)


async def test_aliases_name_their_target(client: httpx.AsyncClient) -> None:
    data = {m["id"]: m for m in (await client.get("/v1/models")).json()["data"]}
    for alias in ("gpt-4o-mini", "gpt-3.5-turbo"):
        target = data[alias]["alias_for"]
        assert target in data and "alias_for" not in data[target]
        assert data[alias]["owned_by"] == data[target]["owned_by"]


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_retrieve_id_with_slashes(client: httpx.AsyncClient, prefix: str) -> None:
    r = await client.get(f"{prefix}/models/{LLAMA}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "Model")
    assert body["id"] == LLAMA and body["owned_by"] == "meta"
    assert body["task"] == "text-generation" and "streaming" in body["capabilities"]
    assert "alias_for" not in body


@pytest.mark.parametrize("name", ["gpt-4o-mini", "GPT-4O-MINI"])
async def test_retrieve_alias(client: httpx.AsyncClient, name: str) -> None:
    body = (await client.get(f"/v1/models/{name}")).json()
    assert_matches(body, "Model")
    assert body["id"] == "gpt-4o-mini"
    assert body["alias_for"] == Catalog().aliases["gpt-4o-mini"]


async def test_retrieve_matches_list_entry(client: httpx.AsyncClient) -> None:
    listed = {m["id"]: m for m in (await client.get("/v1/models")).json()["data"]}
    for model_id in (LLAMA, "gpt-4o-mini", "@cf/baai/bge-base-en-v1.5"):
        assert (await client.get(f"/v1/models/{model_id}")).json() == listed[model_id]


@pytest.mark.parametrize("name", ["gpt-9", "@cf/acme/not-in-catalog", "", "@cf/meta/llama-3.1-8b-instruct/extra"])
async def test_retrieve_unknown(client: httpx.AsyncClient, name: str) -> None:
    r = await client.get(f"/v1/models/{name}")
    assert r.status_code == 404, r.text
    assert_matches(r.json(), "ErrorResponse")
    assert r.json()["error"]["code"] == "model_not_found"


async def test_configured_aliases_are_listed(backends: Backends) -> None:
    settings = Settings(access_token=(KEY,), model_aliases={"house-model": LLAMA, "brand-new": "@cf/acme/brand-new"})
    transport = httpx.ASGITransport(app=create_app(backends, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        data = {m["id"]: m for m in (await c.get("/v1/models")).json()["data"]}
        assert data["house-model"]["alias_for"] == LLAMA
        assert (await c.get("/v1/models/house-model")).json()["alias_for"] == LLAMA
        # an alias for an uncatalogued id is served (passed through), so it is listed too
        assert data["brand-new"]["alias_for"] == "@cf/acme/brand-new"
        assert data["brand-new"]["owned_by"] == "acme" and data["brand-new"]["task"] == "text-generation"
        r = await c.get("/v1/models/brand-new")
        assert r.status_code == 200 and r.json() == data["brand-new"]
        assert "@cf/acme/brand-new" not in data  # the catalog itself lists only what it knows
        assert (await c.get("/v1/models/@cf/acme/brand-new")).status_code == 404


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/models", json={})
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
