"""Assistants: ``CreateAssistantRequest``, ``ModifyAssistantRequest``, ``Assistant``, and the tools,
tool resources and response formats that assistants and runs share."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict, field_serializer

from .chat import FunctionDefinition, ResponseFormat
from .common import Lenient, Metadata, Request
from .vector_stores import ChunkingStrategy


class FunctionTool(Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class FileSearchRankingOptions(Lenient):
    ranker: Literal["auto", "default_2024_08_21"] | None = None
    score_threshold: Annotated[float, Strict(), Field(ge=0, le=1)]


class FileSearchOptions(Lenient):
    max_num_results: Annotated[int, Strict(), Field(ge=1, le=50)] | None = None
    ranking_options: FileSearchRankingOptions | None = None


class FileSearchTool(Lenient):
    type: Literal["file_search"]
    file_search: FileSearchOptions | None = None


class CodeInterpreterTool(Lenient):
    type: Literal["code_interpreter"]


AssistantTool = Annotated[FunctionTool | FileSearchTool | CodeInterpreterTool, Field(discriminator="type")]


class CodeInterpreterResources(Lenient):
    file_ids: Annotated[list[str], Field(max_length=20)] = []


class NewVectorStore(Lenient):
    """``tool_resources.file_search.vector_stores[0]``: a store to create with these files, and use."""

    file_ids: Annotated[list[str], Field(max_length=500)] = []
    chunking_strategy: ChunkingStrategy | None = None
    metadata: Metadata | None = None


class FileSearchResources(Lenient):
    vector_store_ids: Annotated[list[str], Field(max_length=1)] | None = None
    vector_stores: Annotated[list[NewVectorStore], Field(max_length=1)] | None = None


class ToolResources(Lenient):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


ResponseFormatOption = Literal["auto"] | ResponseFormat
"""``"auto"``, or a chat completion's ``response_format`` object."""

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
Temperature = Annotated[float, Strict(), Field(ge=0, le=2)]
TopP = Annotated[float, Strict(), Field(ge=0, le=1)]
Name = Annotated[str, Field(max_length=256)]
Description = Annotated[str, Field(max_length=512)]
Instructions = Annotated[str, Field(max_length=256_000)]


class CreateAssistantRequest(Request):
    model: str
    name: Name | None = None
    description: Description | None = None
    instructions: Instructions | None = None
    tools: Annotated[list[AssistantTool], Field(max_length=128)] = []
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    response_format: ResponseFormatOption | None = None
    reasoning_effort: ReasoningEffort | None = None


class ModifyAssistantRequest(Request):
    """Only the fields sent change (``model_fields_set``); ``null`` clears a nullable one."""

    model: str | None = None
    name: Name | None = None
    description: Description | None = None
    instructions: Instructions | None = None
    tools: Annotated[list[AssistantTool], Field(max_length=128)] | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    response_format: ResponseFormatOption | None = None
    reasoning_effort: ReasoningEffort | None = None


# ---- responses ------------------------------------------------------------


