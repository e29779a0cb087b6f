"""Embeddings: ``CreateEmbeddingRequest``, ``CreateEmbeddingResponse``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from .common import Request

MAX_INPUTS = 2048
"""Inputs one request may embed (OpenAI's limit; Ollama's API gets the same)."""


class CreateEmbeddingRequest(Request):
    model: str
    input: Any
    """A string, a list of strings, or token arrays; checked by the route for OpenAI's messages."""
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, Field(ge=1)] | None = None
    user: str | None = None


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
