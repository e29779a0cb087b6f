"""A :class:`~.spec.ChatSpec` → Workers AI inputs, per model family (pure).

What each family takes (``catalog/models.py`` lists the families):

- ``openai`` / ``gpt-oss`` (Chat Completions natively): OpenAI-shaped ``tools``,
  ``tool_choice``, ``parallel_tool_calls``, ``response_format`` and
  ``reasoning_effort`` are passed through.
- classic ``messages`` / ``messages-oai``: ``tools`` as ``{name, description,
  parameters}``; no ``tool_choice``: a forced choice (``required`` or a named
  function) is *constrained output* instead — no tools are sent, the model is
  told which function to call and its answer is held to JSON mode / ``guided_json``
  with the function's parameter schema (``required`` with several tools: a choice
  among ``{"name", "arguments"}`` objects), and the pipeline reads it back as a tool
  call (:attr:`ModelCall.forced`); an assistant's
  tool calls written into its content as the JSON the model emits;
  ``parallel_tool_calls: false`` enforced by the gateway (:mod:`.pipeline`); JSON
  mode as ``response_format`` ``{type, json_schema: <schema>}`` (not streamable,
  so streams are replayed from one whole answer), or ``guided_json`` on models
  that only take that.
- llama-4-scout (vLLM; ``extra["tool_call_format"] == "openai"``): classic
  input, but OpenAI-shaped tools and ``tool_choice``.
- gpt-oss, for a request that came in through the Responses API
  (``spec.native_format == "responses"``): Workers AI's Responses-shaped input
  (``input`` items, ``instructions``, flat function ``tools``, ``text.format``,
  ``reasoning.effort``, ``max_output_tokens``), answered with a Response object; it
  does not stream, so streams are replayed from the whole answer. What that input
  cannot say (``tool_choice: required``, a seed, penalties) goes the Chat Completions way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from json import dumps, loads
from typing import Any

from ..catalog import JSON_MODE, REASONING, TOOLS, VISION, ModelInfo
from ..errors import InvalidRequest
from .forced import forced_schema, instructed
from .spec import ChatSpec, Forced, ImagePart, Message, Sampling, Tool

NATIVE = frozenset({"openai", "gpt-oss"})
# gpt-oss takes low|medium|high and cannot turn reasoning off.
GPT_OSS_EFFORT = {"none": "low", "minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high",
                  "max": "high"}
"""OpenAI's efforts → gpt-oss's (low, medium, high). gpt-oss always reasons: ``none`` (what the Agents SDK sends by
default for the GPT-5.x names, which are served by gpt-oss) and ``minimal`` are its least."""
SEED_MAX = 9_999_999_999


@dataclass(slots=True)
class ModelCall:
    """One Workers AI call and what the gateway enforces around it (built per request: a plain dataclass,
    never changed once built, as :mod:`.spec` says)."""

    model: ModelInfo
    inputs: dict[str, Any]
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    streams: bool = True
    """False when the model cannot stream these inputs (e.g. classic JSON mode): the
    pipeline then runs it whole and replays the answer."""
    tool_names: frozenset[str] = field(default_factory=frozenset)
    """Tools a classic model may write a call to as text (recovered as a tool call)."""
    forced: tuple[str, ...] = ()
    """A forced tool choice given as constrained output: the answer is the one named tool's
    arguments, or (several names) ``{"name", "arguments"}`` of one of them."""

    @property
    def splits_thinking(self) -> bool:
        """Whether reasoning arrives inline, in ``<think>`` tags, to be split from the text."""
        return self.model.supports(REASONING) and self.model.extra.get("reasoning_format") == "think-tags"


def native(model: ModelInfo) -> bool:
    """Whether the model takes OpenAI Chat Completions input as is."""
    return model.family in NATIVE


def openai_tools(model: ModelInfo) -> bool:
    """Whether the model takes OpenAI-shaped tools and ``tool_choice``."""
    return native(model) or model.extra.get("tool_call_format") == "openai"


def calls(spec: ChatSpec) -> list[ModelCall]:
    """The Workers AI calls for ``spec``: one per choice (with a ``seed``, choice ``i`` uses ``seed + i``)."""
    model = spec.model
    forced = forced_tools(spec)
    if responses_shaped(spec):
        inputs: dict[str, Any] = responses_inputs(spec)
        streams = False
    elif spec.prompt is not None:
        inputs = {"prompt": spec.prompt, **sampling(spec.sampling)}
        if spec.raw:
            inputs["raw"] = True
        streams = True
    elif forced:
        response_format, _ = _constrained(spec, forced_schema(forced))
        inputs = {
            "messages": [message_input(m, model) for m in instructed(spec.messages, forced, len(spec.tools))],
            **sampling(spec.sampling),
            **response_format,
            **reasoning_inputs(spec),
        }
        streams = False  # read back whole into a tool call, then replayed as tool-call deltas
    else:
        response_format, streams = format_inputs(spec)
        tools = tool_inputs(spec)
        if tools and model.family == "messages" and not openai_tools(model):
            # Classic models may stream a tool call as plain text; run them whole and replay the
            # answer, so calls always come back structured (as Cloudflare's own AI SDK provider does).
            streams = False
        inputs = {
            "messages": [message_input(m, model) for m in spec.messages],
            **sampling(spec.sampling),
            **tools,
            **response_format,
            **reasoning_inputs(spec),
        }
    recoverable = (spec.tools and spec.tool_choice != "none" and not forced and model.family == "messages"
                   and not openai_tools(model))
    call = ModelCall(
        model=model,
        inputs=inputs,
        stop=spec.stop,
        max_tokens=spec.sampling.max_tokens,
        streams=streams,
        tool_names=frozenset(t.name for t in spec.tools) if recoverable else frozenset(),
        forced=tuple(t.name for t in forced) if forced else (),
    )
    seed = spec.sampling.seed
    if spec.n == 1 or seed is None:
        return [call] * spec.n
    return [call if i == 0 else replace(call, inputs={**call.inputs, "seed": _fold(seed + i)}) for i in range(spec.n)]


def _fold(seed: int) -> int:
    # Workers AI takes seeds in 1..9999999999; OpenAI any integer (0 is common): fold the rest in.
    return (seed - 1) % SEED_MAX + 1


def sampling(values: Sampling) -> dict[str, Any]:
    """Workers AI sampling inputs; unset values are left to the model's defaults."""
    out = {
        "max_tokens": values.max_tokens,
        "temperature": values.temperature,
        "top_p": values.top_p,
        "top_k": values.top_k,
        "seed": None if values.seed is None else _fold(values.seed),
        "frequency_penalty": values.frequency_penalty,
        "presence_penalty": values.presence_penalty,
        "repetition_penalty": values.repetition_penalty,
    }
    return {k: v for k, v in out.items() if v is not None}


