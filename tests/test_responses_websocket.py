"""WebSocket mode on ``/v1/responses``: ``response.create`` in, the SSE events out, continuations on the socket."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .conftest import KEY, OTHER_KEY
from .openapi import assert_matches
from .responses_util import checked, obfuscated_kinds, sse_events

LLAMA = "@cf/meta/llama-3.1-8b-instruct"


def ws_error(event: dict[str, Any], status: int | None = 400) -> dict[str, Any]:
    """A WebSocket ``error`` event, checked as OpenAI's ``ResponseWsError`` (``status``: a request's error has the
    HTTP status it would have had; None for one in the response's stream): its ``error`` payload."""
    assert_matches(event, "ResponseWsError")
    assert event.get("status") == status, event
    payload: dict[str, Any] = event["error"]
    return payload


def turn(ws: Any, **body: Any) -> list[dict[str, Any]]:
    ws.send_text(json.dumps({"type": "response.create", "model": LLAMA, **body}))
    events = []
    while True:
        event = json.loads(ws.receive_text())
        events.append(event)
        if event["type"] in ("response.completed", "response.incomplete", "response.failed", "error"):
            return events


def test_delta_events_carry_obfuscation_unless_declined(app: Any) -> None:
    """As over SSE: each delta event carries ``obfuscation`` (OpenAI's default), left out when the message's
    ``stream_options.include_obfuscation`` is false; the ``stream_id`` a lane's events echo stays."""
    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        events = checked(turn(ws, input="echo: one two three", store=False))
        assert obfuscated_kinds(events) == {"response.output_text.delta"}
        events = turn(ws, input="echo: one two three", store=False, stream_id="lane-1")
        assert obfuscated_kinds(events) and {e["stream_id"] for e in events} == {"lane-1"}
        declined = checked(turn(ws, input="echo: one two three", store=False,
                                stream_options={"include_obfuscation": False}))
        assert any(e["type"] == "response.output_text.delta" for e in declined)
        assert not any("obfuscation" in e for e in declined)


def test_responses_over_a_websocket(app: Any, simulator: Simulator) -> None:
    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        first = checked(turn(ws, input="echo: one", store=False))
        response = first[-1]["response"]
        assert response["output"][0]["content"][0]["text"] == "one"
        # A continuation on the same socket reads the socket's memory: it works without storage.
        second = checked(turn(ws, input="echo: two", store=False, previous_response_id=response["id"]))
        assert second[-1]["response"]["previous_response_id"] == response["id"]
        assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: one", "one", "echo: two"]
        [event] = turn(ws, input="hi", stream=True)
        error = ws_error(event)
        assert error["type"] == "invalid_request_error" and error["param"] == "stream"
        [event] = turn(ws, input="hi", previous_response_id="resp_unknown")
        assert ws_error(event, 400)["code"] == "previous_response_not_found"
        # The body meets OpenAI's rules as over HTTP, the model answered first.
        [event] = turn(ws, input="hi", max_output_tokens=1)
        error = ws_error(event)
        assert error["param"] == "max_output_tokens" and error["code"] == "integer_below_min_value", error
        [event] = turn(ws, input="hi", model="no-such-model", temperature=5)
        assert ws_error(event, 404)["code"] == "model_not_found", event
        # The model failing before it answers: the error it would be over HTTP.
        [event] = turn(ws, input="fail:500")
        assert ws_error(event, 502)["message"]
        # … and failing in the middle: the error in the stream (numbered, no status), then response.failed.
        events = turn(ws, input="fail-mid:500")
        assert events[-1]["sequence_number"] == events[-2]["sequence_number"] + 1
        assert ws_error(events[-1], None)["type"] == "server_error"
        assert json.loads(ws.receive_text())["type"] == "response.failed"
        stored = checked(turn(ws, input="echo: three"))[-1]["response"]
    with TestClient(app) as client:
        r = client.get(f"/v1/responses/{stored['id']}", headers={"authorization": f"Bearer {KEY}"})
        assert r.json()["output"] == stored["output"]


