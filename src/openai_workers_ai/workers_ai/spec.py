"""The neutral request for text generation, and what the pipeline answers with.

Every front door onto text generation — chat completions, completions, Ollama's
chat and generate, and next the Responses API and Assistants runs — parses its
own request, builds one :class:`ChatSpec`, and hands it to
:mod:`openai_workers_ai.workers_ai.pipeline`. Back come :class:`Generated` (whole)
or :data:`Event` s (streamed), which the door renders in its own format.

A spec holds only what generation needs, already in neutral terms: roles are
``system`` / ``user`` / ``assistant`` / ``tool``; image parts are URLs; a named
``tool_choice`` is :class:`Forced`. What is the door's business (its field
names, its validation rules, its ids) stays in the door; the spec carries the
door's parameter names (:class:`Params`, ``Message.where``) so the pipeline's
400s name the param the client sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..catalog import ModelInfo

# What a door builds for every request (a spec, its messages and sampling; the pipeline's ModelCall) is
# a plain dataclass, never changed once built (a changed copy is dataclasses.replace's): a frozen one's
# __init__ sets each field through object.__setattr__, ~80 ns a field, ~3 µs a chat request in all.
# Values that are shared or summed (Usage, ToolCall, Params …) stay frozen.

# ---- the request ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image in a message: a ``data:`` URL, or an ``https://`` URL the pipeline downloads."""

    url: str
    where: str
    """The request param naming this part (``messages[0].content[1]``), for errors."""
    url_where: str
    """The param naming its URL (``messages[0].content[1].image_url.url``)."""


Part = str | ImagePart
"""A content part: text, or an image."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call in the conversation's history (an assistant turn)."""

    id: str
    name: str
    arguments: str
    """The arguments as JSON text."""


Role = Literal["system", "user", "assistant", "tool"]

ROLES: dict[str, Role] = {"system": "system", "developer": "system", "user": "user",
                          "assistant": "assistant", "tool": "tool", "function": "tool"}
"""The role names the APIs use (OpenAI's and Ollama's), as neutral roles."""


@dataclass(slots=True)
class Message:
    """One turn of the conversation."""

    role: Role
    content: str | tuple[Part, ...] = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    """For ``tool`` turns: the call this result answers."""
    name: str | None = None
    """For ``tool`` turns: the function's name."""
    where: str = ""
    """The request param naming this message (``messages[2]``, ``input[0]``), for errors."""

    def text(self) -> str:
        """The message's text (its text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(part for part in self.content if isinstance(part, str))

    def images(self) -> list[ImagePart]:
        """The message's image parts."""
        return [] if isinstance(self.content, str) else [p for p in self.content if isinstance(p, ImagePart)]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] | None = None
    """A JSON schema of the arguments."""
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class Forced:
    """A ``tool_choice`` naming one tool: the model must call it."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | Forced | None


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """Structured output: any JSON object, or JSON following ``schema``."""

    type: Literal["json_object", "json_schema"]
    schema: Mapping[str, Any] | None = None
    name: str | None = None
    description: str | None = None
    strict: bool | None = None

    def openai(self) -> dict[str, Any]:
        """As OpenAI's ``response_format`` (what Chat Completions models take)."""
        if self.type == "json_object":
            return {"type": "json_object"}
        described = {"name": self.name, "description": self.description, "schema": self.schema, "strict": self.strict}
        return {"type": "json_schema", "json_schema": {k: v for k, v in described.items() if v is not None}}


@dataclass(slots=True)
class Sampling:
    """Sampling inputs; None leaves the model's default."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None


@dataclass(frozen=True, slots=True)
class Params:
    """What the door calls the spec's fields, so a 400 names the param the client sent."""

    tools: str = "tools"
    tool_choice: str = "tool_choice"
    output_format: str = "response_format"
    reasoning_effort: str = "reasoning_effort"


