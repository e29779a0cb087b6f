"""OpenAI's rules for ``strict: true`` schemas (Structured Outputs), checked before any model call.

With ``strict``, OpenAI rejects a schema unless the root is an object and every object in it
(properties, items, ``$defs``, ``anyOf`` branches, …) sets ``additionalProperties: false`` and
lists every property in ``required``. The official client's ``parse()`` and
``pydantic_function_tool`` produce such schemas; hand-written ones often don't.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest

_NESTED_MAPS = ("properties", "$defs", "definitions")
_NESTED_LISTS = ("anyOf", "allOf", "prefixItems")


def problem(schema: Any) -> str | None:
    """The first violation of the strict rules, worded as OpenAI words it, or None."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        return "In context=(), schema must be a JSON Schema of 'type: \"object\"', got " + (
            f"'type: \"{schema.get('type')}\"'." if isinstance(schema, dict) else "a non-object.")
    return _walk(schema, ())


def _walk(node: Any, context: tuple[str, ...]) -> str | None:
    if not isinstance(node, dict):
        return None
    where = f"In context={context!r}, " if context else "In context=(), "
    for key, kind in (("required", list), *((k, dict) for k in _NESTED_MAPS), *((k, list) for k in _NESTED_LISTS)):
        if node.get(key) is not None and not isinstance(node[key], kind):  # walked below: must be the right kind
            return where + f"'{key}' must be {'an object' if kind is dict else 'an array'}."
    properties = node.get("properties")
    if node.get("type") == "object" or isinstance(properties, dict):
        if node.get("additionalProperties") is not False:
            return where + "'additionalProperties' is required to be supplied and to be false."
        missing = [k for k in properties or {} if k not in (node.get("required") or [])]
        if missing:
            return (where + "'required' is required to be supplied and to be an array including every key "
                    f"in properties. Missing '{missing[0]}'.")
    for key in _NESTED_MAPS:
        for name, sub in (node.get(key) or {}).items():
            found = _walk(sub, (*context, key, name))
            if found:
                return found
    for key in _NESTED_LISTS:
        for i, sub in enumerate(node.get(key) or ()):
            found = _walk(sub, (*context, key, str(i)))
            if found:
                return found
    return _walk(node.get("items"), (*context, "items"))


def check_response_format(name: str, schema: Any) -> None:
    """400 (``invalid_json_schema``) unless a strict ``response_format`` schema follows OpenAI's rules."""
    found = problem(schema)
    if found:
        raise InvalidRequest(f"Invalid schema for response_format '{name}': {found}",
                             param="response_format", code="invalid_json_schema")


def check_tool(position: int, name: str, schema: Any) -> None:
    """400 (``invalid_function_parameters``) unless a strict tool's parameters follow OpenAI's rules. A tool
    without ``parameters`` has an object schema with no ``additionalProperties: false``, which OpenAI refuses
    ("In context=(), 'additionalProperties' is required to be supplied and to be false.", openai/openai-dotnet,
    tests/SessionRecords/ChatToolTests/StructuredOutputs(WithoutSchema,Strict,FailureExpected).json)."""
    found = problem(schema if schema is not None else {"type": "object", "properties": {}})
    if found:
        raise InvalidRequest(f"Invalid schema for function '{name}': {found}",
                             param=f"tools[{position}].function.parameters", code="invalid_function_parameters")
