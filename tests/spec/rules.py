"""Derive the request rules the gateway enforces from OpenAI's spec: ``python -m tests.spec.rules``
(re)writes ``src/openai_workers_ai/openai_rules.py``; ``tests/test_spec_rules.py`` fails when that
file is not what this derives, so a newer spec shows up as a diff.

From each served request schema (:data:`SCHEMAS`) and every schema it references, only what
validates is kept — ``type`` (``nullable`` as a ``null`` type), ``enum`` / ``const``, numeric
bounds, string lengths and ``pattern``, array item counts, ``maxProperties`` /
``propertyNames``, ``properties`` / ``required`` / ``items`` / ``additionalProperties`` (a
schema), ``allOf`` / ``anyOf`` / ``oneOf`` (one union) and ``$ref`` (to ``DEFS``); descriptions,
examples and defaults are dropped. Rules OpenAI states only in a field's description are added
from :data:`DOCUMENTED` (each quoting its description); the request's ``model`` is left to the
model catalog, which answers first (404 for an unknown model, as OpenAI does).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from pprint import pformat
from typing import Any

from ..openapi import _spec

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "src" / "openai_workers_ai" / "openai_rules.py"

SCHEMAS = (
    "CreateChatCompletionRequest",
    "CreateCompletionRequest",
    "CreateEmbeddingRequest",
    "CreateSpeechRequest",
    "CreateImageRequest",
    "CreateModerationRequest",
    # Responses
    "CreateResponse",
    "TokenCountsBody",
    "CompactBody",
    # Assistants: assistants, threads, messages, runs
    "CreateAssistantRequest",
    "ModifyAssistantRequest",
    "CreateThreadRequest",
    "ModifyThreadRequest",
    "CreateMessageRequest",
    "ModifyMessageRequest",
    "CreateRunRequest",
    "CreateThreadAndRunRequest",
    "ModifyRunRequest",
    "SubmitToolOutputsRunRequest",
    # vector stores, their files and file batches
    "CreateVectorStoreRequest",
    "UpdateVectorStoreRequest",
    "VectorStoreSearchRequest",
    "CreateVectorStoreFileRequest",
    "UpdateVectorStoreFileAttributesRequest",
    "CreateVectorStoreFileBatchRequest",
    # conversations
    "CreateConversationBody",
    "UpdateConversationBody",
    "CreateItemsBody",
)
"""The JSON request bodies served, by the names of their pydantic models (the check is looked up by
that name): the spec's schema names, but for those in :data:`SOURCES`."""

SOURCES: dict[str, str] = {
    "CompactBody": "CompactResponseMethodPublicBody",
    "CreateItemsBody": "POST /conversations/{conversation_id}/items",  # an inline schema: the operation's body
}
"""Where a served model's name is not the spec's: the spec's schema, or the operation whose JSON request
body it is."""

KEPT = ("enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
        "minItems", "maxItems", "maxProperties", "required")

# (schema, dotted path — "*" for additionalProperties values, "[]" for items —, the keywords added,
#  the sentence of OpenAI's description that states the rule). The schema is a served request (the
# rule holds there only) or a definition of the spec (the rule holds wherever it is referenced).
DOCUMENTED: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("CreateChatCompletionRequest", "logit_bias.*", {"minimum": -100, "maximum": 100},
     "logit_bias: 'an associated bias value from -100 to 100'"),
    ("CreateCompletionRequest", "logit_bias.*", {"minimum": -100, "maximum": 100},
     "logit_bias: 'an associated bias value from -100 to 100'"),
    ("CreateChatCompletionRequest", "max_tokens", {"minimum": 1},
     "max_tokens: 'The maximum number of tokens that can be generated', which OpenAI holds to at least 1: \"Invalid "
     "'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.\" (it-at-m/mucgpt#608)"),
    ("CreateChatCompletionRequest", "max_completion_tokens", {"minimum": 1},
     "max_completion_tokens: 'An upper bound for the number of tokens that can be generated', max_tokens' successor "
     "(at least 1, as max_tokens)"),
    ("CreateChatCompletionRequest", "tools", {"maxItems": 128},
     "tools: 'A max of 128 functions are supported.' (as for functions)"),
    ("FunctionObject", "name", {"maxLength": 64, "pattern": "^[a-zA-Z0-9_-]+$"},
     "FunctionObject.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64.'"),
    ("ChatCompletionFunctions", "name", {"maxLength": 64, "pattern": "^[a-zA-Z0-9_-]+$"},
     "ChatCompletionFunctions.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum "
     "length of 64.'"),
    ("ResponseFormatJsonSchema", "json_schema.name", {"maxLength": 64, "pattern": "^[a-zA-Z0-9_-]+$"},
     "JSONSchema.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a maximum length of 64.'"),
    ("TextResponseFormatJsonSchema", "name", {"maxLength": 64, "pattern": "^[a-zA-Z0-9_-]+$"},
     "TextResponseFormatJsonSchema.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes, with a "
     "maximum length of 64.'"),
    ("FunctionTool", "name", {"pattern": "^[a-zA-Z0-9_-]+$"},
     "FunctionTool.name: the function-name rule of FunctionObject.name ('Must be a-z, A-Z, 0-9, or contain "
     "underscores and dashes'), which the Responses API answers as \"Invalid 'tools[0].name': string does not "
     "match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.\" (its length it does not "
     "check)"),
    ("Metadata", "",
     {"maxProperties": 16, "propertyNames": {"maxLength": 64}, "additionalProperties": {"maxLength": 512}},
     "Metadata: 'Set of 16 key-value pairs … Keys are strings with a maximum length of 64 characters. Values are "
     "strings with a maximum length of 512 characters.'"),
    ("CreateEmbeddingRequest", "input[][]", {},
     "input: 'The input must not exceed the max input tokens for the model (8192 tokens) … all embedding models "
     "enforce a maximum of 300,000 tokens summed across all inputs' (enforced by the door on token arrays)"),
)


