"""Request bodies → validated pydantic models; every failure a 400 that names the ``param``.

OpenAI's bodies (:func:`parse_json`) are JSON with a JSON content type, worded as
OpenAI words its errors, checked in OpenAI's order: the model first (an unknown model is a
404 whatever else is wrong), then OpenAI's own rules (:mod:`.spec_rules`, derived from its
spec), then the door's model; Ollama's (:func:`parse_ollama`) are taken whatever the
content type (``curl -d`` sends form-encoded) and worded as Ollama words them.
Both refuse bodies past ``MAX_JSON_BYTES`` (413) and numbers JSON cannot hold.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Collection, Sequence
from functools import cache
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from starlette.requests import Request

from . import spec_rules
from .context import AppContext, context
from .errors import InvalidRequest
from .limits import header, read_body
from .types.ollama import Options

M = TypeVar("M", bound=BaseModel)


async def parse_json(request: Request, model: type[M], *, task: str | None = None) -> M:
    """Validate a JSON body into ``model``; every failure is a 400 naming the ``param``. With
    ``task``, the body's ``model`` is resolved for that task first, as OpenAI answers an unknown
    model (404) before it looks at the other fields."""
    sent = header(request.scope, b"content-type")
    content_type = "application/json" if sent is None else sent
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise InvalidRequest(
            f"Invalid Content-Type header ({content_type}); expected application/json."
        )
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_json_bytes)
    check_size(body)
    return validate_for(ctx, model, body, _input(body), task=task)


async def parse_optional_json(request: Request, model: type[M]) -> M:
    """:func:`parse_json` for a body whose every field is optional: no body at all (``Content-Length: 0``) is
    ``{}``, as OpenAI takes it (the .NET client's ``POST /v1/threads`` without options, recorded: openai/openai-dotnet
    tests/SessionRecords/AssistantsTests/BasicThreadOperationsWork.json, answered 200 with a new thread)."""
    if header(request.scope, b"content-length") == "0":
        return validate(model, b"{}", {})
    return await parse_json(request, model)


def validate_for(ctx: AppContext, model: type[M], body: bytes, raw: Any, *, task: str | None = None) -> M:
    """:func:`validate` for a request of the app (``raw``: the body as parsed, already counted); with
    ``task``, the body's ``model`` is resolved for that task first (a 404 before any field's 400)."""
    if task is not None and isinstance(raw, dict) and isinstance(raw.get("model"), str) and raw["model"]:
        ctx.catalog.resolve(raw["model"], task=task)
    return validate(model, body, raw)


MAX_CONTAINERS = 1 << 15
"""Arrays and objects one JSON body may hold (32,768). Each becomes objects to build and check: at
this many, the slowest door takes about half a second, where 800,000 thread messages took a minute."""
MAX_VALUES = 1 << 19
"""Array items and object members one JSON body may hold (524,288): room for token-array inputs
(embeddings take 300,000 tokens a request), while a body of tiny values stays small once parsed."""
_STRIPPED = 1 << 16
"""Strings a body's exact count looks past (their brackets and commas are not the body's); a body
with more is counted with them, conservatively."""
_STRING = re.compile(rb'"[^"]*"')


def check_size(body: bytes, words: str = "openai") -> None:
    """A 400 for a JSON body of more than :data:`MAX_CONTAINERS` arrays and objects or :data:`MAX_VALUES`
    items and members, counted on its bytes before it is parsed: a 16 MiB body of ``[],`` or of
    ``{"role": "user", "content": "hi"},`` costs seconds and hundreds of MB to parse and validate.

    The count is the body's brackets and commas (a value follows a comma, or opens its array or
    object), under a µs for a chat body; only when that passes a limit are the brackets and commas
    inside strings set aside for an exact count (at most ~0.15 s for 16 MiB)."""
    containers = body.count(b"{") + body.count(b"[")
    if containers <= MAX_CONTAINERS and containers + body.count(b",") <= MAX_VALUES:
        return
    bare = body.replace(b"\\\\", b"").replace(b'\\"', b"")  # escapes: every quote left opens or closes a string
    if bare.count(b'"') <= 2 * _STRIPPED:
        bare = _STRING.sub(b"", bare)
    containers = bare.count(b"{") + bare.count(b"[")
    values = containers + bare.count(b",")
    if containers <= MAX_CONTAINERS and values <= MAX_VALUES:
        return
    if words == "ollama":
        raise InvalidRequest(f"request body holds too many JSON values: at most {MAX_CONTAINERS} arrays and objects, "
                             f"and {MAX_VALUES} items and members in all")
    raise InvalidRequest(
        f"The request body holds too many JSON values: {containers} arrays and objects (at most {MAX_CONTAINERS}) "
        f"and about {values} items and members (at most {MAX_VALUES}).", code="too_many_json_values")


def check_lengths(model: type[BaseModel], data: Any, words: str = "openai") -> None:
    """The body's lists against the model's ``max_length`` constraints, top-level and nested (a chat
    message's ``content`` parts, a thread's ``messages``), counted on the parsed JSON: pydantic validates
    every item of a list before it looks at its length, so 800,000 chat messages would cost seconds
    before the 400. The walk follows only the fields that lead to a limit."""
    if isinstance(data, dict):
        _check(_limits(model), data, (), words)


Limits = dict[str, tuple[int | None, "Limits"]]
"""A model's fields that have a list limit or lead to one: the limit (None: no list), and what each
object there holds."""
_UNLIMITED = sys.maxsize


def _check(limits: Limits, data: dict[str, Any], path: tuple[str | int, ...], words: str) -> None:
    for name, (limit, inner) in limits.items():
        value = data.get(name)
        if type(value) is list:
            if limit is not None and len(value) > limit:
                raise _too_long((*path, name), limit, len(value), words)
            if inner:
                for i, item in enumerate(value):
                    if type(item) is dict:
                        _check(inner, item, (*path, name, i), words)
        elif inner and type(value) is dict:
            _check(inner, value, (*path, name), words)


def _too_long(path: tuple[str | int, ...], limit: int, length: int, words: str) -> InvalidRequest:
    param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    if words == "ollama":
        return InvalidRequest(f"invalid value for '{param}': at most {limit} items, got {length}", param=param)
    return InvalidRequest.array_too_long(param, limit, length)


@cache
def _limits(model: type[BaseModel]) -> Limits:
    """Worked out once per model, from its fields' annotations (for every model of the package at
    import: :func:`read_models`)."""
    return _model_limits(model, frozenset())


def _model_limits(model: type[BaseModel], seen: frozenset[type]) -> Limits:
    limits: Limits = {}
    seen = seen | {model}
    for name, field in model.model_fields.items():
        limit, inner = _shape(field.annotation, field.metadata, seen)
        if (limit is not None and limit < _UNLIMITED) or inner:
            limits[field.alias or name] = (limit, inner)
    return limits


def _shape(annotation: Any, metadata: Sequence[Any], seen: frozenset[type]) -> tuple[int | None, Limits]:
    """What an annotation (with the constraints attached to it) holds: the ``max_length`` of a list it
    may be (None: it is no list; :data:`_UNLIMITED`: a list of any length), and the limits of the models
    it or its list's items may be. A union takes its members' loosest limit and merges their models'
    limits; a model already on the way down (a recursive one) adds nothing."""
    if get_origin(annotation) is Annotated:
        inner, *more = get_args(annotation)
        return _shape(inner, [*metadata, *more], seen)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return None, {} if annotation in seen else _model_limits(annotation, seen)
    origin = get_origin(annotation)
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        limit = _max_length(metadata)
        return _UNLIMITED if limit is None else limit, _shape(item, (), seen)[1]
    if origin in (Union, UnionType):
        merged: tuple[int | None, Limits] = (None, {})
        for member in get_args(annotation):
            merged = _merge(merged, _shape(member, metadata, seen))
        return merged
    return None, {}


def _merge(a: tuple[int | None, Limits], b: tuple[int | None, Limits]) -> tuple[int | None, Limits]:
    """Two union members' shapes as one: the looser list limit (pydantic still holds each member to its
    own), and their models' limits merged field by field."""
    limit = b[0] if a[0] is None else a[0] if b[0] is None else max(a[0], b[0])
    inner = dict(a[1])
    for key, entry in b[1].items():
        inner[key] = entry if key not in inner else _merge(inner[key], entry)
    return limit, inner


