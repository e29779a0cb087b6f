"""Deploy time, as far as Pyodide under Node (and CPython) can show it: the entry module imported with
entropy, the clock, the network and the project's own environment reads blocked.

workerd runs the entry module's top level once at deploy time and snapshots Pyodide's memory; a value
drawn there from entropy or the clock would be frozen into the snapshot and shared by every isolate,
and the runtime refuses entropy reads. Here those reads fail while ``entry`` is imported: ``os.urandom``,
``random``'s functions, a ``random.Random()`` seeded from the OS, ``random.SystemRandom``'s draws,
``secrets``, ``uuid1``/``uuid4``; the clocks (``time.time``, ``monotonic``, ``perf_counter``,
``datetime.datetime.now``/``today``/``utcnow``, ``datetime.date.today``); the network. The modules the
runtime lets draw entropy once at import (``random`` seeding itself, ``pydantic_core``'s hash seed) are
imported first, as the runtime allows them. Reading ``os.environ`` in any way (a key, ``getenv``,
iterating, copying) is refused to the project's own code (libraries read their feature flags, which
is theirs to do). Used by the Pyodide suite and by ``tests/test_cold_start.py`` under CPython, whose
``test_the_guard_catches_what_it_must`` proves each refusal.
"""

from __future__ import annotations

import datetime
import os
import random
import sys
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from importlib import import_module
from typing import Any

ALLOWED = ("random", "secrets", "uuid", "pydantic_core")
BLOCKED = {
    "os": ("urandom", "getrandom"),
    "time": ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"),
    "socket": ("create_connection", "getaddrinfo"),
    "random": ("random", "getrandbits", "randbytes", "randint", "randrange", "choice", "choices", "shuffle",
               "sample", "uniform", "seed"),
    "secrets": ("token_bytes", "token_hex", "token_urlsafe", "randbits", "randbelow", "choice"),
    "uuid": ("uuid1", "uuid4"),
}
"""Module functions refused (``random``'s are its shared instance's; ``seed()`` reseeds it from the OS)."""
SYSTEM_RANDOM = ("random", "getrandbits", "randbytes")
"""``random.SystemRandom``'s methods that read the OS's entropy (its others go through these)."""
CLOCK = {"datetime": ("now", "today", "utcnow"), "date": ("today",)}
"""``datetime``'s classes and their constructors that read the clock."""


@contextmanager
def entropy_blocked() -> Iterator[list[str]]:
    """Within: every function in :data:`BLOCKED`, ``random.Random()`` seeded from the OS,
    ``random.SystemRandom``'s draws and ``datetime``'s clock reads raise (each recorded in the list
    yielded), and the project's code cannot read ``os.environ``."""
    attempts: list[str] = []
    blocking = [True]
    stand_ins: dict[int, tuple[Any, Any]] = {}  # id(stand-in) → it and the original, put back where the import kept it

    def refuse(name: str, original: Callable[..., Any], when: Callable[..., bool] = lambda *a, **k: True) -> Any:
        # A module may keep a reference to the function it saw at import (``clock=time.time`` as a
        # default): once the import is over, the stand-in answers as the original does.
        def refused(*args: Any, **kwargs: Any) -> Any:
            if blocking[0] and when(*args, **kwargs):
                attempts.append(name)
                raise RuntimeError(f"{name}() called at import time: the value would be frozen into the snapshot")
            return original(*args, **kwargs)

        stand_ins[id(refused)] = (refused, original)
        return refused

    saved: list[tuple[Any, str, Any]] = []

    def replace(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    for module_name, names in BLOCKED.items():
        module = import_module(module_name)
        for name in names:
            if hasattr(module, name):
                replace(module, name, refuse(f"{module_name}.{name}", getattr(module, name)))
    # random.Random() (or .seed()) without a seed seeds itself from the OS; with one, it is deterministic.
    seed = random.Random.seed
    replace(random.Random, "seed", refuse("random.Random.seed", seed,
                                          lambda self, a=None, *args, **kwargs: a is None))
    for name in SYSTEM_RANDOM:
        original = random.SystemRandom.__dict__[name]
        replace(random.SystemRandom, name, refuse(f"random.SystemRandom.{name}", original))
    # datetime's classes are built in (their methods cannot be replaced): the module hands out subclasses
    # whose clock reads are refused, while the import runs.
    for class_name, names in CLOCK.items():
        real = getattr(datetime, class_name)
        guarded = type(class_name, (real,), {
            name: staticmethod(refuse(f"datetime.{class_name}.{name}", getattr(real, name))) for name in names})
        guarded.__module__ = "datetime"
        stand_ins[id(guarded)] = (guarded, real)
        replace(datetime, class_name, guarded)
    environ = os.environ
    os.environ = _ProjectBlind(environ, attempts)  # type: ignore[assignment]  # noqa: B003 (a view for the import, not a change)
    try:
        yield attempts
    finally:
        blocking[0] = False
        os.environ = environ  # noqa: B003 (the real one back)
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)
        _put_back(stand_ins)


def _put_back(stand_ins: dict[int, tuple[Any, Any]]) -> None:
    """Where a module imported in the meantime kept a stand-in as a global (``from datetime import
    datetime``, ``from time import monotonic``), the original again. (A stand-in kept elsewhere — a
    default argument — answers as the original; a ``datetime`` made during the import is an instance
    of the stand-in class, a subclass of the real one.)"""
    for module in list(sys.modules.values()):
        names = getattr(module, "__dict__", None)
        if not isinstance(names, dict):
            continue
        for name, value in list(names.items()):
            kept = stand_ins.get(id(value))
            if kept is not None and kept[0] is value:
                names[name] = kept[1]


def _project_caller() -> str | None:
    """The file of the code that reached ``os.environ`` (past ``os``'s own functions, such as ``getenv``,
    and the mapping's), when it is the project's."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") in ("os", "collections.abc", "_collections_abc", __name__):
        frame = frame.f_back  # type: ignore[assignment]  # (None ends the walk)
    caller = frame.f_code.co_filename if frame is not None else ""
    return caller if "openai_workers_ai" in caller or caller.endswith("entry.py") else None


class _ProjectBlind(MutableMapping[str, str]):
    """``os.environ`` as the project's code must not read it at import: no key, no iteration, no copy
    (libraries may: their feature flags are theirs to read)."""

    def __init__(self, environ: MutableMapping[str, str], attempts: list[str]) -> None:
        self.environ = environ
        self.attempts = attempts

    def _check(self, what: str) -> None:
        caller = _project_caller()
        if caller is not None:
            self.attempts.append(f"os.environ{what}")
            raise RuntimeError(f"{caller} read the environment at import time (os.environ{what})")

    def __getitem__(self, key: str) -> str:
        self._check(f"[{key!r}]")
        return self.environ[key]

    def get(self, key: str, default: Any = None) -> Any:
        self._check(f".get({key!r})")
        return self.environ.get(key, default)

    def __contains__(self, key: object) -> bool:
        self._check(f" containing {key!r}")
        return key in self.environ

    def __iter__(self) -> Iterator[str]:
        self._check(" iterated")
        return iter(self.environ)

    def __len__(self) -> int:
        self._check(" counted")
        return len(self.environ)

    def copy(self) -> dict[str, str]:
        self._check(".copy()")
        return dict(self.environ)

    def __setitem__(self, key: str, value: str) -> None:
        self.environ[key] = value

    def __delitem__(self, key: str) -> None:
        del self.environ[key]


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
