"""``POST /v1/images/generations``, ``/edits``, ``/variations`` and ``GET /v1/images/{name}``.

Images are generated with ``n`` concurrent Workers AI calls and returned as
``b64_json`` or as a ``url``: an unguessable, expiring R2 object served
without an API key (:mod:`openai_workers_ai.repositories.images`).
"""

from __future__ import annotations

import base64
import re
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .. import jobs
from ..catalog import ModelInfo
from ..context import AppContext, context
from ..errors import InvalidRequest, NotFound
from ..fanout import gather_bounded
from ..multipart import Form, UploadedFile, parse_form
from ..ports import Job
from ..replies import json_response
from ..repositories import images as stored
from ..translate import images, masks
from ..types.images import CreateImageRequest
from ..validation import parse_json, validate
from ..workers_ai.spec import estimate_tokens

MAX_N = 4
"""Images per request: each is one Workers AI call, run concurrently (OpenAI allows 10)."""
MAX_PROMPT = 32000
IMG2IMG = "@cf/runwayml/stable-diffusion-v1-5-img2img"
INPAINTING = "@cf/runwayml/stable-diffusion-v1-5-inpainting"
EDIT_STRENGTH, VARIATION_STRENGTH = 0.75, 0.6
VARIATION_PROMPT = "A variation of the provided image, same subject, composition and style."


async def generations(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateImageRequest, task="text-to-image")
    model = ctx.catalog.resolve(body.model or "dall-e-2", task="text-to-image")
    images.check_model(model)
    _check_common(body.prompt, body.n, body.stream, body.background)
    _check_output_format(model, body.output_format)
    _check_still(body)
    images.check_prompt(model, body.prompt)
    size = images.parse_size(body.size, model)
    calls = [
        images.generation_inputs(model, body.prompt, size, body.quality) for _ in range(body.n or 1)
    ]
    revised = body.prompt if (body.model or "").lower() == "dall-e-3" else None
    response_format = _format(body.response_format, body.model)
    return await _respond(request, ctx, model, calls, response_format, revised,
                          _gpt_image_fields(body.model, size, body.quality, body.prompt))


async def edits(request: Request) -> Response:
    ctx = context(request)
    form = await parse_form(request, max_file_bytes=ctx.settings.max_image_bytes, max_files=2, what="image")
    fields = _fields(form)
    if "markup" in form.files:
        raise InvalidRequest("'markup' is not supported here: the Workers AI image models edit by a prompt and an "
                             "optional mask, and take no drawn guide.", param="markup")
    image = _required_image(form, "image")
    mask = _image_file(form, "mask")
    model = _edit_model(ctx, form.get("model"), inpainting=mask is not None)
    if mask is not None:
        mask = masks.inpainting_mask(mask, image)  # OpenAI's transparent = edit → SD's white = repaint
    _check_common(fields.prompt, fields.n, fields.stream, fields.background)
    _check_output_format(model, fields.output_format)
    _check_still(fields)
    size = images.parse_size(fields.size, model)
    calls = [
        images.edit_inputs(model, fields.prompt, size, image, mask, EDIT_STRENGTH)
        for _ in range(fields.n or 1)
    ]
    return await _respond(request, ctx, model, calls, _format(fields.response_format, fields.model), None,
                          _gpt_image_fields(fields.model, size, fields.quality, fields.prompt))


async def variations(request: Request) -> Response:
    ctx = context(request)
    form = await parse_form(request, max_file_bytes=ctx.settings.max_image_bytes, what="image")
    if form.get("prompt") is not None:
        raise InvalidRequest("Unrecognized request argument supplied: prompt", param="prompt")
    fields = _fields(form, prompt=VARIATION_PROMPT)
    image = _required_image(form, "image")
    model = _edit_model(ctx, form.get("model"), inpainting=False)
    _check_common(fields.prompt, fields.n, None, None)
    size = images.parse_size(fields.size, model)
    calls = [
        images.edit_inputs(model, fields.prompt, size, image, None, VARIATION_STRENGTH)
        for _ in range(fields.n or 1)
    ]
    return await _respond(request, ctx, model, calls, _format(fields.response_format, "dall-e-2"), None)


async def retrieve(request: Request) -> Response:
    """An image stored for ``response_format=url``: public (the name is the credential), until it expires."""
    ctx = context(request)
    name: str = request.path_params["name"]
    now = ctx.now()
    obj = await stored.load(ctx.backends.bucket, name, now=now)
    if obj is None or obj.body is None:
        raise NotFound("No such image: it never existed or its URL has expired.", code="image_not_found")
    max_age = max(0, (stored.expires_at(obj) or now) - now)
    return StreamingResponse(
        obj.body,
        media_type=obj.content_type or "application/octet-stream",
        headers={
            "content-length": str(obj.size),
            "cache-control": f"private, max-age={max_age}, immutable",
            "x-content-type-options": "nosniff",
        },
    )


