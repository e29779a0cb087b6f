"""The official ``openai`` client's stored chat completions against the real local server, unchanged:
``create(store=True, metadata=…)``, ``retrieve``, ``list(metadata=…)``, ``update``, ``messages.list``,
``delete``, streamed and not."""

from __future__ import annotations

import uuid

import openai
import pytest
from openai import OpenAI

from .conftest import E2E_KEY

MODEL = "@cf/meta/llama-3.1-8b-instruct"


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def test_store_retrieve_list_update_messages_delete(client: OpenAI) -> None:
    run = uuid.uuid4().hex  # the server is shared: this test's completions are the ones with its run id
    created = client.chat.completions.create(
        model=MODEL, store=True, metadata={"run": run, "kind": "plain"},
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "echo: stored"}])
    assert created.choices[0].message.content == "stored"
    retrieved = client.chat.completions.retrieve(created.id)  # OpenAI's record: no refusal, annotations, details
    assert retrieved.id == created.id and retrieved.choices[0].message.content == created.choices[0].message.content
    assert retrieved.usage is not None and retrieved.usage.prompt_tokens_details is None
    assert retrieved.metadata == {"run": run, "kind": "plain"}

    stream = client.chat.completions.create(
        model=MODEL, store=True, stream=True, metadata={"run": run, "kind": "streamed"},
        messages=[{"role": "user", "content": "echo: streamed"}])
    streamed_id = None
    for chunk in stream:
        streamed_id = chunk.id
    assert streamed_id is not None
    assert client.chat.completions.retrieve(streamed_id).choices[0].message.content == "streamed"

    listed = client.chat.completions.list(metadata={"run": run})
    assert sorted(c.id for c in listed.data) == sorted([created.id, streamed_id])
    if listed.data[0].created != listed.data[1].created:  # newest first (within a second, by id)
        assert [c.id for c in listed.data] == [streamed_id, created.id]
    only = client.chat.completions.list(metadata={"run": run, "kind": "streamed"}, model=MODEL)
    assert [c.id for c in only.data] == [streamed_id]
    paged = [c.id for c in client.chat.completions.list(metadata={"run": run}, limit=1)]  # auto-pagination
    assert sorted(paged) == sorted([created.id, streamed_id])

    updated = client.chat.completions.update(created.id, metadata={"run": run, "kind": "renamed"})
    assert updated.metadata == {"run": run, "kind": "renamed"}
    assert [c.id for c in client.chat.completions.list(metadata={"kind": "renamed", "run": run})] == [created.id]

    messages = client.chat.completions.messages.list(created.id)
    assert [(m.id, m.role, m.content) for m in messages.data] == [
        (f"{created.id}-0", "system", "Be brief."), (f"{created.id}-1", "user", "echo: stored")]
    assert [m.id for m in client.chat.completions.messages.list(created.id, limit=1)] == [
        f"{created.id}-0", f"{created.id}-1"]  # auto-pagination

    deleted = client.chat.completions.delete(created.id)
    assert deleted.id == created.id and deleted.deleted is True and deleted.object == "chat.completion.deleted"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.retrieve(created.id)
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.update(streamed_id, metadata={"k" * 65: "v"})
    assert bad.value.body["param"] == "metadata"  # type: ignore[index]
    client.chat.completions.delete(streamed_id)
    assert client.chat.completions.list(metadata={"run": run}).data == []
