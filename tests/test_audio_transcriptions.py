"""``POST /v1/audio/transcriptions``: every field, format and error, in-process over the simulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from openai_workers_ai.ports import Base64Bytes
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.translate import audio
from openai_workers_ai.translate.subtitles import parse_vtt

from .audio import make_wav
from .openapi import assert_matches

URL = "/v1/audio/transcriptions"


async def transcribe(
    client: httpx.AsyncClient, audio: bytes | None = None, *, filename: str = "speech.wav",
    content_type: str = "audio/wav", **fields: Any,
) -> httpx.Response:
    fields.setdefault("model", "whisper-1")
    files = {"file": (filename, make_wav(3.0) if audio is None else audio, content_type)}
    return await client.post(URL, files=files, data=fields)


def clock(seconds: float, sep: str) -> str:
    whole, ms = divmod(round(seconds * 1000), 1000)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}{sep}{ms:03d}"


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]  # type: ignore[no-any-return]


async def test_json_default(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await transcribe(client, make_wav(4.2))
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseJson")
    assert body["text"] and body["text"][0].isupper()
    assert body["usage"] == {"type": "duration", "seconds": 5}
    model, inputs = simulator.calls[-1]
    assert model == "@cf/openai/whisper-large-v3-turbo"
    # The core hands the bytes on as Base64Bytes; each adapter sends them as base64 text.
    assert isinstance(inputs["audio"], Base64Bytes)
    assert base64.b64decode(inputs["audio"].text()) == make_wav(4.2)
    assert inputs["task"] == "transcribe" and "language" not in inputs


async def test_verbose_json_segments_by_default(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, make_wav(7.3), response_format="verbose_json")
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseVerboseJson")
    assert body["task"] == "transcribe" and body["language"] == "english" and body["duration"] == 7.3
    assert "words" not in body
    segments = body["segments"]
    assert [s["id"] for s in segments] == list(range(len(segments))) and len(segments) >= 2
    assert all(0 <= s["start"] < s["end"] <= 7.3 for s in segments)
    assert "".join(s["text"] for s in segments).strip() == body["text"]


async def test_verbose_json_words_and_segments(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, make_wav(5.0), response_format="verbose_json",
                         **{"timestamp_granularities[]": ["word", "segment"]})
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseVerboseJson")
    words = body["words"]
    assert " ".join(w["word"] for w in words) == " ".join(audio.bare_word(w) for w in body["text"].split())
    assert all(0 <= w["start"] < w["end"] <= 5.0 for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    assert body["segments"]
    # segments before words, as openai/openai-dotnet tests/SessionRecords/TranscriptionTests/
    # TimestampsWork(Word, Segment).json has them
    assert list(body) == ["task", "language", "duration", "text", "segments", "words", "usage"]


async def test_verbose_json_words_carry_no_punctuation(client: httpx.AsyncClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenAI's words drop the text's punctuation: openai/openai-dotnet tests/SessionRecords/TranscriptionTests/
    # TimestampsWork(Word, Segment).json answers "text": "Hello, world. This is a test." with the words
    # "Hello", "world", "This", "is", "a", "test"; an apostrophe inside a word stays ("don't").
    from openai_workers_ai.simulator import HANDLERS

    said = "Hello, world. Don't \u2014 \"test\"!"
    words = [{"word": w, "start": i * 0.5, "end": i * 0.5 + 0.4} for i, w in enumerate(said.split())]

    def whisper(info, inputs):  # noqa: ANN001, ANN202
        return {"text": said, "word_count": len(words), "words": words, "vtt": ""}

    monkeypatch.setitem(HANDLERS, "automatic-speech-recognition", whisper)
    body = (await transcribe(client, make_wav(3.0), model="@cf/openai/whisper", response_format="verbose_json",
                             **{"timestamp_granularities[]": ["word", "segment"]})).json()
    assert [w["word"] for w in body["words"]] == ["Hello", "world", "Don't", "test"]
    assert [w["start"] for w in body["words"]] == [0.0, 0.5, 1.0, 2.0]
    assert body["text"] == said and "".join(s["text"] for s in body["segments"]).strip() == said


async def test_verbose_json_words_only(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, response_format="verbose_json", **{"timestamp_granularities[]": "word"})
    body = r.json()
    assert body["words"] and "segments" not in body


async def test_text_srt_vtt_are_plain_text(client: httpx.AsyncClient) -> None:
    verbose = (await transcribe(client, make_wav(6.0), response_format="verbose_json")).json()
    text = await transcribe(client, make_wav(6.0), response_format="text")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == verbose["text"] + "\n"
    srt = (await transcribe(client, make_wav(6.0), response_format="srt")).text
    blocks = srt.strip().split("\n\n")
    assert len(blocks) == len(verbose["segments"])
    for i, (block, segment) in enumerate(zip(blocks, verbose["segments"], strict=True), start=1):
        number, times, line = block.split("\n")
        assert number == str(i) and line == segment["text"].strip()
        assert times == f"{clock(segment['start'], ',')} --> {clock(segment['end'], ',')}"
    # OpenAI's SRT ends with one more line break after the last cue's blank line (openai/openai-dotnet
    # tests/SessionRecords/TranscriptionTests/TranscriptionFormatsWork(%srt%).json: Content-Length 64 for one cue)
    assert srt.endswith(verbose["segments"][-1]["text"].strip() + "\n\n\n")
    vtt = (await transcribe(client, make_wav(6.0), response_format="vtt")).text
    first = verbose["segments"][0]
    assert vtt.startswith(f"WEBVTT\n\n{clock(first['start'], '.')} --> {clock(first['end'], '.')}\n")
    cues = parse_vtt(vtt)
    assert [(c[0], c[1]) for c in cues] == [(s["start"], s["end"]) for s in verbose["segments"]]


async def test_language_prompt_and_chunking_reach_the_model(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await transcribe(client, language="fr", prompt="Café, passerelle.", chunking_strategy="auto",
                         response_format="verbose_json")
    assert r.json()["language"] == "french"
    inputs = simulator.calls[-1][1]
    assert inputs["language"] == "fr" and inputs["initial_prompt"] == "Café, passerelle."
    assert inputs["vad_filter"] is True


async def test_detected_language_is_reported(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, make_wav(3.0, comment="lang=de"), response_format="verbose_json")
    assert r.json()["language"] == "german"


async def test_temperature_is_validated(client: httpx.AsyncClient) -> None:
    assert (await transcribe(client, temperature="0.4")).status_code == 200
    error = error_of(await transcribe(client, temperature="1.5"), 400)
    assert error["param"] == "temperature"


@pytest.mark.parametrize(
    ("fields", "message", "code"),
    [
        ({"response_format": "xml"}, "Invalid value: 'xml'. Supported values are: 'json', 'text', 'srt', "
         "'verbose_json', 'vtt', and 'diarized_json'.", "invalid_value"),
        ({"temperature": "1.5"}, "Invalid 'temperature': decimal above maximum value. Expected a value <= 1, but got "
         "1.5 instead.", "decimal_above_max_value"),
        ({"temperature": "-1"}, "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got "
         "-1 instead.", "decimal_below_min_value"),
        ({"temperature": "warm"}, "Invalid type for 'temperature': expected a decimal, but got a string instead.",
         "invalid_type"),
    ],
)
async def test_form_fields_are_refused_in_openais_words(client: httpx.AsyncClient, fields: dict[str, str],
                                                       message: str, code: str) -> None:
    # The form is checked by the door's model; its errors are worded and coded as OpenAI's spec rules are
    # (docs/validation.md's table), not in pydantic's words ("Input should be 'json', 'text' …").
    error = error_of(await transcribe(client, **fields), 400)
    assert (error["message"], error["code"]) == (message, code)
    error = error_of(await client.post("/v1/audio/translations", data={"model": "whisper-1", **fields},
                                       files={"file": ("a.wav", make_wav(1.0), "audio/wav")}), 400)
    assert error["code"] == code


@pytest.mark.parametrize("model", ["@cf/openai/whisper", "@cf/openai/whisper-tiny-en"])
async def test_whisper_byte_array_models(client: httpx.AsyncClient, simulator: Simulator, model: str) -> None:
    r = await transcribe(client, make_wav(5.0), model=model, response_format="verbose_json",
                         **{"timestamp_granularities[]": ["word", "segment"]})
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseVerboseJson")
    inputs = simulator.calls[-1][1]
    assert set(inputs) == {"audio"} and bytes(inputs["audio"]) == make_wav(5.0)
    assert body["duration"] == 5.0 and body["segments"] and body["words"]
    assert body["language"] == ("english" if model.endswith("-en") else "unknown")


async def test_tiny_en_refuses_other_languages(client: httpx.AsyncClient) -> None:
    error = error_of(await transcribe(client, model="@cf/openai/whisper-tiny-en", language="fr"), 400)
    assert error["param"] == "language"


async def test_nova_3(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await transcribe(client, make_wav(4.0, comment="lang=es"), model="@cf/deepgram/nova-3",
                         response_format="verbose_json", **{"timestamp_granularities[]": ["word", "segment"]})
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseVerboseJson")
    assert body["language"] == "spanish" and body["words"][0]["word"][0].isupper()
    inputs = simulator.calls[-1][1]
    assert inputs["audio"]["contentType"] == "audio/wav" and bytes(inputs["audio"]["body"]) == make_wav(
        4.0, comment="lang=es")
    assert inputs["detect_language"] is True and inputs["smart_format"] is True
    r = await transcribe(client, model="@cf/deepgram/nova-3", language="en-GB")
    assert r.status_code == 200 and simulator.calls[-1][1]["language"] == "en-GB"


async def test_silence_is_an_empty_transcript(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, make_wav(2.0, silent=True), response_format="verbose_json")
    assert r.json()["text"] == "" and r.json()["segments"] == []
    assert (await transcribe(client, make_wav(2.0, silent=True), response_format="srt")).text == ""


async def test_stream_events(client: httpx.AsyncClient) -> None:
    plain = (await transcribe(client, make_wav(6.0), model="gpt-4o-transcribe")).json()["text"]
    r = await transcribe(client, make_wav(6.0), model="gpt-4o-transcribe", stream="true")
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")]
    for event in events:
        assert_matches(event, "CreateTranscriptionResponseStreamEvent")
    assert [e["type"] for e in events][-1] == "transcript.text.done" and len(events) >= 3
    assert "".join(e["delta"] for e in events[:-1]) == events[-1]["text"] == plain


async def test_stream_falls_back_to_one_delta(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from openai_workers_ai.simulator import HANDLERS

    def odd(info, inputs):  # noqa: ANN001, ANN202 - segments that do not add up to the text
        return {"text": "Hello, world.", "segments": [{"start": 0, "end": 1, "text": " Hello"},
                                                       {"start": 1, "end": 2, "text": " world"}]}

    monkeypatch.setitem(HANDLERS, "automatic-speech-recognition", odd)
    r = await transcribe(client, model="gpt-4o-transcribe", stream="true")
    events = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")]
    usage = {"type": "tokens", "input_tokens": 30, "input_token_details": {"text_tokens": 0, "audio_tokens": 30},
             "output_tokens": 4, "total_tokens": 34}  # 3 s at 10 a second; "Hello, world.": 13 characters
    assert events == [{"type": "transcript.text.delta", "delta": "Hello, world."},
                      {"type": "transcript.text.done", "text": "Hello, world.", "usage": usage}]


def estimated(text: str) -> int:
    return (len(text) + 3) // 4  # the gateway's estimate: ~4 characters a token


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "GPT-4o-Mini-Transcribe-2025-12-15",
                                   "gpt-transcribe"])
async def test_token_billed_models_report_tokens(client: httpx.AsyncClient, model: str) -> None:
    # OpenAI bills these by tokens, and says so in `usage`; here the counts are estimates.
    prompt = "Spell it Zürich."
    r = await transcribe(client, make_wav(4.2), model=model, prompt=prompt, keywords=["Basel"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseJson")
    text_tokens = estimated("Basel " + prompt)
    # in OpenAI's order: openai/openai-dotnet tests/SessionRecords/TranscriptionTests/
    # TranscriptionUsageWorks(%gpt-4o-mini-transcribe%).json
    assert list(body["usage"]) == ["type", "total_tokens", "input_tokens", "input_token_details", "output_tokens"]
    assert body["usage"] == {
        "type": "tokens", "input_tokens": 42 + text_tokens,
        "input_token_details": {"text_tokens": text_tokens, "audio_tokens": 42},  # 4.2 s at 10 a second
        "output_tokens": estimated(body["text"]), "total_tokens": 42 + text_tokens + estimated(body["text"]),
    }
    assert (await transcribe(client, make_wav(4.2), model=model)).json()["usage"]["input_token_details"] == {
        "text_tokens": 0, "audio_tokens": 42}


@pytest.mark.parametrize("model", ["gpt-transcribe", "GPT-Transcribe-2026-03-01"])
async def test_gpt_transcribe_reports_the_languages_it_heard(client: httpx.AsyncClient, model: str) -> None:
    """The spec (2026-08-21) and the client's ``Transcription.languages`` / ``TranscriptionTextDoneEvent.languages``:
    "The languages detected in the audio. Returned by `gpt-transcribe`. An empty array indicates that no language
    could be reliably detected." — in the JSON answer and in the stream's done event; other names have none."""
    r = await transcribe(client, make_wav(3.0, comment="lang=sv"), model=model)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateTranscriptionResponseJson")
    assert body["languages"] == [{"code": "sv"}]
    r = await transcribe(client, make_wav(3.0, comment="lang=fr"), model=model, stream="true")
    done = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")][-1]
    assert_matches(done, "TranscriptTextDoneEvent")
    assert done["type"] == "transcript.text.done" and done["languages"] == [{"code": "fr"}]
    for other in ("whisper-1", "gpt-4o-transcribe"):
        assert "languages" not in (await transcribe(client, make_wav(3.0), model=other)).json()


