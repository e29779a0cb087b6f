"""Chat completions ⇄ Workers AI text generation (pure)."""

from __future__ import annotations

import json
from typing import Any

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
from ..types.common import CompletionUsage
from .catalog import VISION, ModelInfo
from .text_generation import ToolCallPiece, Usage, new_call_id

# OpenAI's roles → the roles Workers AI chat templates know.
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
         "tool": "tool", "function": "tool"}


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
        "seed": seed,
        "frequency_penalty": frequency_penalty,
        "presence_penalty": presence_penalty,
        "repetition_penalty": repetition_penalty,
    }
    return {k: v for k, v in values.items() if v is not None}


def _content(message: Message, index: int, model: ModelInfo) -> str:
    if isinstance(message.content, list):
        for part_index, part in enumerate(message.content):
            if isinstance(part, ImagePart) and not model.supports(VISION):
                raise InvalidRequest(
                    f"The model `{model.id}` does not accept images; use a vision model.",
                    param=f"messages[{index}].content[{part_index}]",
                    code="image_not_supported",
                )
            if not isinstance(part, (TextPart, ImagePart)) and part.type != "refusal":
                raise InvalidRequest(
                    f"Content parts of type '{part.type}' are not supported.",
                    param=f"messages[{index}].content[{part_index}].type",
                )
    return message.text()


def message_to_workers_ai(message: Message, index: int, model: ModelInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"role": ROLES[message.role], "content": _content(message, index, model)}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.role in ("tool", "function") and message.name:
        out["name"] = message.name
    return out


def generation(req: CreateChatCompletionRequest, model: ModelInfo) -> Generation:
    """The Workers AI call for a chat completion request."""
    if req.n not in (None, 1):
        raise InvalidRequest("Only n=1 is supported.", param="n")
    messages = [message_to_workers_ai(m, i, model) for i, m in enumerate(req.messages)]
    inputs: dict[str, Any] = {
        "messages": messages,
        **sampling(
            max_tokens=req.token_limit,
            temperature=req.temperature,
            top_p=req.top_p,
            seed=req.seed,
            frequency_penalty=req.frequency_penalty,
            presence_penalty=req.presence_penalty,
        ),
    }
    return Generation(
        model=model,
        inputs=inputs,
        stop=req.stop_sequences,
        max_tokens=req.token_limit,
        prompt_text="\n".join(m["content"] for m in messages),
    )


def tool_calls(pieces: list[ToolCallPiece]) -> list[ToolCall] | None:
    if not pieces:
        return None
    return [
        ToolCall(id=p.id or new_call_id(), function=FunctionCall(name=p.name or "", arguments=p.arguments or "{}"))
        for p in pieces
    ]


def completion(completion_id: str, created: int, model: ModelInfo, result: Result) -> ChatCompletion:
    calls = tool_calls(result.tool_calls)
    message = ChatCompletionMessage(
        content=result.text if (result.text or not calls) else None,
        tool_calls=calls,
        reasoning_content=result.reasoning or None,
    )
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=model.id,
        choices=[Choice(index=0, message=message, finish_reason=result.finish_reason)],  # type: ignore[arg-type]
        usage=usage(result),
    )


def usage(result: Result) -> CompletionUsage:
    return usage_of(result.usage)


def usage_of(u: Usage) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        total_tokens=u.prompt_tokens + u.completion_tokens,
    )


class ChunkWriter:
    """Encodes ``chat.completion.chunk`` SSE frames for one response."""

    __slots__ = ("head", "include_usage", "seen_calls")

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self.head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        self.include_usage = include_usage
        self.seen_calls: set[int] = set()

    def frame(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
        chunk: dict[str, Any] = {**self.head, "choices": choices}
        if self.include_usage:
            chunk["usage"] = usage
        return b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"

    def role(self, index: int = 0) -> bytes:
        return self.frame([_choice(index, {"role": "assistant", "content": "", "refusal": None})])

    def delta(self, text: str, reasoning: str, calls: list[ToolCallPiece], index: int = 0) -> bytes:
        delta: dict[str, Any] = {}
        if reasoning:
            delta["reasoning_content"] = reasoning
        if text:
            delta["content"] = text
        if calls:
            delta["tool_calls"] = [self._call(c) for c in calls]
        return self.frame([_choice(index, delta)])

    def _call(self, piece: ToolCallPiece) -> dict[str, Any]:
        if piece.index in self.seen_calls:
            return {"index": piece.index, "function": {"arguments": piece.arguments}}
        self.seen_calls.add(piece.index)
        return {
            "index": piece.index,
            "id": piece.id or new_call_id(),
            "type": "function",
            "function": {"name": piece.name or "", "arguments": piece.arguments},
        }

    def finish(self, finish_reason: str, index: int = 0) -> bytes:
        return self.frame([_choice(index, {}, finish_reason)])

    def usage(self, result_usage: CompletionUsage) -> bytes:
        return self.frame([], result_usage.model_dump())


def _choice(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
