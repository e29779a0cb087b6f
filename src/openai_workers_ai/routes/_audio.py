"""What the two audio doors share: reading the multipart upload (:func:`read_upload`) and
writing a transcript in any ``response_format`` (:func:`render`). Not a route module."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..context import context
from ..errors import InvalidRequest
from ..multipart import Form, UploadedFile, parse_form
from ..replies import json_response
from ..translate import audio, subtitles
from ..translate.audio import Transcript
from ..types.audio import (
    DurationUsage,
    TokensUsage,
    Transcription,
    TranscriptionLanguage,
    TranscriptionSegment,
    TranscriptionVerbose,
    TranscriptionWord,
)
from ..validation import validate

M = TypeVar("M", bound=BaseModel)
ASR = "automatic-speech-recognition"
MIN_SECONDS = 0.1  # OpenAI refuses shorter audio
_LISTS = ("timestamp_granularities", "include", "keywords", "languages", "known_speaker_names",
          "known_speaker_references")


async def read_upload(request: Request, model: type[M]) -> tuple[M, UploadedFile, str, float | None]:
    """Parse the form (413 past ``MAX_AUDIO_BYTES``), validate its fields into ``model``,
    and check the ``file``: present, an audio format OpenAI accepts, not empty or too short."""
    ctx = context(request)
    form = await parse_form(request, max_file_bytes=ctx.settings.max_audio_bytes, what="audio file")
    body = validate(model, _payload(form))
    upload = form.file("file")
    if upload is None:
        sent_as_text = "file" in form.fields
        raise InvalidRequest("'file' must be a file upload (a multipart part with a filename)." if sent_as_text
                             else "Missing required parameter: 'file'.", param="file")
    fmt = audio.audio_format(upload.filename, upload.content_type)
    if not upload.size:
        raise InvalidRequest("The audio file is empty.", param="file", code="invalid_value")
    duration = audio.wav_duration(upload.data)
    if duration is not None and duration < MIN_SECONDS:
        raise InvalidRequest(
            f"Audio file is too short. Minimum audio length is {MIN_SECONDS} seconds.",
            param="file", code="audio_too_short",
        )
    form.files.clear()  # the caller's reference is the only one left
    return body, upload, fmt, duration


def _payload(form: Form) -> dict[str, Any]:
    """Form fields as a JSON-like dict: ``x[]`` lists, ``obj[key]`` objects, other fields as strings."""
    payload: dict[str, Any] = {}
    for name, values in form.fields.items():
        if name == "file":  # a text part named `file`: reported as a missing upload
            continue
        base = name.removesuffix("[]") or name
        if base in _LISTS:
            payload[base] = form.get_list(base)
        elif "[" in name and name.endswith("]"):
            outer, _, inner = name[:-1].partition("[")
            if isinstance(payload.setdefault(outer, {}), dict):
                payload[outer][inner] = values[-1]
        else:
            payload[name] = values[-1]
    return payload


def render(
    transcript: Transcript,
    fmt: str,
    task: Literal["transcribe", "translate"],
    granularities: Sequence[str] | None = None,
    tokens: dict[str, Any] | None = None,
    languages: list[dict[str, str]] | None = None,
) -> Response:
    """The transcript in OpenAI's ``response_format``: JSON objects, or text/plain bodies. A transcription's
    ``json`` carries ``tokens`` as its usage when given (a token-billed model's), else the seconds of audio, and
    ``languages`` when given (``gpt-transcribe``'s);
    ``verbose_json``'s usage is always the seconds (its schema has no other)."""
    if fmt == "text":
        return PlainTextResponse(transcript.text + "\n")
    if fmt == "srt":
        return PlainTextResponse(subtitles.srt(transcript.segments))
    if fmt == "vtt":
        return PlainTextResponse(subtitles.vtt(transcript.segments))
    duration = round(transcript.duration or 0.0, 3)
    usage = DurationUsage(seconds=math.ceil(duration)) if task == "transcribe" else None
    if fmt == "json":
        shown = TokensUsage.model_validate(tokens) if tokens is not None else usage
        heard = None if languages is None else [TranscriptionLanguage(**language) for language in languages]
        return json_response(Transcription(text=transcript.text, languages=heard, usage=shown)
                             .model_dump(exclude_none=True))
    wanted = granularities or ["segment"]
    verbose = TranscriptionVerbose(
        task=task,
        language=audio.language_name(transcript.language),
        duration=duration,
        text=transcript.text,
        segments=[
            TranscriptionSegment(
                id=i, seek=int(s.start // 30) * 3000, start=s.start, end=s.end, text=s.text, tokens=[],
                temperature=s.temperature, avg_logprob=s.avg_logprob,
                compression_ratio=s.compression_ratio, no_speech_prob=s.no_speech_prob,
            )
            for i, s in enumerate(transcript.segments)
        ] if "segment" in wanted else None,
        # without their punctuation, as OpenAI's (the segments and text keep it)
        words=[TranscriptionWord(word=bare, start=w.start, end=w.end)
               for w in transcript.words if (bare := audio.bare_word(w.word))]
        if "word" in wanted else None,
        usage=usage,
    )
    return json_response(verbose.model_dump(exclude_none=True))
