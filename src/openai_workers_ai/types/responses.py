"""The Responses API's requests: ``CreateResponse``, ``TokenCountsBody``, ``CompactResponseMethodPublicBody``.

Every field of OpenAI's ``CreateResponse`` is accepted (an unknown one is a 400, as at OpenAI); the
items of ``input`` and the entries of ``tools`` stay plain JSON here and are checked one by one in
:mod:`openai_workers_ai.translate.responses`, so each 400 names the exact ``input[i]…`` param.
Responses and their items are answered as plain dicts in OpenAI's shapes
(:mod:`openai_workers_ai.translate.response_objects`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict, StrictBool, StrictStr, field_validator, model_validator

from ..errors import InvalidRequest
from .common import Closed, Lenient, Metadata, Penalty, Request
from .moderations import ModerationParam
from .vector_stores import AnyFilter, RankingOptions

Item = dict[str, Any]
"""One input or output item, as JSON."""
MAX_INPUT_ITEMS = 2048
"""Items one ``input`` may list: as many as chat's ``messages`` (OpenAI documents no number)."""
Input = str | Annotated[list[Item], Field(max_length=MAX_INPUT_ITEMS)]


class TextFormat(Lenient):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: StrictBool | None = None


_JSON_SCHEMA_ONLY = ("name", "schema", "description", "strict")


