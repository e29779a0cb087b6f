"""Size limits on bytes coming in: request bodies (:func:`read_body`, ``multipart``), downloads (the
fetchers), and values stored in a D1 row (:func:`check_fits_a_row`).

A declared ``Content-Length`` past the limit is refused before reading; the
bytes are counted as they arrive either way, since the header may be absent or lie.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from json import dumps
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import Scope

from .errors import InvalidRequest, PayloadTooLarge


def header(scope: Scope, name: bytes) -> str | None:
    """The value of a request's header ``name`` (lower case; the first, if sent more than once), or
    None: what Starlette's ``request.headers.get`` answers, read from the scope without building a
    ``Headers`` (whose ``get`` raises and catches a ``KeyError`` for a header not sent)."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def declared_over(content_length: str | None, limit: int) -> bool:
    """Whether a ``Content-Length`` value says more than ``limit`` bytes (a malformed one says nothing)."""
    return content_length is not None and content_length.isdigit() and int(content_length) > limit


async def read_at_most(
    chunks: AsyncIterator[bytes], limit: int, too_large: Callable[[], BaseException]
) -> bytes:
    """All of ``chunks`` joined, raising ``too_large()`` as soon as they pass ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large()
        parts.append(chunk)
    return b"".join(parts)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes (413) before reading it all.

    Read from the ASGI ``receive`` channel as ``Request.stream()`` reads it, without its generator
    (a few µs a request): the body can be read once, as every door reads it."""

    def too_large() -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")

    if declared_over(header(request.scope, b"content-length"), limit):
        raise too_large()
    parts: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large()
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


MAX_ROW_VALUE_BYTES = 1024 * 1024
"""Bytes of JSON one stored value may take (a thread message's content, a run's instructions, its tool
outputs, a response's echoed request fields): a D1 row holds at most 2 MB, and has other columns."""


def check_fits_a_row(value: Any, param: str, what: str) -> None:
    """A 400 naming ``param`` when ``value`` would take more than :data:`MAX_ROW_VALUE_BYTES` as JSON
    (D1 would refuse the row: a 502 after the fact)."""
    size = len(dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if size > MAX_ROW_VALUE_BYTES:
        raise InvalidRequest(f"{what} must be under {MAX_ROW_VALUE_BYTES // 2**20} MiB of JSON here (a D1 row holds "
                             f"2 MB); this is {size} bytes.", param=param)
