"""Ollama's ``/api/generate`` ``context``: the conversation so far, as the ints a client passes back (pure).

Ollama answers a generate (not a raw one) with ``context``, the token ids of the templated prompt and
the answer, and a later generate that sends them back is run on their text followed by the new templated
prompt (``GenerateHandler`` in Ollama's ``server/routes.go``: ``r.Detokenize(req.Context)`` ahead of the
prompt, ``r.Tokenize(prompt + response)`` on the last object). Workers AI has no tokenizer to give here,
and the ints are opaque to clients, so this ``context`` carries the turns themselves: the system prompt
(Ollama's template renders it into the prompt, so its context holds it too), each prompt and each answer,
as JSON, deflated, three bytes to an int (each below 2**24: exact in a 32-bit int and in a float), after
:data:`MAGIC` and the byte count. Passing it back puts those turns before the new prompt.

The conversation is bounded by :data:`MAX_BYTES` (its JSON, before deflating): when an answer would make
it longer, the oldest exchanges are dropped (a leading system prompt is kept), as a model's window drops
the start of a long conversation, so that the ``context`` a client is given is always one it can send.
"""

from __future__ import annotations

import sys
import zlib
from array import array as Array
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from json import dumps, loads
from typing import Any, Literal

from ..errors import InvalidRequest
from ..types.ollama import MAX_CONTEXT_BYTES as MAX_BYTES

Role = Literal["system", "user", "assistant"]
Turn = tuple[Role, str]

MAGIC = 0x6F7761
"""The first int of a ``context`` made here (``owa`` in ASCII), the format's first version."""
_ROLES = frozenset(("system", "user", "assistant"))


def continued(earlier: Sequence[Turn], system: str | None, prompt: str) -> tuple[Turn, ...]:
    """The turns a generate runs: the ``context``'s, then ``system`` (not again when it is the system prompt
    already in force there: Ollama's text would repeat it, a chat needs it once), then the prompt."""
    turns = list(earlier)
    if system and next((text for role, text in reversed(earlier) if role == "system"), None) != system:
        turns.append(("system", system))
    turns.append(("user", prompt))
    return tuple(turns)


def encode(turns: Sequence[Turn]) -> list[int]:
    """The ``context`` for ``turns``, the oldest exchanges dropped when they are over :data:`MAX_BYTES`."""
    kept = list(turns)
    data = _json(kept)
    while len(data) > MAX_BYTES and kept:
        first = 1 if kept[0][0] == "system" and len(kept) > 1 else 0
        del kept[first]
        while first < len(kept) and kept[first][0] != "user":  # the rest of the dropped exchange
            del kept[first]
        data = _json(kept)
    packed = zlib.compress(data)
    return [MAGIC, len(packed), *_ints(packed)]


def decode(context: Sequence[int]) -> tuple[Turn, ...]:
    """The turns a ``context`` carries (``[]``: none); Ollama's 400 when it is not one made here."""
    if not context:
        return ()
    if context[0] != MAGIC or len(context) < 2:
        raise _invalid("it was not made by this server (pass back the context of its last answer)")
    size, ints = context[1], context[2:]
    if len(ints) != -(-size // 3) or size < 0:
        raise _invalid("its length does not match its contents")
    if ints and not (min(ints) >= 0 and max(ints) < 1 << 24):
        raise _invalid("its values must be integers from 0 to 16777215")
    packed = _bytes(ints)[:size]
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, MAX_BYTES + 1)
    except zlib.error:
        raise _invalid("it is damaged") from None
    if len(data) > MAX_BYTES:
        raise _invalid(f"the conversation it carries is over {MAX_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise _invalid("it is damaged")
    try:
        value = loads(data.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested deeper than json's stack
        raise _invalid("it is damaged") from None
    if not isinstance(value, list) or not all(
        isinstance(t, list) and len(t) == 2 and isinstance(t[0], str) and t[0] in _ROLES and isinstance(t[1], str)
        for t in value
    ):
        raise _invalid("it is damaged")
    return tuple((t[0], t[1]) for t in value)


async def attach(objects: AsyncIterator[dict[str, Any]], turns: Sequence[Turn]) -> AsyncIterator[dict[str, Any]]:
    """Generate's objects, the ``done: true`` one given the ``context`` of ``turns`` and the answer they
    carried (its ``response`` pieces), after ``done_reason`` where Ollama puts it."""
    answer: list[str] = []
    async with aclosing(objects) as stream:  # type: ignore[type-var]  # an async generator: has aclose()
        async for obj in stream:
            answer.append(obj.get("response", ""))
            if obj.get("done") is True:
                ints = encode([*turns, ("assistant", "".join(answer))])
                items = list(obj.items())
                at = next((k + 1 for k, (key, _) in enumerate(items) if key == "done_reason"), len(items))
                obj = dict([*items[:at], ("context", ints), *items[at:]])
            yield obj


def _ints(data: bytes) -> list[int]:
    """Three bytes an int, big-endian, the last padded with zeros (slices and ``array``: no loop in Python)."""
    n = -(-len(data) // 3)
    words = bytearray(4 * n)
    padded = data + bytes(3 * n - len(data))
    for k in range(3):
        words[k + 1::4] = padded[k::3]
    array = Array("I", bytes(words))  # "I" is 4 bytes on CPython's platforms and on Pyodide's wasm32
    if sys.byteorder == "little":
        array.byteswap()
    return array.tolist()


def _bytes(ints: Sequence[int]) -> bytes:
    """:func:`_ints` undone (every int already checked to be below 2**24)."""
    array = Array("I", ints)
    if sys.byteorder == "little":
        array.byteswap()
    words = array.tobytes()
    out = bytearray(3 * len(ints))
    for k in range(3):
        out[k::3] = words[k + 1::4]
    return bytes(out)


def _json(turns: list[Turn]) -> bytes:
    text = dumps([list(t) for t in turns], ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate a JSON body may carry


def _invalid(why: str) -> InvalidRequest:
    return InvalidRequest(f"invalid context: {why}", param="context")
