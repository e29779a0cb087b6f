"""Simulated text-generation models (classic Workers AI shape).

Input validation follows the model schemas (``messages`` or ``prompt``,
numeric ranges); output is ``{"response", "usage"}`` or, streaming, SSE events
``data: {"response": "…", "p": "…"}`` with ``usage`` on the last one, then
``data: [DONE]``.

Chat (``messages``) requests are answered by :mod:`.chat_families` in each model
family's own shape, with the conventions of :mod:`.chat_behaviour` (tools, JSON
mode, vision, reasoning). ``prompt`` requests get the classic shape below.

Convention (besides ``echo:`` / ``fail:``, see the package docstring):
``fail-mid:<status>`` as the last user message makes a *stream* send two
events ("partial answer") and then fail as ``fail:<status>`` would (in
process: the stream raises; over REST: the connection ends with an
``event: error`` frame); not streaming, it fails like ``fail:<status>``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from ..catalog import ModelInfo
from . import chat_families, responses_input
from .failures import failure_for, invalid_input
from .words import last_user_text, prompt_text, reply, sse, tokens, truncate

DEFAULT_MAX_TOKENS = 256
RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0, 5),
    "top_p": (0, 2),
    "top_k": (1, 50),
    "seed": (1, 9_999_999_999),
    "repetition_penalty": (0, 2),
    "frequency_penalty": (-2, 2),
    "presence_penalty": (-2, 2),
    "max_tokens": (1, 131_072),
}
def validate(inputs: dict[str, Any]) -> None:
    """Workers AI's schema checks on the inputs (``prompt`` / ``messages``, sampling ranges), in its words."""
    messages, prompt = inputs.get("messages"), inputs.get("prompt")
    if messages is None and prompt is None:
        raise invalid_input("oneOf at '/' not met, required properties: 'prompt' or 'messages'")
    if prompt is not None and (not isinstance(prompt, str) or not prompt):
        raise invalid_input("Type mismatch of '/prompt', 'string' not in 'string' with minLength 1")
    if messages is not None:
        if not isinstance(messages, list) or not messages:
            raise invalid_input("Type mismatch of '/messages', expected a non-empty array")
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise invalid_input(f"required properties at '/messages/{i}' are 'role,content'")
            if m.get("content") is None and m.get("tool_calls"):
                continue  # Chat Completions models: an assistant turn that only called tools
            if not isinstance(m.get("content", ""), (str, list)):
                raise invalid_input(f"Type mismatch of '/messages/{i}/content'")
    for name, (low, high) in RANGES.items():
        value = inputs.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid_input(f"Type mismatch of '/{name}', expected a number")
        if not low <= value <= high:
            raise invalid_input(f"'/{name}' must be between {low} and {high}, got {value}")


def run(model: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any] | AsyncIterator[bytes]:
    if "input" in inputs and model.family == "gpt-oss":  # gpt-oss's Responses-shaped input
        chat = responses_input.chat_inputs(inputs)
        validate(chat)
        last = last_user_text(chat)
        if last.startswith(("fail:", "fail-mid:")) and last.partition(":")[2].strip().isdigit():
            raise failure_for(int(last.partition(":")[2].strip()))
        return responses_input.run(model, inputs)
    validate(inputs)
    last = last_user_text(inputs)
    if last.startswith("fail:") and last[5:].strip().isdigit():
        raise failure_for(int(last[5:].strip()))
    if last.startswith("fail-mid:") and last[9:].strip().isdigit():
        failure = failure_for(int(last[9:].strip()))
        if not inputs.get("stream"):
            raise failure
        return _failing_events(failure)
    if "messages" in inputs:  # chat: tools, JSON mode, vision, reasoning, per model family
        return chat_families.run(model, inputs, prompt_text(inputs))
    text, _ = truncate(reply(inputs), int(inputs.get("max_tokens") or DEFAULT_MAX_TOKENS))
    usage = {
        "prompt_tokens": tokens(prompt_text(inputs)),
        "completion_tokens": tokens(text),
        "total_tokens": tokens(prompt_text(inputs)) + tokens(text),
    }
    if inputs.get("stream"):
        return _events(text, usage)
    return {"response": text, "tool_calls": [], "usage": usage}


async def _failing_events(failure: Exception) -> AsyncIterator[bytes]:
    """``fail-mid:<status>``: a stream that starts, then fails (as a broken upstream stream)."""
    yield sse({"response": "partial ", "p": "a"})
    yield sse({"response": "answer", "p": "ab"})
    raise failure


async def _events(text: str, usage: dict[str, int]) -> AsyncIterator[bytes]:
    for piece in re.findall(r"\s*\S+|\s+$", text) or [text]:
        yield sse({"response": piece, "p": "abcdefghijklmnopqrstuvwxyz0123456789"[: len(piece) % 7 + 1]})
    yield sse({"response": "", "usage": usage})
    yield sse("[DONE]")
