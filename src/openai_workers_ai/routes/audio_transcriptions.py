"""``POST /v1/audio/transcriptions``: Whisper (and Nova-3) on Workers AI, in OpenAI's formats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from json import dumps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest
from ..streaming import sse, sse_response
from ..translate import audio
from ..translate.audio import Transcript
from ..types.audio import (
    CreateTranscriptionRequest,
)
from ._audio import ASR, read_upload, render


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
    for name in ("known_speaker_names", "known_speaker_references"):
        if getattr(body, name):
            raise InvalidRequest(f"'{name}' is not supported here: the Workers AI transcription models do not tell "
                                 "speakers apart by name (OpenAI's gpt-4o-transcribe-diarize and diarized_json are "
                                 "not offered).", param=name)
    if body.timestamp_granularities and body.response_format != "verbose_json":
        raise InvalidRequest("timestamp_granularities requires response_format 'verbose_json'.",
                             param="timestamp_granularities", code="invalid_value")
    # OpenAI ignores `stream` for whisper-1; other names get the transcript as stream events.
    stream = bool(body.stream) and body.model.lower() != "whisper-1"
    if stream and body.response_format not in ("json", "text"):
        raise InvalidRequest(f"Streaming is not supported with response_format '{body.response_format}'.",
                             param="stream", code="unsupported_value")
    language = audio.transcription_language(info, body.language, body.languages)
    inputs = audio.transcription_inputs(info, upload.data, fmt, language=language, prompt=body.prompt,
                                        vad=body.chunking_strategy is not None, release=True,
                                        keywords=body.keywords or ())
    del upload  # now only in `inputs`: as a byte list (the buffer was released), or the bytes themselves
    output = await ctx.backends.ai.run(info.id, inputs)
    del inputs
    transcript = audio.transcript_from(info, output, language=language, duration=duration)
    tokens = None  # OpenAI's usage for its token-billed models, estimated (docs/audio.md)
    if audio.billed_by_tokens(body.model):
        tokens = audio.token_usage(transcript.duration or 0.0, audio.text_guide(body.keywords or (), body.prompt),
                                   transcript.text)
    languages = audio.detected_languages(body.model, transcript)
    if stream:
        return sse_response(_events(transcript, tokens, languages))
    return render(transcript, body.response_format, "transcribe", body.timestamp_granularities, tokens, languages)


async def _events(transcript: Transcript, usage: dict[str, Any] | None,
                  languages: list[dict[str, str]] | None = None) -> AsyncIterator[bytes]:
    """Workers AI's Whisper does not stream: the finished transcript, one delta per segment
    (one delta for it all when the segments do not add up to the text exactly). The done event
    carries ``usage`` when the model is token-billed (its schema has no duration usage), and ``languages``
    for ``gpt-transcribe``."""
    deltas = [s.text for s in transcript.segments if s.text]
    if deltas:
        deltas[0] = deltas[0].lstrip()
    if "".join(deltas) != transcript.text:
        deltas = [transcript.text] if transcript.text else []
    for delta in deltas:
        yield sse(dumps({"type": "transcript.text.delta", "delta": delta}, ensure_ascii=False))
    done: dict[str, Any] = {"type": "transcript.text.done", "text": transcript.text}
    if languages is not None:
        done["languages"] = languages
    if usage is not None:
        done["usage"] = usage
    yield sse(dumps(done, ensure_ascii=False))


