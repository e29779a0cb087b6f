"""``GET /v1/models`` and ``GET /v1/models/{model}``: the Workers AI catalog plus aliases;
``DELETE /v1/models/{model}``: OpenAI's refusal, since no model here is a fine-tuned one the caller owns.

The catalog is the static one with the models of Workers AI's live catalog it lacks
(:mod:`openai_workers_ai.live_catalog`); other endpoints resolve models from the static one only.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..catalog import Catalog, ModelInfo
from ..context import AppContext, context
from ..errors import ModelNotFound, NotFound, PermissionDenied
from ..replies import json_response

# The catalog carries no release dates; `created` is the date the catalog was compiled.
CATALOG_CREATED = 1764028800  # 2025-11-25


def model_object(info: ModelInfo, model_id: str | None = None) -> dict[str, Any]:
    """OpenAI's ``model`` object, with the Workers AI facts as extra fields."""
    obj: dict[str, Any] = {
        "id": model_id or info.id,
        "object": "model",
        "created": CATALOG_CREATED,
        "owned_by": info.owned_by,
        "task": info.task,
        "context_window": info.context_window,
        "capabilities": sorted(info.capabilities),
    }
    if model_id and model_id != info.id:
        obj["alias_for"] = info.id
    if info.dimensions:
        obj["dimensions"] = info.dimensions
    return obj


def all_models(catalog: Catalog) -> list[dict[str, Any]]:
    out = [model_object(info) for info in catalog.models.values()]
    for alias, target in catalog.aliases.items():
        # A configured alias may name an uncatalogued @cf/ id: requests resolve it, so list it.
        info = catalog.models.get(target) or (catalog.resolve(target) if _passes_through(target) else None)
        if info is not None:
            out.append(model_object(info, alias))
    return out


def _passes_through(model_id: str) -> bool:
    return model_id.startswith(("@cf/", "@hf/"))


async def _catalog(ctx: AppContext) -> Catalog:
    return await ctx.live_catalog.get(ctx.backends.ai, ctx.catalog, ctx.settings.live_catalog_ttl)


async def list_models(request: Request) -> Response:
    return json_response({"object": "list", "data": all_models(await _catalog(context(request)))})


async def _served(request: Request) -> dict[str, Any]:
    """The model object ``GET /v1/models/{model}`` answers; ``model_not_found`` for a name it does not list."""
    catalog = await _catalog(context(request))
    name: str = request.path_params["model"]
    if not name:  # `GET /v1/models/` names no model (resolve would pick the default one)
        raise _not_found(name)
    try:
        info = catalog.resolve(name)
    except ModelNotFound:
        raise _not_found(name) from None
    # Answer with the name as listed (aliases match case-insensitively).
    alias = next((a for a in catalog.aliases if a.lower() == name.lower()), None)
    if info.id not in catalog.models and alias is None:
        raise _not_found(name)
    return model_object(info, alias if alias and alias != info.id else None)


def _not_found(name: str) -> NotFound:
    """The 404 ``GET`` and ``DELETE /v1/models/{model}`` answer for a name not served, in their words, which are
    not those of an unknown model in a request body (``ModelNotFound``): ``param`` is ``model``
    (openai/openai-dotnet tests/SessionRecords/ModelsTests/GetModelCanParseServiceError.json and
    DeleteModelCanParseServiceError.json)."""
    return NotFound(f"The model '{name}' does not exist", param="model", code="model_not_found")


async def retrieve(request: Request) -> Response:
    return json_response(await _served(request))


async def delete(request: Request) -> Response:
    """OpenAI deletes only the fine-tuned models an organization owns; here every model is Workers AI's,
    so a served one is a 403 (and stays), an unknown one the 404 ``retrieve`` answers."""
    served = await _served(request)
    raise PermissionDenied(
        f"You have insufficient permissions to delete the model '{served['id']}': only fine-tuned models "
        "your organization owns can be deleted, and this server has none."
    )
