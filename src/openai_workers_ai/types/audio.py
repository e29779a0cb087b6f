"""OpenAI's audio objects: transcription/translation requests (multipart) and responses, speech."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .common import Request

TranscriptionFormat = Literal["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]
TranslationFormat = Literal["json", "text", "srt", "verbose_json", "vtt"]
SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]


class CreateTranscriptionRequest(Request):
    """The form fields of ``POST /v1/audio/transcriptions`` (``file`` is read separately)."""

    model: str
    language: str | None = None
    prompt: str | None = None
    response_format: TranscriptionFormat = "json"
    temperature: float = Field(0.0, ge=0, le=1)
    timestamp_granularities: list[Literal["word", "segment"]] | None = None
    include: list[Literal["logprobs"]] | None = None
    stream: bool | None = None
    chunking_strategy: Literal["auto"] | dict[str, Any] | None = None
    keywords: list[str] | None = None
    languages: list[str] | None = None
    known_speaker_names: list[str] | None = None
    known_speaker_references: list[str] | None = None


class CreateTranslationRequest(Request):
    """The form fields of ``POST /v1/audio/translations``."""

    model: str
    prompt: str | None = None
    response_format: TranslationFormat = "json"
    temperature: float = Field(0.0, ge=0, le=1)


class TranscriptionWord(BaseModel):
    word: str
    start: float
    end: float


class TranscriptionSegment(BaseModel):
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float


class DurationUsage(BaseModel):
    type: Literal["duration"] = "duration"
    seconds: int | float


class InputTokenDetails(BaseModel):
    text_tokens: int
    audio_tokens: int


class TokensUsage(BaseModel):
    """In the order OpenAI sends it, the total second (openai/openai-dotnet tests/SessionRecords/
    TranscriptionTests/TranscriptionUsageWorks(%gpt-4o-mini-transcribe%).json)."""

    type: Literal["tokens"] = "tokens"
    total_tokens: int
    input_tokens: int
    input_token_details: InputTokenDetails
    output_tokens: int


class TranscriptionLanguage(BaseModel):
    code: str


class Transcription(BaseModel):
    text: str
    languages: list[TranscriptionLanguage] | None = None
    """The languages heard: ``gpt-transcribe``'s only (``translate.audio.detected_languages``)."""
    usage: TokensUsage | DurationUsage | None = None


class TranscriptionVerbose(BaseModel):
    task: Literal["transcribe", "translate"]
    language: str
    duration: float
    text: str
    segments: list[TranscriptionSegment] | None = None
    """Before ``words`` when both are asked for, as OpenAI sends them (openai/openai-dotnet
    tests/SessionRecords/TranscriptionTests/TimestampsWork(Word, Segment).json)."""
    words: list[TranscriptionWord] | None = None
    usage: DurationUsage | None = None


class CustomVoice(BaseModel):
    id: str


class CreateSpeechRequest(Request):
    """``POST /v1/audio/speech``."""

    model: str
    input: str = Field(min_length=1, max_length=4096)
    voice: str | CustomVoice
    instructions: str | None = Field(None, max_length=4096)
    response_format: SpeechFormat = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    stream_format: Literal["sse", "audio"] = "audio"
