"""Speech recognition ⇄ Workers AI: inputs per model family, outputs as one ``Transcript``.

Families (``ModelInfo.family``):

- ``whisper`` (``@cf/openai/whisper``, ``whisper-tiny-en``): ``{audio: number[]}`` →
  ``{text, word_count, words, vtt}``. No language, prompt or temperature input;
  segments come from the VTT cues (sentences of the words when each cue is one word),
  the language is not reported.
- ``whisper-v3`` (``whisper-large-v3-turbo``, what ``whisper-1`` means here):
  ``{audio: base64, task, language?, initial_prompt?, vad_filter?}`` →
  ``{transcription_info, text, word_count, segments[words], vtt}``.
- ``deepgram`` (``nova-3``): ``{audio: {body, contentType}, language?, punctuate,
  smart_format, detect_language?}`` → ``{results.channels[0].alternatives[0]}``;
  segments are made from the words (a sentence end or 30 s closes one).
"""

from __future__ import annotations

import math
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..catalog import ModelInfo
from ..catalog.catalog import SNAPSHOT
from ..errors import InvalidRequest, UpstreamError
from ..ports import Base64Bytes
from ..workers_ai.spec import estimate_tokens
from .subtitles import parse_vtt

TRANSCRIBE_FAMILIES = ("whisper", "whisper-v3", "deepgram")

# OpenAI's accepted upload formats, and the content type we announce to Workers AI.
AUDIO_FORMATS: dict[str, str] = {
    "flac": "audio/flac", "m4a": "audio/mp4", "mp3": "audio/mpeg", "mp4": "audio/mp4",
    "mpeg": "audio/mpeg", "mpga": "audio/mpeg", "oga": "audio/ogg", "ogg": "audio/ogg",
    "wav": "audio/wav", "webm": "audio/webm",
}
_CONTENT_TYPES: dict[str, str] = {
    "audio/flac": "flac", "audio/x-flac": "flac", "audio/mp4": "m4a", "audio/x-m4a": "m4a",
    "audio/m4a": "m4a", "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/ogg": "ogg",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/webm": "webm", "video/mp4": "mp4", "video/webm": "webm",
}

# Whisper's languages (ISO-639-1, plus haw/yue) and the names OpenAI reports them by.
LANGUAGES: dict[str, str] = dict(item.split(":") for item in (
    "en:english zh:chinese de:german es:spanish ru:russian ko:korean fr:french ja:japanese "
    "pt:portuguese tr:turkish pl:polish ca:catalan nl:dutch ar:arabic sv:swedish it:italian "
    "id:indonesian hi:hindi fi:finnish vi:vietnamese he:hebrew uk:ukrainian el:greek ms:malay "
    "cs:czech ro:romanian da:danish hu:hungarian ta:tamil no:norwegian th:thai ur:urdu "
    "hr:croatian bg:bulgarian lt:lithuanian la:latin mi:maori ml:malayalam cy:welsh sk:slovak "
    "te:telugu fa:persian lv:latvian bn:bengali sr:serbian az:azerbaijani sl:slovenian "
    "kn:kannada et:estonian mk:macedonian br:breton eu:basque is:icelandic hy:armenian "
    "ne:nepali mn:mongolian bs:bosnian kk:kazakh sq:albanian sw:swahili gl:galician "
    "mr:marathi pa:punjabi si:sinhala km:khmer sn:shona yo:yoruba so:somali af:afrikaans "
    "oc:occitan ka:georgian be:belarusian tg:tajik sd:sindhi gu:gujarati am:amharic "
    "yi:yiddish lo:lao uz:uzbek fo:faroese ht:haitian_creole ps:pashto tk:turkmen nn:nynorsk "
    "mt:maltese sa:sanskrit lb:luxembourgish my:myanmar bo:tibetan tl:tagalog mg:malagasy "
    "as:assamese tt:tatar haw:hawaiian ln:lingala ha:hausa ba:bashkir jw:javanese "
    "su:sundanese yue:cantonese"
).split())
LANGUAGES = {code: name.replace("_", " ") for code, name in LANGUAGES.items()}
_NAMES = {name: code for code, name in LANGUAGES.items()}


@dataclass(slots=True)
class Word:
    """A word and its times (seconds), as in ``verbose_json``."""

    word: str
    start: float
    end: float


@dataclass(slots=True)
class Segment:
    """A transcript segment, with OpenAI's ``verbose_json`` fields."""

    start: float
    end: float
    text: str
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class Transcript:
    """What a speech-recognition model heard, whatever the model family."""

    text: str
    language: str | None
    """ISO code the model reported (or was told); None when it does not say."""
    duration: float | None
    segments: list[Segment]
    words: list[Word]

    def translated(self, segments: list[Segment]) -> Transcript:
        """This transcript with its text replaced by English ``segments`` (words dropped)."""
        return replace(self, text=" ".join(s.text.strip() for s in segments if s.text.strip()),
                       language="en", segments=segments, words=[])


