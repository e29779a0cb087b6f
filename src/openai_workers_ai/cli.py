"""``openai-workers-ai``: the local server (and the simulator's REST API) on CPython.

    uv run openai-workers-ai serve [--host 127.0.0.1] [--port 8787] [--data-dir .data] [--ai simulator|rest]
                                   [--workers N|auto]
    uv run openai-workers-ai simulator [--port 8788]      # the Workers AI REST API, simulated
    uv run openai-workers-ai cleanup [--data-dir .data] [--stale-after SECONDS]   # the cron cleanup, run once
    uv run openai-workers-ai vocabulary FILE [--data-dir .data]  # an OpenAI .tiktoken file into R2, offline

``serve`` runs uvicorn (httptools and uvloop where installed) in one process, or with ``--workers N``
in N processes sharing one listening socket, the SQLite file and the data folder; each process
builds its own app and backends and runs :func:`process_lifetime` around serving (the background-job
runner among them: the processes share the jobs in the data folder's ``jobs.sqlite3``, each job run by
one at a time, and a restarted server runs what the stopped one left queued).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import ipaddress
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .adapters.local import FolderR2, HttpFetcher, RestAI, SQLiteD1
from .adapters.local_jobs import NewerJobsFile, SQLiteJobs
from .app import create_app
from .catalog import Catalog
from .context import AppContext
from .jobs import InProcessJobs
from .ports import AI, Backends
from .settings import Settings, read_dev_vars
from .simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]
KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection stays open (a new connection must send its headers within
``server_protocol``'s ``header_timeout``: 10 s)."""
GRACEFUL_SHUTDOWN = 10
"""Seconds a server process, told to stop (SIGTERM, SIGINT), gives the requests in flight to finish
before it cancels them and exits (uvicorn alone waits for them forever)."""
MIGRATIONS = ROOT / "migrations"
JOBS_FILE = "jobs.sqlite3"
"""The background jobs' file in the data folder (``adapters/local_jobs.py``; not D1's, not migrated)."""


def load_environment(cwd: Path) -> dict[str, str]:
    """``.dev.vars`` (as wrangler reads it) overlaid by the process environment."""
    env: dict[str, str] = {}
    dev_vars = cwd / ".dev.vars"
    if dev_vars.exists():
        env.update(read_dev_vars(dev_vars.read_text()))
    env.update(os.environ)
    return env


def choose_ai(kind: str | None, settings: Settings, env: dict[str, str] | None = None) -> tuple[AI, str]:
    """The AI backend and a line describing it. REST is the default when credentials are set;
    ``CLOUDFLARE_API_BASE_URL`` (in ``env``, else the process environment) points it elsewhere."""
    has_credentials = bool(settings.cloudflare_account_id and settings.cloudflare_api_token)
    kind = kind or ("rest" if has_credentials else "simulator")
    if kind == "rest":
        if not has_credentials:
            raise SystemExit("--ai rest needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN")
        base = (env if env is not None else os.environ).get("CLOUDFLARE_API_BASE_URL") or "https://api.cloudflare.com"
        ai = RestAI(settings.cloudflare_account_id, settings.cloudflare_api_token, base_url=base,
                    timeout=settings.upstream_timeout)
        return ai, f"Workers AI REST API ({base}, account {settings.cloudflare_account_id})"
    catalog = Catalog(aliases=settings.model_aliases, default_model=settings.default_model)
    return Simulator(catalog=catalog, keep_calls=0), "the Workers AI simulator (offline; deterministic stand-in models)"


def prepare_data(data_dir: Path, migrations: Path = MIGRATIONS) -> None:
    """Make the data folder and bring the SQLite files up to date (once, before any process serves): the
    D1 file, and the jobs file — a jobs file written by a newer server is refused here, with the reason,
    rather than by a request's job later."""
    data_dir.mkdir(parents=True, exist_ok=True)
    SQLiteD1(data_dir / "d1.sqlite3").apply_migrations(migrations)
    try:
        SQLiteJobs(data_dir / JOBS_FILE).conn.close()
    except NewerJobsFile as exc:
        raise SystemExit(str(exc)) from None


