"""Uploads' requests: ``CreateUploadBody`` and ``CompleteUploadBody`` (OpenAI's ``CreateUploadRequest`` and
``CompleteUploadRequest``; their purposes are the Files API's, checked by the route, not the spec's shorter
list, as the ``openai`` client's ``FilePurpose`` has them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr

from .common import Request

MAX_UPLOAD_BYTES = 4 << 30
"""An upload's size at most: 4 GiB (OpenAI's 8 GB halved). Completing an upload joins its parts in one
request, and a Worker invocation may make 1,000 calls to Cloudflare services: one read a part and one
write every 8 MiB of the file (``adapters/workers.py`` ``R2_PART_BYTES``): 4 GiB in :data:`MAX_PARTS`
parts is ~920 calls."""
MAX_PARTS = 400
"""Part ids one completion may name (see :data:`MAX_UPLOAD_BYTES`; the ``openai`` client's
``upload_file_chunked`` sends 64 MB parts: 4 GiB is 64 of them)."""


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
