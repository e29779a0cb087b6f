"""Text → chunks, as OpenAI's static chunking strategy: windows of at most ``max_chunk_size_tokens``,
each starting ``chunk_overlap_tokens`` before the previous one ended.

Tokens are the gateway's documented estimate (:func:`..workers_ai.spec.estimate_tokens`: four
characters a token), not a model tokenizer's count: Workers AI's embedding models each tokenize their
own way, and the estimate keeps a chunk well inside bge-m3's 8,192-token window. A window ends at the
best boundary in its second half — a blank line, else a line end, else a sentence end, else a space —
and the next one starts at a word, so no word is cut unless a single "word" outgrows half a window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..workers_ai.spec import estimate_tokens

CHARS_PER_TOKEN = 4
DEFAULT_CHUNK_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400
MIN_CHUNK_TOKENS, MAX_CHUNK_TOKENS = 100, 4096

_SPACE = re.compile(r"\s")
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"[.!?][\"')\]]*\s"), _SPACE)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of a file: its place (from 0), its text, and its estimated tokens."""

    index: int
    text: str
    tokens: int


def chunk_text(text: str, max_tokens: int = DEFAULT_CHUNK_TOKENS,
               overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:
    """``text`` cut into overlapping chunks (none for text that is only whitespace)."""
    return list(iter_chunks(text, max_tokens, overlap_tokens))


def iter_chunks(text: str, max_tokens: int = DEFAULT_CHUNK_TOKENS,
                overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> Iterator[Chunk]:
    """:func:`chunk_text`, one chunk at a time (a large file's chunks are never all held at once)."""
    size, overlap = max_tokens * CHARS_PER_TOKEN, overlap_tokens * CHARS_PER_TOKEN
    index = 0
    start, length = _skip_space(text, 0), len(text)
    while start < length:
        end = min(start + size, length)
        if end < length:
            end = _boundary(text, start + size // 2, end)
        piece = text[start:end].strip()
        if piece:
            yield Chunk(index, piece, estimate_tokens(piece))
            index += 1
        if end >= length:
            break
        start = _skip_space(text, _word_start(text, max(end - overlap, start + 1), end))


def _boundary(text: str, low: int, high: int) -> int:
    """Where a window ending at most at ``high`` should end: just after the best boundary past ``low``."""
    for pattern in _BOUNDARIES:
        ends = [m.end() for m in pattern.finditer(text, low, high)]
        if ends:
            return ends[-1]
    return high


def _word_start(text: str, index: int, limit: int) -> int:
    """``index``, or the start of the next word when ``index`` falls inside one (before ``limit``)."""
    if index == 0 or text[index - 1].isspace():
        return index
    space = _SPACE.search(text, index, limit)
    return space.end() if space else index


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index
