"""The official ``openai`` client's Uploads API against the real local server, unchanged."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from .conftest import E2E_KEY


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def test_create_parts_complete(client: OpenAI) -> None:
    chunks = [os.urandom(2 * 1024 * 1024), b'{"a": 1}\n' * 1000, b"tail"]
    payload = b"".join(chunks)
    upload = client.uploads.create(filename="big.jsonl", purpose="fine-tune", bytes=len(payload),
                                   mime_type="application/jsonl")
    assert upload.object == "upload" and upload.status == "pending" and upload.file is None
    assert upload.expires_at == upload.created_at + 3600
    parts = [client.uploads.parts.create(upload_id=upload.id, data=io.BytesIO(chunk)) for chunk in reversed(chunks)]
    assert all(part.object == "upload.part" and part.upload_id == upload.id for part in parts)
    done = client.uploads.complete(upload_id=upload.id, part_ids=[part.id for part in reversed(parts)],
                                   md5=hashlib.md5(payload).hexdigest())
    assert done.status == "completed" and done.file is not None
    assert done.file.bytes == len(payload) and done.file.filename == "big.jsonl" and done.file.purpose == "fine-tune"
    assert client.files.retrieve(done.file.id) == done.file
    assert client.files.content(done.file.id).content == payload
    with pytest.raises(openai.BadRequestError) as again:
        client.uploads.complete(upload_id=upload.id, part_ids=[part.id for part in parts])
    assert again.value.body["param"] == "upload_id"  # type: ignore[index]
    client.files.delete(done.file.id)


def test_upload_file_chunked(client: OpenAI, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    path = tmp_path / "doc.bin"
    path.write_bytes(payload)
    done = client.uploads.upload_file_chunked(file=path, mime_type="application/octet-stream", purpose="vision",
                                              bytes=len(payload), part_size=100_000)
    assert done.status == "completed" and done.file is not None and done.file.filename == "doc.bin"
    assert client.files.content(done.file.id).content == payload
    in_memory = client.uploads.upload_file_chunked(file=payload[:1000], filename="m.bin", bytes=1000,
                                                   mime_type="application/octet-stream", purpose="batch",
                                                   part_size=300)
    assert in_memory.file is not None and client.files.content(in_memory.file.id).content == payload[:1000]
    for file_id in (done.file.id, in_memory.file.id):
        client.files.delete(file_id)


def test_cancel_and_errors(client: OpenAI) -> None:
    upload = client.uploads.create(filename="x.txt", purpose="assistants", bytes=3, mime_type="text/plain")
    part = client.uploads.parts.create(upload_id=upload.id, data=b"abc")
    with pytest.raises(openai.BadRequestError) as short:
        client.uploads.complete(upload_id=upload.id, part_ids=["part_nope"])
    assert short.value.body["param"] == "part_ids[0]"  # type: ignore[index]
    cancelled = client.uploads.cancel(upload.id)
    assert cancelled.status == "cancelled" and cancelled.file is None
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(upload_id=upload.id, part_ids=[part.id])
    with pytest.raises(openai.NotFoundError):
        client.uploads.cancel("upload_doesnotexist")
    with pytest.raises(openai.BadRequestError) as bad:
        client.uploads.create(filename="x", purpose="nonsense", bytes=1, mime_type="text/plain")  # type: ignore[arg-type]
    assert bad.value.body["param"] == "purpose"  # type: ignore[index]