class TextFormatParam(TextFormat):
    """A request's ``text.format``: a key its ``type`` does not have is OpenAI's 400 (``Unknown parameter:
    'text.format.name'.`` for a ``text`` format with a name; the client's three format types list no others)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _keys_of_its_type(self) -> TextFormatParam:
        if self.type != "json_schema" and (sent := self.model_fields_set.difference(("type",))):
            key = next(k for k in _JSON_SCHEMA_ONLY if k in sent or f"{k}_" in sent)
            raise InvalidRequest(f"Unknown parameter: 'text.format.{key}'.", param=f"text.format.{key}",
                                 code="unknown_parameter")
        return self


class TextParam(Closed):
    format: TextFormatParam | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class StreamOptions(Closed):
    include_obfuscation: StrictBool | None = None


class ReasoningParam(Closed):
    context: Literal["auto", "current_turn", "all_turns"] | None = None  # echoed; no model here reads it
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    mode: str | None = None
    """The client's (3.63) ``Union[str, Literal['standard', 'pro']]`` ('Controls the reasoning execution mode');
    taken, and changes nothing here."""
    generate_summary: Any = None
    """``summary``'s old name, in OpenAI's spec and client as deprecated, which OpenAI refuses as unknown (its 400 in
    openai/openai-go#392, 2025-05, and on gpt-5.6-terra, observed 2026-08-30): sent, whatever its value, the same."""

    @field_validator("generate_summary")
    @classmethod
    def _unknown(cls, _value: Any) -> None:
        raise InvalidRequest("Unknown parameter: 'reasoning.generate_summary'.", param="reasoning.generate_summary",
                             code="unknown_parameter")


class CompactPromptCacheOptions(Closed):
    """``/v1/responses/compact``'s ``prompt_cache_options``: the keys client 3.63's ``response_compact_params``
    lists; another is OpenAI's 400 ``Unknown parameter: 'prompt_cache_options.x'.``. Their values are checked by
    the spec's rules (:mod:`..spec_rules`) first; none changes anything here (there is no prompt cache)."""

    mode: str | None = None
    ttl: str | None = None


class PromptCacheOptions(CompactPromptCacheOptions):
    """A response's ``prompt_cache_options``: client 3.63's ``PromptCacheOptions`` of ``response_create_params``
    lists two keys more."""

    comparison_response_id: str | None = None
    prewarm: StrictBool | None = None


class ContextManagement(Closed):
    """An entry of ``context_management`` (client 3.63's ``ContextManagement``): its type and value checked by the
    spec's rules first; another key is OpenAI's 400 ``Unknown parameter: 'context_management[0].x'.``."""

    type: str
    compact_threshold: Annotated[int, Strict()] | None = None


class ConversationRef(Lenient):
    id: str


class AccessPrograms(Lenient):
    cyber: Literal["standard", "daybreak_blue", "daybreak_red"] | None = None


class BackgroundOptions(Lenient):
    completion_window: Literal["soonest", "2h", "8h"] | None = None
    continuation_id: str | None = None  # a hint for ordering related background requests: no effect here


class ImageOptions(Lenient):
    context_compression: Literal["auto", "enabled", "disabled"] | None = None


def check_image_options(image: ImageOptions | None) -> None:
    """``image.context_compression: enabled`` requires a compression this server does not have: a 400; ``auto``
    and ``disabled`` are what it does (no compression)."""
    if image is not None and image.context_compression == "enabled":
        raise InvalidRequest("'image.context_compression' 'enabled' is not supported here: the Workers AI models "
                             "are sent images as given, without context compression (use 'auto' or 'disabled').",
                             param="image.context_compression")


MOVED = ("Unsupported parameter: 'messages'. In the Responses API, this parameter has moved to 'input'. Try again "
         "with the new parameter. See the API documentation for more information: "
         "https://platform.openai.com/docs/api-reference/responses/create.")
"""OpenAI's 400 for chat's ``messages`` sent to ``/v1/responses`` (param null; observed 2026-08-30 on gpt-5.6-terra,
in a public repository's tests of OpenAI's error bodies)."""

Temperature = Annotated[float, Strict(), Field(ge=0, le=2)]
TopP = Annotated[float, Strict(), Field(ge=0, le=1)]


class Context(Request):
    """What decides a response's context: shared by create, ``input_tokens`` and ``compact``."""

    UNKNOWN_PARAMETER = True

    model: str | None = None
    input: Input | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = None
    tools: list[Item] | None = None
    tool_choice: str | Item | None = None
    parallel_tool_calls: StrictBool | None = None
    text: TextParam | None = None
    reasoning: ReasoningParam | None = None
    truncation: Literal["auto", "disabled"] | None = None

    @property
    def conversation_id(self) -> str | None:
        # None or a string answered first: isinstance of a pydantic model's class runs its metaclass's Python
        # __instancecheck__ (~0.1 µs, and a response reads this ~8 times)
        conversation = self.conversation
        return conversation if conversation is None or isinstance(conversation, str) else conversation.id


class CreateResponse(Context):
    """``POST /v1/responses`` (and a WebSocket ``response.create``)."""

    temperature: Temperature | None = None
    top_p: TopP | None = None
    frequency_penalty: Penalty | None = None
    """Passed to the model as chat completions pass it; echoed as sent (0.0 when not). A reasoning model's 400."""
    presence_penalty: Penalty | None = None
    max_output_tokens: Annotated[int, Strict(), Field(ge=1)] | None = None
    max_tool_calls: Annotated[int, Strict(), Field(ge=1)] | None = None
    store: StrictBool | None = True
    background: StrictBool | None = False
    stream: StrictBool | None = False
    stream_options: StreamOptions | None = None
    metadata: Metadata | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    prompt_cache_options: PromptCacheOptions | None = None
    include: list[str] | None = None
    service_tier: str | None = None
    top_logprobs: Annotated[int, Strict(), Field(ge=0, le=20)] | None = None
    prompt: dict[str, Any] | None = None
    moderation: ModerationParam | None = None
    context_management: list[ContextManagement] | None = None
    access_programs: AccessPrograms | None = None
    background_options: BackgroundOptions | None = None
    image: ImageOptions | None = None
    messages: Any = None
    """Chat's field, never taken: sent (whatever its value), it is OpenAI's 400 saying it moved (:data:`MOVED`)."""

    @field_validator("messages")
    @classmethod
    def _moved_to_input(cls, _value: Any) -> None:
        raise InvalidRequest(MOVED, code="unsupported_parameter")

    @model_validator(mode="after")
    def _options_this_server_can_keep(self) -> CreateResponse:
        """Client 3.63.0's request options: a 400 naming what cannot be kept, rather than ignoring it."""
        cyber = self.access_programs.cyber if self.access_programs is not None else None
        if cyber is not None and cyber != "standard":
            raise InvalidRequest(f"'access_programs.cyber' '{cyber}' is not supported here: the Workers AI models "
                                 "have no Cyber access tiers (every request is Standard).",
                                 param="access_programs.cyber")
        window = self.background_options.completion_window if self.background_options is not None else None
        if window in ("2h", "8h") and (not self.background or self.stream):
            # OpenAI: "The `2h` and `8h` completion windows require `background: true`, Standard processing, and
            # `stream: false` or omitted." (a background response here starts at once: within any window)
            raise InvalidRequest(f"The '{window}' completion window requires background: true and stream false or "
                                 "omitted.", param="background_options.completion_window")
        check_image_options(self.image)
        return self


MAX_SEARCHED_STORES = 10
"""Vector stores one ``file_search`` tool may search: their ids and the files pushed to the index must
fit one Vectorize metadata filter (under 2,048 bytes of JSON), and each store costs D1 queries."""


class FileSearchToolParam(Request):
    """A ``file_search`` entry of ``tools`` (the gateway runs the search: :mod:`..runner.file_search_tool`)."""

    UNKNOWN_PARAMETER = True

    type: Literal["file_search"]
    vector_store_ids: Annotated[list[StrictStr], Field(max_length=MAX_SEARCHED_STORES)]
    max_num_results: Annotated[int, Strict(), Field(ge=1, le=50)] | None = None
    filters: AnyFilter | None = None
    ranking_options: RankingOptions | None = None


class FileSearchTools(Request):
    """``tools`` with only its ``file_search`` entries checked (the others None), so errors name ``tools[i]…``."""

    UNKNOWN_PARAMETER = True

    tools: list[FileSearchToolParam | None]


class TokenCountsBody(Context):
    """``POST /v1/responses/input_tokens``."""

    personality: str | None = None


class CompactBody(Request):
    """``POST /v1/responses/compact``: ``model`` is required."""

    UNKNOWN_PARAMETER = True

    model: str
    input: Input | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: CompactPromptCacheOptions | None = None
    service_tier: str | None = None
    safety_identifier: str | None = None
    """Accepted; shown on the compacted response, as OpenAI shows the one it used."""
    image: ImageOptions | None = None

    @model_validator(mode="after")
    def _image_options(self) -> CompactBody:
        check_image_options(self.image)
        return self


INCLUDABLE = frozenset({
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "message.input_image.image_url", "computer_call_output.output.image_url", "code_interpreter_call.outputs",
    "reasoning.encrypted_content", "message.output_text.logprobs",
})
"""The ``include`` values OpenAI takes; those that apply here change nothing (image URLs are always
included, and there are no encrypted reasoning or log probabilities to add)."""
