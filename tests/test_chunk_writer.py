"""``translate.chat.ChunkWriter``: the templated fast path encodes exactly what the general path does."""

from __future__ import annotations

import json

import pytest

from openai_workers_ai.translate.chat_completion import ChunkWriter

TEXTS = ["hello", ' "quoted" \\ back', "line\nbreak\ttab", "naïve 日本語 🙂", "\x00\x01\x1f", "</script>"]


@pytest.mark.parametrize("obfuscate", [False, True])
@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_text_delta_fast_path_equals_full_chunk(text: str, include_usage: bool, obfuscate: bool) -> None:
    writer = ChunkWriter("chatcmpl-x", 123, "@cf/meta/llama-3.1-8b-instruct", include_usage, obfuscate=obfuscate)
    frame = writer.delta(text, "", [])
    assert frame.startswith(b"data: ") and frame.endswith(b"\n\n")
    expected = {
        "id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 123,
        "model": "@cf/meta/llama-3.1-8b-instruct", "service_tier": "default", "system_fingerprint": None,
        "choices": [{"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}],
    }
    if include_usage:
        expected["usage"] = None
    chunk = json.loads(frame[6:])
    if obfuscate:
        assert (len(text) + len(chunk.pop("obfuscation"))) % 16 == 0
    assert chunk == expected
    # The general path (another choice index) encodes the same chunk.
    other = json.loads(writer.delta(text, "", [], index=1)[6:])
    assert other["choices"][0]["delta"] == {"content": text}
    assert ("obfuscation" in other) is obfuscate


def test_obfuscation_pads_each_chunk_to_a_multiple_of_16_with_random_characters() -> None:
    """OpenAI's chunk schema: "An obfuscation string added to normalize the size of streamed chunks"; its
    streams pad a one-character delta with 15 characters and a seven-character one with 9."""
    writer = ChunkWriter("chatcmpl-x", 1, "m", False, obfuscate=True)
    pads = [json.loads(writer.delta(text, "", [])[6:])["obfuscation"] for text in ("P", "**Craft", "x" * 16, "x" * 17)]
    assert [len(p) for p in pads] == [15, 9, 16, 15]
    assert all(p.replace("-", "").replace("_", "").isalnum() for p in pads)
    assert writer.delta("P", "", [])[-40:] != writer.delta("P", "", [])[-40:]  # random, not a constant
    for frame in (writer.role(), writer.finish("stop"), writer.delta("", "why", [])):
        assert len(json.loads(frame[6:])["obfuscation"]) in range(1, 17)


def test_lone_surrogate_does_not_break_the_stream() -> None:
    writer = ChunkWriter("chatcmpl-x", 1, "m", False)
    for frame in (writer.delta("a\ud83d", "", []), writer.delta("a\ud83d", "why", [])):
        body = json.loads(frame[6:])
        assert body["choices"][0]["delta"]["content"].startswith("a")
