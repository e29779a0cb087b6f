"""Images: ``CreateImageRequest`` (JSON); edits and variations arrive as multipart forms."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from .common import Request

ResponseFormat = Literal["url", "b64_json"]


class CreateImageRequest(Request):
    prompt: str
    model: str | None = None
    n: Annotated[int, Field(ge=1, le=10)] | None = None
    quality: Literal["standard", "hd", "low", "medium", "high", "xhigh", "max", "auto"] | None = None
    response_format: ResponseFormat | None = None
    size: str | None = None
    style: Literal["vivid", "natural"] | None = None
    output_format: Literal["png", "jpeg", "webp", "gif", "svg"] | None = None
    output_compression: Annotated[int, Field(ge=0, le=100)] | None = None
    background: Literal["transparent", "opaque", "auto"] | None = None
    moderation: Literal["low", "auto"] | None = None
    stream: bool | None = None
    partial_images: Annotated[int, Field(ge=0, le=3)] | None = None
    user: str | None = None
    safety_identifier: str | None = None  # the client sends it (as chat's); no effect here, as `user`
    complexity: Literal["low", "medium", "high"] | None = None  # planning effort: no Workers AI model plans
    # GIF and SVG output only (a 400 here: routes/images.py)
    frame_count: Annotated[int, Field(ge=2, le=16)] | None = None
    frame_duration_ms: int | None = None
    svg: dict[str, Any] | None = None
