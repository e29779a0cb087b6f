"""Webhook events end to end: the local server (``serve``) with ``WEBHOOK_URL`` at a small HTTP receiver on
loopback; what arrives for a background response is accepted by the official client's ``webhooks.unwrap``."""

from __future__ import annotations

import base64
import os
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openai
import pytest

from .conftest import E2E_KEY, ROOT, free_port, start, stop

SECRET = "whsec_" + base64.b64encode(b"the e2e webhook secret, 32 bytes").decode()

# The receiver is on loopback, over plain http: the server's fetcher is let reach it as the fetcher tests
# let theirs (tests/test_fetchers.py, allow_private), and FETCH_ALLOW_HTTP lets it use http. A deployment's
# WEBHOOK_URL is under outbound.py's rules: https, a public address (docs/webhooks.md).
SERVE = textwrap.dedent("""
    import functools, sys
    from openai_workers_ai import cli
    cli.HttpFetcher = functools.partial(cli.HttpFetcher, allow_private=True)
    cli.main(sys.argv[1:])
""")


class Received:
    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []
        self.failures = 1  # the first delivery is answered 500: the server's job runner retries it


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["content-length"]))
            received.deliveries.append((body, {k.lower(): v for k, v in self.headers.items()}))
            status = 500 if received.failures else 200
            received.failures = max(0, received.failures - 1)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hooks", received
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(tmp_path: Path, receiver: tuple[str, Received]) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.update(ACCESS_TOKEN=E2E_KEY, WEBHOOK_URL=receiver[0], WEBHOOK_SECRET=SECRET, FETCH_ALLOW_HTTP="true",
               PYTHONPATH=str(ROOT / "src"))
    url = f"http://127.0.0.1:{port}"
    proc = start(["serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--ai", "simulator"],
                 env, url + "/health", cwd=tmp_path, entry=("-c", SERVE))
    yield url
    stop(proc)


def test_a_background_responses_event_unwraps_with_the_official_client(
        server: str, receiver: tuple[str, Received]) -> None:
    _, received = receiver
    client = openai.OpenAI(base_url=server + "/v1", api_key=E2E_KEY, webhook_secret=SECRET)
    response = client.responses.create(model="@cf/meta/llama-3.1-8b-instruct", input="echo: hello", background=True)
    deadline = time.monotonic() + 30  # the in-process runner retries a failed job after 5 s
    while len(received.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(received.deliveries) == 2, received.deliveries  # a 500, then the same event again
    events = [client.webhooks.unwrap(body, headers) for body, headers in received.deliveries]
    assert events[0] == events[1] and received.deliveries[0][0] == received.deliveries[1][0]
    event = events[0]
    assert (event.type, event.data.id, event.object) == ("response.completed", response.id, "event")
    assert client.responses.retrieve(response.id).status == "completed"
    assert received.deliveries[0][1]["webhook-id"] == received.deliveries[1][1]["webhook-id"]
