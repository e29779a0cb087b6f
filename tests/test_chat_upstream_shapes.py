"""Chat completions over Workers AI outputs as captured in the field (research note §1.3–1.6),
replayed by a fake AI backend instead of the simulator: the translator must not depend on
the simulator's own habits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings

from .conftest import KEY
from .openapi import assert_matches
from .sse import chat_chunks

URL = "/v1/chat/completions"
GEMMA4 = "@cf/google/gemma-4-26b-a4b-it"
QWEN38 = "@cf/qwen/qwen3.8-27b"
LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
HEAD = '"created":1791402526,"id":"f962","model":"@cf/google/gemma-4-26b-a4b-it-external","object":"chat.completion.chunk"'
# Gemma-4 over the binding (S9, trimmed): incremental chunk usage, a zero heartbeat, then the totals.
GEMMA4_STREAM = [
    '{"choices":[{"delta":{"content":"","reasoning_content":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null,"matched_stop":null}],' + HEAD + ',"p":"pf8t","usage":{"prompt_tokens":147,"completion_tokens":0,"total_tokens":147}}',
    '{"choices":[{"delta":{"reasoning":"Thinking."},"finish_reason":null,"index":0}],' + HEAD + ',"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}}',
    '{"choices":[{"delta":{"content":"Hello","reasoning_content":null},"finish_reason":null,"index":0,"logprobs":null}],' + HEAD + ',"p":"nnvb","usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}}',
    '{"choices":[{"delta":{"content":" there","reasoning_content":null},"finish_reason":null,"index":0}],' + HEAD + ',"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}}',
    '{"choices":[{"delta":{"reasoning_content":null},"finish_reason":"stop","index":0,"matched_stop":106}],' + HEAD + ',"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}',
    '{"choices":[],' + HEAD + ',"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1}}',
    '{"response":"","usage":{"prompt_tokens":147,"completion_tokens":16,"total_tokens":163,"prompt_tokens_details":{"cached_tokens":0},"neurons":1.77}}',
    '{"choices":[],' + HEAD + ',"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}',
]
# qwen3.8-27b tool call stream (S9).
QWEN_TOOL_STREAM = [
    '{"choices":[{"delta":{"tool_calls":[{"function":{"name":"get_weather"},"id":"chatcmpl-tool-abc","index":0,"type":"function"}]},"finish_reason":null,"index":0}]}',
    '{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\\"city\\": \\""},"index":0}]},"finish_reason":null,"index":0}]}',
    '{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"Tokyo\\"}"},"index":0}]},"finish_reason":null,"index":0}]}',
    '{"choices":[{"delta":{},"finish_reason":"tool_calls","index":0}]}',
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


def usage(prompt: int, completion: int, reasoning: int = 0, cached: int = 0) -> dict[str, Any]:
    """A chat completion's usage as OpenAI sends it: both details objects, always."""
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


class Replay:
    """An AI backend answering every call with one canned output (SSE events when streaming)."""

    def __init__(self, whole: dict[str, Any] | None = None, events: list[str] | None = None) -> None:
        self.whole, self.events = whole, events or []
        self.calls: list[dict[str, Any]] = []

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        self.calls.append(inputs)
        if not inputs.get("stream"):
            return self.whole
        return self._sse()

    async def _sse(self) -> AsyncIterator[bytes]:
        for event in [*self.events, "[DONE]"]:
            data = f"data: {event}\n\n".encode()
            for i in range(0, len(data), 7):  # split anywhere
                yield data[i:i + 7]