# ---- messages ---------------------------------------------------------------------------------


def _content(message: Message, model: ModelInfo) -> str | list[dict[str, Any]]:
    """The message content for Workers AI: text, or text and image parts for vision models."""
    if not message.images():
        return message.text()
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, str):
            parts.append({"type": "text", "text": part})
            continue
        _check_image(part, model)
        parts.append({"type": "image_url", "image_url": {"url": part.url}})
    return parts


def _check_image(part: ImagePart, model: ModelInfo) -> None:
    if not model.supports(VISION):
        raise InvalidRequest(
            f"The model `{model.id}` does not accept images; use a vision model such as "
            "@cf/meta/llama-4-scout-17b-16e-instruct.",
            param=part.where,
            code="image_not_supported",
        )
    if not part.url.startswith("data:"):
        # The pipeline inlines URLs first (workers_ai.images); Workers AI takes data: URLs only.
        raise InvalidRequest("Image URLs must be data: URLs here.", param=part.url_where, code="invalid_image_url")


def message_input(message: Message, model: ModelInfo) -> dict[str, Any]:
    """One message in the form the model's family takes.

    Chat Completions models get ``tool_calls`` / ``tool_call_id`` as fields. Classic
    models' schemas only have ``role`` and ``content``: an assistant's tool calls are
    written into its content as the JSON the model itself emits, and tool results
    are ``tool`` messages (with ``tool_call_id`` where the schema has it).
    """
    content = _content(message, model)
    out: dict[str, Any] = {"role": message.role, "content": content}
    if message.tool_calls:
        if native(model):
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
        else:
            written = dumps([{"name": c.name, "arguments": _loads(c.arguments)} for c in message.tool_calls],
                            ensure_ascii=False)
            text = content if isinstance(content, str) else message.text()
            out["content"] = f"{text}\n{written}" if text else written
    if message.tool_call_id and openai_tools(model):
        out["tool_call_id"] = message.tool_call_id
    if message.role == "tool" and message.name:
        out["name"] = message.name
    return out


def _loads(arguments: str) -> Any:
    try:
        return loads(arguments)
    except ValueError:
        return arguments


# ---- tools, output format, reasoning ----------------------------------------------------------


