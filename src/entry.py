"""The Worker: HTTP requests go to the core's ASGI app, Queue batches to its job runner, the cron to its cleanup.

Everything that does not need ``env`` is imported here, at the top level: the runtime runs this
scope once at deploy time and snapshots Pyodide's memory, so a new isolate starts with the app's
code, every route, pydantic's validators and the model catalog already loaded. Nothing imported
here may read entropy, the clock, the network or the environment (``tests/test_cold_start.py``).
What needs ``env`` — settings, bindings, ``create_app`` — is built once per isolate, on its first
event (a few requests' worth of CPU); a new deployment or a changed secret starts new isolates.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from workers import WorkerEntrypoint

try:
    from workers import asgi
except ImportError:  # a runtime whose bundled SDK predates workers.asgi
    import asgi  # type: ignore[import-untyped, no-redef]  # the old SDK's module has no types

from openai_workers_ai.adapters.workers import backends_from_env, deliveries, settings_from_env
from openai_workers_ai.app import create_app
from openai_workers_ai.jobs import consume
from openai_workers_ai.maintenance import run_scheduled

_isolate: dict[str, Starlette] = {}


def _app(env: Any) -> Starlette:
    """The app over this isolate's ``env``, built on its first use."""
    if "app" not in _isolate:
        settings = settings_from_env(env)
        _isolate["app"] = create_app(backends_from_env(env, settings), settings)
    return _isolate["app"]


class Default(WorkerEntrypoint):
    """The Worker's entrypoint: HTTP requests, the Queue of background jobs, and the cron trigger."""

    async def fetch(self, request: Any) -> Any:
        """Serve ``request`` with the core's ASGI app (through the SDK's ``asgi`` bridge); a WebSocket
        upgrade (``/v1/responses`` in WebSocket mode) through the bridge's WebSocket side, as the SDK's
        own entrypoint does (its ``fetch`` would hand the app an HTTP request)."""
        if (request.headers.get("upgrade") or "").lower() == "websocket" and hasattr(asgi, "websocket"):
            return await asgi.websocket(_app(self.env), request, self.env)
        return await asgi.fetch(_app(self.env), request, self.env)

    async def queue(self, batch: Any, env: Any = None, ctx: Any = None) -> None:
        """The Queue consumer (wrangler.toml ``[[queues.consumers]]``): run the batch's background jobs
        concurrently, acknowledging each as it succeeds; a failed one is retried by the Queue, then sent
        to the dead-letter queue."""
        await consume(_app(self.env).state.ctx, deliveries(batch))

    async def scheduled(self, controller: Any, env: Any = None, ctx: Any = None) -> None:
        """The cron trigger (wrangler.toml ``[triggers]``): expire stored files and generated images."""
        app_ctx = _app(self.env).state.ctx
        await run_scheduled(app_ctx.backends, app_ctx.settings)
