"""What every handler may use: the app's :class:`AppContext`, and who is calling.

``create_app`` builds one context per app; background jobs get the same one
(:mod:`openai_workers_ai.jobs`), so a job sees exactly what a request sees.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from .auth import Principal
from .catalog import Catalog
from .catalog.live import LiveCatalog
from .ports import Backends
from .settings import Settings

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time``); tests pass their own to move time."""
Dispatch = Callable[[Principal, str, bytes], Awaitable[tuple[int, bytes]]]
"""The app's own routes, called in-process: ``(caller, path under /v1, JSON body)`` → ``(status, body)``
of that ``POST`` (errors answered in OpenAI's format, as over HTTP). What a batch's requests run through."""


@dataclass(frozen=True, slots=True)
class AppContext:
    """The backends, settings, model catalog and clock: built once by ``create_app``."""

    backends: Backends
    settings: Settings
    catalog: Catalog
    live_catalog: LiveCatalog = field(default_factory=LiveCatalog)
    """The catalog with Workers AI's live models merged in (``GET /v1/models`` only)."""
    clock: Clock = time.time
    dispatch: Dispatch | None = None
    """The app's routes (set by ``create_app``), for work that runs requests of its own (batches)."""

    def now(self) -> int:
        """The current time in whole seconds, as OpenAI's ``created_at`` fields count it."""
        return int(self.clock())


def context(request: Request) -> AppContext:
    """The app's :class:`AppContext`."""
    ctx: AppContext = request.app.state.ctx
    return ctx


def principal(request: Request) -> Principal:
    """Who is calling (set by the auth middleware)."""
    who: Principal = request.scope["state"]["principal"]
    return who


def owner(request: Request) -> str | None:
    """The caller's key hash for stored resources' ownership, or None for an admin key (sees all)."""
    who = principal(request)
    return None if who.admin else who.key_hash
