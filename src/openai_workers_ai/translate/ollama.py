"""Ollama ⇄ the gateway's internal forms (pure).

Ollama requests become the same :class:`~openai_workers_ai.generation.Generation`
the OpenAI side builds: ``/api/chat`` is converted into a Chat Completions
request and run through :func:`openai_workers_ai.translate.chat.generation`
(so tools, JSON mode, images and reasoning behave exactly as on ``/v1``);
``/api/generate`` is a one-turn chat, or a raw prompt with ``raw: true``.
Ollama's ``options`` become Workers AI sampling inputs and gateway-enforced
stop sequences. Back out, pieces become Ollama messages, with tool-call
arguments as JSON objects and the durations Ollama reports.

Model names (:func:`resolve`): a configured or built-in alias, a Workers AI id,
a short id (``llama-3.1-8b-instruct``, optionally ``:latest``), or an Ollama
library name (``llama3.1:8b``, table :data:`OLLAMA_NAMES`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidRequest, ModelNotFound
from ..generation import Generation
from ..http import validate
from ..types.chat import CreateChatCompletionRequest
from ..types.completions import CreateCompletionRequest
from ..types.ollama import ChatRequest, GenerateRequest, Message, Options
from . import chat, completions
from .catalog import REASONING, TOOLS, VISION, Catalog, ModelInfo, short_name
from .text_generation import ToolCallPiece, Usage, new_call_id

# Ollama library names → Workers AI ids, where the same model (or its closest hosted build) exists.
OLLAMA_NAMES: dict[str, str] = {
    "llama2:7b": "@cf/meta/llama-2-7b-chat-fp16",
    "llama3:8b": "@cf/meta/llama-3-8b-instruct",
    "llama3.1:8b": "@cf/meta/llama-3.1-8b-instruct",
    "llama3.1:70b": "@cf/meta/llama-3.1-70b-instruct",
    "llama3.2:1b": "@cf/meta/llama-3.2-1b-instruct",
    "llama3.2:3b": "@cf/meta/llama-3.2-3b-instruct",
    "llama3.2-vision:11b": "@cf/meta/llama-3.2-11b-vision-instruct",
    "llama3.3:70b": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "llama4:scout": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "llama-guard3:8b": "@cf/meta/llama-guard-3-8b",
    "gemma3:12b": "@cf/google/gemma-3-12b-it",
    "mistral:7b": "@cf/mistral/mistral-7b-instruct-v0.1",
    "mistral-small3.1:24b": "@cf/mistralai/mistral-small-3.1-24b-instruct",
    "qwq:32b": "@cf/qwen/qwq-32b",
    "qwen2.5-coder:32b": "@cf/qwen/qwen2.5-coder-32b-instruct",
    "qwen3:30b": "@cf/qwen/qwen3-30b-a3b-fp8",
    "deepseek-r1:32b": "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
    "gpt-oss:20b": "@cf/openai/gpt-oss-20b",
    "gpt-oss:120b": "@cf/openai/gpt-oss-120b",
    "granite4:micro-h": "@cf/ibm-granite/granite-4.0-h-micro",
    "embeddinggemma:300m": "@cf/google/embeddinggemma-300m",
    "bge-large:335m": "@cf/baai/bge-large-en-v1.5",
    "qwen3-embedding:0.6b": "@cf/qwen/qwen3-embedding-0.6b",
}
# A bare library name means its default tag (Ollama's ``:latest``).
OLLAMA_DEFAULT_TAGS = {
    "llama2": "llama2:7b", "llama3": "llama3:8b", "llama3.1": "llama3.1:8b", "llama3.2": "llama3.2:3b",
    "llama3.2-vision": "llama3.2-vision:11b", "llama3.3": "llama3.3:70b", "llama4": "llama4:scout",
    "llama-guard3": "llama-guard3:8b", "gemma3": "gemma3:12b", "mistral": "mistral:7b",
    "mistral-small3.1": "mistral-small3.1:24b", "qwq": "qwq:32b", "qwen2.5-coder": "qwen2.5-coder:32b",
    "qwen3": "qwen3:30b", "deepseek-r1": "deepseek-r1:32b", "gpt-oss": "gpt-oss:20b",
    "embeddinggemma": "embeddinggemma:300m", "qwen3-embedding": "qwen3-embedding:0.6b",
}

# What each Ollama endpoint needs, and how Ollama words a model that can't do it.
ACTIONS = {"text-generation": "chat", "text-embeddings": "embeddings"}


def resolve(catalog: Catalog, name: str | None, task: str | None = None, action: str = "") -> ModelInfo:
    """The model an Ollama request names; 404 ``model 'x' not found`` if none matches,
    400 ``"x" does not support <action>`` if it is a model for another task."""
    info = _lookup(catalog, name)
    if task is not None and info.task != task:
        raise InvalidRequest(f'"{name}" does not support {action or ACTIONS.get(task, task)}')
    return info


def _lookup(catalog: Catalog, name: str | None) -> ModelInfo:
    if not name:
        return catalog.resolve(name)
    base, _, tag = name.partition(":")
    # Workers AI ids carry no tag: "@cf/…:latest" must not pass for an uncatalogued id.
    info = _known(catalog, name, guess=not (tag and name.startswith(("@cf/", "@hf/"))))
    if info is not None:
        return info
    lowered, untagged = name.lower(), tag.lower() in ("", "latest")
    library = OLLAMA_NAMES.get(lowered) or (
        OLLAMA_NAMES.get(OLLAMA_DEFAULT_TAGS.get(base.lower(), "")) if untagged else None
    )
    candidates = [library] if library else []
    candidates += [base] if untagged else [f"{base}-{tag}"]
    for candidate in candidates:
        info = catalog.by_short_name(candidate) or _known(catalog, candidate, guess=True)
        if info is not None:
            return info
    raise ModelNotFound(name)


def _known(catalog: Catalog, name: str, *, guess: bool) -> ModelInfo | None:
    """What :meth:`Catalog.resolve` makes of ``name`` (an alias or id), or None."""
    try:
        info = catalog.resolve(name)
    except ModelNotFound:
        return None
    return info if guess or info.id in catalog.models else None


# ---- model listing (/api/tags, /api/show, /api/ps) --------------------------------------------

_SIZE = re.compile(r"(?:^|-)(\d+(?:\.\d+)?)([bm])(?=-|$)", re.IGNORECASE)
_QUANT = re.compile(r"(?:^|-)(fp8|fp16|bf16|int8|awq)(?=-|$)", re.IGNORECASE)


def listed_name(info: ModelInfo) -> str:
    """How ``/api/tags`` names a model: its short id with Ollama's default tag."""
    return f"{short_name(info.id)}:latest"


