"""The Batch API's request: ``CreateBatchBody`` (OpenAI's ``CreateBatchRequest``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, StrictStr

from .common import Metadata, Request


class OutputExpiresAfter(Request):
    anchor: Literal["created_at"]
    seconds: Annotated[StrictInt, Field(ge=3600, le=2_592_000)]


class CreateBatchBody(Request):
    input_file_id: StrictStr
    endpoint: Literal["/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions",
                      "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"]
    completion_window: Literal["24h"]
    metadata: Metadata | None = None
    output_expires_after: OutputExpiresAfter | None = None
