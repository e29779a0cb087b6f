"""A ``CreateChatCompletionRequest`` → the neutral :class:`~..workers_ai.spec.ChatSpec` (pure).

Everything that is OpenAI's rule rather than the model's is checked here, as OpenAI
checks it: tool turns answer the calls before them (images only in user turns: :mod:`..spec_rules`,
on the body, before it is read), ``allowed_tools`` and a named ``tool_choice`` name given tools, ``json_object``
needs the word "json", ``strict`` schemas follow the Structured Outputs rules,
outputs Workers AI cannot give (audio, web search) are refused; ``audio`` without the audio
modality is ignored, as OpenAI ignores it. What the model can
or cannot do is the pipeline's to decide (:mod:`..workers_ai.families`).
"""

from __future__ import annotations

from ..catalog import ModelInfo
from ..errors import InvalidRequest
from ..types.chat import (
    AllowedToolsChoice,
    CreateChatCompletionRequest,
    ImagePart,
    Message,
    NamedToolChoice,
    TextPart,
)
from ..workers_ai import spec
from . import strict_schema

MAX_N = 4
"""Most choices per request: each choice is one concurrent Workers AI call."""


def chat_spec(req: CreateChatCompletionRequest, model: ModelInfo) -> spec.ChatSpec:
    """The spec for a chat completion request, or the 400 OpenAI would answer."""
    n = req.n or 1
    if n > MAX_N:
        raise InvalidRequest(
            f"Invalid value for 'n': at most {MAX_N} choices are supported (each is one Workers AI call).",
            param="n",
        )
    check_tool_history(req.messages)
    check_outputs(req)
    messages = _messages(req.messages)
    output_format = _output_format(req)
    legacy = uses_functions(req)
    tools, choice = _functions(req) if legacy else _tools(req)
    return spec.ChatSpec(
        model=model,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        # legacy function calling has no parallel calls: one function_call per choice
        parallel_tool_calls=False if legacy else req.parallel_tool_calls,
        output_format=output_format,
        sampling=spec.Sampling(
            max_tokens=req.token_limit, temperature=req.temperature, top_p=req.top_p, seed=req.seed,
            frequency_penalty=req.frequency_penalty, presence_penalty=req.presence_penalty,
        ),
        reasoning_effort=req.reasoning_effort,
        stop=tuple(req.stop_sequences),
        n=n,
        params=FUNCTION_PARAMS if legacy else PARAMS,
    )


PARAMS = spec.Params()
"""The spec's fields as chat completions names them (its own names)."""
FUNCTION_PARAMS = spec.Params(tools="functions", tool_choice="function_call")
"""What the deprecated ``functions`` / ``function_call`` stand in for, so a 400 names the param sent."""


def called_as(req: CreateChatCompletionRequest) -> str:
    """The ``finish_reason`` of an answer that called: ``function_call`` for the deprecated ``functions``; ``stop``
    for a named function choice, as OpenAI answers one (openai/openai-dotnet,
    tests/SessionRecords/ChatToolTests/ConstraintsWork.json: ``tool_choice`` ``{"type": "function", …}``, the call
    made, ``"finish_reason": "stop"``; ``auto`` there answers ``tool_calls``); else ``tool_calls``."""
    if uses_functions(req):
        return "function_call"
    return "stop" if type(req.tool_choice) is NamedToolChoice else "tool_calls"


def uses_functions(req: CreateChatCompletionRequest) -> bool:
    """Whether the request calls functions the deprecated way (``functions``, not ``tools``): its answer
    then carries ``message.function_call`` and ``finish_reason: "function_call"``."""
    return req.functions is not None


def _messages(messages: list[Message]) -> tuple[spec.Message, ...]:
    """The neutral turns. A deprecated assistant ``function_call`` is a tool call with an id made
    here, and the ``function`` message after it that call's result (the legacy protocol has no ids). A
    ``function`` message with no call of its name before it still unanswered (OpenAI takes one anywhere)
    gets one: an assistant turn calling that function, made here, so that every model reads a result of
    a call (Workers AI refuses a tool result that answers none, for some models)."""
    out: list[spec.Message] = []
    pending: tuple[str, str] | None = None  # (id, name) of the last function_call, until a result answers it
    for index, message in enumerate(messages):
        if message.role == "assistant" and message.function_call is not None and not message.tool_calls:
            pending = (f"call_function_{index}", message.function_call.name)
            out.append(_message(message, index, pending[0]))
        elif message.role == "function":
            if pending is None or pending[1] != message.name:
                pending = (f"call_function_{index}", message.name or "")
                out.append(spec.Message(role="assistant", tool_calls=(spec.ToolCall(pending[0], pending[1], "{}"),),
                                        where=f"messages[{index}]"))
            out.append(_message(message, index, pending[0]))
            pending = None
        else:
            out.append(_message(message, index))
    return tuple(out)


