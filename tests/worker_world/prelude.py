"""The Worker stand-in world, installed: ``from tests.worker_world.prelude import *`` starts each script.

Importing this module registers the stand-ins under the names the Worker imports (``js``, ``pyodide``,
``pyodide.ffi``, ``pyodide.http``, ``_pyodide_entrypoint_helper``, ``_cloudflare_compat_flags``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from . import _cloudflare_compat_flags, _pyodide_entrypoint_helper, js, pyodide
from ._values import ArrayBuffer, JsArray, JsException, JsObject, JsProxy, Uint8Array, jsnull
from .bindings import Env, FakeAI, FakeD1, FakeR2, FakeR2Object
from .js import Headers, ReadableStream

__all__ = [
    "ArrayBuffer", "Env", "FakeAI", "FakeD1", "FakeR2", "FakeR2Object", "FetchResponse", "Headers", "JsArray",
    "JsException", "JsObject", "JsProxy", "ReadableStream", "Uint8Array", "asyncio", "js", "jsnull", "run", "sys",
]

T = TypeVar("T")

sys.modules.update(
    {
        "js": js,
        "pyodide": pyodide,
        "pyodide.ffi": pyodide.ffi,
        "pyodide.http": pyodide.http,
        "_pyodide_entrypoint_helper": _pyodide_entrypoint_helper,
        "_cloudflare_compat_flags": _cloudflare_compat_flags,
    }
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class FetchResponse(JsProxy):
    """What the global ``fetch`` resolves to: a JS ``Response`` with ``status``, ``ok``, ``headers`` and a
    ``body`` stream of ``chunks`` (``None``: no body, ``jsnull``)."""

    js_name = "Response"

    def __init__(self, status: int, headers: list[tuple[str, str]], chunks: Sequence[bytes] | None = (b"\x89PNG",)) -> None:
        self.status, self.ok = status, 200 <= status < 300
        self.headers = Headers.new(headers)
        self.body = ReadableStream(list(chunks)) if chunks is not None else jsnull
