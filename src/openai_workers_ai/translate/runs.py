"""A run → the neutral :class:`~..workers_ai.spec.ChatSpec` (pure).

The prompt is the run's instructions (the assistant's, or the run's override, plus
``additional_instructions``), then the thread's messages, then what the run itself did so far (its
replies, its tool calls with their outputs, its file searches with their results, from its steps). Images go in for vision models
(``image_file`` parts arrive here already read, as ``data:`` URLs); attached files' text is added to
the message it is attached to. The thread is trimmed to fit: ``truncation_strategy`` ``last_messages``
keeps the last *n* messages; ``auto`` drops the oldest until the prompt fits ``max_prompt_tokens``
and the model's context window (estimated at ~4 characters a token). ``max_prompt_tokens``, as
``max_completion_tokens``, covers the whole run: each generation has what the earlier ones left of it
(OpenAI: "the second completion will have available limits of 300 prompt tokens"). The run's own turns
and the thread's last message are never dropped; if even they do not fit, the run ends ``incomplete``
(:class:`PromptTooLong`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..catalog import VISION, ModelInfo
from ..types.runs import Run, RunStep
from ..types.threads import Message
from ..workers_ai import spec
from ..workers_ai.spec import estimate_tokens
from . import file_search
from .citations import Source

MESSAGE_OVERHEAD = 4
"""Tokens counted per message besides its text (role and separators), as chat templates spend them."""
MAX_SEARCHES = 8
"""File searches a run may make; then the model answers with what it found."""
DEFAULT_RESERVE = 4096
"""Tokens kept free for the answer in the context window when the run sets no ``max_completion_tokens``
(at most a quarter of the window)."""


class PromptTooLong(Exception):
    """Even the run's instructions, its own turns and the thread's last message exceed ``max_prompt_tokens``."""


@dataclass(frozen=True, slots=True)
class AttachedText:
    """An attached file as the run read it: its name, and its text (None: not a text file)."""

    filename: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Files:
    """What the runner read of the files the thread's messages name."""

    images: Mapping[str, str] = field(default_factory=dict)
    """``image_file`` ids → ``data:`` URLs (a missing id: the file is gone or not an image)."""
    attachments: Mapping[str, AttachedText] = field(default_factory=dict)


Turns = tuple[spec.Message, ...]
"""Turns that stay together through truncation: one message, or a tool call with its outputs."""


def thread_turns(messages: Sequence[Message], files: Files, model: ModelInfo) -> list[Turns]:
    """The thread's messages as neutral turns, oldest first."""
    vision = model.supports(VISION)
    return [(_message(m, files, vision),) for m in messages]


@dataclass(frozen=True, slots=True)
class Own:
    """What the run did so far: its turns, the file_search results it was given (numbered in order,
    what its replies cite), and how many searches it ran."""

    turns: list[Turns] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    searches: int = 0


def run_turns(steps: Sequence[RunStep], replies: Mapping[str, Message], budget: int = 0) -> Own:
    """What the run did so far, from its steps: its replies, its tool calls with their outputs, and its
    file searches with their results (``budget``: characters of results the model reads per search)."""
    own = Own()
    searches = 0
    for step in steps:
        details = step.step_details
        if details["type"] == "message_creation":
            reply = replies.get(details["message_creation"]["message_id"])
            if reply is not None and reply.text():
                own.turns.append((spec.Message("assistant", reply.text(), where=reply.id),))
            continue
        calls = [c for c in details["tool_calls"] if c.get("type") in ("function", "file_search")]
        if not calls or (step.status != "completed" and any(c["type"] == "file_search" for c in calls)):
            continue
        asked: list[spec.ToolCall] = []
        answers: list[spec.Message] = []
        for call in calls:
            if call["type"] == "file_search":
                found = file_search.sources_of_step([call], len(own.sources))
                own.sources.extend(found)
                searches += 1
                asked.append(spec.ToolCall(call["id"], file_search.NAME, "{}"))
                answers.append(spec.Message("tool", file_search.tool_result(found, budget), tool_call_id=call["id"],
                                            name=file_search.NAME, where=step.id))
                continue
            function = call["function"]
            asked.append(spec.ToolCall(call["id"], function["name"], function["arguments"]))
            answers.append(spec.Message("tool", function["output"] or "", tool_call_id=call["id"],
                                        name=function["name"], where=step.id))
        own.turns.append((spec.Message("assistant", tool_calls=tuple(asked), where=step.id), *answers))
    return Own(own.turns, own.sources, searches)


NOTHING_SAID = spec.Message("user", "", where="thread")
"""The model's one turn for a run on an empty thread without instructions: OpenAI runs it (the model
answers from nothing), and Workers AI refuses an empty ``messages``, so the model is told nothing by an
empty user turn."""


def run_spec(run: Run, model: ModelInfo, thread: list[Turns], own: Own, completion_used: int = 0,
             prompt_used: int = 0) -> spec.ChatSpec:
    """The spec for the run's next generation: ``thread`` trimmed to fit, then the run's ``own`` turns.
    ``completion_used`` / ``prompt_used``: the tokens the run's earlier generations spent
    (``max_completion_tokens`` and ``max_prompt_tokens`` cover them all).

    Once the run has searched, a ``required`` or file_search ``tool_choice`` has been met (the model
    may answer); after :data:`MAX_SEARCHES` searches it is no longer offered the search."""
    max_tokens = None
    if run.max_completion_tokens is not None:
        max_tokens = max(1, run.max_completion_tokens - completion_used)
    system = (spec.Message("system", run.instructions, where="instructions"),) if run.instructions else ()
    max_prompt = None if run.max_prompt_tokens is None else run.max_prompt_tokens - prompt_used
    kept = _truncated(run, model, system, thread, own.turns, max_tokens, max_prompt)
    tools, choice = _tools(run.tools, run.tool_choice, search=own.searches < MAX_SEARCHES)
    if own.searches and (choice == "required" or choice == spec.Forced(file_search.NAME)):
        choice = "auto"
    messages = (*system, *(m for turns in (*kept, *own.turns) for m in turns))
    return spec.ChatSpec(
        model=model,
        messages=messages or (NOTHING_SAID,),
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=run.parallel_tool_calls,
        output_format=output_format(run.response_format),
        sampling=spec.Sampling(max_tokens=max_tokens, temperature=run.temperature, top_p=run.top_p),
        reasoning_effort=run.reasoning_effort,
    )


