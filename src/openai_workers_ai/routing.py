"""Starlette's routing, with two costs a request taken out; the route table (``app.py``) is unchanged.

- :class:`Route`: a handler (``async def handler(request) -> Response``) runs without Starlette's
  per-request exception wrapper, which here only passed errors on to the gate (:mod:`.gate`
  answers them all) but wrapped ``send`` (every streamed chunk passed it).
- :class:`Router`: a request for a fixed path of the table (no ``{param}``: chat completions,
  embeddings, most of the Ollama API …) reaches its route with one dict lookup, instead of the
  table's patterns tried in order and each ``Mount``'s own router descended (~7 µs a request). Which
  route a fixed path and method reach, and what routing puts in the scope on the way, is worked out
  by Starlette's own matching once for the static table, at import (:func:`fixed_table`); every other
  request is routed by Starlette as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from starlette import routing
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send


class Route(routing.Route):
    """A Starlette route whose handler runs without Starlette's per-request exception wrapper."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: Collection[str] | None = None,
                 name: str | None = None) -> None:
        super().__init__(path, endpoint, methods=methods, name=name)
        if inspect.iscoroutinefunction(endpoint):
            self.app = _handled_by(endpoint)


def _handled_by(handler: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


Fixed = Mapping[tuple[str, str], tuple[routing.Route, Mapping[str, Any]]]
"""(method, path) → the route a fixed path reaches and the scope's keys as routing leaves them."""


def fixed_table(routes: Sequence[BaseRoute]) -> Fixed:
    """What :class:`Router` looks fixed paths up in: every fixed path of ``routes`` (and of their
    mounts), for each of its route's methods, matched once by Starlette's own matching. The route
    table is static, so ``app.py`` works this out once, at import (in the Worker, inside the
    deploy-time snapshot: ``create_app`` matches nothing)."""
    fixed: dict[tuple[str, str], tuple[routing.Route, Mapping[str, Any]]] = {}
    for path, route in _fixed_paths(routes):
        for method in route.methods or ():
            found = _matched(routes, {"type": "http", "path": path, "method": method, "root_path": ""})
            if found is not None:
                fixed[method, path] = found
    return MappingProxyType(fixed)


class Router(routing.Router):
    """Starlette's router over ``routes``, fixed paths found by one lookup in ``fixed`` (the
    :func:`fixed_table` of ``routes``, worked out here when not given)."""

    def __init__(self, routes: Sequence[BaseRoute], fixed: Fixed | None = None) -> None:
        super().__init__(routes=routes)
        self.fixed = fixed_table(self.routes) if fixed is None else fixed

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        # (A server's root_path would change what matches: such requests are routed by Starlette.)
        found = None
        if scope["type"] == "http" and not scope.get("root_path"):
            found = self.fixed.get((scope["method"], scope["path"]))
        if found is None:
            await super().app(scope, receive, send)
            return
        route, routed = found
        if "router" not in scope:  # as Starlette's Router.app
            scope["router"] = self
        scope.update(routed)
        scope["path_params"] = {}
        await route.app(scope, receive, send)  # (route.handle would check the method: it is one of the route's)


def _fixed_paths(routes: Sequence[BaseRoute], prefix: str = "") -> list[tuple[str, routing.Route]]:
    """Every route of ``routes`` (and of their mounts) whose whole path has no ``{param}``."""
    found: list[tuple[str, routing.Route]] = []
    for route in routes:
        if isinstance(route, Mount) and "{" not in route.path:
            found += _fixed_paths(route.routes, prefix + route.path)
        elif isinstance(route, routing.Route) and "{" not in route.path:
            found.append((prefix + route.path, route))
    return found


def _matched(routes: Sequence[BaseRoute], scope: Scope) -> tuple[routing.Route, Mapping[str, Any]] | None:
    """The route Starlette's router over ``routes`` would hand ``scope`` to, and the scope's keys as
    routing leaves them (what ``Router.app`` and ``Mount`` do on a full match; ``router`` aside: the
    router sets it per request); None unless every step is one."""
    routed = dict(scope)
    while True:
        for candidate in routes:
            match, child_scope = candidate.matches(routed)
            if match is Match.FULL:
                routed["route"] = candidate
                routed.update(child_scope)
                break
        else:
            return None
        if isinstance(candidate, routing.Route):
            return candidate, MappingProxyType({k: v for k, v in routed.items() if k not in scope or scope[k] != v})
        if not isinstance(candidate, Mount):
            return None
        routes = candidate.routes
