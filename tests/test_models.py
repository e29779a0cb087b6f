"""``GET /v1/models`` and ``GET /v1/models/{model}``: the catalog plus aliases, OpenAI's shape."""

from __future__ import annotations

import typing

import httpx
import pytest
from openai.types import audio_model, embedding_model, image_model, moderation_model
from openai.types.audio import speech_model
from openai.types.shared import chat_model, responses_model

from openai_workers_ai.app import create_app
from openai_workers_ai.catalog import Catalog
from openai_workers_ai.catalog.catalog import SNAPSHOT
from openai_workers_ai.errors import ModelNotFound
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


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("name", ["gpt-9", "@cf/acme/not-in-catalog", "", "@cf/meta/llama-3.1-8b-instruct/extra",
                                  "ft:gpt-4o-mini:acme:mine:abc123"])
async def test_retrieve_or_delete_unknown(client: httpx.AsyncClient, method: str, name: str) -> None:
    r = await client.request(method, f"/v1/models/{name}")
    assert r.status_code == 404, r.text
    assert_matches(r.json(), "ErrorResponse")
    # openai/openai-dotnet tests/SessionRecords/ModelsTests/GetModelCanParseServiceError.json and
    # DeleteModelCanParseServiceError.json (GET and DELETE /v1/models/fake_id)
    assert r.json() == {"error": {"message": f"The model '{name}' does not exist", "type": "invalid_request_error",
                                  "param": "model", "code": "model_not_found"}}


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


@pytest.mark.parametrize("name", [LLAMA, "gpt-4o-mini", "GPT-4O-MINI", "@cf/baai/bge-base-en-v1.5"])
async def test_delete_a_served_model_is_refused(client: httpx.AsyncClient, name: str) -> None:
    # OpenAI deletes only the fine-tuned models an organization owns: every model here is Workers AI's.
    r = await client.delete(f"/v1/models/{name}")
    assert r.status_code == 403, r.text
    assert_matches(r.json(), "ErrorResponse")
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] is None and error["code"] is None
    assert name.lower() in error["message"].lower()
    assert (await client.get(f"/v1/models/{name}")).status_code == 200  # still there


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/models", json={})
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def _names(literal: object) -> list[str]:
    """The model names an official-client ``Literal`` (or union of them) lists."""
    out: list[str] = []
    for arg in typing.get_args(literal):
        out += [arg] if isinstance(arg, str) else _names(arg)
    return out


NOT_SERVED = {
    # agents whose answers are their tools' (web research, a computer's screen), and models trained for one
    # field or program: no Workers AI model stands in for them (MODEL_ALIASES can name one)
    "o3-deep-research", "o4-mini-deep-research", "computer-use-preview", "gpt-daybreak-blue-latest",
    "gpt-daybreak-red-latest", "gpt-5.6-cyber", "gpt-6-cyber", "gpt-rosalind-research", "gpt-6-rosalind",
    "gpt-6.2-astra-law", "gpt-6-astra-healthcare", "gpt-6.1-sol-healthcare", "gpt-6.2-astra-healthcare",
    "gpt-6.2-sol-healthcare",
    "gpt-4o-transcribe-diarize",  # its diarized_json needs speakers named
}


@pytest.mark.parametrize(("literal", "task"), [
    (responses_model.ResponsesModel, "text-generation"), (chat_model.ChatModel, "text-generation"),
    (image_model.ImageModel, "text-to-image"), (audio_model.AudioModel, "automatic-speech-recognition"),
    (speech_model.SpeechModel, "text-to-speech"), (embedding_model.EmbeddingModel, "text-embeddings"),
    (moderation_model.ModerationModel, None)])
def test_every_model_name_the_official_client_knows_is_served(literal: object, task: str | None) -> None:
    """Code written against OpenAI names its models as the client's types list them (their dated snapshots
    too): each resolves here, for its endpoint's task, but the few :data:`NOT_SERVED` (a 404 then)."""
    catalog = Catalog()
    for name in _names(literal):
        if SNAPSHOT.sub("", name) in NOT_SERVED:
            with pytest.raises(ModelNotFound):
                catalog.resolve(name, task=task)
            continue
        assert catalog.resolve(name, task=task).task == (task or "text-generation"), name  # (Llama Guard's)


def test_a_dated_snapshot_resolves_as_its_name() -> None:
    catalog = Catalog(aliases={"house-model": LLAMA})
    assert catalog.resolve("gpt-4o-2024-08-06").id == catalog.aliases["gpt-4o"]
    assert catalog.resolve("GPT-4-0613").id == catalog.aliases["gpt-4"]
    assert catalog.resolve("house-model-2026-01-02").id == LLAMA  # a configured alias's too
    assert catalog.resolve("gpt-5-mini-2025-08-07").id == "@cf/openai/gpt-oss-20b"
    for unknown in ("gpt-99-2025-08-07", "nothing-0613"):
        with pytest.raises(ModelNotFound):
            catalog.resolve(unknown)


async def test_the_gpt_5_names_answer(client: httpx.AsyncClient) -> None:
    for name, target in (("gpt-5", "@cf/openai/gpt-oss-120b"), ("gpt-5-mini-2025-08-07", "@cf/openai/gpt-oss-20b"),
                         ("gpt-5-chat-latest", "@cf/meta/llama-4-scout-17b-16e-instruct")):
        r = await client.post("/v1/chat/completions", json={
            "model": name, "messages": [{"role": "user", "content": "echo: hello"}]})
        assert r.status_code == 200, r.text
        assert r.json()["model"] == target and r.json()["choices"][0]["message"]["content"] == "hello"
