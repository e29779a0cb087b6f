"""Ollama API request bodies, as Ollama's server (``api/types.go``) takes them.

Unknown fields are ignored, as Ollama's JSON decoder ignores them. Options
Ollama knows but Workers AI has no use for (``num_ctx``, ``mirostat`` …) are
accepted and have no effect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from .chat import FunctionDefinition
from .common import MAX_IMAGES, Lenient
from .embeddings import MAX_INPUTS

JSON = dict[str, Any]


class Options(Lenient):
    """``options``: the Modelfile parameters a request may set."""

    # The ranges OpenAI takes (Workers AI's are no wider).
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_k: int | None = None
    min_p: float | None = None
    seed: int | None = None
    num_predict: int | None = None
    num_ctx: int | None = None
    stop: list[str] | None = None
    repeat_penalty: float | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        # A Modelfile's single ``PARAMETER stop`` is sometimes sent as a bare string.
        return [value] if isinstance(value, str) else value


class FunctionCall(Lenient):
    name: str
    arguments: JSON = Field(default_factory=dict)
    index: int | None = None


class ToolCall(Lenient):
    id: str | None = None
    function: FunctionCall


class Message(Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | None = ""
    images: Annotated[list[str], Field(max_length=MAX_IMAGES)] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: str | None = None
    tool_call_id: str | None = None
    thinking: str | None = None


class Generative(Lenient):
    """What ``/api/chat`` and ``/api/generate`` share."""

    model: str | None = None
    format: str | JSON | None = None
    options: Options | None = None
    stream: bool | None = True
    think: bool | str | None = None
    keep_alive: float | int | str | None = None

    @property
    def streaming(self) -> bool:
        return self.stream is not False


class Tool(Lenient):
    """A function the model may call (Ollama does not insist on ``type``)."""

    type: Literal["function"] = "function"
    function: FunctionDefinition


class ChatRequest(Generative):
    messages: Annotated[list[Message], Field(max_length=2048)] = Field(default_factory=list)  # as OpenAI's
    tools: list[Tool] | None = None


class GenerateRequest(Generative):
    prompt: str | None = None
    system: str | None = None
    suffix: str | None = None
    images: Annotated[list[str], Field(max_length=MAX_IMAGES)] | None = None
    raw: bool | None = None
    template: str | None = None
    context: list[int] | None = None


class EmbedRequest(Lenient):
    model: str | None = None
    input: str | Annotated[list[str], Field(max_length=MAX_INPUTS)] = Field(default_factory=list)
    truncate: bool | None = True
    dimensions: int | None = None
    options: Options | None = None
    keep_alive: float | int | str | None = None


class EmbeddingsRequest(Lenient):
    """The older ``/api/embeddings``: one ``prompt``, one vector."""

    model: str | None = None
    prompt: str = ""
    options: Options | None = None
    keep_alive: float | int | str | None = None


class ModelRequest(Lenient):
    """``/api/show``, ``/api/pull``, ``/api/push``, ``/api/create``, ``/api/delete``."""

    model: str | None = None
    name: str | None = None
    """Deprecated spelling of ``model``, still sent by older clients."""
    stream: bool | None = True
    verbose: bool | None = None

    @property
    def model_name(self) -> str | None:
        return self.model or self.name


class CopyRequest(Lenient):
    source: str | None = None
    destination: str | None = None
