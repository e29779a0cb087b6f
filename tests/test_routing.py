"""``routing.Router``: a fixed path of the route table reaches, by its one lookup, the route Starlette's
own matching reaches, with the same scope."""

from __future__ import annotations

from typing import Any

import pytest

from openai_workers_ai.app import ROUTES
from openai_workers_ai.routing import Router

ROUTER = Router(ROUTES)


def test_the_hot_paths_are_looked_up() -> None:
    for key in [("POST", "/v1/chat/completions"), ("POST", "/llm/openai/v1/chat/completions"), ("POST", "/api/chat"),
                ("POST", "/llm/ollama/api/generate"), ("GET", "/v1/models"), ("HEAD", "/health"), ("GET", "/llm/ollama/")]:
        assert key in ROUTER.fixed, key
    assert not any("{" in path for _, path in ROUTER.fixed)


@pytest.mark.parametrize(("method", "path"), sorted(ROUTER.fixed))
async def test_a_looked_up_route_is_the_one_starlette_matches(method: str, path: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    reached: list[tuple[Any, dict[str, Any]]] = []
    route, _ = ROUTER.fixed[method, path]

    async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append((scope["route"], dict(scope)))

    monkeypatch.setattr(route, "app", endpoint)  # what the route runs, reached either way
    for app in (ROUTER.app, super(Router, ROUTER).app):  # the lookup, then Starlette's matching
        await app({"type": "http", "method": method, "path": path, "root_path": "", "headers": []}, None, None)
    (looked_up, scope), (matched, starlette_scope) = reached
    assert looked_up is matched is route and scope == starlette_scope
