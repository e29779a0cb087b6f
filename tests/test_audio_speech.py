"""``POST /v1/audio/speech``: MeloTTS and Aura, OpenAI voices and formats, audio bytes out."""

from __future__ import annotations

import base64
import io
import json
import wave
from typing import Any

import httpx
import mutagen
import mutagen.aac
import pytest

from openai_workers_ai.simulator import Simulator
from openai_workers_ai.translate.speech import AURA_VOICES, OPENAI_VOICES

from .openapi import assert_matches
from .test_audio_transcriptions import error_of

URL = "/v1/audio/speech"
TEXT = "The quick brown fox jumps over the lazy dog near the riverbank today"  # 13 words: 5.2 s


async def speak(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    body = {"model": "tts-1", "input": TEXT, "voice": "alloy", **body}
    return await client.post(URL, json=body)


def duration_of(data: bytes) -> float:
    info = mutagen.File(io.BytesIO(data))
    assert info is not None, data[:16]
    return float(info.info.length)


async def test_tts_1_is_melotts_mp3(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await speak(client)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    assert r.content[:2] == b"\xff\xf3"
    assert duration_of(r.content) == pytest.approx(5.2, abs=0.05)
    assert simulator.calls[-1] == ("@cf/myshell-ai/melotts", {"prompt": TEXT, "lang": "en"})


async def test_melotts_language_voices(client: httpx.AsyncClient, simulator: Simulator) -> None:
    assert (await speak(client, voice="fr", input="Bonjour")).status_code == 200
    assert simulator.calls[-1][1]["lang"] == "fr"


@pytest.mark.parametrize("fmt", ["wav", "opus", "aac", "flac", "pcm"])
async def test_melotts_is_mp3_only(client: httpx.AsyncClient, fmt: str) -> None:
    error = error_of(await speak(client, response_format=fmt), 400)
    assert error["param"] == "response_format" and "MP3" in error["message"]


@pytest.mark.parametrize(
    ("fmt", "content_type", "kind"),
    [("mp3", "audio/mpeg", "MP3"), ("wav", "audio/wav", None), ("flac", "audio/flac", "FLAC"),
     ("opus", "audio/opus", "OggOpus"), ("aac", "audio/aac", "AAC"), ("pcm", "audio/pcm", None)],
)
async def test_aura_formats(client: httpx.AsyncClient, simulator: Simulator, fmt: str, content_type: str,
                            kind: str | None) -> None:
    r = await speak(client, model="tts-1-hd", voice="onyx", response_format=fmt)
    assert r.status_code == 200 and r.headers["content-type"] == content_type
    inputs = simulator.calls[-1][1]
    assert simulator.calls[-1][0] == "@cf/deepgram/aura-1" and inputs["speaker"] == "zeus"
    if fmt == "wav":
        with wave.open(io.BytesIO(r.content)) as w:
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (24000, 2, 1)
            assert w.getnframes() / 24000 == pytest.approx(5.2, abs=0.01)
    elif fmt == "pcm":  # OpenAI's pcm: raw 24 kHz 16-bit mono
        assert inputs == {"text": TEXT, "speaker": "zeus", "encoding": "linear16", "container": "none",
                          "sample_rate": 24000}
        assert len(r.content) / 48000 == pytest.approx(5.2, abs=0.01)
    else:
        parsed = mutagen.aac.AAC(io.BytesIO(r.content)) if kind == "AAC" else mutagen.File(io.BytesIO(r.content))
        assert type(parsed).__name__ == kind
        assert parsed.info.length == pytest.approx(5.2, abs=0.1)


@pytest.mark.parametrize("model", sorted(AURA_VOICES))
async def test_every_openai_voice_maps_to_a_speaker(client: httpx.AsyncClient, simulator: Simulator,
                                                    model: str) -> None:
    for voice in OPENAI_VOICES:
        r = await speak(client, model=model, voice=voice, input="hi")
        assert r.status_code == 200, r.text
        assert simulator.calls[-1][1]["speaker"] == AURA_VOICES[model][voice]


async def test_aura_native_speaker_names(client: httpx.AsyncClient, simulator: Simulator) -> None:
    assert (await speak(client, model="gpt-4o-mini-tts", voice="apollo")).status_code == 200
    assert simulator.calls[-1] == ("@cf/deepgram/aura-2-en", {"text": TEXT, "speaker": "apollo", "encoding": "mp3"})


@pytest.mark.parametrize(
    ("body", "param"),
    [({"voice": "nobody"}, "voice"), ({"model": "tts-1-hd", "voice": "sirio"}, "voice"),
     ({"voice": {"id": "voice_123"}}, "voice"), ({"speed": 1.5}, "speed"), ({"speed": 5}, "speed"),
     ({"instructions": "whisper"}, "instructions"), ({"stream_format": "sse"}, "stream_format"),
     ({"response_format": "ogg"}, "response_format"), ({"input": ""}, "input"), ({"input": "x" * 4097}, "input"),
     ({"voice": None}, "voice"), ({"model": "whisper-1"}, "model"), ({"extra": 1}, "extra")],
)
async def test_bad_requests(client: httpx.AsyncClient, body: dict[str, Any], param: str) -> None:
    request = {"model": "tts-1", "input": TEXT, "voice": "alloy", **body}
    request = {k: v for k, v in request.items() if v is not None}
    assert error_of(await client.post(URL, json=request), 400)["param"] == param


@pytest.mark.parametrize("model", ["gpt-4o-mini-tts", "@cf/myshell-ai/melotts", "@cf/deepgram/aura-1"])
async def test_sse_stream_format(client: httpx.AsyncClient, model: str) -> None:
    # OpenAI's speech stream: CreateSpeechResponseStreamEvent, speech.audio.delta (base64) then speech.audio.done
    # with usage; "`sse` is not supported for `tts-1` or `tts-1-hd`" (the names: test_bad_requests).
    whole = await speak(client, model=model)
    r = await speak(client, model=model, stream_format="sse")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text
    events = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")]
    for event in events:
        assert_matches(event, "CreateSpeechResponseStreamEvent")
    *deltas, done = events
    assert len(deltas) > 1 and {e["type"] for e in deltas} == {"speech.audio.delta"}
    assert b"".join(base64.b64decode(e["audio"]) for e in deltas) == whole.content
    tokens = (len(TEXT) + 3) // 4
    assert done == {"type": "speech.audio.done", "usage": {"input_tokens": tokens, "output_tokens": 0,
                                                           "total_tokens": tokens}}
    assert error_of(await speak(client, model="tts-1-hd", stream_format="sse"), 400)["param"] == "stream_format"


async def test_empty_input_in_openais_words(client: httpx.AsyncClient) -> None:
    error = error_of(await speak(client, input=""), 400)
    assert error == {"message": "Invalid 'input': string too short. Expected a string with minimum length 1, but got "
                                "a string with length 0 instead.", "type": "invalid_request_error", "param": "input",
                     "code": "string_below_min_length"}


async def test_speed_one_and_long_input_are_fine(client: httpx.AsyncClient) -> None:
    assert (await speak(client, speed=1.0, input="word " * 819)).status_code == 200


async def test_missing_fields_and_unknown_model(client: httpx.AsyncClient) -> None:
    assert error_of(await client.post(URL, json={"input": "hi", "voice": "alloy"}), 400)["param"] == "model"
    assert error_of(await client.post(URL, json={"model": "tts-1", "voice": "alloy"}), 400)["param"] == "input"
    assert error_of(await speak(client, model="tts-9"), 404)["code"] == "model_not_found"


async def test_content_type_follows_the_bytes(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from openai_workers_ai.simulator import HANDLERS
    from openai_workers_ai.simulator.audio_files import wav

    monkeypatch.setitem(HANDLERS, "text-to-speech", lambda info, inputs: {"audio": base64.b64encode(wav(1.0)).decode()})
    r = await speak(client)
    assert r.headers["content-type"] == "audio/wav" and r.content == wav(1.0)
    monkeypatch.setitem(HANDLERS, "text-to-speech", lambda info, inputs: {"audio": "%%%"})
    assert error_of(await speak(client), 502)["type"] == "server_error"


async def test_upstream_failure(client: httpx.AsyncClient) -> None:
    assert error_of(await speak(client, input="fail:429"), 429)["type"] == "requests"
    assert error_of(await speak(client, model="tts-1-hd", input="fail:503"), 503)["type"] == "server_error"