def digest(model_id: str) -> str:
    """A stable identifier: SHA-256 of the Workers AI model id (not of any weights)."""
    return hashlib.sha256(model_id.encode()).hexdigest()


def model_family(info: ModelInfo) -> str | None:
    short = short_name(info.id).lower()
    if short.startswith("gpt-oss"):
        return "gpt-oss"
    match = re.match(r"[a-z]+", short)
    return match.group(0) if match else None


def details(info: ModelInfo) -> dict[str, Any]:
    """Ollama's ``details``: what the model's name states; null where it states nothing."""
    short = short_name(info.id)
    family = model_family(info)
    size = _SIZE.search(short)
    quant = _QUANT.search(short)
    return {
        "parent_model": "",
        "format": None,
        "family": family,
        "families": [family] if family else None,
        "parameter_size": f"{size.group(1)}{size.group(2).upper()}" if size else None,
        "quantization_level": quant.group(1).upper() if quant else None,
    }


def capabilities(info: ModelInfo) -> list[str]:
    """Ollama's capability names for a model."""
    if info.task == "text-embeddings":
        return ["embedding"]
    caps = ["completion"]
    caps += ["tools"] if info.supports(TOOLS) else []
    caps += ["vision"] if info.supports(VISION) else []
    caps += ["thinking"] if info.supports(REASONING) else []
    return caps


def model_info(info: ModelInfo) -> dict[str, Any]:
    """Ollama's ``model_info`` keys, only for facts the catalog has."""
    arch = model_family(info) or "unknown"
    out: dict[str, Any] = {"general.architecture": arch, "general.basename": short_name(info.id)}
    if info.context_window:
        out[f"{arch}.context_length"] = info.context_window
    if info.dimensions:
        out[f"{arch}.embedding_length"] = info.dimensions
    return out


