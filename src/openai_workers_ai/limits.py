"""Size limits on bytes coming in: request bodies (:func:`read_body`, ``multipart``) and downloads (the fetchers).

A declared ``Content-Length`` past the limit is refused before reading; the
bytes are counted as they arrive either way, since the header may be absent or lie.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from starlette.requests import ClientDisconnect, Request

from .errors import PayloadTooLarge


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

    if declared_over(request.headers.get("content-length"), limit):
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
