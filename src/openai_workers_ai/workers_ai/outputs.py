"""Workers AI text-generation output → one neutral form, for every model family.

Workers AI answers in one of two shapes:

- classic: ``{"response": "…", "tool_calls": [...], "usage": {...}}``, streamed
  as ``data: {"response": "…"}`` events with ``usage`` on the last one;
- OpenAI-style (newer models): a ``chat.completion`` object, streamed as
  ``chat.completion.chunk`` events with ``choices[0].delta``.

gpt-oss, sent Responses-shaped input, answers with a ``response`` object whose
``output`` holds ``reasoning``, ``message`` and ``function_call`` items.

All become :class:`Output` (whole) or :class:`Piece` (one streamed event).
Reasoning models' thinking arrives as ``reasoning_content`` or inside
``<think>…</think>``; both become ``reasoning``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from json import dumps, loads
from typing import Any

from .spec import ToolCallPiece, Usage


@dataclass(slots=True)
class Piece:
    """What one upstream stream event carried."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallPiece] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(slots=True)
class Output:
    """A whole (non-streamed) upstream answer."""

    text: str
    reasoning: str = ""
    tool_calls: list[ToolCallPiece] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens", raw.get("input_tokens"))  # the latter: a Response's usage
    completion = raw.get("completion_tokens", raw.get("output_tokens"))
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    details = raw.get("completion_tokens_details", raw.get("output_tokens_details"))
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    prompt_details = raw.get("prompt_tokens_details")  # e.g. {"cached_tokens": 0} on gemma-4's totals
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None
    return Usage(prompt, completion, reasoning if isinstance(reasoning, int) and 0 <= reasoning <= completion else 0,
                 cached if isinstance(cached, int) and 0 <= cached <= prompt else 0)


def _arguments(raw: Any) -> str:
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else dumps(raw, ensure_ascii=False)


def _function_of(item: dict[str, Any]) -> dict[str, Any]:
    """The ``{name, arguments}`` part of a call in either shape: OpenAI's nests it under ``function``."""
    function = item.get("function")
    return function if isinstance(function, dict) else item


def _tool_calls(raw: Any) -> list[ToolCallPiece]:
    """Both ``{name, arguments}`` (classic) and ``{id, type, function: {…}}`` (OpenAI) items."""
    calls: list[ToolCallPiece] = []
    for position, item in enumerate(raw or ()):
        if not isinstance(item, dict):
            continue
        function = _function_of(item)
        if not (item.get("id") or function.get("name") or function.get("arguments")):
            continue  # vLLM-style streams end a call with an all-null "finalization" fragment
        calls.append(
            ToolCallPiece(
                index=item.get("index", position) if isinstance(item.get("index"), int) else position,
                id=item.get("id"),
                name=function.get("name"),
                arguments=_arguments(function.get("arguments")),
            )
        )
    return calls


_TAGGED_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.S)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def text_tool_calls(text: str, names: set[str]) -> list[ToolCallPiece]:
    """Tool calls a model wrote as text instead of ``tool_calls`` (Llama 3.x and Hermes do at times):
    the whole text is ``{"name", "arguments"|"parameters"}`` (or a list of them), possibly after
    ``<|python_tag|>``, in a code fence or in ``<tool_call>`` tags. Only names in ``names`` count;
    anything else means the text is an answer, and nothing is returned."""
    body = text.strip().removeprefix("<|python_tag|>").strip()
    candidates = _TAGGED_CALL.findall(body) or [_FENCE.sub(r"\1", body)]
    calls: list[ToolCallPiece] = []
    for candidate in candidates:
        try:
            value = loads(candidate)
        except ValueError:
            return []
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, dict):
                return []
            function = _function_of(item)
            arguments = function.get("arguments", function.get("parameters", {}))
            if function.get("name") not in names or not isinstance(arguments, (dict, str)):
                return []
            calls.append(ToolCallPiece(len(calls), None, function["name"], _arguments(arguments) or "{}"))
    return calls


def forced_call(text: str, names: tuple[str, ...]) -> ToolCallPiece | None:
    """The tool call in a forced, schema-constrained answer: with one name the text is that tool's
    arguments (kept as they came, even cut short by ``max_tokens``, as OpenAI returns them); with
    several it is ``{"name", "arguments"}`` naming one of them. None when the text is neither."""
    body = _FENCE.sub(r"\1", text.strip())
    if len(names) == 1:
        return ToolCallPiece(0, None, names[0], body or "{}")
    try:
        value = loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("name") not in names:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    return ToolCallPiece(0, None, value["name"], _arguments(arguments) or "{}")


