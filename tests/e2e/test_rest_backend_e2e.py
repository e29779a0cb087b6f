"""Over real HTTP: ``openai-workers-ai simulator`` (the Workers AI REST API, simulated) and
``openai-workers-ai serve --ai rest`` pointed at it with ``CLOUDFLARE_API_BASE_URL``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from .conftest import free_port, output, start, stop

KEY = "sk-rest-e2e"
TOKEN = "cf-e2e-token"
MODEL = "@cf/meta/llama-3.1-8b-instruct"


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """(base URL, the lines the server printed at start)."""
    data = tmp_path_factory.mktemp("rest-e2e")
    sim_port, port = free_port(), free_port()
    sim_url, url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    sim = start(["simulator", "--port", str(sim_port), "--token", TOKEN], env, sim_url + "/", cwd=data)
    try:
        env.update(ACCESS_TOKEN=KEY, CLOUDFLARE_ACCOUNT_ID="acc-e2e", CLOUDFLARE_API_TOKEN=TOKEN,
                   CLOUDFLARE_API_BASE_URL=sim_url)
        # no --ai: credentials make REST the default
        server = start(["serve", "--port", str(port), "--data-dir", str(data / "d")], env, url + "/health", cwd=data)
        lines = output(server).splitlines(keepends=True)  # printed before it listens
        try:
            yield url, lines
        finally:
            stop(server)
    finally:
        stop(sim)


def test_server_prints_url_and_backend(rest_server: tuple[str, list[str]]) -> None:
    url, lines = rest_server
    text = "".join(lines)
    assert url in lines[0]
    assert "AI backend: Workers AI REST API" in text and "acc-e2e" in text
    assert TOKEN not in text and KEY not in text
    assert "1 key(s)" in text


@pytest.fixture
def client(rest_server: tuple[str, list[str]]) -> OpenAI:
    return OpenAI(base_url=rest_server[0] + "/v1", api_key=KEY, max_retries=0)


def test_chat_over_real_http(client: OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "echo: via REST ü"}])
    assert completion.choices[0].message.content == "via REST ü"
    chunks = list(client.chat.completions.create(
        model=MODEL, stream=True, stop=["ü"], messages=[{"role": "user", "content": "echo: via REST ü more"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "via REST "
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_errors_over_real_http(client: OpenAI) -> None:
    for content, error in [("fail:400", openai.BadRequestError), ("fail:404", openai.NotFoundError),
                           ("fail:429", openai.RateLimitError), ("fail:503", openai.InternalServerError)]:
        with pytest.raises(error):
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}])


def test_mid_stream_failure_over_real_http(client: OpenAI) -> None:
    stream = client.chat.completions.create(model=MODEL, stream=True,
                                            messages=[{"role": "user", "content": "fail-mid:503"}])
    with pytest.raises(openai.APIError):
        list(stream)
