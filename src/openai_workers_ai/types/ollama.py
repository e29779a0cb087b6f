"""Ollama API request bodies, as Ollama's server (``api/types.go``) takes them.

Unknown fields are ignored, as Ollama's JSON decoder ignores them. Known ones are as strict as Go's decoder:
a string is no boolean or number there (``"stream": "false"`` is its 400, worded as Go words it by
:func:`..validation.parse_ollama`), so booleans, strings and integers here are pydantic's strict types. Each
request class is named as Ollama's Go struct is, as Go's errors name it. Options
Ollama knows but Workers AI has no use for (``num_ctx``, ``mirostat`` …) are
accepted and have no effect.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .chat import FunctionDefinition
from .common import MAX_IMAGES, Lenient
from .embeddings import MAX_INPUTS

JSON = dict[str, Any]


OLLAMA_ERROR = "ollama"
"""The type of a validation error worded as Ollama words it: its message is the whole 400."""

_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = re.compile(r"(\d*)(?:\.(\d*))?")
_UNIT = re.compile(r"[^\d.]*")


def go_quoted(text: str) -> str:
    """``text`` as Go's ``%q`` writes the strings these errors quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def go_duration(text: str) -> float:
    """Go's ``time.ParseDuration``, in seconds ("5m", "1h30m", "-1s", "0"); ValueError worded as Go's."""
    quoted = go_quoted(text)
    rest, sign = text, 1.0
    if rest[:1] in ("-", "+"):
        sign, rest = (-1.0 if rest[0] == "-" else 1.0), rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0.0
    while rest:
        number = _NUMBER.match(rest)
        assert number is not None  # the pattern matches the empty string
        whole, fraction = number.group(1), number.group(2)
        if not whole and not fraction:
            raise ValueError(f"time: invalid duration {quoted}")
        rest = rest[number.end():]
        unit = _UNIT.match(rest)
        assert unit is not None
        if not unit.group():
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit.group() not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit.group()}" in duration {quoted}')
        total += float(f"{whole or 0}.{fraction or 0}") * _UNITS[unit.group()]
        rest = rest[unit.end():]
    return sign * total


FOREVER = (2**63 - 1) / 1e9
"""A negative ``keep_alive``, in seconds: Go's longest ``time.Duration``, as Ollama sets it."""


