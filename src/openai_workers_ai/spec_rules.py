"""OpenAI's request rules, checked on the JSON body as sent, before anything else reads it.

Two kinds, each from OpenAI's own words:

- **the spec's**: every range, enum, length, item count, pattern and ``maxProperties`` of the
  served request schemas and the schemas they reference, plus the rules OpenAI states only in a
  field's description — derived from its OpenAPI spec into :mod:`.openai_rules` by
  ``tests/spec/rules.py`` (not written by hand, field by field);
- **cross-field rules** from field descriptions (:data:`CROSS_FIELD`: what needs what, what
  excludes what), each quoting the sentence it enforces.

Errors are worded as OpenAI words them (``Invalid 'temperature': decimal above maximum value. …``,
``Invalid value: 'x'. Supported values are: …``, ``Missing required parameter: '…'``) and name
the param at fault (``messages[2].content[0].type``). A request's pydantic model (the doors'
types) validates after these, for what the gateway itself needs.

Nearly every body breaks no rule, so each schema is also compiled once into a test that only answers
"valid?" (:func:`_valid`, a few µs a chat request where walking the rules costs ~30); only a body it
finds invalid is walked (:func:`_error`) to find and word the 400, so every message comes from one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from .errors import InvalidRequest
from .openai_rules import DEFS, SCHEMAS

Node = dict[str, Any]

_NAMES = {"string": "a string", "integer": "an integer", "number": "a decimal", "boolean": "a boolean",
          "object": "an object", "array": "an array", "null": "null"}


def check(schema: str, body: Any) -> None:
    """400 for the first of OpenAI's rules ``body`` breaks (``schema``: the request schema's name);
    schemas not derived (not an OpenAI JSON body) are not checked."""
    node = SCHEMAS.get(schema)
    if node is None or not isinstance(body, dict):
        return
    first, later = _cross_field(schema)
    for rule in first:
        if (rule.given is None or rule.given in body) and (message := rule.check(body)) is not None:
            raise rule.error(body, message)
    if not _VALID[id(node)](body) and (error := _error(node, body, "")) is not None:
        raise error
    for rule in later:
        if (rule.given is None or rule.given in body) and (message := rule.check(body)) is not None:
            raise rule.error(body, message)


def _cross_field(schema: str) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """The schema's cross-field rules: those answered before its own rules, and those after."""
    return _CROSS_FIELD_BY_SCHEMA.get(schema) or ((), ())


# ---- the spec's rules --------------------------------------------------------------------------


_KINDS: dict[type, str] = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string",
                          list: "array", dict: "object"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), "unknown")


def _fits(kind: str, types: list[str]) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _resolved(node: Node) -> Node:
    while "$ref" in node and len(node) == 1:
        node = DEFS[node["$ref"]]
    return node


def _admits(node: Node, kind: str) -> bool:
    """Whether ``node`` can hold a value of JSON type ``kind`` (the first cut among union options)."""
    node = _resolved(node)
    if "$ref" in node and not _admits(DEFS[node["$ref"]], kind):
        return False
    if "type" in node and not _fits(kind, node["type"]):
        return False
    if "anyOf" in node and not any(_admits(o, kind) for o in node["anyOf"]):
        return False
    return all(_admits(p, kind) for p in node.get("allOf", ()))


def _types(node: Node) -> list[str]:
    node = _resolved(node)
    if "type" in node:
        return list(node["type"])
    found: list[str] = []
    for option in node.get("anyOf", ()):
        found += [t for t in _types(option) if t not in found]
    return found


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + (", or " if len(names) > 2 else " or ") + names[-1]


