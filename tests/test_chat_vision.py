"""Chat completions vision: ``image_url`` parts (data: and https URLs) to vision models;
https images are downloaded through the Fetcher port (a fake here, no network)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.ports import Backends, Fetched
from openai_workers_ai.simulator import Simulator

from .openapi import assert_matches

URL = "/v1/chat/completions"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # classic, vision
GEMMA3 = "@cf/google/gemma-3-12b-it"
KIMI = "@cf/moonshotai/kimi-k2.6"  # openai family, vision
TEXT_ONLY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 24
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


class FakeFetcher:
    """Serves ``https://img.test/<name>`` from a dict; anything else fails like a 404."""

    def __init__(self) -> None:
        self.files = {"https://img.test/cat.jpg": Fetched(JPEG, "image/jpeg"),
                      "https://img.test/untyped": Fetched(PNG, "application/octet-stream"),
                      "https://img.test/page.html": Fetched(b"<html></html>", "text/html")}
        self.requested: list[tuple[str, int]] = []

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        self.requested.append((url, max_bytes))
        if url not in self.files:
            raise OSError("HTTP 404")
        return self.files[url]


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture
def backends(simulator: Simulator, db: SQLiteD1, bucket: FolderR2, fetcher: FakeFetcher) -> Backends:
    return Backends(ai=simulator, db=db, bucket=bucket, fetcher=fetcher)


def body(model: str, *urls: str, text: str = "What is in these pictures?", **fields: Any) -> dict[str, Any]:
    parts = [{"type": "text", "text": text}, *({"type": "image_url", "image_url": {"url": u}} for u in urls)]
    return {"model": model, "messages": [{"role": "user", "content": parts}], **fields}


def error_of(r: httpx.Response, param: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    return error


@pytest.mark.parametrize("model", [SCOUT, GEMMA3, KIMI])
async def test_data_url_reaches_the_model(client: httpx.AsyncClient, simulator: Simulator, model: str) -> None:
    r = await client.post(URL, json=body(model, PNG_URL))
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "CreateChatCompletionResponse")
    assert r.json()["choices"][0]["message"]["content"] == "I received 1 image: image/png."
    sent = simulator.calls[-1][1]["messages"][0]["content"]
    assert sent == [{"type": "text", "text": "What is in these pictures?"},
                    {"type": "image_url", "image_url": {"url": PNG_URL}}]


async def test_https_urls_are_downloaded_and_inlined(
    client: httpx.AsyncClient, simulator: Simulator, fetcher: FakeFetcher
) -> None:
    r = await client.post(URL, json=body(SCOUT, "https://img.test/cat.jpg", PNG_URL, "https://img.test/untyped",
                                         stream=True))
    assert r.status_code == 200, r.text
    text = "".join(line for line in r.text.split("\n") if line.startswith("data: "))
    assert "image/jpeg" in text
    sent = [p["image_url"]["url"] for p in simulator.calls[-1][1]["messages"][0]["content"][1:]]
    assert sent == ["data:image/jpeg;base64," + base64.b64encode(JPEG).decode(), PNG_URL,
                    PNG_URL]  # the untyped download was sniffed as PNG
    assert [u for u, _ in fetcher.requested] == ["https://img.test/cat.jpg", "https://img.test/untyped"]
    assert all(limit == 10 * 1024 * 1024 for _, limit in fetcher.requested)


async def test_images_in_earlier_turns_count_too(client: httpx.AsyncClient) -> None:
    first = body(KIMI, PNG_URL, PNG_URL)["messages"]
    messages = [*first, {"role": "assistant", "content": "Two pictures."},
                {"role": "user", "content": "And now?"}]
    r = await client.post(URL, json={"model": KIMI, "messages": messages})
    assert r.json()["choices"][0]["message"]["content"] == "I received 2 images: image/png, image/png."


