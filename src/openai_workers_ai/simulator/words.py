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
