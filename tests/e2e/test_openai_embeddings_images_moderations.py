"""The official ``openai`` client against the real local server: embeddings, images, moderations."""

from __future__ import annotations

import math
from collections.abc import Iterator

import openai
import pytest

from openai_workers_ai.simulator.embeddings import vector

from .conftest import E2E_KEY


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server + "/v1", api_key=E2E_KEY, max_retries=0) as c:
        yield c


def test_embeddings_default_base64(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["first", "second"])
    assert [d.index for d in result.data] == [0, 1]
    first = result.data[0].embedding
    assert len(first) == 768
    assert first == pytest.approx(vector("@cf/baai/bge-base-en-v1.5", "first", 768), abs=1e-6)
    assert result.usage.prompt_tokens == result.usage.total_tokens > 0


def test_embeddings_float_and_dimensions(client: openai.OpenAI) -> None:
    result = client.embeddings.create(
        model="@cf/google/embeddinggemma-300m", input="hello", encoding_format="float", dimensions=128
    )
    v = result.data[0].embedding
    assert len(v) == 128 and math.sqrt(sum(x * x for x in v)) == pytest.approx(1.0)


def test_embeddings_errors_are_openai_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=64)
    assert info.value.body["param"] == "dimensions"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="text-embedding-3-small", input="")
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nope", input="x")
