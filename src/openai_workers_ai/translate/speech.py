"""Text-to-speech ⇄ Workers AI: OpenAI voices and formats → MeloTTS / Deepgram Aura inputs.

- MeloTTS (``tts-1``): ``{prompt, lang}`` → ``{audio: base64 MP3}``. One voice per
  language: every OpenAI voice speaks English; the voice names ``en``, ``es``,
  ``fr``, ``zh``, ``ja``, ``ko`` pick MeloTTS's language instead. MP3 only.
- Aura (``tts-1-hd`` → aura-1, ``gpt-4o-mini-tts`` → aura-2-en, aura-2-es):
  ``{text, speaker, encoding, container, sample_rate}`` → audio bytes, every
  OpenAI format (``pcm`` is raw 24 kHz 16-bit little-endian mono, as OpenAI's).
  OpenAI voices map onto Aura speakers (:data:`AURA_VOICES`); Aura's own
  speaker names are accepted as they are.
- ``speed`` other than 1.0 and ``instructions`` have no Workers AI equivalent: a 400
  rather than audio that ignores them.
- ``stream_format: "sse"`` (not for ``tts-1`` / ``tts-1-hd``, as OpenAI's): the finished
  audio as ``speech.audio.delta`` events and a ``speech.audio.done`` (:func:`sse_events`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from json import dumps
from typing import Any

from ..catalog import ModelInfo
from ..errors import InvalidRequest, UpstreamError
from ..streaming import sse
from ..workers_ai.spec import estimate_tokens

OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
                 "shimmer", "verse", "marin", "cedar")
MELOTTS_LANGUAGES = ("en", "es", "fr", "zh", "ja", "ko")
NO_SSE = ("tts-1", "tts-1-hd")
"""Model names OpenAI refuses ``stream_format: "sse"`` for (CreateSpeechRequest.stream_format: "`sse` is not
supported for `tts-1` or `tts-1-hd`"); the others may stream events, whatever Workers AI model answers."""
SSE_CHUNK = 16 * 1024
"""Audio bytes per ``speech.audio.delta`` event (before base64)."""

# OpenAI voice → speaker, per Aura model (each a speaker the model's schema lists).
AURA_VOICES: dict[str, dict[str, str]] = {
    "@cf/deepgram/aura-1": dict(zip(OPENAI_VOICES, (
        "asteria", "arcas", "orpheus", "luna", "orion", "helios", "zeus", "athena", "hera",
        "stella", "perseus", "luna", "angus"), strict=True)),
    "@cf/deepgram/aura-2-en": dict(zip(OPENAI_VOICES, (
        "asteria", "arcas", "orpheus", "luna", "orion", "draco", "zeus", "athena", "hera",
        "thalia", "apollo", "andromeda", "atlas"), strict=True)),
    "@cf/deepgram/aura-2-es": dict(zip(OPENAI_VOICES, (
        "celeste", "alvaro", "nestor", "carina", "sirio", "aquila", "javier", "diana", "selena",
        "estrella", "nestor", "carina", "javier"), strict=True)),
}

# response_format → Aura's encoding/container (and OpenAI's content type).
AURA_FORMATS: dict[str, dict[str, Any]] = {
    "mp3": {"encoding": "mp3"},
    "wav": {"encoding": "linear16", "container": "wav", "sample_rate": 24000},
    "pcm": {"encoding": "linear16", "container": "none", "sample_rate": 24000},
    "flac": {"encoding": "flac"},
    "opus": {"encoding": "opus", "container": "ogg"},
    "aac": {"encoding": "aac"},
}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac",
                 "opus": "audio/opus", "aac": "audio/aac"}


def speech_inputs(info: ModelInfo, text: str, voice: str, fmt: str) -> dict[str, Any]:
    """The Workers AI input for saying ``text``; 400 for what the model cannot do."""
    if info.family == "melotts":
        lang = voice if voice in MELOTTS_LANGUAGES else "en"
        if voice not in OPENAI_VOICES and voice not in MELOTTS_LANGUAGES:
            raise _bad_voice(voice, info, OPENAI_VOICES + MELOTTS_LANGUAGES)
        if fmt != "mp3":
            raise InvalidRequest(
                f"`{info.id}` produces MP3 only; response_format '{fmt}' needs an Aura model "
                "(tts-1-hd, gpt-4o-mini-tts).", param="response_format", code="unsupported_value")
        return {"prompt": text, "lang": lang}
    if info.family == "aura":
        speakers = info.names("voices")
        mapping = AURA_VOICES.get(info.id, {})
        speaker = mapping.get(voice) or (voice if voice in speakers else None)
        if speaker is None:
            raise _bad_voice(voice, info, tuple(mapping) + speakers)
        return {"text": text, "speaker": speaker, **AURA_FORMATS[fmt]}
    raise InvalidRequest(f"The model `{info.id}` cannot be used for speech here; use tts-1 (MeloTTS), "
                         "tts-1-hd or an @cf/deepgram/aura-* model.", param="model", code="model_not_supported")


def _bad_voice(voice: str, info: ModelInfo, allowed: tuple[str, ...]) -> InvalidRequest:
    return InvalidRequest(f"Invalid value for 'voice': '{voice}' is not a voice of `{info.id}`. "
                          f"Supported voices: {', '.join(dict.fromkeys(allowed))}.", param="voice",
                          code="invalid_value")


def media_type(audio: bytes, fmt: str) -> str:
    """OpenAI's content type for ``fmt``, unless the bytes are plainly something else
    (MeloTTS is documented to return MP3; if it ever sends WAV, say so)."""
    if fmt == "mp3" and audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return CONTENT_TYPES["wav"]
    return CONTENT_TYPES[fmt]


def audio_bytes(info: ModelInfo, output: Any) -> bytes:
    """The audio in a model's output (MeloTTS: base64 in ``audio``; Aura: the bytes)."""
    if isinstance(output, (bytes, bytearray)):
        return bytes(output)
    if isinstance(output, dict) and isinstance(output.get("audio"), str):
        try:
            return base64.b64decode(output["audio"], validate=True)
        except binascii.Error:
            pass
    raise UpstreamError(f"Workers AI returned no audio for {info.id}.")


async def sse_events(audio: bytes, text: str) -> AsyncIterator[bytes]:
    """OpenAI's speech stream (``CreateSpeechResponseStreamEvent``): the audio, base64 in ``speech.audio.delta``
    events of :data:`SSE_CHUNK` bytes, then ``speech.audio.done`` with ``usage``. Workers AI's TTS models answer
    with the whole audio and no token counts: ``input_tokens`` is the estimate (4 characters a token),
    ``output_tokens`` 0."""
    for start in range(0, len(audio), SSE_CHUNK):
        chunk = base64.b64encode(audio[start:start + SSE_CHUNK]).decode()
        yield sse(dumps({"type": "speech.audio.delta", "audio": chunk}))
    tokens = estimate_tokens(text)
    usage = {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}
    yield sse(dumps({"type": "speech.audio.done", "usage": usage}))
