"""A deterministic JSON instance valid for a JSON Schema (the simulator's JSON mode).

Covers what structured-output schemas use: ``type`` (one or a list), ``properties`` /
``required`` / ``additionalProperties``, ``items`` / ``minItems`` / ``maxItems``,
``enum`` / ``const``, ``anyOf`` / ``oneOf`` / ``allOf``, ``$ref`` into ``$defs`` /
``definitions``, string ``minLength`` / ``maxLength`` / ``format`` (date, date-time,
email, uri, uuid) and numeric ``minimum`` / ``maximum`` / exclusive bounds /
``multipleOf``. Every property is filled in, so the instance is valid for
strict schemas (all properties required) and lenient ones alike. A schema it cannot read
(``"type": {}``, ``"minItems": "x"`` …) is the model's 400 (``invalid_input``), as
Workers AI refuses a malformed schema; sizes are capped at :data:`MAX_SIZE`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .failures import invalid_input

FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
MAX_DEPTH = 8
MAX_SIZE = 1000
"""Most items / characters generated for one array / string, whatever ``minItems`` / ``minLength`` ask."""


def instance(schema: Any, seed: str = "") -> Any:
    """A value valid for ``schema`` (deterministic for the same ``seed``)."""
    root = schema if isinstance(schema, dict) else {}
    try:
        return _value(root, root, seed, 0)
    except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        raise invalid_input(f"the JSON schema is not valid ({type(exc).__name__}: {exc})") from None


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    merged = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return _resolve(merged, root) if "$ref" in node else merged


def _word(seed: str, key: str) -> str:
    return "v" + hashlib.sha256(f"{seed}/{key}".encode()).hexdigest()[:6]


def _value(schema: Any, root: dict[str, Any], seed: str, depth: int) -> Any:
    if not isinstance(schema, dict):
        return None if schema is False else {}
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            # Prefer a non-null option, as a model filling a field would.
            chosen = next((o for o in options if _resolve(o, root).get("type") != "null"), options[0])
            return _value({**{k: v for k, v in schema.items() if k != key}, **_resolve(chosen, root)},
                          root, seed, depth)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _resolve(part, root) if isinstance(part, dict) else {}
            merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
            merged.update({k: v for k, v in part.items() if k != "properties"})
        return _value(merged, root, seed, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if depth > MAX_DEPTH and kind in ("object", "array"):
        return {} if kind == "object" else []
    return _BUILDERS.get(kind, _null)(schema, root, seed, depth)


def _object(schema: dict[str, Any], root: dict[str, Any], seed: str, depth: int) -> Any:
    properties = schema.get("properties") or {}
    return {name: _value(sub, root, f"{seed}/{name}", depth + 1) for name, sub in properties.items()}


def _array(schema: dict[str, Any], root: dict[str, Any], seed: str, depth: int) -> Any:
    count = min(max(int(schema.get("minItems", 0)), 1), MAX_SIZE)
    if schema.get("maxItems") is not None:
        count = min(count, int(schema["maxItems"]))
    prefix = schema.get("prefixItems") or []
    items = schema.get("items", {})
    return [
        _value(prefix[i] if i < len(prefix) else items, root, f"{seed}/{i}", depth + 1)
        for i in range(max(count, len(prefix)))
    ]


def _string(schema: dict[str, Any], root: dict[str, Any], seed: str, depth: int) -> Any:
    if schema.get("format") in FORMATS:
        return FORMATS[schema["format"]]
    text = _word(seed, "s")
    low, high = min(int(schema.get("minLength", 0)), MAX_SIZE), schema.get("maxLength")
    text = text.ljust(low, "x")
    return text if high is None else text[: int(high)]


def _number(schema: dict[str, Any], root: dict[str, Any], seed: str, depth: int) -> Any:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    integer = schema.get("type") == "integer" or (isinstance(schema.get("type"), list) and "integer" in schema["type"])
    value: float = int(hashlib.sha256(seed.encode()).digest()[0]) % 100
    if low is not None:
        value = max(value, low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0))
    if high is not None:
        value = min(value, high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0))
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        value = (value // step) * step
        if low is not None and value < low:
            value += step
    return int(value) if integer or float(value).is_integer() else value


def _boolean(schema: dict[str, Any], root: dict[str, Any], seed: str, depth: int) -> Any:
    return True


def _null(schema: dict[str, Any], root: dict[str, Any], seed: str, depth: int) -> Any:
    return None


_BUILDERS = {
    "object": _object,
    "array": _array,
    "string": _string,
    "number": _number,
    "integer": _number,
    "boolean": _boolean,
    "null": _null,
}
