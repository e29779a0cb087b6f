"""Citations of file_search results in a model's answer (pure): where they are, and both APIs' annotations.

The model reads numbered sources (:mod:`.file_search`) and is asked to cite one by writing its
marker after the sentence it supports: ``[0]``. Recognised markers: ``[n]``, ``[n, m]``,
``[n†name]`` and OpenAI's own ``【n†name】`` / ``【i:n†name】``, when every number names a source
given; anything else in brackets is the answer's own text.

- Responses: the markers are taken out of the text (the whitespace before one too), each leaving
  a ``file_citation`` annotation at its place (``index``); :class:`Citer` does it as text streams,
  a marker split across deltas included.
- Assistants: the text keeps its markers, each annotated (``text``, ``start_index``, ``end_index``).

A model that cites nothing still used what it read: the sources whose words the answer shares
(:func:`used`) are cited once each at the end of the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)(?:†[^\]\n]{0,200})?\]|【(?:\d+:)?(\d+)(?:†[^】\n]{0,200})?】")
_PARTIAL = re.compile(r"(?:\[[\d,\s]*(?:†[^\]\n]*)?|【[\d:]*(?:†[^】\n]*)?)")
"""What may still become a marker when more text comes (held back while streaming)."""
MAX_MARKER = 220
_WORD = re.compile(r"[^\W_]{3,}")
_COMMON = frozenset(
    "the and for are but not you your with this that from have has had was were will would can could should "
    "about into than then them they their there these those what when where which who why how its our out "
    "all any each also been being more most other some such only own same very just over under again".split()
)
MIN_SHARED = 3
"""Distinct words (of three letters or more, common ones aside) an uncited answer must share with a source
for the source to count as used."""


@dataclass(frozen=True, slots=True)
class Source:
    """One search result as the model read it: ``[number]``, and what a citation names."""

    number: int
    file_id: str
    filename: str
    text: str
    score: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Marker:
    """A citation marker in the model's text, and the sources it names."""

    start: int
    end: int
    sources: tuple[Source, ...]


def markers(text: str, sources: Sequence[Source]) -> list[Marker]:
    """The citation markers in ``text``, in order."""
    by_number = {s.number: s for s in sources}
    out = []
    for match in _MARKER.finditer(text):
        named = _named(match, by_number)
        if named:
            out.append(Marker(match.start(), match.end(), named))
    return out


def _named(match: re.Match[str], by_number: dict[int, Source]) -> tuple[Source, ...]:
    numbers = [int(n) for n in (match.group(1) or match.group(2)).split(",")]
    if not all(n in by_number for n in numbers):
        return ()
    return tuple(by_number[n] for n in dict.fromkeys(numbers))


def used(text: str, sources: Sequence[Source]) -> list[Source]:
    """The sources an answer without markers drew on (one per file, best first): those sharing at least
    :data:`MIN_SHARED` words with it, or half its words when it is shorter."""
    words = _words(text)
    if not words:
        return []
    need = min(MIN_SHARED, max(1, len(words) // 2))
    out: dict[str, Source] = {}
    for source in sources:
        if source.file_id not in out and len(words & _words(source.text)) >= need:
            out[source.file_id] = source
    return list(out.values())


def _words(text: str) -> set[str]:
    return {w for w in (m.group().lower() for m in _WORD.finditer(text)) if w not in _COMMON}


# ---- Responses: markers out, annotations at their places -----------------------------------------


def response_annotation(source: Source, index: int) -> dict[str, Any]:
    """A Responses ``file_citation`` annotation."""
    return {"type": "file_citation", "file_id": source.file_id, "filename": source.filename, "index": index}


class Citer:
    """Streamed answer text → the text without its markers, and the annotations they leave.

    :meth:`feed` takes each delta and answers what can be shown now (a possible marker and the
    whitespace before it are held back until they are decided) and the annotations found;
    :meth:`close` releases the rest, and cites the sources used when no marker was written."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self._by_number = {s.number: s for s in sources}
        self._held = ""
        self.text = ""
        """The text shown so far (without markers)."""
        self.annotations: list[dict[str, Any]] = []
        self._raw: list[str] = []

    def feed(self, delta: str) -> tuple[str, list[dict[str, Any]]]:
        self._raw.append(delta)
        buffer, self._held = self._held + delta, ""
        shown, found = "", []
        i = 0
        while i < len(buffer):
            j = _next_bracket(buffer, i)
            if j < 0:
                shown += buffer[i:]
                break
            shown += buffer[i:j]
            match = _MARKER.match(buffer, j)
            named = _named(match, self._by_number) if match else ()
            if match and named:
                shown = shown.rstrip()
                index = len(self.text) + len(shown)
                for source in named:
                    found.append(self._annotate(source, index))
                i = match.end()
            elif match is None and len(buffer) - j < MAX_MARKER and _PARTIAL.fullmatch(buffer, j):
                self._held = buffer[j:]
                break
            else:
                shown += buffer[j]
                i = j + 1
        if not self._held:  # whitespace may precede a marker still to come
            stripped = shown.rstrip()
            self._held, shown = shown[len(stripped):], stripped
        else:
            stripped = shown.rstrip()
            self._held, shown = shown[len(stripped):] + self._held, stripped
        self.text += shown
        return shown, [a for a in found if a is not None]

    def _annotate(self, source: Source, index: int) -> dict[str, Any] | None:
        annotation = response_annotation(source, index)
        if annotation in self.annotations:
            return None
        self.annotations.append(annotation)
        return annotation

    def close(self) -> tuple[str, list[dict[str, Any]]]:
        """The text still held, and the annotations of the sources used when the answer cited none."""
        rest, self._held = self._held, ""
        self.text += rest
        found: list[dict[str, Any]] = []
        if not self.annotations:
            for source in used("".join(self._raw), self.sources):
                annotation = self._annotate(source, len(self.text))
                if annotation is not None:
                    found.append(annotation)
        return rest, found


def _next_bracket(text: str, start: int) -> int:
    found = [i for i in (text.find("[", start), text.find("【", start)) if i >= 0]
    return min(found) if found else -1


def cite_text(text: str, sources: Sequence[Source]) -> tuple[str, list[dict[str, Any]]]:
    """A whole answer: its text without markers, and its Responses annotations."""
    citer = Citer(sources)
    shown, annotations = citer.feed(text)
    rest, more = citer.close()
    return shown + rest, annotations + more


# ---- Assistants: markers kept, each annotated ------------------------------------------------------


def message_annotations(text: str, sources: Sequence[Source]) -> tuple[str, list[dict[str, Any]]]:
    """A whole Assistants reply: its text (with markers appended for the sources used when it cited
    none) and its ``file_citation`` annotations, each spanning its marker."""
    found = markers(text, sources)
    if not found and (drawn := used(text, sources)):
        tail = "".join(f"[{s.number}]" for s in drawn)
        start = len(text) + 1
        text = f"{text} {tail}"
        found = []
        for source in drawn:
            end = start + len(f"[{source.number}]")
            found.append(Marker(start, end, (source,)))
            start = end
    annotations = [
        {"type": "file_citation", "text": text[m.start:m.end], "start_index": m.start, "end_index": m.end,
         "file_citation": {"file_id": s.file_id}}
        for m in found for s in m.sources
    ]
    return text, annotations
