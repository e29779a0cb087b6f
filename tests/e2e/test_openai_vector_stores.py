"""The official ``openai`` client's vector stores against the real local server: create, upload and
poll, batches, search. (A Response and an Assistant answering with ``file_search`` come with those APIs.)"""

from __future__ import annotations

import io

import openai
import pytest
from openai import OpenAI

from .conftest import E2E_KEY


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def test_create_upload_and_poll_search(client: OpenAI) -> None:
    store = client.vector_stores.create(name="handbook", metadata={"team": "support"},
                                        expires_after={"anchor": "last_active_at", "days": 7})
    assert store.id.startswith("vs_") and store.status == "completed" and store.file_counts.total == 0
    passwords = io.BytesIO(b"To reset a forgotten password, open Settings, choose Security and press Reset.")
    attached = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("passwords.md", passwords), poll_interval_ms=50,
        attributes={"topic": "account"})
    assert attached.status == "completed" and attached.last_error is None and attached.attributes == {"topic": "account"}
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id, poll_interval_ms=50,
        files=[("billing.txt", io.BytesIO(b"Invoices are emailed on the first day of each month.")),
               ("holidays.txt", io.BytesIO(b"The office is closed on public holidays."))])
    assert batch.status == "completed" and batch.file_counts.completed == 2
    assert {f.id for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)} == \
        {f.id for f in client.vector_stores.files.list(store.id) if f.id != attached.id}

    page = client.vector_stores.search(store.id, query="How do I reset my password?", max_num_results=2)
    results = list(page)
    assert len(results) == 2
    assert results[0].filename == "passwords.md" and results[0].file_id == attached.id
    assert results[0].content[0].type == "text" and "Reset" in results[0].content[0].text
    assert 0 <= results[1].score <= results[0].score <= 1
    filtered = list(client.vector_stores.search(store.id, query="invoices",
                                                filters={"type": "eq", "key": "topic", "value": "account"}))
    assert [r.filename for r in filtered] == ["passwords.md"]

    content = client.vector_stores.files.content(attached.id, vector_store_id=store.id)
    assert "Reset" in "".join(part.text or "" for part in content)
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3
    deleted = client.vector_stores.delete(store.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.create(chunking_strategy={"type": "static", "static": {
            "max_chunk_size_tokens": 800, "chunk_overlap_tokens": 500}})
    assert caught.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=client.vector_stores.create().id, file_id="file-missing")
