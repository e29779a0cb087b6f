"""The pipeline's results → ``chat.completion`` objects and ``chat.completion.chunk`` frames (pure)."""

from __future__ import annotations

from json import dumps
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel

from ..ids import call_id, padding, request_id
from ..types.chat import CreateChatCompletionRequest, ImagePart, Message, TextPart
from ..types.common import CompletionTokensDetails, CompletionUsage
from ..workers_ai.spec import Choice, Delta, Done, Event, Finish, FinishReason, Generated, ToolCallPiece, Usage, gather

# The chat.completion object is built as JSON data, as the chunks are: it equals what the
# ``types.chat.ChatCompletion`` model (its documented shape) serializes to, field for field
# (tests/test_chat_completion_object.py holds them equal), at a fraction of the model's cost.

SERVICE_TIER = "default"
"""The ``service_tier`` a completion and each of its chunks report: the processing mode that served the request
(OpenAI's ``ServiceTier``: "the response body will include the service_tier value based on the processing mode
actually used", which may differ from the one asked for). Workers AI has one, so it is OpenAI's standard one,
``default``, as its API reference's chat completion example answers a request that named none."""

SYSTEM_FINGERPRINT = None
"""The ``system_fingerprint`` a completion and each of its chunks carry: OpenAI sends the key always, ``null``
where it has no fingerprint of the backend to give (its recordings of 2026); Workers AI gives none."""


def tool_calls(pieces: list[ToolCallPiece]) -> list[dict[str, Any]] | None:
    """The ``tool_calls`` of a chat message (None when there are none)."""
    if not pieces:
        return None
    return [{"id": call_id(p.id), "type": "function",
             "function": {"name": p.name or "", "arguments": p.arguments or "{}"}} for p in pieces]


def function_call(piece: ToolCallPiece) -> dict[str, str]:
    """The deprecated ``function_call`` of a chat message: the call, with no id."""
    return {"name": piece.name or "", "arguments": piece.arguments or "{}"}


def message(choice: Choice, functions: bool = False) -> dict[str, Any]:
    """The assistant ``message`` of a chat completion choice; with ``functions`` (the request sent the
    deprecated ``functions``), its one call as ``function_call`` rather than ``tool_calls``. Its members in
    OpenAI's order: ``role``, ``content``, the call (``tool_calls`` or ``function_call``), ``refusal``,
    ``annotations`` (openai/openai-dotnet, tests/SessionRecords/ChatToolTests/ParallelToolCalls.json,
    FunctionsWork.json)."""
    calls = tool_calls(choice.tool_calls)
    out: dict[str, Any]
    if not calls:
        out = {"role": "assistant", "content": choice.text, "refusal": None}
    elif functions:
        out = {"role": "assistant", "content": choice.text or None,
               "function_call": function_call(choice.tool_calls[0]), "refusal": None}
    else:
        out = {"role": "assistant", "content": choice.text or None, "tool_calls": calls, "refusal": None}
    if choice.reasoning:
        out["reasoning_content"] = choice.reasoning
    out["annotations"] = []
    return out


def reason_of(reason: str, called: str = "tool_calls") -> str:
    """The choice's ``finish_reason``: for an answer that called, ``called`` (:func:`..translate.chat.called_as`)."""
    return called if reason == "tool_calls" else reason


def completion(completion_id: str, created: int, model: str, generated: Generated,
               called: str = "tool_calls") -> dict[str, Any]:
    """The ``chat.completion``: one choice per generated answer; ``called`` is the ``finish_reason`` of one that
    called (``function_call``: the request sent the deprecated ``functions``, see :func:`message`)."""
    functions = called == "function_call"
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": i, "message": message(c, functions), "logprobs": None,
                     "finish_reason": reason_of(c.finish_reason, called)}
                    for i, c in enumerate(generated.choices)],
        "usage": usage_data(generated.usage), "service_tier": SERVICE_TIER, "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def usage_data(u: Usage) -> dict[str, Any]:
    """A chat completion's ``usage``, as JSON data: with both details objects always, as OpenAI sends
    them (its API reference's chat completion example); audio, predicted outputs and prompt tokens written to
    a cache (``cache_write_tokens``, in OpenAI's answers since 2026-08) are always 0."""
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cached_tokens, "cache_write_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def usage_of(u: Usage) -> CompletionUsage:
    """A legacy completion's ``usage`` (``/v1/completions``): OpenAI's example there has no details, so
    only the reasoning count, where there was reasoning."""
    details = CompletionTokensDetails(reasoning_tokens=u.reasoning_tokens) if u.reasoning_tokens else None
    return CompletionUsage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                           total_tokens=u.total_tokens, completion_tokens_details=details)


