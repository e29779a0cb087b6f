"""Chat completions ⇄ Workers AI text generation (pure)."""

from __future__ import annotations

from json import dumps, loads
from json.encoder import encode_basestring
from typing import Any

from ..catalog import VISION, ModelInfo
from ..errors import InvalidRequest
from ..generation import Generation, Result
from ..types.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    Choice,
    CreateChatCompletionRequest,
    FunctionCall,
    ImagePart,
    Message,
    TextPart,
    ToolCall,
)
from ..types.common import CompletionUsage, Sampling
from .chat_options import check_outputs, format_inputs, native, openai_tools, reasoning_inputs, tool_inputs
from .text_generation import ToolCallPiece, Usage, new_call_id, text_tool_calls

# OpenAI's roles → the roles Workers AI chat templates know.
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
         "tool": "tool", "function": "tool"}


SEED_MAX = 9_999_999_999


def sampling(
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    seed: int | None = None,
    frequency_penalty: float | None = None,
    presence_penalty: float | None = None,
    repetition_penalty: float | None = None,
) -> dict[str, Any]:
    """Workers AI sampling inputs; unset values are left to the model's defaults."""
    values = {
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "top_k": top_k,
        # Workers AI takes seeds in 1..9999999999; OpenAI any integer (0 is common): fold the rest in.
        "seed": None if seed is None else (seed - 1) % SEED_MAX + 1,
        "frequency_penalty": frequency_penalty,
        "presence_penalty": presence_penalty,
        "repetition_penalty": repetition_penalty,
    }
    return {k: v for k, v in values.items() if v is not None}


def openai_sampling(req: Sampling, max_tokens: int | None) -> dict[str, Any]:
    """The sampling inputs of an OpenAI request (chat completions and completions share the fields)."""
    return sampling(
        max_tokens=max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        seed=req.seed,
        frequency_penalty=req.frequency_penalty,
        presence_penalty=req.presence_penalty,
    )


def _content(message: Message, index: int, model: ModelInfo) -> str | list[dict[str, Any]]:
    """The message content for Workers AI: text, or text and image parts for vision models."""
    if not isinstance(message.content, list):
        return message.text()
    parts: list[dict[str, Any]] = []
    for part_index, part in enumerate(message.content):
        if isinstance(part, ImagePart):
            if not model.supports(VISION):
                raise InvalidRequest(
                    f"The model `{model.id}` does not accept images; use a vision model such as "
                    "@cf/meta/llama-4-scout-17b-16e-instruct.",
                    param=f"messages[{index}].content[{part_index}]",
                    code="image_not_supported",
                )
            if not part.image_url.url.startswith("data:"):
                # Routes inline URLs first (image_urls.inline); Workers AI takes data: URLs only.
                raise InvalidRequest(
                    "Image URLs must be data: URLs here.",
                    param=f"messages[{index}].content[{part_index}].image_url.url",
                    code="invalid_image_url",
                )
            parts.append({"type": "image_url", "image_url": {"url": part.image_url.url}})
        elif isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif part.type != "refusal":
            raise InvalidRequest(
                f"Content parts of type '{part.type}' are not supported.",
                param=f"messages[{index}].content[{part_index}].type",
            )
    if any(p["type"] == "image_url" for p in parts):
        return parts
    return message.text()


def message_to_workers_ai(message: Message, index: int, model: ModelInfo) -> dict[str, Any]:
    """One OpenAI message in the form the model's family takes.

    Chat Completions models get ``tool_calls`` / ``tool_call_id`` as fields. Classic
    models' schemas only have ``role`` and ``content``: an assistant's tool calls are
    written into its content as the JSON the model itself emits, and tool results
    are ``tool`` messages (with ``tool_call_id`` where the schema has it).
    """
    content = _content(message, index, model)
    out: dict[str, Any] = {"role": ROLES[message.role], "content": content}
    if message.tool_calls:
        if native(model):
            out["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.function.name, "arguments": c.function.arguments}}
                for c in message.tool_calls
            ]
        else:
            calls = dumps([{"name": c.function.name, "arguments": _loads(c.function.arguments)}
                                for c in message.tool_calls], ensure_ascii=False)
            text = content if isinstance(content, str) else message.text()
            out["content"] = f"{text}\n{calls}" if text else calls
    if message.tool_call_id and (native(model) or model.extra.get("tool_call_format") == "openai"):
        out["tool_call_id"] = message.tool_call_id
    if message.role in ("tool", "function") and message.name:
        out["name"] = message.name
    return out


