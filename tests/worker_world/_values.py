"""The JS values of the stand-in world: what Pyodide hands Python for JS objects (``JsProxy``).

Each stand-in answers ``.constructor.name`` as the real object does (the adapters branch on it) and
``to_py()`` as Pyodide does: plain objects to dicts, arrays to lists, nulls kept as ``jsnull``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

BytesLike = bytes | bytearray | memoryview


class JsProxy:
    """Any JS object; ``js_name`` is its constructor's name."""

    js_name = "Object"

    @property
    def constructor(self) -> SimpleNamespace:
        return SimpleNamespace(name=self.js_name)

    def to_py(self) -> Any:
        return self


class JsException(JsProxy, Exception):
    """A JS error thrown into Python (``name`` and ``message`` as the JS error has them)."""

    js_name = "Error"

    def __init__(self, name: str, message: str) -> None:
        Exception.__init__(self, f"{name}: {message}")
        self.name, self.message = name, message


class JsNull(JsProxy):
    js_name = "null"

    def __repr__(self) -> str:
        return "jsnull"


jsnull = JsNull()


class JsObject(JsProxy):
    """A plain JS object (what ``Object.fromEntries`` returns): fields read as attributes."""

    def __init__(self, entries: Iterable[tuple[str, Any]] = ()) -> None:
        object.__setattr__(self, "_d", dict(entries))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._d[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_py(self) -> dict[str, Any]:
        return {k: _to_py(v) for k, v in self._d.items()}


class JsArray(JsProxy, list[Any]):
    js_name = "Array"

    def to_py(self) -> list[Any]:
        return [_to_py(v) for v in self]


def _to_py(value: Any) -> Any:
    # Nested objects and arrays convert too; nulls stay jsnull, as in Pyodide >= 0.27.
    return value.to_py() if isinstance(value, (JsObject, JsArray)) else value


class Uint8Array(JsProxy):
    """A JS byte array (Pyodide's ``JsBuffer``): ``assign`` copies in, ``to_bytes`` copies out."""

    js_name = "Uint8Array"

    def __init__(self, data: BytesLike = b"") -> None:
        self._b = bytearray(data)

    @classmethod
    def new(cls, n: int | BytesLike) -> Uint8Array:
        return cls(bytes(n) if isinstance(n, int) else n)

    def assign(self, data: BytesLike) -> None:
        assert len(data) == len(self._b), "assign needs equal lengths"
        self._b[:] = bytes(data)

    def to_bytes(self) -> bytes:
        return bytes(self._b)

    def slice(self) -> Uint8Array:
        return Uint8Array(self._b)

    @property
    def buffer(self) -> ArrayBuffer:
        return ArrayBuffer(self._b)


class ArrayBuffer(Uint8Array):
    js_name = "ArrayBuffer"
