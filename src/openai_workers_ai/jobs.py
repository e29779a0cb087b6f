"""Background work: jobs sent through the :class:`~.ports.Jobs` port, run by :func:`execute`.

A job is data (:class:`~.ports.Job`: ``{kind, id, owner}``), and every runner calls
the same :func:`execute` with the app's :class:`~.context.AppContext`:

- the Worker: a Cloudflare Queue (``env.JOBS`` in ``wrangler.toml``, with a
  dead-letter queue). ``adapters/workers.py`` sends; ``entry.Default.queue``
  receives batches and hands them to :func:`consume`, which runs a batch's jobs
  concurrently;
- the local server: :class:`InProcessJobs`, a task in the server's event loop,
  started by the CLI (not by ASGI lifespan, which the Worker's bridge runs
  around every request), over a SQLite file that outlives the process and that
  the server's processes share (``adapters/local_jobs.py``, never imported here:
  the Worker loads this module);
- tests: the same :class:`InProcessJobs`, in memory (:class:`MemoryJobs`) or over
  a file, run on demand with :meth:`~InProcessJobs.drain`.

Delivery is at least once — a failed job is retried, a Queue may redeliver — so every
handler is idempotent: it re-reads the state and changes it with one conditional
statement. Adding a kind of job is one entry in :data:`HANDLERS`.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from . import webhooks
from .context import AppContext, Clock
from .fanout import gather_bounded
from .ports import MAX_DELAY, Job
from .repositories import images
from .runner import batches, ingest, responses, runs, vectors

log = logging.getLogger(__name__)

Handler = Callable[[AppContext, Job], Awaitable[None]]


async def _expire_image(ctx: AppContext, job: Job) -> None:
    """``images.expire``: delete a generated image once its URL has expired (sent when it was stored)."""
    remaining = await images.expire(ctx.backends.bucket, job.id, now=ctx.now())
    if remaining:  # sent early (a delay is at most MAX_DELAY): come back at the expiry
        await send(ctx, job, delay=remaining)


async def _ingest(ctx: AppContext, job: Job) -> None:
    """``vector_stores.ingest``: one file of a vector store (id ``vs_…/file-…``), a few steps per job; the
    job queues itself again for the rest (or, with no queue, goes on)."""
    store_id, _, file_id = job.id.partition("/")
    while not (await ingest.ingest(ctx, store_id, file_id)).finished:
        if await send(ctx, job):
            return


async def _ingest_batch(ctx: AppContext, job: Job) -> None:
    """``vector_stores.ingest_batch``: a store's (``vs_…``) or a batch's (``vs_…/vsfb_…``) files still in
    progress, a few per job; the job queues itself again for the rest (or, with no queue, goes on)."""
    store_id, _, batch_id = job.id.partition("/")
    while await ingest.ingest_pending(ctx, store_id, batch_id or None):
        if await send(ctx, job):
            return


async def _delete_store(ctx: AppContext, job: Job) -> None:
    """``vector_stores.delete``: a store being deleted (``vs_…``), a few steps per job, the rest queued."""
    await vectors.delete_store(ctx.backends, job.id)


async def _delete_store_file(ctx: AppContext, job: Job) -> None:
    """``vector_store_files.delete``: a file being taken out of a store (``vs_…/file-…``), likewise."""
    store_id, _, file_id = job.id.partition("/")
    await vectors.delete_file(ctx.backends, store_id, file_id, ctx.now())


async def _purge_cancelled(ctx: AppContext, job: Job) -> None:
    """``vector_stores.purge``: what cancelled files of a store (``vs_…``) stored, likewise."""
    await vectors.purge_cancelled(ctx.backends, job.id)


async def _forget_file(ctx: AppContext, job: Job) -> None:
    """``files.leave_vector_stores``: a deleted file (``file-…``) taken out of every store, likewise."""
    await vectors.forget_file(ctx.backends, job.id, ctx.now())


async def _run_batch(ctx: AppContext, job: Job) -> None:
    """``batches.run``: a batch (``batch_…``): its input checked, then a slice of its requests a run, then its
    files; the job queues itself again for the rest (or, with no queue, goes on)."""
    while await batches.run(ctx, job.id):
        if await send(ctx, job):
            return


async def _send_webhook(ctx: AppContext, job: Job) -> None:
    """``webhooks.send``: one webhook event (``evt_…/<type>/<object id>/<created_at>``), POSTed; a failure
    is raised, and the job retried (the same event id each time)."""
    await webhooks.deliver(ctx.backends, ctx.settings, job, ctx.now())


HANDLERS: dict[str, Handler] = {
    "images.expire": _expire_image,
    responses.JOB_KIND: responses.run_job,  # generate a background response
    runs.JOB_KIND: runs.run_job,  # execute an Assistants run
    "vector_stores.ingest": _ingest,
    "vector_stores.ingest_batch": _ingest_batch,
    vectors.STORE_JOB: _delete_store,
    vectors.FILE_JOB: _delete_store_file,
    vectors.FORGET_JOB: _forget_file,
    vectors.PURGE_JOB: _purge_cancelled,
    batches.JOB_KIND: _run_batch,
    webhooks.JOB_KIND: _send_webhook,
}


async def send(ctx: AppContext, job: Job, *, delay: int = 0) -> bool:
    """Queue ``job`` (``delay`` capped at :data:`~.ports.MAX_DELAY`); False when this deployment has
    no job queue (the scheduled cleanup then does what the job would have done)."""
    if ctx.backends.jobs is None:
        return False
    await ctx.backends.jobs.send(job, delay=max(0, min(delay, MAX_DELAY)))
    return True


async def execute(ctx: AppContext, job: Job) -> None:
    """Run one job. An unknown kind is logged and dropped (a message from a newer or older
    deployment); a failure is raised, for the runner to retry."""
    handler = HANDLERS.get(job.kind)
    if handler is None:
        log.warning("dropping a job of unknown kind %r (id %s)", job.kind, job.id)
        return
    await handler(ctx, job)


class Delivery(Protocol):
    """One received message: its job (None when the body is not one), and its fate."""

    @property
    def job(self) -> Job | None: ...

    def ack(self) -> None: ...

    def retry(self) -> None: ...


BATCH_CONCURRENCY = 10
"""Jobs of one Queue batch run at once: a whole batch (``max_batch_size`` in ``wrangler.toml``, 1: each job
has an invocation's 1,000 calls to Cloudflare services to itself)."""


async def consume(ctx: AppContext, deliveries: Iterable[Delivery], *, concurrency: int = BATCH_CONCURRENCY) -> None:
    """A Queue batch: its jobs run concurrently (at most ``concurrency`` at once), so that a burst of
    runs does not wait behind each other's generation; each is acknowledged when it succeeds, or
    retried when it fails (by the Queue, which moves it to the dead-letter queue after its last
    retry), as soon as it ends. A malformed message is dropped. Jobs of one batch may be the same job
    delivered twice: handlers are idempotent under concurrent delivery too (one conditional statement
    decides which delivery does the work)."""

    async def run(delivery: Delivery) -> None:  # never raises: a job's failure is its message's retry
        job = delivery.job
        if job is None:
            log.warning("dropping a queue message that is not a job")
            delivery.ack()
            return
        try:
            await execute(ctx, job)
        except Exception:
            log.exception("job %s %s failed; retrying", job.kind, job.id)
            delivery.retry()
            return
        delivery.ack()

    await gather_bounded([partial(run, delivery) for delivery in deliveries], concurrency)


@dataclass(slots=True)
class Claimed:
    """A job taken from a :class:`JobStore` to run: its ``attempt`` (from 1) and the store's ``ref`` to it."""

    job: Job
    attempt: int
    ref: object = None


class JobStore(Protocol):
    """Where :class:`InProcessJobs` keeps its jobs: :class:`MemoryJobs` (tests; lost when the process ends),
    or a file several processes share and a restart finds again (``adapters/local_jobs.py``)."""

    @property
    def poll(self) -> float | None:
        """Seconds between looks for jobs this process did not put (another process's, a lease that lapsed);
        None: only this process puts any, and :meth:`InProcessJobs.send` wakes it."""

    @property
    def lease(self) -> float | None:
        """Seconds a taken job stays this process's unless renewed; None: taken is taken."""

    def __len__(self) -> int: ...

    def put(self, job: Job, due: float) -> None:
        """Queue ``job`` (its first attempt) to run at ``due``."""

    def take(self, now: float) -> Claimed | None:
        """The earliest job due at ``now``, claimed by this process; None when none is."""

    def next_due(self) -> float | None:
        """When the earliest job (or lease) is due; None when there is none."""

    def done(self, claimed: Claimed) -> None:
        """A claimed job succeeded (or is dropped): it is gone."""

    def retry(self, claimed: Claimed, due: float) -> None:
        """A claimed job failed: its next attempt runs at ``due``."""

    def renew(self, now: float) -> None:
        """Every job still claimed by this process stays so for another :attr:`lease` from ``now``."""

    def release(self, now: float) -> None:
        """Every job still claimed by this process is given back, due at ``now`` (the runner stops)."""


@dataclass(order=True, slots=True)
class _Queued:
    due: float
    seq: int
    job: Job
    attempt: int = 1


class MemoryJobs:
    """:class:`JobStore` in this process's memory: a heap of due times. What it holds when the process
    ends is lost (tests drain it; the local server keeps its jobs in a file instead)."""

    poll: float | None = None
    lease: float | None = None

    def __init__(self) -> None:
        self._heap: list[_Queued] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, job: Job, due: float) -> None:
        self._push(job, due, 1)

    def _push(self, job: Job, due: float, attempt: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Queued(due, self._seq, job, attempt))

    def take(self, now: float) -> Claimed | None:
        if not self._heap or self._heap[0].due > now:
            return None
        queued = heapq.heappop(self._heap)
        return Claimed(queued.job, queued.attempt)

    def next_due(self) -> float | None:
        return self._heap[0].due if self._heap else None

    def done(self, claimed: Claimed) -> None:
        pass

    def retry(self, claimed: Claimed, due: float) -> None:
        self._push(claimed.job, due, claimed.attempt + 1)

    def renew(self, now: float) -> None:
        pass

    def release(self, now: float) -> None:
        pass


