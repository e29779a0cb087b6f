"""Runs and run steps: ``CreateRunRequest``, ``CreateThreadAndRunRequest``, ``SubmitToolOutputsRunRequest``,
``Run``, ``RunStep``, and ``AssistantStreamEvent`` (one server-sent event of a streamed run)."""

from __future__ import annotations

from dataclasses import dataclass
from json import dumps
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, Strict, StrictBool, field_serializer

from .assistants import (
    AssistantTool,
    Instructions,
    ReasoningEffort,
    ResponseFormatOption,
    ShownSettings,
    Temperature,
    ToolResources,
    TopP,
)
from .common import CompletionTokensDetails, CompletionUsage, Lenient, Metadata, PromptTokensDetails, Request
from .threads import MAX_THREAD_MESSAGES, CreateMessageRequest, CreateThreadRequest


class TruncationStrategy(Lenient):
    type: Literal["auto", "last_messages"]
    last_messages: Annotated[int, Strict(), Field(ge=1)] | None = None


class ToolChoiceFunction(Lenient):
    name: str


class NamedToolChoice(Lenient):
    type: Literal["function", "code_interpreter", "file_search"]
    function: ToolChoiceFunction | None = None


ToolChoiceOption = Literal["none", "auto", "required"] | NamedToolChoice
TokenLimit = Annotated[int, Strict(), Field(ge=256)]


class RunSettings(Request):
    """What a run may override of its assistant, and the run's own limits (both ways to create a run)."""

    assistant_id: str
    model: str | None = None
    instructions: Instructions | None = None
    tools: Annotated[list[AssistantTool], Field(max_length=20)] | None = None
    metadata: Metadata | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    stream: StrictBool | None = None
    max_prompt_tokens: TokenLimit | None = None
    max_completion_tokens: TokenLimit | None = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoiceOption | None = None
    parallel_tool_calls: StrictBool | None = None
    response_format: ResponseFormatOption | None = None
    reasoning_effort: ReasoningEffort | None = None


class CreateRunRequest(RunSettings):
    additional_instructions: str | None = None
    additional_messages: Annotated[list[CreateMessageRequest], Field(max_length=MAX_THREAD_MESSAGES)] | None = None


class CreateThreadAndRunRequest(RunSettings):
    thread: CreateThreadRequest | None = None
    tool_resources: ToolResources | None = None


class ModifyRunRequest(Request):
    metadata: Metadata | None = None


class ToolOutput(Lenient):
    tool_call_id: str | None = None
    output: str | None = None


class SubmitToolOutputsRunRequest(Request):
    tool_outputs: list[ToolOutput]
    stream: StrictBool | None = None


# ---- responses ------------------------------------------------------------

def run_usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0, reasoning_tokens: int = 0
              ) -> CompletionUsage:
    """A run's or a step's ``usage``: its counts, and of them those served from the prompt cache and those spent
    reasoning (shown by :func:`run_usage_json`)."""
    return CompletionUsage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                           total_tokens=prompt_tokens + completion_tokens,
                           prompt_tokens_details=PromptTokensDetails(cached_tokens=cached_tokens),
                           completion_tokens_details=CompletionTokensDetails(reasoning_tokens=reasoning_tokens))


def run_usage_json(usage: CompletionUsage) -> dict[str, Any]:
    """A run's or a step's ``usage`` as OpenAI shows it: the counts, then ``prompt_token_details`` (so spelled)
    and ``completion_tokens_details`` (openai/openai-dotnet tests/SessionRecords/AssistantsTests/
    BasicRunOperationsWork.json, StreamingRunWorks.json, BasicRunStepFunctionalityWorks.json)."""
    prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_token_details": {"cached_tokens": prompt.cached_tokens if prompt else 0},
            "completion_tokens_details": {"reasoning_tokens": completion.reasoning_tokens if completion else 0}}


RunStatus = Literal[
    "queued", "in_progress", "requires_action", "cancelling", "cancelled", "failed", "completed", "incomplete",
    "expired",
]
ACTIVE: tuple[RunStatus, ...] = ("queued", "in_progress", "requires_action", "cancelling")
"""A thread with a run in one of these takes no new run and no new message. A run in one of these shows ``usage:
null`` too (OpenAI's RunCompletionUsage: "null if the run is not in a terminal state (i.e. in_progress, queued,
etc.)"; its submit_tool_outputs example answers the queued run with ``usage: null``), a run waiting for tool
outputs included: OpenAI's ``requires_action`` runs, polled and streamed, show ``usage: null`` (openai/openai-dotnet
tests/SessionRecords/AssistantsTests/FunctionToolsWork.json, StreamingToolCall().json)."""