def tool_inputs(spec: ChatSpec) -> dict[str, Any]:
    """``tools`` / ``tool_choice`` / ``parallel_tool_calls`` for the model, or a 400
    (a forced choice the model cannot take natively is :func:`forced_tools`' business)."""
    model, choice = spec.model, spec.tool_choice
    if not spec.tools or choice == "none":
        return {}  # "none": the model will not call a tool; not sending tools guarantees it
    if not model.supports(TOOLS):
        raise _no_tools(spec)
    if openai_tools(model):
        shape = _openai_tool if native(model) else _classic_openai_tool
        out: dict[str, Any] = {"tools": [shape(t) for t in spec.tools]}
        if isinstance(choice, Forced):
            out["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        elif choice is not None:
            out["tool_choice"] = choice
        if native(model) and spec.parallel_tool_calls is not None:
            out["parallel_tool_calls"] = spec.parallel_tool_calls
        return out
    return {"tools": [_classic_tool(t) for t in spec.tools]}


def _no_tools(spec: ChatSpec) -> InvalidRequest:
    return InvalidRequest(
        f"The model `{spec.model.id}` does not support tools (function calling); use a model that does, "
        "e.g. @cf/meta/llama-3.3-70b-instruct-fp8-fast or @cf/openai/gpt-oss-120b.",
        param=spec.params.tools,
        code="tools_not_supported",
    )


def constrains(model: ModelInfo) -> bool:
    """Whether the model's output can be held to a JSON schema (JSON mode or ``guided_json``)."""
    return model.supports(JSON_MODE) or bool(model.extra.get("guided_json"))


def forced_tools(spec: ChatSpec) -> tuple[Tool, ...]:
    """The tools a forced ``tool_choice`` leaves the model, when it is given as constrained output
    (the model takes no ``tool_choice``); empty when the choice is not forced or the model takes it.

    Constrained output needs no function calling at all, so a model with JSON mode but no tools
    can be forced too; a model with neither is a 400."""
    model, choice = spec.model, spec.tool_choice
    if not spec.tools or not (choice == "required" or isinstance(choice, Forced)):
        return ()
    if openai_tools(model) and model.supports(TOOLS):
        return ()  # tool_choice passed as is
    if not constrains(model):
        if not model.supports(TOOLS):
            raise _no_tools(spec)
        forced = f"function {choice.name}" if isinstance(choice, Forced) else choice
        raise InvalidRequest(
            f"The model `{model.id}` cannot be forced to call a tool (tool_choice: {forced}): it takes no "
            "tool_choice and has no JSON mode. Use 'auto', or a model that supports tool_choice, e.g. "
            "@cf/meta/llama-4-scout-17b-16e-instruct or @cf/openai/gpt-oss-120b.",
            param=spec.params.tool_choice,
            code="tool_choice_not_supported",
        )
    if isinstance(choice, Forced):
        return tuple(t for t in spec.tools if t.name == choice.name)[:1]
    return spec.tools


def _openai_tool(tool: Tool) -> dict[str, Any]:
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters,
                "strict": tool.strict}
    return {"type": "function", "function": {k: v for k, v in function.items() if v is not None}}


def _classic_tool(tool: Tool) -> dict[str, Any]:
    # The classic schemas require description and parameters.properties.
    parameters = dict(tool.parameters or {})
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    return {"name": tool.name, "description": tool.description or "", "parameters": parameters}


def _classic_openai_tool(tool: Tool) -> dict[str, Any]:
    # OpenAI-shaped, with the fields the classic schemas require (llama-4-scout).
    return {"type": "function", "function": _classic_tool(tool)}


def format_inputs(spec: ChatSpec) -> tuple[dict[str, Any], bool]:
    """Workers AI inputs for structured output, and whether the result can be streamed."""
    fmt, model = spec.output_format, spec.model
    if fmt is None:
        return {}, True
    if native(model):
        return {"response_format": fmt.openai()}, True
    return _constrained(spec, None if fmt.type == "json_object" else dict(fmt.schema or {"type": "object"}))


