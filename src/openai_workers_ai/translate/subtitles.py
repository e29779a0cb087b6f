"""Timed text: SubRip (``srt``) and WebVTT (``vtt``) out, WebVTT cues in.

OpenAI's formats: cues numbered from 1 in SRT (``00:00:01,500``, a last blank line after them), an unnumbered
``WEBVTT`` file (``00:00:01.500``); cue text without Whisper's leading space.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol


class Timed(Protocol):
    """Anything with a start, an end (seconds) and text: a transcript segment."""

    start: float
    end: float
    text: str


def _clock(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{separator}{ms % 1000:03d}"


def srt(segments: Sequence[Timed]) -> str:
    """SubRip subtitles, one cue per segment, and one more line break at the end, as OpenAI's end
    (openai/openai-dotnet tests/SessionRecords/TranscriptionTests/TranscriptionFormatsWork(%srt%).json, one cue,
    Content-Length 64; TranslationTests/TranslationFormatsWork(%srt%).json, five cues). No cues: an empty body
    (no recording shows OpenAI's)."""
    cues = "".join(
        f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text.strip()}\n\n"
        for i, s in enumerate(segments, start=1)
    )
    return cues + "\n" if cues else ""


def vtt(segments: Sequence[Timed]) -> str:
    """WebVTT subtitles, one cue per segment."""
    return "WEBVTT\n\n" + "".join(
        f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text.strip()}\n\n" for s in segments
    )


_CUE_TIME = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)

_CUE_BREAK = re.compile(r"\r?\n\s*\r?\n")


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return round(total, 3)


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """``(start, end, text)`` for each cue of a WebVTT document (as Whisper writes it)."""
    cues: list[tuple[float, float, str]] = []
    for block in _CUE_BREAK.split(text or ""):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            match = _CUE_TIME.match(line)
            if match:
                body = " ".join(part.strip() for part in lines[i + 1 :] if part.strip())
                cues.append((_seconds(match.group(1)), _seconds(match.group(2)), body))
                break
    return cues