@pytest.mark.parametrize("model", ["whisper-1", "@cf/openai/whisper-large-v3-turbo", "@cf/openai/whisper"])
async def test_other_models_report_duration(client: httpx.AsyncClient, model: str) -> None:
    prompt = {"prompt": "x"} if model == "whisper-1" else {}  # @cf/openai/whisper takes none
    body = (await transcribe(client, make_wav(4.2), model=model, **prompt)).json()
    assert body["usage"] == {"type": "duration", "seconds": 5}


async def test_verbose_json_usage_is_duration(client: httpx.AsyncClient) -> None:
    # verbose_json's schema (and the client's TranscriptionVerbose) has only the duration usage
    body = (await transcribe(client, make_wav(4.2), model="gpt-4o-transcribe", response_format="verbose_json")).json()
    assert_matches(body, "CreateTranscriptionResponseVerboseJson")
    assert body["usage"] == {"type": "duration", "seconds": 5}


async def test_streamed_usage(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, make_wav(6.0), model="gpt-4o-mini-transcribe", stream="true")
    done = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")][-1]
    assert done["usage"]["type"] == "tokens" and done["usage"]["input_token_details"]["audio_tokens"] == 60
    assert done["usage"]["output_tokens"] == estimated(done["text"])
    # as the done event of openai/openai-dotnet tests/SessionRecords/TranscriptionTests/
    # StreamingTranscriptionWorks(UsingFilePath).json orders it
    assert list(done["usage"]) == ["type", "total_tokens", "input_tokens", "input_token_details", "output_tokens"]
    # The done event's usage is the token kind only: a model billed by duration streams none.
    r = await transcribe(client, make_wav(6.0), model="@cf/openai/whisper-large-v3-turbo", stream="true")
    done = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")][-1]
    assert done["type"] == "transcript.text.done" and "usage" not in done