@dataclass(slots=True)
class ChatSpec:
    """One text-generation request, whichever API it came through."""

    model: ModelInfo
    messages: tuple[Message, ...] = ()
    prompt: str | None = None
    """A prompt instead of ``messages`` (completions; Ollama's generate), run through the
    model's chat template unless ``raw``."""
    raw: bool = False
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = None
    parallel_tool_calls: bool | None = None
    output_format: OutputFormat | None = None
    sampling: Sampling = field(default_factory=Sampling)
    reasoning_effort: str | None = None
    """``none`` … ``max``; checked against what the model takes."""
    stop: tuple[str, ...] = ()
    """Stop sequences, enforced by the gateway (Workers AI models take none)."""
    n: int = 1
    """Choices: each is one concurrent model call."""
    params: Params = Params()
    native_format: Literal["chat", "responses"] = "chat"
    """The API shape the request came in: gpt-oss takes Responses-shaped input natively, so a
    Responses request reaches it in that shape (:func:`.families.responses_inputs`)."""

    def prompt_text(self) -> str:
        """The prompt as text, for estimating prompt tokens when Workers AI reports none."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(m.text() for m in self.messages)


# ---- what comes back --------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """The token estimate used when Workers AI reports no usage: ~4 characters a token."""
    return (len(text) + 3) // 4


def reasoning_share(completion_tokens: int, reasoning: int, visible: int) -> int:
    """Of ``completion_tokens``, those spent reasoning when Workers AI does not say: the reasoning text's
    share of what the model wrote (``reasoning`` and ``visible`` characters: the text and the tool calls'
    arguments). Never all of it when the model also wrote something visible; the one rule of every door."""
    if not reasoning or completion_tokens <= 0:
        return 0
    return completion_tokens * reasoning // (reasoning + visible)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    """Of ``completion_tokens``, those spent on reasoning (Workers AI's count when it reports one,
    else :func:`reasoning_share`)."""
    cached_tokens: int = 0
    """Of ``prompt_tokens``, those served from the prompt cache (Workers AI's count when it reports one)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        """Two generations of different prompts (completions' prompts): everything summed."""
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.reasoning_tokens + other.reasoning_tokens, self.cached_tokens + other.cached_tokens)


@dataclass(slots=True)
class ToolCallPiece:
    """A tool call the model made, whole or as a streamed fragment (``index`` identifies it)."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


def gather(calls: dict[int, ToolCallPiece], piece: ToolCallPiece) -> ToolCallPiece | None:
    """Add a streamed fragment to the whole call of its ``index`` in ``calls``: the first fragment of an
    index opens the call (a copy: the fragment stays as it came), later ones extend its arguments and fill
    in an id or a name it still lacks. The call when this fragment opened it, else None."""
    whole = calls.get(piece.index)
    if whole is None:
        whole = calls[piece.index] = ToolCallPiece(piece.index, piece.id, piece.name, piece.arguments)
        return whole
    whole.id, whole.name = whole.id or piece.id, whole.name or piece.name
    whole.arguments += piece.arguments
    return None


FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(slots=True)
class Choice:
    """One whole answer, after stop sequences, ``<think>`` splitting and tool-call settling."""

    text: str
    reasoning: str
    tool_calls: list[ToolCallPiece]
    finish_reason: FinishReason
    usage: Usage


@dataclass(slots=True)
class Generated:
    """A whole generation: one :class:`Choice` per ``n``, and the usage of them all
    (the prompt counted once, as OpenAI counts it)."""

    choices: list[Choice]
    usage: Usage


@dataclass(slots=True)
class Delta:
    """Streamed: new text, reasoning or tool-call fragments of choice ``index``."""

    index: int
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallPiece] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Finish:
    """Streamed: choice ``index`` is complete."""

    index: int
    reason: FinishReason


@dataclass(frozen=True, slots=True)
class Done:
    """Streamed, last: every choice is complete; the usage of them all."""

    usage: Usage


Event = Delta | Finish | Done
