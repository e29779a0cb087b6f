"""The Worker: every request goes to the core's ASGI app (``openai_workers_ai.app``).

The app, its backends and settings are built once per isolate, on first use,
from nothing but the env (vars, secrets, bindings); a new deployment or a
changed secret starts new isolates.
"""

from workers import WorkerEntrypoint

_built: dict = {}


def _bindings(env):
    if "backends" not in _built:
        from openai_workers_ai.adapters.workers import backends_from_env, settings_from_env

        _built["settings"] = settings_from_env(env)
        _built["backends"] = backends_from_env(env)
    return _built["backends"], _built["settings"]


def _app(env):
    if "app" not in _built:
        from openai_workers_ai.app import create_app

        _built["app"] = create_app(*_bindings(env))
    return _built["app"]


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        try:
            from workers import asgi
        except ImportError:  # a runtime whose bundled SDK predates workers.asgi
            import asgi
        return await asgi.fetch(_app(self.env), request, self.env)

    async def scheduled(self, controller, env=None, ctx=None):
        # Cron trigger (wrangler.toml [triggers]): expire stored files and images.
        try:
            from openai_workers_ai.maintenance import run_scheduled
        except ModuleNotFoundError as exc:
            if exc.name != "openai_workers_ai.maintenance":
                raise
            return  # nothing to maintain yet
        await run_scheduled(*_bindings(self.env))
