"""Stand-in for Pyodide's ``js`` module (the JS globals): ``Object``, ``Array``, ``Uint8Array``,
``URL``, the fetch API (``Headers``, ``Request``, ``Response``) and streams
(``ReadableStream``, ``TransformStream``). Tests may replace a global (``js.fetch = …``)."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator, Iterable
from types import SimpleNamespace
from typing import Any

from ._values import ArrayBuffer, BytesLike, JsArray, JsObject, JsProxy, Uint8Array

__all__ = [
    "Array", "ArrayBuffer", "Headers", "Object", "ReadableStream", "Request", "Response", "TransformStream", "URL",
    "Uint8Array", "fetch",
]


# --- streams ----------------------------------------------------------------------------


class ReadableStream(JsProxy):
    """A byte stream: ``chunks`` still to read, then ``error`` (if set) or the end once ``closed``."""

    js_name = "ReadableStream"

    def __init__(self, chunks: Iterable[JsProxy | BytesLike] = (), error: BaseException | None = None) -> None:
        self.chunks: list[Any] = [c if isinstance(c, JsProxy) else Uint8Array(c) for c in chunks]
        self.error = error
        self.cancelled = False
        self.closed = True

    def getReader(self) -> _Reader:
        return _Reader(self)

    def __aiter__(self) -> AsyncIterator[Any]:  # the SDK reads request bodies with `async for`
        return self._iter()

    async def _iter(self) -> AsyncIterator[Any]:
        for c in self.chunks:
            yield c


class _Reader:
    def __init__(self, stream: ReadableStream) -> None:
        self.s = stream

    async def read(self) -> SimpleNamespace:
        s = self.s
        while not s.chunks and not s.closed and s.error is None:
            await asyncio.sleep(0)
        if s.chunks:
            return SimpleNamespace(done=False, value=s.chunks.pop(0))
        if s.error is not None:
            raise s.error
        return SimpleNamespace(done=True, value=None)

    async def cancel(self) -> None:
        self.s.cancelled = True

    def releaseLock(self) -> None:
        pass


class _Writer:
    def __init__(self, stream: ReadableStream) -> None:
        self.s = stream

    async def write(self, chunk: Any) -> None:
        self.s.chunks.append(chunk)

    async def close(self) -> None:
        self.s.closed = True


class TransformStream(JsProxy):
    readable: ReadableStream
    writable: SimpleNamespace

    @classmethod
    def new(cls) -> TransformStream:
        t = cls()
        t.readable = ReadableStream()
        t.readable.closed = False
        t.writable = SimpleNamespace(getWriter=lambda: _Writer(t.readable))
        return t


# --- fetch API ----------------------------------------------------------------------------


class Headers(JsProxy, list[tuple[str, str]]):
    js_name = "Headers"

    @classmethod
    def new(cls, pairs: Iterable[Iterable[str]]) -> Headers:
        return cls((k, v) for k, v in pairs)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self if k.lower() == name.lower()), None)


class Response(JsProxy):
    js_name = "Response"
    body: Any
    headers: Any
    status: int
    init: dict[str, Any]

    @classmethod
    def new(cls, body: Any, headers: Any = None, status: int = 200, **init: Any) -> Response:
        r = cls()
        r.body, r.headers, r.status, r.init = body, headers, status, init
        return r

    async def read(self) -> bytes:
        """The whole body (a test helper: no JS Response has it)."""
        if isinstance(self.body, ReadableStream):
            out, reader = b"", self.body.getReader()
            while True:
                got = await reader.read()
                if got.done:
                    return out
                out += got.value.to_bytes()
        return self.body.to_bytes() if self.body is not None else b""


class Request(JsProxy):
    js_name = "Request"

    def __init__(self, method: str, url: str, headers: Iterable[tuple[str, str]] = (), body: bytes | None = None):
        self.method, self.url = method, url
        self.headers = Headers.new(headers)
        self.body = ReadableStream([body]) if body else None


class URL(JsProxy):
    protocol: str
    pathname: str
    search: str

    @classmethod
    def new(cls, url: str) -> URL:
        u, p = cls(), urllib.parse.urlsplit(url)
        u.protocol, u.pathname = p.scheme + ":", p.path or "/"
        u.search = "?" + p.query if p.query else ""
        return u


class Object:
    @staticmethod
    def fromEntries(entries: Iterable[tuple[str, Any]]) -> JsObject:
        return JsObject(entries)


class Array:
    @staticmethod
    def of(*items: Any) -> JsArray:
        return JsArray(items)


async def fetch(url: str) -> Any:
    raise RuntimeError("no network in the stand-in world: a test sets js.fetch")
