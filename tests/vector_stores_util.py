"""Helpers for the vector-store tests: uploads, a store with files ingested, a tiny PDF and DOCX."""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any

import httpx
import pytest

from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.ports import Database, Statement


async def upload(client: httpx.AsyncClient, name: str, content: bytes | str, content_type: str | None = None) -> str:
    data = content.encode() if isinstance(content, str) else content
    file = (name, data, content_type) if content_type else (name, data)
    r = await client.post("/v1/files", files={"file": file}, data={"purpose": "assistants"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def store_with(client: httpx.AsyncClient, app: Any, documents: dict[str, str | bytes], **body: Any) -> tuple[str, dict[str, str]]:
    """A store holding ``documents`` (name → content), ingested; and the file id of each name."""
    ids = {name: await upload(client, name, content) for name, content in documents.items()}
    r = await client.post("/v1/vector_stores", json={"name": "kb", "file_ids": list(ids.values()), **body})
    assert r.status_code == 200, r.text
    await drain(app)
    return str(r.json()["id"]), ids


async def drain(app: Any) -> None:
    jobs = app.state.ctx.backends.jobs
    assert isinstance(jobs, InProcessJobs)
    await jobs.drain(app.state.ctx)


def store_reads(monkeypatch: pytest.MonkeyPatch, db: Database) -> list[str]:
    """The statements reading a vector store's row by id, appended as ``db`` prepares them."""
    reads: list[str] = []
    prepare = db.prepare

    def counting(sql: str) -> Statement:
        if sql.lstrip().upper().startswith("SELECT") and " FROM vector_stores WHERE id = ?" in sql:
            reads.append(sql)
        return prepare(sql)

    monkeypatch.setattr(db, "prepare", counting)
    return reads


def pdf(*lines: str, compress: bool = False) -> bytes:
    """A one-page PDF showing ``lines`` (what simple generators write)."""
    ops = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -14 Td" for line in lines) + " ET"
    stream = zlib.compress(ops.encode()) if compress else ops.encode()
    flate = " /Filter /FlateDecode" if compress else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        f"<< /Length {len(stream)}{flate} >>\nstream\n".encode() + stream + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    for n, body in enumerate(objects, start=1):
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    return out + b"trailer << /Root 1 0 R >>\n%%EOF\n"


def docx(*paragraphs: str) -> bytes:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>')
    return buffer.getvalue()
