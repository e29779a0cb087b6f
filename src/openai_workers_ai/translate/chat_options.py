"""Chat request options → Workers AI inputs, per model family (pure).

What each family takes (see ``models_data.py`` for the families):

- ``openai`` / ``gpt-oss`` (Chat Completions natively): OpenAI-shaped ``tools``,
  ``tool_choice``, ``parallel_tool_calls``, ``response_format`` and
  ``reasoning_effort`` are passed through (checked first).
- classic ``messages`` / ``messages-oai``: ``tools`` as ``{name, description,
  parameters}``; no ``tool_choice`` (``required`` / a named function is a 400);
  ``parallel_tool_calls: false`` is enforced by the gateway (only the first call
  is returned); JSON mode as ``response_format`` ``{type, json_schema: <schema>}``
  (not streamable, so streams are replayed from one whole answer), or
  ``guided_json`` on models that only take that.
- llama-4-scout (vLLM; ``extra["tool_call_format"] == "openai"``): classic
  input, but OpenAI-shaped tools and ``tool_choice``.
"""

from __future__ import annotations

from typing import Any

from ..catalog import JSON_MODE, REASONING, TOOLS, ModelInfo
from ..errors import InvalidRequest
from ..types.chat import AllowedToolsChoice, CreateChatCompletionRequest, ImagePart, Message, NamedToolChoice, Tool
from . import strict_schema

NATIVE = frozenset({"openai", "gpt-oss"})
# gpt-oss takes low|medium|high and cannot turn reasoning off.
GPT_OSS_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}


def native(model: ModelInfo) -> bool:
    """Whether the model takes OpenAI Chat Completions input as is."""
    return model.family in NATIVE


def openai_tools(model: ModelInfo) -> bool:
    """Whether the model takes OpenAI-shaped tools and ``tool_choice``."""
    return native(model) or model.extra.get("tool_call_format") == "openai"


def tool_inputs(req: CreateChatCompletionRequest, model: ModelInfo) -> dict[str, Any]:
    """``tools`` / ``tool_choice`` / ``parallel_tool_calls`` for the model, or a 400."""
    if req.functions:
        raise InvalidRequest(
            "'functions' is deprecated and not supported here; send 'tools' instead.", param="functions"
        )
    if req.function_call is not None:
        raise InvalidRequest(
            "'function_call' is deprecated and not supported here; send 'tool_choice' instead.",
            param="function_call",
        )
    for position, tool in enumerate(req.tools or ()):
        if tool.function.strict:
            strict_schema.check_tool(position, tool.function.name, tool.function.parameters)
    choice = req.tool_choice
    tools = req.tools
    if isinstance(choice, AllowedToolsChoice) and tools:
        # A subset of the tools, in a mode: sent as those tools with tool_choice auto / required.
        names = [t.function.name for t in tools]
        for position, ref in enumerate(choice.allowed_tools.tools):
            if ref.function.name not in names:
                raise InvalidRequest(
                    f"Invalid value for 'tool_choice': no function named '{ref.function.name}' was specified "
                    "in the 'tools' parameter.",
                    param=f"tool_choice.allowed_tools.tools[{position}].function.name",
                )
        allowed = {ref.function.name for ref in choice.allowed_tools.tools}
        tools = [t for t in tools if t.function.name in allowed]
        choice = choice.allowed_tools.mode
    if not tools:
        if choice is not None and choice != "none":
            raise InvalidRequest(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                param="tool_choice",
            )
        return {}
    if choice == "none":
        return {}  # OpenAI: the model will not call a tool; not sending tools guarantees it
    if not model.supports(TOOLS):
        raise InvalidRequest(
            f"The model `{model.id}` does not support tools (function calling); use a model that does, "
            "e.g. @cf/meta/llama-3.3-70b-instruct-fp8-fast or @cf/openai/gpt-oss-120b.",
            param="tools",
            code="tools_not_supported",
        )
    names = [t.function.name for t in tools]
    if isinstance(choice, NamedToolChoice) and choice.function.name not in names:
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': no function named '{choice.function.name}' was specified "
            "in the 'tools' parameter.",
            param="tool_choice.function.name",
        )
    if openai_tools(model):
        shape = _openai_tool if native(model) else _classic_openai_tool
        out: dict[str, Any] = {"tools": [shape(t) for t in tools]}
        if choice is not None:
            out["tool_choice"] = choice if isinstance(choice, str) else choice.model_dump()
        if native(model) and req.parallel_tool_calls is not None:
            out["parallel_tool_calls"] = req.parallel_tool_calls
        return out
    if choice not in (None, "auto"):
        # An allowed_tools choice became its mode above: only a named choice is left to spell out.
        forced = f"function {choice.function.name}" if isinstance(choice, NamedToolChoice) else choice
        raise InvalidRequest(
            f"The model `{model.id}` cannot be forced to call a tool (tool_choice: {forced}); "
            "Workers AI's classic models only choose tools themselves. Use 'auto', or a model that "
            "supports tool_choice, e.g. @cf/meta/llama-4-scout-17b-16e-instruct or @cf/openai/gpt-oss-120b.",
            param="tool_choice",
            code="tool_choice_not_supported",
        )
    return {"tools": [_classic_tool(t) for t in tools]}


def _openai_tool(tool: Tool) -> dict[str, Any]:
    return {"type": "function", "function": tool.function.model_dump(exclude_none=True)}


