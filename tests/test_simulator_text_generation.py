"""The simulated text-generation models: Workers AI's input checks and output shapes, deterministic."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.streaming import sse_events

MODEL = "@cf/meta/llama-3.1-8b-instruct"


@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"prompt": ""},
        {"prompt": 5},
        {"messages": []},
        {"messages": "hi"},
        {"messages": [{"content": "no role"}]},
        {"messages": ["not an object"]},
        {"messages": [{"role": "user", "content": 5}]},
        {"prompt": "x", "temperature": 9},
        {"prompt": "x", "max_tokens": 0},
        {"prompt": "x", "top_k": True},
        {"prompt": "x", "seed": "1"},
    ],
)
async def test_invalid_inputs_fail_like_workers_ai(inputs: dict[str, Any]) -> None:
    with pytest.raises(UpstreamError) as caught:
        await Simulator().run(MODEL, inputs)
    assert caught.value.status == 400 and caught.value.message.startswith("Workers AI: 5006")


async def test_unknown_model() -> None:
    with pytest.raises(UpstreamError) as caught:
        await Simulator().run("@cf/nobody/nothing", {"prompt": "x"})
    assert caught.value.status == 404


async def test_whole_answer_shape_and_determinism() -> None:
    sim = Simulator()
    a = await sim.run(MODEL, {"prompt": "tell me", "seed": 3})
    assert isinstance(a, dict) and set(a) == {"response", "tool_calls", "usage"}
    assert a == await Simulator().run(MODEL, {"prompt": "tell me", "seed": 3})
    assert a != await sim.run(MODEL, {"prompt": "tell me", "seed": 4})
    words = len(a["response"].split())
    assert a["usage"] == {"prompt_tokens": 2, "completion_tokens": words, "total_tokens": 2 + words}


async def test_wait_makes_a_slow_model(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    sim = Simulator()
    out = await sim.run(MODEL, {"messages": [{"role": "user", "content": "wait:2.5 echo: late"}]})
    assert isinstance(out, dict) and out["response"] == "late" and slept == [2.5]
    parts = [{"type": "text", "text": "wait:3 echo: parts"}]
    out = await sim.run(MODEL, {"messages": [{"role": "user", "content": parts}]})
    assert isinstance(out, dict) and out["response"] == "parts" and slept == [2.5, 3.0]
    assert parts[0]["text"] == "wait:3 echo: parts"  # the caller's inputs untouched
    out = await sim.run(MODEL, {"prompt": "wait:999 echo: capped"})
    assert isinstance(out, dict) and out["response"] == "capped" and slept[-1] == 60.0
    await sim.run(MODEL, {"messages": [{"role": "user", "content": "echo: wait:1 is not first"}]})
    assert len(slept) == 3


async def test_echo_and_max_tokens() -> None:
    sim = Simulator()
    out = await sim.run(MODEL, {"messages": [{"role": "system", "content": "s"},
                                             {"role": "user", "content": "echo:  two spaces kept"}]})
    assert isinstance(out, dict) and out["response"] == " two spaces kept"
    cut = await sim.run(MODEL, {"prompt": "echo: a b c d", "max_tokens": 2})
    assert isinstance(cut, dict) and cut["response"] == "a b" and cut["usage"]["completion_tokens"] == 2


async def test_stream_events_and_transport_chunks() -> None:
    sim = Simulator(chunk_size=4)
    stream = await sim.run(MODEL, {"prompt": "echo: naïve 🙂 end", "stream": True})
    assert not isinstance(stream, (dict, bytes))
    raw = [chunk async for chunk in stream]
    assert max(len(c) for c in raw) <= 4
    data = b"".join(raw)
    assert data.endswith(b"data: [DONE]\n\n")
    with pytest.raises(UnicodeDecodeError):  # some chunk boundary falls inside a character
        for chunk in raw:
            chunk.decode()

    async def again():  # noqa: ANN202
        yield data

    events = [json.loads(e) async for e in sse_events(again())]
    assert "".join(e["response"] for e in events) == "naïve 🙂 end"
    assert events[-1]["usage"]["completion_tokens"] == 3
    assert all("p" in e for e in events[:-1])
    record = sim.streams[-1]
    assert record.finished and record.closed and record.bytes_sent == len(data)


async def test_fail_mid_stream() -> None:
    stream = await Simulator().run(MODEL, {"prompt": "fail-mid:429", "stream": True})
    assert not isinstance(stream, (dict, bytes))
    received = b""
    with pytest.raises(UpstreamError) as caught:
        async for chunk in stream:
            received += chunk
    assert caught.value.status == 429
    assert b"partial" in received
