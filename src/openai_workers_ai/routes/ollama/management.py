"""``/api/pull``, ``/api/push``, ``/api/create``, ``/api/copy``, ``DELETE /api/delete``, ``/api/blobs``.

The models are hosted by Workers AI: there is nothing to download, upload,
build, copy or delete. Pulling a model the gateway serves succeeds at once
(in Ollama's status format, so ``ollama pull`` and Open WebUI are content);
everything else is a 403 saying why. Unknown models are 404s, as in Ollama, and so is
``HEAD`` of a blob (none is stored).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...context import context
from ...errors import InvalidRequest, ModelNotFound, NotFound, PermissionDenied
from ...replies import json_response
from ...streaming import ndjson_response
from ...translate import ollama_models
from ...types.ollama import CopyRequest, CreateRequest, DeleteRequest, PullRequest, PushRequest, go_quoted
from ...validation import parse_ollama

HOSTED = "models are hosted by Cloudflare Workers AI"


def _known(request: Request, name: str | None, missing: str = "model is required") -> None:
    """400 ``missing`` without a name, 404 unless the gateway serves ``name``."""
    if not (name or "").strip():
        raise InvalidRequest(missing)
    ollama_models.resolve(context(request).catalog, name)


async def pull(request: Request) -> Response:
    body = await parse_ollama(request, PullRequest)
    _known(request, body.model_name, "invalid model name")  # Ollama's PullHandler's words (errtypes)
    if body.stream is False:
        return json_response({"status": "success"})
    return ndjson_response(_statuses({"status": "success"}))


async def _statuses(*statuses: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    for status in statuses:
        yield status


async def push(request: Request) -> Response:
    body = await parse_ollama(request, PushRequest)
    _known(request, body.model_name)
    raise PermissionDenied(f"{HOSTED}; they cannot be pushed")


async def create(request: Request) -> Response:
    await parse_ollama(request, CreateRequest, optional=True)
    raise PermissionDenied(f"{HOSTED}; new models cannot be created here")


async def copy(request: Request) -> Response:
    """As Ollama's CopyHandler: both names checked first, then the source looked up (its 404 quotes it)."""
    body = await parse_ollama(request, CopyRequest)
    for field, name in (("source", body.source), ("destination", body.destination)):
        if not (name or "").strip():
            raise InvalidRequest(f"{field} {go_quoted(name or '')} is invalid")
    try:
        _known(request, body.source)
    except ModelNotFound:
        raise NotFound(f"model {go_quoted(body.source or '')} not found") from None
    raise PermissionDenied(f"{HOSTED}; they cannot be copied (set MODEL_ALIASES to add a name)")


async def delete(request: Request) -> Response:
    body = await parse_ollama(request, DeleteRequest)
    _known(request, body.model_name)
    raise PermissionDenied(f"{HOSTED}; they cannot be deleted")


async def blob(request: Request) -> Response:
    if request.method == "HEAD":  # no blob is ever stored: missing, as Ollama's HeadBlobHandler says
        raise NotFound(f'blob "{request.path_params["digest"]}" not found')
    raise PermissionDenied(f"{HOSTED}; blobs cannot be uploaded")