async def test_stream_is_ignored_for_whisper_1(client: httpx.AsyncClient) -> None:
    r = await transcribe(client, stream="true")
    assert r.headers["content-type"] == "application/json" and r.json()["text"]


async def test_stream_needs_json_or_text(client: httpx.AsyncClient) -> None:
    error = error_of(await transcribe(client, model="@cf/openai/whisper", stream="true", response_format="srt"), 400)
    assert error["param"] == "stream"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "xml"}, "response_format"),
        ({"response_format": "diarized_json"}, "response_format"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities"),
        ({"timestamp_granularities[]": "token", "response_format": "verbose_json"}, "timestamp_granularities[0]"),
        ({"include[]": "logprobs"}, "include"),
        ({"language": "klingon"}, "language"),
        ({"model": "@cf/meta/llama-3.1-8b-instruct"}, "model"),
        ({"model": "@cf/deepgram/flux"}, "model"),
        ({"surprise": "1"}, "surprise"),
    ],
)
async def test_bad_fields(client: httpx.AsyncClient, fields: dict[str, str], param: str) -> None:
    assert error_of(await transcribe(client, **fields), 400)["param"] == param


async def test_unknown_model_is_404(client: httpx.AsyncClient) -> None:
    assert error_of(await transcribe(client, model="whisper-9"), 404)["code"] == "model_not_found"