def audio_format(filename: str | None, content_type: str | None) -> str:
    """The upload's format from its file name (else its content type); 400 if OpenAI would refuse it."""
    name = (filename or "").rsplit("/", 1)[-1]
    if "." in name:
        ext = name.rsplit(".", 1)[-1].lower()
        if ext in AUDIO_FORMATS:
            return ext
    else:
        media = (content_type or "").partition(";")[0].strip().lower()
        if media in _CONTENT_TYPES:
            return _CONTENT_TYPES[media]
    raise InvalidRequest(
        f"Invalid file format. Supported formats: {sorted(AUDIO_FORMATS)}", param="file",
        code="invalid_value",
    )


def language_code(value: str | None, param: str = "language") -> str | None:
    """An OpenAI ``language`` (ISO-639-1; Whisper's names accepted too) as Whisper's code; 400 if unknown."""
    if value is None or value == "":
        return None
    key = value.strip().lower()
    if key in LANGUAGES:
        return key
    if key in _NAMES:
        return _NAMES[key]
    raise InvalidRequest(
        f"Invalid language '{value}'. Language parameter must be specified in ISO-639-1 format.",
        param=param, code="invalid_language_format",
    )


def language_name(code: str | None) -> str:
    """The language name OpenAI's verbose JSON reports (``english``); ``unknown`` if not reported."""
    if not code:
        return "unknown"
    return LANGUAGES.get(code.lower(), LANGUAGES.get(code.split("-")[0].lower(), code))


def check_supported(info: ModelInfo) -> None:
    """400 unless ``info`` is a model that transcribes uploaded files here."""
    if info.family not in TRANSCRIBE_FAMILIES:
        raise InvalidRequest(
            f"The model `{info.id}` cannot transcribe uploaded files here; use whisper-1, "
            "@cf/openai/whisper, @cf/openai/whisper-large-v3-turbo, @cf/openai/whisper-tiny-en "
            "or @cf/deepgram/nova-3.", param="model", code="model_not_supported",
        )


def transcription_language(info: ModelInfo, language: str | None, languages: Sequence[str] | None) -> str | None:
    """The language to transcribe in: ``language``, else the one of ``languages`` (OpenAI's possible languages),
    else None (the model detects it; several possible languages are detected among all). Nova-3 takes BCP-47
    tags as they are; Whisper wants one of its language codes (400 otherwise, naming the field)."""
    deepgram = info.family == "deepgram"
    possible: set[str] = set()
    for code in languages or ():
        checked = code if deepgram else language_code(code, "languages")
        if checked:
            possible.add(checked)
    if language:
        return language if deepgram else language_code(language)
    return possible.pop() if len(possible) == 1 else None


def transcription_inputs(
    info: ModelInfo, audio: bytes | bytearray, fmt: str, *,
    language: str | None = None, prompt: str | None = None, vad: bool = False, release: bool = False,
    keywords: Sequence[str] = (),
) -> dict[str, Any]:
    """The Workers AI input for transcribing ``audio`` (already checked to be ``fmt``).

    ``keywords`` (OpenAI's words or phrases to guide the transcription) go where each model is guided:
    Whisper large-v3-turbo's ``initial_prompt``, before the ``prompt`` (Whisper's way of being told
    spellings); Nova-3's ``keyterm`` (one: the input is a string); a 400 for the models that take neither.

    With ``release``, a ``bytearray`` is emptied once it has been re-encoded as a
    byte list, so a large upload is not held twice over; base64 models get the
    bytes themselves as :class:`~openai_workers_ai.ports.Base64Bytes`.
    """
    keywords = [k.strip() for k in keywords if k.strip()]
    if info.family == "whisper":
        if language and language != "en" and info.id.endswith("-en"):
            raise InvalidRequest(f"`{info.id}` only transcribes English.", param="language",
                                 code="unsupported_language")
        if keywords:
            raise InvalidRequest(f"'keywords' is not supported here: `{info.id}` takes no prompt or key terms; "
                                 "use whisper-1 (Whisper large-v3-turbo) or @cf/deepgram/nova-3.", param="keywords")
        values = list(audio)
        _release(audio, release)
        return {"audio": values}
    if info.family == "deepgram":
        inputs: dict[str, Any] = {"audio": {"body": audio, "contentType": AUDIO_FORMATS[fmt]},
                                  "punctuate": True, "smart_format": True}
        if language:
            inputs["language"] = language
        else:
            inputs["detect_language"] = True
        if len(keywords) > 1:
            raise InvalidRequest(f"'keywords' holds {len(keywords)} entries: `{info.id}` takes one key term (its "
                                 "`keyterm` input is a single string).", param="keywords")
        if keywords:
            inputs["keyterm"] = keywords[0]
        return inputs
    # Base64 text, made by the adapter where it sends it: the core holds the upload once.
    out: dict[str, Any] = {"audio": Base64Bytes(audio), "task": "transcribe"}
    if language:
        out["language"] = language
    guide = text_guide(keywords, prompt)
    if guide:
        out["initial_prompt"] = guide
    if vad:
        out["vad_filter"] = True
    return out