def test_a_reasoning_summary_streams_as_over_sse(app: Any) -> None:
    """``reasoning.summary`` over the socket: the reasoning item's summary events (``reasoning_summary_part.added``,
    the text's deltas and ``….done``, ``….part.done``), in the order and with the text an SSE stream of the same
    request sends them; on a model that does not reason, the 400 HTTP gives, as an ``error`` event."""
    body = {"model": "@cf/openai/gpt-oss-120b", "input": "echo: the answer", "store": False,
            "reasoning": {"effort": "low", "summary": "auto"}}

    def shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["type"], e.get("output_index"), e.get("summary_index"), e.get("delta"), e.get("text"),
                 e.get("part")) for e in events]

    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        socket = checked(turn(ws, **body))
        sse = sse_events(client.post("/v1/responses", json={**body, "stream": True},
                                     headers={"authorization": f"Bearer {KEY}"}))
        assert shape(socket) == shape(sse)
        kinds = [e["type"] for e in socket if e.get("output_index") == 0]
        deltas = kinds.count("response.reasoning_summary_text.delta")
        assert deltas > 0 and kinds == [
            "response.output_item.added", "response.reasoning_summary_part.added",
            *["response.reasoning_summary_text.delta"] * deltas, "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done", "response.output_item.done"]
        [done] = [e for e in socket if e["type"] == "response.reasoning_summary_text.done"]
        item = socket[-1]["response"]["output"][0]
        assert item["summary"] == [{"type": "summary_text", "text": done["text"]}] and "content" not in item
        [event] = turn(ws, **{**body, "model": LLAMA})
        assert ws_error(event)["param"] == "reasoning.summary"