def read_models() -> None:
    """Read what :func:`check_lengths` needs of every pydantic model the package has defined, now:
    ``app.py`` calls this at import, once every route and type module is loaded (in the Worker, inside
    the deploy-time snapshot), so that no request reads a model's fields for the first time."""
    models: list[type[BaseModel]] = [BaseModel]
    while models:
        for sub in models.pop().__subclasses__():
            models.append(sub)
            if sub.__module__.startswith(__package__ or "openai_workers_ai"):
                _limits(sub)


def _max_length(metadata: Sequence[Any]) -> int | None:
    for node in metadata:
        limit = getattr(node, "max_length", None)
        if isinstance(limit, int):
            return limit
        found = _max_length(getattr(node, "metadata", ()))
        if found is not None:
            return found
    return None


def validate(model: type[M], body: bytes | dict[str, Any], raw: Any = None) -> M:
    """``body`` (JSON bytes or a dict) as ``model``; a 400 naming the ``param`` otherwise. A JSON
    body (``raw``: it parsed) is counted (:func:`check_size`; by the caller, who parsed it, when ``raw``
    is given) and meets OpenAI's rules for the schema named as ``model``; either has its long lists
    counted before it is validated."""
    if isinstance(body, (bytes, bytearray)):
        if raw is None:
            check_size(body)
        data = raw if raw is not None else _input(body)
        spec_rules.check(model.__name__, data)
        check_lengths(model, data)
    else:
        check_lengths(model, body)
    try:
        if isinstance(body, dict):
            return model.model_validate(body)
        result = model.model_validate_json(body or b"null")
    except ValidationError as exc:
        raise invalid_request(exc, body, model) from None
    if isinstance(body, dict) or _maybe_not_finite(body):
        check_finite(result)
    return result


