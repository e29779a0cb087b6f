"""Object ids in OpenAI's formats (``chatcmpl-…``, ``file-…``): random, URL-safe; and the random padding of
streamed deltas (:func:`padding`)."""

from __future__ import annotations

import os
import secrets
import string
import struct
import time
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from random import getrandbits

_ALPHABET = string.ascii_letters + string.digits

# Random bytes drawn from the system POOL_BYTES at a time, handed out a chunk each, never twice: a draw
# is a system call (getrandom, ~0.3 µs), and a stored response made four. Drawn at the first use, never
# at import (the Worker snapshots module state); a forked child draws afresh (it must not hand out its
# parent's chunks); next() on the chunks' iterator is one step, so two threads never get the same chunk.
CHUNK = 32
POOL_BYTES = 4096
_chunks: Iterator[tuple[bytes]] = iter(())


def random_bytes(n: int) -> bytes:
    """``n`` (at most :data:`CHUNK`) random bytes from the system's CSPRNG (through the pool)."""
    global _chunks
    drawn = next(_chunks, None)
    if drawn is None:
        _chunks = struct.iter_unpack(f"{CHUNK}s", secrets.token_bytes(POOL_BYTES))  # the chunks, cut as taken
        drawn = next(_chunks)
    return drawn[0][:n]


def _forget_pool() -> None:
    global _chunks, _padding
    _chunks = iter(())
    _padding = b""


if hasattr(os, "register_at_fork"):  # not in Pyodide, which has no fork
    os.register_at_fork(after_in_child=_forget_pool)


def new_id(prefix: str, length: int = 24) -> str:
    """``prefix`` followed by ``length`` random letters and digits, each uniform over the 62."""
    return prefix + _random_chars(length)


# Random bytes mapped to letters and digits: the 248 byte values below 4 × 62 spell each character
# four times (so every character is equally likely), the 8 above are dropped. One chunk of the pool and
# one pass in C per id, where drawing one big number and dividing it 24 times cost ~2 µs.
_SPELLED = bytes(_ALPHABET[b % 62].encode()[0] for b in range(248)) + bytes(8)
_DROPPED = bytes(range(248, 256))


def _random_chars(length: int) -> str:
    chars = b""
    while len(chars) < length:  # 24 from 32 bytes: falling short (9+ of 32 dropped) is a ~1-in-10⁹ retry
        chars += random_bytes(CHUNK).translate(_SPELLED, _DROPPED)
    return chars[:length].decode()


# ASCII order, so that SQLite's default (binary) collation sorts these ids by time.
_ORDERED = string.digits + string.ascii_uppercase + string.ascii_lowercase


_last_ms = 0
_count = 0
_PER_MS = 62 ** 2


def new_sortable_id(prefix: str, now_ms: int, length: int = 24) -> str:
    """An id that sorts by creation time, so a list can page with ``id > ?`` even after the cursor's
    own object was deleted: a millisecond stamp (8 base62 characters, ``now_ms``), then how many ids
    this process made before it in that millisecond (2), then random characters.

    Ids of one process sort in the order it made them, and ids of different processes (or isolates)
    in the order of their milliseconds: the stamp is the clock's, never bumped ahead of it (a process
    that made 32 messages at once must not sort them after another process's next message); only
    past 3,844 ids in one millisecond does it take the next one."""
    global _last_ms, _count
    if now_ms > _last_ms:
        _last_ms, _count = now_ms, 0
    else:
        _count += 1
        if _count == _PER_MS:
            _last_ms, _count = _last_ms + 1, 0
    return prefix + _ordered(_last_ms, 8) + _ordered(_count, 2) + _random_chars(length - 10)  # 62**8 ms: 6,900 years


def _ordered(number: int, length: int) -> str:
    """``number`` in ``length`` base62 digits of :data:`_ORDERED` (ASCII order: they sort as numbers)."""
    digits = ""
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits = _ORDERED[digit] + digits
    return digits


_last_us = 0


