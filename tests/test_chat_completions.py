"""``POST /v1/chat/completions``: the spine's behaviour, in-process over the simulator."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .conftest import KEY
from .openapi import assert_matches
from .test_chat_upstream_shapes import usage

URL = "/v1/chat/completions"
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # what the alias gpt-4o-mini names


def sse_payloads(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


async def chat(client: httpx.AsyncClient, content: Any = "echo: hi", **fields: Any) -> httpx.Response:
    body = {"model": LLAMA, "messages": user(content), **fields}
    return await client.post(URL, json=body)


async def ok(client: httpx.AsyncClient, content: Any = "echo: hi", **fields: Any) -> dict[str, Any]:
    r = await chat(client, content, **fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateChatCompletionResponse")
    return body


async def stream_chunks(client: httpx.AsyncClient, content: Any, **fields: Any) -> list[dict[str, Any]]:
    r = await chat(client, content, stream=True, **fields)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    payloads = sse_payloads(r.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    for chunk in chunks:
        assert_matches(chunk, "CreateChatCompletionStreamResponse")
    return chunks


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def finish_of(chunks: list[dict[str, Any]]) -> str | None:
    reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(reasons) == 1, reasons
    return reasons[0]


def error_of(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert_matches(body, "ErrorResponse")
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


# ---- responses --------------------------------------------------------------


async def test_non_streaming_matches_openai_schema(client: httpx.AsyncClient) -> None:
    body = await ok(client, "echo: hello there", model="gpt-4o-mini")
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["model"] == SCOUT
    assert body["choices"][0]["message"] == {
        "role": "assistant", "content": "hello there", "refusal": None, "annotations": []
    }
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == usage(3, 2)


@pytest.mark.parametrize("tier", [None, "auto", "default", "flex", "priority"])
async def test_the_service_tier_that_served_is_reported(client: httpx.AsyncClient, tier: str | None) -> None:
    """OpenAI's ServiceTier: the response includes "the service_tier value based on the processing mode
    actually used to serve the request", which may differ from the one asked for; its API reference's chat
    completion example, asking none, answers "default". Workers AI has one mode: the standard one."""
    fields = {} if tier is None else {"service_tier": tier}
    assert (await ok(client, **fields))["service_tier"] == "default"
    chunks = await stream_chunks(client, "echo: a b", stream_options={"include_usage": True}, **fields)
    assert {c["service_tier"] for c in chunks} == {"default"}


async def test_system_fingerprint_is_null_and_present(client: httpx.AsyncClient) -> None:
    """OpenAI sends ``system_fingerprint`` on every completion and every chunk, ``null`` where it has no
    fingerprint to give (pydantic/pydantic-ai, tests/models/cassettes/test_openai/
    test_openai_text_verbosity_chat_completions.yaml, recorded 2026-10-02: ``service_tier: default``,
    ``system_fingerprint: null`` last; test_openai_moderation_stream.yaml, 2026-07: every chunk
    ``…,"service_tier":"default","system_fingerprint":null,"choices":…``). Workers AI gives none."""
    body = await ok(client)
    assert list(body) == ["id", "object", "created", "model", "choices", "usage", "service_tier",
                          "system_fingerprint"]
    assert body["system_fingerprint"] is None
    for options in (None, {"include_usage": True}):
        fields = {} if options is None else {"stream_options": options}
        chunks = await stream_chunks(client, "echo: a b", **fields)
        for chunk in chunks:
            assert list(chunk)[:7] == ["id", "object", "created", "model", "service_tier", "system_fingerprint",
                                       "choices"]
            assert chunk["system_fingerprint"] is None


async def test_prompt_tokens_details_carry_cache_write_tokens(client: httpx.AsyncClient) -> None:
    """OpenAI's usage names the prompt tokens written to its cache, 0 where none were: recordings of its
    chat completions from 2026-08 on show ``"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0,
    "audio_tokens":0}`` (pydantic/pydantic-ai, tests/models/cassettes/test_openai/
    test_openai_text_verbosity_chat_completions.yaml, recorded 2026-10-02), and the spec (2026-08-21) and the
    client (``PromptTokensDetails.cache_write_tokens``) have the field. Workers AI writes no prompt cache."""
    details = (await ok(client))["usage"]["prompt_tokens_details"]
    assert list(details) == ["cached_tokens", "cache_write_tokens", "audio_tokens"]
    assert details["cache_write_tokens"] == 0
    chunks = await stream_chunks(client, "echo: a b", stream_options={"include_usage": True})
    assert chunks[-1]["usage"]["prompt_tokens_details"] == details


@pytest.mark.parametrize("options", [None, {"include_usage": True}, {"include_obfuscation": True}])
async def test_chunks_carry_obfuscation_by_default(client: httpx.AsyncClient, options: Any) -> None:
    """OpenAI's chunk schema: the obfuscation field "is included by default and omitted when
    `stream_options.include_obfuscation` is `false`"."""
    fields = {} if options is None else {"stream_options": options}
    chunks = await stream_chunks(client, "echo: a b c", **fields)
    assert all(isinstance(c["obfuscation"], str) and c["obfuscation"] for c in chunks)
    assert content_of(chunks) == "a b c"


