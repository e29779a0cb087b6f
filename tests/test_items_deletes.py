"""Deleting a conversation or a response whose items live in R2 (each larger than ``INLINE_MAX``) is a
few calls, however many items: their objects go a thousand a call, then their rows in one statement
(one call per item was three: 500 images in a conversation passed a Worker invocation's 1,000)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.repositories import items

LLAMA = "@cf/meta/llama-3.1-8b-instruct"


def message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


@pytest.mark.parametrize("container", ["conversation", "response"])
async def test_deleting_many_items_held_in_r2_is_a_few_calls(
    client: httpx.AsyncClient, db: SQLiteD1, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch, container: str
) -> None:
    monkeypatch.setattr(items, "INLINE_MAX", 10)  # every item to R2
    monkeypatch.setattr(items, "R2_DELETE_BATCH", 7)
    texts = [f"echo: item number {i}" for i in range(20)]
    if container == "conversation":
        r = await client.post("/v1/conversations", json={"items": [message(t) for t in texts]})
        url = f"/v1/conversations/{r.json()['id']}"
    else:
        r = await client.post("/v1/responses", json={"model": LLAMA, "input": [message(t) for t in texts]})
        url = f"/v1/responses/{r.json()['id']}"
    assert r.status_code == 200, r.text
    assert len(await bucket.list("items/")) >= 20
    calls = {"d1": 0, "r2": 0}
    prepare, delete = db.prepare, bucket.delete

    def counted_prepare(sql: str) -> Any:
        calls["d1"] += 1
        return prepare(sql)

    async def counted_delete(keys: Any) -> None:
        calls["r2"] += 1
        await delete(keys)

    monkeypatch.setattr(db, "prepare", counted_prepare)
    monkeypatch.setattr(bucket, "delete", counted_delete)
    r = await client.delete(url)
    assert r.status_code == 200 and r.json()["deleted"] is True, r.text
    stored = len(texts) + (container == "response")  # a response's output item too
    assert calls["r2"] == -(-stored // 7)
    assert calls["d1"] <= 5 + 2 * calls["r2"], calls  # the look-up and the batch, then two a round
    assert await bucket.list("items/") == []
    assert db.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
    assert (await client.get(url)).status_code == 404
