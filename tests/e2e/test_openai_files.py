"""The official ``openai`` client's files API against the real local server, unchanged."""

from __future__ import annotations

import io

import openai
import pytest
from openai import OpenAI

from .conftest import E2E_KEY

ADMIN = "sk-e2e-admin"


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def test_create_retrieve_content_delete(client: OpenAI) -> None:
    payload = b'{"prompt": "hi", "completion": "there"}\n' * 100
    created = client.files.create(file=("train.jsonl", io.BytesIO(payload)), purpose="fine-tune")
    assert created.id.startswith("file-") and created.object == "file"
    assert created.bytes == len(payload) and created.filename == "train.jsonl"
    assert created.purpose == "fine-tune" and created.status == "processed"
    assert client.files.retrieve(created.id) == created
    content = client.files.content(created.id)
    assert content.content == payload
    deleted = client.files.delete(created.id)
    assert deleted.id == created.id and deleted.deleted is True
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve(created.id)
    assert caught.value.body["param"] == "id"  # type: ignore[index]


def test_expires_after_and_errors(client: OpenAI, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "doc.txt"
    path.write_bytes(b"expiring")
    with path.open("rb") as f:
        created = client.files.create(
            file=f, purpose="user_data", expires_after={"anchor": "created_at", "seconds": 3600}
        )
    assert created.filename == "doc.txt" and created.expires_at == created.created_at + 3600
    with pytest.raises(openai.BadRequestError) as private:  # as at OpenAI: user_data is for models to read
        client.files.content(created.id)
    assert private.value.message.endswith("Not allowed to download files of purpose: user_data")
    for_assistants = client.files.create(file=("kb.txt", b"kb"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as private:  # nor are an assistant's
        client.files.content(for_assistants.id)
    assert private.value.message.endswith("Not allowed to download files of purpose: assistants")
    client.files.delete(for_assistants.id)
    with pytest.raises(openai.BadRequestError) as bad:
        client.files.create(file=("x.txt", b"x"), purpose="nonsense")  # type: ignore[arg-type]
    assert bad.value.body["param"] == "purpose"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as empty:
        client.files.create(file=("x.txt", b""), purpose="assistants")
    assert empty.value.body["param"] == "file"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.files.content("file-doesnotexist")
    client.files.delete(created.id)


def test_auto_pagination_walks_every_page(client: OpenAI) -> None:
    made = [
        client.files.create(file=(f"p{i}.txt", f"page {i}".encode()), purpose="vision").id
        for i in range(5)
    ]
    seen = [f.id for f in client.files.list(limit=2, purpose="vision", order="asc")]
    assert seen == made
    first = client.files.list(limit=2, purpose="vision")
    assert [f.id for f in first.data] == made[:-3:-1] and first.has_more is True
    newest_first = [f.id for f in client.files.list(limit=2, purpose="vision")]
    assert newest_first == made[::-1]
    for file_id in made:
        client.files.delete(file_id)
    assert list(client.files.list(purpose="vision")) == []


def test_the_admin_key_sees_every_file(client: OpenAI, server: str) -> None:
    created = client.files.create(file=("mine.txt", b"mine"), purpose="batch")
    admin = OpenAI(base_url=f"{server}/v1", api_key=ADMIN, max_retries=0)
    assert created.id in [f.id for f in admin.files.list()]
    assert admin.files.content(created.id).content == b"mine"
    assert admin.files.delete(created.id).deleted is True


async def test_the_async_client_works_too(server: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)
    created = await client.files.create(file=("a.txt", b"async"), purpose="batch")
    assert created.expires_at == created.created_at + 30 * 86400
    ids = [f.id async for f in client.files.list(limit=1, purpose="batch")]
    assert created.id in ids
    assert (await client.files.content(created.id)).content == b"async"
    await client.files.delete(created.id)
    await client.close()


def test_a_file_sent_before_its_purpose_over_http(client: OpenAI, server: str) -> None:
    # openai-node's order (file first), as raw HTTP through uvicorn; a few MB so it arrives in many chunks.
    import os

    import httpx

    payload = os.urandom(3 * 1024 * 1024)
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + payload +
            b'\r\n--B\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nvision\r\n--B--\r\n')
    response = httpx.post(f"{server}/v1/files", content=body, headers={
        "authorization": f"Bearer {E2E_KEY}", "content-type": "multipart/form-data; boundary=B"})
    assert response.status_code == 200, response.text
    file_id = response.json()["id"]
    assert client.files.retrieve(file_id).purpose == "vision"
    assert client.files.content(file_id).content == payload
    client.files.delete(file_id)
