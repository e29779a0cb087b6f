"""Request parsing and response writing shared by every route."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from .auth import Principal
from .errors import InvalidRequest, PayloadTooLarge
from .ports import Backends
from .settings import Settings
from .translate.catalog import Catalog

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class AppContext:
    """What every handler may use, built once by ``create_app``."""

    backends: Backends
    settings: Settings
    catalog: Catalog


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def principal(request: Request) -> Principal:
    who: Principal = request.scope["state"]["principal"]
    return who


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes (413) before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_json(request: Request, model: type[M]) -> M:
    """Validate a JSON body into ``model``; every failure is a 400 naming the ``param``."""
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise InvalidRequest(
            f"Invalid Content-Type header ({content_type}); expected application/json."
        )
    body = await read_body(request, context(request).settings.max_json_bytes)
    return validate(model, body)


def validate(model: type[M], body: bytes | dict[str, Any]) -> M:
    try:
        if isinstance(body, dict):
            return model.model_validate(body)
        return model.model_validate_json(body or b"null")
    except ValidationError as exc:
        raise invalid_request(exc) from None


def invalid_request(exc: ValidationError) -> InvalidRequest:
    first = exc.errors(include_url=False)[0]
    if first["type"] in ("json_invalid", "model_type", "model_attributes_type") and not first["loc"]:
        return InvalidRequest(
            "We could not parse the JSON body of your request: the API expects a JSON object."
        )
    param = dotted(first["loc"])
    message = first["msg"]
    if first["type"] == "missing":
        return InvalidRequest(f"Missing required parameter: '{param}'.", param=param)
    if first["type"] == "extra_forbidden":
        return InvalidRequest(f"Unrecognized request argument supplied: {param}", param=param)
    return InvalidRequest(f"Invalid value for '{param}': {message}", param=param)


def dotted(loc: tuple[int | str, ...]) -> str:
    """``("messages", 0, "role")`` → ``messages[0].role``, as OpenAI names params."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _is_union_tag(part):
            out += f".{part}" if out else part
    return out


def _is_union_tag(part: str) -> bool:
    # pydantic puts the chosen union member / tag in the location; OpenAI doesn't.
    return part.startswith(("function-", "tagged-union[", "union[")) or "[" in part


def json_response(payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> Response:
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json()
    else:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")
