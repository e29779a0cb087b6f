"""Values across the Python ⇄ JavaScript boundary, for the Worker adapters (``adapters/workers.py``).

Python values go out through :func:`to_js`, JS values come back through
:func:`to_py`, JS byte streams are read with :func:`read_stream`. Bindings are
used through :func:`unwrap`: the SDK's ``WorkerEntrypoint`` hands out
``self.env`` wrapped so that binding calls convert their arguments and results
implicitly (``workers.rpc``'s ``_BindingWrapper``); the adapters call the plain
JS binding and convert explicitly, so that what the core receives does not
depend on that layer (e.g. ``JsDict`` vs ``dict``, memoryview vs bytes, null handling).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

import js
from pyodide import ffi
from pyodide.ffi import JsException, JsProxy

from ..errors import UpstreamError
from ..ports import Base64Bytes

if TYPE_CHECKING:
    from pyodide.ffi import JsBuffer

# Pyodide >= 0.27 (every Python 3.13 Worker) keeps JS null apart from undefined; before, None
# converts to undefined. Read with getattr: the dev stubs (pyodide-py) have it on Python >= 3.12 only.
jsnull: Any = getattr(ffi, "jsnull", None)

__all__ = [
    "is_null", "js_bytes", "js_error_text", "js_type", "jsnull", "read_all", "read_stream", "to_js", "to_py", "unwrap",
]

_BUFFERS = frozenset(
    {"ArrayBuffer", "Uint8Array", "Uint8ClampedArray", "Int8Array", "DataView", "Buffer"}
)


def unwrap(binding: Any) -> Any:
    """The plain JS binding under the SDK's ``_BindingWrapper`` (or the binding itself)."""
    try:
        return object.__getattribute__(binding, "_binding")
    except AttributeError:
        return binding


def is_null(value: Any) -> bool:
    """JS ``null`` or ``undefined`` (or Python None)."""
    return value is None or value is jsnull


def js_type(value: Any) -> str | None:
    """The JS constructor's name (``"ReadableStream"``, ``"Uint8Array"`` …), if any."""
    constructor = getattr(value, "constructor", None)
    name = getattr(constructor, "name", None)
    return name if isinstance(name, str) else None


def js_bytes(data: bytes | bytearray | memoryview) -> Any:
    """A fresh ``Uint8Array`` holding a copy of ``data``."""
    array = js.Uint8Array.new(len(data))
    array.assign(data)
    return array


def _prepare(value: Any) -> Any:
    """Replace what ``to_js`` would not convert the way JS APIs expect (bytes)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return js_bytes(value)
    if isinstance(value, Base64Bytes):
        return value.text()
    if isinstance(value, dict) and set(value) == {"body", "contentType"} and isinstance(
        value["body"], (bytes, bytearray, memoryview)
    ):
        # A binary model input (Nova-3's ``audio: {body, contentType}``): the binding takes a stream.
        return {"body": js.Response.new(js_bytes(value["body"])).body, "contentType": value["contentType"]}
    if isinstance(value, dict):
        return {str(k): _prepare(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(v) for v in value]
    return value


def to_js(value: Any) -> Any:
    """Python -> JS: dicts become plain objects, lists Arrays, bytes Uint8Arrays.

    ``None`` becomes ``undefined`` (an absent field), as ``to_js`` does.
    """
    return ffi.to_js(_prepare(value), dict_converter=js.Object.fromEntries)


def to_py(value: Any) -> Any:
    """JS -> Python: plain dicts/lists/scalars, ``bytes`` for buffers, None for null."""
    if is_null(value):
        return None
    if isinstance(value, (str, bool, int, float, bytes)):
        return value
    if isinstance(value, JsProxy):
        if js_type(value) in _BUFFERS:
            return bytes(cast("JsBuffer", value).to_bytes())
        value = value.to_py()
        if isinstance(value, JsProxy):  # not convertible (a class instance): leave it
            return value
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, dict):
        return {k: to_py(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_py(v) for v in value]
    return value


def js_error_text(exc: BaseException) -> str:
    """``"<name>: <message>"`` of a JS error (as Workers AI words it)."""
    name = getattr(exc, "name", None)
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return f"{name}: {message}" if isinstance(name, str) and name else message
    return str(exc)


async def read_stream(
    stream: Any, on_error: Callable[[BaseException], UpstreamError]
) -> AsyncIterator[bytes]:
    """A JS ``ReadableStream`` of bytes as an async iterator of Python ``bytes``
    (the SDK's own way: ``getReader()`` / ``read()`` / ``value.to_bytes()``);
    a JS error while reading is raised as ``on_error(exc)``.

    Closing the iterator early (the client went away) cancels the stream.
    """
    reader = stream.getReader()
    done = False
    try:
        while True:
            try:
                result = await reader.read()
            except JsException as exc:
                done = True
                raise on_error(exc) from exc
            if result.done:
                done = True
                return
            chunk = result.value
            if isinstance(chunk, str):
                yield chunk.encode()
            elif isinstance(chunk, (bytes, bytearray, memoryview)):
                yield bytes(chunk)
            else:
                yield bytes(chunk.to_bytes())
    finally:
        if not done:
            try:
                await reader.cancel()
            except JsException:
                pass
        try:
            reader.releaseLock()
        except JsException:
            pass


async def read_all(stream: Any, on_error: Callable[[BaseException], UpstreamError]) -> bytes:
    """A JS ``ReadableStream`` read whole."""
    return b"".join([chunk async for chunk in read_stream(stream, on_error)])
