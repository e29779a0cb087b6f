"""JSON replies: what a handler answers with when it does not stream."""

from __future__ import annotations

from json import dumps
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json
from starlette.responses import Response


def json_response(payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> Response:
    """``payload`` as compact JSON (a pydantic model as it serializes itself)."""
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json()
    else:
        body = dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON, serialized by pydantic-core (several times faster than
    ``json.dumps`` on large objects); a lone surrogate (cut from its pair upstream) becomes U+FFFD."""
    try:
        return to_json(value)
    except PydanticSerializationError:
        return dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def json_bytes_response(value: Any, status: int = 200) -> Response:
    """A JSON reply serialized with :func:`json_bytes`."""
    return Response(json_bytes(value), status_code=status, media_type="application/json")
