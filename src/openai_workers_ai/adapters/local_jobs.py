"""The local server's job queue in a SQLite file of its own (``.data/jobs.sqlite3``; CPython only, never
imported by the Worker, whose jobs are a Cloudflare Queue's): :class:`SQLiteJobs`, the
:class:`~openai_workers_ai.jobs.JobStore` that ``serve`` gives its :class:`~openai_workers_ai.jobs.InProcessJobs`.

Jobs queued or delayed when the server stops (or crashes) are in the file when it starts again, and
the processes of ``serve --workers N`` share them. Each row is a job (``kind``, ``id``, ``owner``), when
it is ``due``, its ``attempt`` and its ``claim``: a process takes a due job with one conditional
``UPDATE`` (two processes never both take one) that sets its claim and moves ``due`` to the end of a
lease of :data:`LEASE` seconds; the runner renews the leases of the jobs it runs (every quarter of
it), deletes a job that succeeded, reschedules one that failed (``attempt`` + 1, its claim cleared),
and gives back, due at once, the jobs it was running when it stops. A process killed mid-job renews
nothing: its lease lapses, the job is due again, and whoever takes it next counts that as a failed
attempt (a job that kills its process every time is dropped after the last one, as a failing one is).

Why a short lease renewed rather than one longer than the longest job: a batch's slice (100 requests, 6
at a time, each within the gateway's timeouts: ``runner/batches.py`` holds a slice for 30 minutes) or a
background response with tool calls may run for many minutes, and a lease that long would keep a
crashed process's jobs waiting as long; renewed, the lease only has to outlast a stalled event loop
(SQLite's busy timeout is 10 s), and what a killed process held runs again within :data:`LEASE`.

The file is the local D1's kind (``local.connect``: WAL, a busy timeout, writes in ``BEGIN IMMEDIATE``)
but not D1's: its schema is here, not in ``migrations/`` (the Worker's D1, which has no such table). Its
version is the file's ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`): opening a file brings an older one up
to date in place, its jobs kept (a file from before the version was kept says 0, and has version 1's
table), and refuses a newer one (:class:`NewerJobsFile`: a newer server's file, which this one cannot read
safely) — ``serve`` checks it before it starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from ..ids import claim_token
from ..jobs import Claimed
from ..ports import Job
from .local import Transaction, connect

LEASE = 120.0
"""Seconds a taken job stays its process's without a renewal (the runner renews every 30 s)."""
POLL = 1.0
"""Seconds between a process's looks at the file for jobs it did not send itself (another process's,
retries and delays due, leases lapsed): a job another process sent waits at most this long."""
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the jobs table (IF NOT EXISTS: a file from before versions were kept has it already)
        "CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
        " id TEXT NOT NULL, owner TEXT, due REAL NOT NULL, attempt INTEGER NOT NULL DEFAULT 1, claim TEXT)",
        "CREATE INDEX IF NOT EXISTS jobs_by_due ON jobs (due, seq)",
    ),
)
"""The statements that bring the file from version ``i`` to ``i + 1`` (``_MIGRATIONS[i]``); a new version is
one more entry, which keeps the jobs a file holds."""
SCHEMA_VERSION = len(_MIGRATIONS)
"""The jobs file's version this code reads and writes (its ``PRAGMA user_version``)."""


class NewerJobsFile(Exception):
    """The jobs file was written by a newer version of the server (its ``user_version`` is past
    :data:`SCHEMA_VERSION`)."""

    def __init__(self, path: str | Path, version: int) -> None:
        super().__init__(f"The jobs file {path} has version {version}, newer than this server's "
                         f"{SCHEMA_VERSION}: it was written by a newer version of openai-workers-ai. Run that "
                         f"version, or move the file away (its queued jobs are then not run).")
        self.version = version


class SQLiteJobs:
    """:class:`~openai_workers_ai.jobs.JobStore` in the SQLite file at ``path``, shared by processes."""

    poll: float = POLL

    def __init__(self, path: str | Path, *, lease: float = LEASE) -> None:
        self.conn = connect(path)
        self.lease = lease
        self._held: dict[int, str] = {}  # seq → claim: the jobs this store's process runs
        try:
            self._migrate(path)
        except BaseException:
            self.conn.close()
            raise

    def _migrate(self, path: str | Path) -> None:
        """The file brought to :data:`SCHEMA_VERSION` in one transaction (its jobs kept); a newer one refused."""
        with self._writing():
            version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise NewerJobsFile(path, version)
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    self.conn.execute(statement)
            if version != SCHEMA_VERSION:
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _writing(self) -> Transaction:
        """A write transaction (``BEGIN IMMEDIATE``: the write lock taken first, waiting up to the busy
        timeout for another process's), committed at the end or rolled back on an error."""
        return Transaction(self.conn, "BEGIN IMMEDIATE")

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM jobs").fetchone()[0])

    def put(self, job: Job, due: float) -> None:
        with self._writing():
            self.conn.execute("INSERT INTO jobs (kind, id, owner, due) VALUES (?, ?, ?, ?)",
                         (job.kind, job.id, job.owner, due))

    def take(self, now: float) -> Claimed | None:
        claim = claim_token()
        with self._writing():
            rows = self.conn.execute(
                "UPDATE jobs SET claim = ?, due = ?, attempt = attempt + (claim IS NOT NULL)"
                " WHERE seq = (SELECT seq FROM jobs WHERE due <= ? ORDER BY due, seq LIMIT 1)"
                " RETURNING seq, kind, id, owner, attempt", (claim, now + self.lease, now)).fetchall()
        if not rows:
            return None
        seq, kind, job_id, owner, attempt = rows[0]
        self._held[seq] = claim
        return Claimed(Job(kind, job_id, owner), attempt, (seq, claim))

    def next_due(self) -> float | None:
        due = self.conn.execute("SELECT min(due) FROM jobs").fetchone()[0]
        return None if due is None else float(due)

    def done(self, claimed: Claimed) -> None:
        seq, claim = self._ref(claimed)
        with self._writing():
            self.conn.execute("DELETE FROM jobs WHERE seq = ? AND claim = ?", (seq, claim))

    def retry(self, claimed: Claimed, due: float) -> None:
        seq, claim = self._ref(claimed)
        with self._writing():
            self.conn.execute("UPDATE jobs SET claim = NULL, due = ?, attempt = ? WHERE seq = ? AND claim = ?",
                         (due, claimed.attempt + 1, seq, claim))

    def _ref(self, claimed: Claimed) -> tuple[int, str]:
        seq, claim = cast(tuple[int, str], claimed.ref)
        self._held.pop(seq, None)
        return seq, claim

    def renew(self, now: float) -> None:
        if not self._held:
            return
        with self._writing():
            self.conn.executemany("UPDATE jobs SET due = ? WHERE seq = ? AND claim = ?",
                             [(now + self.lease, seq, claim) for seq, claim in self._held.items()])

    def release(self, now: float) -> None:
        if not self._held:
            return
        held, self._held = self._held, {}
        with self._writing():
            self.conn.executemany("UPDATE jobs SET claim = NULL, due = ? WHERE seq = ? AND claim = ?",
                             [(now, seq, claim) for seq, claim in held.items()])

