"""JSON replies: what a handler answers with when it does not stream."""

from __future__ import annotations

from json import dumps
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response


def json_response(payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> Response:
    """``payload`` as compact JSON (a pydantic model as it serializes itself)."""
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json()
    else:
        body = dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")
