"""Reading chat-completion streams in tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .openapi import assert_matches


def chat_chunks(r: httpx.Response) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a 200 SSE response, each validated against
    OpenAI's schema; the stream must end with ``data: [DONE]``."""
    assert r.status_code == 200, r.text
    payloads = [line[6:] for line in r.text.split("\n") if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    for chunk in chunks:
        assert_matches(chunk, "CreateChatCompletionStreamResponse")
    return chunks
