"""The local server runs background jobs itself: a generated image's expiry job deletes it on time."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from openai_workers_ai.adapters.local import FolderR2

from .conftest import E2E_KEY, free_port, start, stop


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server whose image URLs live three seconds (long enough to be seen stored on a slow machine);
    its base URL and data folder."""
    port = free_port()
    data = tmp_path_factory.mktemp("jobs-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.update(ACCESS_TOKEN=E2E_KEY, IMAGE_URL_TTL="3")
    url = f"http://127.0.0.1:{port}"
    proc = start(["serve", "--port", str(port), "--data-dir", str(data), "--ai", "simulator"], env, url + "/health",
                 cwd=data)
    yield url, data
    stop(proc)


def test_an_image_is_deleted_by_the_servers_job_runner(short_lived: tuple[str, Path]) -> None:
    url, data = short_lived
    client = openai.OpenAI(base_url=url + "/v1", api_key=E2E_KEY)
    image = client.images.generate(prompt="a lighthouse", model="dall-e-2", response_format="url")
    assert image.data is not None and image.data[0].url
    bucket = FolderR2(data / "r2")  # the server's R2 folder, read as the server reads it

    def stored() -> list[str]:
        return [o.key for o in asyncio.run(bucket.list("images/"))]

    assert len(stored()) == 1
    deadline = time.monotonic() + 10
    while stored() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored() == [], "the expiry job did not run"
    assert httpx.get(image.data[0].url).status_code == 404