def text_guide(keywords: Sequence[str], prompt: str | None) -> str:
    """The text a transcription is guided by: the ``keywords``, then the ``prompt`` (large-v3-turbo's
    ``initial_prompt``; what a token-billed model's usage counts as text input)."""
    keywords = [k.strip() for k in keywords if k.strip()]
    return " ".join(part for part in (", ".join(keywords), prompt) if part)


TOKEN_BILLED = frozenset({"gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-transcribe"})
"""OpenAI's transcription models billed by tokens, whose ``usage`` is ``type: "tokens"`` (their dated
snapshots too); ``whisper-1`` is billed by the second of audio (``type: "duration"``), as Workers AI ids are
here."""
AUDIO_TOKENS_PER_SECOND = 10
"""The audio token estimate: one token per 100 ms of audio, the rate reported for a user's audio in OpenAI's
Realtime API (Workers AI's Whisper counts no tokens)."""


def _undated(model: str) -> str:
    """The name the request used, without a dated snapshot's suffix (``gpt-4o-transcribe-2025-03-20``)."""
    return SNAPSHOT.sub("", model.lower())


def billed_by_tokens(model: str) -> bool:
    """Whether OpenAI reports token usage for transcriptions by ``model`` (the name the request used)."""
    return _undated(model) in TOKEN_BILLED


def detected_languages(model: str, transcript: Transcript) -> list[dict[str, str]] | None:
    """OpenAI's ``languages`` of a transcription, "Returned by `gpt-transcribe`" (the spec, the client's
    ``Transcription``): the language the model heard, ``[]`` ("no language could be reliably detected") when it
    reports none; None for the other names (the name the request used)."""
    if _undated(model) != "gpt-transcribe":
        return None
    return [{"code": transcript.language}] if transcript.language else []


def token_usage(duration: float, guide: str, text: str) -> dict[str, Any]:
    """A token-billed transcription's ``usage``, estimated: audio tokens from the ``duration``
    (:data:`AUDIO_TOKENS_PER_SECOND`), text tokens from the ``guide`` (keywords and prompt) and output
    tokens from the transcript's ``text``, both as the gateway estimates text
    (:func:`~openai_workers_ai.workers_ai.spec.estimate_tokens`)."""
    audio_tokens = math.ceil(round(duration * AUDIO_TOKENS_PER_SECOND, 6))
    text_tokens = estimate_tokens(guide)
    output_tokens = estimate_tokens(text)
    return {  # in OpenAI's order, as types.audio.TokensUsage (the stream's done event sends this dict)
        "type": "tokens",
        "total_tokens": audio_tokens + text_tokens + output_tokens,
        "input_tokens": audio_tokens + text_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": audio_tokens},
        "output_tokens": output_tokens,
    }


def _release(audio: bytes | bytearray, release: bool) -> None:
    if release and isinstance(audio, bytearray):
        audio.clear()


def wav_duration(audio: bytes | bytearray) -> float | None:
    """A WAV file's exact duration from its header (None for anything else)."""
    view = memoryview(audio)
    if bytes(view[:4]) != b"RIFF" or bytes(view[8:12]) != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    size: int
    while pos + 8 <= len(view):
        chunk, (size,) = bytes(view[pos : pos + 4]), struct.unpack("<I", view[pos + 4 : pos + 8])
        if chunk == b"fmt " and size >= 12 and pos + 20 <= len(view):  # a cut-short file may end inside it
            (byte_rate,) = struct.unpack("<I", view[pos + 16 : pos + 20])
        elif chunk == b"data" and byte_rate:
            return round(min(size, len(view) - pos - 8) / byte_rate, 3)
        pos += 8 + size + (size & 1)
    return None


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _words(items: Any, key: str = "word") -> list[Word]:
    out = []
    for w in items if isinstance(items, list) else []:
        if isinstance(w, dict) and isinstance(w.get(key) or w.get("word"), str):
            out.append(Word(str(w.get(key) or w.get("word")).strip(), _num(w.get("start")), _num(w.get("end"))))
    return out