# (definition, the keys its ``required`` lists that OpenAI does not require, why). The spec marks as
# required what its SDKs always send (nullable fields the generated types must carry); OpenAI takes
# requests without them, documents them as optional, and so does the gateway.
RELAXED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("FunctionTool", ("strict", "parameters"),
     "Responses function tools: 'strict' is nullable and defaults to true when left out ('functions are strict "
     "by default' in Responses); 'parameters' is nullable (a function that takes none)"),
    ("InputImageContent", ("detail",),
     "input_image.detail: the vision guide's input_image parts leave it out (it defaults to auto)"),
    ("OutputMessage", ("id", "status"),
     "an assistant message sent back as history: required as fields of the output object; as input the "
     "gateway takes it without them, as hand-built histories send it (an id, when given, is kept)"),
    ("OutputTextContent", ("annotations", "logprobs"),
     "output_text parts sent back as history: what the model returned with the text, not input"),
)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


_SHAPES = ("$ref", "type", "enum", "const", "anyOf", "oneOf", "allOf", "properties", "items")


def _nullable(schema: Any) -> bool:
    """Whether ``schema`` also takes null through a part of its ``allOf`` that says nothing else
    (``allOf: [{$ref: X}, {nullable: true}]``; ``nullable`` elsewhere is read as a ``null`` type)."""
    return isinstance(schema, dict) and any(_only_null(part) for part in schema.get("allOf", ()))


def _only_null(part: Any) -> bool:
    if not isinstance(part, dict):
        return False
    if part.get("nullable") is True:  # as written in the spec
        return not any(k in part for k in _SHAPES)
    # as tests/openapi.py reads it: {"anyOf": [{…nothing…}, {"type": "null"}]}
    options = part.get("anyOf")
    return (isinstance(options, list) and {"type": "null"} in options
            and all(not any(k in o for k in _SHAPES) for o in options if o != {"type": "null"}))


def _admits_null(node: dict[str, Any]) -> bool:
    return "null" in node.get("type", ()) or any(o.get("type") == ["null"] for o in node.get("anyOf", ()))


