"""Image URLs in a spec's messages → ``data:`` URLs, the only form Workers AI vision models take.

``https://`` (and ``http://``) images are downloaded through the
:class:`~openai_workers_ai.ports.Fetcher` port (the Worker's ``fetch``; aiohttp
locally), concurrently, at most ``max_image_bytes`` each. Failures are a 400
naming the part, as OpenAI reports a failed image download.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import replace
from functools import partial

from .. import outbound
from ..errors import InvalidRequest
from ..fanout import MAX_IN_FLIGHT, gather_bounded
from ..media_types import IMAGE_TYPES, image_type
from ..ports import Fetcher
from ..types.common import MAX_IMAGES
from .spec import ChatSpec, ImagePart

log = logging.getLogger(__name__)


def _check_data_url(url: str, param: str, max_bytes: int) -> None:
    head, sep, data = url.partition(",")
    media_type = head[5:].partition(";")[0].lower()
    if not sep or not head.endswith(";base64") or media_type not in IMAGE_TYPES:
        raise InvalidRequest(
            "Invalid image data URL: expected data:image/(png|jpeg|gif|webp);base64,<data>.",
            param=param, code="invalid_image_url",
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("Invalid base64 image data.", param=param, code="invalid_image_url") from None
    if len(raw) > max_bytes:
        raise InvalidRequest(f"Image is larger than {max_bytes} bytes.", param=param, code="image_too_large")


async def _download(fetcher: Fetcher, url: str, param: str, max_bytes: int) -> str:
    try:
        fetched = await fetcher.get(url, max_bytes=max_bytes)
    except Exception as exc:  # any failure is the client's bad URL; one text, whatever it was (outbound.py)
        log.info("image download failed: %s: %s", url, exc)
        raise InvalidRequest(
            f"Error while downloading {url}: {outbound.FAILED} (an https URL of a public host, an image "
            f"of at most {max_bytes} bytes).", param=param, code="invalid_image_url"
        ) from None
    declared = (fetched.content_type or "").partition(";")[0].strip().lower()
    media_type = declared if declared in IMAGE_TYPES else image_type(fetched.body)
    if media_type is None:
        raise InvalidRequest(
            f"The URL {url} did not return a supported image (png, jpeg, gif, webp).",
            param=param, code="invalid_image_format",
        )
    encoded = base64.b64encode(fetched.body)
    del fetched  # the body goes before the URL's text is made: two copies at a time, not three
    return f"data:{media_type};base64,{encoded.decode()}"


MAX_DOWNLOADED_BYTES = 32 * 1024 * 1024
"""Bytes the downloads of one request may add up to (each is also capped by ``MAX_IMAGE_BYTES``)."""


async def inline(spec: ChatSpec, fetcher: Fetcher | None, max_bytes: int) -> ChatSpec:
    """``spec`` with every image URL replaced by a checked ``data:`` URL (at most :data:`MAX_IMAGES`,
    their downloads at most :data:`MAX_DOWNLOADED_BYTES` together)."""
    downloads: list[ImagePart] = []
    parts = [part for message in spec.messages for part in message.images()]
    if len(parts) > MAX_IMAGES:
        raise InvalidRequest(f"Too many images: at most {MAX_IMAGES} may be sent in one request, got {len(parts)}.",
                             param=parts[MAX_IMAGES].where, code="too_many_images")
    for message in spec.messages:
        for part in message.images():
            if part.url.startswith("data:"):
                _check_data_url(part.url, part.url_where, max_bytes)
            elif part.url.startswith(("https://", "http://")):
                if fetcher is None:
                    raise InvalidRequest(
                        "Image URLs cannot be downloaded by this deployment; send a data: URL.",
                        param=part.url_where, code="invalid_image_url",
                    )
                downloads.append(part)
            else:
                raise InvalidRequest(
                    "Invalid image URL: expected an https:// URL or a data: URL.",
                    param=part.url_where, code="invalid_image_url",
                )
    if not downloads or fetcher is None:
        return spec
    budget = [MAX_DOWNLOADED_BYTES]

    async def download(part: ImagePart) -> str:
        # Each download is held to the image limit, not to what the budget has left: a download cut short
        # fails with the fetch's one generic error, where the budget's own 400 says what happened.
        url = await _download(fetcher, part.url, part.url_where, max_bytes)
        budget[0] -= len(url)  # the data: URL kept, a third over the bytes
        if budget[0] < 0:  # the downloads still running are cancelled with this
            raise InvalidRequest(f"The images of this request add up to more than {MAX_DOWNLOADED_BYTES} bytes.",
                                 param=part.url_where, code="image_too_large")
        return url

    # No more downloads at once than the budget holds at the image limit (3 at 10 MiB): what is in
    # flight is bounded like what is kept.
    urls = await gather_bounded([partial(download, part) for part in downloads],
                                limit=max(1, min(MAX_IN_FLIGHT, MAX_DOWNLOADED_BYTES // max_bytes)))
    inlined = {id(part): replace(part, url=url) for part, url in zip(downloads, urls, strict=True)}
    messages = tuple(
        replace(m, content=tuple(inlined.get(id(p), p) for p in m.content)) if m.images() else m
        for m in spec.messages
    )
    return replace(spec, messages=messages)
