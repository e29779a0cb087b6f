"""Stand-in for Pyodide's ``js`` module (the JS globals the adapters use): ``Object``, ``Array``,
``Uint8Array``, ``Headers``, ``ReadableStream``, and ``fetch`` (a test sets ``js.fetch = …``); ``Request``
and ``Response`` only as names (the SDK's ``workers.asgi`` annotates with them at import)."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from ._values import ArrayBuffer, BytesLike, JsArray, JsObject, JsProxy, Uint8Array

__all__ = ["Array", "ArrayBuffer", "Headers", "Object", "ReadableStream", "Request", "Response", "Uint8Array", "fetch"]


class ReadableStream(JsProxy):
    """A byte stream: ``chunks`` still to read, then ``error`` (if set) or the end."""

    js_name = "ReadableStream"

    def __init__(self, chunks: Iterable[JsProxy | BytesLike] = (), error: BaseException | None = None) -> None:
        self.chunks: list[Any] = [c if isinstance(c, JsProxy) else Uint8Array(c) for c in chunks]
        self.error = error
        self.cancelled = False

    def getReader(self) -> _Reader:
        return _Reader(self)


class _Reader:
    def __init__(self, stream: ReadableStream) -> None:
        self.s = stream

    async def read(self) -> SimpleNamespace:
        s = self.s
        if s.chunks:
            return SimpleNamespace(done=False, value=s.chunks.pop(0))
        if s.error is not None:
            raise s.error
        return SimpleNamespace(done=True, value=None)

    async def cancel(self) -> None:
        self.s.cancelled = True

    def releaseLock(self) -> None:
        pass


class Headers(JsProxy, list[tuple[str, str]]):
    js_name = "Headers"

    @classmethod
    def new(cls, pairs: Iterable[Iterable[str]]) -> Headers:
        return cls((k, v) for k, v in pairs)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self if k.lower() == name.lower()), None)


class Request(JsProxy):
    js_name = "Request"


class Response(JsProxy):
    js_name = "Response"


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