async def test_non_vision_model_is_a_400(client: httpx.AsyncClient, simulator: Simulator,
                                         fetcher: FakeFetcher) -> None:
    calls = len(simulator.calls)
    error = error_of(await client.post(URL, json=body(TEXT_ONLY, "https://img.test/cat.jpg")),
                     "messages[0].content[1]")
    assert error["code"] == "image_not_supported"
    assert len(simulator.calls) == calls and not fetcher.requested  # nothing downloaded, nothing run


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://img.test/missing.png", "invalid_image_url"),
        ("https://img.test/page.html", "invalid_image_format"),
        ("ftp://img.test/cat.jpg", "invalid_image_url"),
        ("data:image/png;base64,!!!notbase64", "invalid_image_url"),
        ("data:text/plain;base64,aGVsbG8=", "invalid_image_url"),
        ("data:image/png,rawbytes", "invalid_image_url"),
    ],
)
async def test_bad_image_urls(client: httpx.AsyncClient, url: str, code: str) -> None:
    error = error_of(await client.post(URL, json=body(SCOUT, PNG_URL, url)), "messages[0].content[2].image_url.url")
    assert error["code"] == code


async def test_image_too_large(client: httpx.AsyncClient, fetcher: FakeFetcher) -> None:
    from openai_workers_ai.app import create_app
    from openai_workers_ai.settings import Settings

    from .conftest import KEY

    settings = Settings(access_token=(KEY,), max_image_bytes=16)
    app = create_app(Backends(ai=Simulator(), db=SQLiteD1(":memory:"), bucket=FolderR2("/tmp/unused-r2"),
                              fetcher=fetcher), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        error = error_of(await c.post(URL, json=body(SCOUT, PNG_URL)), "messages[0].content[1].image_url.url")
    assert error["code"] == "image_too_large"
    assert fetcher.requested == []


async def test_without_a_fetcher_https_urls_are_refused(db: SQLiteD1, bucket: FolderR2) -> None:
    from openai_workers_ai.app import create_app
    from openai_workers_ai.settings import Settings

    from .conftest import KEY

    app = create_app(Backends(ai=Simulator(), db=db, bucket=bucket), Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await c.post(URL, json=body(SCOUT, "https://img.test/cat.jpg"))
    assert "data: URL" in error_of(r, "messages[0].content[1].image_url.url")["message"]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "image_url"}, "messages[0].content[1].image_url"),
        ({"type": "image_url", "image_url": {"url": PNG_URL, "detail": "ultra"}},
         "messages[0].content[1].image_url.detail"),
        ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, "messages[0].content[1].type"),
        ({"type": "video"}, "messages[0].content[1].type"),
    ],
)
async def test_wrong_parts(client: httpx.AsyncClient, part: dict[str, Any], param: str) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}]
    r = await client.post(URL, json={"model": SCOUT, "messages": messages})
    error_of(r, param)


@pytest.mark.parametrize("role", ["system", "assistant"])
async def test_images_only_in_user_messages(client: httpx.AsyncClient, role: str) -> None:
    messages = [{"role": role, "content": [{"type": "image_url", "image_url": {"url": PNG_URL}}]},
                {"role": "user", "content": "hi"}]
    r = await client.post(URL, json={"model": SCOUT, "messages": messages})
    assert f"role '{role}' contains an image URL" in error_of(r, "messages[0]")["message"]


class SlowFetcher(FakeFetcher):
    """A small PNG for every URL, after a pause; counts how many downloads run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.running = self.most = 0

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.01)
            return Fetched(PNG, "image/png")
        finally:
            self.running -= 1


@pytest.mark.parametrize(("max_image_bytes", "at_once"), [(10 * 1024 * 1024, 3), (1024 * 1024, 6)])
async def test_downloads_at_once_are_what_the_budget_holds(max_image_bytes: int, at_once: int) -> None:
    # 32 MiB of downloads a request: at the 10 MiB image limit, no more than 3 are in flight
    # (in flight is bounded like what is kept); at 1 MiB, the usual 6.
    from openai_workers_ai.app import create_app
    from openai_workers_ai.settings import Settings

    from .conftest import KEY

    fetcher = SlowFetcher()
    app = create_app(Backends(ai=Simulator(), db=SQLiteD1(":memory:"), bucket=FolderR2("/tmp/unused-r2"),
                              fetcher=fetcher), Settings(access_token=(KEY,), max_image_bytes=max_image_bytes))
    urls = [f"https://img.test/{i}.png" for i in range(12)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await c.post(URL, json=body(SCOUT, *urls))
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"].startswith("I received 12 images")
    assert fetcher.most == at_once
