"""The pipeline's results → Response objects, their output items and stream events (pure).

- :func:`echo` — the request fields a Response echoes, as OpenAI echoes them (defaults filled in);
- :func:`response_object` — the ``response`` object;
- :func:`output_items` — a whole answer (:class:`~..workers_ai.spec.Choice`) as output items:
  a ``reasoning`` item (its text as ``content``, or as ``summary`` when the request asked for one), a ``message``
  with one ``output_text`` part, ``function_call`` items;
- :class:`EventWriter` — streamed pipeline events as OpenAI's event sequence, each with the next
  ``sequence_number``: ``response.created`` (a background response's ``queued``, then ``response.queued``),
  ``response.in_progress``, per item
  ``output_item.added`` → (``content_part.added`` → text / reasoning deltas (and
  ``output_text.annotation.added``) → ``….done`` → ``content_part.done``, or a summarized reasoning item's
  ``reasoning_summary_part.added`` → ``reasoning_summary_text.delta``s → ``….done`` →
  ``reasoning_summary_part.done``, or argument deltas →
  ``function_call_arguments.done``, or a gateway tool's ``response.file_search_call.in_progress`` →
  ``….searching`` → ``….completed``) → ``output_item.done``, then ``response.completed`` /
  ``incomplete`` / ``failed``;
- :func:`replay` — the same sequence rebuilt from a stored response (``GET …?stream=true``);
- :func:`dumps_event` — an event as the client gets it: its JSON, a delta's ``obfuscation`` added as it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from json import dumps
from typing import Any

from ..ids import call_id, padding
from ..replies import pydantic_json
from ..types.responses import CreateResponse, Item
from ..workers_ai.spec import Choice, Delta, FinishReason, ToolCallPiece, Usage
from .citations import Citer, Source, cite_text
from .responses import echo_tools, object_id

Event = dict[str, Any]

TOOL_USAGE: dict[str, Any] = {
    "image_gen": {"input_tokens": 0, "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                  "output_tokens": 0, "output_tokens_details": {"image_tokens": 0, "text_tokens": 0},
                  "total_tokens": 0},
    "web_search": {"num_requests": 0},
}
"""A Response's ``tool_usage``: what OpenAI's hosted tools (image generation, web search) used, zero here, as
OpenAI shows it when they were not used (in every Response and event it sends since mid-2026). Never mutated."""
_TOOL_USAGE_JSON_MEMBER = b',"tool_usage":' + dumps(TOOL_USAGE, separators=(",", ":")).encode() + b',"usage":'


def echo(req: CreateResponse) -> dict[str, Any]:
    """The request fields a Response echoes (OpenAI's defaults where the request left them out)."""
    text, reasoning = req.text, req.reasoning  # (each read once: a pydantic model's attributes cost more)
    fmt = text.format if text is not None else None
    text_format: dict[str, Any] = {"type": "text"}
    if fmt is not None and fmt.type == "json_object":
        text_format = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        # OpenAI's members and order, description null and strict true when not sent, as for function tools
        # (openai/openai-dotnet tests/SessionRecords/ResponsesTests/StructuredOutputs(%gpt-4o-mini%).json)
        text_format = {"type": "json_schema", "description": fmt.description, "name": fmt.name, "schema": fmt.schema_,
                       "strict": True if fmt.strict is None else fmt.strict}
    echoed = {
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "max_tool_calls": req.max_tool_calls,
        "metadata": req.metadata or {},
        "parallel_tool_calls": True if req.parallel_tool_calls is None else req.parallel_tool_calls,
        "prompt_cache_key": req.prompt_cache_key,
        # "in_memory" when not sent, as OpenAI's Responses of 2026-08 show it (openai/openai-dotnet tests/
        # SessionRecords/ResponseStoreTests/GetInputItemsWithCombinedOptions.json, gpt-4o-mini; earlier ones: null)
        "prompt_cache_retention": req.prompt_cache_retention or "in_memory",
        "reasoning": {"context": None, "effort": None, "summary": None} if reasoning is None else
                     {"context": reasoning.context, "effort": reasoning.effort, "summary": reasoning.summary},
        "safety_identifier": req.safety_identifier,
        "service_tier": "default",
        "store": req.store is not False,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "text": {"format": text_format, "verbosity": (text.verbosity if text is not None else None) or "medium"},
        "tool_choice": "auto" if req.tool_choice is None else req.tool_choice,
        "tools": echo_tools(req.tools) if req.tools else [],
        "top_logprobs": req.top_logprobs or 0,
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "truncation": req.truncation or "disabled",
        "user": req.user,  # null when not given, as OpenAI's Responses show it (its spec has no null)
    }
    # The penalties only when sent: a Response shows 0.0 for them otherwise (in its own places: response_object)
    if req.frequency_penalty is not None:
        echoed["frequency_penalty"] = req.frequency_penalty
    if req.presence_penalty is not None:
        echoed["presence_penalty"] = req.presence_penalty
    return echoed


def usage_object(usage: Usage) -> dict[str, Any]:
    """A Response's ``usage`` (its reasoning tokens counted as a chat completion's are), its members in OpenAI's
    order (``cache_write_tokens`` before ``cached_tokens``: openai/openai-dotnet tests/SessionRecords/
    ResponseStoreTests/GetInputItemsWithCombinedOptions.json, ResponsesToolTests/FunctionToolStreamingWorks.json)."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def response_object(
    response_id: str, *, created_at: int, status: str, model: str, echoed: dict[str, Any], output: list[Item],
    usage: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None, completed_at: int | None = None,
    previous_response_id: str | None = None, conversation_id: str | None = None, background: bool = False,
    moderation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """OpenAI's ``response`` object (``moderation``: a moderated response's results, once it ended; ``usage``:
    null until the response is generated, as in OpenAI's ``response.created`` and a queued response)."""
    response = _head(response_id, created_at, status, model, error, incomplete_details, completed_at,
                     conversation_id, background)
    if moderation is not None:  # only a moderated response's (null otherwise)
        response["moderation"] = moderation
    response["output"] = output
    response["presence_penalty"] = 0.0
    response["previous_response_id"] = previous_response_id
    response.update(echoed)  # (the penalties, when sent, replace the 0.0s where they are)
    if "user" not in echoed:  # a response stored before the echo held its null
        response["user"] = None
    if status in _UNSERVED:  # OpenAI's Responses say "auto" until a tier serves them, then "default"
        response["service_tier"] = "auto"
    response["tool_usage"] = TOOL_USAGE
    response["usage"] = usage
    return response


_UNSERVED = frozenset({"queued", "in_progress", "cancelled"})
"""A cancelled response was not served to its end: "auto" too (openai/openai-dotnet
tests/SessionRecords/ResponsesTests/CanCancelBackgroundResponses.json, POST /v1/responses/{id}/cancel)."""


def response_json(
    response_id: str, *, created_at: int, status: str, model: str, echoed_json: bytes, output_json: Sequence[bytes],
    usage_json: bytes | None = None, error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None, completed_at: int | None = None,
    previous_response_id: str | None = None, conversation_id: str | None = None, background: bool = False,
) -> bytes | None:
    """:func:`response_object`'s JSON (``json_bytes``'s bytes), put together from the JSON of its echoed
    fields, its output items and its usage as pydantic-core made them (:func:`~..replies.pydantic_json`: for
    the response's rows), rather than serialized again; its members in :func:`response_object`'s order. None
    when the rest cannot be made so (then neither could the whole object's). Not for an echo with penalties
    (:func:`echo`), whose members go elsewhere in the object."""
    head = pydantic_json(_head(response_id, created_at, status, model, error, incomplete_details, completed_at,
                               conversation_id, background))
    previous = pydantic_json(previous_response_id)
    if head is None or previous is None:
        return None
    parts = [head[:-1], b',"output":[', b",".join(output_json), b'],"presence_penalty":0.0,"previous_response_id":',
             previous]
    if len(echoed_json) > 2:  # the echo's members: its JSON object's, without the braces
        parts += (b",", echoed_json[1:-1])
    parts += (_TOOL_USAGE_JSON_MEMBER, usage_json if usage_json is not None else b"null", b"}")
    return b"".join(parts)


def _head(response_id: str, created_at: int, status: str, model: str, error: dict[str, Any] | None,
          incomplete_details: dict[str, Any] | None, completed_at: int | None, conversation_id: str | None,
          background: bool) -> dict[str, Any]:
    """A response object's members before its ``output``, in OpenAI's order (``conversation`` only when the
    response belongs to one: OpenAI's Responses have no ``conversation`` member otherwise)."""
    if conversation_id:
        return {"id": response_id, "object": "response", "created_at": created_at, "status": status,
                "background": background, "completed_at": completed_at, "conversation": {"id": conversation_id},
                "error": error, "frequency_penalty": 0.0, "incomplete_details": incomplete_details, "model": model,
                "moderation": None}
    return {"id": response_id, "object": "response", "created_at": created_at, "status": status,
            "background": background, "completed_at": completed_at, "error": error, "frequency_penalty": 0.0,
            "incomplete_details": incomplete_details, "model": model, "moderation": None}


def outcome(reason: FinishReason | None) -> tuple[str, dict[str, Any] | None]:
    """(status, incomplete_details) for how the generation finished."""
    if reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    return "completed", None


def reasoning_item(text: str, status: str = "completed", item_id: str | None = None, summary: bool = False) -> Item:
    """The model's reasoning as a ``reasoning`` item: its ``content`` (as open-weight gpt-oss comes from
    OpenAI-compatible servers); with ``summary`` (the request's ``reasoning.summary`` set), its one ``summary_text``
    part instead, without ``content``, as OpenAI's reasoning models answer a request for a summary (an o3 stream of
    2025-09 recorded in bella-assistants' docs: ``{"id","type":"reasoning","summary":[{"type":"summary_text",…}]}``).
    The text is the reasoning itself, not a shorter summary: no model here writes one."""
    if summary:
        return {"id": item_id or object_id("rs_"), "type": "reasoning",
                "summary": [_summary_part(text)] if text else [], "status": status}
    # content before summary, as OpenAI's reasoning items list them (openai/openai-dotnet tests/SessionRecords/
    # ResponsesTests/ReasoningStreamingWorks.json, 2026-08: {"id","type":"reasoning","content":[],
    # "encrypted_content",…,"summary":[…]}; they carry no status, kept here last)
    return {"id": item_id or object_id("rs_"), "type": "reasoning",
            "content": [{"type": "reasoning_text", "text": text}] if text else [], "summary": [], "status": status}


def message_output(text: str, status: str = "completed", item_id: str | None = None) -> Item:
    content = [_text_part(text)] if status != "in_progress" else []
    return {"id": item_id or object_id("msg_"), "type": "message", "status": status, "content": content,
            "role": "assistant"}


def function_call_item(piece: ToolCallPiece, status: str = "completed", item_id: str | None = None) -> Item:
    """A ``function_call`` item, its members in OpenAI's order (``id, type, status, arguments, call_id, name``:
    openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/FunctionToolStreamingWorks.json, 2026-08, at
    ``output_item.added``, at ``…done`` and in the Response)."""
    return {"id": item_id or object_id("fc_"), "type": "function_call", "status": status,
            "arguments": piece.arguments or ("{}" if status == "completed" else ""), "call_id": call_id(piece.id),
            "name": piece.name or ""}


def _text_part(text: str, annotations: list[Item] | None = None) -> Item:
    return {"type": "output_text", "annotations": annotations or [], "logprobs": [], "text": text}


def cited(item: Item, sources: Sequence[Source]) -> Item:
    """A whole ``message`` item citing ``sources``: the markers out of its text, ``file_citation`` annotations in."""
    if item.get("type") != "message" or not sources:
        return item
    content = []
    for part in item["content"]:
        if part.get("type") == "output_text":
            text, annotations = cite_text(part["text"], sources)
            part = _text_part(text, annotations)
        content.append(part)
    return {**item, "content": content}


def output_items(choice: Choice, summary: bool = False, first_id: str | None = None) -> list[Item]:
    """A whole answer as output items (``summary``: its reasoning as a summary, :func:`reasoning_item`;
    ``first_id``: the digits of its first item's id, after its type's prefix, else a fresh id)."""
    status = "incomplete" if choice.finish_reason == "length" else "completed"
    out: list[Item] = []
    if choice.reasoning:
        out.append(reasoning_item(choice.reasoning, status, _first("rs_", first_id, out), summary=summary))
    if choice.text or not (choice.reasoning or choice.tool_calls):
        out.append(message_output(choice.text, status, _first("msg_", first_id, out)))
    if choice.tool_calls:
        out += [function_call_item(piece, item_id=_first("fc_", first_id, out) if i == 0 else None)
                for i, piece in enumerate(choice.tool_calls)]
    return out


def _first(prefix: str, digits: str | None, output: list[Item]) -> str | None:
    """The id of an output's first item (``output`` still empty) when ``digits`` are given for it, else None."""
    return prefix + digits if digits is not None and not output else None


class EventWriter:
    """A response's stream events, numbered; it accumulates the output items as it goes, and the stream's
    :attr:`shape`."""

    def __init__(self, summary: bool = False, first_id: str | None = None) -> None:
        self.summary = summary
        """Whether reasoning is written as a summary (:func:`reasoning_item`): its items have no ``content``."""
        self.first_id = first_id
        """The digits of its first output item's id, after its type's prefix, until :meth:`take_first_id` takes
        them (None: a fresh id, as for the others)."""
        self.output: list[Item] = []
        self.seq = -1
        self.shape: list[list[Any]] = []
        """What the events said that the output items, once done, do not: each event's type (and output index),
        a run of deltas to one item as one entry with their lengths (``[type, index, [length, …]]``), so that
        :func:`replay` rebuilds the same events, numbered as they were sent."""
        self._open: Item | None = None  # the reasoning item or message receiving deltas
        self._text = ""
        self._calls: dict[tuple[int, int], int] = {}  # (round, call index) → output index
        self._round = 0
        self._sources: list[Source] = []  # what the messages from now on may cite
        self._citer: Citer | None = None  # the open message's citations
        self._annotations: list[Item] = []  # the open message's annotations

    def event(self, kind: str, **fields: Any) -> Event:
        self.seq += 1
        index = fields.get("output_index")
        if "delta" in fields:
            last = self.shape[-1] if self.shape else None
            if last is not None and last[0] == kind and last[1] == index:
                last[2].append(len(fields["delta"]))
            else:
                self.shape.append([kind, index, [len(fields["delta"])]])
        else:
            self.shape.append([kind] if index is None else [kind, index])
        return _event(kind, self.seq, fields)

    def lifecycle(self, kind: str, response: dict[str, Any]) -> Event:
        """``response.created`` / ``in_progress`` … carrying ``response`` (whose output is :attr:`output`)."""
        return self.event(kind, response=response)

    def next_round(self) -> None:
        """A new model call of the same response (after a gateway-run tool): its calls are new items."""
        self._round += 1

    def take_first_id(self) -> str | None:
        """:attr:`first_id`, taken once (it is None afterwards): for the output's first item, made by
        :func:`output_items` or begun here; None when an output item was written already (it got its own id)."""
        first_id, self.first_id = self.first_id, None
        return first_id if not self.output else None

    def cite(self, sources: Sequence[Source]) -> None:
        """Messages written from now on may cite ``sources`` (their markers become annotations)."""
        self._sources = list(sources)

    def delta(self, delta: Delta) -> list[Event]:
        events: list[Event] = []
        if delta.reasoning:
            events += self._write("reasoning", delta.reasoning)
        if delta.text:
            events += self._write("message", delta.text)
        for piece in delta.tool_calls:
            events += self._call(piece)
        return events

    def _write(self, kind: str, text: str, item_id: str | None = None) -> list[Event]:
        events: list[Event] = []
        if self._open is None or self._open["type"] != kind:
            events += self.close_open()
            first = _first("rs_" if kind == "reasoning" else "msg_", self.take_first_id(), self.output)
            item = (reasoning_item("", "in_progress", item_id or first, self.summary) if kind == "reasoning"
                    else message_output("", "in_progress", item_id or first))
            self.output.append(item)
            self._open, self._text = item, ""
            self._citer = Citer(self._sources) if kind == "message" and self._sources else None
            self._annotations = []
            index = len(self.output) - 1
            events.append(self.event("response.output_item.added", output_index=index, item=_copy(item)))
            if "content" not in item:  # a summary: OpenAI opens its part before the first delta
                events.append(self.event("response.reasoning_summary_part.added", item_id=item["id"],
                                         output_index=index, summary_index=0, part=_summary_part("")))
            else:
                part = {"type": "reasoning_text", "text": ""} if kind == "reasoning" else _text_part("")
                events.append(self.event("response.content_part.added", item_id=item["id"], output_index=index,
                                         content_index=0, part=part))
        found: list[Item] = []
        if kind == "message" and self._citer is not None:
            text, found = self._citer.feed(text)
        return events + self._delta(kind, text) + self.annotate(found)

    def _delta(self, kind: str, text: str) -> list[Event]:
        if not text or self._open is None:
            return []
        self._text += text
        item_id, index = self._open["id"], self.output.index(self._open)
        if kind == "reasoning":
            if "content" not in self._open:
                return [self.event("response.reasoning_summary_text.delta", item_id=item_id, output_index=index,
                                   summary_index=0, delta=text)]
            return [self.event("response.reasoning_text.delta", item_id=item_id, output_index=index, content_index=0,
                               delta=text)]
        return [self.event("response.output_text.delta", item_id=item_id, output_index=index, content_index=0,
                           delta=text, logprobs=[])]

    def annotate(self, annotations: list[Item]) -> list[Event]:
        """``response.output_text.annotation.added`` for annotations of the open message."""
        if self._open is None:
            return []
        item_id, index = self._open["id"], self.output.index(self._open)
        events = []
        for annotation in annotations:
            self._annotations.append(annotation)
            events.append(self.event("response.output_text.annotation.added", item_id=item_id, output_index=index,
                                     content_index=0, annotation_index=len(self._annotations) - 1,
                                     annotation=annotation))
        return events

    def close_open(self, status: str = "completed") -> list[Event]:
        if self._open is None:
            return []
        events: list[Event] = []
        if self._citer is not None:  # the text held back, and the citations of an answer without markers
            rest, found = self._citer.close()
            events += self._delta("message", rest) + self.annotate(found)
            self._citer = None
        item, self._open = self._open, None
        index = self.output.index(item)
        item["status"] = status
        if "content" not in item:  # a summarized reasoning item (OpenAI's ….done events, then the whole item)
            summary = _summary_part(self._text)
            item["summary"] = [summary]
            ended = {"status": "incomplete"} if status == "incomplete" else {}
            at = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            return [*events, self.event("response.reasoning_summary_text.done", **at, text=self._text),
                    self.event("response.reasoning_summary_part.done", **at, part=summary, **ended),
                    self.event("response.output_item.done", output_index=index, item=_copy(item))]
        if item["type"] == "reasoning":
            part: Item = {"type": "reasoning_text", "text": self._text}
            done = self.event("response.reasoning_text.done", item_id=item["id"], output_index=index,
                              content_index=0, text=self._text)
        else:
            part = _text_part(self._text, self._annotations)
            done = self.event("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                              text=self._text, logprobs=[])
        item["content"] = [part]
        return [*events, done,
                self.event("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                           part=part),
                self.event("response.output_item.done", output_index=index, item=_copy(item))]

    def _call(self, piece: ToolCallPiece, item_id: str | None = None) -> list[Event]:
        events: list[Event] = []
        key = (self._round, piece.index)
        if key not in self._calls:
            events += self.close_open()
            item = function_call_item(piece, "in_progress", item_id or _first("fc_", self.take_first_id(), self.output))
            item["arguments"] = ""
            self.output.append(item)
            self._calls[key] = len(self.output) - 1
            events.append(self.event("response.output_item.added", output_index=len(self.output) - 1,
                                     item=_copy(item)))
        index = self._calls[key]
        item = self.output[index]
        if piece.arguments:
            item["arguments"] += piece.arguments
            events.append(self.event("response.function_call_arguments.delta", item_id=item["id"],
                                     output_index=index, delta=piece.arguments))
        return events

    def close_all(self, status: str = "completed") -> list[Event]:
        """Every item still open, finished (``status``: ``incomplete`` when cut short)."""
        events = self.close_open(status)
        for index in sorted(self._calls.values()):
            item = self.output[index]
            if item["status"] != "in_progress":
                continue
            item["status"] = "completed"
            item["arguments"] = item["arguments"] or "{}"
            # No ``name``: OpenAI sends none (a gpt-5.4 stream of 2026-05 in a public repository's tests:
            # {"type":"response.function_call_arguments.done","arguments":…,"item_id":…,"output_index":0,
            # "sequence_number":4}), nor does the official client 3.63 type one; the spec's copy is older.
            events.append(self.event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                                     arguments=item["arguments"]))
            events.append(self.event("response.output_item.done", output_index=index, item=_copy(item)))
        return events

    def add_items(self, items: list[Item]) -> list[Event]:
        """Whole items (a gateway-run tool's call and result) added to the output."""
        events: list[Event] = self.close_open()
        for item in items:
            self.output.append(item)
            index = len(self.output) - 1
            events.append(self.event("response.output_item.added", output_index=index, item=_copy(item)))
            events.append(self.event("response.output_item.done", output_index=index, item=_copy(item)))
        return events

    def begin_item(self, item: Item, working: str) -> list[Event]:
        """A gateway tool's item added in progress: ``output_item.added``, ``response.<type>.in_progress``,
        then ``response.<type>.<working>`` (``searching``)."""
        events: list[Event] = self.close_open()
        self.output.append(item)
        index = len(self.output) - 1
        events.append(self.event("response.output_item.added", output_index=index, item=_added(item)))
        events.append(self.event(f"response.{item['type']}.in_progress", output_index=index, item_id=item["id"]))
        item["status"] = working
        events.append(self.event(f"response.{item['type']}.{working}", output_index=index, item_id=item["id"]))
        return events

    def end_item(self, item: Item) -> list[Event]:
        """The gateway tool's item, finished (it replaces the one :meth:`begin_item` added, same id)."""
        index = next(i for i, o in enumerate(self.output) if o.get("id") == item["id"])
        self.output[index] = item
        events: list[Event] = []
        if item["status"] == "completed":
            events.append(self.event(f"response.{item['type']}.completed", output_index=index, item_id=item["id"]))
        events.append(self.event("response.output_item.done", output_index=index, item=_copy(item)))
        return events

    def error(self, code: str | None, message: str, param: str | None) -> Event:
        return self.event("error", code=code, message=message, param=param)


def _event(kind: str, seq: int, fields: dict[str, Any]) -> Event:
    """An event as OpenAI sends it: ``type``, then its other members, ``sequence_number`` among them, in
    alphabetical order (openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/FunctionToolStreamingWorks.json
    and ResponsesTests/ReasoningStreamingWorks.json, 2026-08: ``{"type":"response.output_text.delta",
    "content_index":0,"delta":…,"item_id":…,"logprobs":[],"obfuscation":…,"output_index":1,"sequence_number":87}``,
    ``…output_text.done`` with ``text`` after ``sequence_number``; 2025's streams had ``sequence_number`` second)."""
    fields["sequence_number"] = seq
    return {"type": kind, **{name: fields[name] for name in sorted(fields)}}


def _summary_part(text: str) -> Item:
    return {"type": "summary_text", "text": text}


def _copy(item: Item) -> Item:
    return {**item, "content": list(item["content"])} if "content" in item else dict(item)


def opening(background: bool) -> tuple[tuple[str, str], ...]:
    """The events a stream opens with, and the status each shows: ``response.created`` and
    ``response.in_progress``; a background response's (created ``queued``) has ``response.queued`` between
    them, as OpenAI's background streams do."""
    if background:
        return ("response.created", "queued"), ("response.queued", "queued"), ("response.in_progress", "in_progress")
    return ("response.created", "in_progress"), ("response.in_progress", "in_progress")


CLOSING_EVENTS = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}
"""A stored response's status → the event its stream ended with (queued, in progress, cancelled: none)."""


def _text_of(item: Item) -> str:
    """A message's or reasoning item's text (or refusal; a summarized reasoning item's summary), as its deltas
    carried it."""
    parts = item.get("content")
    if parts is None:
        parts = item.get("summary", ())
    return "".join(p.get("text", p.get("refusal", "")) for p in parts)


def replay(response: dict[str, Any], shape: list[list[Any]] | None = None) -> list[Event]:
    """The events a stream of ``response`` would have carried, rebuilt from the stored object (a
    response still queued or in progress, or cancelled, gets no closing event): with the ``shape`` of the
    stream it had (:attr:`EventWriter.shape`), those very events, numbered as they were sent; without, one
    delta per item."""
    # Nothing made yet (the events are all built before any is sent: the writer's output would be whole by then)
    start = {**response, "status": "in_progress", "output": [], "completed_at": None, "moderation": None,
             "service_tier": "auto", "usage": None}
    if shape is not None and all(len(entry) == 1 or entry[1] < len(response["output"]) for entry in shape):
        return _shaped(response, start, shape)
    writer = EventWriter()
    events = [writer.lifecycle(kind, {**start, "status": status})
              for kind, status in opening(bool(response.get("background")))]
    for position, item in enumerate(response["output"]):
        kind = item["type"]
        if kind in ("message", "reasoning"):
            writer.summary = "content" not in item
            events += writer._write(kind, _text_of(item), item["id"])
            events += writer.annotate([a for p in item.get("content", ()) for a in p.get("annotations") or ()])
            events += writer.close_open(item.get("status", "completed"))
        elif kind == "function_call":
            piece = ToolCallPiece(position, item["call_id"], item["name"], item["arguments"])
            events += writer._call(piece, item["id"])
            events += writer.close_all()
        elif kind == "file_search_call":
            events += writer.begin_item({**item, "status": "in_progress"}, "searching")
            events += writer.end_item(item)
        else:
            events += writer.add_items([item])
    if response["status"] in CLOSING_EVENTS:
        events.append(writer.event(CLOSING_EVENTS[response["status"]], response=response))
    return events


def _shaped(response: dict[str, Any], start: dict[str, Any], shape: list[list[Any]]) -> list[Event]:
    """:func:`replay` of a streamed response: its stream's events, rebuilt from its ``shape`` and its items."""
    output: list[Item] = response["output"]
    events: list[Event] = []
    sent: dict[int, int] = {}  # output index → characters of its text (or arguments) sent in deltas
    noted: dict[int, int] = {}  # output index → annotations sent

    def event(kind: str, **fields: Any) -> None:
        events.append(_event(kind, len(events), fields))

    for entry in shape:
        kind = entry[0]
        if len(entry) == 1:  # response.created, (a background response's response.queued), response.in_progress
            queued = kind == "response.queued" or (kind == "response.created" and response.get("background"))
            event(kind, response={**start, "status": "queued"} if queued else start)
            continue
        index = entry[1]
        item = output[index]
        if item["type"] == "function_call":
            whole = item["arguments"]
        else:
            whole = _text_of(item)
        at = {"item_id": item["id"], "output_index": index}
        if len(entry) == 3:  # a run of deltas
            for length in entry[2]:
                begin = sent.get(index, 0)
                sent[index] = begin + length
                delta = whole[begin:begin + length]
                if kind == "response.function_call_arguments.delta":
                    event(kind, **at, delta=delta)
                elif kind == "response.output_text.delta":
                    event(kind, **at, content_index=0, delta=delta, logprobs=[])
                elif kind == "response.reasoning_summary_text.delta":
                    event(kind, **at, summary_index=0, delta=delta)
                else:
                    event(kind, **at, content_index=0, delta=delta)
        elif kind == "response.output_item.added":
            event(kind, output_index=index, item=_added(item))
        elif kind == "response.output_item.done":
            event(kind, output_index=index, item=_copy(item))
        elif kind == "response.content_part.added":
            event(kind, **at, content_index=0,
                  part={"type": "reasoning_text", "text": ""} if item["type"] == "reasoning" else _text_part(""))
        elif kind == "response.content_part.done":
            event(kind, **at, content_index=0, part=item["content"][0])
        elif kind == "response.output_text.annotation.added":
            number = noted[index] = noted.get(index, -1) + 1
            event(kind, **at, content_index=0, annotation_index=number,
                  annotation=item["content"][0]["annotations"][number])
        elif kind == "response.output_text.done":
            event(kind, **at, content_index=0, text=whole, logprobs=[])
        elif kind == "response.reasoning_text.done":
            event(kind, **at, content_index=0, text=whole)
        elif kind == "response.function_call_arguments.done":
            event(kind, **at, arguments=whole)
        elif kind == "response.reasoning_summary_part.added":
            event(kind, **at, summary_index=0, part=_summary_part(""))
        elif kind == "response.reasoning_summary_text.done":
            event(kind, **at, summary_index=0, text=whole)
        elif kind == "response.reasoning_summary_part.done":
            ended = {"status": "incomplete"} if item.get("status") == "incomplete" else {}
            event(kind, **at, summary_index=0, part=_summary_part(whole), **ended)
        else:  # a gateway tool's item's progress (response.file_search_call.searching …)
            event(kind, output_index=index, item_id=item["id"])
    if response["status"] in CLOSING_EVENTS:
        event(CLOSING_EVENTS[response["status"]], response=response)
    return events


def _added(item: Item) -> Item:
    """``item`` as its ``response.output_item.added`` event showed it, before anything of it was made."""
    kind = item["type"]
    if kind in ("message", "reasoning"):
        return {**item, "status": "in_progress", "content" if "content" in item else "summary": []}
    if kind == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    if kind == "file_search_call":  # a gateway tool's: before its search, without queries nor results yet, as
        # OpenAI's (openai/openai-dotnet tests/SessionRecords/ResponsesToolTests/FileSearchCallStreaming.json)
        return {**item, "status": "in_progress", "queries": [], "results": None}
    return _copy(item)


def dumps_event(event: Event, obfuscate: bool = False) -> str:
    """``event`` as JSON. With ``obfuscate`` (OpenAI's default: ``stream_options.include_obfuscation``, or a
    resumed stream's ``include_obfuscation`` parameter, not false) a delta event (``response.….delta``) ends
    with an ``obfuscation`` string of random characters, "to normalize payload sizes as a mitigation to
    certain side-channel attacks" (OpenAI's ``ResponseStreamOptions``): it pads the ``delta`` to a multiple
    of 16 characters. Added here, as it is sent: no event kept or replayed holds it; in its alphabetical place
    (:func:`_event`), before ``output_index``, which every delta event has (and no string of it can hold unescaped)."""
    text = dumps(event, ensure_ascii=False, separators=(",", ":"))
    if obfuscate and event["type"].endswith(".delta"):  # its padding is base64url: nothing to escape
        at = text.find(',"output_index":')
        at = len(text) - 1 if at < 0 else at
        return f'{text[:at]},"obfuscation":"{padding(len(event["delta"])).decode()}"{text[at:]}'
    return text
