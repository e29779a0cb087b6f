"""Stand-in for workerd's ``_pyodide_entrypoint_helper`` (the SDK imports it; nothing here waits on it)."""

from __future__ import annotations

from types import SimpleNamespace

cloudflareWorkersModule = SimpleNamespace(waitUntil=lambda awaitable: None, env=None)


def patchWaitUntil(ctx: object) -> None:
    pass
