"""``POST /v1/audio/transcriptions``: Whisper (and Nova-3) on Workers AI, in OpenAI's formats.

Also the pieces ``/v1/audio/translations`` shares: reading the multipart upload
(:func:`read_upload`) and writing a transcript in any ``response_format``
(:func:`render`).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from json import dumps
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..context import context
from ..errors import InvalidRequest
from ..multipart import Form, UploadedFile, parse_form
from ..replies import json_response
from ..streaming import sse, sse_response
from ..translate import audio, subtitles
from ..translate.audio import Transcript
from ..types.audio import (
    CreateTranscriptionRequest,
    DurationUsage,
    Transcription,
    TranscriptionSegment,
    TranscriptionVerbose,
    TranscriptionWord,
)
from ..validation import validate

M = TypeVar("M", bound=BaseModel)
ASR = "automatic-speech-recognition"
MIN_SECONDS = 0.1  # OpenAI refuses shorter audio
_LISTS = ("timestamp_granularities", "include")


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


async def create(request: Request) -> Response:
    ctx = context(request)
    body, upload, fmt, duration = await read_upload(request, CreateTranscriptionRequest)
    info = ctx.catalog.resolve(body.model, task=ASR)
    audio.check_supported(info)
    if body.response_format == "diarized_json":
        raise InvalidRequest("response_format 'diarized_json' is only available for gpt-4o-transcribe-diarize; "
                             f"`{body.model}` supports json, text, srt, verbose_json and vtt.",
                             param="response_format", code="unsupported_value")
    if body.include:
        raise InvalidRequest(f"include[]=logprobs is not supported by `{body.model}`.", param="include",
                             code="unsupported_value")
    if body.timestamp_granularities and body.response_format != "verbose_json":
        raise InvalidRequest("timestamp_granularities requires response_format 'verbose_json'.",
                             param="timestamp_granularities", code="invalid_value")
    # OpenAI ignores `stream` for whisper-1; other names get the transcript as stream events.
    stream = bool(body.stream) and body.model.lower() != "whisper-1"
    if stream and body.response_format not in ("json", "text"):
        raise InvalidRequest(f"Streaming is not supported with response_format '{body.response_format}'.",
                             param="stream", code="unsupported_value")
    # Nova-3 takes BCP-47 tags as they are; Whisper wants one of its language codes.
    language = (body.language or None) if info.family == "deepgram" else audio.language_code(body.language)
    inputs = audio.transcription_inputs(info, upload.data, fmt, language=language, prompt=body.prompt,
                                        vad=body.chunking_strategy is not None, release=True)
    del upload  # now only in `inputs`: as a byte list (the buffer was released), or the bytes themselves
    output = await ctx.backends.ai.run(info.id, inputs)
    del inputs
    transcript = audio.transcript_from(info, output, language=language, duration=duration)
    if stream:
        return sse_response(_events(transcript))
    return render(transcript, body.response_format, "transcribe", body.timestamp_granularities)


async def _events(transcript: Transcript) -> AsyncIterator[bytes]:
    """Workers AI's Whisper does not stream: the finished transcript, one delta per segment
    (one delta for it all when the segments do not add up to the text exactly)."""
    deltas = [s.text for s in transcript.segments if s.text]
    if deltas:
        deltas[0] = deltas[0].lstrip()
    if "".join(deltas) != transcript.text:
        deltas = [transcript.text] if transcript.text else []
    for delta in deltas:
        yield sse(dumps({"type": "transcript.text.delta", "delta": delta}, ensure_ascii=False))
    yield sse(dumps({"type": "transcript.text.done", "text": transcript.text}, ensure_ascii=False))


def render(
    transcript: Transcript,
    fmt: str,
    task: Literal["transcribe", "translate"],
    granularities: Sequence[str] | None = None,
) -> Response:
    """The transcript in OpenAI's ``response_format``: JSON objects, or text/plain bodies."""
    if fmt == "text":
        return PlainTextResponse(transcript.text + "\n")
    if fmt == "srt":
        return PlainTextResponse(subtitles.srt(transcript.segments))
    if fmt == "vtt":
        return PlainTextResponse(subtitles.vtt(transcript.segments))
    duration = round(transcript.duration or 0.0, 3)
    usage = DurationUsage(seconds=math.ceil(duration)) if task == "transcribe" else None
    if fmt == "json":
        return json_response(Transcription(text=transcript.text, usage=usage).model_dump(exclude_none=True))
    wanted = granularities or ["segment"]
    verbose = TranscriptionVerbose(
        task=task,
        language=audio.language_name(transcript.language),
        duration=duration,
        text=transcript.text,
        words=[TranscriptionWord(word=w.word, start=w.start, end=w.end) for w in transcript.words]
        if "word" in wanted else None,
        segments=[
            TranscriptionSegment(
                id=i, seek=int(s.start // 30) * 3000, start=s.start, end=s.end, text=s.text, tokens=[],
                temperature=s.temperature, avg_logprob=s.avg_logprob,
                compression_ratio=s.compression_ratio, no_speech_prob=s.no_speech_prob,
            )
            for i, s in enumerate(transcript.segments)
        ] if "segment" in wanted else None,
        usage=usage,
    )
    return json_response(verbose.model_dump(exclude_none=True))