def _message(message: Message, index: int, function_call_id: str | None = None) -> spec.Message:
    where = f"messages[{index}]"
    # an assistant turn that only refused said its refusal
    content: str | tuple[spec.Part, ...] = message.content if isinstance(message.content, str) else (
        message.text() or message.refusal or "")
    if isinstance(message.content, list):
        parts: list[spec.Part] = []
        for k, part in enumerate(message.content):
            if isinstance(part, TextPart):
                parts.append(part.text)
            elif isinstance(part, ImagePart):
                part_where = f"{where}.content[{k}]"
                parts.append(spec.ImagePart(part.image_url.url, part_where, f"{part_where}.image_url.url"))
            elif part.type != "refusal":
                raise InvalidRequest(f"Content parts of type '{part.type}' are not supported.",
                                     param=f"{where}.content[{k}].type")
        if any(isinstance(p, spec.ImagePart) for p in parts):
            content = tuple(parts)
    role = spec.ROLES[message.role]
    calls = tuple(spec.ToolCall(c.id, c.function.name, c.function.arguments)
                  for c in message.tool_calls) if message.tool_calls else ()
    if role == "assistant" and function_call_id and message.function_call is not None:
        calls = (spec.ToolCall(function_call_id, message.function_call.name, message.function_call.arguments),)
    return spec.Message(
        role=role,
        content=content,
        tool_calls=calls,
        tool_call_id=message.tool_call_id or (function_call_id if message.role == "function" else None),
        name=message.name if role == "tool" else None,
        where=where,
    )


def _functions(req: CreateChatCompletionRequest) -> tuple[tuple[spec.Tool, ...], spec.ToolChoice]:
    """The deprecated ``functions`` as function tools, ``function_call`` as the choice among them
    (``none`` / ``auto`` / ``{"name"}``; ``auto`` when absent), with OpenAI's 400s."""
    if req.tools is not None:
        # OpenAI's answer, quoted in microsoft/autogen#3285
        raise InvalidRequest(
            "Invalid request: 'functions' and 'tools' cannot both be provided. 'functions' are deprecated; "
            "use the 'tools' parameter instead.",
        )
    functions = req.functions or []
    call = req.function_call
    tools = tuple(spec.Tool(f.name, f.description, f.parameters, f.strict) for f in functions)
    if isinstance(call, dict):  # its 'name' is required by OpenAI's rules (spec_rules), checked before this
        name = call.get("name", "")
        if name not in {tool.name for tool in tools}:
            raise InvalidRequest(
                f"Invalid value for 'function_call': no function named '{name}' was specified in the "
                "'functions' parameter.",
                param="function_call",
            )
        return tools, spec.Forced(name)
    if call == "none":
        return (), None
    return tools, "auto"


def _tools(req: CreateChatCompletionRequest) -> tuple[tuple[spec.Tool, ...], spec.ToolChoice]:
    """The tools the model may call and the choice among them; a 400 for choices OpenAI refuses."""
    if req.function_call is not None:
        # OpenAI's answer, quoted in Azure-Samples/azure-search-openai-demo#1175
        raise InvalidRequest(
            "Invalid value for 'function_call': 'function_call' is only allowed when 'functions' are specified.",
            param="function_call",
        )
    for position, tool in enumerate(req.tools or ()):
        if tool.function.strict:
            strict_schema.check_tool(position, tool.function.name, tool.function.parameters)
    tools = list(req.tools or ())
    choice = req.tool_choice
    if tools and isinstance(choice, AllowedToolsChoice):
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
        return (), None
    if isinstance(choice, NamedToolChoice) and choice.function.name not in {t.function.name for t in tools}:
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': no function named '{choice.function.name}' was specified "
            "in the 'tools' parameter.",
            param="tool_choice.function.name",
        )
    neutral = tuple(
        spec.Tool(t.function.name, t.function.description, t.function.parameters, t.function.strict) for t in tools
    )
    if isinstance(choice, NamedToolChoice):
        return neutral, spec.Forced(choice.function.name)
    assert not isinstance(choice, AllowedToolsChoice)  # resolved above (tools were given)
    return neutral, choice


def _output_format(req: CreateChatCompletionRequest) -> spec.OutputFormat | None:
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        if not any("json" in m.text().lower() for m in req.messages):
            raise InvalidRequest(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'.",
                param="messages",
            )
        return spec.OutputFormat("json_object")
    described = fmt.json_schema
    assert described is not None  # the request type requires it for json_schema
    if described.strict:
        strict_schema.check_response_format(described.name, described.schema_)
    return spec.OutputFormat("json_schema", described.schema_, described.name, described.description, described.strict)


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


def check_outputs(req: CreateChatCompletionRequest) -> None:
    """Outputs Workers AI text models cannot give are a 400, not silently text. ``audio`` without
    the audio modality is ignored, as OpenAI ignores it."""
    if req.modalities and any(m != "text" for m in req.modalities):
        raise InvalidRequest(
            "Audio output is not supported by Workers AI text models; use modalities ['text'] "
            "and /v1/audio/speech for speech.",
            param="modalities",
        )
    if req.web_search_options is not None:
        raise InvalidRequest(
            "Web search is not available on Workers AI models.", param="web_search_options"
        )