async def test_include_obfuscation_false_leaves_it_out(client: httpx.AsyncClient) -> None:
    chunks = await stream_chunks(client, "echo: a b c", stream_options={"include_obfuscation": False,
                                                                        "include_usage": True})
    assert not any("obfuscation" in c for c in chunks)
    assert content_of(chunks) == "a b c" and chunks[-1]["usage"]["completion_tokens"] == 3


async def test_created_is_in_seconds_and_ids_unique(client: httpx.AsyncClient) -> None:
    import time

    a, b = await ok(client), await ok(client)
    assert abs(a["created"] - time.time()) < 60
    assert a["id"] != b["id"]


async def test_stream_chunks_match_schema_and_end_with_done(client: httpx.AsyncClient) -> None:
    chunks = await stream_chunks(
        client, "echo: naïve café 日本語 🙂", model="gpt-4o-mini", stream_options={"include_usage": True}
    )
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert {c["id"] for c in chunks} == {chunks[0]["id"]} and chunks[0]["id"].startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == SCOUT for c in chunks)
    assert content_of(chunks) == "naïve café 日本語 🙂"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4


async def test_include_usage_puts_null_usage_on_other_chunks(client: httpx.AsyncClient) -> None:
    chunks = await stream_chunks(client, "echo: a b c", stream_options={"include_usage": True})
    assert all("usage" in c for c in chunks)
    assert all(c["usage"] is None for c in chunks[:-1])
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] == 3
    assert usage["total_tokens"] == usage["prompt_tokens"] + 3


@pytest.mark.parametrize("options", [None, {}, {"include_usage": False}])
async def test_no_usage_chunk_unless_asked(client: httpx.AsyncClient, options: Any) -> None:
    fields = {} if options is None else {"stream_options": options}
    chunks = await stream_chunks(client, "echo: a b c", **fields)
    assert all(c["choices"] for c in chunks)
    assert all("usage" not in c for c in chunks)
    assert finish_of(chunks) == "stop"


async def test_stream_content_equals_whole_answer(client: httpx.AsyncClient) -> None:
    whole = (await ok(client, "tell me something", seed=7))["choices"][0]["message"]["content"]
    chunks = await stream_chunks(client, "tell me something", seed=7)
    assert content_of(chunks) == whole and whole


# ---- request fields -----------------------------------------------------------


