"""The Worker: every request goes to the core's ASGI app (``openai_workers_ai.app``).

The app, its backends and settings are built once per isolate, on first use,
from nothing but the env (vars, secrets, bindings); a new deployment or a
changed secret starts new isolates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers import WorkerEntrypoint

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from openai_workers_ai.ports import Backends
    from openai_workers_ai.settings import Settings

_built: dict[str, Any] = {}


def _bindings(env: Any) -> tuple[Backends, Settings]:
    if "backends" not in _built:
        from openai_workers_ai.adapters.workers import backends_from_env, settings_from_env

        _built["settings"] = settings_from_env(env)
        _built["backends"] = backends_from_env(env)
    return _built["backends"], _built["settings"]


def _app(env: Any) -> Starlette:
    if "app" not in _built:
        from openai_workers_ai.app import create_app

        _built["app"] = create_app(*_bindings(env))
    app: Starlette = _built["app"]
    return app


class Default(WorkerEntrypoint):
    """The Worker's entrypoint: HTTP requests, the Queue of background jobs, and the cron trigger."""

    async def fetch(self, request: Any) -> Any:
        """Serve ``request`` with the core's ASGI app (through the SDK's ``asgi`` bridge)."""
        try:
            from workers import asgi
        except ImportError:  # a runtime whose bundled SDK predates workers.asgi
            import asgi  # type: ignore[import-untyped, no-redef]  # the old SDK's module has no types
        return await asgi.fetch(_app(self.env), request, self.env)

    async def scheduled(self, controller: Any, env: Any = None, ctx: Any = None) -> None:
        """The cron trigger (wrangler.toml ``[triggers]``): expire stored files and generated images."""
        from openai_workers_ai.maintenance import run_scheduled

        await run_scheduled(*_bindings(self.env))

    async def queue(self, batch: Any, env: Any = None, ctx: Any = None) -> None:
        """The Queue consumer (wrangler.toml ``[[queues.consumers]]``): run each background job, then
        acknowledge it; a failed one is retried by the Queue, then sent to the dead-letter queue."""
        from openai_workers_ai.adapters.workers import deliveries
        from openai_workers_ai.jobs import consume

        await consume(_app(self.env).state.ctx, deliveries(batch))