class ShownSettings(BaseModel):
    """An assistant's or a run's settings as OpenAI shows them: its defaults filled in (:func:`shown_sampling`,
    :func:`shown_tools`); the stored ones stay as given."""

    @field_serializer("temperature", "top_p", check_fields=False)
    def _shown_sampling(self, value: float | None) -> float:
        return shown_sampling(value)

    @field_serializer("tools", check_fields=False)
    def _shown_tools(self, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return shown_tools(tools)


class Assistant(ShownSettings):
    id: str
    object: Literal["assistant"] = "assistant"
    created_at: int
    name: str | None
    description: str | None
    model: str
    instructions: str | None
    tools: list[dict[str, Any]]
    top_p: float | None
    temperature: float | None
    reasoning_effort: str | None
    tool_resources: dict[str, Any] | None
    metadata: dict[str, str]
    response_format: str | dict[str, Any]

    @field_serializer("tool_resources")
    def _shown_resources(self, resources: dict[str, Any] | None) -> dict[str, Any]:
        """OpenAI shows an empty ``file_search`` resource on an assistant with the file_search tool and
        no store (``ToolResourcesFileSearch(vector_store_ids=[])`` in the official client's print of an
        assistant created with ``tools=[{"type": "file_search"}]`` alone), and ``{}`` on one without."""
        shown = dict(resources or {})
        if "file_search" not in shown and any(t.get("type") == "file_search" for t in self.tools):
            shown["file_search"] = {"vector_store_ids": []}
        return shown


FILE_SEARCH_RANKER = "default_2024_08_21"
"""The ranker OpenAI names for ``auto`` (or none asked) in a file_search tool and its run steps."""


def shown_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An assistant's or a run's tools as OpenAI shows them, its defaults filled in: a function's
    ``strict: false``, the file_search tool's ``ranking_options`` (``ranker: default_2024_08_21``,
    ``score_threshold: 0.0``) — as the official client prints OpenAI's assistants and runs made with
    ``{"type": "file_search"}`` and functions without ``strict``; ``hybrid_search: null`` in the ranking options
    (openai/openai-dotnet tests/SessionRecords/AssistantsTests/BasicAssistantOperationsWork.json,
    FileSearchWorks.json: every file_search tool of an assistant or a run, 2025-10); a function's ``parameters``
    (:data:`NO_PARAMETERS` when it has none). ``max_num_results`` only when given
    (OpenAI's show ``max_num_results=None``). Only the shown form: the stored tools stay as given."""
    return [_shown_tool(t) for t in tools]


NO_PARAMETERS = {"type": "object", "properties": {}}
"""The ``parameters`` OpenAI shows for a function given none (openai/openai-dotnet
tests/SessionRecords/AssistantsTests/StreamingToolCall().json: ``{"description", "name"}`` is shown with
``"parameters": {"type": "object", "properties": {}}, "strict": false``)."""


def _shown_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "function":
        function = tool.get("function") or {}
        if function.get("strict") is not None and "parameters" in function:
            return tool
        shown = {name: function[name] for name in ("name", "description") if name in function}
        shown["parameters"] = function.get("parameters", NO_PARAMETERS)
        shown["strict"] = function.get("strict") or False
        return {**tool, "function": shown}
    if tool.get("type") == "file_search":
        options = dict(tool.get("file_search") or {})
        ranking = options.get("ranking_options") or {}
        ranker = ranking.get("ranker")
        options["ranking_options"] = {
            "ranker": FILE_SEARCH_RANKER if ranker in (None, "auto") else ranker,
            "score_threshold": ranking.get("score_threshold", 0.0), "hybrid_search": None}
        return {**tool, "file_search": options}
    return tool


def shown_sampling(value: float | None) -> float:
    """``temperature`` or ``top_p`` as an assistant or a run shows it: OpenAI's default, 1, when unset ("If
    not set, defaults to 1", and its examples' ``1.0``). Only the shown value: unset, the model's own
    default is what generates, as in the Responses echo."""
    return 1.0 if value is None else value


class Deleted(BaseModel):
    """``{"id", "object": "<kind>.deleted", "deleted": true}``."""

    id: str
    object: str
    deleted: bool = True


def tool_json(tool: FunctionTool | FileSearchTool | CodeInterpreterTool) -> dict[str, Any]:
    """A tool as an assistant or a run shows it (unset optional fields left out)."""
    return tool.model_dump(mode="json", exclude_none=True, by_alias=True)


def response_format_json(value: ResponseFormatOption | None) -> str | dict[str, Any]:
    """``response_format`` as an assistant or a run shows it (``"auto"`` when unset)."""
    if value is None or isinstance(value, str):
        return "auto"
    return value.model_dump(mode="json", exclude_none=True, by_alias=True)


def tool_resources_json(value: ToolResources | None) -> dict[str, Any]:
    """``tool_resources`` as stored and shown (``{}`` when unset)."""
    return {} if value is None else value.model_dump(mode="json", exclude_none=True)