def microseconds(floor: int = 0) -> int:
    """The wall clock in microseconds (at least ``floor``), bumped past the last stamp this process made:
    stamps made together still differ and sort in the order they were made."""
    global _last_us
    stamp = time.time_ns() // 1000
    if stamp <= _last_us:
        stamp = _last_us + 1
    if stamp < floor:
        stamp = floor
    _last_us = stamp
    return stamp


def new_hex_id(prefix: str) -> str:
    """``prefix`` and 48 hex digits, as OpenAI's Responses ids look (``msg_67cc…``: they begin with the
    time): the time in microseconds (7 bytes, :func:`microseconds`), then 17 random bytes (136 bits).
    Time-ordered, so the rows and index entries a stored response adds (keyed by its id and its items'
    ids) go at the end of their B-trees, SQLite's and D1's, not at random places among the older ones
    (~10 µs of SQLite's work a stored response here)."""
    return prefix + (microseconds().to_bytes(7, "big") + random_bytes(17)).hex()


def new_dated_hex_id(prefix: str, now: int) -> str:
    """``prefix``, ``now`` (seconds) as 8 hex digits, then 24 random hex digits (96 bits): OpenAI's upload and
    upload part ids (``upload_68cb2a7db100…``, ``part_68cb2a7e21c8…``: their first 8 digits are their
    ``created_at``)."""
    return f"{prefix}{now:08x}{random_bytes(12).hex()}"


def dated_hex_id_pattern(prefix: str) -> str:
    """The regular expression of ``prefix``'s ids: :func:`new_dated_hex_id`'s (32 hex digits), or the 24 letters
    and digits :func:`new_sortable_id` made for them before."""
    return rf"^{prefix}(?:[0-9a-f]{{32}}|[0-9A-Za-z]{{24}})$"


def moderation_id() -> str:
    """A moderation's id as OpenAI's omni-moderation gives it: ``modr-`` and a decimal number (``modr-913``,
    ``modr-6998``; the five recorded are below 10,000), no longer the 29 random characters of the text
    moderation models (openai/openai-dotnet tests/SessionRecords/ModerationsTests, 2025-09 and later)."""
    return f"modr-{int.from_bytes(random_bytes(4), 'big') % 10_000}"


def claim_token() -> str:
    """A claim's token (16 hex digits): whose a row is to write — a background response's generator, a
    run's executor (the repositories' conditional statements require it), a local job's runner."""
    return random_bytes(8).hex()


def request_id() -> str:
    """A request's id as OpenAI's ``x-request-id`` header gives it: ``req_`` and 32 hex digits."""
    return "req_" + random_bytes(16).hex()


def call_id(upstream: str | None = None) -> str:
    """A tool call's id in OpenAI's form (``call_…``): ``upstream``'s id kept inside it (so a call
    sent back matches), or a fresh one."""
    if not upstream:
        return new_id("call_")
    return upstream if upstream.startswith("call_") else "call_" + upstream


# The padding's characters: base64url drawn from ``random`` PADDING_BYTES at a time (never at import),
# handed out in order, never twice; a forked child draws afresh.
PADDING_BYTES = 3072
_padding: bytes = b""
_padding_at = 0


def padding(size: int) -> bytes:
    """The ``obfuscation`` of a streamed delta carrying ``size`` characters of text: random characters
    (base64url) that bring it up to the next multiple of 16 (1 to 16), as OpenAI's streams do (a
    one-character delta comes with 15, a seven-character one with 9). Only their number matters (what
    they hide is the length of the text, under TLS), so they come from ``random``, drawn in bulk: a slice a
    delta (~0.2 µs, where a draw a delta cost ~0.35)."""
    global _padding, _padding_at
    n, at = 16 - size % 16, _padding_at
    if at + n > len(_padding):
        _padding, at = urlsafe_b64encode(getrandbits(PADDING_BYTES * 8).to_bytes(PADDING_BYTES, "big")), 0
    _padding_at = at + n
    return _padding[at:at + n]