def local_backends(data_dir: Path, ai: AI, settings: Settings | None = None) -> Backends:
    """SQLite, a folder and a vector index under ``data_dir`` (prepared), ``ai``, the URL fetcher, and
    an in-process job runner (started by :func:`process_lifetime`) over the jobs in ``jobs.sqlite3``
    there (what a stopped server had queued, and what the other processes queue)."""
    from .adapters.local_vectors import LocalVectorIndex  # numpy: loaded when a server starts, not on import

    return Backends(ai=ai, db=SQLiteD1(data_dir / "d1.sqlite3"), bucket=FolderR2(data_dir / "r2"),
                    fetcher=HttpFetcher(allow_http=settings is not None and settings.fetch_allow_http),
                    jobs=InProcessJobs(store=SQLiteJobs(data_dir / JOBS_FILE)),
                    vectors=LocalVectorIndex(data_dir / "vectors.sqlite3"))


def build_local_app(
    settings: Settings, data_dir: Path, ai: AI, migrations: Path = MIGRATIONS
) -> Starlette:
    """The app on local bindings: SQLite (migrations applied), a folder and a vector index under
    ``data_dir``, ``ai``, and an in-process job runner."""
    prepare_data(data_dir, migrations)
    return create_app(local_backends(data_dir, ai, settings), settings)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_settings(env: dict[str, str], host: str) -> tuple[Settings, str]:
    """The server's settings and a line describing auth. Without ``ACCESS_TOKEN`` auth is
    off, which is allowed on a loopback address only (an ``AUTH_DISABLED`` variable is ignored)."""
    settings = Settings.from_mapping(env, auth_disabled=False)
    if settings.access_token:
        return settings, f"{len(settings.access_token)} key(s) from ACCESS_TOKEN"
    if not _is_loopback(host):
        raise SystemExit("Refusing to serve on a non-loopback address without ACCESS_TOKEN set.")
    settings = dataclasses.replace(settings, auth_disabled=True)
    return settings, "off (no ACCESS_TOKEN set; loopback only; any API key is accepted)"


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """What every server process needs to build its own app (picklable: it crosses to new processes)."""

    settings: Settings
    env: dict[str, str]
    ai: str | None
    data_dir: Path
    host: str
    port: int
    log_level: str
    limit_concurrency: int = 1024


@asynccontextmanager
async def process_lifetime(ctx: AppContext) -> AsyncIterator[None]:
    """Around serving, in each server process and its event loop (``serve --workers N``: in each of
    the N): the app's background-job runner (started here, not by ASGI lifespan, which the Worker's
    bridge runs around every request), and the backends' connection pools closed when the server stops."""
    backends = ctx.backends
    try:
        if isinstance(backends.jobs, InProcessJobs):
            async with backends.jobs.running(ctx):
                yield
        else:
            yield
    finally:
        for backend in (backends.ai, backends.fetcher):
            aclose: Callable[[], Any] | None = getattr(backend, "aclose", None)
            if aclose is not None:
                await aclose()


def serve_process(options: ServeOptions, sockets: list[Any] | None = None) -> None:
    """One server process: its own backends and app, uvicorn until SIGINT/SIGTERM. ``sockets``: the
    listening socket to accept on (from ``processes.supervise``); None: bind ``options.host:port``."""
    import uvicorn

    ai, _ = choose_ai(options.ai, options.settings, options.env)
    app = create_app(local_backends(options.data_dir, ai, options.settings), options.settings)
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level=options.log_level,
                            access_log=False, http=_http_protocol(), timeout_keep_alive=KEEP_ALIVE,
                            limit_concurrency=options.limit_concurrency,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)

    server = _Server(config)

    async def run() -> None:
        async with process_lifetime(app.state.ctx):
            # What start-up loaded (the app, pydantic's validators: ~70,000 objects) lives as long as the
            # process: frozen out of the collector, whose full passes over it took 30-45 ms, and young
            # collections made rarer (requests allocate in bursts that are freed by reference counting).
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
            huge_pages()
            await server.serve(sockets)

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run())
    for signum in reversed(server.stopped_by):  # the process ends as the signal ends it (SIGTERM: -15)
        signal.raise_signal(signum)


