"""Simulated chat models per family (``ModelInfo.family``): input checks and output shapes.

- ``messages`` (classic): ``{response, tool_calls: [{name, arguments: object}], usage}``;
  in JSON mode ``response`` is the JSON *object*, and streaming JSON mode fails
  ("JSON Mode currently doesn't support streaming"). Streams: ``{"response": "…", "p": …}``
  events, tool calls as one ``{"response": "", "tool_calls": [...]}`` event, then the usage event.
  llama-4-scout (``extra["tool_call_format"] == "openai"``) returns
  ``[{id, type, function: {name, arguments: object}}]`` and streams vLLM-style partials
  (``{id, type, index, function: {name}}``, then argument fragments, then an all-null
  finalization fragment); it also takes ``tool_choice``.
- ``messages-oai`` (qwen3-30b, sea-lion): classic input, ``chat.completion`` output with
  ``reasoning_content``; streams ``chat.completion.chunk`` events.
- ``openai`` / ``gpt-oss``: Chat Completions input (OpenAI-shaped tools, ``tool_choice``,
  ``tool_call_id`` checked against earlier calls, ``response_format`` json_schema
  ``{name, schema, strict}``), ``chat.completion`` output; thinking in ``reasoning_content``
  (gpt-oss: ``reasoning``). Streams as Workers AI does: chunks with incremental ``usage``,
  tool calls as ``{index, id, type, function: {name}}`` then argument fragments, a
  ``finish_reason`` chunk, then ``{"response": "", "usage": <totals>}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from json import dumps
from typing import Any

from ..catalog import JSON_MODE, VISION, ModelInfo
from .chat_behaviour import Answer, decide, function_of, images, json_schema_of
from .failures import invalid_input
from .words import sse

NATIVE = frozenset({"openai", "gpt-oss"})
EFFORTS = {"gpt-oss": ("low", "medium", "high")}
PAD = "abcdefghijklmnopqrstuvwxyz0123456789"


def check(model: ModelInfo, inputs: dict[str, Any]) -> None:
    """Reject what the family's schema rejects (beyond the shared checks)."""
    messages = inputs.get("messages") or []
    native = model.family in NATIVE
    for i, message in enumerate(messages):
        if native and message.get("role") == "tool" and not message.get("tool_call_id"):
            raise invalid_input(f"required property '/messages/{i}/tool_call_id' is missing")
    if native:
        _check_tool_ids(messages)
    for url in images(messages):
        if not model.supports(VISION):
            raise invalid_input(f"the model {model.id} does not accept image inputs")
        if not url.startswith("data:"):
            raise invalid_input("image_url must match pattern '^data:*' (HTTP URL will not be accepted)")
    for position, tool in enumerate(inputs.get("tools") or ()):
        _check_tool(model, tool, position)
    if "tool_choice" in inputs and not (native or model.extra.get("tool_call_format") == "openai"):
        raise invalid_input("additional property '/tool_choice' is not allowed")
    if "parallel_tool_calls" in inputs and not native:
        raise invalid_input("additional property '/parallel_tool_calls' is not allowed")
    json_mode, _ = json_schema_of(inputs)
    if "guided_json" in inputs and not model.extra.get("guided_json"):
        raise invalid_input("additional property '/guided_json' is not allowed")
    if json_mode and "response_format" in inputs and not model.supports(JSON_MODE):
        raise invalid_input("additional property '/response_format' is not allowed")
    if json_mode and "response_format" in inputs and not native and inputs.get("stream"):
        raise invalid_input("JSON Mode currently doesn't support streaming")
    effort, allowed = inputs.get("reasoning_effort"), EFFORTS.get(model.family or "") or model.extra.get("reasoning_effort")
    if effort is not None and (not native or (isinstance(allowed, tuple) and effort not in allowed)):
        raise invalid_input(f"Invalid value for '/reasoning_effort': {effort!r}")


def _check_tool(model: ModelInfo, tool: Any, position: int) -> None:
    where = f"/tools/{position}"
    if not isinstance(tool, dict):
        raise invalid_input(f"Type mismatch of '{where}'")
    if model.family in NATIVE:
        if tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
            raise invalid_input(f"'{where}' must be {{type: 'function', function: {{name, …}}}}")
        if not tool["function"].get("name"):
            raise invalid_input(f"required property '{where}/function/name' is missing")
        return
    function = function_of(tool)
    for key in ("name", "description", "parameters"):
        if key not in function:
            raise invalid_input(f"required properties at '{where}' are 'name,description,parameters'")
    parameters = function["parameters"]
    if not isinstance(parameters, dict) or "type" not in parameters or "properties" not in parameters:
        raise invalid_input(f"required properties at '{where}/parameters' are 'type,properties'")


def _check_tool_ids(messages: list[dict[str, Any]]) -> None:
    known: set[str] = set()
    for i, message in enumerate(messages):
        for call in message.get("tool_calls") or ():
            known.add(str(call.get("id")))
        if message.get("role") == "tool" and message["tool_call_id"] not in known:
            raise invalid_input(f"'/messages/{i}/tool_call_id' does not match any earlier tool call")


def _call_id(model: ModelInfo, index: int, answer: Answer) -> str:
    digest = hashlib.sha256(f"{model.id}/{index}/{answer.calls[index].name}".encode()).hexdigest()
    return f"chatcmpl-tool-{digest[:16]}"


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else dumps(value, ensure_ascii=False)


