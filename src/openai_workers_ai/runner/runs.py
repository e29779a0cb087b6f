"""The Assistants run executor: :func:`execute` claims a queued run and yields its AssistantStreamEvents.

A streamed run (``stream: true``) sends the events as they come; a background job
(``jobs.HANDLERS["runs.execute"]``) drains the same generator. Either way the rows are written at
step boundaries only — a message and its step when the reply starts, the whole reply when it ends —
never per delta::

    claim: queued → in_progress            (one conditional UPDATE: a redelivered job finds nothing to do)
    record submitted tool outputs           thread.run.step.completed
    read the thread, build the ChatSpec     (translate/runs.py; too long for max_prompt_tokens → incomplete)
    stream the pipeline                     thread.run.step.created, thread.message.created, …delta…
    file_search called: the gateway         a tool_calls step (file_search, with results); then read and
      searches                              stream again
    end:  in_progress → completed | requires_action | incomplete | failed

The model calls file_search as a function (``translate/file_search.py``); the gateway runs the
search (:mod:`.file_search_tool`) and the model goes on with the results; its reply's citation
markers become ``file_citation`` annotations.

Every write made while generating is conditional on the run still being ``in_progress``: a run
cancelled, expired or deleted with its thread meanwhile gets nothing more written, and the executor
notices (it also looks every :data:`CHECK_EVERY` seconds while the model streams) and ends the run
the way its new status says (:mod:`.run_status`). A failure of Workers AI or D1 mid-run ends it
``failed`` with ``last_error``; if even that cannot be written, the run expires at ``expires_at``.

A job's executor refreshes the run's liveness mark every :data:`.liveness.REFRESH_EVERY` seconds, and its writes are
conditional on its claim too: a delivery of the job that finds the mark stale (its executor died) takes the
run over and executes it again (:func:`run_job`), and an executor that was only slow writes nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..context import AppContext
from ..errors import APIError, UpstreamError
from ..ids import call_id, claim_token, new_sortable_id
from ..ports import Database, Job
from ..repositories import messages, run_steps, runs
from ..translate import file_search
from ..translate import runs as translate
from ..translate.citations import Source, message_annotations
from ..types.common import CompletionUsage
from ..types.runs import AssistantStreamEvent, LastError, Run, RunStatus, RunStep, StepError, run_usage
from ..types.threads import Message, text_part
from ..workers_ai import pipeline
from ..workers_ai.spec import Delta, Done, Finish, FinishReason, ToolCallPiece, Usage, gather
from . import file_search_tool, liveness, run_context, run_status
from .liveness import STALE_AFTER
from .run_status import event_for

Event = AssistantStreamEvent
log = logging.getLogger(__name__)

CHECK_EVERY = 1.0
"""Seconds between looks at the run's status while the model streams (a cancel is noticed within it)."""


JOB_KIND = "runs.execute"
NO_USAGE = run_usage(0, 0)


async def _claim(ctx: AppContext, stored: runs.StoredRun) -> str | None:
    """``queued`` → ``in_progress`` (before its expiry), with a new claim: the claim; None when the run was
    not queued (another delivery claimed it, it was cancelled or expired)."""
    token, now = claim_token(), ctx.now()
    if await runs.transition(ctx.backends.db, stored.run.id, ("queued",), "in_progress", now,
                             {"started_at": stored.run.started_at or now, "claim": token}, deadline="ahead"):
        return token
    return None


