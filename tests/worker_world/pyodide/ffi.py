"""Stand-in for ``pyodide.ffi``: ``to_js`` with ``dict_converter``, ``JsBuffer``, ``jsnull``,
``JsException``, and the names the SDK imports (its proxies are not exercised here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .._values import JsArray, JsException, JsNull, JsObject, JsProxy, Uint8Array, jsnull

JsBuffer = Uint8Array
F = TypeVar("F")
__all__ = [
    "JsBuffer", "JsException", "JsNull", "JsProxy", "create_once_callable", "create_proxy", "destroy_proxies",
    "jsnull", "to_js",
]


def to_js(
    value: Any,
    *,
    dict_converter: Callable[[Iterable[tuple[str, Any]]], Any] | None = None,
    default_converter: Any = None,
    **kwargs: Any,
) -> Any:
    """dicts through ``dict_converter`` (else a plain object), lists to Arrays, bytes to a
    ``Uint8Array``; ``None`` stays None (it stands for ``undefined``)."""
    if isinstance(value, JsProxy):
        return value
    if isinstance(value, dict):
        items = [(k, to_js(v, dict_converter=dict_converter)) for k, v in value.items()]
        return dict_converter(items) if dict_converter else JsObject(items)
    if isinstance(value, (list, tuple)):
        return JsArray(to_js(v, dict_converter=dict_converter) for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Uint8Array(value)
    return value


def create_proxy(obj: F) -> F:
    return obj


def create_once_callable(f: F) -> F:
    return f


def destroy_proxies(proxies: object) -> None:
    pass
