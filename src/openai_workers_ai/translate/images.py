"""OpenAI image requests ⇄ Workers AI text-to-image / img2img / inpainting calls (pure).

What each family takes (Cloudflare's model schemas):

============================  ============================  =========================  ==============
family (models)               size                          extras we send             output
============================  ============================  =========================  ==============
stable-diffusion (SDXL base,  width/height 256–2048 each    ``seed`` (one per image),  PNG bytes
SDXL-lightning, dreamshaper,                                img2img: ``image_b64``,
SD 1.5 img2img/inpainting)                                  ``strength``, ``mask``
flux (flux-1-schnell)         fixed 1024x1024               ``steps`` 8 for hd/high    ``{image: b64 JPEG}``
flux (lucid-origin)           width/height up to 2500       ``seed``                   ``{image: b64}``
phoenix (phoenix-1.0)         width/height up to 2048       ``seed``                   JPEG bytes
============================  ============================  =========================  ==============

flux-2 models take a multipart body that the binding port cannot carry, so they are refused
with a 400.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import struct
from dataclasses import dataclass
from typing import Any

from ..catalog import ModelInfo
from ..errors import InvalidRequest, UpstreamError
from ..media_types import image_type

DEFAULT_SIZE = (1024, 1024)
FIXED_1024 = "@cf/black-forest-labs/flux-1-schnell"
_SIZE = re.compile(r"^\s*(\d{1,5})\s*x\s*(\d{1,5})\s*$")


@dataclass(frozen=True, slots=True)
class Limits:
    """The edges a model can draw (``None``: only :data:`DEFAULT_SIZE`)."""

    min_edge: int | None
    max_edge: int | None


def limits(model: ModelInfo) -> Limits:
    """The image edges ``model`` can draw."""
    if model.id == FIXED_1024:
        return Limits(None, None)
    if model.family == "flux":  # lucid-origin
        return Limits(64, 2500)
    if model.family == "phoenix":
        return Limits(64, 2048)
    return Limits(256, 2048)


def check_model(model: ModelInfo, *, edit: bool = False) -> None:
    """400 for image models this gateway cannot drive (or that cannot edit)."""
    if model.family == "flux-2":
        raise InvalidRequest(
            f"The model `{model.id}` takes multipart input, which this gateway does not send yet; "
            "use dall-e-2 (SDXL), dall-e-3 (FLUX.1 schnell) or another text-to-image model.",
            param="model",
            code="model_not_supported",
        )
    if not edit and model.extra.get("needs_image"):
        raise InvalidRequest(
            f"The model `{model.id}` transforms an input image; use it with /v1/images/edits.",
            param="model",
            code="model_not_supported",
        )
    if edit and model.family != "stable-diffusion":
        raise InvalidRequest(
            f"The model `{model.id}` cannot edit images; use @cf/runwayml/stable-diffusion-v1-5-img2img "
            "or @cf/runwayml/stable-diffusion-v1-5-inpainting.",
            param="model",
            code="model_not_supported",
        )


def check_prompt(model: ModelInfo, prompt: str) -> None:
    """FLUX.1 schnell's schema caps the prompt at 2048 characters: say so on ``prompt``."""
    if model.id == FIXED_1024 and len(prompt) > 2048:
        raise InvalidRequest(
            f"Invalid value for 'prompt': `{model.id}` takes at most 2048 characters.", param="prompt"
        )


def parse_size(size: str | None, model: ModelInfo) -> tuple[int, int]:
    """``"WxH"`` / ``"auto"`` / None → (width, height) the model can draw, else a 400 on ``size``."""
    if size is None or size == "auto":
        return DEFAULT_SIZE
    match = _SIZE.match(size)
    if not match:
        raise InvalidRequest(
            f"Invalid value for 'size': '{size}'. Expected 'auto' or WIDTHxHEIGHT, e.g. '1024x1024'.",
            param="size",
        )
    width, height = int(match[1]), int(match[2])
    bounds = limits(model)
    if bounds.min_edge is None:
        if (width, height) != DEFAULT_SIZE:
            raise InvalidRequest(
                f"Invalid value for 'size': '{size}'. `{model.id}` only generates 1024x1024 images; "
                "for other sizes use dall-e-2 (@cf/stabilityai/stable-diffusion-xl-base-1.0).",
                param="size",
            )
    elif not all(bounds.min_edge <= edge <= (bounds.max_edge or edge) for edge in (width, height)):
        raise InvalidRequest(
            f"Invalid value for 'size': '{size}'. `{model.id}` draws widths and heights from "
            f"{bounds.min_edge} to {bounds.max_edge} pixels.",
            param="size",
        )
    return width, height


def generation_inputs(
    model: ModelInfo, prompt: str, size: tuple[int, int], quality: str | None = None
) -> dict[str, Any]:
    """One Workers AI call's input for one image."""
    inputs: dict[str, Any] = {"prompt": prompt}
    if model.id == FIXED_1024:
        if quality in ("hd", "high", "xhigh", "max"):
            inputs["steps"] = 8  # the schema's maximum (default 4)
        return inputs  # the schema allows no other field
    inputs["width"], inputs["height"] = size
    inputs["seed"] = secrets.randbelow(2**32)  # n images must differ
    return inputs


def edit_inputs(
    model: ModelInfo, prompt: str, size: tuple[int, int], image: bytes, mask: bytes | None,
    strength: float | None = None,
) -> dict[str, Any]:
    """The model's inputs for an edit: the generation inputs plus the image (and mask, strength)."""
    inputs = generation_inputs(model, prompt, size)
    inputs["image_b64"] = base64.b64encode(image).decode("ascii")
    if mask is not None:
        inputs["mask"] = list(mask)  # the schema takes the mask only as an array of bytes
    if strength is not None:
        inputs["strength"] = strength
    return inputs


def image_bytes(output: Any) -> bytes:
    """The image a Workers AI text-to-image call produced (bytes, or base64 in ``{image}``)."""
    if isinstance(output, (bytes, bytearray)):
        data = bytes(output)
    elif isinstance(output, dict) and isinstance(output.get("image"), str):
        try:
            data = base64.b64decode(output["image"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UpstreamError("Workers AI returned an image that is not valid base64.") from exc
    else:
        raise UpstreamError("Workers AI returned no image.")
    if sniff(data) is None:
        raise UpstreamError("Workers AI returned bytes that are not a PNG or JPEG image.")
    return data


# ---- image files -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageFile:
    """An uploaded image's format and size, read from its header."""

    media_type: str  # image/png | image/jpeg | image/webp
    width: int
    height: int

    @property
    def extension(self) -> str:
        """The file extension for ``media_type``."""
        return {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[self.media_type]


def sniff(data: bytes) -> ImageFile | None:
    """The type and size of a PNG, JPEG or WebP file, or None if ``data`` is none of them (or truncated)."""
    kind = image_type(data)
    if kind == "image/png" and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ImageFile("image/png", width, height) if width and height else None
    if kind == "image/jpeg":
        return _jpeg(data)
    if kind == "image/webp" and len(data) >= 30:
        return _webp(data)
    return None


def _jpeg(data: bytes) -> ImageFile | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return ImageFile("image/jpeg", width, height) if width and height else None
        i += 2 + length
    return None


def _webp(data: bytes) -> ImageFile | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
    elif chunk == b"VP8 ":
        width, height = (v & 0x3FFF for v in struct.unpack("<HH", data[26:30]))
    elif chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None
    return ImageFile("image/webp", width, height)
