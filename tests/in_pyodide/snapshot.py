"""Deploy time, as far as Pyodide under Node can show it: the entry module imported with entropy blocked.

workerd runs the entry module's top level once at deploy time and snapshots Pyodide's memory; a value
drawn from entropy there would be frozen into the snapshot and shared by every isolate, and the
runtime refuses such reads. Here the Python entropy functions fail while ``entry`` is imported; the
modules the runtime lets draw entropy once at import (``random`` seeding itself, ``pydantic_core``'s
hash seed) are imported first, as the runtime allows them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

ALLOWED = ("random", "secrets", "uuid", "pydantic_core")
BLOCKED = {
    "os": ("urandom", "getrandom"),
    "random": ("random", "getrandbits", "randbytes", "randint", "randrange", "choice", "choices", "shuffle",
               "sample", "uniform"),
    "secrets": ("token_bytes", "token_hex", "token_urlsafe", "randbits", "randbelow", "choice"),
    "uuid": ("uuid1", "uuid4"),
}


@contextmanager
def entropy_blocked() -> Iterator[list[str]]:
    """Within: every function in :data:`BLOCKED` raises (and is recorded in the list yielded)."""
    attempts: list[str] = []
    saved: list[tuple[Any, str, Any]] = []

    def refuse(name: str) -> Any:
        def refused(*args: object, **kwargs: object) -> object:
            attempts.append(name)
            raise RuntimeError(f"{name}() read entropy at import time: the value would be frozen into the snapshot")

        return refused

    for module_name, names in BLOCKED.items():
        module = import_module(module_name)
        for name in names:
            if hasattr(module, name):
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, refuse(f"{module_name}.{name}"))
    try:
        yield attempts
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def import_entry() -> dict[str, Any]:
    """Import ``entry`` as the deploy-time snapshot would; what it loaded and what tried to read entropy."""
    for name in ALLOWED:
        import_module(name)
    before = set(sys.modules)
    with entropy_blocked() as attempts:
        import_module("entry")
    loaded = sorted(set(sys.modules) - before)
    return {"loaded": loaded, "entropy_attempts": attempts}
