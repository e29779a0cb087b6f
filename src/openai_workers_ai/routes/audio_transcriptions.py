"""``POST /v1/audio/transcriptions``: Whisper (and Nova-3) on Workers AI, in OpenAI's formats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from json import dumps

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