# ---- shared steps ------------------------------------------------------------------------


async def _respond(
    request: Request, ctx: AppContext, model: ModelInfo, calls: list[dict[str, Any]],
    response_format: str, revised_prompt: str | None, extra: dict[str, Any] | None = None,
) -> Response:
    outputs = await gather_bounded([partial(ctx.backends.ai.run, model.id, inputs) for inputs in calls])
    created = ctx.now()
    data: list[dict[str, Any]] = []
    extension = "png"
    for output in outputs:
        raw = images.image_bytes(output)
        found = images.sniff(raw)
        assert found is not None  # image_bytes checked it
        extension = found.extension
        # dall-e-3's revised_prompt where OpenAI puts it: after b64_json, before url (openai/openai-dotnet,
        # tests/SessionRecords/ImagesTests/GenerationWithBytesResponseWorks.json, BasicGenerationWorks.json)
        if response_format == "b64_json":
            item: dict[str, Any] = {"b64_json": base64.b64encode(raw).decode("ascii")}
            if revised_prompt is not None:
                item["revised_prompt"] = revised_prompt
        else:
            ttl = ctx.settings.image_url_ttl
            name = await stored.save(ctx.backends.bucket, raw, found.extension, now=created, ttl=ttl)
            await jobs.send(ctx, Job("images.expire", name), delay=ttl)
            url = image_url(request, name)
            item = {"url": url} if revised_prompt is None else {"revised_prompt": revised_prompt, "url": url}
        data.append(item)
    body: dict[str, Any] = {"created": created, "data": data}
    if extra is not None:  # in OpenAI's order: created, background, data, output_format, quality, size, usage
        body = {"created": created, "background": extra["background"], "data": data,
                "output_format": "jpeg" if extension == "jpg" else extension,
                **{key: extra[key] for key in ("quality", "size", "usage") if key in extra}}
    return json_response(body)


def _gpt_image_fields(
    model_name: str | None, size: tuple[int, int], quality: str | None, prompt: str
) -> dict[str, Any] | None:
    """What OpenAI adds for GPT image models: ``background``, ``size``, ``quality``, ``usage`` (+ ``output_format``).

    ``quality`` is the one drawn at, always named, as OpenAI's answers name it: ``auto``, ``standard`` or none
    asked is ``medium`` (FLUX's default steps), ``hd`` is ``high`` (its most steps).

    Workers AI counts no tokens: ``usage`` is the prompt's estimate (4 characters a token), no image or
    output tokens."""
    if not _gpt_image(model_name):
        return None
    tokens = estimate_tokens(prompt)
    out: dict[str, Any] = {"background": "opaque", "usage": {
        "input_tokens": tokens, "input_tokens_details": {"image_tokens": 0, "text_tokens": tokens},
        "output_tokens": 0, "total_tokens": tokens}}
    if f"{size[0]}x{size[1]}" in ("1024x1024", "1024x1536", "1536x1024"):
        out["size"] = f"{size[0]}x{size[1]}"
    out["quality"] = quality if quality in ("low", "medium", "high", "xhigh", "max") else \
        "high" if quality == "hd" else "medium"
    return out


_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$")


def image_url(request: Request, name: str) -> str:
    """The absolute URL of a stored image, on the API mount the request used.

    Behind a reverse proxy the client-facing scheme/host come from ``X-Forwarded-Proto`` /
    ``X-Forwarded-Host``, believed only from ``TRUSTED_PROXIES`` and only when they name an http(s)
    scheme and a host; on Workers the request URL already is the public one.
    """
    scheme, host = request.url.scheme, request.url.netloc
    client = request.client.host if request.client else None
    if client in context(request).settings.trusted_proxies:
        headers = request.headers
        scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() or scheme
        host = headers.get("x-forwarded-host", "").split(",")[0].strip() or host
    if scheme not in ("http", "https") or not _HOST.match(host):
        scheme, host = request.url.scheme, request.url.netloc
    mount = request.url.path.rsplit("/images/", 1)[0]
    return f"{scheme}://{host}{mount}/images/{name}"


def _format(requested: str | None, model_name: str | None) -> str:
    if requested is not None:
        return requested
    # GPT image models always answer with base64; DALL·E defaults to url.
    return "b64_json" if _gpt_image(model_name) else "url"


def _gpt_image(model_name: str | None) -> bool:
    """Whether the request names one of OpenAI's GPT image models (``gpt-image-…``, ``chatgpt-image-latest``)."""
    return (model_name or "").lower().startswith(("gpt-image", "chatgpt-image"))


