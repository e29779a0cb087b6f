"""Text-to-speech ⇄ Workers AI: OpenAI voices and formats → MeloTTS / Deepgram Aura inputs.

- MeloTTS (``tts-1``): ``{prompt, lang}`` → ``{audio: base64 MP3}``. One voice per
  language: every OpenAI voice speaks English; the voice names ``en``, ``es``,
  ``fr``, ``zh``, ``ja``, ``ko`` pick MeloTTS's language instead. MP3 only.
- Aura (``tts-1-hd`` → aura-1, ``gpt-4o-mini-tts`` → aura-2-en, aura-2-es):
  ``{text, speaker, encoding, container, sample_rate}`` → audio bytes, every
  OpenAI format (``pcm`` is raw 24 kHz 16-bit little-endian mono, as OpenAI's).
  OpenAI voices map onto Aura speakers (:data:`AURA_VOICES`); Aura's own
  speaker names are accepted as they are.
- ``speed`` other than 1.0, ``instructions`` and ``stream_format: "sse"`` have
  no Workers AI equivalent: a 400 rather than audio that ignores them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..catalog import ModelInfo
from ..errors import InvalidRequest, UpstreamError

OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
                 "shimmer", "verse", "marin", "cedar")
MELOTTS_LANGUAGES = ("en", "es", "fr", "zh", "ja", "ko")

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
