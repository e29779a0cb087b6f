"""The local server as a self-hosted gateway, side by side with the least a gateway can do.

    uv run python bench/gateway.py [--repeat 3] [--quick] [--no-workers] [--litellm-python PATH]

Starts a no-delay Workers AI REST stand-in (``bench/upstream.py``, 64-token replies), then in turn:
the floor (``bench/passthrough.py``: ~90 lines of aiohttp, OpenAI chat in, ``/ai/run`` out, no
validation), the same logic on this project's HTTP stack (``bench/stack.py``: uvicorn as ``serve``
runs it, ``RestAI``), this project's server (``openai-workers-ai serve --ai rest``) and, when
``--litellm-python`` names a Python with ``litellm[proxy]`` (an environment of its own: the project's
pydantic pin and LiteLLM's cannot share one; ``docs/gateway.md``) or ``litellm`` is importable here,
LiteLLM's proxy, all against that stand-in. Each gets the same load: serial requests
(latency at concurrency 1), concurrent requests (16 at a time) and concurrent streams (16 at a time).
Every reply is checked (the stand-in's answer depends on the prompt). CPU is the gateway's whole
process tree, from ``/proc``; figures are ratios to the floor measured in the same round. Then the
project's throughput at concurrency 16 with ``--workers 2`` against ``--workers 1``.

Other work on the machine moves the absolute figures: each round measures every gateway once, and the
table gives the median and the range over ``--repeat`` rounds. Linux only (reads ``/proc``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from json import dumps, loads
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, ROOT, free_port, process_tree, tree_cpu  # noqa: E402
from load import MODEL, TOKENS, Load, expected, prepare, run  # noqa: E402

BENCH = Path(__file__).resolve().parent
ACCOUNT, UPSTREAM_TOKEN = "bench", "bench-token"


@dataclass
class Gateway:
    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    health: str = "/health"
    share: int = 1  # gets 1/share of the load (per-request figures need fewer requests from a slow one)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Figures:
    """One gateway's figures in one round."""

    cpu_ms_serial: float
    cpu_ms_concurrent: float
    chunks_per_cpu_s: float
    p50_ms: float
    rps: float


def spawn(argv: list[str], env: dict[str, str], health_url: str, log_dir: Path) -> subprocess.Popen[bytes]:
    """Start a server (output to a log file) and wait until ``health_url`` answers."""
    label = next((Path(arg).stem for arg in argv[1:] if not arg.startswith("-")), "server")
    log = log_dir / f"{label}-{free_port()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=log_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv} exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(health_url, timeout=1):
                return proc
        except urllib.error.HTTPError as exc:  # it answers, if not with 200
            if exc.code < 500:
                return proc
        except OSError:
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"{argv} did not answer within 60 s:\n{log.read_text(errors='replace')}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server, then SIGKILL whatever is left of its process tree."""
    tree = process_tree(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5  # helpers (multiprocessing's resource tracker) end on their own
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in tree[1:]):
        time.sleep(0.05)
    for pid in tree[1:]:
        try:
            os.kill(pid, signal.SIGKILL)
            print(f"  (process {pid} outlived its parent; killed)", flush=True)
        except ProcessLookupError:
            pass


@contextmanager
def running(argv: list[str], env: dict[str, str], health_url: str, log_dir: Path) -> Iterator[int]:
    proc = spawn(argv, env, health_url, log_dir)
    try:
        yield proc.pid
    finally:
        stop(proc)


