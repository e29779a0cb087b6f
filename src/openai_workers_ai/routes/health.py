"""Liveness: ``GET /`` (also Ollama's "is running" probe) and ``GET /health``, without auth."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response


async def root(request: Request) -> Response:
    return PlainTextResponse("Ollama is running")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})
