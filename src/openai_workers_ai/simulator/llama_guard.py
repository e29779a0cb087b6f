"""Simulated Llama Guard 3 8B (``@cf/meta/llama-guard-3-8b``, task text-generation).

Input as its schema: ``messages`` (non-empty array of ``{role, content: string}``, roles
``user``/``assistant``), ``max_tokens``, ``temperature`` 0–5, ``response_format``.
Output as the model's: ``{"response": "safe" | "unsafe\\nS1,S10", "usage"}``, or with
``response_format: {type: "json_object"}`` ``{"response": {"safe": bool, "categories": [...]}, "usage"}``.

Trigger convention (documented in the README): the conversation is unsafe when its text
contains a marker ``unsafe:S<n>`` (n 1–14; several markers give several codes, in order),
or one of the words in :data:`WORDS` (``kill`` → S1, ``bomb`` → S9, ``suicide`` → S11).
Anything else is safe. ``fail:<status>`` as the last message fails the call.
"""

from __future__ import annotations

import re
from typing import Any

from ..catalog import ModelInfo
from .failures import failure_for, invalid_input

WORDS = {"kill": "S1", "bomb": "S9", "suicide": "S11"}
_MARKER = re.compile(r"unsafe:S(1[0-4]|[1-9])\b")
_WORD = re.compile(r"\b(" + "|".join(WORDS) + r")\b", re.IGNORECASE)


def categories(text: str) -> list[str]:
    """The hazard categories (``S1`` …) ``text`` triggers: explicit ``unsafe:Sn`` markers, then trigger words."""
    found: list[str] = []
    for match in _MARKER.finditer(text):
        found.append(f"S{match[1]}")
    for match in _WORD.finditer(text):
        found.append(WORDS[match[1].lower()])
    return list(dict.fromkeys(found))


def run(info: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    messages = inputs.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_input("required properties at '/' are 'messages'")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise invalid_input(f"required properties at '/messages/{i}' are 'role,content'")
        if message.get("role") not in ("user", "assistant"):
            raise invalid_input(f"'/messages/{i}/role' must be 'user' or 'assistant'")
    temperature = inputs.get("temperature")
    if temperature is not None and not (isinstance(temperature, (int, float)) and 0 <= temperature <= 5):
        raise invalid_input("'/temperature' must be >= 0 and <= 5")
    last = messages[-1]["content"]
    if last.startswith("fail:") and last[5:].strip().isdigit():
        raise failure_for(int(last[5:].strip()))
    codes = categories("\n".join(m["content"] for m in messages))
    prompt_tokens = sum(len(m["content"].split()) for m in messages) + 180  # the template's own text
    fmt = inputs.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        response: Any = {"safe": not codes, "categories": codes}
        completion = 10
    else:
        response = "unsafe\n" + ",".join(codes) if codes else "safe"
        completion = 1 + len(codes) * 2
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
             "total_tokens": prompt_tokens + completion}
    return {"response": response, "usage": usage}
