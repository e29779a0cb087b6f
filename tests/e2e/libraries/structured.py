"""The libraries people build on, run with their current releases in an environment of their own (``uv run
--isolated``: they need newer pydantic / openai than the project's environment, which keeps the Worker's pins),
against a server. ``python structured.py SCENARIO BASE_URL KEY`` prints one JSON line of what happened:
what the library returned and what it sent (the recorded request bodies)."""

from __future__ import annotations

import importlib
import json
import math
import sys
from typing import Any

import openai
from pydantic import BaseModel, Field

# The HTTP library the installed openai client takes as ``http_client``: httpx2 since its 3.x releases.
httpx: Any = importlib.import_module("httpx2" if hasattr(openai._base_client, "httpx2") else "httpx")

MODEL = "gpt-4.1"


class Recorded:
    """An httpx client for a library's OpenAI client that keeps the JSON bodies it sends."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.client = httpx.Client(event_hooks={"request": [self._keep]})
        self.aclient = httpx.AsyncClient(event_hooks={"request": [self._akeep]})

    def _keep(self, request: Any) -> None:
        self.bodies.append(json.loads(request.read() or b"null"))

    async def _akeep(self, request: Any) -> None:
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


def instructor_default_mode(base: str, key: str) -> dict[str, Any]:
    import instructor
    from openai import OpenAI

    sent = Recorded()
    client = instructor.from_openai(OpenAI(base_url=base, api_key=key, max_retries=0, http_client=sent.client))
    user = client.chat.completions.create(
        model=MODEL, response_model=UserInfo, max_retries=0,
        messages=[{"role": "user", "content": "John Doe is 30, reachable at john@example.com."}])
    return {"mode": client.mode.value, "user": user.model_dump(), "tool_choice": sent.bodies[-1]["tool_choice"]}


def instructor_md_json(base: str, key: str) -> dict[str, Any]:
    """instructor's Mode.MD_JSON: no response_format, the answer asked for in a ```json code block."""
    import instructor
    from openai import OpenAI

    sent = Recorded()
    client = instructor.from_openai(OpenAI(base_url=base, api_key=key, max_retries=0, http_client=sent.client),
                                    mode=instructor.Mode.MD_JSON)
    user = client.chat.completions.create(
        model=MODEL, response_model=UserInfo, max_retries=0,
        messages=[{"role": "user", "content": "John Doe is 30, reachable at john@example.com."}])
    body = sent.bodies[-1]
    return {"user": user.model_dump(), "response_format": body.get("response_format"),
            "asked": body["messages"][-1]["content"]}


def pydantic_ai_output_type(base: str, key: str) -> dict[str, Any]:
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    sent = Recorded()
    provider = OpenAIProvider(base_url=base, api_key=key, http_client=sent.aclient)
    agent = Agent(OpenAIChatModel(MODEL, provider=provider), output_type=CityInfo, retries=0)
    result = agent.run_sync("The largest city in Japan?")
    return {"output": result.output.model_dump(), "output_tokens": result.usage().output_tokens,
            "tool_choice": sent.bodies[-1]["tool_choice"]}


def langchain_function_calling(base: str, key: str) -> dict[str, Any]:
    from langchain_openai import ChatOpenAI

    sent = Recorded()
    llm = ChatOpenAI(model=MODEL, base_url=base, api_key=key, max_retries=0, http_client=sent.client)
    user = llm.with_structured_output(UserInfo, method="function_calling").invoke(
        "John Doe is 30, reachable at john@example.com.")
    raw = llm.with_structured_output(UserInfo, method="function_calling", include_raw=True).invoke("John?")
    return {"user": user.model_dump(), "parsing_error": str(raw["parsing_error"] or ""),
            "raw_tool": raw["raw"].tool_calls[0]["name"], "tool_choice": sent.bodies[-1]["tool_choice"]}


def langchain_embeddings(base: str, key: str) -> dict[str, Any]:
    """LangChain tokenises with tiktoken and sends token arrays (its default); tiktoken's files come from
    TIKTOKEN_CACHE_DIR (the test fills it offline, as tiktoken's own download cache)."""
    from langchain_openai import OpenAIEmbeddings
    from openai import OpenAI

    sent = Recorded()
    embeddings = OpenAIEmbeddings(model="text-embedding-3-small", base_url=base, api_key=key, http_client=sent.client)
    texts = ["Zürich in spring", "日本語のテキスト", "a longer text " * 50]
    vectors = embeddings.embed_documents(texts)
    query = embeddings.embed_query("Zürich in spring")
    plain = OpenAI(base_url=base, api_key=key).embeddings.create(model="text-embedding-3-small", input=texts,
                                                                 encoding_format="float")
    return {"sent_token_ids": all(isinstance(ids, list) and all(isinstance(i, int) for i in ids)
                                  for ids in sent.bodies[0]["input"]),
            "dimensions": [len(v) for v in vectors],
            "similarity_to_text": [_cosine(got, want.embedding) for got, want in zip(vectors, plain.data, strict=True)],
            "query_to_document": _cosine(query, vectors[0])}


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


SCENARIOS = {f.__name__: f for f in (instructor_default_mode, instructor_md_json, pydantic_ai_output_type, langchain_function_calling,
                                     langchain_embeddings)}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]](sys.argv[2], sys.argv[3]), ensure_ascii=False))
