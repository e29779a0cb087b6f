"""Ollama requests ⇄ the gateway's internal forms (pure).

Ollama requests become the same :class:`~openai_workers_ai.generation.Generation`
the OpenAI side builds: ``/api/chat`` is converted into a Chat Completions
request and run through :func:`openai_workers_ai.translate.chat.generation`
(so tools, JSON mode, images and reasoning behave exactly as on ``/v1``);
``/api/generate`` is a one-turn chat, or a raw prompt with ``raw: true``.
Ollama's ``options`` become Workers AI sampling inputs and gateway-enforced
stop sequences. Back out, pieces become Ollama messages, with tool-call
arguments as JSON objects and the durations Ollama reports (:class:`Clock`).
Model names and listings: :mod:`.ollama_models`.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field, replace
from json import dumps, loads
from typing import Any

from ..catalog import REASONING, ModelInfo
from ..errors import InvalidRequest
from ..generation import Generation
from ..media_types import image_type
from ..types.chat import CreateChatCompletionRequest
from ..types.completions import CreateCompletionRequest
from ..types.ollama import ChatRequest, GenerateRequest, Message, Options
from ..validation import validate
from . import chat, completions
from .ollama_models import iso
from .text_generation import ToolCallPiece, Usage, new_call_id


def now() -> str:
    """The current time as Ollama writes ``created_at``."""
    return iso(time.time())


# ---- requests → Generation -------------------------------------------------------------------

_SAMPLING_PARAMS = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty", "max_tokens")


def _max_tokens(options: Options) -> int | None:
    # Ollama: -1 = no limit, -2 = fill the context; neither is a number Workers AI takes.
    n = options.num_predict
    return n if n is not None and n > 0 else None


def _format(value: str | dict[str, Any] | None, messages: list[Message]) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if value == "json":
        # OpenAI's JSON mode insists the prompt mention JSON; Ollama's does not, so
        # without the word it is asked for as "any JSON object" by schema instead.
        if any("json" in (m.content or "").lower() for m in messages):
            return {"type": "json_object"}
        value = {"type": "object"}
    if isinstance(value, dict):
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": value}}
    raise InvalidRequest(f'invalid format: "{value}"; expected "json" or a JSON schema object')


def _reasoning_effort(think: bool | str | None, model: ModelInfo, name: str) -> str | None:
    if think is None or think is False:
        # ``think: false``: turn reasoning off where the model lets it be turned off.
        efforts = model.names("reasoning_effort")
        return "none" if think is False and "none" in efforts else None
    if not model.supports(REASONING):
        raise InvalidRequest(f'"{name}" does not support thinking')
    if think is True:
        return None
    if think not in ("low", "medium", "high"):
        raise InvalidRequest(f'invalid think value: "{think}" (expected true, false, "low", "medium" or "high")')
    return think


def image_url(data: str, where: str) -> str:
    """An Ollama image (bare base64) as a data URL, its media type read from the bytes."""
    if data.startswith("data:"):
        return data
    data = "".join(data.split())  # Ollama's decoder skips line breaks
    try:
        head = base64.b64decode(data, validate=True)[:12]
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"invalid image data in {where}: expected base64") from None
    return f"data:{image_type(head) or 'image/jpeg'};base64,{data}"


def openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Ollama messages as Chat Completions messages.

    Ollama's tool calls and results often carry no ids: calls get ``call_<m>_<k>``,
    and a ``tool`` message without ``tool_call_id`` answers the earliest unanswered
    call of its ``tool_name`` (else the earliest unanswered call).
    """
    out: list[dict[str, Any]] = []
    unanswered: list[tuple[str, str]] = []  # (id, function name) of the last assistant's calls
    for i, m in enumerate(messages):
        msg: dict[str, Any] = {"role": m.role, "content": m.content or ""}
        if m.images:
            msg["content"] = [{"type": "text", "text": m.content or ""}] + [
                {"type": "image_url", "image_url": {"url": image_url(img, f"messages[{i}].images[{k}]")}}
                for k, img in enumerate(m.images)
            ]
        if m.tool_calls:
            unanswered = [(c.id or f"call_{i}_{k}", c.function.name) for k, c in enumerate(m.tool_calls)]
            msg["tool_calls"] = [
                {"id": call_id, "type": "function",
                 "function": {"name": c.function.name,
                              "arguments": dumps(c.function.arguments, ensure_ascii=False)}}
                for (call_id, _), c in zip(unanswered, m.tool_calls, strict=True)
            ]
        if m.role == "tool":
            msg["tool_call_id"] = _answered(unanswered, m) or f"call_{i}"
            if m.tool_name:
                msg["name"] = m.tool_name
        out.append(msg)
    return out


def _answered(unanswered: list[tuple[str, str]], message: Message) -> str | None:
    """The id of the call a ``tool`` message answers, taken off the unanswered list."""
    for k, (call_id, name) in enumerate(unanswered):
        if call_id == message.tool_call_id or (not message.tool_call_id and name == message.tool_name):
            return unanswered.pop(k)[0]
    if message.tool_call_id:
        return message.tool_call_id
    return unanswered.pop(0)[0] if unanswered else None


