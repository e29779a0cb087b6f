"""Stand-in for ``pyodide`` (registered as ``pyodide`` by :mod:`tests.worker_world.prelude`)."""

from __future__ import annotations

from . import ffi, http

__version__ = "0.28.3"
__all__ = ["ffi", "http"]