def iso(ts: float) -> str:
    """RFC 3339 with microseconds, as Ollama writes times."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
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
        return {"type": "json_schema", "json_schema": {"name": "response", "schema": value, "strict": True}}
    raise InvalidRequest(f'invalid format: "{value}"; expected "json" or a JSON schema object')


def _reasoning_effort(think: bool | str | None, model: ModelInfo, name: str) -> str | None:
    if think is None or think is False:
        # ``think: false``: turn reasoning off where the model lets it be turned off.
        efforts = model.extra.get("reasoning_effort") or ()
        return "none" if think is False and "none" in efforts else None  # type: ignore[operator]
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
    media = "image/png" if head.startswith(b"\x89PNG") else (
        "image/gif" if head.startswith(b"GIF8") else (
            "image/webp" if head[8:12] == b"WEBP" else "image/jpeg"))
    return f"data:{media};base64,{data}"


def openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Ollama messages as Chat Completions messages. Tool calls get ids when Ollama sent
    none, and each ``tool`` message answers the next unanswered call before it."""
    out: list[dict[str, Any]] = []
    unanswered: list[str] = []
    for i, m in enumerate(messages):
        msg: dict[str, Any] = {"role": m.role, "content": m.content or ""}
        if m.images:
            msg["content"] = [{"type": "text", "text": m.content or ""}] + [
                {"type": "image_url", "image_url": {"url": image_url(img, f"messages[{i}].images[{k}]")}}
                for k, img in enumerate(m.images)
            ]
        if m.tool_calls:
            ids = [c.id or f"call_{i}_{k}" for k, c in enumerate(m.tool_calls)]
            msg["tool_calls"] = [
                {"id": call_id, "type": "function",
                 "function": {"name": c.function.name, "arguments": json.dumps(c.function.arguments, ensure_ascii=False)}}
                for call_id, c in zip(ids, m.tool_calls, strict=True)
            ]
            unanswered = ids
        if m.role == "tool":
            msg["tool_call_id"] = m.tool_call_id or (unanswered.pop(0) if unanswered else f"call_{i}")
            if m.tool_name:
                msg["name"] = m.tool_name
        out.append(msg)
    return out


def _openai_request(body: dict[str, Any]) -> CreateChatCompletionRequest:
    try:
        return validate(CreateChatCompletionRequest, body)
    except InvalidRequest as error:
        if error.param in _SAMPLING_PARAMS:  # name the Ollama option, not the OpenAI field
            option = "num_predict" if error.param == "max_tokens" else error.param
            raise InvalidRequest(error.message.replace(f"'{error.param}'", f"'options.{option}'")) from None
        raise


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
        "tools": body.tools or None,
        "response_format": _format(body.format, body.messages),
        "reasoning_effort": _reasoning_effort(body.think, model, name),
        **_sampling(options),
    }
    req = _openai_request({k: v for k, v in request.items() if v is not None})
    return _with_options(chat.generation(req, model), options)


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
        except InvalidRequest as error:
            raise InvalidRequest(error.message.replace("'max_tokens'", "'options.num_predict'")) from None
        gen = completions.generations(req, model)[0]
        return _with_options(replace(gen, inputs={**gen.inputs, "raw": True}), options)
    messages = [Message(role="system", content=body.system)] if body.system else []
    messages.append(Message(role="user", content=body.prompt or "", images=body.images))
    chat_body = ChatRequest(messages=messages, format=body.format, options=options, think=body.think)
    return chat_generation(chat_body, model, name)


# ---- results → Ollama ------------------------------------------------------------------------

def done_reason(finish_reason: str | None) -> str:
    return "length" if finish_reason == "length" else "stop"


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class ToolCalls:
    """Tool-call fragments (streamed by index) gathered into whole Ollama tool calls."""

    calls: dict[int, ToolCallPiece] = field(default_factory=dict)

    def add(self, pieces: list[ToolCallPiece]) -> None:
        for p in pieces:
            seen = self.calls.get(p.index)
            if seen is None:
                self.calls[p.index] = ToolCallPiece(p.index, p.id, p.name, p.arguments)
            else:
                seen.id, seen.name = seen.id or p.id, seen.name or p.name
                seen.arguments += p.arguments

    def ollama(self) -> list[dict[str, Any]]:
        return [
            {"id": c.id or new_call_id(), "function": {"index": i, "name": c.name or "", "arguments": _arguments(c.arguments)}}
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
        self.called = time.perf_counter_ns()

    def piece(self) -> None:
        if not self.first:
            self.first = time.perf_counter_ns()

    def metrics(self, usage: Usage | None) -> dict[str, int]:
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