def _where(param: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{param}[{key}]"
    if not key:  # an empty key names nothing: the object holding it is the param
        return param
    return f"{param}.{key}" if param else key


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "…"


def _quoted(values: list[Any]) -> str:
    shown = [f"'{_shown(v)}'" for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + ", and " + shown[-1]


def _error(node: Node, value: Any, param: str) -> InvalidRequest | None:
    """The first rule of ``node`` that ``value`` breaks, as OpenAI's 400."""
    if "$ref" in node:
        found = _error(DEFS[node["$ref"]], value, param)
        if found is not None:
            return found
    kind = _kind(value)
    if "type" in node and not _fits(kind, node["type"]):
        expected = _join([_NAMES.get(t, t) for t in node["type"]])
        return InvalidRequest(f"Invalid type for '{param}': expected {expected}, but got {_NAMES.get(kind, kind)} "
                              "instead.", param=param, code="invalid_type")
    if "enum" in node and not any(type(value) is type(v) and value == v for v in node["enum"]):
        return InvalidRequest(f"Invalid value: '{_shown(value)}'. Supported values are: {_quoted(node['enum'])}.",
                              param=param, code="invalid_value")
    checker = _CHECKS.get(kind)
    found = checker(node, value, param) if checker is not None else None
    if found is not None:
        return found
    if "anyOf" in node:
        found = _union(node["anyOf"], value, param)
        if found is not None:
            return found
    for part in node.get("allOf", ()):
        found = _error(part, value, param)
        if found is not None:
            return found
    return None


def _bounds(node: Node, value: Any, param: str) -> InvalidRequest | None:
    # Named by the field's type, as OpenAI does ('temperature': 5 is a decimal above maximum value).
    types = node.get("type", ())
    noun = ("integer" if "integer" in types else "decimal" if "number" in types
            else "integer" if isinstance(value, int) else "decimal")
    for key, broken, relation, side in (("minimum", value < node.get("minimum", value), ">=", "below minimum"),
                                        ("maximum", value > node.get("maximum", value), "<=", "above maximum"),
                                        ("exclusiveMinimum", value <= node.get("exclusiveMinimum", value - 1), ">",
                                         "below minimum"),
                                        ("exclusiveMaximum", value >= node.get("exclusiveMaximum", value + 1), "<",
                                         "above maximum")):
        if key in node and broken:
            code = f"{noun}_{side.replace(' ', '_')[:-4]}_value"  # decimal_above_max_value, as OpenAI's
            return InvalidRequest(f"Invalid '{param}': {noun} {side} value. Expected a value {relation} {node[key]}, "
                                  f"but got {value} instead.", param=param, code=code)
    return None


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _string(node: Node, value: str, param: str) -> InvalidRequest | None:
    if "maxLength" in node and len(value) > node["maxLength"]:
        return InvalidRequest(f"Invalid '{param}': string too long. Expected a string with maximum length "
                              f"{node['maxLength']}, but got a string with length {len(value)} instead.",
                              param=param, code="string_above_max_length")
    if "minLength" in node and len(value) < node["minLength"]:
        return InvalidRequest(f"Invalid '{param}': string too short. Expected a string with minimum length "
                              f"{node['minLength']}, but got a string with length {len(value)} instead.",
                              param=param, code="string_below_min_length")
    if "pattern" in node and not _pattern(node["pattern"]).search(value):
        return InvalidRequest(f"Invalid '{param}': string does not match pattern. Expected a string that matches "
                              f"the pattern '{node['pattern']}'.", param=param, code="invalid_value")
    return None


def _array(node: Node, value: list[Any], param: str) -> InvalidRequest | None:
    if "minItems" in node and len(value) < node["minItems"]:
        if not value:
            return InvalidRequest(f"Invalid '{param}': empty array. Expected an array with minimum length "
                                  f"{node['minItems']}, but got an empty array instead.", param=param,
                                  code="empty_array")
        return InvalidRequest(f"Invalid '{param}': array too short. Expected an array with minimum length "
                              f"{node['minItems']}, but got an array with length {len(value)} instead.",
                              param=param, code="array_below_min_length")
    if "maxItems" in node and len(value) > node["maxItems"]:
        return InvalidRequest.array_too_long(param, node["maxItems"], len(value))
    items = node.get("items")
    if items is not None:
        for i, item in enumerate(value):
            found = _error(items, item, _where(param, i))
            if found is not None:
                return found
    return None


def _object(node: Node, value: dict[str, Any], param: str) -> InvalidRequest | None:
    if "maxProperties" in node and len(value) > node["maxProperties"]:
        return InvalidRequest(f"Invalid '{param}': too many properties. Expected an object with at most "
                              f"{node['maxProperties']} properties, but got an object with {len(value)} properties "
                              "instead.", param=param, code="object_above_max_properties")
    names = node.get("propertyNames")
    if names is not None:
        longest = names.get("maxLength")
        for key in value:
            if longest is not None and len(key) > longest:
                return InvalidRequest(f"Invalid '{param}': key too long. Expected keys of maximum length "
                                      f"{longest}, but got a key of length {len(key)} instead.", param=param,
                                      code="invalid_value")
    for name in node.get("required", ()):
        if name not in value:
            where = _where(param, name)
            return InvalidRequest(f"Missing required parameter: '{where}'.", param=where,
                                  code="missing_required_parameter")
    properties = node.get("properties", {})
    for name, sub in properties.items():
        if name in value:
            found = _error(sub, value[name], _where(param, name))
            if found is not None:
                return found
    rest = node.get("additionalProperties")
    if rest is not None:
        for key, item in value.items():
            if key not in properties:
                found = _error(rest, item, _where(param, key))
                if found is not None:
                    return found
    return None


def _number(node: Node, value: Any, param: str) -> InvalidRequest | None:
    return _bounds(node, value, param) if any(k in node for k in _BOUNDS) else None


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_CHECKS: dict[str, Callable[[Node, Any, str], InvalidRequest | None]] = {
    "integer": _number, "number": _number, "string": _string, "array": _array, "object": _object,
}


def _tag(options: list[Node]) -> tuple[str, dict[Any, Node]] | None:
    """A property whose single ``enum`` value tells the (object) options apart, as the spec's
    discriminators (``role``, ``type``) do. A property that tells every option apart is preferred;
    else one that tells some apart, a value shared by several options standing for the union of
    those (a Responses input item of ``type: message`` is an input or an output message, told apart
    by its ``role``). A value no option of the union admits leaves it untagged."""
    resolved = [_resolved(o) for o in options]
    common = set.intersection(*(set(o.get("properties", {})) for o in resolved)) if resolved else set()
    partial: tuple[str, dict[Any, list[Node]]] | None = None
    for name in sorted(common, key=lambda n: (n not in ("type", "role"), n)):
        by_value: dict[Any, list[Node]] = {}
        for option in resolved:
            values = _resolved(option["properties"][name]).get("enum")
            if not values:
                break
            for v in values:
                if option not in by_value.setdefault(v, []):
                    by_value[v].append(option)
        else:
            if all(len(shared) == 1 for shared in by_value.values()):
                return name, {v: shared[0] for v, shared in by_value.items()}
            if partial is None and len(by_value) > 1:
                partial = name, by_value
    if partial is None:
        return None
    name, by_value = partial
    return name, {v: shared[0] if len(shared) == 1 else _shared(shared) for v, shared in by_value.items()}


def _untold(options: list[Node], name: str) -> list[Node]:
    """The options of a tagged union that do not require its tag ``name`` (an assistant message sent back
    without its ``type``), which a value without the tag may still be."""
    return [o for o in options if name not in _resolved(o).get("required", ())]


_SHARED: dict[tuple[int, ...], Node] = {}


def _shared(options: list[Node]) -> Node:
    """The union of ``options`` (one node for the same options, so what is worked out for it is kept)."""
    key = tuple(id(o) for o in options)
    if key not in _SHARED:
        _SHARED[key] = {"anyOf": options}
    return _SHARED[key]


# The rules are constant data: what depends only on a node (by identity) is worked out once.
_CANDIDATES: dict[tuple[int, str], list[Node]] = {}
_TAGS: dict[int, tuple[str, dict[Any, Node]] | None] = {}


def _union(options: list[Node], value: Any, param: str) -> InvalidRequest | None:
    kind = _kind(value)
    key = (id(options), kind)
    candidates = _CANDIDATES.get(key)
    if candidates is None:
        candidates = _CANDIDATES[key] = [o for o in options if _admits(o, kind)]
    if not candidates:
        expected: list[str] = []
        for option in options:
            expected += [_NAMES.get(t, t) for t in _types(option) if _NAMES.get(t, t) not in expected]
        if not expected:
            return None
        return InvalidRequest(f"Invalid type for '{param}': expected {_join(expected)}, but got "
                              f"{_NAMES.get(kind, kind)} instead.", param=param, code="invalid_type")
    if kind == "object" and len(candidates) > 1:
        if id(candidates) not in _TAGS:
            _TAGS[id(candidates)] = _tag(candidates)
        tag = _TAGS[id(candidates)]
        if tag is not None:
            name, by_value = tag
            where = _where(param, name)
            if name in value:
                chosen = by_value.get(value[name]) if isinstance(value[name], (str, int, float, bool)) else None
                if chosen is None:
                    return InvalidRequest(f"Invalid value: '{_shown(value[name])}'. Supported values are: "
                                          f"{_quoted(list(by_value))}.", param=where, code="invalid_value")
                return _error(chosen, value, param)
            candidates = _untold(candidates, name)  # the options that may leave the tag out, if any
            if not candidates:
                return InvalidRequest(f"Missing required parameter: '{where}'.", param=where,
                                      code="missing_required_parameter")
    errors = []
    for option in candidates:
        found = _error(option, value, param)
        if found is None:
            return None
        errors.append((option, found))
    if kind == "object" and isinstance(value.get("type"), str):
        # The options its own ``type`` names, if any (an input item of type web_search_call: the errors
        # of the web search call, not of the item reference that type is not).
        named = [(o, e) for o, e in errors if _takes(o, "type", value["type"])]
        errors = named or errors
    # The most telling: not a mere type mismatch of another option, nor a key missing from an object
    # that another option describes, then the deepest, the furthest in.
    return max((e for _, e in errors), key=lambda e: (e.code != "invalid_type", e.code != "missing_required_parameter",
                                                      len(e.param or ""), e.param or ""))


def _takes(node: Node, key: str, value: Any) -> bool:
    """Whether an object of ``node`` may have ``value`` at ``key`` (a union: one of its options may)."""
    node = _resolved(node)
    if "$ref" in node and not _takes(DEFS[node["$ref"]], key, value):
        return False
    sub = node.get("properties", {}).get(key)
    if sub is not None and _error(sub, value, key) is not None:
        return False
    if "anyOf" in node and not any(_takes(o, key, value) for o in node["anyOf"]):
        return False
    return all(_takes(p, key, value) for p in node.get("allOf", ()))


# ---- the same rules compiled: valid or not ------------------------------------------------------
# Each test answers exactly whether ``_error(node, value, param)`` is None (for any param); tests/
# test_spec_rules.py holds the two to it. A node's test also holds the rules of the nodes it takes in
# ($ref, allOf), gathered by JSON type: a value is looked at once, and an object's keys walked once.

Valid = Callable[[Any], bool]
_VALID: dict[int, Valid] = {}
_COMPILING: set[int] = set()
_OBJECT_KEYS = ("maxProperties", "propertyNames", "required", "properties", "additionalProperties")


def _valid(node: Node) -> Valid:
    """Whether a value breaks none of ``node``'s rules: compiled once, then kept (every request
    schema's is compiled at import, below)."""
    key = id(node)
    if key not in _VALID:
        # Until compiled, a rule that refers back to itself ($ref) finds itself here when it runs.
        _VALID[key] = lambda value: _VALID[key](value)
        _COMPILING.add(key)
        _VALID[key] = _compiled(node)
        _COMPILING.discard(key)
    return _VALID[key]


def _all(tests: list[Valid]) -> Valid:
    if len(tests) == 1:
        return tests[0]

    def every(value: Any) -> bool:
        for test in tests:
            if not test(value):
                return False
        return True

    return every


def _conjuncts(node: Node, inlined: frozenset[int] = frozenset()) -> tuple[list[Node], list[Valid]]:
    """``node`` and the nodes it takes in ($ref, allOf), flattened: a value meets ``node`` when it
    meets the keywords of each (their own $ref and allOf aside). A node already being compiled (a
    rule that refers back to itself) is not taken in but tested as itself: the second list."""
    nodes, itself = [node], []
    inlined |= {id(node)}
    for part in ([DEFS[node["$ref"]]] if "$ref" in node else []) + list(node.get("allOf", ())):
        if id(part) in inlined or id(part) in _COMPILING:
            itself.append(_valid(part))
        else:
            more, tested = _conjuncts(part, inlined)
            nodes += more
            itself += tested
    return nodes, itself


def _compiled(node: Node) -> Valid:
    fitting: frozenset[type] | None = None  # the Python types every "type" admits
    by_type: dict[type, list[Valid]] = {}  # what values of a type must meet besides
    objects: list[Node] = []
    enum_types: frozenset[type] = frozenset()  # the types of an enum's values
    parts, others = _conjuncts(node)
    for part in parts:
        if "type" in part:
            admitted = frozenset(t for t, kind in _KINDS.items() if _fits(kind, part["type"]))
            fitting = admitted if fitting is None else fitting & admitted
        if "enum" in part:
            others.append(_enum_test(part["enum"]))
            enum_types = frozenset(type(v) for v in part["enum"])
        for t, kind in _KINDS.items():
            if (kind_test := _kind_test(part, kind)) is not None:
                by_type.setdefault(t, []).append(kind_test)
        if any(k in part for k in _OBJECT_KEYS):
            objects.append(part)
        if "anyOf" in part:
            others.append(_union_test(part["anyOf"]))
    if objects:
        by_type.setdefault(dict, []).append(_object_test(objects))
    checks = {t: _all(tests) for t, tests in by_type.items()}
    if not checks and not others:
        test: Valid = (lambda value: True) if fitting is None else (lambda value: type(value) in fitting)
        _BY_TYPE[id(test)] = fitting, checks
        return test
    if fitting is None and not checks and len(others) == 1:
        return others[0]
    # A test that takes only values of the node's one type is the node's test as it is (one call, not two).
    if not checks and len(others) == 1 and enum_types and fitting is not None and enum_types <= fitting:
        return others[0]  # an enum (its test takes only values of its values' types)
    if not others and fitting is not None and len(fitting) == 1 and fitting == checks.keys() \
            and next(iter(fitting)) in (dict, list):
        return checks[next(iter(fitting))]  # an object's or an array's rules (their tests take only one)

    def meets(value: Any) -> bool:
        kind = type(value)
        if fitting is not None and kind not in fitting:
            return False
        check = checks.get(kind)
        if check is not None and not check(value):
            return False
        for other in others:
            if not other(value):
                return False
        return True

    if not others:
        _BY_TYPE[id(meets)] = fitting, checks
    return meets


_BY_TYPE: dict[int, tuple[frozenset[type] | None, dict[type, Valid]]] = {}
"""Compiled tests that only check a value's type and what values of each type must meet (by the test's id):
a union that has already told the value's type calls what that type must meet, or nothing."""


def _for_type(test: Valid, kind: type) -> Valid | bool:
    """What ``test`` asks of a value of Python type ``kind``: a narrower test, or always True or False."""
    known = _BY_TYPE.get(id(test))
    if known is None:
        return test
    fitting, checks = known
    if fitting is not None and kind not in fitting:
        return False
    return checks.get(kind, True)


def _enum_test(values: list[Any]) -> Valid:
    if all(type(v) is str for v in values):
        strings = frozenset(values)
        return lambda value: type(value) is str and value in strings
    return lambda value: any(type(value) is type(v) and value == v for v in values)


def _kind_test(node: Node, kind: str) -> Valid | None:
    """What ``_error``'s checker for values of JSON type ``kind`` checks, objects aside (None: nothing)."""
    if kind in ("integer", "number") and any(k in node for k in _BOUNDS):
        low, high = node.get("minimum"), node.get("maximum")
        above, below = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
        # Written as _bounds compares (a NaN breaks no bound there, nor here).
        return lambda value: not ((low is not None and value < low) or (high is not None and value > high)
                                  or (above is not None and value <= above) or (below is not None and value >= below))
    if kind == "string" and any(k in node for k in ("maxLength", "minLength", "pattern")):
        longest, shortest = node.get("maxLength"), node.get("minLength")
        pattern = _pattern(node["pattern"]) if "pattern" in node else None
        return lambda value: ((longest is None or len(value) <= longest) and (shortest is None or len(value) >= shortest)
                              and (pattern is None or pattern.search(value) is not None))
    if kind == "array" and any(k in node for k in ("minItems", "maxItems", "items")):
        fewest, most = node.get("minItems"), node.get("maxItems")
        item = _valid(node["items"]) if "items" in node else None

        def fits(value: list[Any]) -> bool:
            if type(value) is not list:  # (an array's test takes only an array: see _compiled)
                return False
            if (fewest is not None and len(value) < fewest) or (most is not None and len(value) > most):
                return False
            if item is not None:
                for v in value:
                    if not item(v):
                        return False
            return True

        return fits
    return None


def _object_test(parts: list[Node]) -> Valid:
    """The object rules of ``parts`` (a node and those it takes in), in one pass over the keys."""
    most = min((p["maxProperties"] for p in parts if "maxProperties" in p), default=None)
    longest_key = min((p["propertyNames"]["maxLength"] for p in parts if "maxLength" in p.get("propertyNames", {})),
                      default=None)
    required = list(dict.fromkeys(name for p in parts for name in p.get("required", ())))
    tests: dict[str, list[Valid]] = {}
    for part in parts:
        for name, sub in part.get("properties", {}).items():
            tests.setdefault(name, []).append(_valid(sub))
    properties = {name: _all(t) for name, t in tests.items()}
    # additionalProperties: for the keys its own node does not name
    rests = [(frozenset(p.get("properties", {})), _valid(p["additionalProperties"]))
             for p in parts if "additionalProperties" in p]
    if most is None and longest_key is None and not rests:
        return _properties_test(required, properties)

    def fits(value: dict[str, Any]) -> bool:
        if type(value) is not dict:  # (an object's test takes only an object: see _compiled)
            return False
        if most is not None and len(value) > most:
            return False
        if longest_key is not None and any(len(key) > longest_key for key in value):
            return False
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            test = properties.get(name)
            if test is not None and not test(item):
                return False
            for named, rest in rests:
                if name not in named and not rest(item):
                    return False
        return True

    return fits


def _properties_test(required: list[str], properties: dict[str, Valid]) -> Valid:
    """An object's test when its rules are only its required keys and its properties' own (most are): the
    same walk with less to look at."""

    def fits(value: dict[str, Any]) -> bool:
        if type(value) is not dict:
            return False
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            test = properties.get(name)
            if test is not None and not test(item):
                return False
        return True

    return fits


def _union_test(options: list[Node]) -> Valid:
    """``_union``: the options that admit the value's JSON type, told apart by their tag when they
    have one, else any that takes the value."""
    by_type = {t: _union_test_for(options, kind, t) for t, kind in _KINDS.items()}
    found = _union_test_for(options, "unknown", None)
    unknown: Valid = _always if found is True else _never if found is False else found
    always = frozenset(t for t, test in by_type.items() if test is True)
    tests = {t: _never if test is False else test for t, test in by_type.items() if test is not True}
    return lambda value: type(value) in always or tests.get(type(value), unknown)(value)


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _union_test_for(options: list[Node], kind: str, python_type: type | None) -> Valid | bool:
    """The union's test for values of JSON type ``kind`` (of ``python_type``; None: of no JSON type), or True
    when every such value passes."""
    candidates = _CANDIDATES[id(options), kind] = [o for o in options if _admits(o, kind)]  # (for _union too)
    if not candidates:
        expected = any(_types(option) for option in options)
        return _never if expected else True
    tag = None
    if kind == "object" and len(candidates) > 1:
        tag = _TAGS[id(candidates)] = _tag(candidates)
    if tag is not None:
        name, by_value = tag
        chosen = {v: _valid(option) for v, option in by_value.items()}
        untold = [_valid(option) for option in _untold(candidates, name)]

        def tagged(value: Any) -> bool:
            told = value.get(name, _ABSENT)
            if told is _ABSENT:
                return any(test(value) for test in untold)
            test = chosen.get(told) if isinstance(told, (str, int, float, bool)) else None
            return test is not None and test(value)

        return tagged
    narrowed = [_valid(option) if python_type is None else _for_type(_valid(option), python_type)
                for option in candidates]
    if any(test is True for test in narrowed):
        return True
    tests = [test for test in narrowed if not isinstance(test, bool)]
    if not tests:
        return _never
    if len(tests) == 1:
        return tests[0]

    def takes(value: Any) -> bool:
        for test in tests:
            if test(value):
                return True
        return False

    return takes


_ABSENT = object()


# ---- cross-field rules from field descriptions -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule OpenAI states in a field's description, across fields."""

    schema: str
    param: str
    says: str
    """The description's sentence (the rule's source)."""
    check: Callable[[dict[str, Any]], str | None]
    """The 400's message when a body breaks the rule, else None."""
    code: str | None = "invalid_value"
    first: bool = False
    """Checked before the schema's own rules (OpenAI answers it first)."""
    where: Callable[[dict[str, Any]], str | None] | None = None
    """The param at fault, when it depends on the body (else :attr:`param`); None where OpenAI names none."""
    given: str | None = None
    """A key the rule cannot be broken without: a body that lacks it (most do) is not checked."""

    def error(self, body: dict[str, Any], message: str) -> InvalidRequest:
        """The 400 for ``body``, which breaks the rule (``message``: what :attr:`check` answered)."""
        return InvalidRequest(message, param=self.where(body) if self.where else self.param, code=self.code)


_SCHEMA = Rule("", "", "the schema's own rules", lambda b: None)


def _given(body: dict[str, Any], name: str) -> bool:
    return body.get(name) is not None


def _image_outside_user(body: dict[str, Any]) -> tuple[int, str] | None:
    """The first non-user message with an image part: (index, role)."""
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if not isinstance(message, dict) or message.get("role") == "user":
            continue
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
            return i, str(message.get("role"))
    return None


def _silent_assistant(body: dict[str, Any]) -> int | None:
    """The index of the first assistant message with neither content nor tool calls (nor a function call, nor a
    refusal: OpenAI takes an assistant turn that only refused, openai/openai-dotnet,
    tests/SessionRecords/ChatTests/StructuredRefusalWorks.json)."""
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if (isinstance(message, dict) and message.get("role") == "assistant" and message.get("content") is None
                and not message.get("tool_calls") and not message.get("function_call")
                and not message.get("refusal")):
            return i
    return None


_TOKEN_ID = re.compile(r"[0-9]+")


def _logit_bias_key(body: dict[str, Any]) -> str | None:
    """OpenAI's 400 for the first ``logit_bias`` key that is not a token id (a word, a negative number)."""
    bias = body.get("logit_bias")
    for key in bias if isinstance(bias, dict) else ():
        if _TOKEN_ID.fullmatch(key) is None:
            return f"Invalid key in 'logit_bias': {key}. You should only be submitting non-negative integers."
    return None


CROSS_FIELD: tuple[Rule, ...] = (
    Rule("CreateChatCompletionRequest", "messages",
         "ChatCompletionRequestMessageContentPartImage is a part of user messages only (the other roles' "
         "content parts are text); answered first, in OpenAI's words for it",
         lambda b: None if (found := _image_outside_user(b)) is None else
         f"Invalid 'messages[{found[0]}]'. Image URLs are only allowed for messages with role 'user', but this "
         f"message with role '{found[1]}' contains an image URL.",
         None, first=True, where=lambda b: f"messages[{(_image_outside_user(b) or (0, ''))[0]}]"),
    Rule("CreateChatCompletionRequest", "top_logprobs",
         "top_logprobs: 'logprobs must be set to true if this parameter is used.'",
         lambda b: "Invalid value for 'top_logprobs': 'logprobs' must be set to true if 'top_logprobs' is used."
         if _given(b, "top_logprobs") and b.get("logprobs") is not True else None, given="top_logprobs"),
    Rule("CreateChatCompletionRequest", "stream_options",
         "stream_options: 'Only set this when you set stream: true.'",
         lambda b: "The 'stream_options' parameter is only allowed when 'stream' is enabled."
         if _given(b, "stream_options") and b.get("stream") is not True else None, given="stream_options"),
    Rule("CreateCompletionRequest", "stream_options",
         "stream_options: 'Only set this when you set stream: true.'",
         lambda b: "The 'stream_options' parameter is only allowed when 'stream' is enabled."
         if _given(b, "stream_options") and b.get("stream") is not True else None, given="stream_options"),
    Rule("CreateChatCompletionRequest", "audio",
         "audio: 'Required when audio output is requested with modalities: [\"audio\"].'",
         lambda b: "Missing required parameter: 'audio' (audio output is requested with modalities ['audio'])."
         if "audio" in (b.get("modalities") or ()) and not _given(b, "audio") else None,
         "missing_required_parameter", given="modalities"),
    Rule("CreateChatCompletionRequest", "tool_choice",
         "tool_choice: '`none` is the default when no tools are present.' (a choice needs tools)",
         lambda b: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
         if _given(b, "tool_choice") and b["tool_choice"] != "none" and not b.get("tools") else None,
         given="tool_choice"),
    Rule("CreateChatCompletionRequest", "parallel_tool_calls",
         "ParallelToolCalls: 'Whether to enable parallel function calling during tool use.' (a setting of tool "
         "use: OpenAI answers it without tools with this 400)",
         lambda b: "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' "
                   "are specified."
         if _given(b, "parallel_tool_calls") and not b.get("tools") else None, given="parallel_tool_calls"),
    Rule("CreateChatCompletionRequest", "messages",
         "ChatCompletionRequestAssistantMessage.content: 'Required unless tool_calls or function_call is specified.' "
         "(OpenAI's words for it quoted in vercel/ai#14950; a refusal stands for it, as OpenAI's recorded answers "
         "take one: openai/openai-dotnet, tests/SessionRecords/ChatTests/StructuredRefusalWorks.json)",
         lambda b: None if _silent_assistant(b) is None else
         "Invalid value for 'content': expected a string, got null.",
         None, where=lambda b: f"messages[{_silent_assistant(b)}].content", given="messages"),
    Rule("CreateChatCompletionRequest", "metadata",
         "metadata: tags of a stored completion ('store: Whether or not to store the output of this chat completion "
         "request'); OpenAI's 400 without store is quoted in tmc/langchaingo#1484 and QwenLM/qwen-code#243",
         lambda b: "The 'metadata' parameter is only allowed when 'store' is enabled."
         if _given(b, "metadata") and b.get("store") is not True else None, given="metadata"),
    Rule("CreateChatCompletionRequest", "max_tokens",
         "max_tokens: 'This value is now deprecated in favor of max_completion_tokens' (one or the other; OpenAI's "
         "400 for both is quoted in langchain-ai/langgraph#5943)",
         lambda b: "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported."
         if _given(b, "max_tokens") and _given(b, "max_completion_tokens") else None,
         "invalid_parameter_combination", given="max_completion_tokens"),
    Rule("CreateChatCompletionRequest", "logit_bias",
         "logit_bias: 'maps tokens (specified by their token ID in the tokenizer)' (OpenAI's 400 for a key that is "
         "no token id is quoted in OkGoDoIt/OpenAI-API-dotnet#163)",
         _logit_bias_key, None, given="logit_bias"),
    Rule("CreateCompletionRequest", "logit_bias",
         "logit_bias: 'maps tokens (specified by their token ID in the GPT tokenizer)' (OpenAI's 400 quoted in "
         "sashabaranov/go-openai#129)",
         _logit_bias_key, None, given="logit_bias"),
    Rule("CreateCompletionRequest", "best_of",
         "best_of: 'When used with n, best_of controls the number of candidate completions and n specifies how "
         "many to return – best_of must be greater than n.'",
         lambda b: f"Invalid value for 'best_of': best_of ({b['best_of']}) must be at least n ({b['n']})."
         if isinstance(b.get("best_of"), int) and isinstance(b.get("n"), int) and b["best_of"] < b["n"] else None,
         given="best_of"),
    Rule("CreateEmbeddingRequest", "dimensions",
         "CreateEmbeddingRequest.dimensions minimum 1, answered in the words OpenAI's embeddings use for it "
         "(param and code null): openai/openai-dotnet tests/SessionRecords/EmbeddingsTests/BadOptions.json and "
         "GenerateMultipleEmbeddingsWithBadOptions(UsingStrings|UsingIntegers).json",
         lambda b: f"{b['dimensions']} is less than the minimum of 1 - 'dimensions'"
         if type(b.get("dimensions")) is int and b["dimensions"] < 1 else None,
         None, first=True, where=lambda b: None, given="dimensions"),
    Rule("CreateEmbeddingRequest", "dimensions",
         "dimensions: 'Only supported in text-embedding-3 and later models.'",
         lambda b: "This model does not support specifying dimensions."
         if _given(b, "dimensions") and str(b.get("model", "")).startswith("text-embedding-ada") else None,
         None, given="dimensions"),
    Rule("CreateImageRequest", "n",
         "n: 'For dall-e-3, only n=1 is supported.'",
         lambda b: "Invalid value for 'n': dall-e-3 only supports n=1."
         if b.get("model") == "dall-e-3" and isinstance(b.get("n"), int) and b["n"] != 1 else None, given="n"),
    Rule("CreateImageRequest", "prompt",
         "prompt: 'The maximum length is 32000 characters for the GPT image models, 1000 characters for dall-e-2 "
         "and 4000 characters for dall-e-3.'",
         lambda b: f"Invalid 'prompt': string too long. Expected a string with maximum length "
                   f"{_image_prompt_limit(b)}, but got a string with length {len(b['prompt'])} instead."
         if isinstance(b.get("prompt"), str) and len(b["prompt"]) > _image_prompt_limit(b) else None,
         "string_above_max_length"),
)


def _image_prompt_limit(body: dict[str, Any]) -> int:
    model = body.get("model") or "dall-e-2"
    return {"dall-e-2": 1000, "dall-e-3": 4000}.get(model, 32000) if isinstance(model, str) else 32000


_CROSS_FIELD_BY_SCHEMA = {schema: (tuple(r for r in CROSS_FIELD if r.schema == schema and r.first),
                                   tuple(r for r in CROSS_FIELD if r.schema == schema and not r.first))
                          for schema in dict.fromkeys(rule.schema for rule in CROSS_FIELD)}

# Every request schema's rules compiled now, at import: in the Worker, inside the deploy-time snapshot
# (~5 ms of CPU otherwise, on each isolate's first request); tests/test_cold_start.py checks it. The
# unions' candidates and tags that an invalid body's walk (_union) looks up are worked out on the way.
for _node in SCHEMAS.values():
    _valid(_node)
del _node
