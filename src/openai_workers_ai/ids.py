"""Object ids in OpenAI's formats (``chatcmpl-…``, ``file-…``): random, URL-safe."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """``prefix`` followed by ``length`` random letters and digits, each uniform over the 62."""
    return prefix + _random_chars(length)


def _base62(number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(digits)


# Random bytes mapped to letters and digits: the 248 byte values below 4 × 62 spell each character
# four times (so every character is equally likely), the 8 above are dropped. One system call and
# one pass in C per id, where drawing one big number and dividing it 24 times cost ~2 µs.
_SPELLED = bytes(_ALPHABET[b % 62].encode()[0] for b in range(248)) + bytes(8)
_DROPPED = bytes(range(248, 256))


def _random_chars(length: int) -> str:
    chars = b""
    while len(chars) < length:  # 8 bytes spare: falling short (9+ of 32 dropped) is a ~1-in-10⁹ retry
        chars += secrets.token_bytes(length + 8).translate(_SPELLED, _DROPPED)
    return chars[:length].decode()


# ASCII order, so that SQLite's default (binary) collation sorts these ids by time.
_ORDERED = string.digits + string.ascii_uppercase + string.ascii_lowercase


_last_ms = 0


def new_sortable_id(prefix: str, now_ms: int, length: int = 24) -> str:
    """An id whose first 8 characters are a millisecond stamp in base62: sorting ids sorts
    by creation time, so a list can page with ``id > ?`` even after the cursor's own object
    was deleted. The stamp is ``now_ms``, bumped past the last one this process issued, so
    ids made in the same millisecond still sort in creation order. The rest is random."""
    global _last_ms
    now_ms = _last_ms = max(now_ms, _last_ms + 1)
    stamp = ""
    for _ in range(8):  # 62**8 ms ≈ 6,900 years
        now_ms, digit = divmod(now_ms, 62)
        stamp = _ORDERED[digit] + stamp
    return prefix + stamp + _base62(secrets.randbelow(62 ** (length - 8)), length - 8)


def call_id(upstream: str | None = None) -> str:
    """A tool call's id in OpenAI's form (``call_…``): ``upstream``'s id kept inside it (so a call
    sent back matches), or a fresh one."""
    if not upstream:
        return new_id("call_")
    return upstream if upstream.startswith("call_") else "call_" + upstream