class ChunkWriter:
    """Encodes ``chat.completion.chunk`` SSE frames for one response.

    With ``obfuscate`` (OpenAI's default: ``stream_options.include_obfuscation`` not ``false``) every chunk
    carries an ``obfuscation`` string of random characters, "added to normalize the size of streamed chunks"
    (OpenAI's chunk schema): it pads the chunk's text to a multiple of 16 characters, as OpenAI's streams do
    (a one-character delta comes with 15, a seven-character one with 9)."""

    __slots__ = ("called", "functions", "head", "include_usage", "obfuscate", "seen_calls", "_text_frame")

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool,
                 called: str = "tool_calls", obfuscate: bool = False) -> None:
        self.head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "service_tier": SERVICE_TIER, "system_fingerprint": SYSTEM_FINGERPRINT}
        self.include_usage = include_usage
        self.called = called
        """The ``finish_reason`` of a choice that called (:func:`completion`)."""
        self.functions = called == "function_call"
        """The request sent the deprecated ``functions``: a call streams as ``delta.function_call``."""
        self.obfuscate = obfuscate
        self.seen_calls: set[tuple[int, int]] = set()
        # The hot path (a content-only delta of choice 0) is a template around the text (and the padding):
        # encoding one string instead of the whole chunk keeps a frame at ~1 µs.
        marker, pad = "\x00", "\x01"
        chunk: dict[str, Any] = {**self.head, "choices": [_choice(0, {"content": marker})]}
        if include_usage:
            chunk["usage"] = None
        if obfuscate:
            chunk["obfuscation"] = pad
        prefix, _, rest = dumps(chunk, ensure_ascii=False, separators=(",", ":")).partition(dumps(marker))
        # (prefix) "text" (middle) padding (end): without obfuscation the padding and the end are empty
        middle, _, end = rest.partition(dumps(pad)) if obfuscate else (rest, "", "")
        quote = '"' if obfuscate else ""
        self._text_frame = (f"data: {prefix}".encode(), f"{middle}{quote}".encode(), f"{quote}{end}\n\n".encode())

    def frame(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None, size: int = 0,
              moderation: dict[str, Any] | None = None) -> bytes:
        """One chunk holding ``choices`` (and ``usage`` when the client asked for it; ``moderation`` on the
        moderation chunk); ``size`` is how many characters of text it carries (what its obfuscation pads)."""
        chunk: dict[str, Any] = {**self.head, "choices": choices}
        if moderation is not None:  # before usage, as OpenAI's moderation chunk has it
            chunk["moderation"] = moderation
        if self.include_usage:
            chunk["usage"] = usage
        if self.obfuscate:
            chunk["obfuscation"] = padding(size).decode()
        # "replace": a lone surrogate (an upstream \\ud83d escape cut from its pair) must not crash the stream.
        return b"data: " + dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace") + b"\n\n"

    def role(self, index: int = 0) -> bytes:
        """The opening delta of a choice: role ``assistant``, empty content."""
        return self.frame([_choice(index, {"role": "assistant", "content": "", "refusal": None})])

    def delta(self, text: str, reasoning: str, calls: list[ToolCallPiece], index: int = 0,
              opening: bool = False) -> bytes:
        """A content / reasoning / tool-call delta of choice ``index``; ``opening``: its first, a tool call
        (``calls``), with the role and ``content: null`` (the answer has no text)."""
        if index == 0 and text and not reasoning and not calls:
            prefix, middle, suffix = self._text_frame
            pad = padding(len(text)) if self.obfuscate else b""
            return prefix + encode_basestring(text).encode("utf-8", "replace") + middle + pad + suffix
        delta: dict[str, Any] = {"role": "assistant", "content": None} if opening else {}
        if reasoning:
            delta["reasoning_content"] = reasoning
        if text:
            delta["content"] = text
        if calls and self.functions:
            first = [self._function_call(c, index) for c in calls if c.index == 0]  # one call per choice
            if first:
                delta["function_call"] = first[0]
        elif calls:
            delta["tool_calls"] = [self._call(c, index) for c in calls]
        if opening:
            delta["refusal"] = None
        size = len(text) + len(reasoning) + sum(len(c.arguments or "") + len(c.name or "") for c in calls)
        return self.frame([_choice(index, delta)], size=size)

    def _function_call(self, piece: ToolCallPiece, choice: int) -> dict[str, Any]:
        # As a tool call's deltas, without index, id or type: the name first, then arguments.
        if (choice, piece.index) in self.seen_calls:
            return {"arguments": piece.arguments}
        self.seen_calls.add((choice, piece.index))
        return {"name": piece.name or "", "arguments": piece.arguments}

    def _call(self, piece: ToolCallPiece, choice: int = 0) -> dict[str, Any]:
        # The first delta of a call carries its id, type and name; later ones only arguments.
        if (choice, piece.index) in self.seen_calls:
            return {"index": piece.index, "function": {"arguments": piece.arguments}}
        self.seen_calls.add((choice, piece.index))
        return {
            "index": piece.index,
            "id": call_id(piece.id),
            "type": "function",
            "function": {"name": piece.name or "", "arguments": piece.arguments},
        }

    def finish(self, finish_reason: str, index: int = 0) -> bytes:
        """The choice's last chunk: an empty delta with its ``finish_reason``."""
        return self.frame([_choice(index, {}, reason_of(finish_reason, self.called))])

    def usage(self, usage: Usage) -> bytes:
        """The usage chunk (``stream_options.include_usage``): no choices."""
        return self.frame([], usage_data(usage))

    def moderation(self, moderation: dict[str, Any]) -> bytes:
        """The moderation chunk of a moderated completion: no choices, the ``moderation`` results."""
        return self.frame([], moderation=moderation)


