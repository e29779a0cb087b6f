"""``translate.chat.ChunkWriter``: the templated fast path encodes exactly what the general path does."""

from __future__ import annotations

import json

import pytest

from openai_workers_ai.translate.chat_completion import ChunkWriter

TEXTS = ["hello", ' "quoted" \\ back', "line\nbreak\ttab", "naïve 日本語 🙂", "\x00\x01\x1f", "</script>"]


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_text_delta_fast_path_equals_full_chunk(text: str, include_usage: bool) -> None:
    writer = ChunkWriter("chatcmpl-x", 123, "@cf/meta/llama-3.1-8b-instruct", include_usage)
    frame = writer.delta(text, "", [])
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    expected = {
        "id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 123,
        "model": "@cf/meta/llama-3.1-8b-instruct", "service_tier": "default",
        "choices": [{"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}],
    }
    if include_usage:
        expected["usage"] = None
    assert json.loads(frame[6:]) == expected
    # The general path (another choice index) encodes the same chunk.
    assert json.loads(writer.delta(text, "", [], index=1)[6:])["choices"][0]["delta"] == {"content": text}


def test_lone_surrogate_does_not_break_the_stream() -> None:
    writer = ChunkWriter("chatcmpl-x", 1, "m", False)
    for frame in (writer.delta("a\ud83d", "", []), writer.delta("a\ud83d", "why", [])):
        body = json.loads(frame[6:])
        assert body["choices"][0]["delta"]["content"].startswith("a")
