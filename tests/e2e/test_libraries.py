"""The libraries people build on, with their defaults, against the real local server (simulator
backend) on ``gpt-4.1`` (llama-3.3-70b: no tool_choice upstream, so their forced tool calls are
constrained output): instructor, pydantic-ai, LangChain's structured output and embeddings."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from pydantic import BaseModel, Field

from ..vocab import tiktoken_cache
from .conftest import E2E_KEY

MODEL = "gpt-4.1"


class Recorded:
    """An httpx client for a library's OpenAI client that keeps the JSON bodies it sends."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.client = httpx.Client(event_hooks={"request": [self._keep]})
        self.aclient = httpx.AsyncClient(event_hooks={"request": [self._akeep]})

    def _keep(self, request: httpx.Request) -> None:
        self.bodies.append(json.loads(request.read() or b"null"))

    async def _akeep(self, request: httpx.Request) -> None:
        self._keep(request)


class UserInfo(BaseModel):
    """A person mentioned in the text."""

    name: str
    age: int = Field(ge=0, le=150)
    emails: list[str]


class CityInfo(BaseModel):
    city: str
    country: str
    population: int


def test_instructor_default_mode(server: str) -> None:
    import instructor

    sent = Recorded()
    client = instructor.from_openai(OpenAI(base_url=server + "/v1", api_key=E2E_KEY, max_retries=0,
                                           http_client=sent.client))
    assert client.mode == instructor.Mode.TOOLS
    user = client.chat.completions.create(
        model=MODEL, response_model=UserInfo, max_retries=0,
        messages=[{"role": "user", "content": "John Doe is 30, reachable at john@example.com."}])
    assert isinstance(user, UserInfo) and 0 <= user.age <= 150 and user.emails
    assert sent.bodies[-1]["tool_choice"] == {"type": "function", "function": {"name": "UserInfo"}}


def test_pydantic_ai_agent_with_an_output_type(server: str) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    sent = Recorded()
    provider = OpenAIProvider(base_url=server + "/v1", api_key=E2E_KEY, http_client=sent.aclient)
    agent = Agent(OpenAIChatModel(MODEL, provider=provider), output_type=CityInfo, retries=0)
    result = agent.run_sync("The largest city in Japan?")
    assert isinstance(result.output, CityInfo)
    assert result.usage().output_tokens > 0
    assert sent.bodies[-1]["tool_choice"] == "required"  # its output tool, forced


def test_langchain_structured_output_by_function_calling(server: str) -> None:
    from langchain_openai import ChatOpenAI

    sent = Recorded()
    llm = ChatOpenAI(model=MODEL, base_url=server + "/v1", api_key=E2E_KEY, max_retries=0,  # type: ignore[arg-type]
                     http_client=sent.client)
    structured = llm.with_structured_output(UserInfo, method="function_calling")
    user = structured.invoke("John Doe is 30, reachable at john@example.com.")
    assert isinstance(user, UserInfo)
    raw = llm.with_structured_output(UserInfo, method="function_calling", include_raw=True).invoke("John?")
    assert isinstance(raw, dict) and raw["parsing_error"] is None
    assert raw["raw"].tool_calls[0]["name"] == "UserInfo"
    assert sent.bodies[-1]["tool_choice"]["function"]["name"] == "UserInfo"


def test_langchain_openai_embeddings_with_its_defaults(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LangChain tokenises with tiktoken and sends token arrays (its default); tiktoken's files come
    from the test's offline cache, as they would from its download cache."""
    import tiktoken.registry
    from langchain_openai import OpenAIEmbeddings

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache(tmp_path / "tiktoken")))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    sent = Recorded()
    embeddings = OpenAIEmbeddings(model="text-embedding-3-small", base_url=server + "/v1",
                                  api_key=E2E_KEY, http_client=sent.client)  # type: ignore[arg-type]
    texts = ["Zürich in spring", "日本語のテキスト", "a longer text " * 50]
    vectors = embeddings.embed_documents(texts)
    query = embeddings.embed_query("Zürich in spring")
    inputs = sent.bodies[0]["input"]
    assert all(isinstance(ids, list) and all(isinstance(i, int) for i in ids) for ids in inputs)  # token ids
    # The same vectors as for the texts themselves: the server decoded the token ids to the same text.
    plain = OpenAI(base_url=server + "/v1", api_key=E2E_KEY).embeddings.create(
        model="text-embedding-3-small", input=texts, encoding_format="float")
    for got, want in zip(vectors, plain.data, strict=True):
        assert len(got) == 768 and _cosine(got, want.embedding) > 0.9999
    assert _cosine(query, vectors[0]) > 0.9999


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
