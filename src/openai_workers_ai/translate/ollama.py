"""Ollama's ``/api/chat`` and ``/api/generate`` requests → the neutral spec (pure).

Both become the same :class:`~..workers_ai.spec.ChatSpec` the OpenAI side builds,
so tools, JSON mode, images and reasoning behave exactly as on ``/v1``:
``/api/generate`` is a one-turn chat, or a raw prompt with ``raw: true``.
Ollama's ``options`` become sampling inputs and gateway-enforced stop sequences
(any number of them). Ollama's tool calls and results often carry no ids: calls
get ``call_<m>_<k>``, and a ``tool`` message without ``tool_call_id`` answers the
earliest unanswered call of its ``tool_name`` (else the earliest unanswered call).
Answers back out: :mod:`.ollama_replies`; model names: :mod:`.ollama_models`.
"""

from __future__ import annotations

import base64
import binascii
from json import dumps
from typing import Any

from ..catalog import REASONING, ModelInfo
from ..errors import InvalidRequest
from ..media_types import image_type
from ..types.common import MAX_IMAGES
from ..types.ollama import ChatRequest, GenerateRequest, Message, Options, ThinkLevel
from ..workers_ai import spec
from . import ollama_context


def chat_spec(body: ChatRequest, model: ModelInfo, name: str, options: Options) -> spec.ChatSpec:
    """The spec for ``/api/chat``, with its ``options`` read (:func:`..validation.ollama_options`)."""
    return spec.ChatSpec(
        model=model,
        messages=messages(body.messages),
        tools=tuple(
            spec.Tool(t.function.name, t.function.description, t.function.parameters, t.function.strict)
            for t in body.tools or ()
        ),
        output_format=_format(body.format, body.messages),
        sampling=_sampling(options),
        reasoning_effort=reasoning_effort(body.think, model, name),
        stop=tuple(s for s in options.stop or () if s),
    )


def generate_spec(
    body: GenerateRequest, model: ModelInfo, name: str, options: Options
) -> tuple[spec.ChatSpec, tuple[ollama_context.Turn, ...] | None]:
    """``/api/generate``: the ``context``'s turns, ``system`` and the prompt (with the images) as chat turns
    (:func:`.ollama_context.continued`), and those turns, the answer's ``context`` to be made of them; or
    the raw prompt with ``raw: true``, and no turns (Ollama gives a raw answer no ``context``)."""
    if body.suffix:
        raise InvalidRequest(f'"{name}" does not support insert')
    if body.raw:
        if body.template or body.system or body.context:  # Ollama's GenerateHandler, in its words
            raise InvalidRequest("raw mode does not support template, system, or context")
        if body.images or body.format:
            raise InvalidRequest("raw mode does not support images or format; send them without raw")
        raw = spec.ChatSpec(model=model, prompt=body.prompt or "", raw=True, sampling=_sampling(options),
                            stop=tuple(s for s in options.stop or () if s))
        return raw, None
    conversation = ollama_context.continued(ollama_context.decode(body.context or ()), body.system, body.prompt or "")
    turns = [Message(role=role, content=text) for role, text in conversation[:-1]]
    turns.append(Message(role="user", content=body.prompt or "", images=body.images))
    request = ChatRequest(messages=turns, format=body.format, think=body.think)
    return chat_spec(request, model, name, options), conversation


def reworded(error: InvalidRequest) -> InvalidRequest:
    """A 400 of the shared pipeline, worded as Ollama words errors (a lower-case start, no param)."""
    message = error.message
    return InvalidRequest(message[:1].lower() + message[1:], code=error.code)


def unloads(keep_alive: float | None) -> bool:
    """``keep_alive`` of zero (``0``, ``0.5``, ``"0s"``, ``"0m"`` …) with no prompt is Ollama's unload request."""
    return keep_alive == 0


_TEMPERATURE_MAX, _TOP_P_MIN, _TOP_K_MAX, _REPEAT_PENALTY_MAX = 5.0, 0.001, 50, 2.0
"""The bounds of Workers AI's text-generation input schemas (developers.cloudflare.com/workers-ai/models/
llama-3-8b-instruct/, qwen3-30b-a3b-fp8/ …: temperature 0-5, top_p 0.001-1, top_k 1-50, repetition_penalty
0-2), which Ollama's options have none of (plain numbers in api/types.go): a value past them is held to them,
as Ollama would have run it, not Workers AI's 400. (Seeds are folded into its range by ``families.sampling``.)"""