def _classic_tool(tool: Tool) -> dict[str, Any]:
    # The classic schemas require description and parameters.properties.
    parameters = dict(tool.function.parameters or {})
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    return {"name": tool.function.name, "description": tool.function.description or "", "parameters": parameters}


def _classic_openai_tool(tool: Tool) -> dict[str, Any]:
    # OpenAI-shaped, with the fields the classic schemas require (llama-4-scout).
    return {"type": "function", "function": _classic_tool(tool)}


def format_inputs(req: CreateChatCompletionRequest, model: ModelInfo) -> tuple[dict[str, Any], bool]:
    """Workers AI inputs for ``response_format``, and whether the result can be streamed."""
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return {}, True
    if fmt.type == "json_object" and not any("json" in m.text().lower() for m in req.messages):
        raise InvalidRequest(
            "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
            "'json_object'.",
            param="messages",
        )
    schema = fmt.json_schema.schema_ if fmt.json_schema is not None else None
    if fmt.json_schema is not None and fmt.json_schema.strict:
        strict_schema.check_response_format(fmt.json_schema.name, schema)
    if native(model):
        return {"response_format": fmt.model_dump(by_alias=True, exclude_none=True)}, True
    if model.supports(JSON_MODE):
        if fmt.type == "json_object":
            return {"response_format": {"type": "json_object"}}, False
        return {"response_format": {"type": "json_schema", "json_schema": schema or {"type": "object"}}}, False
    if model.extra.get("guided_json"):
        return {"guided_json": schema or {"type": "object"}}, True
    raise InvalidRequest(
        f"The model `{model.id}` does not support JSON mode (response_format '{fmt.type}'); use a model "
        "that does, e.g. @cf/meta/llama-3.3-70b-instruct-fp8-fast or @cf/openai/gpt-oss-120b.",
        param="response_format",
        code="response_format_not_supported",
    )


def reasoning_inputs(req: CreateChatCompletionRequest, model: ModelInfo) -> dict[str, Any]:
    """``reasoning_effort`` where the model takes it; a 400 for models that don't reason."""
    effort = req.reasoning_effort
    if effort is None:
        return {}
    if not model.supports(REASONING):
        raise InvalidRequest(
            f"Unsupported parameter: 'reasoning_effort' is not supported with the model `{model.id}`.",
            param="reasoning_effort",
            code="unsupported_parameter",
        )
    if not native(model):
        return {}  # classic reasoning models (qwq, deepseek-r1) always think; nothing to set
    if model.family == "gpt-oss":
        if effort not in GPT_OSS_EFFORT:
            raise InvalidRequest(
                f"The model `{model.id}` always reasons; reasoning_effort must be one of "
                "minimal, low, medium, high, xhigh, max.",
                param="reasoning_effort",
            )
        return {"reasoning_effort": GPT_OSS_EFFORT[effort]}
    allowed = model.extra.get("reasoning_effort")
    if isinstance(allowed, tuple) and effort not in allowed:
        raise InvalidRequest(
            f"Invalid value for 'reasoning_effort': the model `{model.id}` takes one of {', '.join(allowed)}.",
            param="reasoning_effort",
        )
    return {"reasoning_effort": effort}


def check_tool_history(messages: list[Message]) -> None:
    """OpenAI's rules for tool turns: every ``tool`` message answers a call of the assistant turn
    before it, and every call of an assistant turn is answered before the conversation goes on."""
    pending: dict[str, int] = {}  # unanswered tool_call_id → index of the assistant message
    for i, message in enumerate(messages):
        if message.role == "tool":
            if not message.tool_call_id:
                raise InvalidRequest(
                    f"Missing required parameter: 'messages[{i}].tool_call_id'.", param=f"messages[{i}].tool_call_id"
                )
            if message.tool_call_id not in pending:
                raise InvalidRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceding message "
                    f"with 'tool_calls' (no call with id '{message.tool_call_id}' is waiting for its result).",
                    param=f"messages[{i}].role",
                )
            del pending[message.tool_call_id]
            continue
        if pending:
            break
        if message.role == "assistant" and message.tool_calls:
            pending = {call.id: i for call in message.tool_calls}
    if pending:
        index = min(pending.values())
        raise InvalidRequest(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}",
            param=f"messages[{index}].role",
        )


def check_image_roles(messages: list[Message]) -> None:
    """OpenAI takes images in user messages only."""
    for i, message in enumerate(messages):
        if message.role != "user" and isinstance(message.content, list):
            if any(isinstance(part, ImagePart) for part in message.content):
                raise InvalidRequest(
                    f"Invalid 'messages[{i}]'. Image URLs are only allowed for messages with role 'user', "
                    f"but this message with role '{message.role}' contains an image URL.",
                    param=f"messages[{i}]",
                )


def check_outputs(req: CreateChatCompletionRequest) -> None:
    """Outputs Workers AI text models cannot give are a 400, not silently text."""
    if req.audio is not None or (req.modalities and any(m != "text" for m in req.modalities)):
        raise InvalidRequest(
            "Audio output is not supported by Workers AI text models; use modalities ['text'] "
            "and /v1/audio/speech for speech.",
            param="modalities" if req.modalities and any(m != "text" for m in req.modalities) else "audio",
        )
    if req.web_search_options is not None:
        raise InvalidRequest(
            "Web search is not available on Workers AI models.", param="web_search_options"
        )
