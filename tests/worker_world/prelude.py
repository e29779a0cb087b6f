"""The Worker stand-in world, installed: ``from tests.worker_world.prelude import *`` starts each script.

Importing this module registers the stand-ins under the names the Worker imports (``js``, ``pyodide``,
``pyodide.ffi``, ``pyodide.http``, ``_pyodide_entrypoint_helper``, ``_cloudflare_compat_flags``), makes
``Thread.start`` fail as Pyodide's does (recording the attempt), and notes the modules loaded so far
(:data:`BASELINE`), so a script can tell what the Worker loaded after.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from . import _cloudflare_compat_flags, _pyodide_entrypoint_helper, js, pyodide
from ._pyodide_entrypoint_helper import WAIT_UNTIL
from ._values import ArrayBuffer, JsArray, JsException, JsObject, JsProxy, Uint8Array, jsnull
from .bindings import Env, FakeAI, FakeD1, FakeR2, FakeR2Object
from .js import Headers, ReadableStream, Request, Response

__all__ = [
    "BASELINE", "THREAD_ATTEMPTS", "WAIT_UNTIL", "ArrayBuffer", "Env", "FakeAI", "FakeD1", "FakeR2", "FakeR2Object",
    "Headers", "JsArray", "JsException", "JsObject", "JsProxy", "ReadableStream", "Request", "Response", "Uint8Array",
    "asyncio", "js", "jsnull", "run", "sys", "threading",
]

T = TypeVar("T")

# --- Pyodide cannot start threads: neither can the Worker here. --------------------------
THREAD_ATTEMPTS: list[str] = []


def _no_threads(self: threading.Thread, *args: object, **kwargs: object) -> None:
    THREAD_ATTEMPTS.append(repr(self))
    raise RuntimeError("can't start new thread")


threading.Thread.start = _no_threads  # type: ignore[method-assign]

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

BASELINE = frozenset(sys.modules)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)
