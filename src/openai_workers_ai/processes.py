"""Several server processes on one port (``serve --workers N``; CPython only).

The parent binds the port (:func:`listening_sockets`), starts N processes (``spawn``: each a fresh
interpreter that builds its own app, so nothing made before the start is shared by accident), hands
each its listening socket and waits. A process that ends on its own is replaced, unless it ended
within :data:`STARTUP_GRACE` seconds of its start (then it cannot start, and the server stops with
an error). SIGINT or SIGTERM to the parent stops every process: SIGTERM to each (the requests in
flight get ``cli.GRACEFUL_SHUTDOWN`` seconds to finish), SIGKILL to any still there after
:data:`STOP_TIMEOUT` seconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

STARTUP_GRACE = 5.0
STOP_TIMEOUT = 30.0

log = logging.getLogger("uvicorn.error")


class _Options(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` TCP sockets listening on ``host:port``, one per server process.

    On Linux they are ``SO_REUSEPORT`` sockets: the kernel spreads new connections evenly over them.
    Elsewhere it is one socket, shared: the processes take turns accepting, unevenly (a process
    often accepts a burst of connections at once), but without a port others could bind too.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reuse_port = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
    sockets: list[socket.socket] = []
    try:
        for _ in range(count if reuse_port else 1):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(2048)
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise SystemExit(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sockets if reuse_port else sockets * count


def supervise(target: Callable[[Any, list[socket.socket]], None], options: _Options, count: int) -> int:
    """Run ``target(options, [socket])`` in ``count`` processes until SIGINT/SIGTERM; the exit status."""
    sockets = listening_sockets(options.host, options.port, count)
    context = multiprocessing.get_context("spawn")
    stopping: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: stopping.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(i: int) -> tuple[BaseProcess, float]:
        process = context.Process(target=target, args=(options, [sockets[i]]), daemon=False)
        process.start()
        return process, time.monotonic()

    processes = [start(i) for i in range(count)]
    status = 0
    try:
        while not stopping:
            wait([p.sentinel for p, _ in processes], timeout=0.5)
            for i, (process, started) in enumerate(processes):
                if process.is_alive() or stopping:
                    continue
                if time.monotonic() - started < STARTUP_GRACE:
                    log.error("Server process %s exited with %s while starting; stopping.", process.pid,
                              process.exitcode)
                    stopping.append(0)
                    status = 1
                    break
                log.warning("Server process %s exited with %s; starting another.", process.pid, process.exitcode)
                processes[i] = start(i)
    finally:
        _stop([p for p, _ in processes])
        for sock in set(sockets):
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _stop(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive() and process.pid is not None:
            process.terminate()  # SIGTERM: uvicorn's graceful shutdown
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