def _constrained(spec: ChatSpec, schema: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """Inputs holding a classic model's answer to ``schema`` (None: any JSON object), and whether
    they stream; a 400 for a model that cannot be held to one."""
    model = spec.model
    if model.supports(JSON_MODE):
        if schema is None:
            return {"response_format": {"type": "json_object"}}, False
        return {"response_format": {"type": "json_schema", "json_schema": schema}}, False
    if model.extra.get("guided_json"):
        return {"guided_json": schema or {"type": "object"}}, True
    fmt = spec.output_format
    raise InvalidRequest(
        f"The model `{model.id}` does not support JSON mode (response_format "
        f"'{fmt.type if fmt else 'json_schema'}'); use a model that does, e.g. "
        "@cf/meta/llama-3.3-70b-instruct-fp8-fast or @cf/openai/gpt-oss-120b.",
        param=spec.params.output_format,
        code="response_format_not_supported",
    )


def reasoning_inputs(spec: ChatSpec) -> dict[str, Any]:
    """``reasoning_effort`` where the model takes it; for models that don't reason, OpenAI's 400 in its words
    (gpt-4o / gpt-4.1: "Unsupported parameter: 'reasoning.effort' is not supported with this model.", code
    ``unsupported_parameter``, in RageAgainstThePixel/OpenAI-DotNet#500 and BoundaryML/baml#2708; chat's
    ``reasoning_effort`` the same)."""
    effort, model, param = spec.reasoning_effort, spec.model, spec.params.reasoning_effort
    if effort is None:
        return {}
    if not model.supports(REASONING):
        raise InvalidRequest(
            f"Unsupported parameter: '{param}' is not supported with this model.",
            param=param,
            code="unsupported_parameter",
        )
    if not native(model):
        return {}  # classic reasoning models (qwq, deepseek-r1) always think; nothing to set
    if model.family == "gpt-oss":
        if effort not in GPT_OSS_EFFORT:  # (a value OpenAI's spec adds later)
            raise InvalidRequest(
                f"Invalid value for '{param}': the model `{model.id}` takes one of {', '.join(GPT_OSS_EFFORT)}.",
                param=param,
            )
        return {"reasoning_effort": GPT_OSS_EFFORT[effort]}
    allowed = model.names("reasoning_effort")
    if allowed and effort not in allowed:
        raise InvalidRequest(
            f"Invalid value for '{param}': the model `{model.id}` takes one of {', '.join(allowed)}.",
            param=param,
        )
    return {"reasoning_effort": effort}


# ---- gpt-oss: Responses-shaped input ----------------------------------------------------------


def responses_shaped(spec: ChatSpec) -> bool:
    """Whether ``spec`` goes to the model as Workers AI's Responses input (gpt-oss, from the Responses API,
    and nothing that input cannot express)."""
    s = spec.sampling
    return (spec.native_format == "responses" and spec.model.family == "gpt-oss" and spec.prompt is None
            and spec.n == 1 and spec.tool_choice != "required" and s.seed is None and s.top_k is None
            and s.frequency_penalty is None and s.presence_penalty is None and s.repetition_penalty is None)


def responses_inputs(spec: ChatSpec) -> dict[str, Any]:
    """Workers AI's Responses input for gpt-oss: system turns as ``instructions``, the rest as items."""
    instructions = [m.text() for m in spec.messages if m.role == "system"]
    items: list[dict[str, Any]] = []
    for message in spec.messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            items.append({"type": "function_call_output", "call_id": message.tool_call_id or "",
                          "output": message.text()})
            continue
        if message.role == "user":
            items.append({"role": "user", "content": _responses_content(message, spec.model)})
        elif message.text():
            items.append({"role": "assistant", "content": message.text()})
        for call in message.tool_calls:
            items.append({"type": "function_call", "call_id": call.id, "name": call.name,
                          "arguments": call.arguments})
    inputs: dict[str, Any] = {"input": items}
    if instructions:
        inputs["instructions"] = "\n\n".join(instructions)
    s = spec.sampling
    for key, value in (("max_output_tokens", s.max_tokens), ("temperature", s.temperature), ("top_p", s.top_p)):
        if value is not None:
            inputs[key] = value
    if spec.tools and spec.tool_choice != "none":
        tool_inputs(spec)  # the same 400s as the chat path
        inputs["tools"] = [{"type": "function", "name": t.name, "description": t.description,
                            "parameters": t.parameters, "strict": t.strict} for t in spec.tools]
        if isinstance(spec.tool_choice, Forced):
            inputs["tool_choice"] = {"type": "function", "name": spec.tool_choice.name}
        if spec.parallel_tool_calls is not None:
            inputs["parallel_tool_calls"] = spec.parallel_tool_calls
    fmt = spec.output_format
    if fmt is not None:
        described = {"name": fmt.name, "description": fmt.description, "schema": fmt.schema, "strict": fmt.strict}
        inputs["text"] = {"format": {"type": "json_object"} if fmt.type == "json_object" else
                          {"type": "json_schema", **{k: v for k, v in described.items() if v is not None}}}
    effort = reasoning_inputs(spec).get("reasoning_effort")
    if effort is not None:
        inputs["reasoning"] = {"effort": effort}
    return inputs


def _responses_content(message: Message, model: ModelInfo) -> str | list[dict[str, Any]]:
    if not message.images():
        return message.text()
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, str):
            parts.append({"type": "input_text", "text": part})
        else:
            _check_image(part, model)
            parts.append({"type": "input_image", "image_url": part.url, "detail": "auto"})
    return parts