async def test_missing_file_and_model(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, data={"model": "whisper-1"}, files={"other": ("x.txt", b"x", "text/plain")})
    assert error_of(r, 400)["param"] == "file"
    r = await client.post(URL, files={"file": ("a.wav", make_wav(1.0), "audio/wav")})
    assert error_of(r, 400)["param"] == "model"
    r = await client.post(URL, data={"model": "whisper-1", "file": "speech.wav"},
                          files={"other": ("x.txt", b"x", "text/plain")})
    error = error_of(r, 400)
    assert error["param"] == "file" and "file upload" in error["message"]


async def test_not_multipart(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "whisper-1"})
    assert "multipart/form-data" in error_of(r, 400)["message"]


@pytest.mark.parametrize(("filename", "content_type"), [("notes.txt", "text/plain"), ("blob", "application/pdf")])
async def test_wrong_file_type(client: httpx.AsyncClient, filename: str, content_type: str) -> None:
    error = error_of(await transcribe(client, b"hello", filename=filename, content_type=content_type), 400)
    assert error["param"] == "file" and error["message"].startswith("Invalid file format. Supported formats:")


async def test_format_from_content_type_without_extension(client: httpx.AsyncClient) -> None:
    assert (await transcribe(client, filename="recording", content_type="audio/x-wav")).status_code == 200


