"""Citations of file_search results (pure): markers found, taken out as text streams (split anywhere),
both APIs' annotations, the sources an uncited answer used; and the tool's arguments, result text and
what ``include`` shows."""

from __future__ import annotations

import random

import pytest

from openai_workers_ai.translate import file_search as tool
from openai_workers_ai.translate.citations import Citer, Source, cite_text, markers, message_annotations, used

PASSWORDS = Source(0, "file-a", "passwords.md", "To reset a forgotten password, open Settings and press Reset.")
BILLING = Source(1, "file-b", "billing.md", "Invoices are emailed on the first day of each month.")
PASSWORDS_AGAIN = Source(2, "file-a", "passwords.md", "A reset link arrives by email within five minutes.")
SOURCES = [PASSWORDS, BILLING, PASSWORDS_AGAIN]


def test_markers_name_sources() -> None:
    text = "Open Settings [0]. Invoices come monthly [1, 2]. Also 【1†billing.md】 and 【4:0†passwords.md】."
    found = markers(text, SOURCES)
    assert [text[m.start:m.end] for m in found] == ["[0]", "[1, 2]", "【1†billing.md】", "【4:0†passwords.md】"]
    assert [[s.number for s in m.sources] for m in found] == [[0], [1, 2], [1], [0]]


@pytest.mark.parametrize("text", ["array[0] of [9]", "[x]", "[]", "[1, 7]", "a [ 1 ] b", "[1"])
def test_brackets_that_name_no_source_are_text(text: str) -> None:
    assert markers(text, [BILLING]) == []  # only [1] names a source
    assert cite_text(text, [BILLING]) == (text, [])


def test_responses_markers_are_taken_out_and_leave_annotations() -> None:
    text, annotations = cite_text("Open Settings and press Reset. [0] Invoices come monthly [1][0].", SOURCES)
    assert text == "Open Settings and press Reset. Invoices come monthly."
    first = len("Open Settings and press Reset.")
    second = len("Open Settings and press Reset. Invoices come monthly")
    assert annotations == [
        {"type": "file_citation", "file_id": "file-a", "filename": "passwords.md", "index": first},
        {"type": "file_citation", "file_id": "file-b", "filename": "billing.md", "index": second},
        {"type": "file_citation", "file_id": "file-a", "filename": "passwords.md", "index": second},
    ]


@pytest.mark.parametrize("seed", range(20))
def test_a_stream_split_anywhere_gives_the_same_text_and_annotations(seed: int) -> None:
    answer = "Open Settings [0]. Invoices [1, 2] come monthly 【0†passwords.md】, not [7] or [x]. End [2]"
    whole = cite_text(answer, SOURCES)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(answer)), 8))
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    citer = Citer(SOURCES)
    shown, annotations = "", []
    for piece in pieces:
        text, found = citer.feed(piece)
        assert "[0" not in text and "【" not in text
        shown += text
        annotations += found
    for annotation in annotations:  # each annotation was sent once its place had been shown
        assert annotation["index"] <= len(shown)
    rest, found = citer.close()
    assert (shown + rest, annotations + found) == whole
    assert whole[0] == "Open Settings. Invoices come monthly, not [7] or [x]. End"


def test_an_answer_without_markers_cites_the_sources_it_used_at_its_end() -> None:
    answer = "Press Reset in Settings to reset a forgotten password."
    assert used(answer, SOURCES) == [PASSWORDS]  # one per file: the best of its results
    assert used("Hello there.", SOURCES) == []
    text, annotations = cite_text(answer, SOURCES)
    assert text == answer
    assert annotations == [{"type": "file_citation", "file_id": "file-a", "filename": "passwords.md",
                            "index": len(answer)}]


def test_assistants_markers_stay_and_are_spanned() -> None:
    text, annotations = message_annotations("Press Reset [0]. Invoices monthly 【1†billing.md】.", SOURCES)
    assert text == "Press Reset [0]. Invoices monthly 【1†billing.md】."
    assert [(a["text"], text[a["start_index"]:a["end_index"]], a["file_citation"]["file_id"]) for a in annotations] \
        == [("[0]", "[0]", "file-a"), ("【1†billing.md】", "【1†billing.md】", "file-b")]
    answer = "Invoices are emailed on the first day of each month."
    text, annotations = message_annotations(answer, SOURCES)
    assert text == answer + " [1]"
    assert annotations == [{"type": "file_citation", "text": "[1]", "start_index": len(answer) + 1,
                            "end_index": len(answer) + 4, "file_citation": {"file_id": "file-b"}}]
    assert message_annotations("Nothing to do with it.", SOURCES) == ("Nothing to do with it.", [])


def test_the_tools_arguments_and_result_text() -> None:
    assert tool.queries_of('{"queries": ["reset", " ", "password"]}', "fallback") == ["reset", "password"]
    assert tool.queries_of('{"query": "invoices"}', "fallback") == ["invoices"]
    assert tool.queries_of("not json", "How do I reset?") == ["not json"]
    assert tool.queries_of("{}", "How do I reset?") == ["How do I reset?"]
    text = tool.tool_result(SOURCES, budget=10_000)
    assert text.index("[0] passwords.md\nTo reset") < text.index("[1] billing.md\nInvoices") < text.index("[2] ")
    short = tool.tool_result(SOURCES, budget=0)  # at least MIN_BUDGET characters: here, every source
    assert "[2] passwords.md" in short
    long = [Source(5, "file-x", "big.txt", "word " * 1000), BILLING]
    cut = tool.tool_result(long, budget=100)
    assert "[5] big.txt" in cut and "[1]" not in cut and len(cut) < tool.MIN_BUDGET + 200
    assert "nothing" in tool.tool_result([], 1000)


def test_results_are_shown_only_when_included() -> None:
    item = tool.call_item("fs_1", ["q"], "completed", [PASSWORDS])
    event = {"type": "response.output_item.done", "item": item}
    assert tool.shown(event, None)["item"]["results"] is None
    assert tool.shown(event, ["file_search_call.results"]) is event
    response = {"output": [item, {"type": "message"}]}
    assert tool.shown(response, [])["output"][0]["results"] is None and item["results"]  # a copy
    other = {"type": "response.output_text.delta"}
    assert tool.shown(other, None) is other
    details = {"type": "tool_calls", "tool_calls": [tool.step_call("call_1", None, [PASSWORDS])]}
    hidden = tool.step_shown(details, [])
    assert hidden["tool_calls"][0]["file_search"]["results"] == [
        {"file_id": "file-a", "file_name": "passwords.md", "score": 0.0, "attributes": {}}]
    assert hidden["tool_calls"][0]["file_search"]["ranking_options"] == {"ranker": "default_2024_08_21",
                                                                         "score_threshold": 0.0}
    assert tool.step_shown(details, [tool.RESULT_CONTENT]) is details
    assert tool.sources_of_step(details["tool_calls"], 4) == [
        Source(4, "file-a", "passwords.md", PASSWORDS.text, 0.0)]