def parse_output(raw: dict[str, Any]) -> Output:
    """A non-streamed Workers AI text-generation result."""
    if isinstance(raw.get("output"), list):
        return _response_output(raw)
    choices = raw.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        message = choice.get("message") or {}
        text = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        calls = _tool_calls(message.get("tool_calls"))
        finish = choice.get("finish_reason")
    else:
        response = raw.get("response")
        text = response if isinstance(response, str) else ("" if response is None else dumps(response))
        reasoning = raw.get("reasoning_content") or ""
        calls = _tool_calls(raw.get("tool_calls"))
        finish = raw.get("finish_reason")
    if not reasoning and "</think>" in text:
        reasoning, _, text = text.partition("</think>")
        reasoning = reasoning.replace("<think>", "", 1).strip()
        text = text.lstrip()
    return Output(text, reasoning, calls, _usage(raw.get("usage")), finish)


def _response_output(raw: dict[str, Any]) -> Output:
    """A Response object (gpt-oss given Responses input): its items' text, reasoning and calls."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCallPiece] = []
    for item in raw["output"]:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        parts: list[Any] = content if isinstance(content, list) else []
        if item.get("type") == "message":
            text.extend(p.get("text") or "" for p in parts if isinstance(p, dict) and p.get("type") == "output_text")
        elif item.get("type") == "reasoning":
            reasoning.extend(p.get("text") or "" for p in parts if isinstance(p, dict))
        elif item.get("type") == "function_call":
            calls.append(ToolCallPiece(len(calls), item.get("call_id"), item.get("name"),
                                       _arguments(item.get("arguments"))))
    details = raw.get("incomplete_details")
    finish = "length" if isinstance(details, dict) and details.get("reason") == "max_output_tokens" else None
    return Output("".join(text), "".join(reasoning), calls, _usage(raw.get("usage")), finish)


def parse_event(raw: dict[str, Any]) -> Piece:
    """One decoded ``data:`` payload of a Workers AI text-generation stream."""
    choices = raw.get("choices")
    if isinstance(choices, list):
        piece = Piece(usage=_usage(raw.get("usage")))
        if choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta") or choice.get("message") or {}
            piece.text = delta.get("content") or ""
            piece.reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
            piece.tool_calls = _tool_calls(delta.get("tool_calls"))
            piece.finish_reason = choice.get("finish_reason")
        return piece
    response = raw.get("response")
    return Piece(
        text=response if isinstance(response, str) else "",
        reasoning=raw.get("reasoning_content") or "",
        tool_calls=_tool_calls(raw.get("tool_calls")),
        usage=_usage(raw.get("usage")),
        finish_reason=raw.get("finish_reason"),
    )


class ThinkSplitter:
    """Routes streamed text inside ``<think>…</think>`` to reasoning.

    Only used for reasoning models, whose text may open with a think block
    (the opening tag is sometimes already in the prompt template, so a bare
    ``</think>`` also ends reasoning).
    """

    __slots__ = ("thinking", "buffer", "done", "answered")

    def __init__(self) -> None:
        self.thinking = True
        self.buffer = ""
        self.done = False
        self.answered = False  # the newlines between "</think>" and the answer may come in later events

    def feed(self, text: str) -> tuple[str, str]:
        """→ (reasoning, answer) to emit."""
        if self.done:
            return "", self._answer(text)
        self.buffer += text
        if "</think>" in self.buffer:
            reasoning, _, answer = self.buffer.partition("</think>")
            self.done, self.buffer = True, ""
            return reasoning.replace("<think>", "", 1), self._answer(answer)
        # Keep a possible partial tag in the buffer; release the rest as reasoning.
        keep = 0
        for k in range(min(len("</think>") - 1, len(self.buffer)), 0, -1):
            if self.buffer.endswith("</think>"[:k]):
                keep = k
                break
        out = self.buffer[: len(self.buffer) - keep]
        self.buffer = self.buffer[len(self.buffer) - keep :]
        return out.replace("<think>", "", 1), ""

    def _answer(self, text: str) -> str:
        if not self.answered:
            text = text.lstrip("\n")
            self.answered = bool(text)
        return text

    def flush(self) -> tuple[str, str]:
        """At the end: text never closed by ``</think>`` was the answer after all."""
        if self.done:
            return "", ""
        rest, self.buffer, self.done = self.buffer, "", True
        return "", rest