class _Server(uvicorn.Server):
    """uvicorn's server, except that the signal it stopped for (SIGTERM, SIGINT) is raised again once the
    process's lifetime has ended (:func:`process_lifetime`: the job runner giving its running jobs back to
    the jobs file, the pools closed), not as soon as it stops serving, which ended the process there."""

    stopped_by: tuple[int, ...] = ()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self.stopped_by = tuple(self._captured_signals)
                self._captured_signals.clear()


MADV_HUGEPAGE, MADV_COLLAPSE = 14, 25  # Linux's madvise(2) advice values
_HUGE = 1 << 21  # a transparent huge page: 2 MiB (x86-64, and arm64 with 4 KiB pages)


def huge_pages() -> None:
    """Back the process's memory (Python's objects: its heap and pymalloc's arenas) with 2 MiB pages,
    where Linux allows it; elsewhere, or where it refuses, nothing changes.

    A request touches objects spread over ~100 MB (the app, pydantic's validators, the modules), and at
    concurrency 1 it finds most of them out of the CPU's caches and address translations after each idle
    gap: with 4 KiB pages, many of its memory reads first walk the page tables. Linux's default (THP
    ``madvise``) gives huge pages only to memory that asks: this asks (``MADV_HUGEPAGE``, also for what
    those regions grow into) and has what is already there collapsed into huge pages now
    (``MADV_COLLAPSE``, Linux 6.1+; ~0.1 s once, at start). ``bench/paired.py``: ~9% less CPU and
    latency a chat at c=1. The cost: memory in a 2 MiB region is resident as a whole."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
    except (OSError, AttributeError):
        return
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for line in lines:
        fields = line.split()
        # private, writable memory of no file: the heap and anonymous mappings (pymalloc's arenas)
        if not fields[1].startswith("rw") or fields[1][3] != "p" or (len(fields) > 5 and fields[5] != "[heap]"):
            continue
        low, high = (int(bound, 16) for bound in fields[0].split("-"))
        start, end = (low + _HUGE - 1) & -_HUGE, high & -_HUGE
        if end > start:
            madvise(start, end - start, MADV_HUGEPAGE)
            madvise(start, end - start, MADV_COLLAPSE)


def _http_protocol() -> Any:
    """httptools (C) where installed, writing once per loop pass; else uvicorn's choice (h11)."""
    try:
        from .server_protocol import GatheringHttpToolsProtocol
    except ImportError:
        return "auto"
    return GatheringHttpToolsProtocol


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def worker_count(value: str) -> int:
    """``--workers``: a positive number, or ``auto`` for one process per CPU this process may use."""
    if value == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number or auto, not {value!r}")
    return count


def serve(args: argparse.Namespace) -> None:
    """``openai-workers-ai serve``: the local server under uvicorn, in one process or ``--workers``."""
    env = load_environment(Path.cwd())
    settings, auth_note = local_settings(env, args.host)
    _, ai_note = choose_ai(args.ai, settings, env)  # refuse bad settings before anything starts
    workers = getattr(args, "workers", 1)
    data_dir = Path(args.data_dir)
    prepare_data(data_dir)
    url = f"http://{args.host}:{args.port}"
    print(f"openai-workers-ai listening on {url}", flush=True)
    print(f"  OpenAI API: {url}/v1   Ollama API: {url}", flush=True)
    print(f"  AI backend: {ai_note}", flush=True)
    print(f"  auth: {auth_note}; data: {data_dir.resolve()}", flush=True)
    options = ServeOptions(settings, env, args.ai, data_dir, args.host, args.port, args.log_level,
                           args.limit_concurrency)
    if workers == 1:
        serve_process(options)
        return
    print(f"  processes: {workers}", flush=True)
    from .processes import supervise

    raise SystemExit(supervise(serve_process, options, workers))


