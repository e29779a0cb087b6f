"""The simulator over HTTP, in the Workers AI REST API's shape.

``POST /client/v4/accounts/{account}/ai/run/{model}`` answers
``{"result": …, "success": true, "errors": [], "messages": []}``, an SSE
stream when the input asks to stream, raw bytes for binary models, and the
error envelope with the HTTP status Workers AI uses when a call fails.
``GET /client/v4/accounts/{account}/ai/models/search`` lists the catalog (:meth:`Simulator.models`),
paged as the API pages it: ``page`` (from 1) and ``per_page`` (default 20) query parameters, and
``result_info: {page, per_page, count, total_count}``.
``POST /client/v4/accounts/{account}/ai/tomarkdown`` converts the multipart form's ``files``
(:meth:`Simulator.to_markdown`) into a list of ``{id, name, mimeType, format, tokens, data | error}``.
Used by the tests of the REST backend and by ``openai-workers-ai simulator``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from json import dumps, loads
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import Simulator, markdown, network_chunks
from .failures import SimulatedFailure


def envelope(result: Any = None, *, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Cloudflare API's response envelope."""
    return {"result": result, "success": not errors, "errors": errors or [], "messages": []}


def create_rest_app(simulator: Simulator | None = None, token: str | None = None) -> Starlette:
    """The Workers AI REST API (``/client/v4/accounts/{id}/ai/run/{model}`` …) over ``simulator``;
    with ``token``, requests must carry it as a bearer token.
    """
    sim = simulator or Simulator()

    def authorized(request: Request) -> bool:
        return token is None or request.headers.get("authorization") == f"Bearer {token}"

    async def run(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse(envelope(errors=[{"code": 10000, "message": "Authentication error"}]), 401)
        content_type = request.headers.get("content-type", "application/json")
        if not content_type.startswith("application/json"):
            # A binary model input (Nova-3): raw bytes, the other inputs as query parameters.
            inputs = {k: _query_value(v) for k, v in request.query_params.items()}
            inputs["audio"] = {"body": await request.body(), "contentType": content_type}
        else:
            try:
                inputs = loads(await request.body() or b"{}")
            except ValueError:
                return JSONResponse(envelope(errors=[{"code": 5006, "message": "Invalid JSON body"}]), 400)
            if not isinstance(inputs, dict):
                message = "Error: Type mismatch of '/', 'object' expected"
                return JSONResponse(envelope(errors=[{"code": 5006, "message": message}]), 400)
        try:
            result = sim.answer(request.path_params["model"], inputs)
        except SimulatedFailure as failure:
            return JSONResponse(
                envelope(errors=[{"code": failure.code, "message": failure.message}]), failure.status
            )
        if isinstance(result, dict):
            return JSONResponse(envelope(result))
        if isinstance(result, bytes):
            return Response(result, media_type=_binary_type(result))
        return StreamingResponse(network_chunks(_ending_in_error(result), sim.chunk_size),
                                 media_type="text/event-stream")

    async def to_markdown(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse(envelope(errors=[{"code": 10000, "message": "Authentication error"}]), 401)
        form = await request.form()
        results = []
        for n, upload in enumerate(form.getlist("files")):
            if isinstance(upload, str):
                continue
            data = await upload.read()
            mime = upload.content_type or "application/octet-stream"
            name = upload.filename or f"file{n}"
            try:
                converted = markdown.convert(name, data, mime)
            except SimulatedFailure as failure:
                return JSONResponse(envelope(errors=[{"code": failure.code, "message": failure.message}]),
                                    failure.status)
            entry: dict[str, Any] = {"id": f"doc-{n}", "name": name, "mimeType": mime}
            if converted.markdown is not None:
                entry.update(format="markdown", tokens=len(converted.markdown) // 4, data=converted.markdown)
            else:
                entry.update(format="error", error=converted.error)
            results.append(entry)
        if not results:
            return JSONResponse(envelope(errors=[{"code": 5006, "message": "No files to convert"}]), 400)
        return JSONResponse(envelope(results))

    async def models(request: Request) -> Response:
        if not authorized(request):
            return JSONResponse(envelope(errors=[{"code": 10000, "message": "Authentication error"}]), 401)
        entries = await sim.models()
        page = max(_int(request.query_params.get("page"), 1), 1)
        per_page = max(_int(request.query_params.get("per_page"), 20), 1)
        shown = entries[(page - 1) * per_page : page * per_page]
        info = {"page": page, "per_page": per_page, "count": len(shown), "total_count": len(entries)}
        return JSONResponse({**envelope(shown), "result_info": info})

    return Starlette(
        routes=[
            Route("/client/v4/accounts/{account}/ai/run/{model:path}", run, methods=["POST"]),
            Route("/client/v4/accounts/{account}/ai/models/search", models, methods=["GET"]),
            Route("/client/v4/accounts/{account}/ai/tomarkdown", to_markdown, methods=["POST"]),
        ]
    )


async def _ending_in_error(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A failure after the stream started (``fail-mid:``) ends it with an error event."""
    try:
        async for event in events:
            yield event
    except SimulatedFailure as failure:
        error = {"error": f"{failure.code}: {failure.message}", "code": failure.code}
        yield b"event: error\ndata: " + dumps(error).encode() + b"\n\n"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _query_value(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def _binary_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"RIFF"):
        return "audio/wav"
    if data.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3")):
        return "audio/mpeg"
    return "application/octet-stream"
