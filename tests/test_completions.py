"""``POST /v1/completions`` (legacy): one choice per prompt, echo, stream, stop, usage."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openai_workers_ai.simulator import Simulator

from .openapi import assert_matches

URL = "/v1/completions"
MODEL = "@cf/meta/llama-3.1-8b-instruct"


async def complete(client: httpx.AsyncClient, prompt: Any = "echo: hi", **fields: Any) -> httpx.Response:
    return await client.post(URL, json={"model": MODEL, "prompt": prompt, **fields})


async def ok(client: httpx.AsyncClient, prompt: Any = "echo: hi", **fields: Any) -> dict[str, Any]:
    r = await complete(client, prompt, **fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "CreateCompletionResponse")
    assert body["object"] == "text_completion" and body["id"].startswith("cmpl-")
    assert body["model"] == MODEL
    return body


async def chunks(client: httpx.AsyncClient, prompt: Any, **fields: Any) -> list[dict[str, Any]]:
    r = await complete(client, prompt, stream=True, **fields)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    payloads = [line[6:] for line in r.text.split("\n") if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    out = [json.loads(p) for p in payloads[:-1]]
    for chunk in out:
        assert_matches(as_whole(chunk), "CreateCompletionResponse")
    return out


def as_whole(chunk: dict[str, Any]) -> dict[str, Any]:
    """The spec has no chunk schema for completions; streams reuse ``CreateCompletionResponse``
    except that an unfinished choice has ``finish_reason: null`` and ``usage`` may be null."""
    copy = {**chunk, "choices": [{**c, "finish_reason": c["finish_reason"] or "stop"} for c in chunk["choices"]]}
    if copy.get("usage", 0) is None:
        del copy["usage"]
    return copy


def texts(chunks: list[dict[str, Any]]) -> dict[int, str]:
    out: dict[int, str] = {}
    for c in chunks:
        for choice in c["choices"]:
            out[choice["index"]] = out.get(choice["index"], "") + choice["text"]
    return out


async def test_prompt_string(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await ok(client, "echo: hello world")
    assert body["choices"] == [{"text": "hello world", "index": 0, "logprobs": None, "finish_reason": "stop"}]
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert simulator.calls[-1] == (MODEL, {"prompt": "echo: hello world", "max_tokens": 16})


async def test_max_tokens_defaults_to_16_as_in_openai(client: httpx.AsyncClient) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    body = await ok(client, "echo: " + words)
    assert body["choices"][0]["text"] == " ".join(words.split()[:16])
    assert body["choices"][0]["finish_reason"] == "length"
    out = await chunks(client, "echo: " + words)
    assert texts(out) == {0: body["choices"][0]["text"]}


async def test_prompt_list_gives_one_choice_per_prompt(client: httpx.AsyncClient) -> None:
    body = await ok(client, ["echo: a", "echo: b c", "echo: d e f"])
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert [c["text"] for c in body["choices"]] == ["a", "b c", "d e f"]
    # usage sums the prompts' usage
    assert body["usage"] == {"prompt_tokens": 2 + 3 + 4, "completion_tokens": 1 + 2 + 3, "total_tokens": 15}


async def test_echo(client: httpx.AsyncClient) -> None:
    body = await ok(client, ["echo: x", "echo: y"], echo=True)
    assert [c["text"] for c in body["choices"]] == ["echo: xx", "echo: yy"]


async def test_max_tokens_finishes_with_length(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = await ok(client, "echo: one two three four", max_tokens=2)
    assert body["choices"][0]["text"] == "one two"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2
    assert simulator.calls[-1][1]["max_tokens"] == 2


async def test_empty_prompt_is_a_prompt(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # OpenAI takes "" (the spec's string prompt has no minLength); Workers AI's `prompt` has minLength 1 and
    # answered 5006, so the model is sent OpenAI's default, "<|endoftext|>" ("as if from the beginning of a new
    # document"); the echo is the prompt as given.
    body = await ok(client, ["", "echo: a"], echo=True)
    assert body["choices"][1]["text"] == "echo: aa"
    assert sorted(inputs["prompt"] for _, inputs in simulator.calls) == ["<|endoftext|>", "echo: a"]
    assert not body["choices"][0]["text"].startswith("<|endoftext|>")
    out = await chunks(client, "", echo=True)
    assert not texts(out)[0].startswith("<|endoftext|>")


@pytest.mark.parametrize("stream", [False, True])
async def test_max_tokens_0_generates_nothing(client: httpx.AsyncClient, simulator: Simulator, stream: bool) -> None:
    # The spec's max_tokens minimum is 0 for completions (1 for chat): the choice is the echoed prompt, or empty,
    # finished by `length`; no model is called.
    if stream:
        out = await chunks(client, ["echo: one two", "echo: three"], echo=True, max_tokens=0,
                           stream_options={"include_usage": True})
        assert texts(out) == {0: "echo: one two", 1: "echo: three"}
        assert [c["choices"][0]["finish_reason"] for c in out if c["choices"]][-1] == "length"
        assert out[-1]["usage"]["completion_tokens"] == 0
    else:
        body = await ok(client, "echo: one two", max_tokens=0)
        assert body["choices"][0] | {"logprobs": None} == {"text": "", "index": 0, "logprobs": None,
                                                           "finish_reason": "length"}
        assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 0, "total_tokens": 4}
        assert (await ok(client, "echo: one two", max_tokens=0, echo=True))["choices"][0]["text"] == "echo: one two"
    assert simulator.calls == []
    error = (await complete(client, max_tokens=-1)).json()["error"]
    assert (error["param"], error["code"]) == ("max_tokens", "integer_below_min_value")


@pytest.mark.parametrize(("stop", "expected"), [("three", "one two "), (["x", "two"], "one ")])
async def test_stop(client: httpx.AsyncClient, stop: Any, expected: str) -> None:
    body = await ok(client, "echo: one two three", stop=stop)
    assert body["choices"][0]["text"] == expected
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_stream(client: httpx.AsyncClient) -> None:
    out = await chunks(client, "echo: naïve café 日本語")
    assert texts(out) == {0: "naïve café 日本語"}
    assert {c["id"] for c in out} == {out[0]["id"]}
    assert [c["choices"][0]["finish_reason"] for c in out][-1] == "stop"
    assert all("usage" not in c for c in out)


async def test_stream_several_prompts_with_echo_stop_and_usage(client: httpx.AsyncClient) -> None:
    out = await chunks(client, ["echo: one two three", "echo: four five"], echo=True, stop="two",
                       stream_options={"include_usage": True})
    assert texts(out) == {0: "echo: one two threeone ", 1: "echo: four fivefour five"}
    finishes = {ch["index"]: ch["finish_reason"] for c in out for ch in c["choices"] if ch["finish_reason"]}
    assert finishes == {0: "stop", 1: "stop"}
    assert all(c["usage"] is None for c in out[:-1])
    assert out[-1]["choices"] == []
    usage = out[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] >= 3



async def test_chunks_have_openai_s_member_order(client: httpx.AsyncClient) -> None:
    """A ``text_completion`` chunk has ``choices`` before ``model``, and ``usage`` (null until the usage chunk)
    last; the usage chunk is ``id, object, created, model, usage, choices``, as recorded from OpenAI's API
    (vercel/ai, packages/openai/src/completion/__fixtures__/openai-completion-text.chunks.txt); the whole object
    keeps ``model`` before ``choices`` (openai-completion-text.json)."""
    head = ["id", "object", "created"]
    out = await chunks(client, "echo: one two", stream_options={"include_usage": True})
    assert [list(c) for c in out[:-1]] == [[*head, "choices", "model", "usage"]] * (len(out) - 1)
    assert list(out[-1]) == [*head, "model", "usage", "choices"]
    assert [list(c) for c in await chunks(client, "echo: one two")] == [[*head, "choices", "model"]] * len(out[:-1])
    assert list(await ok(client)) == [*head, "model", "choices", "usage"]

async def test_stream_max_tokens(client: httpx.AsyncClient) -> None:
    out = await chunks(client, "echo: one two three four", max_tokens=3)
    assert texts(out) == {0: "one two three"}
    assert out[-1]["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize("prompt", [[], [[1, 2], []]])
async def test_empty_token_arrays_are_refused(client: httpx.AsyncClient, prompt: Any) -> None:
    r = await complete(client, prompt)
    assert r.status_code == 400
    assert_matches(r.json(), "ErrorResponse")
    assert r.json()["error"]["param"] in ("prompt", "prompt[1]")
    if prompt:
        assert r.json()["error"]["code"] == "empty_array"  # the spec's minItems on inner token arrays


@pytest.mark.parametrize(("fields", "param"), [({"n": 5}, "n"), ({"best_of": 3}, "best_of"),
                                                ({"n": 2, "best_of": 3}, "best_of"), ({"suffix": "end"}, "suffix"),
                                                ({"prompt": [f"echo: {i}" for i in range(65)], "n": 2}, "n")])
async def test_unsupported_options(client: httpx.AsyncClient, fields: dict[str, Any], param: str) -> None:
    r = await complete(client, **{"prompt": "echo: hi", **fields})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == param


async def test_n_gives_n_choices_per_prompt_in_openai_s_order(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # Prompt p's choice k is at index p * n + k; each choice is one model call; usage counts each prompt once.
    body = await ok(client, ["echo: a", "echo: b c"], n=2, echo=True)
    assert [(c["index"], c["text"]) for c in body["choices"]] == [
        (0, "echo: aa"), (1, "echo: aa"), (2, "echo: b cb c"), (3, "echo: b cb c")]
    assert len(simulator.calls) == 4
    assert body["usage"]["prompt_tokens"] == 2 + 3 and body["usage"]["completion_tokens"] == 2 * (1 + 2)
    assert (await ok(client, "echo: x", n=3, best_of=3))["choices"][2]["index"] == 2  # best_of = n: the same
    out = await chunks(client, ["echo: one two", "echo: three"], n=2, echo=True, stream_options={"include_usage": True})
    assert texts(out) == {0: "echo: one twoone two", 1: "echo: one twoone two", 2: "echo: threethree",
                          3: "echo: threethree"}
    finishes = {ch["index"]: ch["finish_reason"] for c in out for ch in c["choices"] if ch["finish_reason"]}
    assert finishes == {0: "stop", 1: "stop", 2: "stop", 3: "stop"}
    assert out[-1]["usage"]["completion_tokens"] == 2 * (2 + 1)
    nothing = await ok(client, "echo: one", n=2, max_tokens=0)
    assert [(c["index"], c["text"], c["finish_reason"]) for c in nothing["choices"]] == [(0, "", "length"),
                                                                                         (1, "", "length")]
    out = await chunks(client, "echo: one", n=2, max_tokens=0, echo=True)
    assert texts(out) == {0: "echo: one", 1: "echo: one"}


async def test_invalid_fields(client: httpx.AsyncClient) -> None:
    r = await complete(client, temperature="warm")
    assert r.status_code == 400 and r.json()["error"]["param"] == "temperature"
    r = await complete(client, stop=["a", "b", "c", "d", "e"])
    assert r.status_code == 400 and r.json()["error"]["param"] == "stop"
    r = await complete(client, max_tokens="3")
    assert r.status_code == 400 and r.json()["error"]["param"] == "max_tokens"
    r = await complete(client, stream_options={"include_usage": True})
    assert r.status_code == 400 and r.json()["error"]["param"] == "stream_options"
    r = await client.post(URL, json={"prompt": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


async def test_unknown_model(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, json={"model": "davinci-999", "prompt": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("echo", [False, True])
async def test_failures_keep_their_status(client: httpx.AsyncClient, stream: bool, echo: bool) -> None:
    r = await complete(client, "fail:429", stream=stream, echo=echo)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert r.headers["retry-after"]


async def test_failure_of_a_later_prompt_in_a_stream_is_an_error_event(client: httpx.AsyncClient) -> None:
    r = await complete(client, ["echo: fine", "fail:503"], stream=True)
    assert r.status_code == 200
    assert "event: error" in r.text and "upstream_overloaded" in r.text
    assert "[DONE]" not in r.text


async def test_prefix_llm_openai(client: httpx.AsyncClient) -> None:
    r = await client.post("/llm/openai/v1/completions", json={"model": MODEL, "prompt": "echo: z"})
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "z"


@pytest.mark.parametrize(("alias", "model"), [
    ("gpt-3.5-turbo-instruct", "@cf/meta/llama-3.1-8b-instruct-fast"),
    ("davinci-002", "@cf/meta/llama-3.1-8b-instruct-fast"),
    ("babbage-002", "@cf/meta/llama-3.2-1b-instruct"),
])
async def test_openai_s_completions_models_are_aliases(client: httpx.AsyncClient, simulator: Simulator, alias: str,
                                                       model: str) -> None:
    r = await client.post(URL, json={"model": alias, "prompt": [9906, 1917]})  # token ids: cl100k_base, as OpenAI's
    assert r.status_code == 200, r.text
    assert r.json()["model"] == model and simulator.calls[-1][0] == model
    listed = (await client.get(f"/v1/models/{alias}")).json()
    assert listed["alias_for"] == model