def _sampling(options: Options) -> spec.Sampling:
    # Ollama: a negative seed means random; num_predict -1 = no limit, -2 = fill the context. As its sampler
    # (sample/samplers.go NewSampler, transforms.go topK) reads the rest: a temperature below 0 is 0 (greedy),
    # top_p is held to 0-1 (1 and above: no nucleus cut), a top_k of 0 or below is no top-k cut at all.
    temperature, top_p, top_k, repeat = options.temperature, options.top_p, options.top_k, options.repeat_penalty
    return spec.Sampling(
        max_tokens=options.num_predict if options.num_predict is not None and options.num_predict > 0 else None,
        temperature=None if temperature is None else min(max(temperature, 0.0), _TEMPERATURE_MAX),
        top_p=None if top_p is None else min(max(top_p, _TOP_P_MIN), 1.0),
        top_k=min(top_k, _TOP_K_MAX) if top_k is not None and top_k > 0 else None,
        seed=options.seed if options.seed is not None and options.seed >= 0 else None,
        frequency_penalty=options.frequency_penalty,
        presence_penalty=options.presence_penalty,
        repetition_penalty=None if repeat is None else min(max(repeat, 0.0), _REPEAT_PENALTY_MAX),
    )


def _format(value: str | dict[str, Any] | None, turns: list[Message]) -> spec.OutputFormat | None:
    if value is None or value == "":
        return None
    if value == "json":
        # OpenAI's JSON mode insists the prompt mention JSON; Ollama's does not, so
        # without the word it is asked for as "any JSON object" by schema instead.
        if any("json" in (m.content or "").lower() for m in turns):
            return spec.OutputFormat("json_object")
        value = {"type": "object"}
    if isinstance(value, dict):
        return spec.OutputFormat("json_schema", value, name="response")
    raise InvalidRequest(f'invalid format: "{value}"; expected "json" or a JSON schema object')


def reasoning_effort(think: bool | ThinkLevel | None, model: ModelInfo, name: str) -> str | None:
    """The reasoning effort ``think`` asks of ``model``; Ollama's 400 when it asks a model that does not reason to."""
    if think is None or think is False:
        # ``think: false``: turn reasoning off where the model lets it be turned off.
        return "none" if think is False and "none" in model.names("reasoning_effort") else None
    if not model.supports(REASONING):
        raise InvalidRequest(f'"{name}" does not support thinking')
    return None if think is True else think  # a level: Ollama's request type has taken no other string


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


def messages(turns: list[Message]) -> tuple[spec.Message, ...]:
    """Ollama messages as neutral messages, tool calls given ids and tool results matched to them. Their
    images are counted before any is decoded."""
    count = sum(len(m.images) for m in turns if m.images)
    if count > MAX_IMAGES:
        raise InvalidRequest(f"too many images: at most {MAX_IMAGES} may be sent in one request, got {count}.",
                             code="too_many_images")
    out: list[spec.Message] = []
    unanswered: list[tuple[str, str]] = []  # (id, function name) of the last assistant's calls
    for i, m in enumerate(turns):
        if m.role not in spec.ROLES:
            # Ollama takes any role and leaves it to the model's template: the templates of the models Workers
            # AI hosts (Llama 3.1 and later, Mistral, Gemma, Qwen) render only system, user, assistant and
            # tool turns, and skip the others.
            continue
        where = f"messages[{i}]"
        content: str | tuple[spec.Part, ...] = m.content or ""
        if m.images:
            images = [(f"{where}.images[{k}]", img) for k, img in enumerate(m.images)]
            content = (m.content or "", *(spec.ImagePart(image_url(img, w), w, w) for w, img in images))
        calls: tuple[spec.ToolCall, ...] = ()
        if m.tool_calls:
            unanswered = [(c.id or f"call_{i}_{k}", c.function.name) for k, c in enumerate(m.tool_calls)]
            calls = tuple(
                spec.ToolCall(call_id, c.function.name, dumps(c.function.arguments, ensure_ascii=False))
                for (call_id, _), c in zip(unanswered, m.tool_calls, strict=True)
            )
        role = spec.ROLES[m.role]
        answered = (_answered(unanswered, m) or f"call_{i}") if role == "tool" else None
        out.append(spec.Message(role, content, calls, answered, m.tool_name if role == "tool" else None, where))
    if not out:  # Ollama would prompt the model with nothing; Workers AI takes no empty conversation
        raise InvalidRequest("no message has a role Workers AI takes (system, user, assistant or tool)")
    return tuple(out)


def _answered(unanswered: list[tuple[str, str]], message: Message) -> str | None:
    """The id of the call a ``tool`` message answers, taken off the unanswered list."""
    for k, (call_id, name) in enumerate(unanswered):
        if call_id == message.tool_call_id or (not message.tool_call_id and name == message.tool_name):
            return unanswered.pop(k)[0]
    if message.tool_call_id:
        return message.tool_call_id
    return unanswered.pop(0)[0] if unanswered else None
