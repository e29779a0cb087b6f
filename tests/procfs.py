"""Which process holds which TCP connection, read from Linux's ``/proc`` (tests that run servers)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

ESTABLISHED = "01"  # the state column of /proc/net/tcp


def _connections() -> Iterator[tuple[int, int, str, str]]:
    """Each IPv4 TCP socket: local port, remote port, state, inode."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        yield int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16), fields[3], fields[9]


def accepted_on(port: int) -> list[str]:
    """The inodes of the established connections accepted on ``port`` (its server side)."""
    return [inode for local, _, state, inode in _connections() if local == port and state == ESTABLISHED]


def inode_of(local_port: int, remote_port: int) -> str | None:
    """The socket inode of the connection ``127.0.0.1:local_port → :remote_port``."""
    return next((inode for local, remote, _, inode in _connections()
                 if local == local_port and remote == remote_port), None)


def holder(pids: Iterable[int], inode: str | None) -> int | None:
    """Which of ``pids`` holds the socket ``inode`` open."""
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def children(pid: int) -> list[int]:
    """The processes ``pid`` started."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []
