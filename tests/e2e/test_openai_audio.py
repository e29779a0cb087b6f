"""The official ``openai`` client against the real local server: transcriptions, translations, speech."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import openai
import pytest

from openai_workers_ai.translate import audio

from ..audio import make_wav
from .conftest import E2E_KEY

AUDIO = make_wav(6.0)
FRENCH = make_wav(5.0, comment="lang=fr")


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server + "/v1", api_key=E2E_KEY, max_retries=0) as c:
        yield c


def test_transcription_json(client: openai.OpenAI) -> None:
    result = client.audio.transcriptions.create(model="whisper-1", file=("speech.wav", AUDIO, "audio/wav"))
    assert result.text and result.text[0].isupper()
    assert result.usage is not None and result.usage.type == "duration" and result.usage.seconds == 6


def test_transcription_text_srt_vtt(client: openai.OpenAI) -> None:
    text = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), response_format="text")
    srt = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), response_format="srt")
    vtt = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), response_format="vtt")
    assert isinstance(text, str) and isinstance(srt, str) and isinstance(vtt, str)
    assert srt.startswith("1\n00:00:00,000 --> ") and vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")
    first_cue = srt.split("\n\n")[0].split("\n")[2]
    assert text.startswith(first_cue) and text.endswith("\n")


def test_transcription_verbose_json_words_and_segments(client: openai.OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1", file=("a.wav", AUDIO), response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert result.language == "english" and result.duration == 6.0
    assert result.words and result.segments
    # the words without their punctuation, as OpenAI's
    assert " ".join(w.word for w in result.words) == " ".join(audio.bare_word(w) for w in result.text.split())
    assert all(0 <= s.start < s.end <= 6.0 for s in result.segments)


def test_transcription_explicit_models_and_language(client: openai.OpenAI) -> None:
    for model in ("@cf/openai/whisper", "@cf/openai/whisper-tiny-en", "@cf/deepgram/nova-3"):
        result = client.audio.transcriptions.create(model=model, file=("a.wav", AUDIO), language="en")
        assert result.text
    french = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", FRENCH), language="fr",
                                                response_format="verbose_json")
    assert french.language == "french"


def test_transcription_keywords_languages_and_known_speakers(client: openai.OpenAI) -> None:
    """client 3.63.0's keywords and languages are taken (the client sends them as keywords[] / languages[]);
    known speakers are a 400 naming the field."""
    french = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", FRENCH), languages=["fr"],
                                                keywords=["Zorblax"], response_format="verbose_json")
    assert french.language == "french" and french.text
    result = client.audio.transcriptions.create(model="@cf/deepgram/nova-3", file=("a.wav", AUDIO),
                                                keywords=["Zorblax"], languages=["en", "fr"])
    assert result.text
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", AUDIO), known_speaker_names=["agent"],
                                           known_speaker_references=["data:audio/wav;base64,AAAA"])
    assert info.value.param == "known_speaker_names"


def test_transcription_stream(client: openai.OpenAI) -> None:
    events = list(client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", AUDIO), stream=True))
    assert events[-1].type == "transcript.text.done"
    assert "".join(e.delta for e in events if e.type == "transcript.text.delta") == events[-1].text
    done = events[-1]
    assert done.type == "transcript.text.done" and done.usage is not None and done.usage.type == "tokens"
    assert done.usage.input_token_details is not None and done.usage.input_token_details.audio_tokens == 60


def test_token_billed_transcription_usage(client: openai.OpenAI) -> None:
    result = client.audio.transcriptions.create(model="gpt-4o-mini-transcribe", file=("a.wav", AUDIO),
                                                prompt="Names: Zürich.")
    usage = result.usage
    assert usage is not None and usage.type == "tokens"  # the client's UsageTokens, as from OpenAI
    assert usage.input_token_details is not None and usage.input_token_details.audio_tokens == 60  # 6 s
    assert usage.input_token_details.text_tokens == 4 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens == 64 + usage.output_tokens


def test_transcription_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"hello", "text/plain"))
    assert info.value.param == "file"
    with pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="whisper-9", file=("a.wav", AUDIO))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client marks translations deprecated
def test_translation(client: openai.OpenAI) -> None:
    result = client.audio.translations.create(model="whisper-1", file=("fr.wav", FRENCH))
    assert result.text.startswith("[en] ")
    verbose = client.audio.translations.create(model="whisper-1", file=("fr.wav", FRENCH),
                                               response_format="verbose_json")
    assert verbose.language == "english" and verbose.duration == 5.0  # type: ignore[attr-defined]
    srt = client.audio.translations.create(model="whisper-1", file=("fr.wav", FRENCH), response_format="srt")
    assert isinstance(srt, str) and "[en] " in srt
    english = client.audio.translations.create(model="whisper-1", file=("en.wav", AUDIO), response_format="text")
    assert isinstance(english, str) and not english.startswith("[en]")


def test_speech_mp3_and_wav(client: openai.OpenAI) -> None:
    mp3 = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello from the edge of the network.")
    assert mp3.response.headers["content-type"] == "audio/mpeg" and mp3.content[:2] == b"\xff\xf3"
    wav = client.audio.speech.create(model="tts-1-hd", voice="nova", input="Hello there.", response_format="wav")
    with wave.open(io.BytesIO(wav.read())) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 0


def test_speech_streaming_response(client: openai.OpenAI) -> None:
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="coral", input="Streaming the bytes.", response_format="opus"
    ) as response:
        data = b"".join(response.iter_bytes())
    assert data.startswith(b"OggS") and b"OpusHead" in data[:64]


def test_speech_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.speech.create(model="tts-1", voice="alloy", input="hi", response_format="flac")
    assert info.value.param == "response_format"
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.speech.create(model="tts-1", voice="alloy", input="hi", speed=2.0)
    assert info.value.param == "speed"
