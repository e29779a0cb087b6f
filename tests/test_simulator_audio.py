"""The simulated audio models: Workers AI's input validation and output shapes, and the REST path."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from openai_workers_ai.adapters.local import RestAI
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.audio_files import inspect, silent_mp3
from openai_workers_ai.simulator.rest import create_rest_app
from openai_workers_ai.translate.audio import wav_duration
from openai_workers_ai.translate.subtitles import parse_vtt

from .audio import make_wav
from .served import rest_ai_over

TURBO = "@cf/openai/whisper-large-v3-turbo"


async def fails(sim: Simulator, model: str, inputs: dict[str, Any], status: int = 400) -> str:
    with pytest.raises(UpstreamError) as info:
        await sim.run(model, inputs)
    assert info.value.status == status
    return info.value.message


async def test_whisper_output_shape_and_timings() -> None:
    audio = make_wav(6.0)
    out = await Simulator().run("@cf/openai/whisper", {"audio": list(audio)})
    assert isinstance(out, dict) and set(out) == {"text", "word_count", "words", "vtt"}
    assert out["word_count"] == len(out["words"]) == 15  # 2.5 words a second
    assert out["text"] == " ".join(w["word"] for w in out["words"])
    assert all(0 <= w["start"] < w["end"] <= 6.0 for w in out["words"])
    cues = parse_vtt(out["vtt"])
    assert out["vtt"].startswith("WEBVTT") and cues[0][0] == 0.0 and cues[-1][1] <= 6.0
    assert " ".join(c[2] for c in cues) == out["text"]
    again = await Simulator().run("@cf/openai/whisper", {"audio": list(audio)})
    assert again == out  # deterministic


async def test_turbo_output_shape() -> None:
    audio = make_wav(9.0, comment="lang=ja")
    out = await Simulator().run(TURBO, {"audio": base64.b64encode(audio).decode(), "prefix": "Well,"})
    assert isinstance(out, dict)
    assert set(out) == {"transcription_info", "text", "word_count", "segments", "vtt"}
    assert out["transcription_info"] == {"language": "ja", "language_probability": 0.97, "duration": 9.0,
                                         "duration_after_vad": 9.0}
    assert out["text"].startswith("Well,")
    seg = out["segments"][0]
    assert set(seg) == {"start", "end", "text", "temperature", "avg_logprob", "compression_ratio",
                        "no_speech_prob", "words"}
    assert sum(len(s["words"]) for s in out["segments"]) == out["word_count"]
    translated = await Simulator().run(TURBO, {"audio": base64.b64encode(audio).decode(), "task": "translate"})
    assert translated["transcription_info"]["language"] == "ja" and translated["text"].isascii()


async def test_turbo_takes_body_and_content_type() -> None:
    out = await Simulator().run(TURBO, {"audio": {"body": make_wav(1.0), "contentType": "audio/wav"}})
    assert isinstance(out, dict) and out["transcription_info"]["duration"] == 1.0


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        ("@cf/openai/whisper", {}),
        ("@cf/openai/whisper", {"audio": "AAAA"}),
        ("@cf/openai/whisper", {"audio": [1, 2, 300]}),
        (TURBO, {}),
        (TURBO, {"audio": "not base64!"}),
        (TURBO, {"audio": base64.b64encode(make_wav(1.0)).decode(), "task": "dance"}),
        (TURBO, {"audio": base64.b64encode(make_wav(1.0)).decode(), "vad_filter": "yes"}),
        (TURBO, {"audio": base64.b64encode(b"junk").decode()}),
        ("@cf/deepgram/nova-3", {"audio": base64.b64encode(make_wav(1.0)).decode()}),
        ("@cf/deepgram/nova-3", {"audio": {"body": make_wav(1.0), "contentType": "audio/wav"}, "language": 1}),
        ("@cf/meta/m2m100-1.2b", {"text": "hola"}),
        ("@cf/myshell-ai/melotts", {"prompt": ""}),
        ("@cf/deepgram/aura-1", {"text": "hi", "speaker": "apollo"}),
        ("@cf/deepgram/aura-1", {"text": "hi", "encoding": "wma"}),
        ("@cf/deepgram/aura-1", {"text": "hi", "container": "mp4"}),
        ("@cf/deepgram/aura-2-en", {"speaker": "apollo"}),
    ],
)
async def test_invalid_inputs_are_400(model: str, inputs: dict[str, Any]) -> None:
    await fails(Simulator(), model, inputs)


async def test_nova_3_shape() -> None:
    audio = {"body": make_wav(2.0), "contentType": "audio/wav"}
    out = await Simulator().run("@cf/deepgram/nova-3", {"audio": audio, "smart_format": True, "detect_language": True})
    assert isinstance(out, dict)
    channel = out["results"]["channels"][0]
    best = channel["alternatives"][0]
    assert set(best) == {"transcript", "confidence", "words"} and channel["detected_language"] == "en"
    assert best["transcript"] == " ".join(w["punctuated_word"] for w in best["words"])
    plain = await Simulator().run("@cf/deepgram/nova-3", {"audio": audio})
    assert "punctuated_word" not in plain["results"]["channels"][0]["alternatives"][0]["words"][0]


async def test_m2m100_and_indictrans() -> None:
    sim = Simulator()
    assert await sim.run("@cf/meta/m2m100-1.2b", {"text": "hola", "source_lang": "es", "target_lang": "en"}) == {
        "translated_text": "[en] hola"}
    out = await sim.run("@cf/ai4bharat/indictrans2-en-indic-1B", {"text": ["a", "b"], "target_language": "hin_Deva"})
    assert out == {"translations": ["[hin_Deva] a", "[hin_Deva] b"]}
    await fails(sim, "@cf/meta/m2m100-1.2b", {"text": "fail:503", "target_lang": "en"}, 503)


async def test_tts_outputs() -> None:
    sim = Simulator()
    melo = await sim.run("@cf/myshell-ai/melotts", {"prompt": "one two three four five"})
    assert isinstance(melo, dict) and base64.b64decode(melo["audio"]) == silent_mp3(2.0)
    wav = await sim.run("@cf/deepgram/aura-1", {"text": "one two three four five", "encoding": "linear16"})
    assert isinstance(wav, bytes) and wav_duration(wav) == 2.0
    mulaw = await sim.run("@cf/deepgram/aura-1", {"text": "a b c d e", "encoding": "mulaw", "container": "wav"})
    assert isinstance(mulaw, bytes) and wav_duration(mulaw) == 2.0


def test_audio_inspection() -> None:
    facts = inspect(make_wav(1.5, comment="lang=fr;fail=500"))
    assert facts is not None and facts.duration == 1.5 and facts.exact
    assert facts.tags == {"lang": "fr", "fail": "500"}
    mp3 = inspect(silent_mp3(3.0))
    assert mp3 is not None and mp3.format == "mp3" and mp3.duration == pytest.approx(3.0, abs=0.05)
    assert inspect(b"OggS" + bytes(16_000)).format == "ogg"  # type: ignore[union-attr]
    assert inspect(b"hello world") is None
    assert wav_duration(b"hello") is None


@pytest.fixture
async def rest_ai() -> AsyncIterator[RestAI]:
    async with rest_ai_over(create_rest_app(token="t"), token="t", account="acct") as ai:
        yield ai


async def test_rest_binary_input_for_nova_3(rest_ai: RestAI) -> None:
    audio = make_wav(2.0, comment="lang=fr")
    out = await rest_ai.run("@cf/deepgram/nova-3", {"audio": {"body": bytearray(audio), "contentType": "audio/wav"},
                                                    "smart_format": True, "language": "fr"})
    assert isinstance(out, dict)
    words = out["results"]["channels"][0]["alternatives"][0]["words"]
    assert words and "punctuated_word" in words[0]  # the boolean query parameter arrived as a boolean


async def test_rest_json_and_binary_outputs(rest_ai: RestAI) -> None:
    out = await rest_ai.run(TURBO, {"audio": base64.b64encode(make_wav(1.0)).decode()})
    assert isinstance(out, dict) and out["transcription_info"]["duration"] == 1.0
    audio = await rest_ai.run("@cf/deepgram/aura-1", {"text": "hello", "encoding": "mp3"})
    assert isinstance(audio, bytes) and audio[:2] == b"\xff\xf3"
    with pytest.raises(UpstreamError) as info:
        await rest_ai.run("@cf/openai/whisper", {"audio": "x"})
    assert info.value.status == 400


async def test_the_local_server_simulator_keeps_no_inputs() -> None:
    sim = Simulator(keep_calls=0)
    await sim.run(TURBO, {"audio": base64.b64encode(make_wav(1.0)).decode()})
    assert sim.calls == []
    two = Simulator(keep_calls=2)
    for text in ("a", "b", "c"):
        await two.run("@cf/meta/m2m100-1.2b", {"text": text, "target_lang": "en"})
    assert [inputs["text"] for _, inputs in two.calls] == ["b", "c"]