def _loads(arguments: str) -> Any:
    try:
        return loads(arguments)
    except ValueError:
        return arguments


MAX_N = 4
"""Most choices per request: each choice is one concurrent Workers AI call."""


def generation(req: CreateChatCompletionRequest, model: ModelInfo) -> Generation:
    """The Workers AI call for a chat completion request (its first choice)."""
    return generations(req, model)[0]


def generations(req: CreateChatCompletionRequest, model: ModelInfo) -> list[Generation]:
    """One Workers AI call per choice (``n``); with a ``seed``, choice ``i`` uses ``seed + i``."""
    n = req.n or 1
    if n > MAX_N:
        raise InvalidRequest(
            f"Invalid value for 'n': at most {MAX_N} choices are supported (each is one Workers AI call).",
            param="n",
        )
    check_outputs(req)
    messages = [message_to_workers_ai(m, i, model) for i, m in enumerate(req.messages)]
    response_format, streams = format_inputs(req, model)
    tools = tool_inputs(req, model)
    if tools and model.family == "messages" and not openai_tools(model):
        # Classic models may stream a tool call as plain text; run them whole and replay the
        # answer, so calls always come back structured (as Cloudflare's own AI SDK provider does).
        streams = False
    inputs: dict[str, Any] = {
        "messages": messages,
        **openai_sampling(req, req.token_limit),
        **tools,
        **response_format,
        **reasoning_inputs(req, model),
    }
    prompt = "\n".join(m.text() for m in req.messages)
    return [
        Generation(
            model=model,
            inputs=inputs if i == 0 or req.seed is None else {**inputs, "seed": req.seed + i},
            stop=req.stop_sequences,
            max_tokens=req.token_limit,
            prompt_text=prompt,
            streams=streams,
        )
        for i in range(n)
    ]


def call_id(upstream: str | None) -> str:
    """OpenAI-style ``call_…`` id for a tool call (upstream ids are kept inside it)."""
    if not upstream:
        return new_call_id()
    return upstream if upstream.startswith("call_") else "call_" + upstream


def recover_calls(
    req: CreateChatCompletionRequest, model: ModelInfo, text: str, calls: list[ToolCallPiece]
) -> tuple[str, list[ToolCallPiece]]:
    """A classic model that wrote its tool call as text gets it back as a tool call.

    (Classic models with tools are run whole, so ``text`` is the whole answer here.)
    """
    if calls or not text or not req.tools or req.tool_choice == "none":
        return text, calls
    if model.family != "messages" or openai_tools(model):
        return text, calls
    found = text_tool_calls(text, {t.function.name for t in req.tools})
    return ("", found) if found else (text, calls)


def settle_calls(
    req: CreateChatCompletionRequest, model: ModelInfo, text: str, calls: list[ToolCallPiece]
) -> tuple[str, list[ToolCallPiece]]:
    """What the gateway does to a choice's (or a streamed piece's) tool calls: recover calls
    written as text, and keep only the first when ``parallel_tool_calls`` is false."""
    text, calls = recover_calls(req, model, text, calls)
    return text, first_call_only(calls, req.parallel_tool_calls)


def first_call_only(calls: list[ToolCallPiece], parallel: bool | None) -> list[ToolCallPiece]:
    """``parallel_tool_calls: false`` enforced by the gateway: only the first call survives."""
    if parallel is not False or not calls:
        return calls
    return [c for c in calls if c.index == 0]


def tool_calls(pieces: list[ToolCallPiece]) -> list[ToolCall] | None:
    """The ``tool_calls`` of a chat message (None when there are none)."""
    if not pieces:
        return None
    return [
        ToolCall(id=call_id(p.id), function=FunctionCall(name=p.name or "", arguments=p.arguments or "{}"))
        for p in pieces
    ]