def test_a_lone_surrogate_is_refused_as_over_http(app: Any) -> None:
    """A string holding a lone surrogate (a ``\\ud800`` escape without its pair) is a 400, as the HTTP door's
    JSON parser answers it, not taken (and stored) with a "?" in its place; the socket goes on."""
    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        for field in ('"input": "echo: a\\ud800b"', '"input": "hi", "metadata": {"k": "\\udfff"}'):
            ws.send_text(f'{{"type": "response.create", "model": "{LLAMA}", {field}}}')
            error = ws_error(json.loads(ws.receive_text()))
            assert error["param"] is None and "surrogate" in error["message"], error
        assert checked(turn(ws, input="echo: whole"))[-1]["response"]["status"] == "completed"
        r = client.post("/v1/responses", content=b'{"model": "%s", "input": "a\\ud800b"}' % LLAMA.encode(),
                        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["param"] is None


def test_the_websocket_needs_a_key(app: Any) -> None:
    with TestClient(app) as client, pytest.raises(WebSocketDisconnect) as refused:  # noqa: PT012
        with client.websocket_connect("/v1/responses", headers={"authorization": "Bearer wrong"}):
            pass
    assert refused.value.code == 1008


def events_until_done(ws: Any, count: int) -> list[dict[str, Any]]:
    """The socket's events until ``count`` responses (or errors) have ended."""
    events, ended = [], 0
    while ended < count:
        event = json.loads(ws.receive_text())
        events.append(event)
        ended += event["type"] in ("response.completed", "response.incomplete", "response.failed", "error")
    return events


class HeldAI:
    """The simulator, except that a call whose last message says ``hold`` waits until released."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator, self.released = simulator, threading.Event()

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        if "hold" in json.dumps(inputs.get("messages", [])[-1:]):
            while not self.released.is_set():
                await asyncio.sleep(0.005)
        return await self.simulator.run(model, inputs, options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.simulator, name)


def test_lanes_run_side_by_side_in_order_within_and_echo_their_stream_id(
        backends: Backends, settings: Settings, simulator: Simulator) -> None:
    held = HeldAI(simulator)
    app = create_app(replace(backends, ai=held), settings)  # type: ignore[arg-type]
    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        def send(stream_id: str, text: str) -> None:
            ws.send_text(json.dumps({"type": "response.create", "stream_id": stream_id, "model": LLAMA,
                                     "input": text, "store": False}))

        send("a", "echo: hold on")   # lane a waits on the model …
        send("a", "echo: a second")  # … and its next response waits behind it
        send("b", "echo: b first")   # lane b is not held up
        lane_b = events_until_done(ws, 1)
        assert {e["stream_id"] for e in lane_b} == {"b"}
        assert checked([{k: v for k, v in e.items() if k != "stream_id"} for e in lane_b])[-1]["type"] == \
            "response.completed"
        assert lane_b[-1]["response"]["output"][0]["content"][0]["text"] == "b first"
        held.released.set()
        lane_a = events_until_done(ws, 2)
        assert {e["stream_id"] for e in lane_a} == {"a"}
        texts = [e["response"]["output"][0]["content"][0]["text"] for e in lane_a if e["type"] == "response.completed"]
        assert texts == ["hold on", "a second"]  # FIFO within the lane
        # A lane may continue a response made on another: the socket remembers both.
        first_b = lane_b[-1]["response"]["id"]
        ws.send_text(json.dumps({"type": "response.create", "model": LLAMA, "input": "echo: fork",
                                 "previous_response_id": first_b, "store": False}))
        forked = events_until_done(ws, 1)
        assert "stream_id" not in forked[-1] and forked[-1]["type"] == "response.completed"
        assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: b first", "b first", "echo: fork"]


def test_bad_messages_get_error_events_and_the_socket_stays_open(app: Any) -> None:
    with TestClient(app) as client, client.websocket_connect(
            "/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
        for raw, param in (("not json", None), ('{"type": "session.update"}', "type"),
                           ('{"type": "response.create", "stream_id": "bad id!", "input": "x"}', "stream_id")):
            ws.send_text(raw)
            error = ws_error(json.loads(ws.receive_text()))
            assert error["param"] == param, error
        ws.send_bytes(json.dumps({"type": "response.create", "model": LLAMA, "input": "echo: bytes",
                                  "store": False}).encode())
        done = events_until_done(ws, 1)[-1]
        assert done["response"]["output"][0]["content"][0]["text"] == "bytes"


def test_a_continuation_on_the_socket_still_checks_the_conversation(app: Any) -> None:
    with TestClient(app) as client:
        other = {"authorization": f"Bearer {OTHER_KEY}"}
        theirs = client.post("/v1/conversations", headers=other,
                             json={"items": [{"type": "message", "role": "user", "content": "theirs"}]}).json()
        with client.websocket_connect("/v1/responses", headers={"authorization": f"Bearer {KEY}"}) as ws:
            mine = turn(ws, input="echo: mine")[-1]["response"]
            # Continuing a response the socket remembers, into another key's conversation: refused as
            # over HTTP (both fields together are a 400), and nothing is appended to it.
            [event] = turn(ws, input="echo: injected", previous_response_id=mine["id"], conversation=theirs["id"])
            error = ws_error(event)
            assert error["param"] == "previous_response_id" and "together" in error["message"]
            [event] = turn(ws, input="echo: injected", conversation=theirs["id"])
            assert ws_error(event, 404)["message"] == f"Conversation with id '{theirs['id']}' not found."
        listed = client.get(f"/v1/conversations/{theirs['id']}/items", headers=other).json()["data"]
        assert [item["content"][0]["text"] for item in listed] == ["theirs"]


def test_a_stored_response_is_continued_on_its_socket_and_on_another(app: Any, simulator: Simulator) -> None:
    """A socket's stored response (its row keeps its messages: ``migrations/0021_…``, ``0022_…``) continued on the
    socket (from its memory) and on a new one (from storage) alike; its messages referenced, and repeated (a 400)."""
    key = {"authorization": f"Bearer {KEY}"}

    def continued(ws: Any, first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
        answer = first["output"][0]["id"]
        referred = checked(turn(ws, input=[{"type": "item_reference", "id": answer},
                                           {"role": "user", "content": "echo: three"}]))[-1]["response"]
        assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["one", "echo: three"]
        chained = checked(turn(ws, input="echo: four", previous_response_id=second["id"]))[-1]["response"]
        assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == [
            "echo: one", "one", "echo: two", "two", "echo: four"]
        [event] = turn(ws, input=[{"type": "item_reference", "id": answer}], previous_response_id=second["id"])
        assert ws_error(event)["message"].startswith(f"Duplicate item found with id {answer}.")
        return [referred, chained]

    with TestClient(app) as client:
        with client.websocket_connect("/v1/responses", headers=key) as ws:
            first = checked(turn(ws, input="echo: one"))[-1]["response"]
            second = checked(turn(ws, input="echo: two", previous_response_id=first["id"]))[-1]["response"]
            made = continued(ws, first, second)
        with client.websocket_connect("/v1/responses", headers=key) as ws:
            made += continued(ws, first, second)
        for response in made:
            assert client.get(f"/v1/responses/{response['id']}", headers=key).json() == response