def _keep_alive(value: Any) -> float | None:
    """``keep_alive`` as Ollama's ``api.Duration`` reads it, in seconds: a number is whole seconds, a
    string a Go duration, a negative either way is forever (:data:`FOREVER`); anything else is Ollama's 400."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):  # 1e999: left for the gateway's "numbers must be finite" 400
            return float(value)
        return FOREVER if value < 0 else float(int(value))
    if isinstance(value, str):
        try:
            seconds = go_duration(value)
        except ValueError as error:
            raise PydanticCustomError(OLLAMA_ERROR, "{message}", {"message": str(error)}) from None
        return FOREVER if seconds < 0 else seconds
    go_type = {bool: "bool", list: "[]interface {}", dict: "map[string]interface {}"}.get(type(value), "")
    raise PydanticCustomError(OLLAMA_ERROR, "{message}", {"message": f"Unsupported type: '{go_type}'"})


KeepAlive = Annotated[float | None, BeforeValidator(_keep_alive)]
"""``keep_alive``: seconds (:data:`FOREVER` for a negative one), or None when not sent."""


ThinkLevel = Literal["high", "medium", "low"]
THINK_LEVELS: tuple[str, ...] = get_args(ThinkLevel)


def _think(value: Any) -> Any:
    """``think`` as Ollama's ``api.ThinkValue`` reads it (``UnmarshalJSON`` in ``api/types.go``): a boolean or
    one of :data:`THINK_LEVELS`, anything else its 400 whatever the model (it fails the request's decoding)."""
    if value is None or isinstance(value, bool) or value in THINK_LEVELS:
        return value
    if isinstance(value, str):
        message = f'invalid think value: {go_quoted(value)} (must be "high", "medium", "low", true, or false)'
    else:
        message = 'think must be a boolean or string ("high", "medium", "low", true, or false)'
    raise PydanticCustomError(OLLAMA_ERROR, "{message}", {"message": message})


Think = Annotated[bool | ThinkLevel | None, BeforeValidator(_think)]
"""``think``: true, false, a level, or None when not sent."""


_INTEGER, _FLOAT, _BOOLEAN = "integer", "float32", "boolean"
OPTION_TYPES: dict[str, str] = {
    **dict.fromkeys(("num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "num_ctx", "num_batch", "num_gpu",
                     "main_gpu", "num_thread"), _INTEGER),
    **dict.fromkeys(("top_p", "min_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty",
                     "frequency_penalty"), _FLOAT),
    "use_mmap": _BOOLEAN,
}
"""The typed fields of Ollama's ``api.Options`` (``api/types.go``) but ``stop``, by JSON name: the Go type each
must decode into."""


def _option_error(key: str, what: str) -> PydanticCustomError:
    return PydanticCustomError(OLLAMA_ERROR, "{message}", {"message": f"option {go_quoted(key)} must be of {what}"})


def _typed_options(value: Any) -> Any:
    """``options`` checked as Ollama's ``Options.FromMap`` (``api/types.go``) checks them: a known option of the
    wrong JSON type (a number sent as a string, ``"temperature": "0.5"``) is its error, word for word; null and
    unknown options are skipped, as there. ``stop`` is an array of strings (a bare string is its error too)."""
    if not isinstance(value, dict):
        return value
    for key, item in value.items():
        kind = OPTION_TYPES.get(key)
        if key == "stop" and item is not None:
            if not isinstance(item, list):
                raise _option_error(key, "type array")
            if not all(isinstance(s, str) for s in item):
                raise _option_error(key, "an array of strings")
        if item is None or kind is None:
            continue
        number = isinstance(item, (int, float)) and not isinstance(item, bool)
        if (kind == _BOOLEAN and not isinstance(item, bool)) or (kind != _BOOLEAN and not number):
            raise _option_error(key, f"type {kind}")
    return value


class Options(Lenient):
    """``options``: the Modelfile parameters a request may set."""

    @model_validator(mode="before")
    @classmethod
    def _typed(cls, value: Any) -> Any:
        return _typed_options(value)

    # No range: Ollama has none; translate.ollama holds the sampling options to Workers AI's ranges.
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    seed: int | None = None
    num_predict: int | None = None
    num_ctx: int | None = None
    stop: list[str] | None = None
    repeat_penalty: float | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None

    @field_validator("top_k", "seed", "num_predict", "num_ctx", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        # Ollama's Options.FromMap (api/types.go) sets an integer option from a JSON number cut to its whole
        # part (int64(float64)): num_predict 100.7 is 100.
        if isinstance(value, float) and math.isfinite(value):
            return int(value)
        return value


class FunctionCall(Lenient):
    name: StrictStr
    arguments: JSON = Field(default_factory=dict)
    index: int | None = None


class ToolCall(Lenient):
    id: StrictStr | None = None
    function: FunctionCall


class Message(Lenient):
    role: StrictStr = ""
    """Any role, as Ollama passes every role to the model's template (:func:`..translate.ollama.messages` skips
    those Workers AI has no turn for, as the templates of the models it hosts do)."""
    content: StrictStr | None = ""
    images: Annotated[list[StrictStr], Field(max_length=MAX_IMAGES)] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_name: StrictStr | None = None
    tool_call_id: StrictStr | None = None
    thinking: StrictStr | None = None

    @field_validator("role", mode="before")
    @classmethod
    def _lower_case_role(cls, value: Any) -> Any:
        # Ollama's Message.UnmarshalJSON (api/types.go) lower-cases the role: "User" is "user"; null is Go's "".
        return "" if value is None else value.lower() if isinstance(value, str) else value


class Generative(Lenient):
    """What ``/api/chat`` and ``/api/generate`` share."""

    model: StrictStr | None = None
    format: str | JSON | None = None
    options: JSON | None = None
    """Go's ``map[string]interface {}``: read as :class:`Options` (:func:`..validation.ollama_options`) where
    Ollama's handlers read them, after the model's lookup, an unload and the thinking check."""
    stream: StrictBool | None = True
    think: Think = None
    keep_alive: KeepAlive = None
    truncate: StrictBool | None = None
    """No effect (Workers AI cuts nothing), but a boolean, as Ollama's ``*bool`` takes it; so is ``shift``."""
    shift: StrictBool | None = None

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

    @field_validator("messages", mode="before")
    @classmethod
    def _no_messages(cls, value: Any) -> Any:
        # Go decodes null into a nil slice: no messages, Ollama's load request.
        return [] if value is None else value


MAX_CONTEXT_BYTES = 1024 * 1024
"""The longest conversation a generate ``context`` carries (:mod:`..translate.ollama_context`): 1 MiB of JSON,
more text than any Workers AI model's window takes (about 250,000 tokens)."""
MAX_CONTEXT_INTS = 2 + (MAX_CONTEXT_BYTES + (MAX_CONTEXT_BYTES >> 12) + (MAX_CONTEXT_BYTES >> 14) + 64) // 3 + 1
"""The longest ``context`` list taken: what :data:`MAX_CONTEXT_BYTES` deflates to at worst (zlib's
``compressBound``, with room to spare), three bytes an int, after the two of the header."""


class GenerateRequest(Generative):
    prompt: StrictStr | None = None
    system: StrictStr | None = None
    suffix: StrictStr | None = None
    images: Annotated[list[StrictStr], Field(max_length=MAX_IMAGES)] | None = None
    raw: StrictBool | None = None
    template: StrictStr | None = None
    context: Annotated[list[StrictInt], Field(max_length=MAX_CONTEXT_INTS)] | None = None
    """The ``context`` of an earlier answer (ints, as Go's ``[]int`` takes them: no strings, floats or bools)."""


def _embed_input(value: Any) -> Any:
    """``input`` as Ollama's EmbedHandler (``server/routes.go``) reads it: a string, a list of strings, or
    nothing (null: no input); anything else is its 400 ``invalid input type``."""
    if value is None:
        return []
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise PydanticCustomError(OLLAMA_ERROR, "invalid input type")


class EmbedRequest(Lenient):
    model: StrictStr | None = None
    input: Annotated[
        str | Annotated[list[str], Field(max_length=MAX_INPUTS)], BeforeValidator(_embed_input)
    ] = Field(default_factory=list)
    truncate: StrictBool | None = True
    dimensions: StrictInt | None = None
    options: JSON | None = None
    keep_alive: KeepAlive = None


class EmbeddingRequest(Lenient):
    """The older ``/api/embeddings``: one ``prompt``, one vector."""

    model: StrictStr | None = None
    prompt: StrictStr | None = None
    options: JSON | None = None
    keep_alive: KeepAlive = None


class ModelRequest(Lenient):
    """``/api/show``, ``/api/pull``, ``/api/push``, ``/api/create``, ``/api/delete``: one of the subclasses."""

    model: StrictStr | None = None
    name: StrictStr | None = None
    """Deprecated spelling of ``model``, still sent by older clients."""
    stream: StrictBool | None = True
    verbose: StrictBool | None = None
    insecure: StrictBool | None = None

    @property
    def model_name(self) -> str | None:
        return self.model or self.name


class ShowRequest(ModelRequest):
    """``/api/show``."""


class PullRequest(ModelRequest):
    """``/api/pull``."""


class PushRequest(ModelRequest):
    """``/api/push``."""


class CreateRequest(ModelRequest):
    """``/api/create``."""


class DeleteRequest(ModelRequest):
    """``/api/delete``."""


class CopyRequest(Lenient):
    source: StrictStr | None = None
    destination: StrictStr | None = None
