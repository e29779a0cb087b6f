"""Benchmark: a streamed Assistants run's time to its first ``thread.message.delta``, against a streamed
chat completion's first content chunk on the same model, over the local server.

    uv run python bench/assistants.py [--rounds 200]

Starts ``openai-workers-ai serve`` (simulator backend, SQLite + folder storage) and, in alternating order
round after round, times from sending the request to the first frame that carries text:

- ``run``: ``POST /v1/threads/{id}/runs`` with ``stream: true`` on a one-message thread (made beforehand,
  untimed) → the first ``event: thread.message.delta``. On the way the gateway inserts the run, claims it,
  reads the thread and inserts the reply and its step (D1 writes the chat completion does not make);
- ``chat``: ``POST /v1/chat/completions`` with ``stream: true``, the same model, instructions and message
  → the first chunk whose ``delta.content`` is not empty.

Prints both medians and 90th percentiles, the run's median as a ratio of the chat's, and the median of
the per-round differences (run − chat, each round's pair measured back to back). The simulator answers
at once, so the figures are the gateway's own time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, local_server  # noqa: E402

MODEL = "@cf/meta/llama-4-scout-17b-16e-instruct"
INSTRUCTIONS = "Be brief."
TEXT = "echo: The quick brown fox jumps over the lazy dog."


def time_run(client: httpx.Client, assistant_id: str) -> float:
    thread = client.post("/v1/threads", json={"messages": [{"role": "user", "content": TEXT}]}).json()
    started = time.perf_counter()
    first = None
    with client.stream("POST", f"/v1/threads/{thread['id']}/runs",
                       json={"assistant_id": assistant_id, "stream": True}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if first is None and line == "event: thread.message.delta":
                first = time.perf_counter() - started
    assert first is not None, "no thread.message.delta"
    return first


def time_chat(client: httpx.Client) -> float:
    body = {"model": MODEL, "stream": True,
            "messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": TEXT}]}
    started = time.perf_counter()
    first = None
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if first is None and line.startswith("data: {"):
                choices = json.loads(line[6:])["choices"]
                if choices and choices[0]["delta"].get("content"):
                    first = time.perf_counter() - started
    assert first is not None, "no content chunk"
    return first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    runs: list[float] = []
    chats: list[float] = []
    with local_server("bench-assistants-") as (url, _pid):
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}, timeout=60) as client:
            assistant = client.post("/v1/assistants", json={"model": MODEL, "instructions": INSTRUCTIONS}).json()
            for _ in range(20):  # warm up: imports, first statements, connection
                time_run(client, assistant["id"])
                time_chat(client)
            for i in range(args.rounds):
                if i % 2:
                    runs.append(time_run(client, assistant["id"]))
                    chats.append(time_chat(client))
                else:
                    chats.append(time_chat(client))
                    runs.append(time_run(client, assistant["id"]))

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if q != 50 else statistics.median(values) * 1000

    differences = [r - c for r, c in zip(runs, chats, strict=True)]
    print(f"time to first text, local server (simulator, SQLite + folder R2), {args.rounds} rounds, {MODEL}")
    print(f"  chat completion, first content chunk:     median {ms(chats, 50):6.2f} ms   p90 {ms(chats, 90):6.2f} ms")
    print(f"  assistants run, first thread.message.delta: median {ms(runs, 50):6.2f} ms   p90 {ms(runs, 90):6.2f} ms")
    print(f"  run / chat (medians): {statistics.median(runs) / statistics.median(chats):.2f}x;"
          f"  median of per-round differences (run - chat): {statistics.median(differences) * 1000:+.2f} ms")


if __name__ == "__main__":
    main()
