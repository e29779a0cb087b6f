"""A Responses request → stored items and the neutral :class:`~..workers_ai.spec.ChatSpec` (pure).

Two steps, both pure:

- :func:`input_items` checks each ``input`` item as OpenAI does and gives it the shape it is stored
  and listed in (an id, a ``status``, content as parts); every 400 names ``input[i]…``.
- :func:`chat_spec` turns the context (the chain's or conversation's items, then the new input, all
  already resolved: files read, references looked up) plus ``instructions``, ``tools``,
  ``text.format`` and ``reasoning`` into one spec for the pipeline, trimmed to the model's context
  window when ``truncation`` is ``auto``.

Consecutive ``function_call`` items become one assistant turn with tool calls, a
``function_call_output`` a ``tool`` turn, a ``compaction`` item the summary it carries. Reasoning
items are stored, listed and chained, but no model reads them back: the spec's messages have no
place for them, and both paths build the model's input from those messages (the gpt-oss path too:
``workers_ai/families.responses_inputs`` turns the messages into Workers AI's Responses-shaped
input), so a model sees its earlier answers without the thinking that led to them. A
``file_search_call`` is history too (the answer that used its results follows it).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from json import dumps, loads
from typing import Any

from ..catalog import REASONING, ModelInfo
from ..errors import InvalidRequest
from ..ids import new_hex_id
from ..types.common import MAX_CONTENT_PARTS
from ..types.responses import Context, CreateResponse, Item, TextFormat
from ..workers_ai import spec
from . import strict_schema

ROLES: dict[str, spec.Role] = {"user": "user", "system": "system", "developer": "system", "assistant": "assistant"}
PHASES = ("commentary", "final_answer")
PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "reasoning": "rs_",
            "compaction": "cmp_", "file_search_call": "fs_", "configuration_update": "cfg_"}
FILE_SEARCH_MAX_RESULTS = 20
"""A Responses file_search tool's ``max_num_results`` when left out: what OpenAI echoes and searches for
(pydantic/pydantic-ai's recording test_openai_responses_model_file_search_tool_with_results.yaml, 2025-12:
a tool sent without it is echoed with ``max_num_results: 20``)."""
ID_PREFIXES = {kind: PREFIXES[kind].rstrip("_") for kind in ("message", "function_call", "reasoning")}
"""What a sent item's id must begin with, by type (OpenAI's 400 ``invalid_id_prefix`` otherwise; the types
whose rule OpenAI is seen to apply): the ids made here, without their ``_``."""
COMPACTION_PREFIX = "owai-compaction-v1:"
"""A ``compaction`` item's ``encrypted_content`` here is this prefix and the summary, base64-encoded
(readable, not encrypted: the summary is the client's own conversation)."""
PARAMS = spec.Params(tools="tools", tool_choice="tool_choice", output_format="text.format",
                     reasoning_effort="reasoning.effort")


def object_id(prefix: str) -> str:
    """A Responses id: ``prefix`` and 48 hex digits, time-ordered (:func:`~..ids.new_hex_id`)."""
    return new_hex_id(prefix)


def _bad(message: str, param: str, code: str | None = None) -> InvalidRequest:
    return InvalidRequest(message, param=param, code=code)


# ---- input items -------------------------------------------------------------------------------


def input_items(value: str | list[Item] | None, message_id: str | None = None) -> list[Item]:
    """The request's ``input`` as items in their stored shape (``item_reference`` s left as they are,
    for the runner to look up); a 400 naming the param for any bad item. ``message_id``: the id of a text
    input's message (else a fresh one)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [message_item("user", [{"type": "input_text", "text": value}], message_id)]
    items = [item_of(item, f"input[{i}]") for i, item in enumerate(value)]
    for i in range(1, len(items)):
        if items[i]["type"] == items[i - 1]["type"] == "configuration_update":
            raise _bad(f"Invalid 'input[{i}]': a 'configuration_update' item follows another; send one update "
                       "with both settings instead.", f"input[{i}]")
    return items


def message_item(role: str, content: list[Item], item_id: str | None = None, phase: str | None = None) -> Item:
    item: Item = {"id": item_id or object_id("msg_"), "type": "message", "status": "completed", "content": content,
                  "role": role}
    if phase is not None:
        item["phase"] = phase
    return item


def item_of(raw: Any, where: str) -> Item:
    """One input item in its stored shape."""
    if not isinstance(raw, dict):
        raise _bad(f"Invalid '{where}': expected an object.", where)
    kind = raw.get("type", "message" if "role" in raw else None)
    if kind is not None and not isinstance(kind, str):
        raise _bad(f"Invalid type for '{where}.type': expected a string.", f"{where}.type")
    if kind == "item_reference" or (kind is None and set(raw) <= {"id", "type"} and "id" in raw):
        return {"type": "item_reference", "id": _string(raw, "id", where)}
    if kind == "message":
        return _message(raw, where)
    if kind == "function_call":
        item_id, call, name = _id(raw, kind, where), _string(raw, "call_id", where), _string(raw, "name", where)
        return {"id": item_id, "type": kind, "status": "completed",  # OpenAI's order (function_call_item)
                "arguments": _string(raw, "arguments", where, default="{}"), "call_id": call, "name": name}
    if kind == "function_call_output":
        output = raw.get("output")
        if isinstance(output, list):
            output = [_part(p, f"{where}.output[{k}]", "user") for k, p in enumerate(_parts(output, f"{where}.output"))]
        elif not isinstance(output, str):
            raise _bad(f"Missing required parameter: '{where}.output'.", f"{where}.output")
        return {"id": _id(raw, kind, where), "type": kind, "status": "completed",
                "call_id": _string(raw, "call_id", where), "output": output}
    if kind == "reasoning":
        summary = raw.get("summary", [])
        if not isinstance(summary, list):
            raise _bad(f"Invalid '{where}.summary': expected an array.", f"{where}.summary")
        item = {"id": _id(raw, kind, where), "type": kind, "summary": summary, "status": "completed"}
        for key in ("content", "encrypted_content"):
            if raw.get(key) is not None:
                item[key] = raw[key]
        return item
    if kind == "compaction":
        summary = compaction_summary(_string(raw, "encrypted_content", where), f"{where}.encrypted_content")
        return compaction_item(summary, raw.get("id") if isinstance(raw.get("id"), str) else None)
    if kind == "configuration_update":
        return _configuration_update(raw, where)
    if kind == "file_search_call":  # a response's output sent back as input: the search it ran
        queries = raw.get("queries", [])
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise _bad(f"Invalid '{where}.queries': expected an array of strings.", f"{where}.queries")
        results = raw.get("results")
        if results is not None and not isinstance(results, list):
            raise _bad(f"Invalid '{where}.results': expected an array or null.", f"{where}.results")
        status = raw.get("status", "completed")
        if status not in ("in_progress", "searching", "completed", "incomplete", "failed"):
            raise _bad(f"Invalid value for '{where}.status'.", f"{where}.status")
        return {"id": _id(raw, kind, where), "type": kind, "status": status, "queries": queries, "results": results}
    if kind is None:
        raise _bad(f"Missing required parameter: '{where}.type'.", f"{where}.type")
    raise _bad(f"Input items of type '{kind}' are not supported here (supported: message, function_call, "
               "function_call_output, file_search_call, reasoning, compaction, configuration_update, "
               "item_reference).", f"{where}.type")


def _configuration_update(raw: Item, where: str) -> Item:
    """A ``configuration_update`` item: new ``reasoning.effort`` and / or ``text.format`` for the responses
    generated after it (:func:`chat_spec`), each until a later update replaces it. A key client 3.63's
    ``ResponseConfigurationUpdateItemParam`` does not list, at any depth, is OpenAI's 400 (:func:`_known_keys`)."""
    _known_keys(raw, ("type", "id", "reasoning", "text"), where)
    item: Item = {"id": _string(raw, "id", where) if raw.get("id") is not None else object_id("cfg_"),
                  "type": "configuration_update"}
    for key in ("reasoning", "text"):
        value = raw.get(key)
        if value is not None and not isinstance(value, dict):
            raise _bad(f"Invalid type for '{where}.{key}': expected an object.", f"{where}.{key}")
    if raw.get("reasoning") is not None:
        _known_keys(raw["reasoning"], ("effort",), f"{where}.reasoning")
        item["reasoning"] = {"effort": raw["reasoning"].get("effort")}
    if raw.get("text") is not None:
        _known_keys(raw["text"], ("format",), f"{where}.text")
        fmt = raw["text"].get("format")
        if not isinstance(fmt, dict):
            raise _bad(f"Missing required parameter: '{where}.text.format'.", f"{where}.text.format")
        if (keys := _FORMAT_KEYS.get(str(fmt.get("type")))) is not None:  # (another: the spec's rules refused it)
            _known_keys(fmt, keys, f"{where}.text.format")
        item["text"] = {"format": fmt}
    if len(item) == 2:
        raise _bad(f"Invalid '{where}': a 'configuration_update' item updates 'reasoning', 'text' or both; it has "
                   "neither.", where)
    return item


_FORMAT_KEYS = {"text": ("type",), "json_schema": ("type", "name", "schema", "description", "strict")}
"""The keys of a ``configuration_update``'s ``text.format``, by its type (the client's ``ResponseFormatText`` and
``ResponseFormatTextJSONSchemaConfigParam``), as a request's ``text.format`` has them."""


def _known_keys(raw: Item, known: tuple[str, ...], where: str) -> None:
    """OpenAI's 400 for a key ``raw`` (at ``where``) does not have: ``Unknown parameter: 'input[1].foo'.``, code
    ``unknown_parameter``, as OpenAI answers an input item's unknown key (``{"code":"unknown_parameter","message":
    "Unknown parameter: 'input[2].status'.","param":"input[2].status"}`` in a public gateway's tests) and the request's
    own objects' (:class:`~..types.common.Closed`)."""
    for key in raw:
        if key not in known:
            raise _bad(f"Unknown parameter: '{where}.{key}'.", f"{where}.{key}", "unknown_parameter")


def _string(raw: Item, key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if value is None:
        raise _bad(f"Missing required parameter: '{where}.{key}'.", f"{where}.{key}")
    if not isinstance(value, str):
        raise _bad(f"Invalid type for '{where}.{key}': expected a string.", f"{where}.{key}")
    return value


ID_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")
"""What an id an OpenAI client sends (an item's, ``previous_response_id``) may be made of."""


def check_id(value: str, param: str, code: str | None = None) -> None:
    """OpenAI's 400 for an id with characters no id has (an empty one too)."""
    if not ID_CHARACTERS.fullmatch(value):
        raise _bad(f"Invalid '{param}': '{value}'. Expected an ID that contains letters, numbers, underscores, or "
                   "dashes, but this value contained additional characters.", param, code)


def _id(raw: Item, kind: str, where: str) -> str:
    given = raw.get("id")
    if given is None:
        return object_id(PREFIXES[kind])
    if not isinstance(given, str):
        raise _bad(f"Invalid type for '{where}.id': expected a string.", f"{where}.id")
    check_id(given, f"{where}.id")
    prefix = ID_PREFIXES.get(kind)
    if prefix is not None and not given.startswith(prefix):
        raise _bad(f"Invalid '{where}.id': '{given}'. Expected an ID that begins with '{prefix}'.", f"{where}.id",
                   "invalid_id_prefix")
    return given


def _message(raw: Item, where: str) -> Item:
    role = raw.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise _bad(f"Invalid value for '{where}.role': expected one of user, system, developer, assistant.",
                   f"{where}.role")
    content = raw.get("content")
    if isinstance(content, str):
        parts = [{"type": "output_text", "annotations": [], "logprobs": [], "text": content} if role == "assistant"
                 else {"type": "input_text", "text": content}]
    elif isinstance(content, list):
        parts = [_part(p, f"{where}.content[{k}]", role) for k, p in enumerate(_parts(content, f"{where}.content"))]
    else:
        raise _bad(f"Missing required parameter: '{where}.content'.", f"{where}.content")
    phase = raw.get("phase")
    if phase is not None and (role != "assistant" or not isinstance(phase, str) or phase not in PHASES):
        raise _bad(f"Invalid value for '{where}.phase': only assistant messages take a phase, one of "
                   "commentary, final_answer.", f"{where}.phase")
    return message_item(role, parts, _id(raw, "message", where), phase)


def _parts(parts: list[Any], where: str) -> list[Any]:
    if len(parts) > MAX_CONTENT_PARTS:
        raise InvalidRequest.array_too_long(where, MAX_CONTENT_PARTS, len(parts))
    return parts


def _part(raw: Any, where: str, role: str) -> Item:
    if not isinstance(raw, dict):
        raise _bad(f"Invalid '{where}': expected an object.", where)
    kind = raw.get("type")
    allowed = ("output_text", "refusal") if role == "assistant" else ("input_text", "input_image", "input_file")
    if not isinstance(kind, str) or kind not in allowed:
        raise _bad(f"Invalid value for '{where}.type': a {role} message's content parts are "
                   f"{', '.join(allowed)}; got '{kind}'.", f"{where}.type")
    if kind == "input_text":
        return {"type": kind, "text": _string(raw, "text", where)}
    if kind == "output_text":
        return {"type": kind, "annotations": [], "logprobs": [], "text": _string(raw, "text", where)}
    if kind == "refusal":
        return {"type": kind, "refusal": _string(raw, "refusal", where)}
    if kind == "input_image":
        url, file_id = raw.get("image_url"), raw.get("file_id")
        if not isinstance(url, str) and not isinstance(file_id, str):
            raise _bad(f"Missing required parameter: '{where}.image_url' (or '{where}.file_id').",
                       f"{where}.image_url")
        detail = raw.get("detail") or "auto"
        if not isinstance(detail, str) or detail not in ("auto", "low", "high", "original"):
            raise _bad(f"Invalid value for '{where}.detail'.", f"{where}.detail")
        return {"type": kind, "image_url": url if isinstance(url, str) else None,
                "file_id": file_id if isinstance(file_id, str) else None, "detail": detail}
    if raw.get("file_url") is not None:
        raise _bad("'file_url' is not supported here: send the file as 'file_data' or upload it and send "
                   "'file_id'.", f"{where}.file_url")
    data, file_id = raw.get("file_data"), raw.get("file_id")
    if not isinstance(data, str) and not isinstance(file_id, str):
        raise _bad(f"Missing required parameter: '{where}.file_data' (or '{where}.file_id').", f"{where}.file_data")
    part: Item = {"type": kind}
    for key in ("file_id", "file_data", "filename"):
        if isinstance(raw.get(key), str):
            part[key] = raw[key]
    return part


def compaction_item(summary: str, item_id: str | None = None) -> Item:
    """A ``compaction`` item carrying ``summary``."""
    content = base64.b64encode((COMPACTION_PREFIX + summary).encode()).decode()
    return {"id": item_id or object_id("cmp_"), "type": "compaction", "encrypted_content": content}


def compaction_summary(content: str, where: str) -> str:
    """The summary a ``compaction`` item made here carries; a 400 for any other."""
    try:
        text = base64.b64decode(content, validate=True).decode()
    except (binascii.Error, ValueError):
        text = ""
    if not text.startswith(COMPACTION_PREFIX):
        raise _bad("This compaction item was not made by this server (POST /v1/responses/compact makes them).",
                   where, "invalid_encrypted_content")
    return text[len(COMPACTION_PREFIX):]


# ---- items → messages --------------------------------------------------------------------------


def messages(items: Sequence[Item], wheres: Sequence[str]) -> list[spec.Message]:
    """Resolved items (files read as text or images, references looked up) → the spec's turns."""
    out: list[spec.Message] = []
    for item, where in zip(items, wheres, strict=True):  # most contexts: messages only, a turn each
        if item.get("type") != "message":
            break
        out.append(_turn(item, where))
    else:
        return out
    out = []
    pending_calls: list[spec.ToolCall] = []
    call_where = ""
    known_calls: dict[str, None] = {}  # in order: the first unanswered one is named
    answered: set[str] = set()

    def flush() -> None:
        nonlocal pending_calls
        if pending_calls:
            last = out[-1] if out else None
            if last is not None and last.role == "assistant" and not last.tool_calls:
                out[-1] = spec.Message("assistant", last.content, tuple(pending_calls), where=last.where)
            else:
                out.append(spec.Message("assistant", "", tuple(pending_calls), where=call_where))
            pending_calls = []

    for item, where in zip(items, wheres, strict=True):
        kind = item.get("type")
        if kind == "function_call":
            if not pending_calls:
                call_where = where
            pending_calls.append(spec.ToolCall(item["call_id"], item["name"], item["arguments"]))
            known_calls[item["call_id"]] = None
            continue
        flush()
        if kind == "message":
            out.append(_turn(item, where))
        elif kind == "function_call_output":
            if item["call_id"] not in known_calls:
                raise _bad(f"No tool call found for function call output with call_id {item['call_id']}.", "input")
            answered.add(item["call_id"])
            output = item["output"]
            text = output if isinstance(output, str) else "".join(
                p.get("text", "") for p in output if p.get("type") == "input_text")
            out.append(spec.Message("tool", text, tool_call_id=item["call_id"], where=where))
        elif kind == "compaction":
            summary = compaction_summary(item["encrypted_content"], f"{where}.encrypted_content")
            out.append(spec.Message("system", f"A summary of the conversation so far:\n{summary}", where=where))
    flush()
    if len(answered) < len(known_calls):  # OpenAI's 400 (param ``input``, wherever it is): each call needs its output
        unanswered = next(c for c in known_calls if c not in answered)
        raise _bad(f"No tool output found for function call {unanswered}.", "input")
    return out


def _turn(item: Item, where: str) -> spec.Message:
    role = ROLES[item["role"]]
    content = item["content"]
    if len(content) == 1 and content[0].get("type") in ("input_text", "output_text"):  # most turns: one text
        return spec.Message(role, content[0]["text"], where=where)
    parts: list[spec.Part] = []
    for k, part in enumerate(item["content"]):
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            parts.append(part["text"])
        elif kind == "refusal":
            parts.append(part["refusal"])
        elif kind == "input_image":
            part_where = f"{where}.content[{k}]"
            parts.append(spec.ImagePart(part["image_url"], part_where, f"{part_where}.image_url"))
    texts = [p for p in parts if isinstance(p, str)]
    if len(texts) < len(parts):  # an image among them
        return spec.Message(role, tuple(parts), where=where)
    return spec.Message(role, "".join(texts), where=where)


# ---- the spec ----------------------------------------------------------------------------------


def chat_spec(req: Context, model: ModelInfo, items: Sequence[Item], wheres: Sequence[str], *,
              gateway_tools: Mapping[str, spec.Tool] | None = None, max_tokens: int | None = None) -> spec.ChatSpec:
    """The spec for a response whose whole context is ``items`` (history then input, resolved)."""
    turns = messages(items, wheres)
    if req.instructions:
        turns.insert(0, spec.Message("system", req.instructions, where="instructions"))
    effort = req.reasoning.effort if req.reasoning else None
    fmt: TextFormat | None = req.text.format if req.text else None
    params = PARAMS
    for item, where in zip(items, wheres, strict=True):  # the last update of each setting holds
        if item.get("type") == "configuration_update":
            if "reasoning" in item:
                effort = item["reasoning"]["effort"]
                params = replace(params, reasoning_effort=f"{where}.reasoning.effort")
            if "text" in item:
                fmt = TextFormat.model_validate(item["text"]["format"])
                params = replace(params, output_format=f"{where}.text.format")
    output_format = _output_format(fmt, turns, params.output_format)
    tools, choice = tools_of(req, gateway_tools)
    if type(req) is CreateResponse or isinstance(req, CreateResponse):  # (a pydantic class's isinstance is Python's)
        sampling = spec.Sampling(max_tokens=req.max_output_tokens or max_tokens, temperature=req.temperature,
                                 top_p=req.top_p, frequency_penalty=req.frequency_penalty,
                                 presence_penalty=req.presence_penalty)
    else:
        sampling = spec.Sampling(max_tokens=max_tokens)
    turns = fit(turns, model, req.truncation or "disabled", sampling.max_tokens)
    for turn in turns:
        if turn.role != "system":
            break
    else:
        raise _bad("The response has no input: send 'input' (or a 'previous_response_id' / 'conversation' "
                   "with items).", "input")
    if (sampling.frequency_penalty is not None or sampling.presence_penalty is not None) and model.supports(REASONING):
        _check_penalties(sampling)
    return spec.ChatSpec(
        model=model, messages=tuple(turns), tools=tools, tool_choice=choice,
        parallel_tool_calls=req.parallel_tool_calls, output_format=output_format, sampling=sampling,
        reasoning_effort=effort, params=params, native_format="responses",
    )


def _check_penalties(sampling: spec.Sampling) -> None:
    """OpenAI's reasoning models take no penalties (its 400 on gpt-5.6-terra, observed 2026-08-30, without a
    code): nor do the models here that reason (the catalog's ``reasoning``)."""
    for name, value in (("frequency_penalty", sampling.frequency_penalty),
                        ("presence_penalty", sampling.presence_penalty)):
        if value is not None:
            raise _bad(f"Unsupported parameter: '{name}' is not supported with this model.", name)


def estimated_tokens(turns: Sequence[spec.Message]) -> int:
    """The prompt's size as the gateway estimates it (~4 characters a token; an image ~ 768)."""
    return sum(spec.estimate_tokens(t.text() + "".join(c.arguments for c in t.tool_calls)) + 768 * len(t.images())
               + 4 for t in turns)


def fit(turns: list[spec.Message], model: ModelInfo, truncation: str, max_tokens: int | None) -> list[spec.Message]:
    """The turns within the model's context window: the oldest turns but the instructions dropped with
    ``auto`` (the kept ones start with a user turn, so no tool result loses its call), a 400 with ``disabled``."""
    window = model.context_window
    if window is None:
        return turns
    budget = window - (max_tokens or 0)
    if estimated_tokens(turns) <= budget:
        return turns
    if truncation != "auto":
        raise _bad(f"Your input exceeds the context window of this model ({window} tokens, estimated at ~4 "
                   "characters a token). Shorten the input, or set 'truncation' to 'auto' to drop the oldest "
                   "items.", "input", "context_length_exceeded")
    system = [t for t in turns if t.role == "system" and t.where == "instructions"]
    rest = [t for t in turns if not (t.role == "system" and t.where == "instructions")]
    while len(rest) > 1 and estimated_tokens(system + rest) > budget:
        rest.pop(0)
        while len(rest) > 1 and rest[0].role != "user":  # the kept turns start with the user's
            rest.pop(0)
    return system + rest


def _output_format(fmt: TextFormat | None, turns: Sequence[spec.Message], param: str) -> spec.OutputFormat | None:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        if not any("json" in t.text().lower() for t in turns):
            raise _bad("Response input messages must contain the word 'json' in some form to use 'text.format' "
                       "of type 'json_object'.", "input")
        return spec.OutputFormat("json_object")
    if not fmt.name:
        raise _bad(f"Missing required parameter: '{param}.name'.", f"{param}.name")
    if fmt.schema_ is None:
        raise _bad(f"Missing required parameter: '{param}.schema'.", f"{param}.schema")
    if fmt.strict:
        found = strict_schema.problem(fmt.schema_)
        if found:
            raise _bad(f"Invalid schema for response_format '{fmt.name}': {found}", f"{param}.schema",
                       "invalid_json_schema")
    return spec.OutputFormat("json_schema", fmt.schema_, fmt.name, fmt.description, fmt.strict)


def tools_of(req: Context, gateway_tools: Mapping[str, spec.Tool] | None = None
             ) -> tuple[tuple[spec.Tool, ...], spec.ToolChoice]:
    """Function tools (and the gateway-run tools the runner offers) and the choice among them.

    A gateway-run tool (``gateway_tools``: type → function, for types such as ``file_search`` that the
    server runs itself) is offered to the model as that function; any other non-function type is a 400."""
    if not req.tools:  # most requests: no tools to check, a choice among none
        return (), _choice(req.tool_choice, [], {})
    gateway = gateway_tools or {}
    tools: list[spec.Tool] = []
    hosted: dict[str, spec.Tool] = {}
    for i, tool in enumerate(req.tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise _bad(f"Invalid '{where}': expected an object.", where)
        kind = tool.get("type")
        if not isinstance(kind, str):
            raise _bad(f"Missing required parameter: '{where}.type'.", f"{where}.type")
        if kind in gateway:
            if kind in hosted:
                raise _bad(f"Only one '{kind}' tool may be given.", where)
            hosted[kind] = gateway[kind]
            continue
        if kind != "function":
            supported = ", ".join(["function", *gateway])
            raise _bad(f"Tools of type '{kind}' are not supported here (supported: {supported}): Workers AI "
                       "models call function tools.", f"{where}.type", "unsupported_tool_type")
        name = _string(tool, "name", where)
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise _bad(f"Invalid type for '{where}.parameters': expected an object.", f"{where}.parameters")
        if tool.get("strict") is True:
            found = strict_schema.problem(parameters if parameters is not None else
                                          {"type": "object", "properties": {}, "additionalProperties": False})
            if found:
                raise _bad(f"Invalid schema for function '{name}': {found}", f"{where}.parameters",
                           "invalid_function_parameters")
        description = tool.get("description")
        tools.append(spec.Tool(name, description if isinstance(description, str) else None, parameters,
                               tool.get("strict") if isinstance(tool.get("strict"), bool) else None))
    taken = {f.name: kind for kind, f in hosted.items()}
    for i, tool in enumerate(req.tools):
        if tool.get("type") == "function" and tool.get("name") in taken:
            raise _bad(f"Invalid 'tools[{i}].name': the function name '{tool['name']}' is the "
                       f"{taken[tool['name']]} tool's; choose another.", f"tools[{i}].name")
    tools.extend(hosted.values())
    return tuple(tools), _choice(req.tool_choice, tools, hosted)


def _choice(choice: str | Item | None, tools: list[spec.Tool], hosted: Mapping[str, spec.Tool]) -> spec.ToolChoice:
    if choice is None or (isinstance(choice, str) and choice in ("auto", "none", "required")):
        if choice == "required" and not tools:
            raise _bad("Invalid value for 'tool_choice': 'required' needs at least one tool.", "tool_choice")
        return choice  # type: ignore[return-value]  # one of the literals, checked above
    if not isinstance(choice, dict):
        raise _bad(f"Invalid value for 'tool_choice': '{choice}' is not one of none, auto, required.", "tool_choice")
    kind = choice.get("type")
    names = {t.name for t in tools}
    if kind == "function":
        name = choice.get("name")
        if not isinstance(name, str) or name not in names:
            raise _bad(f"Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' "
                       "parameter.", "tool_choice.name")
        return spec.Forced(str(name))
    if isinstance(kind, str) and kind in hosted:  # {"type": "file_search"}: that tool, forced
        return spec.Forced(hosted[kind].name)
    if kind == "allowed_tools":
        allowed = choice.get("tools")
        if not isinstance(allowed, list):
            raise _bad("Missing required parameter: 'tool_choice.tools'.", "tool_choice.tools")
        allowed_names = {hosted[t["type"]].name if t.get("type") in hosted else str(t.get("name"))
                         for t in allowed if isinstance(t, dict)}
        unknown = allowed_names - names
        if unknown:
            raise _bad(f"Invalid value for 'tool_choice': no function named '{sorted(map(str, unknown))[0]}' was "
                       "specified in the 'tools' parameter.", "tool_choice.tools")
        tools[:] = [t for t in tools if t.name in allowed_names]
        mode = choice.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise _bad("Invalid value for 'tool_choice.mode': expected auto or required.", "tool_choice.mode")
        return "required" if mode == "required" else "auto"
    raise _bad(f"Invalid value for 'tool_choice': tools of type '{kind}' are not supported here.", "tool_choice.type")


def text_of_file(data: bytes, filename: str, where: str) -> str:
    """A text file's content, as the model reads it; a 400 for anything that is not UTF-8 text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(f"The file '{filename}' is not a text file: Workers AI models read text files (UTF-8) and "
                   "images here; send a PDF's text instead.", where, "unsupported_file") from None
    return f"File {filename}:\n{text}"


def arguments_json(arguments: str) -> Any:
    """Tool-call arguments as JSON (their text when they are not)."""
    try:
        return loads(arguments)
    except ValueError:
        return arguments


def echo_tools(tools: list[Item] | None) -> list[Item]:
    """``tools`` as a Response echoes them (function and file_search tools with every field OpenAI lists)."""
    out: list[Item] = []
    for tool in tools or ():
        if tool.get("type") == "function":
            # ``strict`` true when left out (or null): the Responses API's function tools are strict by default
            # (OpenAI's function-calling guide), and OpenAI echoes them so; the model call still gets ``strict``
            # as sent (a background job rebuilds it: runner/responses.py's LOOSE_TOOLS)
            # OpenAI's members and order: type, description, name, output_schema (null unless sent), parameters,
            # strict (openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/FunctionToolStreamingWorks.json)
            strict = tool.get("strict")
            out.append({"type": "function", "description": tool.get("description"), "name": tool.get("name"),
                        "output_schema": tool.get("output_schema"), "parameters": tool.get("parameters"),
                        "strict": strict if isinstance(strict, bool) else True})
        elif tool.get("type") == "file_search":  # OpenAI's defaults filled in, its members in its order: type,
            # filters, max_num_results, ranking_options, vector_store_ids (openai/openai-dotnet
            # tests/SessionRecords/ResponsesToolTests/FileSearch.json, 2026-08)
            echoed = {"type": "file_search", "filters": None, "max_num_results": None, "ranking_options": None, **tool}
            echoed["filters"] = tool.get("filters")
            echoed["max_num_results"] = tool.get("max_num_results", FILE_SEARCH_MAX_RESULTS)
            echoed["ranking_options"] = {"ranker": "auto", "score_threshold": 0.0, **(tool.get("ranking_options") or {})}
            out.append(echoed)
        else:
            out.append(dict(tool))
    return out


def dumps_compact(value: Any) -> str:
    """JSON as stored: compact, UTF-8."""
    return dumps(value, ensure_ascii=False, separators=(",", ":"))