def _maybe_not_finite(body: bytes) -> bool:
    """Whether JSON text that pydantic parses may hold a non-finite number: NaN, Infinity, or a
    literal too large for a float (1e400, 1E+400, or 309+ digits). A body without any of these holds only
    finite numbers, so the walk below is skipped (false positives only cost the walk).

    Searched with bytes methods on a copy with every digit a 0, ``E`` an ``e`` and no ``+`` (a digit, an
    exponent mark and three digits are then ``0e000``): ~30 µs for a 14 KB chat, where two regular
    expressions, tried at every digit, took ~220."""
    if b"NaN" in body or b"Infinity" in body:
        return True
    numbers = body.translate(_DIGITS_AS_ZERO, b"+")
    return b"0e000" in numbers or (numbers.count(b"0") >= _FLOAT_DIGITS and _LONG_NUMBER in numbers)


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_FLOAT_DIGITS = 309
"""The digits of an integer literal too large for a float (10**308 is the largest power of ten one holds)."""
_LONG_NUMBER = b"0" * _FLOAT_DIGITS


def check_finite(request: BaseModel) -> None:
    """400 naming the param if a validated request holds ``NaN`` or an infinite number (pydantic's JSON
    parser takes ``NaN``/``Infinity``, and ``1e400`` overflows): JSON has neither, and Workers AI's REST
    API and binding cannot be sent them. Walks the parsed objects, never the body's bytes."""
    path = _not_finite(request, ())
    if path:
        param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        raise InvalidRequest(f"Invalid value for '{param}': numbers must be finite (JSON has no NaN or Infinity).",
                             param=param)


def _not_finite(node: Any, path: tuple[int | str, ...]) -> tuple[int | str, ...] | None:
    if isinstance(node, float):
        return None if math.isfinite(node) else path
    if isinstance(node, BaseModel):
        fields = type(node).model_fields
        items: Any = ((fields[k].alias or k, v) for k, v in node.__dict__.items() if k in fields)
    elif isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for key, value in items:
        found = _not_finite(value, (*path, key))
        if found is not None:
            return found
    return None