def _ollama_wording(error: InvalidRequest) -> InvalidRequest:
    """An error of the OpenAI-side translator, worded for Ollama: the option's name
    (``options.temperature``, not ``temperature``) and a lower-case start, as Ollama writes."""
    message = error.message
    if error.param in _SAMPLING_PARAMS:
        option = "num_predict" if error.param == "max_tokens" else error.param
        message = message.replace(f"'{error.param}'", f"'options.{option}'")
    return InvalidRequest(message[:1].lower() + message[1:], code=error.code)


def _sampling(options: Options) -> dict[str, Any]:
    seed = options.seed if options.seed is not None and options.seed >= 0 else None
    return {
        "temperature": options.temperature, "top_p": options.top_p, "seed": seed,
        "frequency_penalty": options.frequency_penalty, "presence_penalty": options.presence_penalty,
        "max_tokens": _max_tokens(options),
    }


def _with_options(gen: Generation, options: Options) -> Generation:
    """Add what Chat Completions has no field for: ``top_k``, ``repeat_penalty``, any number of stops."""
    extra = chat.sampling(top_k=options.top_k, repetition_penalty=options.repeat_penalty)
    stops = [s for s in options.stop or () if s]
    return replace(gen, inputs={**gen.inputs, **extra}, stop=stops or gen.stop, max_tokens=_max_tokens(options))


def chat_generation(body: ChatRequest, model: ModelInfo, name: str) -> Generation:
    """The Workers AI call for ``/api/chat``, built by the Chat Completions translator."""
    options = body.options or Options()
    request: dict[str, Any] = {
        "model": model.id,
        "messages": openai_messages(body.messages),
        "tools": [{"type": "function", **tool} for tool in body.tools] if body.tools else None,
        "response_format": _format(body.format, body.messages),
        "reasoning_effort": _reasoning_effort(body.think, model, name),
        **_sampling(options),
    }
    try:
        req = validate(CreateChatCompletionRequest, {k: v for k, v in request.items() if v is not None})
        return _with_options(chat.generation(req, model), options)
    except InvalidRequest as error:
        raise _ollama_wording(error) from None


def generate_generation(body: GenerateRequest, model: ModelInfo, name: str) -> Generation:
    """``/api/generate``: the prompt as one user turn (after ``system``), or raw with ``raw: true``."""
    if body.suffix:
        raise InvalidRequest(f'"{name}" does not support insert')
    options = body.options or Options()
    if body.raw:
        if body.images or body.format:
            raise InvalidRequest("raw mode does not support images or format; send them without raw")
        fields = {k: v for k, v in _sampling(options).items() if v is not None}
        try:
            req = validate(CreateCompletionRequest, {"model": model.id, "prompt": body.prompt or "", **fields})
            gen = completions.generations(req, model)[0]
        except InvalidRequest as error:
            raise _ollama_wording(error) from None
        return _with_options(replace(gen, inputs={**gen.inputs, "raw": True}), options)
    messages = [Message(role="system", content=body.system)] if body.system else []
    messages.append(Message(role="user", content=body.prompt or "", images=body.images))
    chat_body = ChatRequest(messages=messages, format=body.format, options=options, think=body.think)
    return chat_generation(chat_body, model, name)


# ---- results → Ollama ------------------------------------------------------------------------

def done_reason(finish_reason: str | None) -> str:
    """Ollama's ``done_reason`` for an OpenAI ``finish_reason``."""
    return "length" if finish_reason == "length" else "stop"


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class ToolCalls:
    """Tool-call fragments (streamed by index) gathered into whole Ollama tool calls."""

    calls: dict[int, ToolCallPiece] = field(default_factory=dict)

    def add(self, pieces: list[ToolCallPiece]) -> None:
        """Gather streamed fragments: the first of an index opens a call, later ones extend its arguments."""
        for p in pieces:
            seen = self.calls.get(p.index)
            if seen is None:
                self.calls[p.index] = ToolCallPiece(p.index, p.id, p.name, p.arguments)
            else:
                seen.id, seen.name = seen.id or p.id, seen.name or p.name
                seen.arguments += p.arguments

    def ollama(self) -> list[dict[str, Any]]:
        """The calls, whole, in Ollama's shape (arguments as an object)."""
        return [
            {"id": c.id or new_call_id(),
             "function": {"index": i, "name": c.name or "", "arguments": _arguments(c.arguments)}}
            for i, c in enumerate(self.calls[k] for k in sorted(self.calls))
        ]


@dataclass(slots=True)
class Clock:
    """Ollama's durations, measured (nanoseconds): ``load`` is the gateway's work before
    Workers AI was called, ``prompt_eval`` the wait for the first piece, ``eval`` the rest."""

    start: int = field(default_factory=time.perf_counter_ns)
    called: int = 0
    first: int = 0

    def call(self) -> None:
        """Mark the moment Workers AI is called."""
        self.called = time.perf_counter_ns()

    def piece(self) -> None:
        """Mark the first piece's arrival (later calls change nothing)."""
        if not self.first:
            self.first = time.perf_counter_ns()

    def metrics(self, usage: Usage | None) -> dict[str, int]:
        """Ollama's duration and count fields, measured up to now."""
        end = time.perf_counter_ns()
        called = self.called or end
        first = self.first or end
        return {
            "total_duration": end - self.start,
            "load_duration": called - self.start,
            "prompt_eval_count": usage.prompt_tokens if usage else 0,
            "prompt_eval_duration": first - called,
            "eval_count": usage.completion_tokens if usage else 0,
            "eval_duration": end - first,
        }