def simulator(args: argparse.Namespace) -> None:
    """``openai-workers-ai simulator``: the Workers AI REST API, simulated, under uvicorn."""
    from .simulator.rest import create_rest_app

    print(f"Workers AI REST simulator on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(create_rest_app(token=args.token), host=args.host, port=args.port, log_level="warning")


def cleanup(args: argparse.Namespace) -> None:
    """Run the scheduled cleanup (expired files, crashed uploads, orphans) on the local data."""
    from .maintenance import run_scheduled

    data_dir = Path(args.data_dir)
    db = SQLiteD1(data_dir / "d1.sqlite3")
    db.apply_migrations(MIGRATIONS)
    from .adapters.local_vectors import LocalVectorIndex

    bucket = FolderR2(data_dir / "r2")
    settings = Settings.from_mapping(load_environment(Path.cwd()))
    if args.stale_after is not None:
        settings = dataclasses.replace(settings, stale_after=args.stale_after)
    backends = Backends(ai=Simulator(), db=db, bucket=bucket, vectors=LocalVectorIndex(data_dir / "vectors.sqlite3"))
    counts = asyncio.run(run_scheduled(backends, settings))
    counts["partials_removed"] = bucket.remove_partials(settings.stale_after)
    print(" ".join(f"{name}={count}" for name, count in sorted(counts.items())), flush=True)
    if counts.get("errors"):
        raise SystemExit(1)


def vocabulary(args: argparse.Namespace) -> None:
    """Put OpenAI's ``cl100k_base`` / ``o200k_base`` ``.tiktoken`` file (or its ``.gz``) where the
    gateway looks for it (R2), for token-array inputs on a machine that cannot download it."""
    import gzip
    import hashlib

    from .workers_ai.vocabularies import ENCODINGS

    data = Path(args.file).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    digest = hashlib.sha256(data).hexdigest()
    encoding = next((e for e in ENCODINGS.values() if e.sha256 == digest), None)
    if encoding is None:
        raise SystemExit(f"{args.file} is none of OpenAI's {', '.join(ENCODINGS)} files (SHA-256 {digest})")
    asyncio.run(FolderR2(Path(args.data_dir) / "r2").put(encoding.key, data, content_type="text/plain"))
    print(f"{encoding.name}: stored as {encoding.key} in {Path(args.data_dir).resolve()}", flush=True)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``serve``, ``simulator``, ``cleanup``, ``vocabulary``."""
    parser = argparse.ArgumentParser(prog="openai-workers-ai")
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve", help="run the local server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8787)
    s.add_argument("--data-dir", default=".data", help="SQLite (D1) and object (R2) storage")
    s.add_argument("--ai", choices=["simulator", "rest"], default=None,
                   help="default: rest when CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are set")
    s.add_argument("--limit-concurrency", type=int, default=1024, metavar="N",
                   help="connections and requests at once, per process, before new ones get a 503 (1024)")
    s.add_argument("--workers", type=worker_count, default=1, metavar="N|auto",
                   help="server processes sharing the port and the data (auto: one per CPU; default 1)")
    s.add_argument("--log-level", default="warning")
    s.set_defaults(func=serve)
    r = commands.add_parser("simulator", help="serve the simulated Workers AI REST API")
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, default=8788)
    r.add_argument("--token", default=None, help="require this bearer token")
    r.set_defaults(func=simulator)
    c = commands.add_parser("cleanup", help="delete expired files and leftovers of failed requests")
    c.add_argument("--data-dir", default=".data", help="as given to serve")
    c.add_argument("--stale-after", type=int, default=None, metavar="SECONDS",
                   help="uploads and deletes unfinished for this long are a crashed request's "
                        "(default: STALE_AFTER, 6 hours)")
    c.set_defaults(func=cleanup)
    v = commands.add_parser("vocabulary", help="store an OpenAI token vocabulary (.tiktoken) for token-array inputs")
    v.add_argument("file", help="cl100k_base.tiktoken or o200k_base.tiktoken (or .gz)")
    v.add_argument("--data-dir", default=".data", help="as given to serve")
    v.set_defaults(func=vocabulary)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
