"""Benchmark: peak server memory while transcribing a 25 MB audio upload.

    uv run python bench/audio_upload.py [--mb 25] [--models whisper-1,@cf/deepgram/nova-3] [--backends simulator,rest]

For each backend and model, starts a fresh ``openai-workers-ai serve`` (the in-process
simulator, or the REST backend against ``openai-workers-ai simulator`` over HTTP), warms it up with a small transcription,
resets the peak resident set (``/proc/<pid>/clear_refs``), then streams one
``POST /v1/audio/transcriptions`` with a WAV file of ``--mb`` MiB (the
``MAX_AUDIO_BYTES`` limit by default). Prints the wall time and the server's
peak extra memory (``VmHWM`` after minus ``VmRSS`` before), also as a multiple
of the file size. The multiple includes what the model's input format costs:
``whisper-1`` (large-v3-turbo) takes base64, which the core keeps as bytes
(``Base64Bytes``) and the REST adapter encodes while streaming; Nova-3 takes the
bytes as they are; ``@cf/openai/whisper`` takes a JSON array of byte values
(8 bytes a byte in CPython). Linux only (reads ``/proc``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, MB, chunks, local_server, memory, reset_peak  # noqa: E402

from openai_workers_ai.simulator.audio_files import wav  # noqa: E402

DEFAULT_MODELS = "whisper-1,@cf/deepgram/nova-3,@cf/openai/whisper"


def multipart(audio: bytes, model: str, boundary: str = "benchboundary7MA4YWxkTrZu0gW") -> tuple[bytes, str]:
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n{model}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    return head + audio + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def measure(model: str, audio: bytes, ai: str) -> tuple[float, int, int]:
    """(seconds, peak extra bytes, response status) for one upload to a fresh server."""
    with local_server("bench-audio-", ai) as (url, pid):
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}, timeout=600) as client:
            small, small_type = multipart(wav(1.0, samples=os.urandom(32_000)), model)
            client.post("/v1/audio/transcriptions", content=small,
                        headers={"content-type": small_type}).raise_for_status()
            body, content_type = multipart(audio, model)
            before = reset_peak(pid)
            started = time.perf_counter()
            response = client.post("/v1/audio/transcriptions", content=chunks(body),
                                   headers={"content-type": content_type, "content-length": str(len(body))})
            elapsed = time.perf_counter() - started
            peak = memory(pid)["VmHWM"] - before
            return elapsed, peak, response.status_code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=25)
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--backends", default="simulator,rest",
                        help="simulator: in process; rest: the REST backend against the simulator over HTTP")
    args = parser.parse_args()
    size = int(args.mb * MB)
    audio = wav(0, 16000, samples=os.urandom(size - 44))  # a valid WAV of exactly `size` bytes
    print(f"audio upload: WAV of {size / MB:.1f} MiB ({len(audio) / 32000:.0f} s at 16 kHz), one request per model")
    for ai in args.backends.split(","):
        print(f" AI backend: {ai}")
        for model in args.models.split(","):
            elapsed, peak, status = measure(model, audio, ai)
            print(f"  {model:<28} HTTP {status}  {elapsed:6.2f} s  peak extra {peak / MB:7.1f} MiB "
                  f"= {peak / size:4.2f}x the file")


if __name__ == "__main__":
    main()