def _usage(answer: Answer) -> dict[str, int]:
    return {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens}


def run(model: ModelInfo, inputs: dict[str, Any], prompt: str) -> dict[str, Any] | AsyncIterator[bytes]:
    """Answer validated text-generation ``inputs`` in the model family's shape."""
    check(model, inputs)
    answer = decide(model, inputs, prompt)
    stream = bool(inputs.get("stream"))
    if model.family in NATIVE or model.family == "messages-oai":
        return _oai_events(model, answer) if stream else _oai(model, answer)
    return _classic_events(model, answer) if stream else _classic(model, answer)


# ---- classic --------------------------------------------------------------------------


def _classic_calls(model: ModelInfo, answer: Answer) -> list[dict[str, Any]]:
    if model.extra.get("tool_call_format") == "openai":
        return [{"id": _call_id(model, i, answer), "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}} for i, c in enumerate(answer.calls)]
    return [{"name": c.name, "arguments": c.arguments} for c in answer.calls]


def _classic_text(model: ModelInfo, answer: Answer) -> str:
    if not answer.reasoning:
        return answer.text
    # Think-tag models; R1 distills get "<think>" from the prompt template, so only "</think>" is emitted.
    opening = "" if "deepseek-r1" in model.id else "<think>\n"
    return f"{opening}{answer.reasoning}\n</think>\n\n{answer.text}"


def _classic(model: ModelInfo, answer: Answer) -> dict[str, Any]:
    response: Any = answer.value if answer.json_mode else _classic_text(model, answer)
    return {"response": response, "tool_calls": _classic_calls(model, answer), "usage": _usage(answer)}


def _pieces(text: str) -> list[str]:
    out, word = [], ""
    for ch in text:
        if ch.isspace() and word.strip():
            out.append(word)
            word = ""
        word += ch
    return [*out, word] if word else out


async def _classic_events(model: ModelInfo, answer: Answer) -> AsyncIterator[bytes]:
    for piece in _pieces(_classic_text(model, answer)):
        yield sse({"response": piece, "p": PAD[: len(piece) % 7 + 1]})
    if answer.calls and model.extra.get("tool_call_format") == "openai":
        for i, call in enumerate(answer.calls):
            head = {"id": _call_id(model, i, answer), "type": "function", "index": i, "function": {"name": call.name}}
            yield sse({"response": "", "tool_calls": [head]})
            arguments = _arguments(call.arguments)
            for cut in range(0, len(arguments), 8):
                yield sse({"response": "", "tool_calls": [{"index": i, "function": {"arguments": arguments[cut:cut + 8]}}]})
            yield sse({"response": "", "tool_calls": [{"id": None, "type": None, "function": {"name": None}}]})
    elif answer.calls:
        yield sse({"response": "", "tool_calls": _classic_calls(model, answer)})
    yield sse({"response": "", "usage": _usage(answer)})
    yield sse("[DONE]")


# ---- Chat Completions shaped ----------------------------------------------------------------


def _head(model: ModelInfo, answer: Answer, kind: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"{model.id}/{answer.text}/{answer.reasoning}".encode()).hexdigest()
    return {"id": digest[:32], "object": kind, "created": 1_791_402_397, "model": model.id}


def _reasoning_key(model: ModelInfo) -> str:
    return "reasoning" if model.family == "gpt-oss" else "reasoning_content"


def _oai(model: ModelInfo, answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or None,
                               _reasoning_key(model): answer.reasoning or None}
    if answer.calls:
        message["tool_calls"] = [
            {"id": _call_id(model, i, answer), "type": "function",
             "function": {"name": c.name, "arguments": _arguments(c.arguments)}}
            for i, c in enumerate(answer.calls)
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish_reason}
    usage = {**_usage(answer), "prompt_tokens_details": {"cached_tokens": 0}}
    return {**_head(model, answer, "chat.completion"), "choices": [choice], "usage": usage}


def _chunk(head: dict[str, Any], delta: dict[str, Any], completion: int, finish: str | None = None,
           prompt: int = 0) -> bytes:
    # Workers AI's chunk usage is incremental (the prompt on the first chunk, then one token a chunk).
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return sse({**head, "choices": [choice], "p": PAD[: completion % 7 + 1], "usage": usage})


async def _oai_events(model: ModelInfo, answer: Answer) -> AsyncIterator[bytes]:
    head = _head(model, answer, "chat.completion.chunk")
    key = _reasoning_key(model)
    yield _chunk(head, {"role": "assistant", "content": "", key: None}, 0, prompt=answer.prompt_tokens)
    for piece in _pieces(answer.reasoning):
        yield _chunk(head, {key: piece}, 1)
    for piece in _pieces(answer.text):
        yield _chunk(head, {"content": piece, key: None}, 1)
    for i, call in enumerate(answer.calls):
        first = {"index": i, "id": _call_id(model, i, answer), "type": "function", "function": {"name": call.name}}
        yield _chunk(head, {"tool_calls": [first]}, 1)
        arguments = _arguments(call.arguments)
        for cut in range(0, len(arguments), 8):
            yield _chunk(head, {"tool_calls": [{"index": i, "function": {"arguments": arguments[cut:cut + 8]}}]}, 1)
    yield _chunk(head, {}, 0, answer.finish_reason)
    yield sse({"response": "", "usage": _usage(answer)})
    yield sse("[DONE]")
