"""``GET /api/version``: the Ollama API version this gateway implements (public, as in Ollama)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...replies import json_response

OLLAMA_VERSION = "0.12.6"
"""Clients gate features (tools, structured outputs, thinking) on this; the gateway speaks that API."""


async def version(request: Request) -> Response:
    return json_response({"version": OLLAMA_VERSION})
