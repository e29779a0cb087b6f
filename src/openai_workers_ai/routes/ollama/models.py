"""``GET /api/tags``, ``POST /api/show``, ``GET /api/ps``: the Workers AI catalog, Ollama-shaped.

Only facts the catalog has are reported; what it does not have (``size``, ``format`` and the like: the
weights are Cloudflare's, not files here) is Ollama's zero value, 0 or ``""``, as its Go types always write
a number or a string (typed clients refuse a null there). ``digest`` is the SHA-256 of the Workers AI model
id — stable, but not a hash of any weights.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...catalog import ModelInfo
from ...context import AppContext, context
from ...errors import InvalidRequest, ModelNotFound
from ...replies import json_response
from ...translate import ollama_models
from ...types.ollama import FOREVER, ShowRequest
from ...validation import parse_ollama
from ..models import CATALOG_CREATED

# Ollama serves language and embedding models; the other Workers AI tasks have no Ollama API.
TASKS = ("text-generation", "text-embeddings")


def listed(ctx: AppContext) -> list[tuple[str, ModelInfo]]:
    """(name, model) for ``/api/tags``: the catalog's chat and embedding models (deprecated
    ones still resolve, unlisted), then the aliases configured in ``MODEL_ALIASES``."""
    catalog = ctx.catalog
    out = [(ollama_models.listed_name(m), m) for m in catalog.models.values()
           if m.task in TASKS and not m.extra.get("deprecated")]
    for alias in ctx.settings.model_aliases:
        try:
            info = catalog.resolve(alias)
        except ModelNotFound:  # an alias of a name Workers AI doesn't have: nothing to list
            continue
        if info.task in TASKS:
            out.append((alias if ":" in alias else f"{alias}:latest", info))
    return out


def _entry(name: str, info: ModelInfo) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "remote_model": info.id,
        "modified_at": ollama_models.iso(CATALOG_CREATED),
        "size": 0,
        "digest": ollama_models.digest(info.id),
        "details": ollama_models.details(info),
    }


async def tags(request: Request) -> Response:
    return json_response({"models": [_entry(name, m) for name, m in listed(context(request))]})


async def ps(request: Request) -> Response:
    """Workers AI models are always loaded: every listed model, without memory figures (0), expiring when
    Ollama's model kept loaded forever (``keep_alive: -1``) does: the longest duration Go has from now. The
    members are Ollama's ``api.ProcessModelResponse``'s: no ``modified_at`` or ``remote_model`` (``/api/tags``')."""
    expires_at = ollama_models.iso(context(request).now() + FOREVER)
    models = [
        {"name": name, "model": name, "size": 0, "digest": ollama_models.digest(m.id),
         "details": ollama_models.details(m), "expires_at": expires_at, "size_vram": 0,
         "context_length": m.context_window or 0}
        for name, m in listed(context(request))
    ]
    return json_response({"models": models})


async def show(request: Request) -> Response:
    body = await parse_ollama(request, ShowRequest)
    if not (body.model_name or "").strip():  # as Ollama's ShowHandler: no default model's details
        raise InvalidRequest("model is required")
    info = ollama_models.resolve(context(request).catalog, body.model_name)
    return json_response({
        "modelfile": f"# Served by Cloudflare Workers AI; there is no local Modelfile.\nFROM {info.id}\n",
        "details": ollama_models.details(info),
        "remote_model": info.id,
        "model_info": ollama_models.model_info(info),
        "capabilities": ollama_models.capabilities(info),
        "modified_at": ollama_models.iso(CATALOG_CREATED),
    })