class LastError(BaseModel):
    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"]
    message: str


class Run(ShownSettings):
    """A run, its members in the order OpenAI's answers list them (openai/openai-dotnet
    tests/SessionRecords/AssistantsTests/BasicRunOperationsWork.json, StreamingRunWorks.json)."""

    id: str
    object: Literal["thread.run"] = "thread.run"
    created_at: int
    assistant_id: str
    thread_id: str
    status: RunStatus
    started_at: int | None = None
    expires_at: int | None = None
    cancelled_at: int | None = None
    failed_at: int | None = None
    completed_at: int | None = None
    required_action: dict[str, Any] | None = None
    last_error: LastError | None = None
    model: str
    instructions: str
    tools: list[dict[str, Any]]
    tool_resources: dict[str, Any] = {}
    """Always ``{}``: a run keeps no resources of its own (its thread's and assistant's are read). Not in
    OpenAI's schema, but in its runs: the official client prints ``tool_resources={}`` on them, the
    file_search tool among their tools or not."""
    metadata: dict[str, str]
    temperature: float | None = None
    top_p: float | None = None
    reasoning_effort: str | None = None
    max_completion_tokens: int | None = None
    max_prompt_tokens: int | None = None
    truncation_strategy: dict[str, Any]
    incomplete_details: dict[str, str] | None = None
    usage: CompletionUsage | None = None
    response_format: str | dict[str, Any]
    tool_choice: str | dict[str, Any]
    parallel_tool_calls: bool

    @field_serializer("instructions")
    def _shown_instructions(self, instructions: str) -> str | None:
        """``null`` for a run without instructions (its assistant has none, nor the run), as OpenAI shows it
        (openai/openai-dotnet tests/SessionRecords/AssistantsTests/BasicRunOperationsWork.json: ``"instructions":
        null``); the row keeps ``''``."""
        return instructions or None

    @field_serializer("usage", mode="wrap")
    def _shown_usage(self, usage: CompletionUsage | None, handler: SerializerFunctionWrapHandler) -> Any:
        """``usage`` as the client sees it (:func:`run_usage_json`): null until the run ends (:data:`ACTIVE`);
        the executor keeps counting on the attribute, and the row keeps the counts."""
        return None if self.status in ACTIVE or usage is None else run_usage_json(usage)


StepStatus = Literal["in_progress", "cancelled", "failed", "completed", "expired"]


class StepError(BaseModel):
    code: Literal["server_error", "rate_limit_exceeded"]
    message: str


class RunStep(BaseModel):
    """A run step, its members as OpenAI's answers list them (openai/openai-dotnet
    tests/SessionRecords/AssistantsTests/StreamingRunWorks.json, StreamingToolCall().json,
    BasicRunStepFunctionalityWorks.json): ``expires_at`` (its run's, while the run has one: ``null`` once the run
    ended) where the spec has ``expired_at``, and no ``metadata``."""

    id: str
    object: Literal["thread.run.step"] = "thread.run.step"
    created_at: int
    run_id: str
    assistant_id: str
    thread_id: str
    type: Literal["message_creation", "tool_calls"]
    status: StepStatus
    cancelled_at: int | None = None
    completed_at: int | None = None
    expires_at: int | None = None
    """Its run's ``expires_at``, set where the step is shown (not stored)."""
    failed_at: int | None = None
    last_error: StepError | None = None
    step_details: dict[str, Any]
    usage: CompletionUsage | None = None
    expired_at: int | None = Field(default=None, exclude=True)
    """When it expired (stored, not shown: OpenAI's steps show no ``expired_at``)."""

    @field_serializer("usage", mode="wrap")
    def _shown_usage(self, usage: CompletionUsage | None, handler: SerializerFunctionWrapHandler) -> Any:
        """``usage`` as the client sees it: null while the step is ``in_progress`` (OpenAI's
        RunStepCompletionUsage), so a tool-calls step waiting for outputs shows its generation's usage
        only once it completes; shown as a run's is (:func:`run_usage_json`)."""
        return None if self.status == "in_progress" or usage is None else run_usage_json(usage)


@dataclass(frozen=True, slots=True)
class AssistantStreamEvent:
    """One event of a streamed run: its name (``thread.run.created`` …) and its data, a whole object
    (or a delta object) as the API defines it."""

    event: str
    data: BaseModel | dict[str, Any]

    def json(self) -> str:
        """The event's data as JSON text."""
        if isinstance(self.data, BaseModel):
            return self.data.model_dump_json()
        return dumps(self.data, ensure_ascii=False, separators=(",", ":"))
