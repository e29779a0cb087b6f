"""Simulated speech recognition: Whisper, Whisper large-v3-turbo, Deepgram Nova-3, Nemotron.

Inputs are validated as the model schemas say (``@cloudflare/workers-types``):
``whisper``/``whisper-tiny-en`` take ``{audio: number[]}`` (bytes 0–255);
large-v3-turbo takes ``{audio: base64 | {body, contentType}, task?, language?,
vad_filter?, initial_prompt?, prefix?, beam_size?, …}``; Nova-3 takes
``{audio: {body, contentType}, language?, punctuate?, smart_format?, …}``.

Conventions (see :mod:`.audio_files` for how the audio is read):

- The transcript is deterministic: words drawn from a per-language vocabulary
  by a hash of the audio bytes, ~2.5 words a second, spread evenly over the
  audio's duration (so word and segment timings always lie inside it);
  segments end every 8 words. Silent WAV audio (all-zero samples) transcribes
  to ``""``.
- The spoken language is ``en`` unless the WAV's ``ICMT`` comment says
  ``lang=xx``; large-v3-turbo reports it in ``transcription_info.language``
  (probability 0.97). A ``language`` input overrides it (the words follow).
  As captured from the real model: large-v3-turbo's words carry a leading space
  and its VTT has one cue per word (``MM:SS.mmm``); Whisper's cues are per segment.
  ``task: "translate"`` answers with English words. ``prefix`` starts the text.
- ``whisper-tiny-en`` only speaks English. ``fail=<status>`` in the ``ICMT``
  comment fails the call like Workers AI does with that status.
- Bytes that are not WAV/MP3/FLAC/Ogg/WebM/MP4 fail with 400 (undecodable audio).
"""

from __future__ import annotations

import binascii
import hashlib
from typing import Any

from ..catalog import ModelInfo
from ..ports import Base64Bytes
from .audio_files import WORDS_PER_SECOND, AudioFacts, inspect
from .failures import SimulatedFailure, failure_for, invalid_input

WORDS_PER_SEGMENT = 8
VOCABULARY: dict[str, tuple[str, ...]] = {
    "en": tuple("the quick workers gateway speaks clearly about edge models and audio today".split()),
    "fr": tuple("le modèle parle très bien de la passerelle et du café déjà prêt".split()),
    "es": tuple("el modelo habla muy bien de la pasarela y del año que viene".split()),
    "de": tuple("das modell spricht sehr gut über die straße und den übergang heute".split()),
    "ja": tuple("これは モデル の 音声 を 日本語 で 話し ます 今日".split()),
}
_GENERIC = tuple("lorem ipsum dolor sit amet consectetur adipiscing elit sed".split())
_TURBO_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "task": str, "language": str, "vad_filter": bool, "initial_prompt": str, "prefix": str,
    "beam_size": (int, float), "condition_on_previous_text": bool,
    "no_speech_threshold": (int, float), "compression_ratio_threshold": (int, float),
    "log_prob_threshold": (int, float), "hallucination_silence_threshold": (int, float),
}
_NOVA_STRINGS = ("language", "custom_topic", "custom_intent", "extra", "keyterm", "keywords",
                 "redact", "replace", "search", "endpointing", "encoding", "mode")


