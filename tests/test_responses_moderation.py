"""Moderated responses (``moderation: {model, policy}``): the response's input and output scored by Llama Guard 3,
the results on the Response in OpenAI's ``Moderation`` shape (``{input, output}``, one result or error each) —
answered whole, on the closing event of a stream, from a background job, and stored for a later ``GET``.
In-process over the simulator, whose Llama Guard flags ``bomb`` (S9)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.simulator import Simulator

from .conftest import KEY
from .moderation_util import GUARD, MODERATED, UNMODERATABLE
from .openapi import assert_matches
from .responses_util import sse_events

URL = "/v1/responses"
LLAMA = "@cf/meta/llama-3.1-8b-instruct"


def body_of(text: str | list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"model": LLAMA, "input": text, "moderation": MODERATED, **fields}


def flagged(side: dict[str, Any]) -> bool:
    """A side's result (``ModerationResultBody``): whether it is flagged."""
    assert side["type"] == "moderation_result" and side["model"] == GUARD, side
    return bool(side["flagged"])


def guard_calls(simulator: Simulator) -> list[str]:
    """The texts Llama Guard was asked about, in order."""
    return [inputs["messages"][-1]["content"] for model, inputs in simulator.calls if model == GUARD]


async def test_the_input_and_output_are_scored_on_the_response(client: httpx.AsyncClient) -> None:
    """Response.moderation: "Moderation results for the response input and output, if moderated completions were
    requested"; each side is one ModerationResultBody."""
    r = await client.post(URL, json=body_of("echo: how to build a bomb"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "Response")
    assert body["status"] == "completed" and body["output"][0]["content"][0]["text"] == "how to build a bomb"
    moderation = body["moderation"]
    assert_matches(moderation, "Moderation")
    assert flagged(moderation["input"]) and flagged(moderation["output"])
    assert moderation["output"]["categories"]["violence"] is True
    stored = (await client.get(f"{URL}/{body['id']}")).json()
    assert stored["moderation"] == moderation


async def test_without_moderation_there_is_none(client: httpx.AsyncClient, simulator: Simulator) -> None:
    body = (await client.post(URL, json={**body_of("echo: a bomb"), "moderation": None})).json()
    assert body["moderation"] is None and guard_calls(simulator) == []
    assert (await client.get(f"{URL}/{body['id']}")).json()["moderation"] is None


async def test_the_input_is_the_responses_own_input_items(client: httpx.AsyncClient, simulator: Simulator) -> None:
    """The response input is its input items (what ``input_items`` lists): not the instructions, nor what a
    ``previous_response_id`` brings (that response's input and output, scored when it was made)."""
    first = (await client.post(URL, json={"model": LLAMA, "input": "echo: a bomb"})).json()
    body = (await client.post(URL, json=body_of("echo: hello", previous_response_id=first["id"],
                                                instructions="Say bomb if asked."))).json()
    assert not flagged(body["moderation"]["input"]) and not flagged(body["moderation"]["output"])
    assert guard_calls(simulator) == ["echo: hello", "hello"]


async def test_items_are_read_as_text_and_calls_as_their_arguments(client: httpx.AsyncClient,
                                                                  simulator: Simulator) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {}}}}
    items = [{"role": "system", "content": "Be brief."},
             {"role": "user", "content": [{"type": "input_text", "text": 'call:lookup {"q": "a bomb"}'}]}]
    body = (await client.post(URL, json=body_of(items, model="@cf/meta/llama-4-scout-17b-16e-instruct",
                                                tools=[tool]))).json()
    assert body["output"][0]["type"] == "function_call"
    assert flagged(body["moderation"]["input"]) and flagged(body["moderation"]["output"])
    assert guard_calls(simulator) == ['Be brief.\ncall:lookup {"q": "a bomb"}', body["output"][0]["arguments"]]


async def test_a_stream_carries_it_on_its_closing_event_only(client: httpx.AsyncClient) -> None:
    # (in the background: OpenAI replays the streams of background responses only)
    r = await client.post(URL, json=body_of("echo: a bomb", stream=True, background=True))
    events = sse_events(r)
    assert all(e["response"]["moderation"] is None for e in events[:-1] if "response" in e)
    final = events[-1]
    assert final["type"] == "response.completed"
    moderation = final["response"]["moderation"]
    assert flagged(moderation["input"]) and flagged(moderation["output"])
    assert (await client.get(f"{URL}/{final['response']['id']}")).json()["moderation"] == moderation
    replayed = sse_events(await client.get(f"{URL}/{final['response']['id']}", params={"stream": "true"}))
    assert replayed[0]["response"]["moderation"] is None and replayed[-1]["response"]["moderation"] == moderation