def _input(body: bytes | dict[str, Any] | None) -> Any:
    """The JSON body as Python data, or None where it is not JSON pydantic would read (the
    pydantic error then tells what is wrong). Read by pydantic-core's own JSON parser, so what it
    takes is what the model's validation takes (a lone surrogate, a BOM: neither), at a fifth of
    ``json.loads``'s cost."""
    if not isinstance(body, (bytes, bytearray)):
        return body
    try:
        return from_json(body)
    except ValueError:
        return None


def _most_telling(errors: list[Any]) -> Any:
    # A union reports one error per member ("stop": not a string / list too long);
    # a type mismatch of another member is the least telling, a deeper error the most.
    return min(errors, key=lambda e: (e["type"].endswith("_type"), -len(e["loc"])))


def invalid_request(exc: ValidationError, body: bytes | dict[str, Any] | None = None,
                    model: type[BaseModel] | None = None) -> InvalidRequest:
    """The 400 for a validation failure, worded as OpenAI words it, with the ``param`` at fault (an unknown key in
    the words of ``model``'s API: ``Request.UNKNOWN_PARAMETER``)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] in ("json_invalid", "model_type", "model_attributes_type") and not first["loc"]:
        # Say where the JSON breaks (a lone surrogate, a cut-off body …); else that it is no object.
        invalid = first["type"] == "json_invalid"
        detail = first["msg"].removeprefix("Invalid JSON: ") if invalid else "the API expects a JSON object"
        return InvalidRequest(f"We could not parse the JSON body of your request: {detail}.")
    first = _most_telling(errors)
    param = dotted(first["loc"], _input(body)) or None
    message = first["msg"]
    if first["type"] == "missing":
        return InvalidRequest(f"Missing required parameter: '{param}'.", param=param,
                              code="missing_required_parameter")  # as spec_rules codes it
    if first["type"] == "extra_forbidden":
        if getattr(model, "UNKNOWN_PARAMETER", False):
            return InvalidRequest(f"Unknown parameter: '{param or ''}'.", param=param, code="unknown_parameter")
        return InvalidRequest(f"Unrecognized request argument supplied: {param or '(an empty name)'}", param=param)
    worded = _in_openai_words(first, param)
    if worded is not None:
        return worded
    return InvalidRequest(f"Invalid value for '{param}': {message}", param=param)


_EXPECTED = {"float_parsing": "a decimal", "float_type": "a decimal", "int_parsing": "an integer",
             "int_type": "an integer", "int_from_float": "an integer", "bool_parsing": "a boolean",
             "bool_type": "a boolean", "string_type": "a string"}
_GOT = {str: "a string", int: "an integer", float: "a decimal", bool: "a boolean", list: "an array",
        dict: "an object", type(None): "null"}


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _in_openai_words(error: Any, param: str | None) -> InvalidRequest | None:
    """A door model's own enum, range or length rule (a multipart form's fields; a bound the gateway adds),
    worded and coded as ``spec_rules`` words the same rule of OpenAI's spec; None for other errors."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "literal_error":
        expected = ", and ".join(ctx.get("expected", "").rsplit(" or ", 1))
        return InvalidRequest(f"Invalid value: '{value}'. Supported values are: {expected}.", param=param,
                              code="invalid_value")
    if kind in _EXPECTED:
        got = _GOT.get(type(value), "a value")
        return InvalidRequest(f"Invalid type for '{param}': expected {_EXPECTED[kind]}, but got {got} instead.",
                              param=param, code="invalid_type")
    bounds = {"greater_than_equal": ("ge", "below minimum", ">=", "below_min"),
              "less_than_equal": ("le", "above maximum", "<=", "above_max")}
    if kind in bounds:
        key, side, relation, code = bounds[kind]
        noun = "decimal" if isinstance(ctx.get(key), float) else "integer"
        return InvalidRequest(
            f"Invalid '{param}': {noun} {side} value. Expected a value {relation} {_number(ctx.get(key))}, but got "
            f"{value} instead.", param=param, code=f"{noun}_{code}_value")
    lengths = {"string_too_short": ("short", "minimum", "min_length", "below_min"),
               "string_too_long": ("long", "maximum", "max_length", "above_max")}
    if kind in lengths and isinstance(value, str):
        word, limit, key, code = lengths[kind]
        return InvalidRequest(
            f"Invalid '{param}': string too {word}. Expected a string with {limit} length {ctx.get(key)}, but got "
            f"a string with length {len(value)} instead.", param=param, code=f"string_{code}_length")
    return None


