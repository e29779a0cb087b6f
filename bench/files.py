"""Benchmark: upload and download a large file through the local server.

    uv run python bench/files.py [--mb 50] [--runs 3]

Starts ``openai-workers-ai serve`` (simulator backend, SQLite + folder storage)
as a subprocess, as ``tests/e2e/conftest.py`` does, then for each run uploads
a file of ``--mb`` MB with ``POST /v1/files`` and downloads it with
``GET /v1/files/{id}/content``. Prints the throughput (MB/s, best run) and
the server's peak extra memory for each direction: the peak resident set
(``VmHWM``, reset before each step through ``/proc/<pid>/clear_refs``) minus
the resident set before the step, also as a multiple of the file size.
Linux only (reads ``/proc``).
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * MB
    payload = os.urandom(size)

    headers = {"authorization": f"Bearer {KEY}"}
    results: dict[str, list[tuple[float, int]]] = {"upload": [], "download": []}
    with local_server("bench-files-") as (url, pid):
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            # Warm up (imports, first-request setup) so the baseline is the steady state.
            warm = client.post("/v1/files", data={"purpose": "vision"}, files={"file": ("w", b"w")})
            warm.raise_for_status()
            client.delete(f"/v1/files/{warm.json()['id']}")
            for _ in range(args.runs):
                request = client.build_request(
                    "POST", "/v1/files", data={"purpose": "vision"},
                    files={"file": ("big.bin", payload, "application/octet-stream")},
                )
                body = request.read()
                base = reset_peak(pid)
                started = time.perf_counter()
                response = client.post("/v1/files", content=chunks(body), headers={
                    "content-type": request.headers["content-type"], "content-length": str(len(body)),
                })
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                results["upload"].append((elapsed, memory(pid)["VmHWM"] - base))
                file_id = response.json()["id"]
                del body, request

                base = reset_peak(pid)
                started = time.perf_counter()
                received = 0
                with client.stream("GET", f"/v1/files/{file_id}/content") as download:
                    download.raise_for_status()
                    for chunk in download.iter_raw():
                        received += len(chunk)
                elapsed = time.perf_counter() - started
                assert received == size, (received, size)
                results["download"].append((elapsed, memory(pid)["VmHWM"] - base))
                client.delete(f"/v1/files/{file_id}").raise_for_status()

    print(f"file size: {args.mb} MB ({size} bytes), {args.runs} runs, local server (SQLite + folder R2)")
    for direction, runs in results.items():
        best = min(t for t, _ in runs)
        peak = max(m for _, m in runs)
        print(f"{direction:>8}: {size / MB / best:7.1f} MB/s (best of {len(runs)}, {best * 1000:.0f} ms)"
              f"   peak extra server memory {peak / MB:6.1f} MB = {peak / size:.2f}x the file")


if __name__ == "__main__":
    main()
