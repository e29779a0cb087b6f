"""Reading Responses streams in tests: every event validated against OpenAI's schema, and the
sequence checked for order and consistency."""

from __future__ import annotations

import json
from typing import Any

import httpx

from openai_workers_ai.auth import key_hash
from openai_workers_ai.context import AppContext
from openai_workers_ai.runner import responses as runner
from openai_workers_ai.types.responses import CreateResponse

from .conftest import KEY
from .openapi import assert_matches

EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.queued": "ResponseQueuedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.reasoning_text.delta": "ResponseReasoningTextDeltaEvent",
    "response.reasoning_text.done": "ResponseReasoningTextDoneEvent",
    "response.reasoning_summary_part.added": "ResponseReasoningSummaryPartAddedEvent",
    "response.reasoning_summary_text.delta": "ResponseReasoningSummaryTextDeltaEvent",
    "response.reasoning_summary_text.done": "ResponseReasoningSummaryTextDoneEvent",
    "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.output_text.annotation.added": "ResponseOutputTextAnnotationAddedEvent",
    "response.file_search_call.in_progress": "ResponseFileSearchCallInProgressEvent",
    "response.file_search_call.searching": "ResponseFileSearchCallSearchingEvent",
    "response.file_search_call.completed": "ResponseFileSearchCallCompletedEvent",
    "error": "ResponseErrorEvent",
}


def sse_events(r: httpx.Response) -> list[dict[str, Any]]:
    """The events of a 200 SSE response (``event:`` lines must match each payload's ``type``)."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in r.text.strip().split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        event = json.loads(lines[1][6:])
        assert event["type"] == lines[0][7:]
        # OpenAI's member order: type, then the rest alphabetically, sequence_number and obfuscation among them
        # (openai/openai-dotnet tests/SessionRecords/ResponsesTests/ReasoningStreamingWorks.json, 2026-08)
        assert list(event) == ["type", *sorted(set(event) - {"type"})], list(event)
        events.append(event)
    return checked(events)


def checked(events: list[dict[str, Any]], first: int = 0) -> list[dict[str, Any]]:
    """``events`` validated one by one, and as a sequence: numbered from ``first`` without gaps; created and
    in_progress first (a background response's with queued between them); every delta between its item's added and done; indexes and ids consistent; one
    terminal event last. Returns ``events``."""
    assert [e["sequence_number"] for e in events] == list(range(first, first + len(events)))
    for event in events:
        assert_matches(event, EVENT_SCHEMAS[event["type"]])
        assert_matches(event, "ResponseStreamEvent")
    if first != 0:  # a tail (``starting_after``): its items were opened before it
        return events
    # OpenAI's background streams open with the response queued: created (queued), queued, then in_progress
    expected = ([("response.created", "queued"), ("response.queued", "queued"), ("response.in_progress", "in_progress")]
                if events[0]["response"]["background"] else
                [("response.created", "in_progress"), ("response.in_progress", "in_progress")])
    opening = len(expected)
    if [e["type"] for e in events[opening - 1:]] == ["error"]:  # a stream of a response that never started
        opening -= 1
    assert [(e["type"], e["response"]["status"]) for e in events[:opening]] == expected[:opening]
    # nothing made yet: the official client's stream helpers start from this output, then add each item
    assert [e["response"]["output"] for e in events[:opening]] == [[]] * opening
    open_items: dict[int, dict[str, Any]] = {}
    done_items: dict[int, dict[str, Any]] = {}
    texts: dict[int, str] = {}
    summaries: dict[int, str] = {}  # output index → its summary part: "added", then "done"
    for event in events[opening:]:
        kind = event["type"]
        if kind == "response.output_item.added":
            index = event["output_index"]
            assert index not in open_items and index not in done_items
            assert index == len(open_items) + len(done_items), "output indexes are consecutive"
            open_items[index] = event["item"]
            texts[index] = ""
        elif kind == "response.output_item.done":
            index = event["output_index"]
            assert open_items.pop(index)["id"] == event["item"]["id"]
            done_items[index] = event["item"]
            if event["item"]["type"] in ("message", "reasoning") and event["item"].get("content"):
                assert event["item"]["content"][0]["text"] == texts[index]
            if event["item"]["type"] == "reasoning" and "content" not in event["item"]:  # a summary
                assert [p["text"] for p in event["item"]["summary"]] == [texts[index]]
                assert summaries.get(index) == "done", "the summary part is done before its item"
            if event["item"]["type"] == "function_call":
                assert event["item"]["arguments"] == texts[index] or not texts[index]
        elif "item_id" in event:
            index = event["output_index"]
            assert index in open_items, f"{kind} outside its item"
            assert open_items[index]["id"] == event["item_id"]
            assert event.get("content_index", 0) == 0 and event.get("summary_index", 0) == 0
            if kind.startswith("response.reasoning_summary_"):  # OpenAI's order: part added, deltas, done
                part = kind.removeprefix("response.reasoning_summary_part.") if "_part." in kind else None
                assert (summaries.get(index), part) in ((None, "added"), ("added", None), ("added", "done")), kind
                if part is not None:
                    summaries[index] = part
                    assert event["part"] == {"type": "summary_text", "text": "" if part == "added" else texts[index]}
            if kind.endswith(".delta"):
                texts[index] += event["delta"]
            elif kind in ("response.output_text.done", "response.reasoning_text.done",
                          "response.reasoning_summary_text.done"):
                assert event["text"] == texts[index]
            elif kind == "response.function_call_arguments.done":
                assert event["arguments"] == texts[index] or not texts[index]
    terminal = [e for e in events if e["type"] in ("response.completed", "response.incomplete", "response.failed")]
    if terminal:
        assert terminal == events[-1:], "the terminal event comes last, once"
        assert not open_items, "every item is done before the response"
        assert [i["id"] for i in terminal[0]["response"]["output"]] == [done_items[k]["id"] for k in sorted(done_items)]
        assert_matches(terminal[0]["response"], "Response")
    return events


def obfuscated_kinds(events: list[dict[str, Any]]) -> set[str]:
    """Checks that every delta event (``response.….delta``) carries ``obfuscation`` (OpenAI's default): 1 to 16
    random base64url characters that bring its ``delta`` up to a multiple of 16; and that no other event has one.
    Returns the delta events' types."""
    kinds = set()
    for event in events:
        if event["type"].endswith(".delta"):
            pad = event["obfuscation"]
            assert isinstance(pad, str) and 1 <= len(pad) <= 16, event
            assert pad.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == "", event
            assert (len(event["delta"]) + len(pad)) % 16 == 0, event
            kinds.add(event["type"])
        else:
            assert "obfuscation" not in event, event
    return kinds


async def left_before_it_began(ctx: AppContext, **body: Any) -> str:
    """The id of a background response created with ``stream: true`` (by the test client's key) whose client left
    before it began: queued again for its job, as :func:`~openai_workers_ai.runner.responses.hand_off` leaves one.
    Its job generates it without streaming, and ``GET …?stream=true`` replays it (one delta an item), as OpenAI
    keeps the events of a response created with ``background`` and ``stream``."""
    owner = key_hash(KEY)
    plan = await runner.prepare(ctx, CreateResponse.model_validate({**body, "background": True, "stream": True}),
                                owner=owner, reader=owner)
    await runner.start_streamed(ctx, plan)
    await runner.hand_off(ctx, plan)
    return plan.response_id