async def test_empty_and_too_short_audio(client: httpx.AsyncClient) -> None:
    assert error_of(await transcribe(client, b""), 400)["param"] == "file"
    error = error_of(await transcribe(client, make_wav(0.05)), 400)
    assert error["code"] == "audio_too_short"


async def test_undecodable_audio_is_a_400(client: httpx.AsyncClient) -> None:
    error = error_of(await transcribe(client, b"definitely not audio", filename="x.mp3"), 400)
    assert "decoded" in error["message"]


async def test_upstream_failures_keep_their_status(client: httpx.AsyncClient) -> None:
    error = error_of(await transcribe(client, make_wav(1.0, comment="fail=503")), 503)
    assert error["type"] == "server_error"
    assert error_of(await transcribe(client, make_wav(1.0, comment="fail=429")), 429)["type"] == "requests"


async def test_too_large_is_413(app, client: httpx.AsyncClient, settings: Settings) -> None:  # noqa: ANN001
    import dataclasses

    app.state.ctx = dataclasses.replace(app.state.ctx, settings=dataclasses.replace(settings, max_audio_bytes=50_000))
    r = await transcribe(client, make_wav(2.0))  # 64 kB
    assert error_of(r, 413)["code"] == "payload_too_large"
    assert (await transcribe(client, make_wav(1.0))).status_code == 200