def _choice(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


# ---- stored completions (``store: true``) ---------------------------------------------------


class Assembly:
    """A streamed completion's events put back together: :meth:`generated` is the :class:`Generated` the
    non-streamed request would have had, so the stored ``chat.completion`` is the one it would have returned.

    A tool call that came without an id is given one here, before the chunk that opens it is written, so
    the id the stream showed is the id stored."""

    __slots__ = ("texts", "reasonings", "calls", "reasons", "usage")

    def __init__(self, n: int) -> None:
        self.texts: list[list[str]] = [[] for _ in range(n)]
        self.reasonings: list[list[str]] = [[] for _ in range(n)]
        self.calls: list[dict[int, ToolCallPiece]] = [{} for _ in range(n)]
        self.reasons: list[FinishReason] = ["stop"] * n
        self.usage = Usage(0, 0)

    def add(self, event: Event) -> None:
        if isinstance(event, Delta):
            self.texts[event.index].append(event.text)
            self.reasonings[event.index].append(event.reasoning)
            calls = self.calls[event.index]
            for piece in event.tool_calls:
                if (opened := gather(calls, piece)) is not None:  # its id in OpenAI's form, streamed so too
                    piece.id = opened.id = call_id(piece.id)
        elif isinstance(event, Finish):
            self.reasons[event.index] = event.reason
        elif isinstance(event, Done):
            self.usage = event.usage

    def generated(self) -> Generated:
        choices = [Choice("".join(text), "".join(reasoning), [calls[k] for k in sorted(calls)], reason, self.usage)
                   for text, reasoning, calls, reason in zip(self.texts, self.reasonings, self.calls, self.reasons,
                                                             strict=True)]
        return Generated(choices, self.usage)


def stored_completion(result: dict[str, Any], body: CreateChatCompletionRequest) -> dict[str, Any]:
    """The ``chat.completion`` ``result`` as OpenAI keeps it with ``store: true``, the object its
    ``GET /chat/completions/{id}``, list and update answer: not the created object but its own record of it, as
    recorded (openai/openai-dotnet, tests/SessionRecords/ChatStoreTests/StoredChatCompletionsWork.json,
    UpdateChatCompletionWorks.json, GetChatCompletionsWithMetadataFiltering.json), members in that order: a
    ``request_id``, the request's ``tool_choice``, ``seed``, ``top_p``, ``temperature``, penalties, ``user``
    (``input_user``), ``tools`` and ``response_format`` (OpenAI's defaults, 1.0 and 0.0, for the sampling ones not
    sent; a seed not sent is null: no seed was used), ``usage`` without its details, and each message as
    ``content, role, tool_calls, function_call`` (null when none; no ``refusal`` or ``annotations``). ``metadata``
    is where it goes, filled in as it stands when read; members OpenAI has not (``reasoning_content``,
    ``moderation``) are kept."""
    usage = result["usage"]
    choices = []
    for choice in result["choices"]:
        sent = choice["message"]
        message = {"content": sent["content"], "role": sent["role"], "tool_calls": sent.get("tool_calls"),
                   "function_call": sent.get("function_call")}
        message.update((k, v) for k, v in sent.items() if k not in message and k not in ("refusal", "annotations"))
        choices.append({"index": choice["index"], "message": message, "finish_reason": choice["finish_reason"],
                        "logprobs": choice["logprobs"]})

    stored = {
        "object": result["object"], "id": result["id"], "model": result["model"], "created": result["created"],
        "request_id": request_id(), "tool_choice": _as_sent(body.tool_choice),
        "usage": {"total_tokens": usage["total_tokens"], "completion_tokens": usage["completion_tokens"],
                  "prompt_tokens": usage["prompt_tokens"]},
        "seed": body.seed, "top_p": 1.0 if body.top_p is None else body.top_p,
        "temperature": 1.0 if body.temperature is None else body.temperature,
        "presence_penalty": body.presence_penalty or 0.0, "frequency_penalty": body.frequency_penalty or 0.0,
        "system_fingerprint": result["system_fingerprint"], "input_user": body.user,
        "service_tier": result["service_tier"], "tools": _as_sent(body.tools), "metadata": {}, "choices": choices,
        "response_format": _as_sent(body.response_format),
    }
    stored.update((k, v) for k, v in result.items() if k not in stored and k != "usage")
    return stored


def _as_sent(value: Any) -> Any:
    """A request parameter as the client sent it (its parsed models dumped back to JSON data)."""
    if isinstance(value, list):
        return [_as_sent(v) for v in value]
    return value.model_dump(mode="json", by_alias=True, exclude_unset=True) if isinstance(value, BaseModel) else value


def stored_message(completion_id: str, index: int, message: Message) -> dict[str, Any]:
    """A request message as ``GET /chat/completions/{id}/messages`` lists it (OpenAI's
    ``ChatCompletionMessageList`` item): its id is the completion's and its place, ``-0`` for the first;
    ``content`` is its text, and ``content_parts`` its text and image parts when it was sent as parts; an
    assistant's ``refusal``, ``tool_calls`` or deprecated ``function_call`` and a tool message's ``tool_call_id``
    as sent. The members and their order are OpenAI's (openai/openai-dotnet,
    tests/SessionRecords/ChatStoreTests/GetChatCompletionMessagesWithBasicUsage_PM.json: ``id, role, content,
    content_parts, name``, no ``refusal``; the spec's example of the list too)."""
    parts = None if not isinstance(message.content, list) else [
        part.model_dump(exclude_none=True) for part in message.content if isinstance(part, TextPart | ImagePart)]
    out: dict[str, Any] = {
        "id": f"{completion_id}-{index}", "role": message.role,
        "content": message.content if isinstance(message.content, str) else (message.text() or None),
        "content_parts": parts, "name": message.name,
    }
    if message.refusal is not None:
        out["refusal"] = message.refusal
    if message.tool_calls:
        out["tool_calls"] = [call.model_dump() for call in message.tool_calls]
    if message.function_call is not None:  # the deprecated call (ChatCompletionResponseMessage.function_call)
        out["function_call"] = message.function_call.model_dump()
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out
