"""Objects shared by several endpoints."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    StrictBool,
    field_validator,
    model_serializer,
)

from ..errors import InvalidRequest


class Request(BaseModel):
    """A request body: unknown top-level fields are rejected, as OpenAI does."""

    model_config = ConfigDict(extra="forbid")
    UNKNOWN_PARAMETER: ClassVar[bool] = False
    """How an unknown key is refused: chat completions' words (``Unrecognized request argument supplied: x``, no
    code), as the older endpoints refuse it; True for the Responses and Conversations APIs' (``Unknown parameter:
    'x'.``, code ``unknown_parameter``)."""


class Closed(BaseModel):
    """A nested request object whose unknown keys are refused, as the Responses API refuses them
    (``Unknown parameter: 'reasoning.foo'.``)."""

    model_config = ConfigDict(extra="forbid")


class Lenient(BaseModel):
    """A nested request object: unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")


MAX_CONTENT_PARTS = 256
"""Content parts one message may have (chat, Assistants messages, Responses items; OpenAI documents no
number): far more text parts than clients send, and far more than the images a request may carry."""
MAX_IMAGES = 16
"""Images one generation request may carry (each may be downloaded, and each is sent on to the model)."""


METADATA_PAIRS, METADATA_KEY_CHARS, METADATA_VALUE_CHARS = 16, 64, 512
M = TypeVar("M")


def check_metadata(metadata: dict[str, M], param: str = "metadata") -> dict[str, M]:
    """OpenAI's rules for ``metadata`` (and a vector store file's ``attributes``): at most 16 pairs, keys
    of at most 64 characters, string values of at most 512; a 400 worded as OpenAI words it otherwise."""
    if len(metadata) > METADATA_PAIRS:
        raise InvalidRequest(
            f"Invalid '{param}': too many properties. Expected an object with at most {METADATA_PAIRS} "
            f"properties, but got an object with {len(metadata)} properties instead.", param=param)
    for key, value in metadata.items():
        if len(key) > METADATA_KEY_CHARS:
            raise InvalidRequest(
                f"Invalid '{param}': key too long. Expected keys of maximum length {METADATA_KEY_CHARS}, "
                f"but got a key of length {len(key)} instead.", param=param)
        if isinstance(value, str) and len(value) > METADATA_VALUE_CHARS:
            raise InvalidRequest(
                f"Invalid '{param}.{key}': string too long. Expected a string with maximum length "
                f"{METADATA_VALUE_CHARS}, but got a string with length {len(value)} instead.", param=f"{param}.{key}")
    return metadata


Metadata = Annotated[dict[str, str], AfterValidator(check_metadata)]
"""A request's ``metadata`` (validated as :func:`check_metadata` says)."""


class StreamOptions(Lenient):
    include_usage: StrictBool | None = None
    include_obfuscation: bool | None = None


def stop_list(value: Any) -> list[str]:
    """``stop`` as OpenAI takes it: null, a string, or up to 4 strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [s for s in value if s]


class UsageDetails(BaseModel):
    cached_tokens: int = 0


class CompletionTokensDetails(BaseModel):
    reasoning_tokens: int = 0


class ChatCompletionTokensDetails(CompletionTokensDetails):
    """A chat completion's ``completion_tokens_details``, every field OpenAI sends (audio and predicted
    outputs are not available on Workers AI: always 0)."""

    audio_tokens: int = 0
    accepted_prediction_tokens: int = 0
    rejected_prediction_tokens: int = 0


class PromptTokensDetails(BaseModel):
    """A chat completion's ``prompt_tokens_details``, as OpenAI sends it."""

    cached_tokens: int = 0
    cache_write_tokens: int = 0
    audio_tokens: int = 0


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: ChatCompletionTokensDetails | CompletionTokensDetails | None = None

    @model_serializer(mode="wrap")
    def _omit_no_details(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Details left out where none are given (a legacy completion without reasoning, as OpenAI's example).
        data: dict[str, Any] = handler(self)
        for name in ("prompt_tokens_details", "completion_tokens_details"):
            if data.get(name, 0) is None:
                del data[name]
        return data


Penalty = Annotated[float, Strict(), Field(ge=-2, le=2)]
"""A ``frequency_penalty`` or ``presence_penalty``, as chat completions and Responses take it."""


class Sampling(Request):
    """Sampling fields shared by chat completions and completions. (``stream_options`` without ``stream`` is
    spec_rules' 400, answered on the body before it is validated here, as OpenAI words it.)"""

    # Strict, as OpenAI is: "0.5" is not a number, "true" not a boolean, 5.0 not an integer.
    temperature: Annotated[float, Strict(), Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Strict(), Field(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, Strict(), Field(ge=1)] | None = None
    n: Annotated[int, Strict(), Field(ge=1, le=128)] | None = None
    seed: Annotated[int, Strict()] | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    stream: StrictBool | None = False
    stream_options: StreamOptions | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _stop_strings(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and any(not isinstance(s, str) for s in value):
            raise ValueError("stop must be a string or a list of up to 4 strings")
        return value

    @property
    def stop_sequences(self) -> list[str]:
        return stop_list(self.stop)
