"""Two gateways side by side at concurrency 1, paired: a change's effect on ``bench/gateway.py``'s c=1
figures, read through the noise of a shared machine.

    uv run python bench/paired.py [--a floor|stack|TREE] [--b floor|stack|TREE] [--blocks 120] [--starts 10]
                                  [--block 100] [--a-env NAME=VALUE] [--b-env NAME=VALUE]

Starts the stand-in (``bench/upstream.py``) once, then both gateways at the same time, and alternates
blocks of ``--block`` serial chats between them (and the stand-in itself, for the latency a gateway
adds), in an order that swaps each cycle (A B direct, then B A direct, ...). Each block gives each
gateway's CPU per chat (its process tree, ``/proc``) and its median latency; a cycle gives the ratios
B / A (the latency's of what each adds to the stand-in's own) and the differences. Other work on the
machine moves both sides of a cycle alike, so the ratios hold where absolute figures move by 30%.
Two starts of the same code measure up to ~5% apart (where each process's memory landed), so both
are started ``--starts`` times, A first and B first in turn, each start for its share of the cycles;
the report is the mean over starts of each start's median, and the range of those medians.

``TREE`` is a source tree (a ``git worktree`` of the commit to compare, say) whose ``src`` is put first
on ``PYTHONPATH`` of ``openai-workers-ai serve --ai rest``; ``floor`` and ``stack`` are
``bench/passthrough.py`` and ``bench/stack.py``. ``--a-env``/``--b-env`` set an environment variable for
one side only. Default: A and B this tree (an A/A run: how far apart two copies of the same code measure).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, ROOT, free_port, tree_cpu  # noqa: E402
from gateway import BENCH, Gateway, direct_p50, floor, project, running, stack  # noqa: E402
from load import TOKENS, Load, run  # noqa: E402


@dataclass
class Side:
    spec: str
    gateway: Gateway
    pid: int = 0
    cpu_us: list[float] = field(default_factory=list)  # per block: CPU µs per chat
    p50_ms: list[float] = field(default_factory=list)  # per block: median latency


def gateway(spec: str, upstream: str, data_dir: Path) -> Gateway:
    if spec == "floor":
        return floor(upstream, free_port())
    if spec == "stack":
        return stack(upstream, free_port())
    tree = Path(spec).resolve()
    if not (tree / "src" / "openai_workers_ai").is_dir():
        raise SystemExit(f"{spec}: neither floor, stack nor a source tree (no src/openai_workers_ai)")
    g = project(upstream, free_port(), data_dir)
    g.env["PYTHONPATH"] = str(tree / "src")
    g.name = f"serve --ai rest from {tree}"
    return g


async def compare(a: Side, b: Side, upstream: str, blocks: int, size: int, warm: int, counter: int) -> list[float]:
    """``blocks`` cycles against the running pair; the stand-in's own p50 in each."""
    loads_ = {id(s): Load(s.gateway.url, KEY) for s in (a, b)}
    for side in (a, b):
        await loads_[id(side)].concurrent(warm, loads_[id(side)].chat)
        await loads_[id(side)].serial(size)
    direct: list[float] = []
    for cycle in range(blocks):
        order = (a, b) if cycle % 2 == 0 else (b, a)
        for side in order:
            load = loads_[id(side)]
            c0 = tree_cpu(side.pid)
            latencies = await load.serial(size, counter)
            side.cpu_us.append((tree_cpu(side.pid) - c0) / size * 1e6)
            side.p50_ms.append(statistics.median(latencies) * 1000)
            counter += size
        direct.append(await direct_p50(upstream, size, counter, warm=0))
        counter += size
    for load in loads_.values():
        await load.close()
    return direct


