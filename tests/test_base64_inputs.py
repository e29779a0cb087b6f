"""``Base64Bytes`` inputs: the REST adapter encodes them while streaming the JSON body."""

from __future__ import annotations

import base64
import json
import os

import pytest

from openai_workers_ai.adapters.local import _BASE64_CHUNK, _json_with_base64
from openai_workers_ai.ports import Base64Bytes


async def collect(inputs: dict[str, object]) -> tuple[int, bytes]:
    length, body = _json_with_base64(inputs)
    return length, b"".join([chunk async for chunk in body])


@pytest.mark.parametrize("size", [0, 1, 2, 3, _BASE64_CHUNK - 1, _BASE64_CHUNK, _BASE64_CHUNK + 1, 3 * _BASE64_CHUNK + 2])
async def test_body_is_the_json_of_the_base64_text(size: int) -> None:
    data = bytearray(os.urandom(size))
    inputs = {"audio": Base64Bytes(data), "task": "transcribe", "initial_prompt": 'a "quoted" café \\ \u0000 prompt'}
    length, body = await collect(inputs)
    assert length == len(body)  # the Content-Length sent
    assert json.loads(body) == {"audio": base64.b64encode(data).decode(), "task": "transcribe",
                                "initial_prompt": inputs["initial_prompt"]}


async def test_several_base64_values_and_a_prompt_that_looks_like_a_placeholder() -> None:
    inputs = {"prompt": "\u0000audio\u0000", "audio": Base64Bytes(b"abc"), "image": Base64Bytes(b"\xff" * 5)}
    length, body = await collect(inputs)
    assert length == len(body)
    assert json.loads(body) == {"prompt": "\u0000audio\u0000", "audio": "YWJj", "image": "//////8="}


def test_text_is_base64() -> None:
    assert Base64Bytes(memoryview(b"hello")).text() == "aGVsbG8="
