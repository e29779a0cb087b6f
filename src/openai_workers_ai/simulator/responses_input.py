"""gpt-oss's Responses-shaped input (Workers AI's ``ResponsesInput``), answered with a ``response`` object.

Workers AI's gpt-oss models take either Chat Completions input or Responses input (``input`` items,
``instructions``, flat function ``tools``, ``text.format``, ``reasoning.effort``,
``max_output_tokens``); the latter is answered whole, as a Response with ``reasoning``, ``message``
and ``function_call`` output items. The simulator reads the Responses input as the equivalent chat
input, so the conventions of :mod:`.chat_behaviour` hold unchanged.
"""

from __future__ import annotations

import hashlib
from json import dumps
from typing import Any

from ..catalog import ModelInfo
from .chat_behaviour import decide
from .chat_families import check
from .failures import invalid_input
from .words import prompt_text

KEYS = frozenset({"input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "reasoning",
                  "max_output_tokens", "temperature", "top_p", "stream"})


def chat_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """The Chat Completions input saying what ``inputs`` says; Workers AI's 5006 for what its schema refuses."""
    unknown = sorted(set(inputs) - KEYS)
    if unknown:
        raise invalid_input(f"additional property '/{unknown[0]}' is not allowed")
    raw = inputs.get("input")
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise invalid_input("Type mismatch of '/input', expected a string or a non-empty array")
    messages: list[dict[str, Any]] = []
    if inputs.get("instructions"):
        messages.append({"role": "system", "content": inputs["instructions"]})
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise invalid_input(f"Type mismatch of '/input/{i}'")
        kind = item.get("type", "message")
        if kind == "message":
            messages.append({"role": item.get("role"), "content": _content(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")}}
            if messages and messages[-1]["role"] == "assistant":
                messages[-1].setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": item.get("output")})
        elif kind != "reasoning":
            raise invalid_input(f"'/input/{i}/type' must be one of message, function_call, function_call_output, "
                                "reasoning")
    out: dict[str, Any] = {"messages": messages}
    tools = inputs.get("tools") or []
    if tools:
        out["tools"] = [{"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
                        for t in tools if isinstance(t, dict)]
    choice = inputs.get("tool_choice")
    if isinstance(choice, dict):
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice is not None:
        out["tool_choice"] = choice
    if "parallel_tool_calls" in inputs:
        out["parallel_tool_calls"] = inputs["parallel_tool_calls"]
    fmt = (inputs.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["response_format"] = {"type": "json_schema", "json_schema": {k: v for k, v in fmt.items() if k != "type"}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    effort = (inputs.get("reasoning") or {}).get("effort")
    if effort is not None:
        out["reasoning_effort"] = effort
    for key, target in (("max_output_tokens", "max_tokens"), ("temperature", "temperature"), ("top_p", "top_p")):
        if inputs.get(key) is not None:
            out[target] = inputs[key]
    return out


def _content(content: Any) -> Any:
    if not isinstance(content, list):
        return content
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") in ("input_text", "output_text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif isinstance(part, dict) and part.get("type") == "input_image":
            parts.append({"type": "image_url", "image_url": {"url": part.get("image_url") or ""}})
    return parts


def run(model: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    """A Response object answering Responses-shaped ``inputs`` (whole, even when asked to stream)."""
    chat = chat_inputs(inputs)
    check(model, chat)
    answer = decide(model, chat, prompt_text(chat))
    digest = hashlib.sha256(f"{model.id}/{answer.text}/{answer.reasoning}".encode()).hexdigest()
    output: list[dict[str, Any]] = []
    if answer.reasoning:
        output.append({"id": f"rs_{digest[:16]}", "type": "reasoning", "summary": [],
                       "content": [{"type": "reasoning_text", "text": answer.reasoning}]})
    for i, call in enumerate(answer.calls):
        arguments = call.arguments if isinstance(call.arguments, str) else dumps(call.arguments, ensure_ascii=False)
        call_digest = hashlib.sha256(f"{model.id}/{i}/{call.name}".encode()).hexdigest()
        output.append({"id": f"fc_{call_digest[:16]}", "type": "function_call", "status": "completed",
                       "call_id": f"call_{call_digest[:24]}", "name": call.name, "arguments": arguments})
    if answer.text:
        output.append({"id": f"msg_{digest[16:32]}", "type": "message", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": answer.text, "annotations": []}]})
    length = answer.finish_reason == "length"
    return {
        "id": f"resp_{digest[:32]}", "object": "response", "created_at": 1_791_402_397, "model": model.id,
        "status": "incomplete" if length else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if length else None,
        "output": output,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens,
                  "total_tokens": answer.prompt_tokens + answer.completion_tokens},
    }
