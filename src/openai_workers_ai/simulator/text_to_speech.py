"""Simulated text-to-speech: MeloTTS and Deepgram Aura (aura-1, aura-2-en, aura-2-es).

- MeloTTS: ``{prompt (minLength 1), lang?}`` → ``{"audio": <base64 MP3>}``.
- Aura: ``{text, speaker?, encoding?, container?, sample_rate?, bit_rate?}`` →
  audio bytes: MP3 by default; ``linear16`` as a WAV (``container: "wav"``, the
  default) or raw PCM (``"none"``); ``mulaw``/``alaw`` likewise (8-bit WAV or
  raw); ``flac`` a FLAC stream, ``opus`` Ogg Opus, ``aac`` ADTS AAC. A
  ``speaker`` outside the model's list is a 400.

Conventions: the audio is silence lasting as long as the text would take to
say (2.5 words a second, at least 0.5 s); MP3 is 24 kHz mono 32 kbit/s,
linear16 24 kHz unless ``sample_rate`` says otherwise. Text starting with
``fail:<status>`` fails the call like Workers AI does with that status.
"""

from __future__ import annotations

import base64
from typing import Any

from ..catalog import ModelInfo
from . import audio_codecs
from .audio_files import WORDS_PER_SECOND, pcm16, silent_mp3, wav
from .failures import failure_for, invalid_input

ENCODINGS = ("linear16", "flac", "mulaw", "alaw", "mp3", "opus", "aac")
CONTAINERS = ("none", "wav", "ogg")


def seconds_for(text: str) -> float:
    """How long speaking ``text`` takes (at least half a second)."""
    return max(0.5, len(text.split()) / WORDS_PER_SECOND)


def _maybe_fail(text: str) -> None:
    if text.startswith("fail:") and text[5:].strip().isdigit():
        raise failure_for(int(text[5:].strip()))


def run(model: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any] | bytes:
    if not isinstance(inputs, dict):
        raise invalid_input("Type mismatch of '/', 'object' not in 'object'")
    if model.family == "aura":
        return _aura(model, inputs)
    prompt, lang = inputs.get("prompt"), inputs.get("lang", "en")
    if not isinstance(prompt, str) or not prompt:
        raise invalid_input("required properties at '/' are 'prompt'" if prompt is None
                            else "Type mismatch of '/prompt', 'string' not in 'string' with minLength 1")
    if not isinstance(lang, str):
        raise invalid_input("Type mismatch of '/lang', 'string' not in 'string'")
    _maybe_fail(prompt)
    return {"audio": base64.b64encode(silent_mp3(seconds_for(prompt))).decode("ascii")}


def _aura(model: ModelInfo, inputs: dict[str, Any]) -> bytes:
    text = inputs.get("text")
    if not isinstance(text, str):
        raise invalid_input("required properties at '/' are 'text'")
    speakers = model.names("voices")
    speaker = inputs.get("speaker")
    if speaker is not None and speaker not in speakers:
        raise invalid_input(f"'/speaker' must be one of {', '.join(speakers)}")
    encoding = inputs.get("encoding", "mp3")
    if encoding not in ENCODINGS:
        raise invalid_input(f"'/encoding' must be one of {', '.join(ENCODINGS)}")
    container = inputs.get("container")
    if container is not None and container not in CONTAINERS:
        raise invalid_input(f"'/container' must be one of {', '.join(CONTAINERS)}")
    for name in ("sample_rate", "bit_rate"):
        value = inputs.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise invalid_input(f"Type mismatch of '/{name}', 'number' not in 'number'")
    _maybe_fail(text)
    seconds = seconds_for(text)
    rate = int(inputs.get("sample_rate") or (8000 if encoding in ("mulaw", "alaw") else 24000))
    if encoding == "mp3":
        return silent_mp3(seconds)
    if encoding == "linear16":
        return pcm16(seconds, rate) if container == "none" else wav(seconds, rate)
    if encoding in ("mulaw", "alaw"):
        samples = (b"\xff" if encoding == "mulaw" else b"\xd5") * max(1, round(seconds * rate))
        return samples if container == "none" else audio_codecs.wav8(samples, rate, encoding)
    if encoding == "flac":
        return audio_codecs.flac(seconds, rate)
    if encoding == "opus":
        return audio_codecs.ogg_opus(seconds)
    return audio_codecs.adts_aac(seconds)
