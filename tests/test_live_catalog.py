"""Workers AI's live model catalog merged into ``GET /v1/models``: the pure translation
(``translate.catalog.live_models`` / ``with_live``), the simulator's ``models()``, the cache on the
app (``live_catalog.LiveCatalog``), and the REST and Worker adapters' ``models()``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.catalog import (
    REASONING,
    STREAMING,
    TOOLS,
    VISION,
    Catalog,
    ModelInfo,
)
from openai_workers_ai.catalog.live import RETRY_AFTER, live_model, live_models, with_live
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.models_search import DEPRECATION_DATE, search_objects
from openai_workers_ai.simulator.rest import create_rest_app

from .conftest import KEY
from .openapi import assert_matches
from .served import rest_ai_over
from .worker_world import worker_world

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
NEW = "@cf/acme/brand-new-llm"


def entry(name: Any, task: Any = "Text Generation", **properties: Any) -> dict[str, Any]:
    """A live catalog entry as Workers AI lists it."""
    return {
        "id": "41975cc2-c82e-4e98-b7b8-88ffb186a545",
        "source": 1,
        "name": name,
        "description": f"{name} description",
        "task": {"id": "c329a1f9-323d-4e91-b2aa-582dd4188d34", "name": task, "description": "…"},
        "tags": [],
        "properties": [{"property_id": k, "value": v} for k, v in properties.items()],
    }


# ---- the pure translation -------------------------------------------------------------------


def test_a_realistic_entry() -> None:
    price = [{"unit": "per M input tokens", "price": 0.28, "currency": "USD"}]
    info = live_model(entry(NEW, context_window="7968", function_calling="true", price=price,
                            reasoning_effort={"default": "medium"}, beta="false"))
    assert info is not None
    assert (info.id, info.task, info.owned_by, info.context_window) == (NEW, "text-generation", "acme", 7968)
    assert info.capabilities == {TOOLS, STREAMING}
    assert info.description == f"{NEW} description" and info.dimensions is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("131072", 131072), (" 8,192 ", 8192), (4096, 4096), ("n/a", None), ("-5", None), ("0", None),
     (True, None), (12.5, None), (["128000"], None), ({"value": 1}, None), (None, None)],
)
def test_context_window_only_when_it_is_an_int(value: Any, expected: int | None) -> None:
    info = live_model(entry(NEW, context_window=value))
    assert info is not None and info.context_window == expected


def test_max_input_tokens_and_dimensions_of_an_embedding_model() -> None:
    info = live_model(entry("@hf/acme/embedder", "Text Embeddings", max_input_tokens="512", output_dimensions="768"))
    assert info is not None
    assert (info.task, info.owned_by, info.context_window, info.dimensions) == ("text-embeddings", "acme", 512, 768)
    assert STREAMING not in info.capabilities


@pytest.mark.parametrize(
    ("task", "expected"),
    [("Text-to-Image", "text-to-image"), ("Automatic Speech Recognition", "automatic-speech-recognition"),
     ("Depth Estimation", "depth-estimation"), ("  ", "unknown"), (None, "unknown"), (7, "unknown")],
)
def test_task_names(task: Any, expected: str) -> None:
    info = live_model(entry(NEW, task))
    assert info is not None and info.task == expected


def test_flags_and_deprecation() -> None:
    info = live_model(entry(NEW, function_calling=True, vision="TRUE", reasoning="false",
                            planned_deprecation_date="2026-03-01"))
    assert info is not None and info.capabilities == {TOOLS, VISION, STREAMING}
    assert info.extra == {"deprecated": True, "planned_deprecation_date": "2026-03-01"}


def test_missing_and_malformed_fields() -> None:
    bare = live_model({"name": "@cf/x/y"})
    assert bare is not None and (bare.task, bare.owned_by, bare.context_window, bare.description) == (
        "unknown", "x", None, "")
    odd = live_model({"name": "short-name", "task": "Text Generation", "description": 3,
                      "properties": [None, {"value": "1"}, {"property_id": 5, "value": "1"},
                                     {"property_id": "context_window"}]})
    assert odd is not None and (odd.task, odd.owned_by, odd.context_window) == ("unknown", "cloudflare", None)
    assert live_model({**entry(NEW), "properties": {"context_window": "9"}}) == live_model(
        {**entry(NEW), "properties": []})
    for nameless in ({}, entry(None), entry(""), entry(42)):
        assert live_model(nameless) is None


def test_live_models_skips_junk_and_keeps_the_first_of_a_name() -> None:
    out = live_models([entry(NEW, context_window="10"), "junk", None, entry(None), entry(NEW, context_window="20")])
    assert [(m.id, m.context_window) for m in out] == [(NEW, 10)]


def test_with_live_adds_only_unknown_models() -> None:
    static = Catalog(aliases={"house": NEW})
    live = live_models([entry(LLAMA, "Text Classification", context_window="1"),
                        entry(LLAMA.upper()), entry(NEW, context_window="7968"), entry(NEW.upper())])
    merged = with_live(static, live)
    assert merged.models[LLAMA] is static.models[LLAMA]  # static data authoritative
    assert list(merged.models)[: len(static.models)] == list(static.models)
    assert set(merged.models) - set(static.models) == {NEW}
    assert merged.aliases == static.aliases and merged.resolve("house").context_window == 7968
    assert with_live(static, live_models([entry(LLAMA)])) is static


def test_simulator_lists_its_catalog_as_workers_ai_does() -> None:
    catalog = Catalog()
    entries = search_objects(catalog)
    assert [e["name"] for e in entries] == list(catalog.models)
    for e in entries:
        assert set(e) == {"id", "source", "name", "description", "task", "tags", "properties"}
        assert set(e["task"]) == {"id", "name", "description"} and e["source"] == (2 if e["name"][:4] == "@hf/" else 1)
        assert all(isinstance(p["value"], str) for p in e["properties"])
    props = {e["name"]: {p["property_id"]: p["value"] for p in e["properties"]} for e in entries}
    assert props["@cf/baai/bge-base-en-v1.5"]["max_input_tokens"] == "512"
    assert props["@cf/meta/llama-2-7b-chat-int8"]["planned_deprecation_date"] == DEPRECATION_DATE
    # Read back, every model says what the static catalog says.
    for info in live_models(entries):
        known = catalog.models[info.id]
        assert (info.task, info.context_window, info.dimensions) == (known.task, known.context_window, known.dimensions)
        assert info.capabilities - {STREAMING} == known.capabilities & {TOOLS, VISION, REASONING}
        assert bool(info.extra.get("deprecated")) == bool(known.extra.get("deprecated"))


# ---- the models routes ------------------------------------------------------------------------


class LiveAI:
    """The simulator for ``run``, with a ``models()`` that lists ``entries`` (or raises ``error``)."""

    def __init__(self, entries: list[Any], error: Exception | None = None) -> None:
        self.sim, self.entries, self.error, self.calls = Simulator(), entries, error, 0

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        return await self.sim.run(model, inputs, options)

    async def models(self) -> list[Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.entries


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def over(db: SQLiteD1, bucket: FolderR2) -> AsyncIterator[Any]:
    """``over(ai, **settings)`` → (client, clock) for an app over ``ai``."""
    clients: list[httpx.AsyncClient] = []

    def make(ai: Any, **settings: Any) -> tuple[httpx.AsyncClient, Clock]:
        app = create_app(Backends(ai=ai, db=db, bucket=bucket), Settings(access_token=(KEY,), **settings))
        clock = Clock()
        app.state.ctx.live_catalog.clock = clock
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                   headers={"authorization": f"Bearer {KEY}"})
        clients.append(client)
        return client, clock

    yield make
    for client in clients:
        await client.aclose()


async def listed(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    r = await client.get("/v1/models")
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "ListModelsResponse")
    return {m["id"]: m for m in r.json()["data"]}


async def test_live_models_are_listed_and_retrieved(over: Any) -> None:
    ai = LiveAI([entry(NEW, context_window="7968", function_calling="true"),
                 entry(LLAMA, "Text Classification", context_window="1"), entry("@cf/acme/depth", "Depth Estimation")])
    client, _ = over(ai)
    data = await listed(client)
    assert data[NEW] == {"id": NEW, "object": "model", "created": data[NEW]["created"], "owned_by": "acme",
                         "task": "text-generation", "context_window": 7968, "capabilities": ["streaming", "tools"]}
    assert data["@cf/acme/depth"]["task"] == "depth-estimation"
    static = Catalog()
    assert data[LLAMA]["task"] == "text-generation" and data[LLAMA]["context_window"] == static.models[LLAMA].context_window
    assert set(data) == set(static.models) | set(static.aliases) | {NEW, "@cf/acme/depth"}
    r = await client.get(f"/v1/models/{NEW}")
    assert r.status_code == 200 and r.json() == data[NEW]
    assert_matches(r.json(), "Model")
    assert ai.calls == 1


async def test_a_failing_live_catalog_serves_the_static_one(over: Any, caplog: pytest.LogCaptureFixture) -> None:
    ai = LiveAI([entry(NEW)], error=UpstreamError("3040: Capacity temporarily exceeded"))
    client, clock = over(ai)
    static = Catalog()
    assert set(await listed(client)) == set(static.models) | set(static.aliases)
    assert "live model catalog is unavailable" in caplog.text
    assert (await client.get(f"/v1/models/{NEW}")).status_code == 404
    assert ai.calls == 1  # not retried at once
    ai.error = None
    clock.now += RETRY_AFTER + 1
    assert NEW in await listed(client) and ai.calls == 2


async def test_not_a_list_or_a_crash_is_a_failure_too(over: Any) -> None:
    for ai in (LiveAI({"result": []}), LiveAI([], error=TypeError("boom"))):  # type: ignore[arg-type]
        client, _ = over(ai)
        assert LLAMA in await listed(client)


async def test_the_live_catalog_is_cached_for_its_ttl(over: Any) -> None:
    ai = LiveAI([entry(NEW)])
    client, clock = over(ai, live_catalog_ttl=600)
    await listed(client)
    await client.get(f"/v1/models/{LLAMA}")
    clock.now += 599
    ai.entries = [entry(NEW), entry("@cf/acme/newer")]
    assert "@cf/acme/newer" not in await listed(client) and ai.calls == 1
    clock.now += 2
    assert "@cf/acme/newer" in await listed(client) and ai.calls == 2
    # Other endpoints resolve from the static catalog and never ask for the live one.
    r = await client.post("/v1/chat/completions", json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and ai.calls == 2


async def test_ttl_zero_and_backends_without_models_use_the_static_catalog(over: Any, simulator: Simulator) -> None:
    ai = LiveAI([entry(NEW)])
    client, _ = over(ai, live_catalog_ttl=0)
    assert NEW not in await listed(client) and ai.calls == 0

    class RunOnly:
        async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
            return await simulator.run(model, inputs, options)

    client, _ = over(RunOnly())
    assert LLAMA in await listed(client)


def test_live_catalog_ttl_setting() -> None:
    assert Settings().live_catalog_ttl == 3600
    assert Settings.from_mapping({"LIVE_CATALOG_TTL": "0"}).live_catalog_ttl == 0


# ---- the adapters -------------------------------------------------------------------------------


async def test_rest_backend_lists_every_page_in_the_binding_shape(simulator: Simulator) -> None:
    assert len(simulator.catalog.models) > 100  # more than one page of 100
    async with rest_ai_over(create_rest_app(simulator, token="t")) as ai:
        assert await ai.models() == await simulator.models()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(create_rest_app(simulator)), base_url="http://r") as c:
        body = (await c.get("/client/v4/accounts/a/ai/models/search", params={"page": 2})).json()
    assert body["success"] and len(body["result"]) == 20
    assert body["result_info"] == {"page": 2, "per_page": 20, "count": 20, "total_count": len(simulator.catalog.models)}


async def test_app_over_rest_lists_the_live_models(over: Any) -> None:
    extra = ModelInfo(NEW, "text-generation", "acme", 32000, frozenset({STREAMING, TOOLS}))
    simulator = Simulator(catalog=Catalog([*Catalog().models.values(), extra]))
    async with rest_ai_over(create_rest_app(simulator, token="t")) as ai:
        client, _ = over(ai)
        data = await listed(client)
    assert data[NEW]["context_window"] == 32000 and data[NEW]["capabilities"] == ["streaming", "tools"]


def test_worker_adapter_models() -> None:
    out = worker_world(
        """
        from openai_workers_ai.adapters.workers import WorkersAI
        from openai_workers_ai.catalog.live import PER_PAGE as MODELS_PER_PAGE
        from openai_workers_ai.errors import UpstreamError

        def obj(name):
            return JsObject([("id", "u"), ("source", 1), ("name", name), ("description", "d"),
                             ("task", JsObject([("id", "t"), ("name", "Text Generation"), ("description", "")])),
                             ("tags", JsArray()), ("properties", JsArray([JsObject([("property_id", "context_window"), ("value", "8")])]))])

        class ModelsAI(FakeAI):
            def __init__(self, pages, error=None):
                super().__init__(error=error)
                self.pages, self.params = pages, []
            async def models(self, params=None):
                self.params.append(params.to_py())
                if self.error is not None:
                    raise self.error
                return JsArray(self.pages[params.page - 1])

        full = [obj(f"@cf/a/m{i}") for i in range(MODELS_PER_PAGE)]
        binding = ModelsAI([full, [obj("@cf/a/last")]])

        async def main():
            got = await WorkersAI(binding).models()
            assert len(got) == MODELS_PER_PAGE + 1 and type(got[0]) is dict, len(got)
            assert got[-1] == {"id": "u", "source": 1, "name": "@cf/a/last", "description": "d",
                               "task": {"id": "t", "name": "Text Generation", "description": ""}, "tags": [],
                               "properties": [{"property_id": "context_window", "value": "8"}]}, got[-1]
            assert binding.params == [{"page": 1, "per_page": MODELS_PER_PAGE}, {"page": 2, "per_page": MODELS_PER_PAGE}]
            # a binding that ignores paging: the repeated page adds nothing, so reading stops
            same = ModelsAI([full, full, full])
            assert len(await WorkersAI(same).models()) == MODELS_PER_PAGE and len(same.params) == 2
            try:
                await WorkersAI(ModelsAI([], error=JsException("AiError", "3040: Capacity temporarily exceeded"))).models()
            except UpstreamError as e:
                assert e.status == 503, e.status
            else:
                raise AssertionError("no error")

        run(main())
        print("ok")
        """
    )
    assert out.strip() == "ok"