async def run_job(ctx: AppContext, job: Job) -> None:
    """``runs.execute``: an Assistants run, executed in the background (sent when it is created, and when
    its tool outputs arrive); its events are drained, the executor writes what they say.

    A run ``queued`` is claimed; one ``in_progress`` whose liveness mark is older than :data:`STALE_AFTER`
    (its executor died) is taken over — the reply and steps its executor had left unfinished dropped, as
    a stream's hand-off drops them — and executed again from there. One found ``in_progress`` with a
    fresh mark sends the job again, due when the mark would be stale; past its expiry the run expires
    instead, which ends that loop (as at :func:`.responses.run_job`). One found ``cancelling`` is ``cancelled``
    if its executor died (:func:`.run_status.cancel_abandoned`), else comes back likewise."""
    db, now = ctx.backends.db, ctx.now()
    stored = await runs.get_by_id(db, job.id)
    if stored is None:
        return
    run = stored.run
    if run.status == "queued":
        claim = await _claim(ctx, stored)
        if claim is None:
            await run_status.expire_if_overdue(ctx, run.id)
            return
    elif run.status == "in_progress":
        if run.expires_at is not None and run.expires_at <= now:
            await run_status.expire(db, run.id, now)
            return
        if liveness.alive(stored.updated_at, now):
            await liveness.come_back(ctx, job, stored.updated_at, run.expires_at, now)
            return
        claim = await runs.take_over(db, run.id, now, now - STALE_AFTER)
        if claim is None:
            return
        log.warning("run %s: its executor stopped refreshing its mark; executing it again", run.id)
        await _drop_unfinished(ctx, stored)
    else:  # requires_action, cancelling, ended: nothing to execute (an overdue one expires, as before)
        ended = await run_status.expire_if_overdue(ctx, run.id)  # a cancelling one whose executor died: cancelled
        if ended is not None and ended.status == "cancelling":  # its executor alive: come back, lest it die
            await liveness.come_back(ctx, job, stored.updated_at, ended.expires_at, now)
        return
    await _execute_refreshing(ctx, run.id, claim)


async def _drop_unfinished(ctx: AppContext, stored: runs.StoredRun) -> None:
    """What a dead executor of the run left unfinished — its reply still ``in_progress``, its steps still
    ``in_progress`` but a tool-calls step whose calls the submitted outputs answer (its new executor records
    them) — deleted: the run's new executor starts that generation over."""
    db = ctx.backends.db
    answered = {o["tool_call_id"] for o in stored.tool_outputs or ()}
    statements = [messages.delete_unfinished_of_run_statement(db, stored.run.id)]
    for step in await run_steps.of_run(db, stored.run.id):
        if step.status != "in_progress":
            continue
        calls = step.step_details.get("tool_calls") if step.type == "tool_calls" else None
        if calls and answered and all(c.get("id") in answered for c in calls):
            continue  # awaiting its outputs' record
        statements.append(run_steps.delete_unfinished_statement(db, step.id))
    await db.batch(statements)


async def _execute_refreshing(ctx: AppContext, run_id: str, claim: str) -> None:
    """The job's execution of its claimed run (its events drained), the run's liveness mark refreshed every
    :data:`.liveness.REFRESH_EVERY` seconds meanwhile. A refresh that finds the run taken over stops the
    execution (nothing of it would be written); one that finds it cancelling or ended lets the executor
    notice, as it does within :data:`CHECK_EVERY` while the model streams, and end it so. Cancelled (the
    runner stopping), the executor hands the run back (queued, its job sent)."""
    async def drained() -> None:
        async with aclosing(execute(ctx, run_id, claim)) as events:
            async for _ in events:
                pass

    async def still_ours() -> bool:
        if await liveness.marked(runs.refresh(ctx.backends.db, run_id, claim, ctx.now()), f"run {run_id}"):
            return True
        stored = await runs.get_by_id(ctx.backends.db, run_id)
        return not (stored is not None and stored.run.status == "in_progress" and stored.claim != claim)

    if not await liveness.refreshing(drained(), still_ours):  # its hand-off, conditional on its claim, writes nothing
        log.warning("run %s is no longer this job's to execute; stopped", run_id)