def _check_common(prompt: str, n: int | None, stream: bool | None, background: str | None) -> None:
    if not prompt.strip():
        raise InvalidRequest("Invalid value for 'prompt': the prompt must not be empty.", param="prompt")
    if len(prompt) > MAX_PROMPT:
        raise InvalidRequest(
            f"Invalid value for 'prompt': at most {MAX_PROMPT} characters are allowed.", param="prompt"
        )
    if n is not None and n > MAX_N:
        raise InvalidRequest(
            f"Invalid value for 'n': this server generates at most {MAX_N} images per request.",
            param="n",
        )
    if stream:
        raise InvalidRequest(
            "Streaming image generation is not supported by Workers AI image models.", param="stream"
        )
    if background == "transparent":
        raise InvalidRequest(
            "Transparent backgrounds are not supported by Workers AI image models.", param="background"
        )


def _check_output_format(model: ModelInfo, output_format: str | None) -> None:
    native = "png" if model.family == "stable-diffusion" else "jpeg"
    if output_format in ("gif", "svg"):
        raise InvalidRequest(
            f"'output_format' '{output_format}' is not supported here: the Workers AI image models draw still "
            f"raster images (`{model.id}` produces {native} images).", param="output_format",
        )
    if output_format is not None and output_format != native:
        raise InvalidRequest(
            f"Invalid value for 'output_format': `{model.id}` produces {native} images.",
            param="output_format",
        )


_STILL_ONLY = {"frame_count": "GIF", "frame_duration_ms": "GIF", "svg": "SVG"}
"""Fields of OpenAI's GIF and SVG output, which no Workers AI image model makes."""


def _check_still(body: CreateImageRequest) -> None:
    for name, kind in _STILL_ONLY.items():
        if getattr(body, name) is not None:
            raise InvalidRequest(
                f"'{name}' is not supported here: it is an option of {kind} output, which the Workers AI image "
                "models cannot make (they draw still raster images).", param=name,
            )


class _Fields(CreateImageRequest):
    """The text fields of an edits/variations form (file parts are read separately)."""

    size: str | None = None


def _fields(form: Form, prompt: str | None = None) -> _Fields:
    values: dict[str, Any] = {}
    for name, sent in form.fields.items():
        outer, bracket, _ = name.partition("[")
        if not bracket:
            values[name] = sent[-1]
        elif not name.endswith("[]"):  # an object sent as fields (the client's `svg[model]`): present, held as such
            values.setdefault(outer, {})
    if prompt is not None:  # variations' fixed prompt; an edit without one is missing a required field
        values.setdefault("prompt", prompt)
    values.pop("input_fidelity", None)  # a gpt-image edit option with no Workers AI counterpart
    return validate(_Fields, values)  # pydantic's lax mode reads "2" as 2 and "true" as True


def _required_image(form: Form, name: str) -> bytes:
    data = _image_file(form, name)
    if data is None:
        raise InvalidRequest(f"Missing required parameter: '{name}'.", param=name)
    return data


def _image_file(form: Form, name: str) -> bytes | None:
    """The PNG/JPEG uploaded as ``name`` (or ``name[]``), None if absent, 400 if it is no such image."""
    files: list[UploadedFile] = [*form.files.get(name, []), *form.files.get(name + "[]", [])]
    if not files:
        return None
    if len(files) > 1:
        raise InvalidRequest(
            f"Only one '{name}' is supported by the Workers AI image models.", param=name
        )
    data = bytes(files[0].data)
    found = images.sniff(data)
    if found is None:
        raise InvalidRequest(
            f"Invalid '{name}': the file is not a valid PNG or JPEG image.",
            param=name, code="invalid_image_format",
        )
    if found.media_type == "image/webp":
        raise InvalidRequest(
            f"Invalid '{name}': WebP images are not supported by the Workers AI image models; "
            "send a PNG or JPEG.",
            param=name, code="invalid_image_format",
        )
    return data


def _edit_model(ctx: AppContext, name: str | None, *, inpainting: bool) -> ModelInfo:
    """An explicit ``@cf/…`` stable-diffusion id is used as is; OpenAI names pick img2img / inpainting."""
    if name and name.startswith(("@cf/", "@hf/")):
        model = ctx.catalog.resolve(name, task="text-to-image")
        images.check_model(model, edit=True)
        if inpainting and not model.extra.get("needs_mask"):
            raise InvalidRequest(
                f"The model `{model.id}` does not take a mask; use {INPAINTING}.", param="mask"
            )
        return model
    if name:
        ctx.catalog.resolve(name, task="text-to-image")  # 404 for unknown names
    return ctx.catalog.resolve(INPAINTING if inpainting else IMG2IMG, task="text-to-image")