async def post(ai: Replay, tmp_path: Any, body: dict[str, Any]) -> httpx.Response:
    backends = Backends(ai=ai, db=SQLiteD1(":memory:"), bucket=FolderR2(tmp_path / "r2"))
    app = create_app(backends, Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        return await client.post(URL, json=body)


def chunks_of(r: httpx.Response) -> list[dict[str, Any]]:
    return chat_chunks(r)


async def test_gemma4_stream_usage_reasoning_and_text(tmp_path: Any) -> None:
    body = {"model": GEMMA4, "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    chunks = chunks_of(await post(Replay(events=GEMMA4_STREAM), tmp_path, body))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Hello there"
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Thinking."
    # Workers AI reports no reasoning count: "Thinking." (9 characters) is its share of the 16 tokens
    # beside "Hello there" (11), 16 × 9 // 20.
    assert chunks[-1]["usage"] == usage(147, 16, reasoning=7)


async def test_chunk_usage_is_summed_without_a_totals_event(tmp_path: Any) -> None:
    events = GEMMA4_STREAM[:5]
    body = {"model": GEMMA4, "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    chunks = chunks_of(await post(Replay(events=events), tmp_path, body))
    assert chunks[-1]["usage"] == usage(147, 3, reasoning=1)  # 3 × 9 // 20: the one chunk it took


async def test_cached_prompt_tokens_workers_ai_reports_are_passed_on(tmp_path: Any) -> None:
    """Workers AI's ``prompt_tokens_details.cached_tokens`` (gemma-4's totals carry it, S9) is OpenAI's."""
    totals = GEMMA4_STREAM[6].replace('"cached_tokens":0', '"cached_tokens":128')
    body = {"model": GEMMA4, "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    chunks = chunks_of(await post(Replay(events=[*GEMMA4_STREAM[:6], totals]), tmp_path, body))
    assert chunks[-1]["usage"] == usage(147, 16, reasoning=7, cached=128)
    whole = {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2048, "completion_tokens": 1, "total_tokens": 2049,
                  "prompt_tokens_details": {"cached_tokens": 1024}}}
    r = await post(Replay(whole=whole), tmp_path, {"model": GEMMA4, "messages": [{"role": "user", "content": "hi"}]})
    assert_matches(r.json(), "CreateChatCompletionResponse")
    assert r.json()["usage"] == usage(2048, 1, cached=1024)


async def test_qwen_tool_call_stream(tmp_path: Any) -> None:
    body = {"model": QWEN38, "messages": [{"role": "user", "content": "weather?"}], "stream": True, "tools": TOOLS}
    chunks = chunks_of(await post(Replay(events=QWEN_TOOL_STREAM), tmp_path, body))
    calls = [d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls") or ()]
    assert calls[0] == {"index": 0, "id": "call_chatcmpl-tool-abc", "type": "function",
                        "function": {"name": "get_weather", "arguments": ""}}
    assert "".join(c["function"]["arguments"] for c in calls) == '{"city": "Tokyo"}'
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"


@pytest.mark.parametrize(
    "whole",
    [
        # classic: flat calls with object arguments, response null (S1/S5)
        {"response": None, "tool_calls": [{"name": "get_weather", "arguments": {"city": "Tokyo"}}],
         "usage": {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37}},
        # llama-4-scout: OpenAI-shaped calls with object arguments (S1 l.9145)
        {"response": "", "tool_calls": [{"id": "x1", "type": "function",
                                         "function": {"name": "get_weather", "arguments": {"city": "Tokyo"}}}]},
    ],
)
async def test_classic_tool_call_shapes(tmp_path: Any, whole: dict[str, Any]) -> None:
    body = {"model": LLAMA33, "messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS}
    r = await post(Replay(whole=whole), tmp_path, body)
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateChatCompletionResponse")
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and json.loads(call["function"]["arguments"]) == {"city": "Tokyo"}


async def test_classic_json_mode_object_response(tmp_path: Any) -> None:
    # S4: with JSON mode, `response` is an object; the reply content is its JSON text.
    whole = {"response": {"name": "India", "capital": "New Delhi"}}
    body = {"model": LLAMA33, "messages": [{"role": "user", "content": "India as JSON"}],
            "response_format": {"type": "json_object"}, "stream": True}
    ai = Replay(whole=whole)
    chunks = chunks_of(await post(ai, tmp_path, body))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert json.loads(text) == whole["response"]
    assert "stream" not in ai.calls[-1]  # JSON mode can't stream on classic models: run whole, replay


async def test_classic_tools_run_whole_when_streaming(tmp_path: Any) -> None:
    whole = {"response": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}
    ai = Replay(whole=whole)
    body = {"model": LLAMA33, "messages": [{"role": "user", "content": "weather?"}], "tools": TOOLS, "stream": True}
    chunks = chunks_of(await post(ai, tmp_path, body))
    assert "stream" not in ai.calls[-1]
    calls = [d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls") or ()]
    assert calls[0]["function"]["name"] == "get_weather" and json.loads(calls[0]["function"]["arguments"]) == {
        "city": "Oslo"}


async def test_empty_json_answer_to_a_stream_request_is_retried_whole(tmp_path: Any) -> None:
    # gpt-oss on /ai/run may answer stream:true with an empty JSON result instead of SSE (S8).
    whole = {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi", "reasoning": "Greet."},
         "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}

    class EmptyStream(Replay):
        async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
            self.calls.append(inputs)
            return {"result": None} if inputs.get("stream") else self.whole

    ai = EmptyStream(whole=whole)
    body = {"model": "@cf/openai/gpt-oss-20b", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    chunks = chunks_of(await post(ai, tmp_path, body))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "Hi"
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Greet."
    assert [c.get("stream") for c in ai.calls] == [True, None]
    assert chunks[-1]["usage"]["total_tokens"] == 8