def settings_spec(
    model: ModelInfo, tools: Sequence[Mapping[str, Any]], tool_choice: str | Mapping[str, Any] | None,
    response_format: str | Mapping[str, Any] | None, reasoning_effort: str | None,
) -> spec.ChatSpec:
    """A one-message spec with an assistant's or a run's settings: what the pipeline checks against the
    model (tools, tool choice, output format, reasoning effort) before they are accepted."""
    listed, choice = _tools(tools, tool_choice)
    return spec.ChatSpec(model=model, messages=(spec.Message("user", "hi"),), tools=listed, tool_choice=choice,
                         output_format=output_format(response_format), reasoning_effort=reasoning_effort)


# ---- the conversation ----------------------------------------------------------------------------


def _message(message: Message, files: Files, vision: bool) -> spec.Message:
    parts: list[spec.Part] = []
    for k, part in enumerate(message.content):
        kind = part.get("type")
        if kind == "text":
            parts.append(part["text"]["value"])
        elif vision and kind == "image_url":
            where = f"{message.id}.content[{k}]"
            parts.append(spec.ImagePart(part["image_url"]["url"], where, f"{where}.image_url.url"))
        elif vision and kind == "image_file" and (url := files.images.get(part["image_file"]["file_id"])):
            where = f"{message.id}.content[{k}]"
            parts.append(spec.ImagePart(url, where, f"{where}.image_file.file_id"))
    for attachment in message.attachments or ():
        attached = files.attachments.get(attachment["file_id"])
        if attached is not None:
            parts.append(_attached(attached))
    content: str | tuple[spec.Part, ...] = tuple(parts)
    if all(isinstance(p, str) for p in parts):
        content = "\n\n".join(p for p in parts if isinstance(p, str) and p)
    return spec.Message("user" if message.role == "user" else "assistant", content, where=message.id)


def _attached(attached: AttachedText) -> str:
    if attached.text is None:
        return f"[Attached file {attached.filename}: not a text file, not shown]"
    return f"[Attached file {attached.filename}]\n{attached.text}"


def _tokens(messages: Sequence[spec.Message]) -> int:
    return sum(estimate_tokens(m.text()) + MESSAGE_OVERHEAD + sum(len(c.arguments) // 4 for c in m.tool_calls)
               for m in messages)


def _truncated(
    run: Run, model: ModelInfo, system: Turns, thread: list[Turns], own: list[Turns], max_tokens: int | None,
    max_prompt: int | None,
) -> list[Turns]:
    strategy = run.truncation_strategy
    if strategy.get("type") == "last_messages" and strategy.get("last_messages"):
        thread = thread[-int(strategy["last_messages"]):]
    budgets = []
    if max_prompt is not None:
        budgets.append(max_prompt)
    if model.context_window:
        reserve = max_tokens if max_tokens is not None else DEFAULT_RESERVE
        budgets.append(model.context_window - min(reserve, model.context_window // 4))
    fixed = _tokens(system) + sum(_tokens(turns) for turns in own)
    sizes = [_tokens(turns) for turns in thread]
    start = 0
    if budgets and strategy.get("type", "auto") == "auto":
        budget = min(budgets)
        total = fixed + sum(sizes)
        while total > budget and start < len(thread) - 1:
            total -= sizes[start]
            start += 1
    kept = thread[start:]
    if max_prompt is not None and fixed + sum(sizes[start:]) > max_prompt:
        raise PromptTooLong()
    return kept


# ---- tools and output format ---------------------------------------------------------------------


def _tools(
    tools: Sequence[Mapping[str, Any]], choice: str | Mapping[str, Any] | None, search: bool = True
) -> tuple[tuple[spec.Tool, ...], spec.ToolChoice]:
    """The run's function tools, and the gateway's file_search function when the run has that tool
    (``search``: still offered)."""
    listed = tuple(
        spec.Tool(f["name"], f.get("description"), f.get("parameters"), f.get("strict"))
        for t in tools if t.get("type") == "function" and (f := t["function"])
    )
    if search and any(t.get("type") == "file_search" for t in tools):
        listed = (*listed, file_search.FUNCTION)
    if not listed:
        return (), None
    if isinstance(choice, Mapping):
        if choice.get("type") == "file_search":
            return listed, spec.Forced(file_search.NAME) if search else "auto"
        name = (choice.get("function") or {}).get("name")
        return listed, spec.Forced(name) if name else "required"
    modes: dict[str, spec.ToolChoice] = {"none": "none", "auto": "auto", "required": "required"}
    return listed, modes.get(choice) if isinstance(choice, str) else None


def output_format(value: str | Mapping[str, Any] | None) -> spec.OutputFormat | None:
    """An assistant's or a run's ``response_format`` as the spec's output format (None: text)."""
    if not isinstance(value, Mapping) or value.get("type") in (None, "text"):
        return None
    if value["type"] == "json_object":
        return spec.OutputFormat("json_object")
    described = value.get("json_schema") or {}
    return spec.OutputFormat("json_schema", described.get("schema"), described.get("name"),
                             described.get("description"), described.get("strict"))
