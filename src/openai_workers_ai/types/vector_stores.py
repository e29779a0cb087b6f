"""Vector stores' requests, as OpenAI's schemas name them (``CreateVectorStoreRequest`` …), and the
pieces the ``file_search`` tool shares with them: attribute filters and ranking options."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..errors import InvalidRequest
from .common import Lenient, Metadata, Request, check_metadata

AttributeValue = StrictStr | StrictBool | StrictInt | StrictFloat


Attributes = Annotated[dict[str, AttributeValue], AfterValidator(partial(check_metadata, param="attributes"))]
"""A vector store file's ``attributes``: ``metadata``'s rules (:func:`~.common.check_metadata`)."""


class AutoChunkingStrategy(Request):
    type: Literal["auto"]


class StaticChunking(Request):
    max_chunk_size_tokens: Annotated[int, Strict(), Field(ge=100, le=4096)]
    chunk_overlap_tokens: Annotated[int, Strict(), Field(ge=0)]

    @field_validator("chunk_overlap_tokens")
    @classmethod
    def _overlap_at_most_half(cls, overlap: int, info: ValidationInfo) -> int:
        # A validation error, not a 400 raised here: its param is then the field's place in the request
        # (a file batch's files[i].chunking_strategy…, not the batch's own chunking_strategy).
        size = info.data.get("max_chunk_size_tokens")
        if isinstance(size, int) and overlap > size // 2:
            raise PydanticCustomError("overlap_above_half", "the overlap must not exceed half of "
                                      "max_chunk_size_tokens ({half}).", {"half": size // 2})
        return overlap


class StaticChunkingStrategy(Request):
    type: Literal["static"]
    static: StaticChunking


ChunkingStrategy = Annotated[AutoChunkingStrategy | StaticChunkingStrategy, Field(discriminator="type")]


class ExpiresAfter(Request):
    """``expires_after``: the store expires ``days`` after it was last active."""

    anchor: Literal["last_active_at"]
    days: Annotated[int, Strict(), Field(ge=1, le=365)]


class CreateVectorStoreRequest(Request):
    file_ids: Annotated[list[StrictStr], Field(max_length=500)] | None = None
    name: StrictStr | None = None
    description: StrictStr | None = None
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class UpdateVectorStoreRequest(Request):
    name: StrictStr | None = None
    expires_after: ExpiresAfter | None = None
    metadata: Metadata | None = None


class CreateVectorStoreFileRequest(Request):
    file_id: StrictStr
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None


class CreateVectorStoreFileBatchRequest(Request):
    file_ids: Annotated[list[StrictStr], Field(min_length=1, max_length=2000)] | None = None
    files: Annotated[list[CreateVectorStoreFileRequest], Field(min_length=1, max_length=2000)] | None = None
    chunking_strategy: ChunkingStrategy | None = None
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _file_ids_or_files(self) -> CreateVectorStoreFileBatchRequest:
        if (self.file_ids is None) == (self.files is None):
            raise InvalidRequest("Exactly one of 'file_ids' and 'files' must be given.",
                                 param="file_ids" if self.file_ids is not None else "files")
        return self


class UpdateVectorStoreFileAttributesRequest(Request):
    attributes: Attributes | None


# ---- filters and ranking (the search endpoint and the file_search tool) ---------------------

ComparisonType = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
Scalar = StrictStr | StrictBool | StrictInt | StrictFloat


class ComparisonFilter(Request):
    """``{type, key, value}``: an attribute compared with a value (``in``/``nin``: a list of values)."""

    type: ComparisonType
    key: StrictStr
    value: Scalar | list[StrictStr | StrictInt | StrictFloat]

    @field_validator("value")
    @classmethod
    def _value_fits_type(cls, value: Any, info: ValidationInfo) -> Any:
        # A field's own error, so that the param names the value (``filters.filters[0].value``), in
        # words of our own (a ValueError's message would come with pydantic's "Value error, ").
        kind = info.data.get("type")  # absent when the type itself was refused
        if kind is not None and (kind in ("in", "nin")) != isinstance(value, list):
            wanted = "an array of strings or numbers" if kind in ("in", "nin") else "a string, number or boolean"
            raise PydanticCustomError("invalid_type", "the '{kind}' comparison takes {wanted}.",
                                      {"kind": kind, "wanted": wanted})
        return value


def _filter_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "CompoundFilter" if kind in ("and", "or") else "ComparisonFilter"  # class names: no param names


class CompoundFilter(Request):
    """``{type: and | or, filters}``: comparison or compound filters combined."""

    type: Literal["and", "or"]
    filters: list[AnyFilter]


AnyFilter = Annotated[
    Union[Annotated[ComparisonFilter, Tag("ComparisonFilter")], Annotated[CompoundFilter, Tag("CompoundFilter")]],  # noqa: UP007
    Discriminator(_filter_kind),
]
"""A filter in a request: ``and``/``or`` make it compound, any other ``type`` a comparison."""
CompoundFilter.model_rebuild()

Filter = ComparisonFilter | CompoundFilter
"""A validated filter (what :func:`..runner.attribute_filters.matches` takes)."""


class HybridSearch(Lenient):
    """How reciprocal rank fusion weighs the semantic and the keyword ranking."""

    embedding_weight: Annotated[float, Strict(), Field(ge=0)]
    text_weight: Annotated[float, Strict(), Field(ge=0)]


Ranker = Literal["none", "auto", "default-2024-11-15", "default_2024_08_21"]


class RankingOptions(Request):
    ranker: Ranker | None = None
    score_threshold: Annotated[float, Strict(), Field(ge=0, le=1)] | None = None
    hybrid_search: HybridSearch | None = None


class VectorStoreSearchRequest(Request):
    query: StrictStr | Annotated[list[StrictStr], Field(min_length=1)]
    rewrite_query: StrictBool | None = None
    max_num_results: Annotated[int, Strict(), Field(ge=1, le=50)] | None = None
    filters: AnyFilter | None = None
    ranking_options: RankingOptions | None = None
