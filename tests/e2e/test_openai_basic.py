"""The official ``openai`` client against the real local server (simulator backend), unchanged:
chat and completions, streaming and not, models, errors; plus raw HTTP for what the client hides."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from ..openapi import assert_matches
from .conftest import E2E_KEY

MODEL = "@cf/meta/llama-3.1-8b-instruct"


@pytest.fixture(params=["/v1", "/llm/openai/v1"])
def client(server: str, request: pytest.FixtureRequest) -> OpenAI:
    return OpenAI(base_url=server + request.param, api_key=E2E_KEY, max_retries=0)


@pytest.fixture
def aclient(server: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server + "/v1", api_key=E2E_KEY, max_retries=0)


def test_chat(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "echo: Hello, naïve 🙂"}])
    assert_matches(completion.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello, naïve 🙂"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert completion._request_id is not None and completion._request_id.startswith("req_")  # x-request-id


def test_chat_stream(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, stream=True, stream_options={"include_usage": True}, max_tokens=4,
        messages=[{"role": "user", "content": "echo: one two three four five six"}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


def test_chat_stream_with_stop(client: OpenAI) -> None:
    with client.chat.completions.create(model=MODEL, stream=True, stop=["thr", "zzz"],
                                        messages=[{"role": "user", "content": "echo: one two three"}]) as stream:
        chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two "
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_completions(client: OpenAI) -> None:
    completion = client.completions.create(model=MODEL, prompt=["echo: a b", "echo: c"], max_tokens=1)
    assert_matches(completion.model_dump(exclude_unset=True), "CreateCompletionResponse")
    assert [(c.index, c.text, c.finish_reason) for c in completion.choices] == [(0, "a", "length"), (1, "c", "length")]
    assert completion.usage is not None and completion.usage.completion_tokens == 2
    several = client.completions.create(model=MODEL, prompt=["echo: a", "echo: b"], n=2)
    assert [(c.index, c.text) for c in several.choices] == [(0, "a"), (1, "a"), (2, "b"), (3, "b")]


def test_the_current_openai_model_names(client: OpenAI) -> None:
    """Names as code written today sends them (the client's types list them), a dated snapshot among them."""
    reply = client.chat.completions.create(model="gpt-5-mini-2025-08-07", messages=[{"role": "user", "content": "echo: hi"}])
    assert reply.model == "@cf/openai/gpt-oss-20b" and reply.choices[0].message.content == "hi"
    assert client.responses.create(model="gpt-5", input="echo: there").output_text == "there"


def test_completions_stream(client: OpenAI) -> None:
    chunks = list(client.completions.create(model=MODEL, prompt="echo: streamed words", stream=True))
    assert "".join(c.choices[0].text for c in chunks) == "streamed words"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_models(client: OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert MODEL in ids and "gpt-4o-mini" in ids
    model = client.models.retrieve(MODEL)
    assert model.id == MODEL and model.object == "model" and model.owned_by == "meta"
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"


def test_models_cannot_be_deleted(client: OpenAI) -> None:
    # OpenAI deletes only an organization's fine-tuned models; none here is one.
    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.models.delete("gpt-4o-mini")
    assert refused.value.status_code == 403 and "gpt-4o-mini" in refused.value.message
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.models.delete("ft:gpt-4o-mini:acme:mine:abc123")
    assert unknown.value.code == "model_not_found"


def test_errors_are_the_clients_exceptions(client: OpenAI, server: str) -> None:
    user = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(model="gpt-9-ultra", messages=user)  # type: ignore[arg-type]
    assert not_found.value.code == "model_not_found"
    assert not_found.value.request_id is not None and not_found.value.request_id.startswith("req_")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("@cf/acme/nothing")
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=MODEL, messages=user, stop=["a", "b", "c", "d", "e"])  # type: ignore[arg-type]
    assert bad.value.param == "stop"
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "fail:429"}])
    assert limited.value.response.headers["retry-after"]
    with pytest.raises(openai.InternalServerError) as overloaded:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "fail:503"}])
    assert overloaded.value.status_code == 503
    wrong = OpenAI(base_url=str(client.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as auth:
        wrong.models.list()
    assert auth.value.code == "invalid_api_key"


def test_error_mid_stream(client: OpenAI) -> None:
    stream = client.chat.completions.create(model=MODEL, stream=True,
                                            messages=[{"role": "user", "content": "fail-mid:503"}])
    with pytest.raises(openai.APIError) as caught:
        for _ in stream:
            pass
    assert "Capacity" in caught.value.message


async def test_async_client(aclient: AsyncOpenAI) -> None:
    completion = await aclient.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "echo: async ok"}])
    assert completion.choices[0].message.content == "async ok"
    stream = await aclient.chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": "echo: 日本語 テキスト"}])
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "日本語 テキスト"
    completion2 = await aclient.completions.create(model=MODEL, prompt="echo: legacy")
    assert completion2.choices[0].text == "legacy"
    assert MODEL in [m.id async for m in aclient.models.list()]
    with pytest.raises(openai.NotFoundError):
        await aclient.models.retrieve("nope-model")
    tokens = await aclient.completions.create(model=MODEL, prompt=[0, 1, 2, 3], echo=True)  # cl100k_base ids
    assert tokens.choices[0].text.startswith('!"#$')
    with pytest.raises(openai.BadRequestError):
        await aclient.completions.create(model=MODEL, prompt=[[0, 1], []])


# ---- raw HTTP: what the client hides --------------------------------------------------------


def test_raw_sse_framing(server: str) -> None:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "echo: a b"}]}
    headers = {"authorization": f"Bearer {E2E_KEY}"}
    with httpx.stream("POST", server + "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        raw = r.read().decode()
    assert raw.endswith("data: [DONE]\n\n")
    frames = raw.split("\n\n")[:-1]
    assert all(f.startswith("data: ") and "\n" not in f for f in frames)
    for frame in frames[:-1]:
        assert_matches(json.loads(frame[6:]), "CreateChatCompletionStreamResponse")


def test_raw_errors_and_headers(server: str) -> None:
    r = httpx.post(server + "/v1/chat/completions", content=b"{not json", headers={
        "authorization": f"Bearer {E2E_KEY}", "content-type": "application/json; charset=utf-8"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert_matches(r.json(), "ErrorResponse")
    r = httpx.get(server + "/v1/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = httpx.options(server + "/v1/chat/completions", headers={
        "origin": "https://app.example", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,x-stainless-os"})
    assert r.status_code == 200 and "x-stainless-os" in r.headers["access-control-allow-headers"].lower()
    r = httpx.get(server + f"/v1/models/{MODEL}", headers={"authorization": f"Bearer {E2E_KEY}"})
    assert r.status_code == 200 and r.json()["id"] == MODEL
    assert httpx.get(server + "/health").json() == {"status": "ok"}