async def test_every_role_and_text_parts_reach_workers_ai(
    client: httpx.AsyncClient, simulator: Simulator
) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "developer", "content": [{"type": "text", "text": "dev "}, {"type": "text", "text": "rules"}]},
        {"role": "user", "content": "what is 2+2?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a":2,"b":2}'}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "4"},
        {"role": "assistant", "content": [{"type": "text", "text": "It is 4."}]},
        {"role": "user", "content": [{"type": "text", "text": "echo: "}, {"type": "text", "text": "thanks"}]},
    ]
    r = await client.post(URL, json={"model": LLAMA, "messages": messages})
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateChatCompletionResponse")
    assert r.json()["choices"][0]["message"]["content"] == "thanks"
    model, inputs = simulator.calls[-1]
    assert model == LLAMA
    sent = inputs["messages"]
    assert [m["role"] for m in sent] == ["system", "system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["content"] == "dev rules"
    assert sent[4]["content"] == "4"  # (tool-call plumbing: tests of the tools feature)
    assert sent[5]["content"] == "It is 4."


@pytest.mark.parametrize(
    ("name", "resolved"),
    [
        (LLAMA, LLAMA),  # catalog id
        ("@hf/nousresearch/hermes-2-pro-mistral-7b", "@hf/nousresearch/hermes-2-pro-mistral-7b"),
        ("gpt-4o-mini", SCOUT),  # alias
        ("GPT-4o-MINI", SCOUT),  # aliases are case-insensitive
        ("@CF/META/LLAMA-3.1-8B-INSTRUCT", LLAMA),  # so are catalog ids
    ],
)
async def test_model_names(client: httpx.AsyncClient, simulator: Simulator, name: str, resolved: str) -> None:
    body = await ok(client, model=name)
    assert body["model"] == resolved
    assert simulator.calls[-1][0] == resolved


async def test_uncatalogued_cf_id_is_passed_through(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # Not in our catalog: the gateway forwards it; Workers AI (the simulator) decides.
    r = await chat(client, model="@cf/acme/brand-new-model")
    assert simulator.calls[-1][0] == "@cf/acme/brand-new-model"
    assert error_of(r, 404)["code"] == "model_not_found"


async def test_configured_alias(simulator: Simulator, backends: Backends) -> None:
    settings = Settings(access_token=(KEY,), model_aliases={"my-model": LLAMA})
    transport = httpx.ASGITransport(app=create_app(backends, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        body = await ok(c, model="my-model")
    assert body["model"] == LLAMA


async def test_sampling_fields_are_forwarded(client: httpx.AsyncClient, simulator: Simulator) -> None:
    await ok(client, temperature=0.5, top_p=0.9, seed=42, frequency_penalty=0.5, presence_penalty=-0.5,
             max_tokens=50, user="u-1", metadata={"trace": "abc"}, store=True)
    inputs = simulator.calls[-1][1]
    assert inputs["temperature"] == 0.5 and inputs["top_p"] == 0.9 and inputs["seed"] == 42
    assert inputs["frequency_penalty"] == 0.5 and inputs["presence_penalty"] == -0.5
    assert inputs["max_tokens"] == 50
    # user and metadata are the gateway's business, not the model's
    assert "user" not in inputs and "metadata" not in inputs and "store" not in inputs


async def test_seed_makes_answers_reproducible(client: httpx.AsyncClient) -> None:
    def text(b: dict[str, Any]) -> str:
        return b["choices"][0]["message"]["content"]

    a = text(await ok(client, "write a poem", seed=1))
    assert a == text(await ok(client, "write a poem", seed=1))
    others = {text(await ok(client, "write a poem", seed=s)) for s in (2, 3, 4)}
    assert others - {a}


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_token_limit_finishes_with_length(client: httpx.AsyncClient, field: str) -> None:
    body = await ok(client, "echo: one two three four five", **{field: 3})
    choice = body["choices"][0]
    assert choice["message"]["content"] == "one two three"
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3


async def test_max_completion_tokens_limits_the_answer(client: httpx.AsyncClient) -> None:
    # with max_tokens too it is a 400, as at OpenAI (test_token_limits_and_logit_bias_are_refused_in_openai_s_words)
    body = await ok(client, "echo: one two three four five", max_completion_tokens=2)
    assert body["choices"][0]["message"]["content"] == "one two"


async def test_token_limit_in_a_stream(client: httpx.AsyncClient) -> None:
    chunks = await stream_chunks(client, "echo: one two three four five", max_completion_tokens=2)
    assert content_of(chunks) == "one two"
    assert finish_of(chunks) == "length"


# ---- stop sequences ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("three", "one two "),
        (["xyz", "four", "two"], "one "),
        (["e t"], "on"),  # spans two words
        (["nowhere"], "one two three four five"),
        ("", "one two three four five"),  # ([] is a 400: the spec's StopConfiguration has minItems 1)
    ],
)
async def test_stop_whole(client: httpx.AsyncClient, stop: Any, expected: str) -> None:
    body = await ok(client, "echo: one two three four five", stop=stop)
    assert body["choices"][0]["message"]["content"] == expected
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_stop_split_across_events_in_a_stream(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # The simulator streams one word per event: "e t" starts in "one" and ends in " two".
    r = await chat(client, "echo: one two three four five six seven eight", stream=True, stop=["e t", "zzz"])
    payloads = sse_payloads(r.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    deltas = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
    assert "".join(deltas) == "on"
    assert not any(d.endswith("o") for d in deltas)  # a stop's prefix is never sent
    assert finish_of(chunks) == "stop"
    # the gateway stopped reading Workers AI's stream and closed it
    record = simulator.streams[-1]
    assert record.closed and not record.finished
    await chat(client, "echo: one two three four five six seven eight", stream=True)
    whole = simulator.streams[-1]
    assert record.bytes_sent < whole.bytes_sent / 2


async def test_stop_in_a_stream_matches_whole_answer(client: httpx.AsyncClient) -> None:
    whole = (await ok(client, "a long story", seed=3))["choices"][0]["message"]["content"]
    words = whole.split()
    stop = words[2][1:] + " " + words[3][:2]  # spans two events
    cut = (await ok(client, "a long story", seed=3, stop=stop))["choices"][0]["message"]["content"]
    assert cut == whole[: whole.index(stop)]
    chunks = await stream_chunks(client, "a long story", seed=3, stop=[stop])
    assert content_of(chunks) == cut
    assert finish_of(chunks) == "stop"


async def test_stop_with_usage_in_a_stream(client: httpx.AsyncClient) -> None:
    chunks = await stream_chunks(client, "echo: one two three", stop="two", stream_options={"include_usage": True})
    assert content_of(chunks) == "one "
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] >= 1
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_five_stop_strings_are_refused(client: httpx.AsyncClient) -> None:
    r = await chat(client, stop=["a", "b", "c", "d", "e"])
    err = error_of(r, 400)
    assert err["param"] == "stop" and err["type"] == "invalid_request_error"


@pytest.mark.parametrize("stop", [5, [1, 2], {"a": "b"}])
async def test_stop_of_wrong_type(client: httpx.AsyncClient, stop: Any) -> None:
    assert error_of(await chat(client, stop=stop), 400)["param"].startswith("stop")


# ---- request errors ----------------------------------------------------------------


async def test_bad_json(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, content=b'{"model": "x", "messages": [', headers={"content-type": "application/json"})
    err = error_of(r, 400)
    assert err["type"] == "invalid_request_error" and "JSON" in err["message"]


@pytest.mark.parametrize("body", [b"", b"[]", b'"text"', b"null"])
async def test_body_not_an_object(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post(URL, content=body, headers={"content-type": "application/json"})
    error_of(r, 400)


async def test_wrong_content_type(client: httpx.AsyncClient) -> None:
    body = json.dumps({"model": LLAMA, "messages": user("hi")})
    r = await client.post(URL, content=body, headers={"content-type": "text/plain"})
    assert "Content-Type" in error_of(r, 400)["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
async def test_json_content_type_with_parameters(client: httpx.AsyncClient, content_type: str) -> None:
    body = json.dumps({"model": LLAMA, "messages": user("echo: ok")})
    r = await client.post(URL, content=body, headers={"content-type": content_type})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "ok"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": -1}, "max_completion_tokens"),
        ({"frequency_penalty": 3}, "frequency_penalty"),
        ({"presence_penalty": -3}, "presence_penalty"),
        ({"seed": "x"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"stream": "yes"}, "stream"),
        ({"stream": 1}, "stream"),
        ({"max_tokens": "5"}, "max_tokens"),
        ({"max_tokens": 5.5}, "max_tokens"),
        ({"temperature": "0.5"}, "temperature"),
        ({"stream_options": "yes"}, "stream_options"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"model": 5}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
        ({"messages": [{"role": "user", "content": [{"type": "bogus"}]}]}, "messages[0].content[0].type"),
    ],
)
async def test_invalid_fields_name_their_param(client: httpx.AsyncClient, fields: dict[str, Any], param: str) -> None:
    body = {"model": LLAMA, "messages": user("hi"), **fields}
    err = error_of(await client.post(URL, json=body), 400)
    assert err["param"] == param, err
    assert err["type"] == "invalid_request_error"


async def test_stream_options_need_stream(client: httpx.AsyncClient) -> None:
    for stream in (False, None):
        err = error_of(await chat(client, stream=stream, stream_options={"include_usage": True}), 400)
        assert err["param"] == "stream_options"
        assert err["message"] == "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    assert (await chat(client, stream_options=None)).status_code == 200


@pytest.mark.parametrize("seed", [0, -1, 2**40, 9_999_999_999])
async def test_any_integer_seed_is_accepted(client: httpx.AsyncClient, simulator: Simulator, seed: int) -> None:
    # Workers AI takes 1..9999999999 only; OpenAI any integer. Still reproducible.
    a = await ok(client, "a poem", seed=seed)
    sent = simulator.calls[-1][1]["seed"]
    assert 1 <= sent <= 9_999_999_999
    assert (await ok(client, "a poem", seed=seed))["choices"] == a["choices"]


async def test_unknown_top_level_field(client: httpx.AsyncClient) -> None:
    err = error_of(await chat(client, frobnicate=True), 400)
    assert err["param"] == "frobnicate"
    assert err["message"] == "Unrecognized request argument supplied: frobnicate"


async def test_prompt_cache_options_takes_the_clients_keys_only(client: httpx.AsyncClient) -> None:
    """``prompt_cache_options``: the keys the official client (3.63) lists for chat (``mode``, ``ttl``) are taken, and
    change nothing (there is no prompt cache); another is refused in chat's words for an unknown key, as the Responses
    API refuses one in its own."""
    taken = await ok(client, "echo: cached", prompt_cache_options={"mode": "explicit", "ttl": "30m"})
    assert taken["choices"][0]["message"]["content"] == "cached"
    err = error_of(await chat(client, prompt_cache_options={"ttl": "30m", "prewarm": True}), 400)
    assert err == {"message": "Unrecognized request argument supplied: prompt_cache_options.prewarm",
                   "type": "invalid_request_error", "param": "prompt_cache_options.prewarm", "code": None}


@pytest.mark.parametrize("missing", ["model", "messages"])
async def test_missing_required(client: httpx.AsyncClient, missing: str) -> None:
    body = {"model": LLAMA, "messages": user("hi")}
    del body[missing]
    err = error_of(await client.post(URL, json=body), 400)
    assert err["param"] == missing and "Missing required parameter" in err["message"]


async def test_unknown_model(client: httpx.AsyncClient, simulator: Simulator) -> None:
    err = error_of(await chat(client, model="gpt-9-ultra"), 404)
    assert err["code"] == "model_not_found" and err["param"] is None  # as OpenAI sends it
    assert "gpt-9-ultra" in err["message"]
    assert simulator.calls == []


async def test_model_of_another_task(client: httpx.AsyncClient) -> None:
    err = error_of(await chat(client, model="@cf/baai/bge-base-en-v1.5"), 400)
    assert err["param"] == "model"


async def test_too_large(backends: Backends) -> None:
    settings = Settings(access_token=(KEY,), max_json_bytes=200)
    transport = httpx.ASGITransport(app=create_app(backends, settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        assert (await chat(c, "echo: small")).status_code == 200
        err = error_of(await chat(c, "echo: " + "big " * 100), 413)
        assert err["code"] == "payload_too_large"

        async def chunked():  # no content-length: the limit holds while reading
            yield json.dumps({"model": LLAMA, "messages": user("x" * 500)}).encode()

        r = await c.post(URL, content=chunked(), headers={"content-type": "application/json"})
        error_of(r, 413)


# ---- Workers AI failures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [(400, 400, "invalid_request"), (403, 403, "model_terms_not_accepted"), (404, 404, "model_not_found"),
     (408, 504, "upstream_timeout"), (413, 413, "payload_too_large"), (429, 429, "rate_limit_exceeded"),
     (500, 502, "upstream_error"), (503, 503, "upstream_overloaded")],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_workers_ai_failures_are_mapped(
    client: httpx.AsyncClient, status: int, expected: int, code: str, stream: bool
) -> None:
    r = await chat(client, f"fail:{status}", stream=stream)
    err = error_of(r, expected)
    assert err["code"] == code
    assert err["message"].startswith("Workers AI: ")
    assert (r.headers.get("retry-after") is not None) == (expected == 429)


async def test_failure_after_the_stream_started_is_an_error_event(client: httpx.AsyncClient) -> None:
    r = await chat(client, "fail-mid:503", stream=True)
    assert r.status_code == 200
    frames = [f for f in r.text.split("\n\n") if f.strip()]
    # the content that was produced, then one error event, and the stream ends (no [DONE])
    chunks = [json.loads(f[6:]) for f in frames[:-1]]
    assert content_of(chunks) == "partial answer"
    assert frames[-1].startswith("event: error\ndata: ")
    error = json.loads(frames[-1].split("data: ", 1)[1])
    assert_matches(error, "ErrorResponse")
    assert error["error"]["code"] == "upstream_overloaded"
    assert "[DONE]" not in r.text


async def test_fail_mid_without_stream_fails_normally(client: httpx.AsyncClient) -> None:
    assert error_of(await chat(client, "fail-mid:429"), 429)["code"] == "rate_limit_exceeded"


async def test_prefix_llm_openai(client: httpx.AsyncClient) -> None:
    r = await client.post("/llm/openai/v1/chat/completions", json={"model": LLAMA, "messages": user("echo: yo")})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "yo"


# ---- upstream stream framing, through the whole app ------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3])
async def test_utf8_split_at_every_byte(backends: Backends, settings: Settings, chunk_size: int) -> None:
    sim = Simulator(chunk_size=chunk_size)
    app = create_app(Backends(ai=sim, db=backends.db, bucket=backends.bucket), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        chunks = await stream_chunks(c, "echo: 日本語 🙂🚀 naïve", stream_options={"include_usage": True})
    assert content_of(chunks) == "日本語 🙂🚀 naïve"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


class RawAI:
    """An AI binding that streams exactly the given bytes, in the given pieces."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        async def stream():  # noqa: ANN202
            for piece in self.pieces:
                yield piece

        return stream()


async def raw_stream_client(backends: Backends, settings: Settings, *pieces: bytes) -> list[dict[str, Any]]:
    app = create_app(Backends(ai=RawAI(*pieces), db=backends.db, bucket=backends.bucket), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        return await stream_chunks(c, "anything", stream_options={"include_usage": True})


async def test_crlf_comments_and_multiline_data_from_upstream(backends: Backends, settings: Settings) -> None:
    body = (': ping\r\n\r\n'
            'data: {"response":\r\ndata: "héllo "}\r\n\r\n'
            'event: message\r\ndata: {"response":"wörld"}\r\n\r\n'
            'data: {"response":"","usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}\r\n\r\n'
            'data: [DONE]\r\n\r\n').encode()
    pieces = [body[i : i + 3] for i in range(0, len(body), 3)]
    chunks = await raw_stream_client(backends, settings, *pieces)
    assert content_of(chunks) == "héllo wörld"
    assert chunks[-1]["usage"] == usage(7, 2)


async def test_openai_shaped_upstream_stream(backends: Backends, settings: Settings) -> None:
    # newer Workers AI models stream chat.completion.chunk events
    events = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "Hi "}, "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {"content": "there"}, "finish_reason": "length"}]},
        {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}},
    ]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    chunks = await raw_stream_client(backends, settings, body)
    assert content_of(chunks) == "Hi there"
    assert finish_of(chunks) == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 2


async def test_malformed_upstream_event_is_an_error_event(backends: Backends, settings: Settings) -> None:
    app = create_app(Backends(ai=RawAI(b'data: {"response":"ok"}\n\ndata: {not json\n\n'),
                              db=backends.db, bucket=backends.bucket), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await chat(c, "x", stream=True)
    assert r.status_code == 200
    assert "event: error" in r.text and "server_error" in r.text and "[DONE]" not in r.text
    assert content_of([json.loads(p) for p in sse_payloads(r.text)[:-1]]) == "ok"


class DictAI:
    """An AI binding that answers with a fixed JSON result (whole, even when asked to stream)."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        return self.result


async def with_ai(backends: Backends, settings: Settings, ai: Any, **fields: Any) -> httpx.Response:
    app = create_app(Backends(ai=ai, db=backends.db, bucket=backends.bucket), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        return await chat(c, "twelve chars", **fields)


async def test_usage_is_estimated_when_workers_ai_reports_none(backends: Backends, settings: Settings) -> None:
    r = await with_ai(backends, settings, DictAI({"response": "sixteen chars!!!"}))
    body = r.json()
    assert_matches(body, "CreateChatCompletionResponse")
    # one token per 4 characters, rounded up: "twelve chars" → 3, the answer → 4
    assert body["usage"] == usage(3, 4)


async def test_whole_answer_to_a_stream_request_is_streamed(backends: Backends, settings: Settings) -> None:
    ai = DictAI({"response": "all at once", "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
    r = await with_ai(backends, settings, ai, stream=True, stream_options={"include_usage": True}, stop="once")
    chunks = [json.loads(p) for p in sse_payloads(r.text)[:-1]]
    assert content_of(chunks) == "all at "
    assert finish_of(chunks) == "stop"
    assert chunks[-1]["usage"]["prompt_tokens"] == 5


async def test_openai_shaped_whole_answer(backends: Backends, settings: Settings) -> None:
    ai = DictAI({"choices": [{"index": 0, "message": {"role": "assistant", "content": "cut sh"},
                              "finish_reason": "length"}],
                 "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}})
    body = (await with_ai(backends, settings, ai)).json()
    assert_matches(body, "CreateChatCompletionResponse")
    assert body["choices"][0]["message"]["content"] == "cut sh"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] == 9


async def test_unexpected_result_type_is_a_bad_gateway(backends: Backends, settings: Settings) -> None:
    class BytesAI:
        async def run(self, *args: Any, **kwargs: Any) -> bytes:
            return b"\x89PNG"

    r = await with_ai(backends, settings, BytesAI())
    assert error_of(r, 502)["type"] == "server_error"


async def test_held_back_text_is_released_when_the_stream_ends(client: httpx.AsyncClient) -> None:
    # "d" could start the stop "d!"; the stream ends, so it was answer after all
    chunks = await stream_chunks(client, "echo: a b c d", stop=["d!", "c!"])
    assert content_of(chunks) == "a b c d"
    assert finish_of(chunks) == "stop"


async def test_strict_types_and_empty_content_array_as_openai(client: httpx.AsyncClient) -> None:
    base = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "echo: hi"}]}
    for extra, param in [
        ({"max_completion_tokens": "5"}, "max_completion_tokens"),
        ({"stream": True, "stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
        ({"messages": [{"role": "user", "content": []}]}, "messages[0].content"),
    ]:
        r = await client.post("/v1/chat/completions", json={**base, **extra})
        assert r.status_code == 400, (extra, r.text)
        assert r.json()["error"]["param"] == param


@pytest.mark.parametrize(("fields", "message", "param", "code"), [
    # it-at-m/mucgpt#608, OpenBMB/ChatDev#446 quote OpenAI's 400 for max_tokens below 1
    ({"max_tokens": 0}, "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
     "max_tokens", "integer_below_min_value"),
    ({"max_completion_tokens": -3}, "Invalid 'max_completion_tokens': integer below minimum value. Expected a value "
     ">= 1, but got -3 instead.", "max_completion_tokens", "integer_below_min_value"),
    # langchain-ai/langgraph#5943 quotes OpenAI's 400 for both limits at once
    ({"max_tokens": 5, "max_completion_tokens": 5},
     "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.", "max_tokens",
     "invalid_parameter_combination"),
    # OkGoDoIt/OpenAI-API-dotnet#163 quotes OpenAI's 400 for a logit_bias keyed by a word, not a token id
    ({"logit_bias": {"AI": 10}}, "Invalid key in 'logit_bias': AI. You should only be submitting non-negative "
     "integers.", "logit_bias", None),
    ({"logit_bias": {"-1": 10}}, "Invalid key in 'logit_bias': -1. You should only be submitting non-negative "
     "integers.", "logit_bias", None),
])
async def test_token_limits_and_logit_bias_are_refused_in_openai_s_words(
        client: httpx.AsyncClient, fields: dict[str, Any], message: str, param: str, code: str | None) -> None:
    r = await chat(client, **fields)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"message": message, "type": "invalid_request_error", "param": param, "code": code}


async def test_logit_bias_by_token_id_is_taken(client: httpx.AsyncClient) -> None:
    await ok(client, logit_bias={"50256": -100, "0": 3})


@pytest.mark.parametrize("assistant", [{"role": "assistant", "content": None}, {"role": "assistant"}])
async def test_an_assistant_message_without_content_or_tool_calls_is_refused(
        client: httpx.AsyncClient, assistant: dict[str, Any]) -> None:
    # the spec: content is 'Required unless tool_calls or function_call is specified'; OpenAI's words for it
    # are quoted in vercel/ai#14950 (checked against the live API) and vercel/ai#13744
    r = await client.post(URL, json={"model": LLAMA, "messages": [*user("hi"), assistant, *user("echo: hi")]})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"message": "Invalid value for 'content': expected a string, got null.",
                                 "type": "invalid_request_error", "param": "messages[1].content", "code": None}


async def test_an_assistant_message_with_empty_content_is_taken(client: httpx.AsyncClient) -> None:
    # vercel/ai#14950: the live API takes content "" without tool calls
    r = await client.post(URL, json={"model": LLAMA, "messages": [*user("hi"), {"role": "assistant", "content": ""},
                                                                 *user("echo: hi")]})
    assert r.status_code == 200, r.text



async def test_an_assistant_message_with_only_a_refusal_is_taken(client: httpx.AsyncClient,
                                                                 simulator: Simulator) -> None:
    """An assistant turn that refused (``refusal``, no ``content``) is taken, as OpenAI takes it when a client
    sends its refusal back (openai/openai-dotnet, tests/SessionRecords/ChatTests/StructuredRefusalWorks.json,
    the second request: 200); the model reads the refusal as what the assistant said."""
    refused = {"role": "assistant", "refusal": "I'm very sorry, but I can't assist with that request."}
    r = await client.post(URL, json={"model": LLAMA, "messages": [*user("hi"), refused, *user("echo: why?")]})
    assert r.status_code == 200, r.text
    sent = simulator.calls[-1][1]["messages"]
    assert sent[1] == {"role": "assistant", "content": "I'm very sorry, but I can't assist with that request."}

async def test_metadata_needs_store_as_at_openai(client: httpx.AsyncClient) -> None:
    # OpenAI's 400, quoted in tmc/langchaingo#1484 (gpt-5-nano), QwenLM/qwen-code#243 and BerriAI/litellm#23108
    for fields in ({"metadata": {"k": "v"}}, {"metadata": {"k": "v"}, "store": False}):
        r = await chat(client, **fields)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert (error["message"], error["param"]) == (
            "The 'metadata' parameter is only allowed when 'store' is enabled.", "metadata")
    await ok(client, metadata={"k": "v"}, store=True)
    await ok(client, metadata=None)