@pytest.mark.parametrize("stream", [False, True])
async def test_a_moderated_response_is_read_back_as_made(client: httpx.AsyncClient, simulator: Simulator,
                                                        stream: bool) -> None:
    """Its messages stored as a response's are (its text input in its row), with its moderation: retrieved as
    answered, listed, and continued."""
    r = await client.post(URL, json=body_of("echo: a bomb", stream=stream))
    made = sse_events(r)[-1]["response"] if stream else r.json()
    assert flagged(made["moderation"]["output"])
    assert (await client.get(f"{URL}/{made['id']}")).json() == made
    listed = (await client.get(f"{URL}/{made['id']}/input_items")).json()["data"]
    assert [(i["id"], i["content"][0]["text"]) for i in listed] == [("msg_" + made["id"][5:], "echo: a bomb")]
    r = await client.post(URL, json={"model": LLAMA, "input": "echo: and", "previous_response_id": made["id"]})
    assert r.status_code == 200, r.text
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: a bomb", "a bomb", "echo: and"]

async def test_a_response_that_fails_has_none(client: httpx.AsyncClient) -> None:
    """The model failing in the middle of a stream: ``response.failed``, without moderation (nothing to score
    the output of), and the stored response has none either."""
    events = sse_events(await client.post(URL, json=body_of("fail-mid:500", stream=True)))
    assert events[-1]["type"] == "response.failed" and events[-1]["response"]["moderation"] is None
    stored = (await client.get(f"{URL}/{events[-1]['response']['id']}")).json()
    assert stored["status"] == "failed" and stored["moderation"] is None


def test_a_websocket_response_is_moderated(app: Any) -> None:
    with TestClient(app) as client, client.websocket_connect(
            URL, headers={"authorization": f"Bearer {KEY}"}) as ws:
        ws.send_text(json.dumps({"type": "response.create", **body_of("echo: a bomb")}))
        while (event := json.loads(ws.receive_text()))["type"] != "response.completed":
            assert event.get("response", {}).get("moderation") is None
        assert flagged(event["response"]["moderation"]["input"]) and flagged(event["response"]["moderation"]["output"])


async def test_an_incomplete_response_is_moderated_too(client: httpx.AsyncClient) -> None:
    words = " ".join(["bomb"] * 40)
    body = (await client.post(URL, json=body_of(f"echo: {words}", max_output_tokens=16))).json()
    assert body["status"] == "incomplete" and flagged(body["moderation"]["output"])


async def test_a_background_response_is_moderated_by_its_job(client: httpx.AsyncClient, app: Any,
                                                             jobs: InProcessJobs) -> None:
    queued = (await client.post(URL, json=body_of("echo: a bomb", background=True))).json()
    assert queued["status"] == "queued" and queued["moderation"] is None
    assert await jobs.drain(app.state.ctx) == 1
    done = (await client.get(f"{URL}/{queued['id']}")).json()
    assert_matches(done, "Response")
    assert done["status"] == "completed" and flagged(done["moderation"]["input"]) and flagged(done["moderation"]["output"])


async def test_a_background_stream_is_moderated_and_stored(client: httpx.AsyncClient) -> None:
    events = sse_events(await client.post(URL, json=body_of("echo: hi", background=True, stream=True)))
    final = events[-1]["response"]
    assert final["status"] == "completed" and not flagged(final["moderation"]["output"])
    assert (await client.get(f"{URL}/{final['id']}")).json()["moderation"] == final["moderation"]


async def test_a_failed_moderation_is_an_error_object_and_the_response_stands(client: httpx.AsyncClient) -> None:
    """ModerationErrorBody: "An error produced while attempting moderation for the response input or output";
    the simulated Llama Guard fails on a text ``fail:<status>``, here the model's answer."""
    body = (await client.post(URL, json=body_of("echo: fail:503"))).json()
    assert body["status"] == "completed" and body["output"][0]["content"][0]["text"] == "fail:503"
    assert not flagged(body["moderation"]["input"])
    error = body["moderation"]["output"]
    assert error["type"] == "error" and error["code"] and error["message"]
    assert_matches(body, "Response")


async def test_without_store_it_is_answered_and_not_kept(client: httpx.AsyncClient) -> None:
    body = (await client.post(URL, json=body_of("echo: a bomb", store=False))).json()
    assert flagged(body["moderation"]["output"])
    assert (await client.get(f"{URL}/{body['id']}")).status_code == 404


@pytest.mark.parametrize(("moderation", "param", "code"), UNMODERATABLE)
@pytest.mark.parametrize("background", [False, True])
async def test_what_cannot_be_moderated_is_a_400(client: httpx.AsyncClient, moderation: dict[str, Any], param: str,
                                                 code: str, background: bool) -> None:
    r = await client.post(URL, json={**body_of("echo: hi", background=background), "moderation": moderation})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param and r.json()["error"]["code"] == code


async def test_scoring_is_accepted_as_the_policy(client: httpx.AsyncClient) -> None:
    policy = {"input": {"mode": "score"}, "output": {"mode": "score"}}
    body = (await client.post(URL, json={**body_of("echo: hi"), "moderation": {**MODERATED, "policy": policy}})).json()
    assert not flagged(body["moderation"]["output"])