async def execute(ctx: AppContext, run_id: str, claim: str | None = None) -> AsyncGenerator[Event, None]:
    """Claim the run if it is ``queued`` and run it; yield its events. A run that is not queued (a
    redelivered job, a run cancelled or expired before it started) is left as it is: the events then
    say only where it ended, if it did. With ``claim``, the run was claimed (or taken over) already by
    the job running it: it is run while it is still that claim's. Without, it runs in its request (a
    stream), which no job runs: its ``runs.execute`` job is sent as its watchdog once it is claimed
    (:func:`.liveness.watch`), and its mark refreshed while it runs, as a job's executor does — if the
    request's process dies, that job takes the run over."""
    db, now = ctx.backends.db, ctx.now()
    stored = await runs.get_by_id(db, run_id)
    if stored is None:
        return
    streamed = claim is None
    if claim is None:
        claim = await _claim(ctx, stored)
        if claim is None:
            ended = await run_status.expire_if_overdue(ctx, run_id)
            if ended is not None and ended.status not in ("queued", "in_progress"):
                yield event_for(ended)
            return
        stored = replace(stored, run=stored.run.model_copy(update={
            "status": "in_progress", "started_at": stored.run.started_at or now}))
        await liveness.watch(ctx, Job(JOB_KIND, run_id, stored.owner), stored.run.expires_at, now)
    elif (stored.run.status, stored.claim) != ("in_progress", claim):
        return  # ended, or taken over, since the job claimed it
    run = stored.run
    yield Event("thread.run.in_progress", run)
    generation = _Generation(ctx, run, claim=claim)
    try:
        async with _kept(ctx, run_id, claim if streamed else None), \
                aclosing(generation.generate(stored.tool_outputs)) as generated:
            async for event in generated:
                yield event
    except Exception as exc:  # a failed model call, a D1 error, a bug: the run fails, it never stays in_progress
        async for event in generation.fail(exc):
            yield event
    except BaseException:  # closed or cancelled: a stream's client went away; the run goes on in the background
        handing = asyncio.ensure_future(
            run_status.hand_off(ctx, generation.run, stored.owner, generation.message, generation.steps, claim))
        await asyncio.shield(handing)  # a cancelled request must not cancel the hand-off too
        raise


def _kept(ctx: AppContext, run_id: str, claim: str | None) -> AbstractAsyncContextManager[None]:
    """A run executed in its request (``claim``: its executor's; None for a job's, which
    :func:`_execute_refreshing` refreshes): its liveness mark refreshed while it runs."""
    if claim is None:
        return nullcontext()
    return liveness.kept(lambda: runs.refresh(ctx.backends.db, run_id, claim, ctx.now()), f"run {run_id}")


async def execute_inline(ctx: AppContext, run_id: str) -> AsyncGenerator[Event, None]:
    """:func:`execute`, for a caller that is the run's only executor (a stream; a deployment without a
    job queue), so that no job retries it: a failure before the run started (D1 failing at its first
    read or at its claim) ends it ``failed`` with ``last_error`` — rather than leave it ``queued``,
    blocking its thread until it expires — and the events say so. If even that cannot be written,
    the failure is raised (the run then expires)."""
    started = False
    failure: Exception | None = None
    try:
        async with aclosing(execute(ctx, run_id)) as events:
            async for event in events:
                started = True
                yield event
    except Exception as exc:
        if started:
            raise
        failure = exc
    if failure is None:
        return
    log.warning("run %s could not start; it fails", run_id, exc_info=failure)
    # in_progress too: the claim may have been written before D1's answer was lost, and nothing else
    # executes this run
    ended = await run_status.fail_unstarted(ctx, run_id, last_error(failure), ("queued", "in_progress"))
    if ended is None:
        raise failure
    yield event_for(ended)