def spread(values: list[float], fmt: str, starts: int) -> str:
    """The mean over starts of each start's median over its cycles, and the range of those medians."""
    size = len(values) // starts
    medians = [statistics.median(values[i * size:(i + 1) * size]) for i in range(starts)]
    return f"{format(statistics.fmean(medians), fmt)} [{format(min(medians), fmt)} … {format(max(medians), fmt)}]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", default=str(ROOT), help="floor, stack or a source tree (default: this one)")
    parser.add_argument("--b", default=str(ROOT), help="floor, stack or a source tree (default: this one)")
    parser.add_argument("--blocks", type=int, default=120, help="cycles (each: one block per gateway and direct)")
    parser.add_argument("--block", type=int, default=100, help="serial chats per block")
    parser.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE", help="for A's process only")
    parser.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE", help="for B's process only")
    parser.add_argument("--starts", type=int, default=10,
                        help="times both are started (in turn A first, B first), the cycles shared among them")
    parser.add_argument("--warm", type=int, default=400, help="chats at c=16 before measuring")
    args = parser.parse_args()
    args.starts += args.starts % 2
    per_start = max(1, args.blocks // args.starts)
    with tempfile.TemporaryDirectory(prefix="bench-paired-") as tmp:
        log_dir = Path(tmp)
        upstream = f"http://127.0.0.1:{free_port()}"
        stand_in = [sys.executable, str(BENCH / "upstream.py"), "--port", upstream.rsplit(":", 1)[1],
                    "--tokens", str(TOKENS)]
        a, b = (Side(spec, gateway(spec, upstream, log_dir)) for spec in (args.a, args.b))
        direct: list[float] = []
        with running(stand_in, {}, upstream + "/", log_dir):
            # Two starts of the same code measure up to ~5% apart (where the memory of each process landed):
            # both are started --starts times, in turn A first and B first, each start for its share of cycles.
            for start in range(args.starts):
                first, second = (a, b) if start % 2 == 0 else (b, a)
                for side, extra in ((a, args.a_env), (b, args.b_env)):  # (each start on a port of its own)
                    side.gateway = gateway(side.spec, upstream, log_dir)
                    side.gateway.env.update(pair.split("=", 1) for pair in extra)
                with running(first.gateway.argv, first.gateway.env, first.gateway.url + first.gateway.health,
                             log_dir) as first.pid, \
                        running(second.gateway.argv, second.gateway.env, second.gateway.url + second.gateway.health,
                                log_dir) as second.pid:
                    direct += run(compare(a, b, upstream, per_start, args.block, args.warm, start * 10**7))

    cpu_ratio = [y / x for x, y in zip(a.cpu_us, b.cpu_us, strict=True)]
    cpu_diff = [y - x for x, y in zip(a.cpu_us, b.cpu_us, strict=True)]
    lat_ratio = [(y - d) / (x - d) for x, y, d in zip(a.p50_ms, b.p50_ms, direct, strict=True)]
    lat_diff = [(y - x) * 1000 for x, y in zip(a.p50_ms, b.p50_ms, strict=True)]
    print(f"{args.starts} starts of both, {per_start} cycles of {args.block} serial chats each a start; the mean "
          "over starts of each start's median over its cycles [the range of those medians]")
    print(f"A: {a.gateway.name}\nB: {b.gateway.name}")
    print(f"  CPU µs/chat, c=1      A {spread(a.cpu_us, '.1f', args.starts)}   B {spread(b.cpu_us, '.1f', args.starts)}")
    print(f"  p50 ms, c=1           A {spread(a.p50_ms, '.3f', args.starts)}   B {spread(b.p50_ms, '.3f', args.starts)}   "
          f"direct {spread(direct, '.3f', args.starts)}")
    print(f"  B / A, CPU            {spread(cpu_ratio, '.3f', args.starts)}   B - A {spread(cpu_diff, '+.1f', args.starts)} µs")
    print(f"  B / A, added p50      {spread(lat_ratio, '.3f', args.starts)}   B - A {spread(lat_diff, '+.1f', args.starts)} µs")


if __name__ == "__main__":
    main()
