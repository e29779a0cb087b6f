"""The official ``openai`` client against the real local server: embeddings, images, moderations."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator

import httpx
import openai
import pytest

from openai_workers_ai.simulator.embeddings import vector
from openai_workers_ai.simulator.image_codecs import png

from ..images_util import jpeg_size, png_size, rgba_png
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


def test_images_generate_url_then_fetch_without_auth(client: openai.OpenAI) -> None:
    result = client.images.generate(model="dall-e-2", prompt="a lighthouse at dusk", size="512x512", n=2)
    assert len(result.data) == 2 and result.created > 0
    for image in result.data:
        assert image.url and image.b64_json is None
        fetched = httpx.get(image.url)  # no Authorization header, as an <img> tag
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
        assert png_size(fetched.content) == (512, 512)


def test_images_generate_b64_json(client: openai.OpenAI) -> None:
    result = client.images.generate(prompt="a cat", size="1024x768", response_format="b64_json")
    assert png_size(base64.b64decode(result.data[0].b64_json or "")) == (1024, 768)
    result = client.images.generate(model="dall-e-3", prompt="a dog", response_format="b64_json")
    assert result.data[0].revised_prompt == "a dog"
    assert jpeg_size(base64.b64decode(result.data[0].b64_json or "")) == (1024, 1024)
    result = client.images.generate(model="gpt-image-1", prompt="a red fox in the snow", quality="low")
    assert result.output_format == "jpeg" and result.size == "1024x1024" and result.quality == "low"
    assert result.usage is not None and result.usage.total_tokens == result.usage.input_tokens == 6
    assert result.usage.input_tokens_details.text_tokens == 6 and result.usage.output_tokens == 0
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="dall-e-3", prompt="a dog", size="1792x1024")
    assert info.value.body["param"] == "size"  # type: ignore[index]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client marks create_variation deprecated
def test_images_the_client_s_newer_options(client: openai.OpenAI) -> None:
    """client 3.63.0's quality `xhigh`, `complexity`, and GIF / SVG output: taken, or a 400 naming the field."""
    result = client.images.generate(model="gpt-image-1", prompt="a fox", quality="xhigh", complexity="high")
    assert result.quality == "xhigh" and result.data and result.data[0].b64_json
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-image-1", prompt="a fox", output_format="gif", frame_count=4)
    assert caught.value.param == "output_format" and "is not supported here" in caught.value.message
    source = png(64, 64, b"svg")
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.edit(image=("in.png", source, "image/png"), prompt="x", svg={"model": "gpt-5"})
    assert caught.value.param == "svg"


def test_images_edit_and_variation(client: openai.OpenAI) -> None:
    source = png(64, 64, b"e2e")
    result = client.images.edit(
        image=("in.png", source, "image/png"), prompt="add snow", size="256x256", response_format="b64_json"
    )
    assert png_size(base64.b64decode(result.data[0].b64_json or "")) == (256, 256)
    result = client.images.edit(
        image=("in.png", source, "image/png"), mask=("m.png", rgba_png(64, 64, bytes(4096)), "image/png"),
        prompt="a door",
    )
    assert result.data[0].url and httpx.get(result.data[0].url).status_code == 200
    result = client.images.create_variation(image=("in.png", source, "image/png"), n=2, size="256x256")
    assert len(result.data) == 2
    with pytest.raises(openai.BadRequestError):
        client.images.edit(image=("in.png", b"not an image", "image/png"), prompt="x")


def test_moderations(client: openai.OpenAI) -> None:
    result = client.moderations.create(input=["a nice walk", "unsafe:S10 they should all be hurt"])
    assert result.id.startswith("modr-") and result.model == "@cf/meta/llama-guard-3-8b"
    calm, hateful = result.results
    assert calm.flagged is False and calm.categories.hate is False
    assert hateful.flagged is True and hateful.categories.hate is True
    assert hateful.category_scores.hate == 1.0
    assert hateful.model_extra and hateful.model_extra["llama_guard_categories"] == ["S10"]
    single = client.moderations.create(model="omni-moderation-latest", input="I want to kill them")
    assert single.results[0].categories.violence is True
    with pytest.raises(openai.BadRequestError):
        client.moderations.create(input=[{"type": "image_url", "image_url": {"url": "https://x/y.png"}}])
