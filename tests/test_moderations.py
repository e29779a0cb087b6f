"""``POST /v1/moderations`` in-process over the simulated Llama Guard 3."""

from __future__ import annotations

import re

import httpx
import pytest

from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.translate.moderations import CATEGORIES, result, verdict

from .openapi import assert_matches


async def test_safe_input(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post("/v1/moderations", json={"input": "I love sunny days."})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateModerationResponse")
    assert body["id"].startswith("modr-") and body["model"] == "@cf/meta/llama-guard-3-8b"
    [res] = body["results"]
    assert res["flagged"] is False and not any(res["categories"].values())
    assert set(res["categories"]) == set(CATEGORIES) == set(res["category_scores"])
    assert res["category_applied_input_types"]["violence"] == ["text"]
    assert res["llama_guard_categories"] == []
    model, inputs = simulator.calls[-1]
    assert inputs["messages"] == [{"role": "user", "content": "I love sunny days."}]


RECORDED_ORDER = ["harassment", "harassment/threatening", "sexual", "hate", "hate/threatening", "illicit",
                  "illicit/violent", "self-harm/intent", "self-harm/instructions", "self-harm", "sexual/minors",
                  "violence", "violence/graphic"]


async def test_id_and_category_order_are_omni_moderations(client: httpx.AsyncClient) -> None:
    # openai/openai-dotnet tests/SessionRecords/ModerationsTests/ClassifyMultipleInputs.json (omni-moderation-latest):
    # "id": "modr-6388", each result's three maps keyed in this order.
    r = await client.post("/v1/moderations", json={"model": "omni-moderation-latest", "input": [
        "I forgot to water my houseplants!", "I am killing all my houseplants!"]})
    body = r.json()
    assert list(body) == ["id", "model", "results"]
    assert re.fullmatch(r"modr-\d{1,4}", body["id"]), body["id"]
    for res in body["results"]:
        assert list(res)[:4] == ["flagged", "categories", "category_scores", "category_applied_input_types"]
        for member in ("categories", "category_scores", "category_applied_input_types"):
            assert list(res[member]) == RECORDED_ORDER


async def test_list_of_inputs_flags_in_order(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/moderations",
        json={"model": "text-moderation-latest", "input": ["hello", "I will kill them", "unsafe:S10 unsafe:S4"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateModerationResponse")
    safe, violent, hateful = body["results"]
    assert safe["flagged"] is False
    assert violent["flagged"] and violent["llama_guard_categories"] == ["S1"]
    assert violent["categories"]["violence"] and violent["categories"]["illicit/violent"]
    assert violent["category_scores"]["violence"] == 1.0 and violent["category_scores"]["hate"] == 0.0
    assert hateful["llama_guard_categories"] == ["S10", "S4"]
    assert hateful["categories"]["hate"] and hateful["categories"]["sexual/minors"]
    assert not hateful["categories"]["hate/threatening"]


async def test_multimodal_text_parts_are_one_input(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post(
        "/v1/moderations",
        json={"model": "omni-moderation-latest",
              "input": [{"type": "text", "text": "first"}, {"type": "text", "text": "how to build a bomb"}]},
    )
    assert r.status_code == 200, r.text
    [res] = r.json()["results"]
    assert res["flagged"] and res["llama_guard_categories"] == ["S9"]
    assert simulator.calls[-1][1]["messages"][0]["content"] == "first\nhow to build a bomb"


@pytest.mark.parametrize(
    ("payload", "status", "param"),
    [
        ({}, 400, "input"),
        ({"input": []}, 400, "input"),
        ({"input": 3}, 400, "input"),
        ({"input": ["x"] * 33}, 400, "input"),
        ({"input": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, 400, "input[0]"),
        ({"input": [{"type": "audio"}]}, 400, "input[0].type"),
        ({"input": "x", "model": "gpt-4o-mini"}, 400, "model"),
        ({"input": "x", "model": "text-embedding-3-small"}, 400, "model"),
        ({"input": "x", "model": "nope"}, 404, None),
        ({"input": "x", "extra": 1}, 400, "extra"),
    ],
)
async def test_errors(client: httpx.AsyncClient, payload: dict, status: int, param: str) -> None:
    r = await client.post("/v1/moderations", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["param"] == param


async def test_upstream_failure(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/moderations", json={"input": ["ok", "fail:503"]})
    assert r.status_code == 503


def test_verdict_reads_both_output_shapes() -> None:
    assert verdict({"response": "safe"}) == (False, [])
    assert verdict({"response": "\n\nunsafe\nS1,S10"}) == (True, ["S1", "S10"])
    assert verdict({"response": {"safe": False, "categories": ["S11"]}}) == (True, ["S11"])
    assert verdict({"response": {"safe": True, "categories": []}}) == (False, [])
    assert verdict({"response": "unsafe\nS99"}) == (True, [])
    with pytest.raises(UpstreamError):
        verdict({"response": None})


def test_mapping_threatening_and_unmapped_codes() -> None:
    res = result(True, ["S10", "S1"])
    assert res["categories"]["hate/threatening"] and res["categories"]["hate"]
    res = result(True, ["S6"])  # specialized advice: no OpenAI category, still flagged
    assert res["flagged"] and not any(res["categories"].values())
    assert res["llama_guard_categories"] == ["S6"]


async def test_simulator_validates_like_workers_ai(simulator: Simulator) -> None:
    model = "@cf/meta/llama-guard-3-8b"
    for inputs in ({}, {"messages": []}, {"messages": [{"role": "system", "content": "x"}]},
                   {"messages": [{"role": "user", "content": 3}]},
                   {"messages": [{"role": "user", "content": "x"}], "temperature": 9}):
        with pytest.raises(UpstreamError):
            await simulator.run(model, inputs)
    out = await simulator.run(model, {"messages": [{"role": "user", "content": "unsafe:S2 please"}]})
    assert isinstance(out, dict) and out["response"] == "unsafe\nS2"
    assert out["usage"]["total_tokens"] == out["usage"]["prompt_tokens"] + out["usage"]["completion_tokens"]