def bare_word(word: str) -> str:
    """A word as OpenAI's ``words[]`` show it: leading and trailing punctuation dropped, inner kept
    (``"Hello,"`` → ``"Hello"``, ``"test."`` → ``"test"``, ``"don't"`` stays)."""
    start, end = 0, len(word)
    while start < end and unicodedata.category(word[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(word[end - 1]).startswith("P"):
        end -= 1
    return word[start:end]


def _group(words: list[Word], max_seconds: float = 30.0) -> list[Segment]:
    """Segments from bare words: a sentence end, or 30 s, closes one."""
    segments: list[Segment] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if word.word.endswith((".", "?", "!", "。")) or word.end - current[0].start >= max_seconds:
            segments.append(Segment(current[0].start, word.end, " " + " ".join(w.word for w in current),
                                    words=current))
            current = []
    if current:
        segments.append(Segment(current[0].start, current[-1].end, " " + " ".join(w.word for w in current),
                                words=current))
    return segments


def transcript_from(
    info: ModelInfo, output: Any, *, language: str | None = None, duration: float | None = None
) -> Transcript:
    """Any family's output as a :class:`Transcript` (502 if it is not the documented shape)."""
    if not isinstance(output, dict):
        raise UpstreamError(f"Workers AI returned an unexpected result for {info.id}.")
    if info.family == "deepgram":
        return _from_deepgram(output, language, duration)
    if not isinstance(output.get("text"), str):
        raise UpstreamError(f"Workers AI returned no transcription text for {info.id}.")
    text = output["text"].strip()
    if info.family == "whisper-v3":
        segments = [
            Segment(_num(s.get("start")), _num(s.get("end")), str(s.get("text") or ""),
                    _num(s.get("temperature")), _num(s.get("avg_logprob")),
                    _num(s.get("compression_ratio")), _num(s.get("no_speech_prob")), _words(s.get("words")))
            for s in output.get("segments") or [] if isinstance(s, dict)
        ]
        raw_info = output.get("transcription_info")
        info_: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
        words = [w for s in segments for w in s.words]
        reported = info_.get("language") if isinstance(info_.get("language"), str) else None
        length = _num(info_.get("duration"), -1)
        return Transcript(text, reported or language, length if length >= 0 else _end(segments, duration),
                          segments or _fallback(text, duration), words)
    words = _words(output.get("words"))
    cues = parse_vtt(output.get("vtt") or "") if isinstance(output.get("vtt"), str) else []
    segments = [Segment(start, end, " " + body, words=[w for w in words if start <= w.start < end])
                for start, end, body in cues]
    if not segments or (len(segments) > 1 and all(len(s.text.split()) == 1 for s in segments)):
        # no cues, or one cue per word (as large-v3-turbo writes its VTT): sentences instead
        segments = _group(words) if words else segments or _fallback(text, duration)
    if info.id.endswith("-en"):
        language = "en"
    return Transcript(text, language, _end(segments, duration), segments, words)


def _from_deepgram(output: dict[str, Any], language: str | None, duration: float | None) -> Transcript:
    try:
        channel = output["results"]["channels"][0]
        best = channel["alternatives"][0]
    except (KeyError, IndexError, TypeError):
        raise UpstreamError("Workers AI returned an unexpected result for @cf/deepgram/nova-3.") from None
    words = _words(best.get("words"), key="punctuated_word")
    detected = channel.get("detected_language") if isinstance(channel.get("detected_language"), str) else None
    text = str(best.get("transcript") or "").strip()
    segments = _group(words) if words else _fallback(text, duration)
    return Transcript(text, (language or detected or "en").split("-")[0].lower(), _end(segments, duration),
                      segments, words)


def _fallback(text: str, duration: float | None) -> list[Segment]:
    return [Segment(0.0, duration or 0.0, " " + text)] if text else []


def _end(segments: list[Segment], duration: float | None) -> float:
    if duration is not None:
        return duration
    return max((s.end for s in segments), default=0.0)


# m2m100 names a few languages differently from Whisper.
_M2M100_CODES = {"jw": "jv", "no": "no", "nn": "no"}


def translation_input(text: str, source: str) -> dict[str, Any]:
    """``@cf/meta/m2m100-1.2b``'s input for translating ``text`` from Whisper's ``source`` into English."""
    return {"text": text, "source_lang": _M2M100_CODES.get(source, source), "target_lang": "en"}


def translated_text(output: Any) -> str:
    """m2m100's ``translated_text``; an upstream error for any other shape."""
    if not isinstance(output, dict) or not isinstance(output.get("translated_text"), str):
        raise UpstreamError("Workers AI returned an unexpected result for @cf/meta/m2m100-1.2b.")
    return str(output["translated_text"]).strip()
