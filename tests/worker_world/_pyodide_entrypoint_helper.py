"""Stand-in for workerd's ``_pyodide_entrypoint_helper``: ``waitUntil`` records its tasks in :data:`WAIT_UNTIL`."""

from __future__ import annotations

from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

WAIT_UNTIL: list[Awaitable[Any]] = []

cloudflareWorkersModule = SimpleNamespace(waitUntil=WAIT_UNTIL.append, env=None)


def patchWaitUntil(ctx: object) -> None:
    pass
