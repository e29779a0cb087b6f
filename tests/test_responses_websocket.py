"""WebSocket mode on ``/v1/responses``: ``response.create`` in, the SSE events out, continuations on the socket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from openai_workers_ai.simulator import Simulator

from .conftest import KEY
from .responses_util import checked

LLAMA = "@cf/meta/llama-3.1-8b-instruct"


def turn(ws: Any, **body: Any) -> list[dict[str, Any]]:
    ws.send_text(json.dumps({"type": "response.create", "model": LLAMA, **body}))
    events = []
    while True:
        event = json.loads(ws.receive_text())
        events.append(event)
        if event["type"] in ("response.completed", "response.incomplete", "response.failed", "error"):
            return events


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
        [error] = turn(ws, input="hi", stream=True)
        assert error["type"] == "error" and error["param"] == "stream"
        [error] = turn(ws, input="hi", previous_response_id="resp_unknown")
        assert error["code"] == "previous_response_not_found"
        stored = checked(turn(ws, input="echo: three"))[-1]["response"]
    with TestClient(app) as client:
        r = client.get(f"/v1/responses/{stored['id']}", headers={"authorization": f"Bearer {KEY}"})
        assert r.json()["output"] == stored["output"]


def test_the_websocket_needs_a_key(app: Any) -> None:
    with TestClient(app) as client, pytest.raises(WebSocketDisconnect) as refused:  # noqa: PT012
        with client.websocket_connect("/v1/responses", headers={"authorization": "Bearer wrong"}):
            pass
    assert refused.value.code == 1008
