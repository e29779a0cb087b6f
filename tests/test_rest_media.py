"""Embeddings, images and moderations through the REST backend (``RestAI`` over the simulator's REST API)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.embeddings import vector
from openai_workers_ai.simulator.rest import create_rest_app

from .conftest import KEY
from .images_util import jpeg_size, png_size
from .served import rest_ai_over


@pytest.fixture
async def rest_client(simulator: Simulator, db: SQLiteD1, bucket: FolderR2, settings: Settings
                      ) -> AsyncIterator[httpx.AsyncClient]:
    async with rest_ai_over(create_rest_app(simulator), token="token") as ai:
        app = create_app(Backends(ai=ai, db=db, bucket=bucket), settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     headers={"authorization": f"Bearer {KEY}"}) as client:
            yield client


async def test_embeddings_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/embeddings", json={"model": "@cf/baai/bge-m3", "input": ["a", "b"]})
    assert r.status_code == 200, r.text
    assert r.json()["data"][1]["embedding"] == pytest.approx(vector("@cf/baai/bge-m3", "b", 1024))


async def test_images_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/images/generations",
                               json={"prompt": "x", "size": "512x512", "response_format": "b64_json"})
    assert r.status_code == 200, r.text
    assert png_size(base64.b64decode(r.json()["data"][0]["b64_json"])) == (512, 512)  # raw PNG body
    r = await rest_client.post("/v1/images/generations",
                               json={"prompt": "x", "model": "dall-e-3", "response_format": "b64_json"})
    assert r.status_code == 200, r.text
    assert jpeg_size(base64.b64decode(r.json()["data"][0]["b64_json"])) == (1024, 1024)  # {result:{image}}


async def test_moderations_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/moderations", json={"input": "unsafe:S12"})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["categories"]["sexual"] is True


async def test_upstream_400_over_rest(rest_client: httpx.AsyncClient) -> None:
    r = await rest_client.post("/v1/images/generations", json={"prompt": "fail:400"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


async def test_whisper_audio_over_rest_is_base64_text(rest_client: httpx.AsyncClient, simulator: Simulator) -> None:
    from .audio import make_wav

    audio = make_wav(2.0)
    r = await rest_client.post("/v1/audio/transcriptions", data={"model": "whisper-1", "prompt": "café \u0000 ü"},
                               files={"file": ("a.wav", audio, "audio/wav")})
    assert r.status_code == 200, r.text
    model, inputs = simulator.calls[-1]  # what the REST API received, decoded from JSON
    assert model == "@cf/openai/whisper-large-v3-turbo"
    assert base64.b64decode(inputs["audio"]) == audio and inputs["initial_prompt"] == "café \u0000 ü"


async def test_nova3_audio_over_rest_is_the_raw_body(rest_client: httpx.AsyncClient, simulator: Simulator) -> None:
    from .audio import make_wav

    audio = make_wav(1.5)
    r = await rest_client.post("/v1/audio/transcriptions", data={"model": "@cf/deepgram/nova-3"},
                               files={"file": ("a.wav", audio, "audio/wav")})
    assert r.status_code == 200, r.text
    model, inputs = simulator.calls[-1]  # as the REST API received it: the bytes as the body
    assert model == "@cf/deepgram/nova-3"
    assert bytes(inputs["audio"]["body"]) == audio and inputs["audio"]["contentType"] == "audio/wav"
