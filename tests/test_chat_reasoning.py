"""Reasoning models: thinking comes back as ``reasoning_content`` (whole and as deltas), never
mixed into ``content``, whatever form each family thinks in; ``reasoning_effort`` per family."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

from .openapi import assert_matches
from .responses_util import sse_events
from .sse import chat_chunks

URL = "/v1/chat/completions"
QWQ = "@cf/qwen/qwq-32b"  # "<think>…</think>" inline
R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"  # only "</think>" (the template opens it)
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"  # messages-oai: message.reasoning_content
GLM = "@cf/zai-org/glm-4.7-flash"  # openai family: reasoning_content
OSS = "@cf/openai/gpt-oss-120b"  # gpt-oss: message.reasoning
REASONERS = [QWQ, R1, QWEN3, GLM, OSS]
PLAIN = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
THOUGHT = "The user asks: echo: the answer is 42. I will answer."


def chat(model: str, content: str = "echo: the answer is 42", **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **fields}


async def chunks_of(client: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = await client.post(URL, json={**body, "stream": True})
    return chat_chunks(r)


def joined(chunks: list[dict[str, Any]], key: str) -> str:
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in chunks if c["choices"])


@pytest.mark.parametrize("model", REASONERS)
async def test_reasoning_content_whole(client: httpx.AsyncClient, model: str) -> None:
    r = await client.post(URL, json=chat(model))
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateChatCompletionResponse")
    message = r.json()["choices"][0]["message"]
    assert message["content"] == "the answer is 42"
    assert message["reasoning_content"] == THOUGHT
    assert "reasoning" not in message


@pytest.mark.parametrize("model", REASONERS)
async def test_reasoning_deltas_come_first_and_apart(client: httpx.AsyncClient, model: str) -> None:
    chunks = await chunks_of(client, chat(model))
    assert joined(chunks, "reasoning_content").strip() == THOUGHT
    assert joined(chunks, "content") == "the answer is 42"
    kinds = [("r" if "reasoning_content" in c["choices"][0]["delta"] else "") +
             ("c" if c["choices"][0]["delta"].get("content") else "") for c in chunks if c["choices"]]
    assert "rc" not in kinds  # never both in one delta
    assert max(i for i, k in enumerate(kinds) if k == "r") < min(i for i, k in enumerate(kinds) if k == "c")


@pytest.mark.parametrize("model", REASONERS)
async def test_thinking_uses_up_max_tokens(client: httpx.AsyncClient, model: str) -> None:
    r = await client.post(URL, json=chat(model, max_tokens=3))
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] in ("", None)
    assert choice["message"]["reasoning_content"] == "The user asks:"


async def test_plain_models_have_no_reasoning(client: httpx.AsyncClient) -> None:
    message = (await client.post(URL, json=chat(PLAIN))).json()["choices"][0]["message"]
    assert message["content"] == "the answer is 42" and "reasoning_content" not in message


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [(OSS, "none", "low"), (OSS, "minimal", "low"), (OSS, "xhigh", "high"), (OSS, "max", "high"), (OSS, "medium", "medium"), (GLM, "high", "high"),
     (QWQ, "high", None)],  # classic reasoning models always think: nothing to send
)
async def test_reasoning_effort_per_family(
    client: httpx.AsyncClient, simulator: Simulator, model: str, effort: str, sent: str | None
) -> None:
    r = await client.post(URL, json=chat(model, reasoning_effort=effort))
    assert r.status_code == 200, r.text
    assert simulator.calls[-1][1].get("reasoning_effort") == sent


@pytest.mark.parametrize(
    ("model", "effort", "code"),
    [(PLAIN, "low", "unsupported_parameter"), ("@cf/zai-org/glm-5.2", "low", None),
     (GLM, "extreme", "invalid_value")],  # not in the spec's ReasoningEffort enum
)
async def test_reasoning_effort_400s(client: httpx.AsyncClient, model: str, effort: str, code: str | None) -> None:
    r = await client.post(URL, json=chat(model, reasoning_effort=effort))
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == "reasoning_effort" and error["code"] == code
    if code == "unsupported_parameter":  # OpenAI's words for gpt-4o / gpt-4.1 (families.reasoning_inputs)
        assert error["message"] == "Unsupported parameter: 'reasoning_effort' is not supported with this model."


async def test_gpt_oss_gets_chat_completions_input(client: httpx.AsyncClient, simulator: Simulator) -> None:
    history = [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hi"},
               {"role": "assistant", "content": "hello", "reasoning_content": "greet back"},
               {"role": "user", "content": "echo: ok"}]
    r = await client.post(URL, json={"model": OSS, "messages": history, "max_completion_tokens": 50})
    assert r.json()["choices"][0]["message"]["content"] == "ok"
    inputs = simulator.calls[-1][1]
    assert [m["role"] for m in inputs["messages"]] == ["system", "user", "assistant", "user"]
    assert all("reasoning_content" not in m for m in inputs["messages"])  # thinking is not sent back
    assert inputs["max_tokens"] == 50 and "input" not in inputs and "prompt" not in inputs


# ---- reasoning tokens in usage ----------------------------------------------------------------


@pytest.mark.parametrize("model", REASONERS)
async def test_reasoning_tokens_are_counted_in_usage(client: httpx.AsyncClient, model: str) -> None:
    whole = (await client.post(URL, json=chat(model, n=2))).json()["usage"]
    reasoning = whole["completion_tokens_details"]["reasoning_tokens"]
    # The simulator spends ~1 token a word, the gateway estimates ~4 characters a token: either way
    # both choices' thoughts are in, and never more than the completion.
    assert 2 * len(THOUGHT.split()) <= reasoning <= whole["completion_tokens"] or (
        2 * (len(THOUGHT) // 4) <= reasoning <= whole["completion_tokens"])
    chunks = await chunks_of(client, {**chat(model), "stream_options": {"include_usage": True}})
    streamed = chunks[-1]["usage"]
    assert 0 < streamed["completion_tokens_details"]["reasoning_tokens"] <= streamed["completion_tokens"]


async def test_no_reasoning_zero_reasoning_tokens(client: httpx.AsyncClient) -> None:
    # OpenAI sends the details always (its API reference's chat completion example), 0 without reasoning
    usage = (await client.post(URL, json=chat(PLAIN))).json()["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0, "audio_tokens": 0}


async def test_a_reported_reasoning_count_is_kept() -> None:
    from openai_workers_ai.workers_ai.outputs import parse_output

    raw = {"choices": [{"message": {"content": "x", "reasoning_content": "long thought"}}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 37}}}
    usage = parse_output(raw).usage
    assert usage is not None and usage.reasoning_tokens == 37


@pytest.mark.parametrize("content", ["echo: the answer is 42", "echo: ok", "call:get_weather {\"city\": \"Paris\"}"])
@pytest.mark.parametrize("model", ["gpt-5-mini", OSS, QWEN3])
async def test_reasoning_tokens_are_the_same_in_both_doors(client: httpx.AsyncClient, model: str, content: str) -> None:
    # One rule for both doors: the reasoning's share of the completion; never all of it when the model
    # also wrote text or a call.
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    chat_usage = (await client.post(URL, json=chat(model, content, tools=tools))).json()["usage"]
    flat = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    r = await client.post("/v1/responses", json={"model": model, "input": content, "tools": flat})
    usage = r.json()["usage"]
    assert usage["output_tokens"] == chat_usage["completion_tokens"]
    reasoning = chat_usage["completion_tokens_details"]["reasoning_tokens"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == reasoning
    assert 0 < reasoning < chat_usage["completion_tokens"]
    chunks = await chunks_of(client, {**chat(model, content, tools=tools), "stream_options": {"include_usage": True}})
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == reasoning
    r = await client.post("/v1/responses", json={"model": model, "input": content, "tools": flat, "stream": True})
    assert sse_events(r)[-1]["response"]["usage"] == usage


async def test_a_reported_reasoning_count_in_a_response_is_kept() -> None:
    from openai_workers_ai.workers_ai.outputs import parse_output

    # gpt-oss given Responses input answers with a Response, whose usage says it as OpenAI's does
    raw = {"output": [{"type": "reasoning", "content": [{"type": "reasoning_text", "text": "long thought"}]},
                      {"type": "message", "content": [{"type": "output_text", "text": "x"}]}],
           "usage": {"input_tokens": 3, "output_tokens": 40, "output_tokens_details": {"reasoning_tokens": 37}}}
    usage = parse_output(raw).usage
    assert usage is not None and usage.reasoning_tokens == 37