def message(result: Result) -> ChatCompletionMessage:
    """The assistant ``message`` of a chat completion choice."""
    calls = tool_calls(result.tool_calls)
    return ChatCompletionMessage(
        content=result.text if (result.text or not calls) else None,
        tool_calls=calls,
        reasoning_content=result.reasoning or None,
    )


def completion(completion_id: str, created: int, model: ModelInfo, result: Result | list[Result]) -> ChatCompletion:
    """The ``chat.completion`` for one result per choice. Prompt tokens are counted once, as OpenAI does."""
    results = result if isinstance(result, list) else [result]
    choices = [
        Choice(index=i, message=message(r), finish_reason=r.finish_reason)
        for i, r in enumerate(results)
    ]
    total = Usage(results[0].usage.prompt_tokens, sum(r.usage.completion_tokens for r in results))
    return ChatCompletion(id=completion_id, created=created, model=model.id, choices=choices, usage=usage_of(total))


def usage(result: Result) -> CompletionUsage:
    """The completion's ``usage``."""
    return usage_of(result.usage)


def usage_of(u: Usage) -> CompletionUsage:
    """OpenAI's ``usage`` object for token counts."""
    return CompletionUsage(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.prompt_tokens + u.completion_tokens,
    )


class ChunkWriter:
    """Encodes ``chat.completion.chunk`` SSE frames for one response."""

    __slots__ = ("head", "include_usage", "seen_calls", "_text_frame")

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self.head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self.include_usage = include_usage
        self.seen_calls: set[tuple[int, int]] = set()
        # The hot path (a content-only delta of choice 0) is a template around the text:
        # encoding one string instead of the whole chunk keeps a frame at ~1 µs.
        marker = "\x00"
        template = self.frame([_choice(0, {"content": marker})]).decode()
        prefix, _, suffix = template.partition(dumps(marker))
        self._text_frame = (prefix.encode(), suffix.encode())

    def frame(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
        """One chunk holding ``choices`` (and ``usage`` when the client asked for it)."""
        chunk: dict[str, Any] = {**self.head, "choices": choices}
        if self.include_usage:
            chunk["usage"] = usage
        # "replace": a lone surrogate (an upstream \\ud83d escape cut from its pair) must not crash the stream.
        return b"data: " + dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace") + b"\n\n"

    def role(self, index: int = 0) -> bytes:
        """The opening delta of a choice: role ``assistant``, empty content."""
        return self.frame([_choice(index, {"role": "assistant", "content": "", "refusal": None})])

    def delta(self, text: str, reasoning: str, calls: list[ToolCallPiece], index: int = 0) -> bytes:
        """A content / reasoning / tool-call delta of choice ``index``."""
        if index == 0 and text and not reasoning and not calls:
            prefix, suffix = self._text_frame
            return prefix + encode_basestring(text).encode("utf-8", "replace") + suffix
        delta: dict[str, Any] = {}
        if reasoning:
            delta["reasoning_content"] = reasoning
        if text:
            delta["content"] = text
        if calls:
            delta["tool_calls"] = [self._call(c, index) for c in calls]
        return self.frame([_choice(index, delta)])

    def _call(self, piece: ToolCallPiece, choice: int = 0) -> dict[str, Any]:
        # The first delta of a call carries its id, type and name; later ones only arguments.
        if (choice, piece.index) in self.seen_calls:
            return {"index": piece.index, "function": {"arguments": piece.arguments}}
        self.seen_calls.add((choice, piece.index))
        return {
            "index": piece.index,
            "id": call_id(piece.id),
            "type": "function",
            "function": {"name": piece.name or "", "arguments": piece.arguments},
        }

    def finish(self, finish_reason: str, index: int = 0) -> bytes:
        """The choice's last chunk: an empty delta with its ``finish_reason``."""
        return self.frame([_choice(index, {}, finish_reason)])

    def usage(self, result_usage: CompletionUsage) -> bytes:
        """The usage chunk (``stream_options.include_usage``): no choices."""
        return self.frame([], result_usage.model_dump())


def _choice(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
