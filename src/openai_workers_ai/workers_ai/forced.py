"""A forced tool choice as constrained output (pure): the schema the answer is held to, and the
instruction that tells the model which function it calls.

For models that take no ``tool_choice`` (:func:`.families.forced_tools` decides which): no tools
are sent; the model is told in the system message which function to call, and its answer is held
to the function's parameter schema (JSON mode / ``guided_json``), or for ``required`` among several
tools to a choice of ``{"name", "arguments"}`` objects. :func:`.outputs.forced_call` reads the
answer back as a tool call.
"""

from __future__ import annotations

from dataclasses import replace
from json import dumps
from typing import Any

from .spec import Message, Tool


def schema_of(tool: Tool) -> dict[str, Any]:
    """The tool's parameter schema, an object schema when it gives none."""
    parameters = dict(tool.parameters or {})
    parameters.setdefault("type", "object")
    if parameters["type"] == "object":
        parameters.setdefault("properties", {})
    return parameters


def forced_schema(tools: tuple[Tool, ...]) -> dict[str, Any]:
    """The JSON schema a forced answer follows: the one tool's parameters, or a choice of
    ``{"name": <tool>, "arguments": <its parameters>}`` objects (each tool's ``$defs`` lifted to
    the root under the tool's name, so its ``$ref`` s still resolve)."""
    if len(tools) == 1:
        return schema_of(tools[0])
    options: list[dict[str, Any]] = []
    lifted: dict[str, Any] = {}
    for tool in tools:
        parameters = schema_of(tool)
        definitions = {**parameters.pop("definitions", {}), **parameters.pop("$defs", {})}
        prefix = f"{tool.name}."
        lifted.update({prefix + k: _renamed(v, prefix) for k, v in definitions.items()})
        options.append({
            "type": "object",
            "properties": {"name": {"type": "string", "enum": [tool.name]}, "arguments": _renamed(parameters, prefix)},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        })
    schema: dict[str, Any] = {"anyOf": options}
    if lifted:
        schema["$defs"] = lifted
    return schema


def _renamed(node: Any, prefix: str) -> Any:
    """``node`` with ``#/$defs/X`` (and ``#/definitions/X``) references pointing at ``#/$defs/<prefix>X``."""
    if isinstance(node, list):
        return [_renamed(item, prefix) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _renamed(v, prefix) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str):
        for root in ("#/$defs/", "#/definitions/"):
            if ref.startswith(root):
                out["$ref"] = "#/$defs/" + prefix + ref[len(root):]
    return out


def instructed(messages: tuple[Message, ...], tools: tuple[Tool, ...], given: int) -> tuple[Message, ...]:
    """The conversation with the forced choice spelled out in its system message: no tools are
    sent, so the model learns here what the function is for and what its answer must be."""
    def described(tool: Tool) -> str:
        schema = dumps(schema_of(tool), ensure_ascii=False, separators=(",", ":"))
        return f"`{tool.name}`" + (f" ({tool.description})" if tool.description else "") + f", parameters: {schema}"

    if len(tools) == 1:
        instruction = (f"Call the function {described(tools[0])}. Answer with only the JSON object of "
                       "its arguments.")
    else:
        listed = "\n".join(f"- {described(t)}" for t in tools)
        instruction = ("Call one of these functions:\n" + listed + '\nAnswer with only a JSON object '
                       '{"name": <the function\'s name>, "arguments": <its arguments>}.')
    if given > len(tools):
        instruction += " Do not call any other function."
    if messages and messages[0].role == "system" and isinstance(messages[0].content, str):
        first = messages[0]
        return (replace(first, content=f"{first.content}\n\n{instruction}" if first.content else instruction),
                *messages[1:])
    return (Message("system", instruction), *messages)