def run(model: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(inputs, dict):
        raise invalid_input("Type mismatch of '/', 'object' not in 'object'")
    family = model.family or ""
    if family == "whisper":
        audio = _byte_array(inputs.get("audio"))
        facts = _facts(audio)
        language = "en" if model.id.endswith("tiny-en") else facts.tags.get("lang", "en")
        return _whisper_output(_words(audio, facts, language))
    if family == "whisper-v3":
        return _turbo(inputs)
    if family == "deepgram":
        return _nova(inputs)
    if family == "nemotron-asr":
        body = _body_or_base64(inputs.get("audio"))
        spoken = _facts(body)
        return {"text": " ".join(w["word"] for w in _words(body, spoken, "en")), "duration": spoken.duration}
    raise SimulatedFailure(400, 5018, f"{model.id} is not available over this interface (WebSocket only).")


# --- inputs ----------------------------------------------------------------------------------


def _byte_array(audio: Any) -> bytes:
    if not isinstance(audio, list):
        raise invalid_input("required properties at '/' are 'audio'" if audio is None
                            else "Type mismatch of '/audio', 'array' not in 'array'")
    try:
        return bytes(audio)
    except (TypeError, ValueError):
        raise invalid_input("'/audio' items must be integers between 0 and 255") from None


def _body_or_base64(audio: Any) -> bytes | bytearray | memoryview:
    if isinstance(audio, Base64Bytes):  # in process: what the binding would send as base64 text
        return audio.data
    if isinstance(audio, str):
        try:  # a2b_base64 reads an ASCII str in place (b64decode would copy it to bytes first)
            return binascii.a2b_base64(audio, strict_mode=True)
        except (binascii.Error, ValueError):
            raise SimulatedFailure(400, 5004, "Invalid data type for base64 input: string") from None
    if isinstance(audio, dict):
        return _body(audio, "/audio")
    if audio is None:
        raise invalid_input("required properties at '/' are 'audio'")
    raise invalid_input("Type mismatch of '/audio', expected a base64 string or {body, contentType}")


def _body(audio: Any, where: str) -> bytes | bytearray | memoryview:
    if not isinstance(audio, dict) or not isinstance(audio.get("contentType"), str):
        raise invalid_input(f"required properties at '{where}' are 'body,contentType'")
    body = audio.get("body")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise invalid_input(f"Type mismatch of '{where}/body', expected a binary stream")
    return body  # read in place: no copy of a large upload


def _facts(audio: bytes | bytearray | memoryview) -> AudioFacts:
    facts = inspect(audio)
    if facts is None:
        raise SimulatedFailure(400, 3010, "Invalid or incomplete input for the model: the audio could not be decoded")
    if facts.tags.get("fail", "").isdigit():
        raise failure_for(int(facts.tags["fail"]))
    return facts


def _check_options(inputs: dict[str, Any], options: dict[str, type | tuple[type, ...]]) -> None:
    for name, kind in options.items():
        value = inputs.get(name)
        bad_bool = isinstance(value, bool) and kind is not bool
        if value is not None and (bad_bool or not isinstance(value, kind)):
            raise invalid_input(f"Type mismatch of '/{name}'")


# --- transcripts -----------------------------------------------------------------------------


def _words(audio: bytes | bytearray | memoryview, facts: AudioFacts, language: str) -> list[dict[str, Any]]:
    """Evenly spread words for the audio's duration (none for silence)."""
    if facts.silent or facts.duration <= 0:
        return []
    count = max(1, round(facts.duration * WORDS_PER_SECOND))
    vocabulary = VOCABULARY.get(language, _GENERIC)
    seed = hashlib.sha256(audio).digest()
    step = facts.duration / count
    words = []
    for i in range(count):
        word = vocabulary[(seed[i % 32] + i) % len(vocabulary)]
        if i % WORDS_PER_SEGMENT == 0:
            word = word[:1].upper() + word[1:]
        if i % WORDS_PER_SEGMENT == WORDS_PER_SEGMENT - 1 or i == count - 1:
            word += "."
        start = round(i * step, 2)
        words.append({"word": word, "start": start, "end": round(start + step * 0.8, 2)})
    return words


def _segments(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [words[i : i + WORDS_PER_SEGMENT] for i in range(0, len(words), WORDS_PER_SEGMENT)]


def _timestamp(seconds: float) -> str:
    """``MM:SS.mmm`` (hours only when there are any), as Whisper's VTT writer does."""
    ms = round(seconds * 1000)
    hours = f"{ms // 3_600_000:02d}:" if ms >= 3_600_000 else ""
    return f"{hours}{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _vtt(groups: list[list[dict[str, Any]]]) -> str:
    cues = [
        f"{_timestamp(group[0]['start'])} --> {_timestamp(group[-1]['end'])}\n"
        + " ".join(w["word"].strip() for w in group)
        for group in groups
    ]
    return "WEBVTT\n\n" + "".join(cue + "\n\n" for cue in cues)


def _whisper_output(words: list[dict[str, Any]]) -> dict[str, Any]:
    text = " ".join(w["word"] for w in words)
    return {"text": text, "word_count": len(words), "words": words, "vtt": _vtt(_segments(words))}


def _turbo(inputs: dict[str, Any]) -> dict[str, Any]:
    _check_options(inputs, _TURBO_OPTIONS)
    task = inputs.get("task", "transcribe")
    if task not in ("transcribe", "translate"):
        raise invalid_input("'/task' must be one of 'transcribe', 'translate'")
    audio = _body_or_base64(inputs.get("audio"))
    facts = _facts(audio)
    detected = (inputs.get("language") or facts.tags.get("lang") or "en").lower()
    words = _words(audio, facts, "en" if task == "translate" else detected)
    if inputs.get("prefix") and words:
        words[0]["word"] = f"{inputs['prefix']} {words[0]['word']}"
    for word in words:  # as observed from the real model: each word keeps its leading space
        word["word"] = " " + word["word"]
    segments = [
        {
            "start": seg[0]["start"], "end": seg[-1]["end"],
            "text": "".join(w["word"] for w in seg),
            "temperature": 0.0, "avg_logprob": -0.21, "compression_ratio": 1.3,
            "no_speech_prob": 0.01, "words": seg,
        }
        for seg in _segments(words)
    ]
    return {
        "transcription_info": {
            "language": detected, "language_probability": 0.97,
            "duration": facts.duration, "duration_after_vad": facts.duration,
        },
        "text": "".join(s["text"] for s in segments).strip(),
        "word_count": len(words),
        "segments": segments,
        "vtt": _vtt([[w] for w in words]),  # observed: one cue per word
    }


def _nova(inputs: dict[str, Any]) -> dict[str, Any]:
    audio = _body(inputs.get("audio"), "/audio")
    for name in _NOVA_STRINGS:
        if inputs.get(name) is not None and not isinstance(inputs[name], str):
            raise invalid_input(f"Type mismatch of '/{name}', 'string' not in 'string'")
    facts = _facts(audio)
    language = str(inputs.get("language") or facts.tags.get("lang") or "en").split("-")[0].lower()
    if language == "multi":
        language = facts.tags.get("lang", "en")
    words = _words(audio, facts, language)
    punctuate = bool(inputs.get("punctuate") or inputs.get("smart_format"))
    out_words = [
        {"word": w["word"].rstrip(".").lower(), "start": w["start"], "end": w["end"], "confidence": 0.98,
         **({"punctuated_word": w["word"]} if punctuate else {})}
        for w in words
    ]
    transcript = " ".join(w["word"] for w in words) if punctuate else " ".join(w["word"] for w in out_words)
    channel: dict[str, Any] = {"alternatives": [{"transcript": transcript, "confidence": 0.98, "words": out_words}]}
    if inputs.get("detect_language"):
        channel["detected_language"] = language
        channel["language_confidence"] = 0.97
    return {"results": {"channels": [channel]}}