def dotted(loc: tuple[int | str, ...], data: Any = None) -> str:
    """``("messages", 0, "role")`` → ``messages[0].role``, as OpenAI names params.

    pydantic also puts union members (``str``, ``list[str]``) and discriminator
    values (``text``) in the location; walking the request ``data`` alongside
    tells them apart from the request's own keys.
    """
    out = ""
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and -len(node) <= part < len(node) else None
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif _is_union_tag(part) or (node is not None and i < len(loc) - 1):
            continue
        else:
            node = None
        if part:  # an empty key (``{"": …}``) names nothing: the object holding it is the param
            out += f".{part}" if out else part
    return out


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "bytes", "none", "dict", "list"})


def _is_union_tag(part: str) -> bool:
    # pydantic puts the chosen union member / tag in the location; OpenAI doesn't.
    return (
        part.startswith(("function-", "tagged-union[", "union["))
        or "[" in part
        or part in _TYPE_TAGS
        or part[:1].isupper()  # a model class name (API field names are lower case)
    )


_TRUE = frozenset({"true", "1", "t", "y", "yes", "on"})
_FALSE = frozenset({"false", "0", "f", "n", "no", "off"})


def query_flag(request: Request, name: str, default: bool) -> bool:
    """A boolean query parameter (``true`` / ``false``, as the official client sends them; the spellings
    pydantic takes for a boolean too), ``default`` when absent; a 400 naming it for anything else."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidRequest(f"Invalid value for '{name}': expected a boolean, got '{raw}'.", param=name)


def includes(request: Request, allowed: Collection[str]) -> list[str]:
    """The ``include`` query values (``include`` or ``include[]``, repeated), each one of ``allowed``."""
    values = request.query_params.getlist("include") + request.query_params.getlist("include[]")
    for value in values:
        if value not in allowed:
            raise InvalidRequest(f"Invalid value for 'include': '{value}' is not one of {sorted(allowed)}.",
                                 param="include")
    return values


async def parse_ollama(request: Request, model: type[M], *, optional: bool = False) -> M:
    """An Ollama JSON body as ``model``; a 400 in Ollama's words when it is missing or invalid
    (an empty body is ``model()`` when ``optional``)."""
    body = await read_body(request, context(request).settings.max_json_bytes)
    if not body.strip():
        if optional:
            return model()
        raise InvalidRequest("missing request body")
    check_size(body, "ollama")
    result = _go_decoded(model, body)
    check_finite(result)
    return result


def _go_decoded(model: type[M], body: bytes, *, whole: bool = True) -> M:
    """``body`` as ``model``, read as Ollama reads a body: gin's ``ShouldBindJSON``, one ``json.Decoder.Decode``
    into the handler's struct (``gin-gonic/gin`` ``binding/json.go``), whose error Ollama's handlers answer
    with (``server/routes.go``). Where pydantic refuses the body as a whole (the error path only): the
    decoder reads the first JSON value and leaves what follows it unread, decodes ``null`` into the struct as
    nothing, names a value of another kind by Go's ``UnmarshalTypeError``, and a value cut short is
    ``unexpected EOF``."""
    check_lengths(model, _input(body), "ollama")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            message = first["msg"]
            if "EOF while parsing" in message:
                raise InvalidRequest("unexpected EOF") from None
            value = _first_value(body) if whole and "trailing characters" in message else None
            if value is not None:
                return _go_decoded(model, value, whole=False)
        elif not first["loc"]:  # JSON, but no object
            data = _input(body)
            if data is None:  # null: Go leaves the struct as it was
                return model()
            kind = {list: "array", str: "string", bool: "bool"}.get(type(data), "number")
            raise InvalidRequest(f"json: cannot unmarshal {kind} into Go value of type api.{model.__name__}") from None
        raise _ollama_invalid(exc, model.__name__, _input(body)) from None


def _first_value(body: bytes) -> bytes | None:
    """The body's first JSON value, where more follows it; None if it does not open with one."""
    text = body.decode("utf-8", "surrogateescape")
    try:
        _, end = json.JSONDecoder().raw_decode(text, len(text) - len(text.lstrip(" \t\r\n")))
    except ValueError:
        return None
    return text[:end].encode("utf-8", "surrogateescape")


