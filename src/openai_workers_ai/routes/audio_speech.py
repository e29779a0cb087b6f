"""``POST /v1/audio/speech``: text → audio bytes (MeloTTS or Deepgram Aura), or with ``stream_format: "sse"``
the same audio as OpenAI's ``speech.audio.delta`` / ``speech.audio.done`` events."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest
from ..streaming import sse_response
from ..translate import speech
from ..types.audio import CreateSpeechRequest
from ..validation import parse_json

TTS = "text-to-speech"


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateSpeechRequest, task=TTS)
    info = ctx.catalog.resolve(body.model, task=TTS)
    if not isinstance(body.voice, str):
        raise InvalidRequest("Custom voices are not supported; use a built-in voice name.", param="voice",
                             code="unsupported_value")
    if body.speed != 1.0:
        raise InvalidRequest(f"`{body.model}` cannot change the speaking speed; omit 'speed' or use 1.0.",
                             param="speed", code="unsupported_value")
    if body.instructions:
        raise InvalidRequest(f"`{body.model}` does not take voice instructions.", param="instructions",
                             code="unsupported_value")
    if body.stream_format == "sse" and body.model.lower() in speech.NO_SSE:
        # OpenAI: "`sse` is not supported for `tts-1` or `tts-1-hd`" (CreateSpeechRequest.stream_format).
        raise InvalidRequest(f"stream_format 'sse' is not supported for `{body.model}`; use 'audio'.",
                             param="stream_format", code="unsupported_value")
    inputs = speech.speech_inputs(info, body.input, body.voice, body.response_format)
    output = await ctx.backends.ai.run(info.id, inputs)
    audio = speech.audio_bytes(info, output)
    if body.stream_format == "sse":
        return sse_response(speech.sse_events(audio, body.input))
    return Response(audio, media_type=speech.media_type(audio, body.response_format))
