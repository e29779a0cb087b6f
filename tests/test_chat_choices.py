"""Chat completions ``n`` (1–4 concurrent Workers AI calls, streamed with ``index``),
``logprobs`` / ``top_logprobs`` (accepted, ``logprobs: null``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

from .openapi import assert_matches
from .sse import chat_chunks

URL = "/v1/chat/completions"
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
GLM = "@cf/zai-org/glm-4.7-flash"


def chat(model: str = LLAMA, content: str = "write a haiku", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **fields}


async def chunks_of(client: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.post(URL, json={**body, "stream": True})
    return chat_chunks(r)


@pytest.mark.parametrize("model", [LLAMA, GLM])
async def test_n_choices_whole(client: httpx.AsyncClient, simulator: Simulator, model: str) -> None:
    r = await client.post(URL, json=chat(model, n=3, seed=10))
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateChatCompletionResponse")
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    texts = [c["message"]["content"] for c in body["choices"]]
    assert len(set(texts)) == 3  # choice i runs with seed + i
    assert [inputs["seed"] for _, inputs in simulator.calls[-3:]] == [10, 11, 12]
    single = (await client.post(URL, json=chat(model, seed=10))).json()
    assert texts[0] == single["choices"][0]["message"]["content"]
    # prompt counted once, completions summed (as OpenAI reports n > 1)
    assert body["usage"]["prompt_tokens"] == single["usage"]["prompt_tokens"]
    assert body["usage"]["completion_tokens"] == sum(len(t.split()) for t in texts) + (
        3 * len(single["choices"][0]["message"]["reasoning_content"].split()) if model == GLM else 0)


@pytest.mark.parametrize(("seed", "sent"), [
    (-5, [9_999_999_994, 9_999_999_995, 9_999_999_996]),  # OpenAI takes any integer; Workers AI 1..9,999,999,999
    (9_999_999_999, [9_999_999_999, 1, 2]),  # seed + 1 is past Workers AI's range: folded back to its start
    (2**63 - 1, [7_777_113_010, 7_777_113_011, 7_777_113_012]),
])
async def test_n_choices_fold_each_seed_into_workers_ai_s_range(client: httpx.AsyncClient, simulator: Simulator,
                                                                seed: int, sent: list[int]) -> None:
    r = await client.post(URL, json=chat(n=3, seed=seed))
    assert r.status_code == 200, r.text
    assert [inputs["seed"] for _, inputs in simulator.calls[-3:]] == sent


@pytest.mark.parametrize("model", [LLAMA, GLM])
async def test_n_choices_streamed(client: httpx.AsyncClient, model: str) -> None:
    whole = (await client.post(URL, json=chat(model, n=3, seed=5))).json()
    chunks = await chunks_of(client, chat(model, n=3, seed=5, stream_options={"include_usage": True}))
    text: dict[int, str] = defaultdict(str)
    roles, finishes = [], []
    for chunk in chunks[:-1]:
        [choice] = chunk["choices"]  # one choice per chunk, named by its index
        delta = choice["delta"]
        if "role" in delta:
            roles.append(choice["index"])
        text[choice["index"]] += delta.get("content") or ""
        if choice["finish_reason"]:
            finishes.append(choice["index"])
    assert sorted(roles) == sorted(finishes) == [0, 1, 2]
    assert [text[i] for i in range(3)] == [c["message"]["content"] for c in whole["choices"]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == whole["usage"]


async def test_n_with_tools_streams_calls_per_choice(client: httpx.AsyncClient) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    chunks = await chunks_of(client, chat(GLM, 'call:f {"x": 1}', n=2, tools=[tool]))
    firsts = [(c["choices"][0]["index"], d["id"]) for c in chunks if c["choices"]
              for d in c["choices"][0]["delta"].get("tool_calls") or () if "id" in d]
    assert sorted(i for i, _ in firsts) == [0, 1]


@pytest.mark.parametrize("n", [5, 0, 128])
async def test_n_out_of_range(client: httpx.AsyncClient, simulator: Simulator, n: int) -> None:
    calls = len(simulator.calls)
    r = await client.post(URL, json=chat(n=n))
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "n" and r.json()["error"]["type"] == "invalid_request_error"
    assert len(simulator.calls) == calls


async def test_logprobs_are_accepted_and_null(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = (await client.post(URL, json=chat(logprobs=True, top_logprobs=3))).json()
    assert_matches(body, "CreateChatCompletionResponse")
    assert body["choices"][0]["logprobs"] is None
    assert "logprobs" not in simulator.calls[-1][1] and "top_logprobs" not in simulator.calls[-1][1]
    chunks = await chunks_of(client, chat(logprobs=True, top_logprobs=3))
    assert all(c["choices"][0]["logprobs"] is None for c in chunks)


@pytest.mark.parametrize(("fields", "param"), [({"logprobs": "yes"}, "logprobs"),
                                               ({"top_logprobs": 21}, "top_logprobs"),
                                               ({"top_logprobs": -1}, "top_logprobs")])
async def test_wrong_logprobs(client: httpx.AsyncClient, fields: dict[str, Any], param: str) -> None:
    r = await client.post(URL, json=chat(**fields))
    assert r.status_code == 400 and r.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}, "modalities"),
     ({"web_search_options": {}}, "web_search_options")],
)
async def test_outputs_workers_ai_cannot_give(client: httpx.AsyncClient, fields: dict[str, Any], param: str) -> None:
    r = await client.post(URL, json=chat(**fields))
    assert r.status_code == 400 and r.json()["error"]["param"] == param


async def test_audio_without_the_audio_modality_is_ignored(client: httpx.AsyncClient) -> None:
    # OpenAI ignores `audio` unless modalities asks for audio; so does the gateway.
    r = await client.post(URL, json=chat(audio={"voice": "alloy", "format": "wav"}))
    assert r.status_code == 200, r.text



async def test_text_modality_and_prediction_are_fine(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json=chat(modalities=["text"], prediction={"type": "content", "content": "x"}))
    assert r.status_code == 200, r.text
