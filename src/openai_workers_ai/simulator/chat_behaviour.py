"""What a simulated chat model decides to answer, independent of its output format.

Conventions (all deterministic; listed in the README):

- **tools**: with ``tools`` given, each line of the last user message of the form
  ``call:<function_name> <json-arguments>`` makes the model call that tool (several
  lines → parallel calls; arguments omitted → an instance of the tool's
  ``parameters`` schema). ``tool_choice: "required"`` without such a line calls
  the first tool; a named ``tool_choice`` calls that tool; ``"none"`` calls none;
  ``parallel_tool_calls: false`` keeps only the first call.
- ``call-text:<function_name> <json-arguments>`` lines make the model *write* the call as text
  instead (as Llama 3.x / Hermes do at times): one call as ``{"name", "parameters"}``, several as
  ``<tool_call>{"name", "arguments"}</tool_call>`` lines.
- **file search**: offered the gateway's ``file_search`` function (a ``queries`` parameter), the
  model calls it with the user's last message as its query whenever the user spoke last (unless
  ``call:`` lines decide otherwise); forced to call it, it does the same (as constrained output too:
  a schema whose only property is ``queries``). Given its results (blocks headed ``[n] <file name>``),
  it answers with the first sentence of the first result, cited: ``… [n]``.
- **tool results**: when the conversation ends with other ``tool`` messages the model
  answers ``Tool results: <content>; <content>``.
- **JSON mode** (``response_format`` json_object / json_schema, or ``guided_json``):
  the answer is a JSON instance valid for the schema. json_object (or ``guided_json``
  ``{"type": "object"}``): an instance of the schema the conversation's text gives
  (``prompt_schema.py``), else ``{"answer": "<the usual reply>"}``.
- **a fenced JSON answer asked for in the prompt** (instructor's MD_JSON mode: no ``response_format``, the
  schema in the system message, "… within a ```json codeblock" ending the user's): when the last user
  message mentions a ```json block and the conversation gives a schema (``prompt_schema.py``), the answer is
  an instance of it in a ```json block.
- **vision**: a request carrying images is answered ``I received <n> image(s):
  <media types>.`` (unless the last user message is an ``echo:``).
- **reasoning** models think first: ``The user asks: <first words>. I will answer.``;
  thinking words count against ``max_tokens`` like answer words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from json import dumps, loads
from typing import Any

from ..catalog import REASONING, ModelInfo
from .failures import SimulatedFailure, invalid_input
from .json_instance import instance
from .prompt_schema import prompt_schema
from .words import last_user_text, reply, tokens, truncate

DEFAULT_MAX_TOKENS = 256
_CALL = re.compile(r"^call:([A-Za-z0-9_.\-]+)\s*(.*)$")
_TEXT_CALL = re.compile(r"^call-text:([A-Za-z0-9_.\-]+)\s*(.*)$")
_SOURCE = re.compile(r"^\[(\d+)\] \S")
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)", re.S)
FILE_SEARCH = "file_search"
FENCE = "```json"
"""A Markdown code block of JSON, as a prompt asks for one (instructor's MD_JSON: "Return the correct JSON
response within a ```json codeblock. not the JSON_SCHEMA")."""
ANY_OBJECT = {"type": "object"}
"""The schema a ``json_object`` request becomes for ``guided_json`` models."""


@dataclass(slots=True)
class Call:
    """A tool call the simulated model makes."""

    name: str
    arguments: Any
    """A JSON value (usually an object); a string when the model wrote invalid JSON."""


@dataclass(slots=True)
class Answer:
    """What the simulated model answers, before it is put in a family's output shape."""

    text: str = ""
    value: Any = None
    """The JSON value in JSON mode (classic models return it as an object)."""
    reasoning: str = ""
    calls: list[Call] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def json_mode(self) -> bool:
        """Whether the answer is a JSON value (JSON mode or a schema)."""
        return self.value is not None


def function_of(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool's ``{name, description, parameters}`` in either shape (OpenAI's nests it under ``function``)."""
    function = tool.get("function")
    return function if isinstance(function, dict) else tool


def tool_schemas(inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tool name → parameters schema, from either tool shape."""
    out: dict[str, dict[str, Any]] = {}
    for tool in inputs.get("tools") or ():
        function = function_of(tool)
        out[function["name"]] = function.get("parameters") or {}
    return out


def _searches(name: str, schema: Any) -> bool:
    """Whether ``name`` is the gateway's file_search function (it takes ``queries``)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return name == FILE_SEARCH and isinstance(properties, dict) and "queries" in properties


def _search_schema(schema: Any) -> bool:
    """Whether constrained output asks for file_search's arguments (a forced call on a model without
    ``tool_choice``): an object whose only property is ``queries``."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return isinstance(properties, dict) and set(properties) == {"queries"}


def _arguments(name: str, schema: dict[str, Any], last: str) -> Any:
    """Arguments the model makes up for a call it decided on: a search for the user's words, else an
    instance of the tool's schema."""
    if _searches(name, schema):
        asked = " ".join(line for line in last.splitlines() if not line.strip().startswith(("call:", "call-text:")))
        return {"queries": [asked.strip() or last.strip()]}
    return instance(schema, name)


def _directives(text: str, tools: dict[str, dict[str, Any]], pattern: re.Pattern[str] = _CALL) -> list[Call]:
    calls = []
    for line in text.splitlines():
        match = pattern.match(line.strip())
        if match is None or match.group(1) not in tools:
            continue
        name, raw = match.group(1), match.group(2).strip()
        if not raw:
            calls.append(Call(name, _arguments(name, tools[name], text)))
            continue
        try:
            calls.append(Call(name, loads(raw)))
        except ValueError:
            calls.append(Call(name, raw))
    return calls


def tools_on(inputs: dict[str, Any], messages: list[dict[str, Any]]) -> bool:
    """Whether the model may call a tool now (tools given, not refused, a user spoke last)."""
    return bool(inputs.get("tools")) and inputs.get("tool_choice") != "none" and bool(messages) and (
        messages[-1].get("role") == "user")


def _calls(inputs: dict[str, Any], messages: list[dict[str, Any]]) -> list[Call]:
    tools = tool_schemas(inputs)
    choice = inputs.get("tool_choice")
    if not tools_on(inputs, messages):
        return []
    last = last_user_text(inputs)
    calls = _directives(last, tools)
    if not calls and FILE_SEARCH in tools and _searches(FILE_SEARCH, tools[FILE_SEARCH]):
        calls = [Call(FILE_SEARCH, _arguments(FILE_SEARCH, tools[FILE_SEARCH], last))]
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        if name not in tools:
            raise invalid_input(f"tool_choice names an unknown function '{name}'")
        calls = [c for c in calls if c.name == name] or [Call(name, _arguments(name, tools[name], last))]
    elif choice == "required" and not calls:
        first = next(iter(tools))
        calls = [Call(first, _arguments(first, tools[first], last))]
    return calls[:1] if inputs.get("parallel_tool_calls") is False else calls


def _tool_results(messages: list[dict[str, Any]]) -> list[str]:
    results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        results.append(str(content or ""))
    return results[::-1]


def cited_answer(results: list[str]) -> str | None:
    """The answer to file_search results: the first sentence of the first result, and its marker
    (None: the results are not a search's)."""
    for result in results:
        lines = result.splitlines()
        starts = [i for i, line in enumerate(lines) if _SOURCE.match(line)]
        if not starts:
            continue
        first = starts[0]
        end = starts[1] if len(starts) > 1 else len(lines)
        body = " ".join(line.strip() for line in lines[first + 1:end] if line.strip() and not line.startswith("#"))
        match = _SENTENCE.match(body)
        sentence = (match.group(1) if match else body[:200]).strip() or "The file says nothing more."
        return f"{sentence} [{lines[first][1:].partition(']')[0]}]"
    return None


def images(messages: list[dict[str, Any]]) -> list[str]:
    """The image URLs in the messages' content parts."""
    urls = []
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [content] if isinstance(content, dict) else []
        for part in parts:
            if isinstance(part, dict) and part.get("type") == "image_url":
                urls.append(str((part.get("image_url") or {}).get("url", "")))
    return urls


def json_schema_of(inputs: dict[str, Any]) -> tuple[bool, Any]:
    """(JSON mode on?, schema or None) from ``response_format`` (either shape) or ``guided_json``."""
    if isinstance(inputs.get("guided_json"), dict):
        return True, inputs["guided_json"]
    fmt = inputs.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_object", "json_schema"):
        return False, None
    if fmt["type"] == "json_object":
        return True, None
    spec = fmt.get("json_schema")
    if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):  # OpenAI shape {name, schema, strict}
        return True, spec["schema"]
    return True, spec if isinstance(spec, dict) else {"type": "object"}


def _prompted(inputs: dict[str, Any], seed: str) -> dict[str, Any] | None:
    """An instance of the schema the conversation's text asks for, when it asks for one the simulator can
    read (a prompt is no ``response_format``: a schema it cannot read is no 400, just not followed)."""
    schema = prompt_schema(inputs)
    if schema is None:
        return None
    try:
        value = instance(schema, seed)
    except SimulatedFailure:
        return None
    return value if isinstance(value, dict) else None


def _fenced(inputs: dict[str, Any], last: str) -> str | None:
    """An instance of the schema the conversation gives, in the ```json block its last user message asks
    for (instructor's MD_JSON mode parses the block), or None (an ``echo:`` is echoed; no schema, the usual
    reply)."""
    if last.startswith("echo:"):
        return None
    value = _prompted(inputs, last)
    return None if value is None else f"{FENCE}\n{dumps(value, indent=2, ensure_ascii=False)}\n```"


def thinks(model: ModelInfo, inputs: dict[str, Any]) -> bool:
    """Whether the model reasons for these inputs (not when thinking is turned off)."""
    kwargs = inputs.get("chat_template_kwargs")
    if isinstance(kwargs, dict) and kwargs.get("enable_thinking") is False:
        return False
    return model.supports(REASONING) and inputs.get("reasoning_effort") != "none"


def decide(model: ModelInfo, inputs: dict[str, Any], prompt: str) -> Answer:
    """The model's answer to validated ``inputs`` (``prompt``: the prompt as text, for usage)."""
    messages: list[dict[str, Any]] = inputs.get("messages") or []
    answer = Answer(prompt_tokens=tokens(prompt))
    budget = int(inputs.get("max_tokens") or inputs.get("max_completion_tokens") or DEFAULT_MAX_TOKENS)
    json_mode, schema = json_schema_of(inputs)
    last = last_user_text(inputs)
    if thinks(model, inputs) and not json_mode:
        first_words = " ".join(last.split()[:6])
        answer.reasoning, cut = truncate(f"The user asks: {first_words}. I will answer.", budget)
        budget -= tokens(answer.reasoning)
        if cut or budget <= 0:
            answer.finish_reason = "length"
            answer.completion_tokens = tokens(answer.reasoning)
            return answer
    answer.calls = _calls(inputs, messages)
    results = _tool_results(messages)
    pictures = images(messages)
    written = [] if answer.calls or not tools_on(inputs, messages) else _directives(
        last, tool_schemas(inputs), _TEXT_CALL)
    if written:  # the call as text: the gateway must recognise it
        if len(written) == 1:
            answer.text = dumps({"name": written[0].name, "parameters": written[0].arguments})
        else:
            answer.text = "\n".join(
                f"<tool_call>{dumps({'name': c.name, 'arguments': c.arguments})}</tool_call>" for c in written)
        answer.completion_tokens = tokens(answer.reasoning) + tokens(answer.text)
        return answer
    if answer.calls:
        answer.finish_reason = "tool_calls"
        spent = sum(tokens(dumps(c.arguments)) for c in answer.calls)
        answer.completion_tokens = tokens(answer.reasoning) + spent
        return answer
    if json_mode:
        prompted = _prompted(inputs, last) if schema is None or schema == ANY_OBJECT else None
        if prompted is not None:
            answer.value = prompted
        elif schema is None:
            answer.value = {"answer": reply(inputs)}
        elif _search_schema(schema):
            answer.value = _arguments(FILE_SEARCH, schema, last)
        else:
            answer.value = instance(schema, last)
        answer.text = dumps(answer.value, ensure_ascii=False)
    elif results:
        answer.text = cited_answer(results) or "Tool results: " + "; ".join(results)
    elif FENCE in last and (fenced := _fenced(inputs, last)) is not None:
        answer.text = fenced
    elif pictures and not last.startswith("echo:"):
        kinds = ", ".join(u[5:].partition(";")[0] or "unknown" for u in pictures)
        answer.text = f"I received {len(pictures)} image{'s' if len(pictures) != 1 else ''}: {kinds}."
    else:
        answer.text = reply(inputs)
    if not json_mode:  # JSON mode is constrained decoding: never cut mid-document
        answer.text, cut = truncate(answer.text, budget)
        if cut:
            answer.finish_reason = "length"
    answer.completion_tokens = tokens(answer.reasoning) + tokens(answer.text)
    return answer