def ollama_options(options: dict[str, Any] | None) -> Options:
    """A request's ``options`` as Ollama's ``Options.FromMap`` (``api/types.go``) reads them; a 400 in its words
    (Ollama's 500). Called where Ollama's handlers read them (``scheduleRunner``, ``server/routes.go``): after the
    model's lookup, an unload request and the thinking check."""
    try:
        return Options.model_validate(options or {})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "ollama":  # Options.FromMap's own words
            raise InvalidRequest(first["msg"]) from None
        param = dotted(("options", *first["loc"]))
        raise InvalidRequest(f"invalid value for '{param}': {first['msg']}", param=param) from None


_GO_SCALARS = {"bool_type": "bool", "string_type": "string", "int_type": "int"}
"""Pydantic's strict type errors, by the Go type Ollama's field has."""
_GO_FIELDS = {"messages": "[]api.Message", "tools": "api.Tools", "images": "[]api.ImageData",
              "options": "map[string]interface {}"}
"""The Go types of Ollama's top-level fields that hold a list or an object."""


def _ollama_invalid(exc: ValidationError, struct: str = "", data: Any = None) -> InvalidRequest:
    errors = exc.errors(include_url=False)
    # Go's decoder reports the first field in the body that fails, pydantic the first in the model.
    keys = list(data) if isinstance(data, dict) else []
    first = min(errors, key=lambda e: keys.index(e["loc"][0]) if e["loc"] and e["loc"][0] in keys else len(keys))
    if first["type"] == "json_invalid":
        return InvalidRequest(f"invalid JSON body: {first['msg'].removeprefix('Invalid JSON: ')}")
    if not first["loc"]:
        return InvalidRequest("invalid request body: expected a JSON object")
    if first["type"] == "ollama":  # already in Ollama's words (types.ollama.OLLAMA_ERROR)
        return InvalidRequest(first["msg"])
    mismatch = _go_mismatch(first, struct)
    if mismatch:
        return InvalidRequest(mismatch)
    param = dotted(first["loc"])
    return InvalidRequest(f"invalid value for '{param}': {first['msg']}", param=param)


def _go_mismatch(error: Any, struct: str) -> str | None:
    """A JSON value of the wrong type for an Ollama field, worded as Go's ``json.UnmarshalTypeError``, which
    Ollama's handlers answer with (``c.ShouldBindJSON``, ``server/routes.go``): ``json: cannot unmarshal string
    into Go struct field ChatRequest.stream of type bool``. The field is its JSON path without list indexes
    (``ChatRequest.messages.content``); None for an error of another kind."""
    loc = error["loc"]
    go_type = _GO_SCALARS.get(error["type"])
    if go_type is None and len(loc) == 1 and error["type"] in ("list_type", "dict_type", "model_type"):
        go_type = _GO_FIELDS.get(str(loc[0]))
    if go_type is None or not struct or loc[0] == "format":  # format is Go's json.RawMessage: any JSON
        return None
    value = error["input"]
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, (int, float)):  # Go names the number it cannot make an int of
        kind = f"number {value!r}" if go_type == "int" else "number"
    elif isinstance(value, str):
        kind = "string"
    else:
        kind = "array" if isinstance(value, list) else "object"
    path = ".".join(str(p) for p in loc if isinstance(p, str))
    if go_type == "string" and isinstance(loc[-1], int) and loc[-2] == "images":
        go_type = "api.ImageData"  # an image is Go's []byte, decoded from a base64 string
    return f"json: cannot unmarshal {kind} into Go struct field {struct}.{path} of type {go_type}"
