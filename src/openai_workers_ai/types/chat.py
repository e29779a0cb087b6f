"""Chat completions: ``CreateChatCompletionRequest``, ``ChatCompletion``, ``ChatCompletionChunk``."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    StrictBool,
    model_serializer,
    model_validator,
)

from .common import MAX_CONTENT_PARTS, Closed, CompletionUsage, Lenient, Metadata, Request, Sampling, StreamOptions
from .moderations import ModerationParam


class TextPart(Lenient):
    type: Literal["text"]
    text: str


class ImageURL(Lenient):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(Lenient):
    type: Literal["image_url"]
    image_url: ImageURL


class InputAudio(Lenient):
    data: str
    format: str


class AudioPart(Lenient):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FilePart(Lenient):
    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(Lenient):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[
    TextPart | ImagePart | AudioPart | FilePart | RefusalPart, Field(discriminator="type")
]


class FunctionCall(Lenient):
    name: str
    arguments: str


class ToolCall(Lenient):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    # [] is a 400, as at OpenAI
    content: str | Annotated[list[ContentPart], Field(min_length=1, max_length=MAX_CONTENT_PARTS)] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    function_call: FunctionCall | None = None
    refusal: str | None = None
    reasoning_content: str | None = None

    def text(self) -> str:
        """The message's text; non-text parts are the translator's business."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class FunctionDefinition(Lenient):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-.]+$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Lenient):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(Lenient):
    name: str


class NamedToolChoice(Lenient):
    type: Literal["function"]
    function: NamedFunction


class AllowedToolRef(Lenient):
    type: Literal["function"]
    function: NamedFunction


class AllowedTools(Lenient):
    mode: Literal["auto", "required"]
    tools: Annotated[list[AllowedToolRef], Field(min_length=1)]


class AllowedToolsChoice(Lenient):
    """``{"type": "allowed_tools", "allowed_tools": {"mode", "tools"}}``: a subset of ``tools``."""

    type: Literal["allowed_tools"]
    allowed_tools: AllowedTools


class JSONSchemaFormat(Lenient):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("json_schema is required when type is 'json_schema'")
        return self


class PromptCacheOptions(Closed):
    """``prompt_cache_options``: the keys client 3.63's ``completion_create_params.PromptCacheOptions`` lists;
    another is refused in chat's words for an unknown key (``Unrecognized request argument supplied:
    prompt_cache_options.x``), as the Responses API refuses one in its own. Neither changes anything here (there is
    no prompt cache), and their values are taken as sent (OpenAI's spec has no rule for them on chat)."""

    mode: Any = None
    ttl: Any = None


class CreateChatCompletionRequest(Sampling):
    model: str
    messages: Annotated[list[Message], Field(min_length=1, max_length=2048)]  # OpenAI's limit
    max_completion_tokens: Annotated[int, Strict(), Field(ge=1)] | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | AllowedToolsChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    functions: list[FunctionDefinition] | None = None
    function_call: Literal["none", "auto"] | dict[str, str] | None = None
    response_format: ResponseFormat | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    metadata: Metadata | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: PromptCacheOptions | None = None
    moderation: ModerationParam | None = None
    stream_options: StreamOptions | None = None

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class UpdateChatCompletionRequest(Request):
    """``POST /chat/completions/{completion_id}``: only ``metadata`` (required; ``null`` clears it)."""

    metadata: Metadata | None


# ---- responses ------------------------------------------------------------


class _OmitsNone(BaseModel):
    """A response object whose fields named in ``_omit_if_none`` are left out when None,
    as OpenAI leaves them out (pydantic 2.10, the Worker's, has no ``Field(exclude_if=…)``)."""

    _omit_if_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _omit_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self._omit_if_none:
            if data.get(name, 0) is None:
                del data[name]
        return data


class ChatCompletionMessage(_OmitsNone):
    _omit_if_none = ("function_call", "tool_calls", "reasoning_content")

    role: Literal["assistant"] = "assistant"
    content: str | None
    function_call: FunctionCall | None = None
    """Deprecated: the call, when the request sent ``functions`` (then never ``tool_calls``)."""
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    annotations: list[Any] = []


class Choice(BaseModel):
    index: int
    message: ChatCompletionMessage
    logprobs: None = None
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    service_tier: Literal["default"] = "default"
    """The processing mode that served the request (``translate.chat_completion.SERVICE_TIER``)."""
    system_fingerprint: None = None
    """Always ``null``, and always sent, as OpenAI sends it where it has no fingerprint to give."""
