"""``/v1/images/*`` in-process over the simulator: generations, edits, variations, stored URLs."""

from __future__ import annotations

import base64
import dataclasses

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2
from openai_workers_ai.app import create_app
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.ports import Backends
from openai_workers_ai.repositories import images as stored
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.image_codecs import jpeg, png
from openai_workers_ai.translate.masks import alpha_channel, inpainting_mask

from .conftest import KEY
from .images_util import jpeg_size, png_pixels, png_size, rgba_png
from .openapi import assert_matches

GEN = "/v1/images/generations"


async def fetch_anonymously(app, url: str) -> httpx.Response:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
        return await anon.get(url)


async def test_url_response_is_served_without_auth(client: httpx.AsyncClient, app) -> None:  # noqa: ANN001
    r = await client.post(GEN, json={"prompt": "a red fox", "size": "512x256"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "ImagesResponse")
    [item] = body["data"]
    assert set(item) == {"url"}
    assert item["url"].startswith("http://testserver/v1/images/") and item["url"].endswith(".png")
    image = await fetch_anonymously(app, item["url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert "max-age=" in image.headers["cache-control"]
    assert png_size(image.content) == (512, 256)


async def test_b64_json_png_of_requested_size(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post(
        GEN, json={"prompt": "a lighthouse", "model": "dall-e-2", "n": 3, "size": "256x256",
                   "response_format": "b64_json", "quality": "standard", "style": "natural", "user": "u1"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "ImagesResponse")
    pngs = [base64.b64decode(d["b64_json"]) for d in body["data"]]
    assert [png_size(p) for p in pngs] == [(256, 256)] * 3
    assert all("revised_prompt" not in d for d in body["data"])
    calls = [inputs for model, inputs in simulator.calls]
    assert [c["width"] for c in calls] == [256] * 3
    assert len({c["seed"] for c in calls}) == 3  # n images are n different draws
    assert simulator.calls[0][0] == "@cf/stabilityai/stable-diffusion-xl-base-1.0"


async def test_dall_e_3_flux_jpeg_with_revised_prompt(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post(
        GEN, json={"prompt": "a koi pond", "model": "dall-e-3", "response_format": "b64_json", "quality": "hd"}
    )
    assert r.status_code == 200, r.text
    [item] = r.json()["data"]
    assert item["revised_prompt"] == "a koi pond"
    assert jpeg_size(base64.b64decode(item["b64_json"])) == (1024, 1024)
    assert simulator.calls[-1] == ("@cf/black-forest-labs/flux-1-schnell", {"prompt": "a koi pond", "steps": 8})


async def test_gpt_image_defaults_to_b64_json(client: httpx.AsyncClient) -> None:
    r = await client.post(GEN, json={"prompt": "x", "model": "gpt-image-1", "quality": "high",
                                     "safety_identifier": "user-1"})  # sent by the client; no effect here
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "ImagesResponse")
    assert "b64_json" in body["data"][0]
    assert body["output_format"] == "jpeg" and body["size"] == "1024x1024" and body["quality"] == "high"
    assert body["background"] == "opaque"
    # As OpenAI's for GPT image models (the client's `usage`): the prompt's estimate, no image or output tokens.
    assert body["usage"] == {"input_tokens": 1, "input_tokens_details": {"text_tokens": 1, "image_tokens": 0},
                             "output_tokens": 0, "total_tokens": 1}
    # in OpenAI's order (openai/openai-dotnet, tests/SessionRecords/ImagesTests/GptImage1Works.json,
    # GenerationOfMultipleImagesWithBytesResponseWorks.json)
    assert list(body["usage"]) == ["input_tokens", "input_tokens_details", "output_tokens", "total_tokens"]
    assert list(body["usage"]["input_tokens_details"]) == ["image_tokens", "text_tokens"]


@pytest.mark.parametrize(("response_format", "members"), [("url", ["revised_prompt", "url"]),
                                                          ("b64_json", ["b64_json", "revised_prompt"])])
async def test_dall_e_3_revised_prompt_where_openai_puts_it(client: httpx.AsyncClient, response_format: str,
                                                            members: list[str]) -> None:
    """dall-e-3's image: ``revised_prompt`` before its ``url`` (openai/openai-dotnet,
    tests/SessionRecords/ImagesTests/BasicGenerationWorks.json), after its ``b64_json``
    (GenerationWithBytesResponseWorks.json)."""
    r = await client.post(GEN, json={"prompt": "An isolated stop sign.", "model": "dall-e-3",
                                     "response_format": response_format})
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["created", "data"]
    [item] = r.json()["data"]
    assert list(item) == members


@pytest.mark.parametrize(("quality", "reported"), [(None, "medium"), ("auto", "medium"), ("standard", "medium"),
                                                 ("low", "low"), ("medium", "medium"), ("hd", "high")])
async def test_gpt_image_reports_the_quality_it_drew_at(client: httpx.AsyncClient, quality: str | None,
                                                        reported: str) -> None:
    """OpenAI's GPT image answers always name the quality used (low, medium or high), ``auto`` or none asked
    too (a gpt-image-1 answer to a request naming none: ``"background": "opaque", "data": […], "output_format":
    "png", "quality": "high", "size": "1024x1024", "usage": {…}``, as a public project kept it, 2025-06), in
    that order. FLUX.1 schnell draws at its default steps unless asked for high quality: medium."""
    fields = {} if quality is None else {"quality": quality}
    r = await client.post(GEN, json={"prompt": "x", "model": "gpt-image-1", **fields})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "ImagesResponse")
    assert list(body) == ["created", "background", "data", "output_format", "quality", "size", "usage"]
    assert body["quality"] == reported


async def test_url_stored_jpeg_and_other_mount(client: httpx.AsyncClient, app) -> None:  # noqa: ANN001
    r = await client.post(
        "/llm/openai/v1/images/generations", json={"prompt": "x", "model": "dall-e-3"},
        headers={"x-forwarded-proto": "https", "x-forwarded-host": "ai.example.com"},
    )
    assert r.status_code == 200, r.text
    url = r.json()["data"][0]["url"]
    assert url.startswith("https://ai.example.com/llm/openai/v1/images/") and url.endswith(".jpg")
    image = await fetch_anonymously(app, url.replace("https://ai.example.com", ""))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"


async def test_explicit_workers_ai_models(client: httpx.AsyncClient) -> None:
    for model, check, size in [
        ("@cf/lykon/dreamshaper-8-lcm", png_size, (768, 512)),
        ("@cf/bytedance/stable-diffusion-xl-lightning", png_size, (768, 512)),
        ("@cf/leonardo/phoenix-1.0", jpeg_size, (768, 512)),
        ("@cf/leonardo/lucid-origin", jpeg_size, (768, 512)),
    ]:
        r = await client.post(GEN, json={"prompt": "x", "model": model, "size": "768x512",
                                         "response_format": "b64_json"})
        assert r.status_code == 200, (model, r.text)
        assert check(base64.b64decode(r.json()["data"][0]["b64_json"])) == size


@pytest.mark.parametrize(
    ("payload", "status", "param"),
    [
        ({"prompt": "x", "model": "dall-e-3", "size": "1792x1024"}, 400, "size"),
        ({"prompt": "x", "size": "128x128"}, 400, "size"),
        ({"prompt": "x", "size": "4096x1024"}, 400, "size"),
        ({"prompt": "x", "size": "big"}, 400, "size"),
        ({"prompt": "x", "n": 5}, 400, "n"),
        ({"prompt": "x", "n": 0}, 400, "n"),
        ({"prompt": "x", "n": 11}, 400, "n"),
        ({"prompt": ""}, 400, "prompt"),
        ({"prompt": "   "}, 400, "prompt"),
        ({"prompt": "x" * 32001}, 400, "prompt"),
        ({"prompt": "x" * 2049, "model": "dall-e-3"}, 400, "prompt"),
        ({}, 400, "prompt"),
        ({"prompt": "x", "response_format": "png"}, 400, "response_format"),
        ({"prompt": "x", "quality": "ultra"}, 400, "quality"),
        ({"prompt": "x", "style": "comic"}, 400, "style"),
        ({"prompt": "x", "stream": True}, 400, "stream"),
        ({"prompt": "x", "background": "transparent"}, 400, "background"),
        ({"prompt": "x", "output_format": "jpeg"}, 400, "output_format"),
        ({"prompt": "x", "negative_prompt": "y"}, 400, "negative_prompt"),
        ({"prompt": "x", "model": "gpt-4o-mini"}, 400, "model"),
        ({"prompt": "x", "model": "@cf/black-forest-labs/flux-2-dev"}, 400, "model"),
        ({"prompt": "x", "model": "@cf/runwayml/stable-diffusion-v1-5-inpainting"}, 400, "model"),
        ({"prompt": "x", "model": "dall-e-9"}, 404, None),
    ],
)
async def test_generation_errors(client: httpx.AsyncClient, payload: dict, status: int, param: str) -> None:
    r = await client.post(GEN, json=payload)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["param"] == param, error
    assert error["message"]


async def test_upstream_failure(client: httpx.AsyncClient) -> None:
    r = await client.post(GEN, json={"prompt": "fail:429"})
    assert r.status_code == 429


async def test_generation_endpoints_are_not_public(app) -> None:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
        for path in (GEN, "/v1/images/edits", "/v1/images/variations", "/llm/openai/v1/images/generations"):
            r = await anon.post(path, json={"prompt": "x"})
            assert r.status_code == 401, path


async def test_unknown_expired_and_malformed_names_are_404(app, bucket: FolderR2) -> None:  # noqa: ANN001
    name = await stored.save(bucket, png(8, 8), "png", now=1000, ttl=60)
    assert (await fetch_anonymously(app, f"/v1/images/{name}")).status_code == 404  # expired long ago
    r = await fetch_anonymously(app, "/v1/images/" + "A" * 43 + ".png")
    assert r.status_code == 404 and r.json()["error"]["code"] == "image_not_found"
    assert (await fetch_anonymously(app, "/v1/images/not-a-name.png")).status_code == 404


async def test_delete_expired(bucket: FolderR2) -> None:
    old = await stored.save(bucket, png(8, 8), "png", now=1000, ttl=60)
    fresh = await stored.save(bucket, png(8, 8), "png", now=1000, ttl=3600)
    assert await stored.delete_expired(bucket, now=2000) == 1
    assert await stored.load(bucket, old, now=1001) is None
    assert await stored.load(bucket, fresh, now=2000) is not None
    assert await stored.delete_expired(bucket, now=2000) == 0
    foreign = "A" * 43 + ".png"  # under images/ but not written by us: no expiry metadata
    await bucket.put(stored.PREFIX + foreign, png(8, 8))
    assert await stored.load(bucket, foreign, now=2000) is None
    assert await stored.delete_expired(bucket, now=10**10) == 1  # only `fresh`, finally expired
    assert await bucket.head(stored.PREFIX + foreign) is not None


async def test_newer_quality_and_complexity_are_taken(client: httpx.AsyncClient, simulator: Simulator) -> None:
    # OpenAI's client 3.63.0: quality xhigh / max (FLUX's most steps, as high) and complexity (planning effort:
    # no Workers AI model plans before it draws, so it has no effect), echoed as OpenAI's GPT image models do.
    for quality in ("xhigh", "max"):
        r = await client.post(GEN, json={"prompt": "x", "model": "gpt-image-1", "quality": quality,
                                         "complexity": "high"})
        assert r.status_code == 200, r.text
        assert r.json()["quality"] == quality
        assert simulator.calls[-1] == ("@cf/black-forest-labs/flux-1-schnell", {"prompt": "x", "steps": 8})


@pytest.mark.parametrize("fields", [
    {"output_format": "gif"}, {"output_format": "svg"}, {"frame_count": 4}, {"frame_duration_ms": 100},
    {"svg": {"model": "gpt-5"}}, {"output_format": "gif", "frame_count": 4},
])
async def test_gif_and_svg_output_are_refused_by_name(client: httpx.AsyncClient, fields: dict) -> None:
    """GIF and SVG output (client 3.63.0) no Workers AI image model makes: a 400 naming the field, not an
    unknown value or argument."""
    r = await client.post(GEN, json={"prompt": "x", "model": "gpt-image-1", **fields})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == next(iter(fields)) and error["type"] == "invalid_request_error"
    assert "is not supported here" in error["message"], error


# ---- edits and variations ------------------------------------------------------------------


def files(image: bytes | None = None, mask: bytes | None = None) -> dict:
    out = {}
    if image is not None:
        out["image"] = ("in.png", image, "image/png")
    if mask is not None:
        out["mask"] = ("mask.png", mask, "image/png")
    return out


async def test_edit_uses_img2img(client: httpx.AsyncClient, simulator: Simulator) -> None:
    source = png(64, 48, b"src")
    r = await client.post("/v1/images/edits", files=files(source),
                          data={"prompt": "add a hat", "n": "2", "size": "512x512", "response_format": "b64_json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_matches(body, "ImagesResponse")
    assert [png_size(base64.b64decode(d["b64_json"])) for d in body["data"]] == [(512, 512)] * 2
    model, inputs = simulator.calls[-1]
    assert model == "@cf/runwayml/stable-diffusion-v1-5-img2img"
    assert base64.b64decode(inputs["image_b64"]) == source and inputs["prompt"] == "add a hat"
    assert 0 < inputs["strength"] < 1


def hole(width: int, height: int) -> bytes:
    """Alpha bytes: transparent (edit here) in the left half of the top row block, opaque elsewhere."""
    return bytes(0 if x < width // 2 and y < height // 2 else 255 for y in range(height) for x in range(width))


async def test_edit_with_mask_uses_inpainting(client: httpx.AsyncClient, simulator: Simulator) -> None:
    mask = rgba_png(32, 32, hole(32, 32), filter_type=4)
    r = await client.post("/v1/images/edits", files=files(png(32, 32), mask),
                          data={"prompt": "a window", "model": "dall-e-2"})
    assert r.status_code == 200, r.text
    assert "url" in r.json()["data"][0]
    model, inputs = simulator.calls[-1]
    assert model == "@cf/runwayml/stable-diffusion-v1-5-inpainting"
    sent = bytes(inputs["mask"])  # SD convention: a greyscale PNG, white = repaint
    assert png_size(sent) == (32, 32)
    assert png_pixels(sent) == bytes(255 - a for a in hole(32, 32))


@pytest.mark.parametrize("filter_type", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("channels", [4, 2])
def test_mask_alpha_decoding_every_filter(filter_type: int, channels: int) -> None:
    alpha = bytes((x * 37 + y * 11) % 256 if (x + y) % 5 else 0 for y in range(9) for x in range(13))
    width, height, rows = alpha_channel(rgba_png(13, 9, alpha, filter_type, channels))
    assert (width, height) == (13, 9) and b"".join(rows) == alpha
    out = inpainting_mask(rgba_png(13, 9, alpha, filter_type, channels), png(13, 9))
    assert png_pixels(out) == bytes(255 if a == 0 else 0 for a in alpha)


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [
        (png(16, 16), "got RGB"),
        (rgba_png(8, 8, bytes(64)), "same dimensions"),
        (jpeg(16, 16), "PNG file with transparency"),
    ],
)
async def test_bad_masks(client: httpx.AsyncClient, mask: bytes, fragment: str) -> None:
    r = await client.post("/v1/images/edits", files=files(png(16, 16), mask), data={"prompt": "p"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "mask" and fragment in r.json()["error"]["message"]


async def test_edit_accepts_jpeg_and_image_array_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/images/edits", files={"image[]": ("a.jpg", jpeg(16, 16), "image/jpeg")},
                          data={"prompt": "p", "response_format": "b64_json"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("form_files", "data", "status", "param"),
    [
        ({"image": ("x.png", b"not an image at all", "image/png")}, {"prompt": "p"}, 400, "image"),
        ({"image": ("x.png", b"\x89PNG\r\n\x1a\n\x00", "image/png")}, {"prompt": "p"}, 400, "image"),
        ({"image": ("x.txt", b"hello", "text/plain")}, {"prompt": "p"}, 400, "image"),
        ({"image": ("x.webp", b"RIFF\x20\x00\x00\x00WEBPVP8X" + bytes(18), "image/webp")}, {"prompt": "p"}, 400, "image"),
        ({}, {"prompt": "p"}, 400, "image"),
        ({"image": ("x.png", png(8, 8), "image/png"), "mask": ("m.png", b"junk", "image/png")}, {"prompt": "p"}, 400, "mask"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {}, 400, "prompt"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "n": "9"}, 400, "n"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "n": "two"}, 400, "n"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "size": "100x100"}, 400, "size"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "model": "@cf/black-forest-labs/flux-1-schnell"}, 400, "model"),
        ({"image": ("x.png", png(8, 8), "image/png"), "mask": ("m.png", rgba_png(8, 8, bytes(64)), "image/png")},
         {"prompt": "p", "model": "@cf/runwayml/stable-diffusion-v1-5-img2img"}, 400, "mask"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "bogus": "1"}, 400, "bogus"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "stream": "true"}, 400, "stream"),
        ({"image": ("x.png", png(8, 8), "image/png")}, {"prompt": "p", "output_format": "jpeg"}, 400, "output_format"),
    ],
)
async def test_edit_errors(client: httpx.AsyncClient, form_files: dict, data: dict, status: int, param: str) -> None:
    r = await client.post("/v1/images/edits", files=form_files or {"other": ("o", b"o")}, data=data)
    assert r.status_code == status, r.text
    assert r.json()["error"]["param"] == param


async def test_edit_takes_the_newer_fields_and_names_what_it_cannot_do(client: httpx.AsyncClient) -> None:
    image = {"image": ("x.png", png(8, 8), "image/png")}
    r = await client.post("/v1/images/edits", files=image, data={"prompt": "p", "quality": "max", "complexity": "low"})
    assert r.status_code == 200, r.text
    for form_files, data, param in [
        (image, {"prompt": "p", "output_format": "svg", "svg[model]": "gpt-5"}, "output_format"),
        (image, {"prompt": "p", "svg[model]": "gpt-5", "svg[reasoning][effort]": "low"}, "svg"),
        (image, {"prompt": "p", "frame_count": "4"}, "frame_count"),
        ({**image, "markup": ("m.png", rgba_png(8, 8, bytes(64)), "image/png")}, {"prompt": "p"}, "markup"),
    ]:
        r = await client.post("/v1/images/edits", files=form_files, data=data)
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["param"] == param and "is not supported here" in error["message"], error


async def test_edit_without_prompt_is_a_missing_parameter(client: httpx.AsyncClient) -> None:
    # CreateImageEditRequest requires `prompt`: OpenAI's "Missing required parameter" (it said "expected a string,
    # but got null", as if a null had been sent).
    r = await client.post("/v1/images/edits", files={"image": ("x.png", png(8, 8), "image/png")})
    assert r.json()["error"] == {"message": "Missing required parameter: 'prompt'.", "type": "invalid_request_error",
                                 "param": "prompt", "code": "missing_required_parameter"}


async def test_edit_requires_multipart(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/images/edits", json={"prompt": "p"})
    assert r.status_code == 400


async def test_image_over_the_limit_is_413(backends: Backends, settings: Settings) -> None:
    app = create_app(backends, dataclasses.replace(settings, max_image_bytes=1000))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await c.post("/v1/images/edits", files=files(png(8, 8) + bytes(2000)), data={"prompt": "p"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_variations(client: httpx.AsyncClient, simulator: Simulator) -> None:
    r = await client.post("/v1/images/variations", files=files(png(40, 40)),
                          data={"n": "2", "size": "256x256", "response_format": "b64_json"})
    assert r.status_code == 200, r.text
    assert [png_size(base64.b64decode(d["b64_json"])) for d in r.json()["data"]] == [(256, 256)] * 2
    model, inputs = simulator.calls[-1]
    assert model == "@cf/runwayml/stable-diffusion-v1-5-img2img" and inputs["prompt"]
    r = await client.post("/v1/images/variations", files=files(png(40, 40)), data={"prompt": "no"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    r = await client.post("/v1/images/variations", files=files(b"GIF89a....."))
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"


# ---- the simulator's own checks ------------------------------------------------------------


async def test_simulator_validates_like_workers_ai(simulator: Simulator) -> None:
    bad = [
        ("@cf/black-forest-labs/flux-1-schnell", {"prompt": "x", "width": 512}),
        ("@cf/black-forest-labs/flux-1-schnell", {"prompt": "x", "steps": 9}),
        ("@cf/stabilityai/stable-diffusion-xl-base-1.0", {"prompt": ""}),
        ("@cf/stabilityai/stable-diffusion-xl-base-1.0", {"prompt": "x", "width": 100}),
        ("@cf/stabilityai/stable-diffusion-xl-base-1.0", {"prompt": "x", "num_steps": 21}),
        ("@cf/runwayml/stable-diffusion-v1-5-img2img", {"prompt": "x"}),
        ("@cf/runwayml/stable-diffusion-v1-5-img2img", {"prompt": "x", "image": [300]}),
        ("@cf/runwayml/stable-diffusion-v1-5-img2img", {"prompt": "x", "image_b64": "bm90IGFuIGltYWdl"}),
        ("@cf/runwayml/stable-diffusion-v1-5-inpainting", {"prompt": "x", "image": list(png(8, 8))}),
    ]
    for model, inputs in bad:
        with pytest.raises(UpstreamError) as info:
            await simulator.run(model, inputs)
        assert info.value.status == 400, (model, inputs)
    out = await simulator.run("@cf/runwayml/stable-diffusion-v1-5-img2img",
                              {"prompt": "x", "image": list(png(24, 16))})
    assert isinstance(out, bytes) and png_size(out) == (24, 16)
    out = await simulator.run("@cf/stabilityai/stable-diffusion-xl-base-1.0", {"prompt": "x"})
    assert isinstance(out, bytes) and png_size(out) == (1024, 1024)


async def test_scheduled_cleanup_deletes_expired_images(backends: Backends, bucket: FolderR2) -> None:
    from openai_workers_ai.maintenance import run_scheduled

    old = await stored.save(bucket, png(8, 8), "png", now=1000, ttl=60)
    fresh = await stored.save(bucket, png(8, 8), "png", now=1000, ttl=10_000)
    counts = await run_scheduled(backends, Settings(), now=2000)
    assert counts["images_expired"] == 1 and counts["errors"] == 0
    assert await bucket.head(stored.PREFIX + old) is None
    assert await bucket.head(stored.PREFIX + fresh) is not None
