"""Moderated chat completions (``moderation: {model, policy}``): the input and the output scored by Llama Guard 3,
the results beside the answer in OpenAI's ``ChatCompletionModeration`` shape (whole, on the moderation chunk of a
stream, and in the stored completion). In-process over the simulator, whose Llama Guard flags ``bomb`` (S9)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .moderation_util import GUARD, MODERATED, UNMODERATABLE
from .openapi import assert_matches
from .sse import chat_chunks

URL = "/v1/chat/completions"


def body_of(content: str, **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], "moderation": MODERATED,
            **fields}


def flags(side: dict[str, Any]) -> list[bool]:
    assert side["type"] == "moderation_results" and side["model"] == GUARD
    assert all(r["type"] == "moderation_result" and r["model"] == GUARD for r in side["results"])
    return [r["flagged"] for r in side["results"]]


async def test_the_input_and_output_are_scored_beside_the_answer(client: httpx.AsyncClient) -> None:
    """OpenAI's moderation guide: "The model still generates normally" and the results come with it, for the
    request input and the generated output (CreateChatCompletionResponse.moderation)."""
    r = await client.post(URL, json=body_of("echo: how to build a bomb"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateChatCompletionResponse")
    assert body["choices"][0]["message"]["content"] == "how to build a bomb"
    moderation = body["moderation"]
    assert_matches(moderation, "ChatCompletionModeration")
    assert flags(moderation["input"]) == [True] and flags(moderation["output"]) == [True]
    assert moderation["output"]["results"][0]["categories"]["violence"] is True


async def test_one_output_result_per_choice(client: httpx.AsyncClient) -> None:
    body = (await client.post(URL, json=body_of("echo: hello there", n=2))).json()
    assert flags(body["moderation"]["input"]) == [False] and flags(body["moderation"]["output"]) == [False, False]


async def test_without_moderation_there_is_none(client: httpx.AsyncClient) -> None:
    body = (await client.post(URL, json={**body_of("echo: a bomb"), "moderation": None})).json()
    assert "moderation" not in body


async def test_a_stream_ends_with_its_moderation_chunk_and_stores_it(client: httpx.AsyncClient) -> None:
    """The chunk schema: moderation is "Present on the moderation chunk when moderated completions are
    requested". OpenAI sends it last, after the usage chunk, with ``usage: null`` (pydantic/pydantic-ai,
    tests/models/cassettes/test_openai/test_openai_moderation_stream.yaml, gpt-5, 2026-07: the finish chunk,
    the usage chunk, then ``"choices":[],"moderation":{…},"usage":null``, then ``[DONE]``)."""
    r = await client.post(URL, json=body_of("echo: a bomb", stream=True, store=True,
                                            stream_options={"include_usage": True}))
    chunks = chat_chunks(r)
    [moderated] = [c for c in chunks if c.get("moderation")]
    assert moderated["choices"] == [] and moderated["usage"] is None and chunks[-1] is moderated
    assert list(moderated)[6:] == ["choices", "moderation", "usage", "obfuscation"]
    assert chunks[-2]["choices"] == [] and chunks[-2]["usage"]["completion_tokens"] > 0
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert flags(moderated["moderation"]["input"]) == [True] and flags(moderated["moderation"]["output"]) == [True]
    stored = (await client.get(f"{URL}/{chunks[0]['id']}")).json()
    assert stored["moderation"] == moderated["moderation"]


async def test_a_failed_moderation_is_an_error_object_and_the_answer_stands(client: httpx.AsyncClient) -> None:
    """ChatCompletionModerationError: "An error produced while attempting moderation"; the simulated Llama Guard
    fails on a last message ``fail:<status>``, here the model's answer."""
    body = (await client.post(URL, json=body_of("echo: fail:503"))).json()
    assert body["choices"][0]["message"]["content"] == "fail:503"
    assert flags(body["moderation"]["input"]) == [False]
    error = body["moderation"]["output"]
    assert error["type"] == "error" and error["code"] and error["message"]
    assert_matches(body["moderation"], "ChatCompletionModeration")


@pytest.mark.parametrize(("moderation", "param", "code"), UNMODERATABLE)
async def test_what_cannot_be_moderated_is_a_400(client: httpx.AsyncClient, moderation: dict[str, Any], param: str,
                                                 code: str) -> None:
    r = await client.post(URL, json={**body_of("echo: hi"), "moderation": moderation})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param and r.json()["error"]["code"] == code


async def test_scoring_is_accepted_as_the_policy(client: httpx.AsyncClient) -> None:
    policy = {"input": {"mode": "score"}, "output": {"mode": "score"}}
    body = (await client.post(URL, json={**body_of("echo: hi"), "moderation": {**MODERATED, "policy": policy}})).json()
    assert flags(body["moderation"]["output"]) == [False]
