"""``GET /api/tags``, ``POST /api/show``, ``GET /api/ps`` and Ollama model names, in-process."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .conftest import KEY

LLAMA = "@cf/meta/llama-3.1-8b-instruct"


async def tags(client: httpx.AsyncClient) -> dict[str, dict]:
    r = await client.get("/api/tags")
    assert r.status_code == 200
    return {m["name"]: m for m in r.json()["models"]}


async def test_tags_lists_catalog_honestly(client: httpx.AsyncClient) -> None:
    models = await tags(client)
    llama = models["llama-3.1-8b-instruct:latest"]
    assert llama["model"] == llama["name"] and llama["remote_model"] == LLAMA
    assert llama["digest"] == hashlib.sha256(LLAMA.encode()).hexdigest()
    # Ollama's Go types (api/types.go) write a number or a string, never null: its zero values where unknown.
    assert llama["size"] == 0 and llama["modified_at"].startswith("2025-")
    assert "." not in llama["modified_at"]  # a whole second: Go's RFC 3339 writes no fraction of zeros
    assert llama["details"] == {"parent_model": "", "format": "", "family": "llama", "families": ["llama"],
                                "parameter_size": "8B", "quantization_level": ""}
    assert models["llama-3.3-70b-instruct-fp8-fast:latest"]["details"]["quantization_level"] == "FP8"
    assert models["kimi-k2.6:latest"]["details"]["parameter_size"] == ""  # the name states none
    assert models["bge-m3:latest"]["details"]["family"] == "bge"
    assert models["gpt-oss-120b:latest"]["details"]["family"] == "gpt-oss"


async def test_tags_only_chat_and_embedding_models(client: httpx.AsyncClient) -> None:
    remote = {m["remote_model"] for m in (await tags(client)).values()}
    assert "@cf/baai/bge-m3" in remote and LLAMA in remote
    assert "@cf/black-forest-labs/flux-1-schnell" not in remote  # text-to-image: no Ollama API
    assert "@cf/microsoft/phi-2" not in remote  # deprecated
    r = await client.post("/api/show", json={"model": "phi-2"})  # …but still served
    assert r.status_code == 200


async def test_every_listed_name_resolves(client: httpx.AsyncClient) -> None:
    for name, entry in (await tags(client)).items():
        r = await client.post("/api/show", json={"model": name})
        assert r.status_code == 200 and r.json()["remote_model"] == entry["remote_model"], name


async def test_show(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/show", json={"model": "gpt-oss:20b"})
    body = r.json()
    assert body["remote_model"] == "@cf/openai/gpt-oss-20b"
    # api.ShowResponse's order (ollama/ollama api/types.go): … details, messages, remote_model, remote_host,
    # model_info, projector_info, tensors, capabilities, modified_at
    assert list(body) == ["modelfile", "details", "remote_model", "model_info", "capabilities", "modified_at"]
    assert body["capabilities"] == ["completion", "tools", "thinking"]
    assert body["model_info"]["gpt-oss.context_length"] == 128000
    assert body["details"]["parameter_size"] == "20B"
    assert "FROM @cf/openai/gpt-oss-20b" in body["modelfile"]
    r = await client.post("/api/show", json={"model": "llama4:scout"})
    assert r.json()["capabilities"] == ["completion", "tools", "vision"]
    r = await client.post("/api/show", json={"name": "bge-large-en-v1.5"})  # older clients send "name"
    body = r.json()
    assert body["capabilities"] == ["embedding"] and body["model_info"]["bge.embedding_length"] == 1024
    r = await client.post("/api/show", json={"model": LLAMA})
    assert "llama.context_length" not in r.json()["model_info"]  # not in the catalog: not invented


async def test_show_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/show", json={"model": "mixtral:8x7b"})
    assert r.status_code == 404 and r.json() == {"error": "model 'mixtral:8x7b' not found"}
    r = await client.post("/api/show")
    assert r.status_code == 400 and r.json() == {"error": "missing request body"}
    # Ollama's ShowHandler (server/routes.go): no model (nor name) is a 400, not the default model's details.
    for body in ({}, {"model": ""}, {"name": ""}, {"model": "  "}):
        r = await client.post("/api/show", json=body)
        assert r.status_code == 400 and r.json() == {"error": "model is required"}, body


async def test_ps(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/ps")
    models = {m["name"]: m for m in r.json()["models"]}
    assert models["gpt-oss-20b:latest"]["context_length"] == 128000
    llama = models["llama-3.1-8b-instruct:latest"]
    # Go's zero values where nothing is known (typed clients refuse null); never unloaded: it expires when
    # Ollama's keep_alive -1 does, the longest Go duration from now (~292 years).
    assert llama["context_length"] == 0 and llama["size_vram"] == 0 and llama["size"] == 0
    assert llama["expires_at"][:4] > "2300" and llama["expires_at"].endswith("Z")
    # api.ProcessModelResponse's members in its order (ollama/ollama api/types.go, docs/api.md "List Running
    # Models"): no modified_at nor remote_model, which /api/tags has
    assert list(llama) == ["name", "model", "size", "digest", "details", "expires_at", "size_vram", "context_length"]


@pytest.mark.parametrize("name", [
    "llama3.1:8b", "llama3.1", "llama3.1:latest", "llama-3.1-8b-instruct", "LLaMA-3.1-8B-Instruct:latest",
    LLAMA, "@cf/meta/llama-3.1-8b-instruct:latest",
])
async def test_names_map_to_workers_ai(client: httpx.AsyncClient, name: str) -> None:
    r = await client.post("/api/show", json={"model": name})
    assert r.status_code == 200 and r.json()["remote_model"] == LLAMA, name


@pytest.mark.parametrize(("name", "model_id"), [
    ("gpt-oss:20b", "@cf/openai/gpt-oss-20b"),
    ("gpt-oss", "@cf/openai/gpt-oss-20b"),
    ("qwq:32b", "@cf/qwen/qwq-32b"),
    ("gemma3", "@cf/google/gemma-3-12b-it"),
    ("deepseek-r1:32b", "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"),
    ("bge-m3:latest", "@cf/baai/bge-m3"),
    ("bge-large", "@cf/baai/bge-large-en-v1.5"),  # the library's bge-large:latest is bge-large:335m
    ("bge-large:latest", "@cf/baai/bge-large-en-v1.5"),
    ("gpt-4o-mini", "@cf/meta/llama-4-scout-17b-16e-instruct"),  # the OpenAI-side aliases work too
])
async def test_library_and_alias_names(client: httpx.AsyncClient, name: str, model_id: str) -> None:
    r = await client.post("/api/show", json={"model": name})
    assert r.json()["remote_model"] == model_id


@pytest.mark.parametrize(("name", "model_id"), [
    ("gpt-oss:120b-cloud", "@cf/openai/gpt-oss-120b"),
    ("gpt-oss:20b-cloud", "@cf/openai/gpt-oss-20b"),
    ("gpt-oss:20b:cloud", "@cf/openai/gpt-oss-20b"),  # the newer explicit suffix (modelref.ParseRef)
    ("GPT-OSS:120B-Cloud", "@cf/openai/gpt-oss-120b"),
    ("kimi-k2.6:cloud", "@cf/moonshotai/kimi-k2.6"),
    ("glm-5.2:cloud", "@cf/zai-org/glm-5.2"),
    ("deepseek-v4-flash:cloud", "@cf/deepseek-ai/deepseek-v4-flash-0731"),
    ("nemotron-3-super:cloud", "@cf/nvidia/nemotron-3-120b-a12b"),
])
async def test_cloud_names(client: httpx.AsyncClient, name: str, model_id: str) -> None:
    r = await client.post("/api/show", json={"model": name})
    assert r.status_code == 200 and r.json()["remote_model"] == model_id, name


async def test_cloud_names_chat_generate_show(client: httpx.AsyncClient) -> None:
    name = "gpt-oss:120b-cloud"
    messages = [{"role": "user", "content": "echo: from the cloud"}]
    r = await client.post("/api/chat", json={"model": name, "messages": messages, "stream": False})
    assert r.status_code == 200 and r.json()["message"]["content"] == "from the cloud"
    assert r.json()["model"] == name  # echoed as asked, as Ollama's remote models answer (resp.Model = origModel)
    r = await client.post("/api/generate", json={"model": "glm-5.2:cloud", "prompt": "echo: hi", "stream": False})
    assert r.status_code == 200 and r.json()["response"] == "hi" and r.json()["model"] == "glm-5.2:cloud"
    shown = (await client.post("/api/show", json={"model": name})).json()
    assert shown == (await client.post("/api/show", json={"model": "gpt-oss:120b"})).json()
    assert shown["capabilities"] == ["completion", "tools", "thinking"]
    # Ollama's /api/tags lists the models pulled to it, and a cloud model needs none: no "-cloud" name is listed.
    assert not [n for n in await tags(client) if "cloud" in n]


@pytest.mark.parametrize("name", ["kimi-k2:1t-cloud", "qwen3-coder:480b-cloud", "minimax-m2:cloud",
                                  "llama3.1:8b-cloud", "gpt-oss:cloud", "my-cloud", "foo:bar-cloud/baz"])
async def test_cloud_names_without_a_workers_ai_model(client: httpx.AsyncClient, name: str) -> None:
    for path, body in (("/api/show", {}), ("/api/chat", {"messages": [{"role": "user", "content": "hi"}]}),
                       ("/api/generate", {"prompt": "hi"})):
        r = await client.post(path, json={"model": name, "stream": False, **body})
        assert r.status_code == 404 and r.json() == {"error": f"model '{name}' not found"}, (path, name)


async def test_configured_aliases(backends: Backends) -> None:
    settings = Settings(access_token=(KEY,), model_aliases={
        "house-model:7b": "@cf/meta/llama-3.2-3b-instruct", "embedder": "@cf/baai/bge-small-en-v1.5",
        "whisper": "@cf/openai/whisper", "broken": "no-such-model"})
    transport = httpx.ASGITransport(app=create_app(backends, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await c.post("/api/show", json={"model": "house-model:7b"})
        assert r.json()["remote_model"] == "@cf/meta/llama-3.2-3b-instruct"
        listed = {m["name"]: m for m in (await c.get("/api/tags")).json()["models"]}
        assert listed["house-model:7b"]["remote_model"] == "@cf/meta/llama-3.2-3b-instruct"
        assert listed["house-model:7b"]["digest"] == listed["llama-3.2-3b-instruct:latest"]["digest"]
        assert listed["embedder:latest"]["details"]["family"] == "bge"  # untagged aliases get ":latest"
        assert "whisper:latest" not in listed  # not a chat or embedding model
        r = await c.post("/api/show", json={"model": "embedder:latest"})
        assert r.json()["capabilities"] == ["embedding"]
        messages = [{"role": "user", "content": "echo: ok"}]
        r = await c.post("/api/chat", json={"model": "house-model:7b", "messages": messages, "stream": False})
        assert r.json()["message"]["content"] == "ok" and r.json()["model"] == "house-model:7b"


async def test_prefix(client: httpx.AsyncClient) -> None:
    r = await client.get("/llm/ollama/api/tags")
    assert r.status_code == 200 and r.json()["models"]