async def test_openai_mount(client: httpx.AsyncClient) -> None:
    r = await client.post("/llm/openai/v1/audio/transcriptions", data={"model": "whisper-1"},
                          files={"file": ("a.wav", make_wav(1.0), "audio/wav")})
    assert r.status_code == 200 and r.json()["text"]


async def test_per_word_vtt_cues_become_sentences(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from openai_workers_ai.simulator import HANDLERS

    words = [{"word": w, "start": i * 0.5, "end": i * 0.5 + 0.4} for i, w in enumerate("Hi there. Bye now.".split())]
    vtt = "WEBVTT\n\n" + "".join(f"00:0{w['start']:.3f} --> 00:0{w['end']:.3f}\n {w['word']}\n\n" for w in words)

    def whisper(info, inputs):  # noqa: ANN001, ANN202 - one VTT cue per word
        return {"text": "Hi there. Bye now.", "word_count": 4, "words": words, "vtt": vtt}

    monkeypatch.setitem(HANDLERS, "automatic-speech-recognition", whisper)
    body = (await transcribe(client, make_wav(2.0), model="@cf/openai/whisper", response_format="verbose_json")).json()
    assert [(s["start"], s["end"], s["text"]) for s in body["segments"]] == [
        (0.0, 0.9, " Hi there."), (1.0, 1.9, " Bye now.")]


# ---- what OpenAI's client 3.63.0 sends: keywords, languages, known speakers ------------------------------


async def test_one_possible_language_is_the_language(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await transcribe(client, **{"languages[]": ["fr"]})
    assert r.status_code == 200, r.text
    assert simulator.calls[-1][1]["language"] == "fr"
    # Several: the model detects the language, as with none; `language` wins over them.
    assert (await transcribe(client, **{"languages[]": ["fr", "de"]})).status_code == 200
    assert "language" not in simulator.calls[-1][1]
    assert (await transcribe(client, language="es", **{"languages[]": ["fr"]})).status_code == 200
    assert simulator.calls[-1][1]["language"] == "es"
    r = await transcribe(client, model="@cf/deepgram/nova-3", **{"languages[]": ["pt-BR"]})
    assert r.status_code == 200 and simulator.calls[-1][1]["language"] == "pt-BR"
    error = error_of(await transcribe(client, **{"languages[]": ["fr", "klingon"]}), 400)
    assert (error["param"], error["code"]) == ("languages", "invalid_language_format")


async def test_keywords_guide_whisper_and_nova(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # Whisper large-v3-turbo: the words lead its initial_prompt (how Whisper is told spellings), then the prompt.
    r = await transcribe(client, prompt="Earlier: the demo.", **{"keywords[]": ["Zorblax", "Cloudflare Workers"]})
    assert r.status_code == 200, r.text
    assert simulator.calls[-1][1]["initial_prompt"] == "Zorblax, Cloudflare Workers Earlier: the demo."
    # Nova-3: its keyterm, which is one string.
    r = await transcribe(client, model="@cf/deepgram/nova-3", **{"keywords[]": ["Zorblax"]})
    assert r.status_code == 200 and simulator.calls[-1][1]["keyterm"] == "Zorblax"
    error = error_of(await transcribe(client, model="@cf/deepgram/nova-3", **{"keywords[]": ["a", "b"]}), 400)
    assert error["param"] == "keywords" and "one key term" in error["message"]
    error = error_of(await transcribe(client, model="@cf/openai/whisper", **{"keywords[]": ["a"]}), 400)
    assert error["param"] == "keywords" and "is not supported here" in error["message"]


@pytest.mark.parametrize("name", ["known_speaker_names", "known_speaker_references"])
async def test_known_speakers_are_refused_by_name(client: httpx.AsyncClient, name: str) -> None:
    error = error_of(await transcribe(client, **{f"{name}[]": ["agent"]}), 400)
    assert (error["param"], error["type"]) == (name, "invalid_request_error")
    assert "is not supported here" in error["message"]
