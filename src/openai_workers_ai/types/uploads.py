"""Uploads' requests: ``CreateUploadBody`` and ``CompleteUploadBody`` (OpenAI's ``CreateUploadRequest`` and
``CompleteUploadRequest``; their purposes are the Files API's, checked by the route, not the spec's shorter
list, as the ``openai`` client's ``FilePurpose`` has them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr

from .common import Request

MAX_UPLOAD_BYTES = 8 << 30
"""An upload's size at most: OpenAI's "an Upload can accept at most 8 GB in total"."""
MAX_PARTS = 10_000
"""Part ids one completion may name (R2 joins at most 10,000 parts into one object)."""


class ExpiresAfter(Request):
    anchor: Literal["created_at"]
    seconds: StrictInt


class CreateUploadBody(Request):
    filename: Annotated[StrictStr, Field(min_length=1)]
    purpose: StrictStr
    bytes: Annotated[StrictInt, Field(ge=1, le=MAX_UPLOAD_BYTES)]
    mime_type: StrictStr
    expires_after: ExpiresAfter | None = None


class CompleteUploadBody(Request):
    part_ids: Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_PARTS)]
    md5: StrictStr | None = None