@dataclass
class _Generation:
    """One execution of a run: its reply and tool calls as they stream, and how it ends."""

    ctx: AppContext
    run: Run
    message: Message | None = None
    steps: list[RunStep] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    calls: dict[int, ToolCallPiece] = field(default_factory=dict)
    searches: dict[int, ToolCallPiece] = field(default_factory=dict)
    """The model's calls of the gateway's file_search (run here, never sent to the client)."""
    sources: list[Source] = field(default_factory=list)
    """The search results the model has read (what its reply may cite)."""
    asked: str = ""
    """The user's last words (the query when the model's file_search arguments name none)."""
    usage: Usage | None = None
    claim: str | None = None
    """The executor's claim on the run: its writes are conditional on it (none once it is taken over)."""

    @property
    def db(self) -> Database:
        return self.ctx.backends.db

    def _now_ms(self) -> int:
        return int(self.ctx.clock() * 1000)

    async def generate(self, tool_outputs: list[dict[str, str]] | None) -> AsyncGenerator[Event, None]:
        if self._searching():
            await file_search_tool.keep_run_stores_active(self.ctx, self.run)
        if tool_outputs:
            async for event in self._record_outputs(tool_outputs):
                yield event
        while True:  # a generation, then another after each file search
            spent = self.run.usage.completion_tokens if self.run.usage else 0
            prompted = self.run.usage.prompt_tokens if self.run.usage else 0
            if self.run.max_completion_tokens is not None and spent >= self.run.max_completion_tokens:
                async for event in self._end("incomplete", {"incomplete_details": {"reason": "max_completion_tokens"}}):
                    yield event
                return
            try:
                spec, self.sources = await run_context.spec_for(self.ctx, self.run, spent, prompted)
                self.asked = next((m.text() for m in reversed(spec.messages) if m.role == "user"), "")
            except translate.PromptTooLong:
                async for event in self._end("incomplete", {"incomplete_details": {"reason": "max_prompt_tokens"}}):
                    yield event
                return
            finish: FinishReason = "stop"
            checked = time.monotonic()
            async with aclosing(pipeline.stream(self.ctx, spec)) as stream:
                async for item in stream:
                    if isinstance(item, Delta):
                        async for event in self._delta(item):
                            yield event
                        if time.monotonic() - checked >= CHECK_EVERY:
                            checked = time.monotonic()
                            if await runs.status_of(self.db, self.run.id) != "in_progress":
                                break
                    elif isinstance(item, Finish):
                        finish = item.reason
                    elif isinstance(item, Done):
                        self.usage = item.usage
            if not self.searches or await runs.status_of(self.db, self.run.id) != "in_progress":
                break
            async for event in self._search():
                yield event
            # the client's functions were called too (their outputs come first), or the run was cancelled
            if self.calls or await runs.status_of(self.db, self.run.id) != "in_progress":
                break
        async for event in self._finish(finish):
            yield event

    # ---- streaming ------------------------------------------------------------------------------

    async def _delta(self, delta: Delta) -> AsyncGenerator[Event, None]:
        if delta.text:
            if self.message is None:
                async for event in self._start_message():
                    yield event
            assert self.message is not None
            part: dict[str, Any] = {"index": 0, "type": "text", "text": {"value": delta.text}}
            if not self.text:
                part["text"]["annotations"] = []
            self.text.append(delta.text)
            yield Event("thread.message.delta", {"id": self.message.id, "object": "thread.message.delta",
                                                 "delta": {"content": [part]}})
        kept = []
        for piece in delta.tool_calls:  # the gateway's file_search calls are held for the gateway to run
            if piece.index in self.searches or (piece.name == file_search.NAME and self._searching()):
                if (opened := gather(self.searches, piece)) is not None:
                    opened.id = call_id(piece.id)
            else:
                kept.append(piece)
        delta.tool_calls = kept
        if delta.tool_calls:
            step = self._tool_step()
            if step is None:
                step = await self._start_tool_step()
                yield Event("thread.run.step.created", step)
                yield Event("thread.run.step.in_progress", step)
            yield Event("thread.run.step.delta", {"id": step.id, "object": "thread.run.step.delta", "delta": {
                "step_details": {"type": "tool_calls", "tool_calls": [self._call_delta(p) for p in delta.tool_calls]}
            }})

    def _searching(self) -> bool:
        return any(t.get("type") == "file_search" for t in self.run.tools)

    def _new_step(self, kind: Literal["message_creation", "tool_calls"], details: dict[str, Any]) -> RunStep:
        return RunStep(id=new_sortable_id("step_", self._now_ms()), created_at=self.ctx.now(),
                       assistant_id=self.run.assistant_id, thread_id=self.run.thread_id, run_id=self.run.id,
                       type=kind, status="in_progress", step_details=details, expires_at=self.run.expires_at)

    async def _start_message(self) -> AsyncGenerator[Event, None]:
        now_ms = self._now_ms()
        message = Message(id=new_sortable_id("msg_", now_ms), created_at=now_ms // 1000,
                          thread_id=self.run.thread_id, status="in_progress", role="assistant", content=[],
                          assistant_id=self.run.assistant_id, run_id=self.run.id, attachments=[], metadata={})
        step = self._new_step("message_creation", {"type": "message_creation",
                                                   "message_creation": {"message_id": message.id}})
        await self.db.batch([run_steps.insert_statement(self.db, step, self.claim),
                             messages.insert_for_run_statement(self.db, message, self.run.id, self.claim)])
        self.message = message
        self.steps.append(step)
        for event in (Event("thread.run.step.created", step), Event("thread.run.step.in_progress", step),
                      Event("thread.message.created", message), Event("thread.message.in_progress", message)):
            yield event

    def _tool_step(self) -> RunStep | None:
        return next((s for s in self.steps if s.type == "tool_calls"), None)

    async def _start_tool_step(self) -> RunStep:
        step = self._new_step("tool_calls", {"type": "tool_calls", "tool_calls": []})
        await run_steps.insert_statement(self.db, step, self.claim).run()
        self.steps.append(step)
        return step

    def _call_delta(self, piece: ToolCallPiece) -> dict[str, Any]:
        if (opened := gather(self.calls, piece)) is None:
            return {"index": piece.index, "type": "function", "function": {"arguments": piece.arguments}}
        opened.id = call_id(piece.id)
        return {"index": piece.index, "id": opened.id, "type": "function",
                "function": {"name": piece.name or "", "arguments": piece.arguments, "output": None}}

    # ---- file search ----------------------------------------------------------------------------

    async def _search(self) -> AsyncGenerator[Event, None]:
        """Run the file searches the model asked for, as a ``tool_calls`` step; the reply it wrote before
        them is finished first. The generation's usage is folded into the run's, for the next one."""
        now = self.ctx.now()
        statements = []
        events: list[Event] = []
        if self.message is not None:
            self.message, ended = self._reply(self.message, "stop", now)
            statements.append(messages.finish_statement(self.db, self.message, self.run.id, self.claim))
            events += ended
        usage = self._generation_usage()  # to the generation's first step: its reply's, or the search's
        for i, step in enumerate(self.steps):
            if step.type == "message_creation":
                step = step.model_copy(update={"status": "completed", "completed_at": now, "usage": usage})
                usage = NO_USAGE
                self.steps[i] = step
                statements.append(run_steps.finish_statement(self.db, step, claim=self.claim))
                events.append(Event("thread.run.step.completed", step))
        options = await file_search_tool.run_options(self.ctx, self.run)
        ranking = options.ranking_options.model_dump(exclude_none=True) if options.ranking_options else None
        calls = [c for _, c in sorted(self.searches.items())]
        step = self._new_step("tool_calls", {"type": "tool_calls", "tool_calls": [
            file_search.step_call(c.id or "", ranking, None) for c in calls]})
        statements.append(run_steps.insert_statement(self.db, step, self.claim))
        await self.db.batch(statements)
        self.steps.append(step)  # a failure while searching fails it with the run
        for event in events:
            yield event
        # Announced with no calls, which the delta then brings, as a function call's step is: the official
        # clients add a step's deltas to the step created, and would read a call sent in both as
        # ``call_…call_…`` (strings concatenated).
        announced = step.model_copy(update={"step_details": {"type": "tool_calls", "tool_calls": []}})
        yield Event("thread.run.step.created", announced)
        yield Event("thread.run.step.in_progress", announced)
        yield Event("thread.run.step.delta", {"id": step.id, "object": "thread.run.step.delta", "delta": {
            "step_details": {"type": "tool_calls", "tool_calls": [
                {"index": i, **file_search.step_call(c.id or "", ranking, None)} for i, c in enumerate(calls)]}}})
        done, first = [], len(self.sources)
        for call in calls:
            queries = file_search.queries_of(call.arguments, self.asked)
            found = await file_search_tool.search(self.ctx, options, queries, first)
            first += len(found)
            done.append(file_search.step_call(call.id or "", ranking, found))
        step = step.model_copy(update={"status": "completed", "completed_at": self.ctx.now(),
                                       "step_details": {"type": "tool_calls", "tool_calls": done},
                                       "usage": usage})
        await run_steps.finish_statement(self.db, step, claim=self.claim).run()
        yield Event("thread.run.step.completed", step)
        self.run = self.run.model_copy(update={"usage": self._usage_object(self._run_usage())})
        self.usage, self.message, self.text, self.searches = None, None, [], {}
        self.steps = [s for s in self.steps if s.id != step.id and s.type == "tool_calls" and s.status == "in_progress"]

    def _reply(self, message: Message, finish: FinishReason, now: int) -> tuple[Message, list[Event]]:
        """The reply, whole, and its last events: its text citing the results the model read (markers
        appended, in a last delta with the annotations, when it cited none but used some), completed
        (or cut at ``max_tokens``)."""
        streamed = "".join(self.text)
        text, annotations = message_annotations(streamed, self.sources)
        part = text_part(text)
        part["text"]["annotations"] = annotations
        cut = finish == "length" and not self.calls
        message = message.model_copy(update={
            "content": [part],
            **({"status": "incomplete", "incomplete_at": now, "incomplete_details": {"reason": "max_tokens"}}
               if cut else {"status": "completed", "completed_at": now}),
        })
        events = []
        if annotations:
            # each as OpenAI streams one: its index, and ``quote: ""`` in its file_citation (openai/openai-dotnet
            # tests/SessionRecords/AssistantsTests/FileSearchStreamingWorks.json)
            delta: dict[str, Any] = {"annotations": [
                {"index": i, **a, "file_citation": {**a["file_citation"], "quote": ""}} for i, a in enumerate(annotations)]}
            if text != streamed:
                delta["value"] = text[len(streamed):]
            events.append(Event("thread.message.delta", {"id": message.id, "object": "thread.message.delta",
                                                         "delta": {"content": [{"index": 0, "type": "text",
                                                                                "text": delta}]}}))
        return message, [*events, Event(f"thread.message.{message.status}", message)]

    # ---- endings --------------------------------------------------------------------------------

    def _tool_calls(self) -> list[dict[str, Any]]:
        return [{"id": p.id, "type": "function", "function": {"name": p.name or "", "arguments": p.arguments or "{}"}}
                for _, p in sorted(self.calls.items())]

    def _run_usage(self) -> dict[str, int]:
        """The run's counts (its columns) with the generation's added."""
        before = self.run.usage
        now = self.usage or Usage(0, 0)
        cached = before.prompt_tokens_details.cached_tokens if before and before.prompt_tokens_details else 0
        details = before.completion_tokens_details if before else None
        return {"prompt_tokens": (before.prompt_tokens if before else 0) + now.prompt_tokens,
                "completion_tokens": (before.completion_tokens if before else 0) + now.completion_tokens,
                "cached_tokens": cached + now.cached_tokens,
                "reasoning_tokens": (details.reasoning_tokens if details else 0) + now.reasoning_tokens}

    @staticmethod
    def _usage_object(usage: dict[str, int]) -> CompletionUsage:
        """:meth:`_run_usage` (the columns' counts) as the run's ``usage``."""
        return run_usage(usage["prompt_tokens"], usage["completion_tokens"], usage["cached_tokens"],
                         usage["reasoning_tokens"])

    def _generation_usage(self) -> CompletionUsage:
        if self.usage is None:
            return NO_USAGE
        return run_usage(self.usage.prompt_tokens, self.usage.completion_tokens, self.usage.cached_tokens,
                         self.usage.reasoning_tokens)

    def _step_usage(self, step: RunStep) -> CompletionUsage | None:
        # The generation's usage goes to its first step (a reply and tool calls of one answer share it).
        if self.usage is None or step is not self.steps[0]:
            return NO_USAGE
        return self._generation_usage()

    async def _finish(self, finish: FinishReason) -> AsyncGenerator[Event, None]:
        """Write the reply and the steps whole, then end the run by what the model did."""
        if await runs.status_of(self.db, self.run.id) != "in_progress":
            async for event in self._interrupted():
                yield event
            return
        now = self.ctx.now()
        cut = finish == "length" and not self.calls
        events: list[Event] = []
        statements = []
        if self.message is not None:
            self.message, ended = self._reply(self.message, finish, now)
            statements.append(messages.finish_statement(self.db, self.message, self.run.id, self.claim))
            events += ended
        for i, step in enumerate(self.steps):
            if step.type == "tool_calls":
                step = step.model_copy(update={"usage": self._step_usage(step), "step_details": {
                    "type": "tool_calls",
                    "tool_calls": [{**c, "function": {**c["function"], "output": None}} for c in self._tool_calls()],
                }})
            else:
                step = step.model_copy(update={"status": "completed", "completed_at": now,
                                               "usage": self._step_usage(step)})
                events.append(Event("thread.run.step.completed", step))
            self.steps[i] = step
            statements.append(run_steps.finish_statement(self.db, step, claim=self.claim))
        if statements:
            await self.db.batch(statements)
        usage = self._run_usage()
        status: RunStatus
        changes: dict[str, Any]
        if self.calls:
            status, changes = "requires_action", {"required_action": {
                "type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": self._tool_calls()}}}
        elif cut:
            status, changes = "incomplete", {"incomplete_details": {"reason": "max_completion_tokens"},
                                             "expires_at": None}
        else:
            status, changes = "completed", {"completed_at": now, "expires_at": None}
        for event in events:
            yield event
        async for event in self._end(status, {**changes, **usage}):
            yield event

    async def _end(self, status: RunStatus, changes: dict[str, Any]) -> AsyncGenerator[Event, None]:
        """The run's last transition (from ``in_progress``); if it was taken away meanwhile, end it the way
        its new status says."""
        now = self.ctx.now()
        if status == "incomplete" and "prompt_tokens" not in changes:
            changes = {**changes, **self._run_usage(), "expires_at": None}
        if not await runs.transition(self.db, self.run.id, ("in_progress",), status, now, changes, claim=self.claim):
            async for event in self._interrupted():
                yield event
            return
        ended = await runs.get_by_id(self.db, self.run.id)
        if ended is not None:
            self.run = ended.run
            yield event_for(ended.run)

    async def _interrupted(self) -> AsyncGenerator[Event, None]:
        """The run left ``in_progress`` under us (cancelled, expired, its thread deleted): keep what was
        written of the reply, end the steps, and report the run as it now is."""
        ended = await run_status.settle(self.ctx, self.run.id, self.message, "".join(self.text))
        if ended is None:
            return
        self.run = ended
        # As they are now stored: the reply incomplete (the clients' stream helpers call on_message_done
        # on thread.message.incomplete), the steps ended with their timestamp.
        if self.message is not None and self.message.status == "in_progress":
            reply = await messages.get(self.db, self.run.thread_id, self.message.id)
            if reply is not None and reply.status == "incomplete":
                self.message = reply
                yield Event("thread.message.incomplete", reply)
        open_steps = {step.id for step in self.steps if step.status == "in_progress"}
        if open_steps:
            for step in await run_steps.of_run(self.db, self.run.id):
                if step.id in open_steps and step.status != "in_progress":
                    yield Event(f"thread.run.step.{step.status}", step)
        yield event_for(ended)

    async def fail(self, exc: Exception) -> AsyncGenerator[Event, None]:
        """End the run ``failed`` with ``last_error`` (the reply so far kept, ``incomplete``; the steps
        ``failed``). The run's transition comes first, on its own: when D1 is what failed, and fails
        again, the run still ends ``failed`` if D1 takes that one statement. The reply and steps are
        written after it (unguarded: the run is no longer ``in_progress``), and if that batch fails
        too they are closed without the reply's text."""
        error = last_error(exc)
        now = self.ctx.now()
        usage = self._run_usage()
        if not await runs.transition(self.db, self.run.id, ("in_progress",), "failed", now, {
            "failed_at": now, "last_error": error.model_dump(), "expires_at": None, **usage
        }, claim=self.claim):
            async for event in self._interrupted():
                yield event
            return
        self.run = self.run.model_copy(update={
            "status": "failed", "failed_at": now, "last_error": error, "expires_at": None,
            "usage": self._usage_object(usage)})
        step_error = StepError(code="rate_limit_exceeded" if error.code == "rate_limit_exceeded" else "server_error",
                               message=error.message)
        statements = []
        reply = None
        if self.message is not None:
            self.message = reply = self.message.model_copy(update={
                "content": [text_part("".join(self.text))], "status": "incomplete", "incomplete_at": now,
                "incomplete_details": {"reason": "run_failed"}})
            statements.append(messages.finish_statement(self.db, self.message))
        failed_steps = []
        for step in self.steps:
            step = step.model_copy(update={"status": "failed", "failed_at": now, "last_error": step_error})
            failed_steps.append(step)
            statements.append(run_steps.finish_statement(self.db, step, running=False))
        try:
            if statements:
                await self.db.batch(statements)
        except Exception:
            log.warning("run %s failed; writing its reply and steps failed too", self.run.id, exc_info=True)
            try:
                await run_status.tidy(self.db, self.run.id, "failed", now)
            except Exception:
                log.warning("run %s failed; its reply and steps could not be closed", self.run.id, exc_info=True)
        if reply is not None:
            yield Event("thread.message.incomplete", reply)
        for step in failed_steps:
            yield Event("thread.run.step.failed", step)
        yield event_for(self.run)

    async def _record_outputs(self, outputs: list[dict[str, str]]) -> AsyncGenerator[Event, None]:
        """The outputs submitted for the run's pending tool calls, written into their step (completed)."""
        by_id = {o["tool_call_id"]: o["output"] for o in outputs}
        now = self.ctx.now()
        for step in await run_steps.of_run(self.db, self.run.id):
            if step.type != "tool_calls" or step.status != "in_progress":
                continue
            calls = [{**c, "function": {**c["function"], "output": by_id.get(c["id"], c["function"].get("output"))}}
                     for c in step.step_details["tool_calls"]]
            step = step.model_copy(update={"status": "completed", "completed_at": now, "expires_at": self.run.expires_at,
                                           "step_details": {"type": "tool_calls", "tool_calls": calls}})
            await run_steps.finish_statement(self.db, step, claim=self.claim).run()
            yield Event("thread.run.step.completed", step)


def last_error(exc: Exception) -> LastError:
    """A run's ``last_error`` for a failure: Workers AI's rate limit, a prompt the model refused, or the
    server's (D1, a bug)."""
    if isinstance(exc, APIError) and exc.status == 429:
        return LastError(code="rate_limit_exceeded", message=exc.message)
    if isinstance(exc, APIError) and 400 <= exc.status < 500:
        return LastError(code="invalid_prompt", message=exc.message)
    if isinstance(exc, UpstreamError):
        return LastError(code="server_error", message=exc.message)
    return LastError(code="server_error", message="The server had an error while processing the run.")