CONCURRENCY = 8
"""Jobs an :class:`InProcessJobs` runs at once (in each server process)."""
MAX_RUN = 3600.0
"""Seconds one run of a job may take in an :class:`InProcessJobs` (an hour: twice the longest job's bound, a
batch slice's 30 minutes; a background response's is 15, a run's 10). Past it the job is cancelled — as a
Queue's consumer is ended at its wall-clock limit — and that counts as a failed attempt: a job that hangs
is tried again (after ``retry_after``) and dropped after its last attempt, rather than hold its lease, and a
place among the runner's :data:`CONCURRENCY`, for ever. A cancelled background response or run is put back
``queued`` by its handler, as when the server stops."""


class RanTooLong(Exception):
    """A job ran past :data:`MAX_RUN` (its runner's ``max_run``) and was cancelled."""


class InProcessJobs:
    """:class:`~.ports.Jobs` in this process: jobs kept by a :class:`JobStore` (in memory by default), run
    by :meth:`running` (the local server) or by :meth:`drain` (tests). A failed job is retried after
    ``retry_after`` seconds, at most ``max_attempts`` times, then logged and dropped (the local
    dead-letter queue); one running past ``max_run`` seconds is cancelled, and that is a failure. With the local server's store (a SQLite file, ``adapters/local_jobs.py``) jobs
    outlive the process, and processes sharing the file share its jobs, each run by one at a time."""

    def __init__(
        self, clock: Clock = time.time, *, max_attempts: int = 3, retry_after: float = 5.0,
        concurrency: int = CONCURRENCY, store: JobStore | None = None, max_run: float = MAX_RUN,
    ) -> None:
        self.clock = clock
        self.max_run = max_run
        self.max_attempts = max_attempts
        self.retry_after = retry_after
        self.concurrency = concurrency
        self.store: JobStore = store if store is not None else MemoryJobs()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self.store)

    async def send(self, job: Job, *, delay: int = 0) -> None:
        self.store.put(job, self.clock() + delay)
        self._wake.set()

    async def drain(self, ctx: AppContext) -> int:
        """Run every job due now — including those sent or retried while draining — and return
        how many ran. Later jobs wait (advance the clock to reach them)."""
        ran = 0
        while (claimed := self._take()) is not None:
            await self._run(ctx, claimed, retry_now=True)
            ran += 1
        return ran

    def _take(self) -> Claimed | None:
        """The next job due, one that ran out of attempts (its process ended while it ran, each time)
        dropped on the way."""
        while (claimed := self.store.take(self.clock())) is not None:
            if claimed.attempt <= self.max_attempts:
                return claimed
            log.error("job %s %s failed %d times; dropped (its process ended while it ran)",
                      claimed.job.kind, claimed.job.id, claimed.attempt - 1)
            self._settle(self.store.done, claimed)
        return None

    async def _run(self, ctx: AppContext, claimed: Claimed, *, retry_now: bool = False) -> None:
        job = claimed.job
        try:
            await self._bounded(ctx, job)
        except Exception:
            if claimed.attempt >= self.max_attempts:
                log.exception("job %s %s failed %d times; dropped", job.kind, job.id, claimed.attempt)
                self._settle(self.store.done, claimed)
                return
            log.warning("job %s %s failed; retrying", job.kind, job.id, exc_info=True)
            due = self.clock() + (0 if retry_now else self.retry_after)
            self._settle(partial(self.store.retry, due=due), claimed)
            return
        self._settle(self.store.done, claimed)

    async def _bounded(self, ctx: AppContext, job: Job) -> None:
        """:func:`execute`, cancelled past :attr:`max_run` seconds, which raises :class:`RanTooLong`."""
        limit = asyncio.timeout(self.max_run)  # in this task: a job that ends is recorded without a pause
        try:
            async with limit:
                await execute(ctx, job)
        except TimeoutError:
            if not limit.expired():
                raise  # the job's own
            raise RanTooLong(f"job {job.kind} {job.id} ran for more than {self.max_run:g} s; cancelled") from None

    @staticmethod
    def _settle(record: Callable[[Claimed], None], claimed: Claimed) -> None:
        """A job's fate recorded; if the store fails, the job stays claimed and runs again when its lease
        lapses (at least once)."""
        try:
            record(claimed)
        except Exception:
            log.exception("could not record the end of job %s %s; it will run again", claimed.job.kind,
                          claimed.job.id)

    @asynccontextmanager
    async def running(self, ctx: AppContext) -> AsyncIterator[None]:
        """Run jobs as they come due, in a task of the current event loop, for the block's duration.
        Jobs still running when it ends are cancelled and given back to the store (due at once)."""
        task = asyncio.create_task(self._loop(ctx), name="openai-workers-ai jobs")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self, ctx: AppContext) -> None:
        """Take due jobs while fewer than :attr:`concurrency` run; else sleep until the next is due, a job
        is sent or ends, the store's :attr:`~JobStore.poll` interval passes (jobs other processes put),
        or held leases need renewing (every quarter of the lease)."""
        store = self.store
        tasks: set[asyncio.Task[None]] = set()
        renew_every = store.lease / 4 if store.lease else None
        renewed = self.clock()

        def ended(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            self._wake.set()

        try:
            while True:
                self._wake.clear()
                now = self.clock()
                waits: list[float] = []
                try:
                    if renew_every is not None and tasks:
                        if now - renewed >= renew_every:
                            store.renew(now)
                            renewed = now
                        waits.append(renewed + renew_every - now)
                    if len(tasks) < self.concurrency:
                        claimed = self._take()
                        if claimed is not None:
                            task = asyncio.create_task(self._run(ctx, claimed))
                            tasks.add(task)
                            task.add_done_callback(ended)
                            continue
                        due = store.next_due()
                        if due is not None:
                            waits.append(due - now)
                except Exception:  # the store failing (a disk full, a lock held too long): look again later
                    log.exception("the job store failed; trying again")
                    waits.append(store.poll or self.retry_after)
                if store.poll is not None:
                    waits.append(store.poll)
                timeout = max(0.0, min(waits)) if waits else None
                # not asyncio.wait_for: Python 3.11's returns, swallowing a cancel (the runner told to stop),
                # when the wait it was cancelled in has just ended (a job sent, or one ending), and the runner
                # would go on; asyncio.wait raises it
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({woken}, timeout=timeout)
                finally:
                    woken.cancel()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                store.release(self.clock())
            except Exception:
                log.exception("could not give back the jobs this process was running; they run again when "
                              "their leases lapse")