async def measure(url: str, pid: int, sizes: dict[str, int]) -> Figures:
    prepare(max(sizes.values()))
    load = Load(url, KEY)
    await load.concurrent(sizes["warm"], load.chat)  # imports, pools, caches
    await load.concurrent(sizes["warm"] // 10, load.stream)

    c0 = tree_cpu(pid)
    latencies = await load.serial(sizes["serial"])
    cpu_serial = tree_cpu(pid) - c0

    c0, t0 = tree_cpu(pid), time.perf_counter()
    await load.concurrent(sizes["concurrent"], load.chat)
    wall, cpu_concurrent = time.perf_counter() - t0, tree_cpu(pid) - c0

    c0 = tree_cpu(pid)
    chunks = sum(await load.concurrent(sizes["streams"], load.stream))
    cpu_streams = tree_cpu(pid) - c0
    await load.close()
    return Figures(
        cpu_ms_serial=cpu_serial / sizes["serial"] * 1000,
        cpu_ms_concurrent=cpu_concurrent / sizes["concurrent"] * 1000,
        chunks_per_cpu_s=chunks / max(cpu_streams, 1e-9),
        p50_ms=statistics.median(latencies) * 1000,
        rps=sizes["concurrent"] / wall,
    )


async def direct_p50(upstream: str, n: int, start: int = 0, warm: int = 100) -> float:
    """Latency at concurrency 1 of the same chat asked of the stand-in itself: what a gateway adds to (the
    median of ``n`` chats after ``warm`` more, numbered from ``start``)."""
    load = Load(upstream, UPSTREAM_TOKEN, f"/client/v4/accounts/{ACCOUNT}/ai/run/{MODEL}")
    latencies = []
    for i in range(start, start + warm + n):
        body = dumps({"messages": [{"role": "user", "content": f"req-{i}"}], "max_tokens": TOKENS}).encode()
        t0 = time.perf_counter()
        status, answer = await load.post(body)
        latencies.append(time.perf_counter() - t0)
        assert status == 200 and loads(answer)["result"]["response"] == expected(i)
    await load.close()
    return statistics.median(latencies[warm:]) * 1000


@dataclass
class Throughput:
    """Chats per second at concurrency 16, and the cores each party used meanwhile."""

    rate: float
    gateway: float
    load: float  # the load generator and the stand-in
    others: float  # everything else on the machine


async def throughput(url: str, n: int, gateway: int, stand_in: int) -> Throughput:
    prepare(n)
    load = Load(url, KEY)
    await load.concurrent(n // 5, load.chat)
    machine0, g0, s0, l0 = machine_cpu(), tree_cpu(gateway), tree_cpu(stand_in), time.process_time()
    t0 = time.perf_counter()
    await load.concurrent(n, load.chat)
    wall = time.perf_counter() - t0
    machine, g, s, lg = machine_cpu() - machine0, tree_cpu(gateway) - g0, tree_cpu(stand_in) - s0, time.process_time() - l0
    await load.close()
    return Throughput(n / wall, g / wall, (s + lg) / wall, max(0.0, machine - g - s - lg) / wall)


def machine_cpu() -> float:
    """CPU seconds every core of the machine has been busy (``/proc/stat``: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


# ---- the gateways -----------------------------------------------------------------------------


def project(upstream: str, port: int, data_dir: Path, workers: int = 1) -> Gateway:
    env = {"ACCESS_TOKEN": KEY, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT, "CLOUDFLARE_API_TOKEN": UPSTREAM_TOKEN,
           "CLOUDFLARE_API_BASE_URL": upstream, "PYTHONPATH": str(ROOT / "src")}
    argv = [sys.executable, "-m", "openai_workers_ai.cli", "serve", "--ai", "rest", "--port", str(port),
            "--data-dir", str(data_dir / f"data-{port}")] + (["--workers", str(workers)] if workers != 1 else [])
    return Gateway(f"this project (serve --ai rest{'' if workers == 1 else f' --workers {workers}'})", argv, port, env)


def floor(upstream: str, port: int) -> Gateway:
    argv = [sys.executable, str(BENCH / "passthrough.py"), "--port", str(port), "--upstream", upstream,
            "--account", ACCOUNT, "--token", UPSTREAM_TOKEN]
    return Gateway("floor (bench/passthrough.py, aiohttp)", argv, port)


def stack(upstream: str, port: int) -> Gateway:
    argv = [sys.executable, str(BENCH / "stack.py"), "--port", str(port), "--upstream", upstream,
            "--account", ACCOUNT, "--token", UPSTREAM_TOKEN]
    return Gateway("the floor's logic on this project's stack (bench/stack.py)", argv, port,
                   {"PYTHONPATH": str(ROOT / "src")})


def litellm(python: str, upstream: str, port: int, data_dir: Path) -> Gateway:
    """LiteLLM's proxy with the stand-in as its Cloudflare upstream (LiteLLM calls Workers AI's
    OpenAI-compatible endpoint, ``…/ai/v1/chat/completions``)."""
    config = data_dir / "litellm.yaml"
    config.write_text(dumps({  # JSON is YAML
        "model_list": [{"model_name": MODEL, "litellm_params": {
            "model": f"cloudflare/{MODEL}", "api_key": UPSTREAM_TOKEN,
            "api_base": f"{upstream}/client/v4/accounts/{ACCOUNT}/ai/v1"}}],
        "general_settings": {"master_key": KEY},
        "litellm_settings": {"drop_params": True, "telemetry": False},
    }))
    argv = [python, "-m", "litellm.proxy.proxy_cli", "--config", str(config), "--port", str(port), "--num_workers", "1"]
    # Offline: its cost map as shipped, no tokenizer downloads (this bench reaches loopback only).
    env = {"CLOUDFLARE_ACCOUNT_ID": ACCOUNT, "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "HF_HUB_OFFLINE": "1"}
    return Gateway("LiteLLM proxy", argv, port, env, health="/health/liveliness", share=10)


# ---- the report -------------------------------------------------------------------------------


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range when there are several values."""
    med = format(statistics.median(values), fmt)
    if len(values) < 2:
        return med
    return f"{med} [{format(min(values), fmt)}–{format(max(values), fmt)}]"


def report(rounds: list[dict[str, Figures]], direct: list[float], workers: list[tuple[float, float]]) -> None:
    names = list(rounds[0])
    floor_name = names[0]

    def values(name: str, attr: str) -> list[float]:
        return [getattr(r[name], attr) for r in rounds]

    def ratios(name: str, attr: str, added: bool = False) -> list[float]:
        out = []
        for r, d in zip(rounds, direct, strict=True):
            ours, base = getattr(r[name], attr), getattr(r[floor_name], attr)
            out.append((ours - d) / (base - d) if added else ours / base)
        return out

    print(f"\n{len(rounds)} round(s); median [min–max]; ratio = this gateway / the floor in the same round.")
    print(f"direct to the stand-in, p50 at c=1: {spread(direct, '.3f')} ms\n")
    columns = [
        ("CPU ms/chat, c=16", "cpu_ms_concurrent", ".3f", False),
        ("CPU ms/chat, c=1", "cpu_ms_serial", ".3f", False),
        ("stream chunks/CPU-s", "chunks_per_cpu_s", ".0f", False),
        ("added p50 ms, c=1", "p50_ms", ".3f", True),
        ("chats/s, c=16", "rps", ".0f", False),
    ]
    for name in names:
        print(name)
        for title, attr, fmt, added in columns:
            figures = [v - d for v, d in zip(values(name, attr), direct, strict=True)] if added else values(name, attr)
            line = f"  {title:22s} {spread(figures, fmt):>26s}"
            if name != floor_name:
                line += f"   ratio {spread(ratios(name, attr, added), '.2f')}"
            print(line)
    stack_name = next((n for n in names if "stack" in n), None)
    project_name = next((n for n in names if n.startswith("this project")), None)
    if stack_name and project_name:
        print("\nwhere a chat's CPU goes (median over rounds of the differences):")
        for title, attr in (("c=16", "cpu_ms_concurrent"), ("c=1", "cpu_ms_serial")):
            floor_ms = statistics.median(values(floor_name, attr))
            stack_ms = statistics.median([getattr(r[stack_name], attr) - getattr(r[floor_name], attr) for r in rounds])
            app_ms = statistics.median([getattr(r[project_name], attr) - getattr(r[stack_name], attr) for r in rounds])
            print(f"  {title:5s} the floor {floor_ms:.3f} ms; this project's stack {stack_ms:+.3f} ms against it; "
                  f"the app on top of the stack {app_ms:+.3f} ms")
    for name in names[1:]:
        if not name.startswith("this project"):
            continue
        print("\ntargets (median ratio to the floor):")
        checks = [
            ("CPU per non-streaming chat (c=16)", ratios(name, "cpu_ms_concurrent"), "<=", 1.5),
            ("CPU per non-streaming chat (c=1)", ratios(name, "cpu_ms_serial"), "<=", 1.5),
            ("stream chunks per CPU-second", ratios(name, "chunks_per_cpu_s"), ">=", 0.7),
            ("added p50 latency at c=1", ratios(name, "p50_ms", added=True), "<=", 1.5),
        ]
        if workers:
            checks.append(("--workers 2 / --workers 1 chats/s at c=16", [w2 / w1 for w1, w2 in workers], ">=", 1.3))
        for title, got, op, target in checks:
            med = statistics.median(got)
            ok = med <= target if op == "<=" else med >= target
            print(f"  {title:44s} {spread(got, '.2f'):>20s}  target {op} {target}  {'met' if ok else 'MISSED'}")
    if workers:
        print("\n--workers 1 vs 2 chats/s at c=16, by round: "
              + ", ".join(f"{w1:.0f} -> {w2:.0f}" for w1, w2 in workers))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each measures every gateway once)")
    parser.add_argument("--quick", action="store_true", help="smaller loads (noisier)")
    parser.add_argument("--no-workers", action="store_true", help="skip the --workers 2 vs 1 comparison")
    parser.add_argument("--litellm-python", help="a Python with litellm[proxy] installed (default: this one, if it has)")
    args = parser.parse_args()
    scale = 4 if args.quick else 1
    sizes = {"warm": 400 // scale, "serial": 1500 // scale, "concurrent": 4000 // scale, "streams": 800 // scale}

    litellm_python = args.litellm_python or (sys.executable if importlib.util.find_spec("litellm") else None)
    if litellm_python is None:
        print("LiteLLM proxy: skipped (litellm is not importable here; --litellm-python PYTHON names an "
              "interpreter that has litellm[proxy])")
    rounds: list[dict[str, Figures]] = []
    direct: list[float] = []
    workers: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        log_dir = Path(tmp)
        upstream = f"http://127.0.0.1:{free_port()}"
        stand_in = [sys.executable, str(BENCH / "upstream.py"), "--port", upstream.rsplit(":", 1)[1],
                    "--tokens", str(TOKENS)]
        with running(stand_in, {}, upstream + "/", log_dir) as stand_in_pid:
            for n in range(args.repeat):
                print(f"round {n + 1}/{args.repeat}", flush=True)
                direct.append(run(direct_p50(upstream, sizes["serial"])))
                gateways = [floor(upstream, free_port()), stack(upstream, free_port()),
                            project(upstream, free_port(), log_dir)]
                if litellm_python:
                    gateways.append(litellm(litellm_python, upstream, free_port(), log_dir))
                results: dict[str, Figures] = {}
                for g in gateways:
                    with running(g.argv, g.env, g.url + g.health, log_dir) as pid:
                        results[g.name] = f = run(measure(g.url, pid, {k: v // g.share for k, v in sizes.items()}))
                    print(f"  {g.name}: {f.cpu_ms_concurrent:.3f} ms CPU/chat (c=16), {f.cpu_ms_serial:.3f} (c=1), "
                          f"{f.chunks_per_cpu_s:.0f} chunks/CPU-s, p50 {f.p50_ms:.3f} ms, {f.rps:.0f} chats/s", flush=True)
                rounds.append(results)
                if args.no_workers:
                    continue
                pair = []
                for count in (1, 2):
                    g = project(upstream, free_port(), log_dir, workers=count)
                    with running(g.argv, g.env, g.url + g.health, log_dir) as pid:
                        pair.append(t := run(throughput(g.url, sizes["concurrent"], pid, stand_in_pid)))
                    print(f"  --workers {count}: {t.rate:.0f} chats/s at c=16; cores busy: gateway {t.gateway:.2f}, "
                          f"load + stand-in {t.load:.2f}, other work on the machine {t.others:.2f}", flush=True)
                workers.append((pair[0].rate, pair[1].rate))
    report(rounds, direct, workers)


if __name__ == "__main__":
    main()
