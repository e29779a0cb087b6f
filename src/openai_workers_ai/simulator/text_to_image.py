"""Simulated text-to-image models: SDXL-family (+ SD 1.5 img2img / inpainting), FLUX.1 schnell,
Leonardo lucid-origin and phoenix.

Validation follows Cloudflare's schemas: ``prompt`` (non-empty; flux at most 2048 chars),
``width``/``height`` integers in range (stable-diffusion 256–2048, phoenix up to 2048,
lucid-origin up to 2500), ``num_steps`` ≤ 20 (stable-diffusion), flux-1-schnell
``steps`` ≤ 8 and no other field (``additionalProperties: false``). img2img and
inpainting require ``image`` (array of 0–255) or ``image_b64``; inpainting also ``mask``;
the bytes must be a PNG or JPEG file.

Outputs, as Workers AI returns them: stable-diffusion → PNG bytes of width×height
(default 1024² for SDXL, 512² for SD 1.5 models, or the input image's size for
img2img/inpainting); phoenix → JPEG bytes; flux-1-schnell → ``{"image": base64 JPEG}``
(1024×1024); lucid-origin → ``{"image": base64 JPEG}``. PNGs are horizontal colour bands
derived from (prompt, seed); JPEGs are flat mid-grey (see :mod:`.image_codecs`).
A prompt ``fail:<status>`` fails the call like Workers AI does with that status.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..catalog import ModelInfo
from ..translate.images import sniff
from .failures import failure_for, invalid_input
from .image_codecs import jpeg, png

FLUX_SCHNELL = "@cf/black-forest-labs/flux-1-schnell"


def _int(inputs: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = inputs.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_input(f"Type mismatch of '/{name}', 'integer' expected")
    if not low <= value <= high:
        raise invalid_input(f"'/{name}' must be >= {low} and <= {high}")
    return value


def _image(inputs: dict[str, Any], name: str) -> bytes:
    value = inputs.get(name)
    if isinstance(value, list):
        if not all(isinstance(b, int) and 0 <= b <= 255 for b in value):
            raise invalid_input(f"'/{name}' must be an array of integers from 0 to 255")
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_input(f"'/{name}' is not valid base64") from None
    raise invalid_input(f"Type mismatch of '/{name}'")


def _input_image(inputs: dict[str, Any], info: ModelInfo) -> tuple[int, int] | None:
    if info.extra.get("needs_image") and inputs.get("image") is None and inputs.get("image_b64") is None:
        raise invalid_input(f"{info.id} requires 'image' or 'image_b64'")
    size = None
    for name in ("image", "image_b64", "mask"):
        if inputs.get(name) is None:
            continue
        found = sniff(_image(inputs, name))
        if found is None:
            raise invalid_input(f"'/{name}' could not be decoded as an image (expected PNG or JPEG bytes)")
        size = size or (found.width, found.height)
    if info.extra.get("needs_mask") and inputs.get("mask") is None:
        raise invalid_input(f"{info.id} requires 'mask'")
    return size


def run(info: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any] | bytes:
    prompt = inputs.get("prompt")
    if info.family == "flux-2":
        if not isinstance(inputs.get("multipart"), dict):
            raise invalid_input("required properties at '/' are 'multipart'")
        raise invalid_input("the simulator does not decode multipart inputs")
    if not isinstance(prompt, str) or not prompt:
        raise invalid_input("required properties at '/' are 'prompt' (a non-empty string)")
    if prompt.startswith("fail:") and prompt[5:].strip().isdigit():
        raise failure_for(int(prompt[5:].strip()))
    seed = f"{prompt}\x00{inputs.get('seed', '')}".encode()
    if info.id == FLUX_SCHNELL:
        extra = set(inputs) - {"prompt", "steps"}
        if extra:
            raise invalid_input(f"'/' must NOT have additional properties: {sorted(extra)}")
        if len(prompt) > 2048:
            raise invalid_input("'/prompt' must NOT have more than 2048 characters")
        _int(inputs, "steps", 1, 8)
        return {"image": base64.b64encode(jpeg(1024, 1024)).decode("ascii")}
    if info.family == "flux":  # lucid-origin
        width, height = _int(inputs, "width", 0, 2500) or 1120, _int(inputs, "height", 0, 2500) or 1120
        _int(inputs, "num_steps", 1, 40)
        _int(inputs, "steps", 1, 40)
        return {"image": base64.b64encode(jpeg(width, height)).decode("ascii")}
    if info.family == "phoenix":
        width, height = _int(inputs, "width", 0, 2048) or 1024, _int(inputs, "height", 0, 2048) or 1024
        _int(inputs, "num_steps", 1, 50)
        return jpeg(width, height)
    asked_width, asked_height = _int(inputs, "width", 256, 2048), _int(inputs, "height", 256, 2048)
    _int(inputs, "num_steps", 1, 20)
    source = _input_image(inputs, info)
    native = 1024 if "xl" in info.id else 512
    default = source or (native, native)
    return png(asked_width or default[0], asked_height or default[1], seed)
