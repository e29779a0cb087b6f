"""The official ``openai`` client's Batch API against the real local server (its in-process job runner),
unchanged: a file of chat requests in, the answers out, in order; a bad file failed with its line named."""

from __future__ import annotations

import io
import json
import time

import openai
import pytest
from openai import OpenAI
from openai.types import Batch

from .conftest import E2E_KEY

MODEL = "@cf/meta/llama-3.1-8b-instruct"


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def requests_file(client: OpenAI, lines: list[dict[str, object]]) -> str:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return client.files.create(file=("requests.jsonl", io.BytesIO(data)), purpose="batch").id


def chat(custom_id: str, text: str) -> dict[str, object]:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": MODEL, "messages": [{"role": "user", "content": text}]}}


def until_ended(client: OpenAI, batch: Batch) -> Batch:
    deadline = time.monotonic() + 30
    while batch.status in ("validating", "in_progress", "finalizing", "cancelling"):
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)
        batch = client.batches.retrieve(batch.id)
    return batch


def test_a_batch_of_chats_answers_every_request(client: OpenAI) -> None:
    lines = [chat(f"q{i}", f"echo: answer {i}") for i in range(12)] + [chat("bad", "fail:400")]
    batch = client.batches.create(input_file_id=requests_file(client, lines), endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"run": "e2e"})
    assert batch.object == "batch" and batch.status == "validating" and batch.metadata == {"run": "e2e"}
    done = until_ended(client, batch)
    assert done.status == "completed", done
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (13, 12, 1)
    assert done.output_file_id is not None and done.error_file_id is not None
    output = [json.loads(line) for line in client.files.content(done.output_file_id).text.splitlines()]
    assert [(o["custom_id"], o["response"]["body"]["choices"][0]["message"]["content"]) for o in output] == [
        (f"q{i}", f"answer {i}") for i in range(12)]
    [error] = [json.loads(line) for line in client.files.content(done.error_file_id).text.splitlines()]
    assert error["custom_id"] == "bad" and error["response"]["status_code"] == 400
    assert batch.id in [b.id for b in client.batches.list(limit=100)]


def test_a_bad_file_fails_with_its_line_and_an_ended_batch_is_not_cancelled(client: OpenAI) -> None:
    lines = [chat("same", "echo: a"), chat("same", "echo: b")]
    batch = client.batches.create(input_file_id=requests_file(client, lines), endpoint="/v1/chat/completions",
                                  completion_window="24h")
    done = until_ended(client, batch)
    assert done.status == "failed" and done.errors is not None and done.errors.data is not None
    assert [(e.code, e.line) for e in done.errors.data] == [("duplicate_custom_id", 2)]
    with pytest.raises(openai.ConflictError) as ended:  # as at OpenAI: a 409
        client.batches.cancel(batch.id)
    assert ended.value.message.endswith("Cannot cancel a batch with status 'failed'.")
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_000000000000000000000000")
