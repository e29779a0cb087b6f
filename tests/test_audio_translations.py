"""``POST /v1/audio/translations``: Whisper's detected language, m2m100 for the rest, OpenAI's formats."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

from .audio import make_wav
from .openapi import assert_matches
from .test_audio_transcriptions import error_of

URL = "/v1/audio/translations"
M2M = "@cf/meta/m2m100-1.2b"


async def translate(client: httpx.AsyncClient, audio: bytes, **fields: Any) -> httpx.Response:
    fields.setdefault("model", "whisper-1")
    return await client.post(URL, files={"file": ("speech.wav", audio, "audio/wav")}, data=fields)


async def test_french_is_translated_per_segment(client: httpx.AsyncClient, simulator: Simulator) -> None:
    audio = make_wav(7.0, comment="lang=fr")
    original = (await client.post("/v1/audio/transcriptions", files={"file": ("a.wav", audio, "audio/wav")},
                                  data={"model": "whisper-1", "response_format": "verbose_json"})).json()
    simulator.calls.clear()
    r = await translate(client, audio, response_format="verbose_json")
    body = r.json()
    assert_matches(body, "CreateTranslationResponseVerboseJson")
    assert body["task"] == "translate" and body["language"] == "english" and body["duration"] == 7.0
    # the transcription call asked for no language (Whisper detects it) and no Whisper translation
    model, inputs = simulator.calls[0]
    assert model == "@cf/openai/whisper-large-v3-turbo" and inputs["task"] == "transcribe"
    assert "language" not in inputs
    calls = [c for c in simulator.calls if c[0] == M2M]
    assert len(calls) == len(original["segments"]) >= 2
    assert all(c[1]["source_lang"] == "fr" and c[1]["target_lang"] == "en" for c in calls)
    for seg, src in zip(body["segments"], original["segments"], strict=True):
        assert (seg["start"], seg["end"]) == (src["start"], src["end"])
        assert seg["text"] == " [en] " + src["text"].strip()
    assert body["text"] == " ".join(s["text"].strip() for s in body["segments"])
    assert "words" not in body and "usage" not in body


async def test_json_text_srt_vtt(client: httpx.AsyncClient) -> None:
    audio = make_wav(4.0, comment="lang=es")
    body = (await translate(client, audio)).json()
    assert_matches(body, "CreateTranslationResponseJson")
    assert set(body) == {"text"} and body["text"].startswith("[en] ")
    assert (await translate(client, audio, response_format="text")).text == body["text"] + "\n"
    srt = (await translate(client, audio, response_format="srt")).text
    assert srt.startswith("1\n00:00:00,000 --> ") and "[en] " in srt
    # openai/openai-dotnet tests/SessionRecords/TranslationTests/TranslationFormatsWork(%srt%).json: a last "\n"
    assert srt.endswith(".\n\n\n")
    vtt = (await translate(client, audio, response_format="vtt")).text
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> ")


async def test_english_audio_is_not_translated(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await translate(client, make_wav(3.0))
    assert r.status_code == 200 and not r.json()["text"].startswith("[en]")
    assert [c[0] for c in simulator.calls] == ["@cf/openai/whisper-large-v3-turbo"]


async def test_tiny_en_needs_no_translation(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await translate(client, make_wav(3.0), model="@cf/openai/whisper-tiny-en")
    assert r.status_code == 200 and [c[0] for c in simulator.calls] == ["@cf/openai/whisper-tiny-en"]


@pytest.mark.parametrize("model", ["@cf/openai/whisper", "@cf/deepgram/nova-3"])
async def test_models_without_language_detection_are_refused(client: httpx.AsyncClient, model: str) -> None:
    assert error_of(await translate(client, make_wav(1.0), model=model), 400)["param"] == "model"


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"response_format": "diarized_json"}, "response_format"), ({"temperature": "2"}, "temperature"),
     ({"language": "fr"}, "language")],
)
async def test_bad_fields(client: httpx.AsyncClient, fields: dict[str, str], param: str) -> None:
    assert error_of(await translate(client, make_wav(1.0), **fields), 400)["param"] == param


async def test_translator_failure_is_reported(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from openai_workers_ai.simulator import HANDLERS, translation

    def failing(info, inputs):  # noqa: ANN001, ANN202
        return translation.run(info, {**inputs, "text": "fail:503"})

    monkeypatch.setitem(HANDLERS, "translation", failing)
    error = error_of(await translate(client, make_wav(2.0, comment="lang=fr")), 503)
    assert error["type"] == "server_error"


async def test_empty_audio_and_wrong_type(client: httpx.AsyncClient) -> None:
    assert error_of(await translate(client, b""), 400)["param"] == "file"
    r = await client.post(URL, files={"file": ("a.txt", b"hi", "text/plain")}, data={"model": "whisper-1"})
    assert error_of(r, 400)["param"] == "file"
