"""Stand-in for ``pyodide.http`` (the SDK imports it; nothing here reaches a network)."""

from __future__ import annotations

from typing import Any


class FetchResponse:
    def __init__(self, url: str, js_response: Any) -> None:
        self.js_response = js_response


async def pyfetch(*args: Any, **kwargs: Any) -> FetchResponse:
    raise RuntimeError("no network in the stand-in world")