class Deriver:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.paths: dict[str, Any] = spec["paths"]
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.defs: dict[str, Any] = {}

    def node(self, schema: Any) -> dict[str, Any]:
        out = self._node(schema)
        if out and _nullable(schema) and not _admits_null(out):
            # OpenAPI 3.0's ``nullable`` beside a ``$ref``, or as a part of ``allOf``
            return {"anyOf": [out, {"type": ["null"]}]}
        return out

    def _node(self, schema: Any) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema:
            name = _ref_name(schema["$ref"])
            if name not in self.defs:
                self.defs[name] = {}  # placeholder: references back to it (recursion) stay references
                self.defs[name] = self.node(self.schemas[name])
            return {"$ref": name} if self.defs[name] else {}
        out: dict[str, Any] = {}
        kind = schema.get("type")
        if kind is not None:
            types = list(kind) if isinstance(kind, list) else [kind]
            if schema.get("nullable") is True and "null" not in types:
                types.append("null")
            out["type"] = types
        if "const" in schema:
            out["enum"] = [schema["const"]]
        for key in KEPT:
            if key in schema and key != "required":
                out[key] = schema[key]
        required = [r for r in schema.get("required", ()) if r != "model"]
        if required:
            out["required"] = required
        properties = {name: self.node(sub) for name, sub in (schema.get("properties") or {}).items()}
        properties = {name: sub for name, sub in properties.items() if sub}
        if properties:
            out["properties"] = properties
        if isinstance(schema.get("items"), dict) and (items := self.node(schema["items"])):
            out["items"] = items
        if isinstance(schema.get("additionalProperties"), dict) and (values := self.node(schema["additionalProperties"])):
            out["additionalProperties"] = values
        options = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
        if options:
            derived = [self.node(o) for o in options]
            if all(derived):  # an unconstrained option lets anything through: no union to check
                if schema.get("nullable") is True:
                    derived.append({"type": ["null"]})
                out["anyOf"] = derived
        parts = [p for p in (self.node(s) for s in schema.get("allOf", ())) if p]
        if parts:
            out["allOf"] = parts
        return out

    def source(self, name: str) -> Any:
        """The spec's schema for the served request ``name`` (:data:`SOURCES`)."""
        source = SOURCES.get(name, name)
        if " " in source:
            method, path = source.split(" ", 1)
            return self.paths[path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        return self.schemas[source]

    def root(self, name: str) -> dict[str, Any]:
        schema = self.node(self.source(name))
        self._drop_model(schema)
        return schema

    def _drop_model(self, node: dict[str, Any]) -> None:
        node.get("properties", {}).pop("model", None)
        for part in node.get("allOf", ()):
            if "$ref" in part:
                resolved = self.defs[part["$ref"]] = json.loads(json.dumps(self.defs[part["$ref"]]))
                self._drop_model(resolved)
            else:
                self._drop_model(part)


def _at(node: dict[str, Any], path: str, defs: dict[str, Any]) -> dict[str, Any]:
    """The node at ``path`` (a copy is made of any definition on the way, so the patch stays local)."""
    for step in path.replace("[]", ".[]").split(".") if path else ():
        while "$ref" in node:
            node.update(json.loads(json.dumps(defs[node.pop("$ref")])))
        if step == "[]":
            node = node.setdefault("items", {})
        elif step == "*":
            node = node.setdefault("additionalProperties", {})
        else:
            holder = next((p for p in [node, *node.get("allOf", ())] if step in p.get("properties", {})), node)
            node = holder.setdefault("properties", {}).setdefault(step, {})
    while "$ref" in node:
        node.update(json.loads(json.dumps(defs[node.pop("$ref")])))
    return node


def _patch(node: dict[str, Any], rule: dict[str, Any]) -> None:
    options = [o for o in node.get("anyOf", ()) if o.get("type") != ["null"]]
    for target in options or [node]:
        _merge(target, json.loads(json.dumps(rule)))


def _merge(node: dict[str, Any], rule: dict[str, Any]) -> None:
    """``rule``'s keywords into ``node``, keeping what a schema keyword (``additionalProperties``) held."""
    for key, value in rule.items():
        if isinstance(value, dict) and isinstance(node.get(key), dict):
            _merge(node[key], value)
        else:
            node[key] = value


def derive() -> tuple[dict[str, Any], dict[str, Any]]:
    deriver = Deriver(_spec())
    roots = {name: deriver.root(name) for name in SCHEMAS}
    for schema, keys, _why in RELAXED:
        node = deriver.defs[schema]
        node["required"] = [r for r in node["required"] if r not in keys]
        if not node["required"]:
            del node["required"]
    # Definitions first, so that a served request's own rule patches a copy that has them.
    for schema, path, rule, _why in sorted(DOCUMENTED, key=lambda d: d[0] in roots):
        if rule:
            _patch(_at(roots[schema] if schema in roots else deriver.defs[schema], path, deriver.defs), rule)
    used: dict[str, Any] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"] not in used:
                used[node["$ref"]] = deriver.defs[node["$ref"]]
                collect(used[node["$ref"]])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(roots)
    return roots, dict(sorted(used.items()))


HEADER = '''"""OpenAI's request rules, derived from its OpenAPI spec (MIT) by ``tests/spec/rules.py``: do not edit,
run ``python -m tests.spec.rules`` instead. Checked by :mod:`openai_workers_ai.spec_rules`."""

# fmt: off
from typing import Any

'''


def render() -> str:
    roots, defs = derive()
    return (HEADER + "SCHEMAS: dict[str, Any] = " + pformat(roots, width=120, sort_dicts=False)
            + "\n\nDEFS: dict[str, Any] = " + pformat(defs, width=120, sort_dicts=False) + "\n")


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)} ({TARGET.stat().st_size} bytes)", file=sys.stderr)
