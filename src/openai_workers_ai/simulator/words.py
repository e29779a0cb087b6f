"""The simulated models' words: deterministic replies, token counts, SSE events.

Shared by every text-generation family of the simulator (:mod:`.text_generation` for
``prompt`` requests, :mod:`.chat_families` / :mod:`.chat_behaviour` for chat).
"""

from __future__ import annotations

import hashlib
import re
from json import dumps
from typing import Any

# A vocabulary with multi-byte characters, so streams split UTF-8 sequences.
WORDS = (
    "the workers simulator answers deterministically with naïve café déjà vu "
    "über straße 日本語 テキスト 🙂 🚀 façade jalapeño tokens stream gateway model "
    "reply echo words cloudflare edge cache latency"
).split()
_WORD = re.compile(r"\S+")


def tokens(text: str) -> int:
    """The simulator's token count: whitespace-separated words."""
    return len(_WORD.findall(text))


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """The first ``limit`` words of ``text`` (whitespace kept), and whether it was cut."""
    for n, match in enumerate(_WORD.finditer(text), start=1):
        if n == limit:
            rest = text[match.end() :]
            return text[: match.end()], bool(rest.strip())
    return text, False


def last_user_text(inputs: dict[str, Any]) -> str:
    """The text of the last user message (or the prompt)."""
    if "messages" not in inputs:
        return str(inputs.get("prompt", ""))
    for message in reversed(inputs["messages"]):
        if message.get("role") == "user":
            content = message.get("content", "")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    return ""


_WAIT = re.compile(r"^wait:(\d+(?:\.\d+)?)[ \t]*\n?")
MAX_WAIT = 60.0
"""Longest ``wait:`` a request may ask for (seconds)."""


def waited(inputs: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """``wait:<seconds>`` at the start of the last user message (or prompt): how long the model takes
    (at most :data:`MAX_WAIT`) and the inputs without the directive (the rest is answered as usual);
    ``(0, inputs)`` without one."""
    if "messages" not in inputs:
        prompt = inputs.get("prompt")
        match = _WAIT.match(prompt) if isinstance(prompt, str) else None
        if prompt is None or match is None:
            return 0.0, inputs
        return min(float(match.group(1)), MAX_WAIT), {**inputs, "prompt": prompt[match.end():] or " "}
    if not isinstance(inputs["messages"], list):  # left for the input checks to refuse
        return 0.0, inputs
    messages = list(inputs["messages"])
    last = next((i for i in range(len(messages) - 1, -1, -1)
                 if isinstance(messages[i], dict) and messages[i].get("role") == "user"), None)
    if last is None or not isinstance(content := messages[last].get("content", ""), (str, list)):
        return 0.0, inputs
    parts = [content] if isinstance(content, str) else [
        p for p in content if isinstance(p, dict) and p.get("type") == "text"][:1]
    text = next((p if isinstance(p, str) else str(p.get("text", "")) for p in parts), "")
    match = _WAIT.match(text)
    if match is None:
        return 0.0, inputs
    rest = text[match.end():]
    if isinstance(content, str):
        messages[last] = {**messages[last], "content": rest}
    else:
        messages[last] = {**messages[last], "content": [
            {**p, "text": rest} if any(p is q for q in parts) else p for p in content]}
    return min(float(match.group(1)), MAX_WAIT), {**inputs, "messages": messages}


def prompt_text(inputs: dict[str, Any]) -> str:
    """The whole prompt as text (for counting prompt tokens)."""
    if "messages" not in inputs:
        return str(inputs.get("prompt", ""))
    return "\n".join(str(m.get("content", "")) for m in inputs["messages"])


def reply(inputs: dict[str, Any]) -> str:
    """The model's whole answer before ``max_tokens`` applies."""
    last = last_user_text(inputs)
    if last.startswith("echo:"):
        rest = last[5:]
        return rest[1:] if rest.startswith(" ") else rest
    digest = hashlib.sha256(
        (prompt_text(inputs) + "\x00" + str(inputs.get("seed", ""))).encode()
    ).digest()
    count = 8 + digest[0] % 17
    return " ".join(WORDS[digest[1 + i % 31] % len(WORDS)] for i in range(count)) + "."


def sse(payload: dict[str, Any] | str) -> bytes:
    """One Workers AI SSE event."""
    data = payload if isinstance(payload, str) else dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()
