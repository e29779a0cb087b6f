"""Deploy time, as far as Pyodide under Node (and CPython) can show it: the entry module imported with
entropy, the clock, the network and the project's own environment reads blocked.

workerd runs the entry module's top level once at deploy time and snapshots Pyodide's memory; a value
drawn there from entropy or the clock would be frozen into the snapshot and shared by every isolate,
and the runtime refuses entropy reads. Here those functions fail while ``entry`` is imported; the
modules the runtime lets draw entropy once at import (``random`` seeding itself, ``pydantic_core``'s
hash seed) are imported first, as the runtime allows them. Reading ``os.environ`` is refused to the
project's own code (libraries read their feature flags, which is theirs to do). Used by the Pyodide
suite and by ``tests/test_cold_start.py`` under CPython.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

ALLOWED = ("random", "secrets", "uuid", "pydantic_core")
BLOCKED = {
    "os": ("urandom", "getrandom"),
    "time": ("time", "time_ns"),
    "socket": ("create_connection", "getaddrinfo"),
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
    blocking = [True]

    def refuse(name: str, original: Any) -> Any:
        # A module may keep a reference to the function it saw at import (``clock=time.time`` as a
        # default): once the import is over, the stand-in answers as the original does.
        def refused(*args: object, **kwargs: object) -> object:
            if not blocking[0]:
                return original(*args, **kwargs)
            attempts.append(name)
            raise RuntimeError(f"{name}() called at import time: the value would be frozen into the snapshot")

        return refused

    for module_name, names in BLOCKED.items():
        module = import_module(module_name)
        for name in names:
            if hasattr(module, name):
                original = getattr(module, name)
                saved.append((module, name, original))
                setattr(module, name, refuse(f"{module_name}.{name}", original))
    environ = os.environ
    os.environ = _ProjectBlind(environ, attempts)  # type: ignore[assignment]  # noqa: B003 (a view for the import, not a change)
    try:
        yield attempts
    finally:
        blocking[0] = False
        os.environ = environ  # noqa: B003 (the real one back)
        for module, name, original in saved:
            setattr(module, name, original)


class _ProjectBlind(dict[str, str]):
    """``os.environ`` as the project's code must not read it at import (libraries may)."""

    def __init__(self, environ: Any, attempts: list[str]) -> None:
        super().__init__(environ)
        self.attempts = attempts

    def _check(self, key: object) -> None:
        caller = sys._getframe(2).f_code.co_filename
        if "openai_workers_ai" in caller or caller.endswith("entry.py"):
            self.attempts.append(f"os.environ[{key!r}]")
            raise RuntimeError(f"{caller} read the environment at import time")

    def __getitem__(self, key: str) -> str:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._check(key)
        return super().__contains__(key)


def import_entry(module: str = "entry", libraries: tuple[str, ...] = ()) -> dict[str, Any]:
    """Import ``module`` as the deploy-time snapshot would; what it loaded and what tried to read
    entropy, the clock, the network or the environment. ``libraries`` are imported first, unguarded."""
    for name in (*ALLOWED, *libraries):
        import_module(name)
    before = set(sys.modules)
    with entropy_blocked() as attempts:
        import_module(module)
    loaded = sorted(set(sys.modules) - before)
    return {"loaded": loaded, "entropy_attempts": attempts}
