"""The Batch API's executor: a batch's requests answered in the background, a slice per run of its job.

A run of the job (:data:`JOB_KIND`, id ``batch_…``) does one thing and queues the next:

1. ``validating``: the input file read once, line by line; every line checked (JSON, a unique
   ``custom_id``, ``method`` POST, ``url`` the batch's endpoint, a ``body`` object, one ``model`` for all).
   Bad lines fail the batch with OpenAI's error codes, each naming its line; else where each slice starts
   is recorded (a slice: :data:`SLICE` requests, or fewer when more would pass :data:`SLICE_BYTES` of the
   file), and the batch is ``in_progress``.
2. ``in_progress``: the next slice claimed (a job delivered twice at once: one run answers it, the other
   stops; a run killed mid-slice loses its claim after :data:`LEASE`), its requests (read by byte range)
   answered through the app's own routes (``ctx.dispatch``: the same validation, translation and model
   calls as over HTTP, as the batch's creator), :data:`CONCURRENCY` at a time; their lines written to R2
   objects of that run's own (one for the output, one for the errors); the slice counted done with one
   conditional statement, which only its claimant's passes. A run whose slice was not counted (the batch
   cancelled meanwhile) deletes what it wrote.
3. Every slice done, or the window passed (both: ``finalizing``, where no slice is counted any more), or
   ``cancelling``: the lines of the runs that counted their slices (``runs``) joined, in order, into an
   output file, then (the next run) an error file (``batch_output``); for an expired batch, the requests
   never run are in the error file as ``batch_expired``; then ``completed`` / ``cancelled`` / ``expired``.

A run is bounded: one slice is at most :data:`SLICE` requests and :data:`SLICE_BYTES` of lines (what it holds
in memory) and a few calls to R2 and D1; joining a file reads each slice's object once (a batch has at most
:data:`MOST_SLICES`), one file a run. The hourly cleanup sends the job again for a
batch not heard of in :data:`STALLED_AFTER` seconds (its message lost), or whose window passed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from hashlib import blake2b
from json import JSONDecodeError, dumps, loads
from secrets import token_hex
from typing import Any

from .. import webhooks
from ..auth import Keys, Principal
from ..context import AppContext
from ..fanout import MAX_IN_FLIGHT, gather_bounded
from ..ids import new_sortable_id, random_bytes
from ..ports import Backends, Job
from ..repositories import batches, files
from ..repositories.batches import BatchRow
from ..repositories.files import FileRow
from ..settings import Settings
from ..storage import object_key

log = logging.getLogger(__name__)

JOB_KIND = "batches.run"
ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/moderations")
"""The endpoints a batch may run here (OpenAI's also take images and videos: not these)."""
MAX_REQUESTS = 50_000
"""Requests a batch may hold (OpenAI's limit)."""
MAX_EMBEDDING_INPUTS = 50_000
"""Inputs an ``/v1/embeddings`` batch may hold across all its requests (OpenAI's limit: ``CreateBatchRequest.endpoint``,
"restricted to a maximum of 50,000 embedding inputs across all requests in the batch")."""
MAX_INPUT_BYTES = 200 * 2**20
"""The largest input file (OpenAI's limit)."""
SLICE = 100
"""Requests one run answers (at most)."""
SLICE_BYTES = 16 * 2**20
"""The bytes of input lines a slice holds (at most; or the request body limit, when larger: a line may be that
long, and is a slice of its own then). Two slices in a row hold more than this, so a 200 MB file is at most
26 slices by size."""
MOST_SLICES = MAX_REQUESTS // SLICE + 2 * MAX_INPUT_BYTES // SLICE_BYTES + 1
"""The slices a batch has at most (526): those that hold :data:`SLICE` requests, and those a longer line would
have passed :data:`SLICE_BYTES`."""
CONCURRENCY = MAX_IN_FLIGHT
"""Requests of a slice in flight at once (a Worker's simultaneous outbound connections)."""
MAX_ERRORS = 100
"""Bad lines a failed batch lists (the first ones)."""
LEASE = 1800
"""Seconds a run holds its slice: longer than a slice takes (100 requests, 6 at a time, each within the
gateway's timeouts), so only a run that was killed loses it."""
STALLED_AFTER = 3600
"""Seconds without a word from a batch's job after which the cleanup sends it again."""
CLEANUP_BATCH = 50
WINDOW_SECONDS = {"24h": 86400}
OUTPUT_EXPIRY = 30 * 86400
"""Seconds an output or error file is kept, unless ``output_expires_after`` says otherwise (OpenAI's default
for batch files)."""
PARTS_PREFIX = "batches/"
OUTPUT, ERRORS = "output", "errors"
EXPIRED_RUN = "expired"
"""The run of the object holding an expired batch's requests never run (after every slice's)."""


def part_key(batch_id: str, kind: str, index: int, run: str) -> str:
    """The R2 key of slice ``index``'s lines of ``kind`` as run ``run`` wrote them (in key order: slice order)."""
    return f"{PARTS_PREFIX}{batch_id}/{kind}/{index:06d}-{run}"


async def run(ctx: AppContext, batch_id: str) -> bool:
    """One run of the batch's job; True when work is left (the job goes on)."""
    db = ctx.backends.db
    row = await batches.get(db, batch_id, None)
    if row is None or row.status not in batches.RUNNING:
        return False  # a redelivery after the end
    now = ctx.now()
    if row.status == batches.CANCELLING:
        return await finish(ctx, row, batches.CANCELLED)
    if row.status == batches.FINALIZING:  # every slice done, or the window passed first
        return await finish(ctx, row, batches.COMPLETED if row.next_slice >= row.slices else batches.EXPIRED)
    if now >= row.expires_at:
        if row.status == batches.VALIDATING:
            return await finish(ctx, row, batches.EXPIRED)
        # Out of in_progress first: no run counts a slice from now on, so the next run joins lines that stay
        # as they are, and counts the requests left as expired.
        await batches.transition(db, row.id, batches.IN_PROGRESS, batches.FINALIZING, now, finalizing_at=now)
        return True
    if row.status == batches.VALIDATING:
        return await validate(ctx, row)
    if row.next_slice >= row.slices:
        await batches.transition(db, row.id, batches.IN_PROGRESS, batches.FINALIZING, now, finalizing_at=now)
        return True
    return await answer_slice(ctx, row)


# ---- validating --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One request of the input: its ``custom_id`` and ``body``."""

    custom_id: str
    body: dict[str, Any]


class _Checker:
    """The lines of an input file, checked as OpenAI checks them; the errors found."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.errors: list[dict[str, Any]] = []
        self.ids: set[bytes] = set()  # digests: a set of the ids themselves could hold most of a 200 MB file
        self.model: str | None = None
        self.inputs = 0  # an embeddings batch's inputs, over all its requests

    def error(self, code: str, message: str, line: int | None, param: str | None = None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})

    def check(self, raw: bytes, line: int) -> None:
        request = parse_line(raw)
        if request is None:
            self.error("invalid_json_line", "This line is not parseable as valid JSON.", line)
            return
        custom_id, method, url, body = (request.get(k) for k in ("custom_id", "method", "url", "body"))
        if not isinstance(custom_id, str) or not custom_id:
            self.error("missing_required_parameter", "Each request must have a 'custom_id' string.", line, "custom_id")
        elif (digest := blake2b(custom_id.encode(), digest_size=16).digest()) in self.ids:
            self.error("duplicate_custom_id", f"The custom_id '{_clip(custom_id)}' is used by more than one request; "
                       "each custom_id must be unique.", line, "custom_id")
        else:
            self.ids.add(digest)
        if method != "POST":
            self.error("invalid_method", "The request's 'method' must be 'POST'.", line, "method")
        if url != self.endpoint:
            self.error("url_mismatch", f"The request's 'url' must be the batch's endpoint, '{self.endpoint}'.",
                       line, "url")
        if not isinstance(body, dict):
            self.error("invalid_request", "The request's 'body' must be a JSON object.", line, "body")
            return
        if self.endpoint == "/v1/embeddings":
            self.inputs += embedding_inputs(body.get("input"))
        model = body.get("model")
        if isinstance(model, str):
            if self.model is None:
                self.model = model
            elif model != self.model:
                self.error("model_mismatch", f"Every request of a batch must use the same model; this one uses "
                           f"'{_clip(model)}', an earlier one '{_clip(self.model)}'.", line, "body.model")


def embedding_inputs(value: Any) -> int:
    """How many inputs an embeddings request's ``input`` holds: a string or one array of token ids is one; an
    array of strings or of token arrays, one each (anything else, which the request's route refuses, one)."""
    if isinstance(value, list) and value and not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return len(value)
    return 1


def _clip(value: str, most: int = 100) -> str:
    """A value of the input quoted in an error, at most ``most`` characters: the batch's errors (up to
    :data:`MAX_ERRORS`) are one D1 value, and D1 stores at most 2 MB in a row."""
    return value if len(value) <= most else value[:most] + "…"


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """A line's request object, or None when it is no JSON object, or holds a lone surrogate (a ``\\ud800``
    escape without its pair): JSON the HTTP door's parser refuses, and text no D1 value, file or reply can hold
    (the line's custom_id, model or url would be quoted in the batch's errors or its files)."""
    try:
        value = loads(raw)
    except (JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    if _SURROGATE_ESCAPE.search(raw) is not None:  # (a pair is fine: only a lone one cannot be UTF-8)
        try:
            dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return None
    return value if isinstance(value, dict) else None


async def lines_of(body: AsyncIterator[bytes], longest: int | None = None) -> AsyncIterator[tuple[int, bytes | None]]:
    """``(offset, line)`` of every line of a stream (its ``\\n`` left out; a last line without one too). A line
    longer than ``longest`` bytes is ``(offset, None)``: its bytes are let go as they pass, not held.

    Linear in the stream's size however its lines and chunks fall: each chunk is searched once, and a line
    spread over many chunks is joined once (a 200 MB line in 64 KiB chunks, appended to one buffer, was
    copied ~3,000 times)."""
    held: list[bytes] = []  # the pieces of the line so far, from the chunks before this one
    size = 0  # their bytes
    too_long = False
    line_at = position = 0  # the line's offset; the chunk's
    async for chunk in body:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if too_long or (longest is not None and size + end - start > longest):
                yield line_at, None
            else:
                yield line_at, b"".join([*held, chunk[start:end]]) if held else chunk[start:end]
            held, size, too_long = [], 0, False
            start = end + 1
            line_at = position + start
        if start < len(chunk) and not too_long:
            size += len(chunk) - start
            if longest is not None and size > longest:
                held, too_long = [], True
            else:
                held.append(chunk[start:] if start else chunk)
        position += len(chunk)
    if held or too_long:
        yield line_at, None if too_long else b"".join(held)


async def validate(ctx: AppContext, row: BatchRow) -> bool:
    """Read and check the input file: ``in_progress`` with its slices found (True), or ``failed`` (False)."""
    db, now = ctx.backends.db, ctx.now()
    checker = _Checker(row.endpoint)
    longest = ctx.settings.max_json_bytes
    slice_bytes = max(longest, SLICE_BYTES)
    offsets: list[int] = []  # where each slice starts
    total = end = physical = in_slice = 0
    got = await _input(ctx, row)
    if got is None:
        checker.error("invalid_file", f"The input file {row.input_file_id} no longer exists.", None, "input_file_id")
    else:
        async for offset, raw in lines_of(got, longest):
            physical += 1
            if raw is None:
                total += 1
                checker.error("request_too_large", f"This line is longer than {longest} bytes, the most a request's "
                              "JSON body may be here.", physical)
                continue
            end = offset + len(raw) + 1
            if not raw.strip():
                continue  # blank lines (a trailing newline) hold no request
            if not offsets or in_slice == SLICE or end - 1 - offsets[-1] > slice_bytes:
                offsets.append(offset)  # a new slice: the last one holds SLICE requests, or would pass slice_bytes
                in_slice = 0
            in_slice += 1
            total += 1
            if total <= MAX_REQUESTS:
                checker.check(raw, physical)
        if total == 0:
            checker.error("empty_file", "The input file holds no requests.", None, "input_file_id")
        elif total > MAX_REQUESTS:
            checker.error("too_many_tasks", f"A batch may hold at most {MAX_REQUESTS} requests; this file holds "
                          f"{total}.", None, "input_file_id")
        elif checker.inputs > MAX_EMBEDDING_INPUTS:
            checker.error("too_many_tasks", f"An embeddings batch may hold at most {MAX_EMBEDDING_INPUTS} inputs "
                          f"across its requests; this file holds {checker.inputs}.", None, "input_file_id")
    if checker.errors:
        if await batches.transition(db, row.id, batches.VALIDATING, batches.FAILED, now, failed_at=now,
                                    errors=checker.errors, total=0):
            await webhooks.notify(ctx.backends, ctx.settings, "batch.failed", row.id, row.owner, now)
        return False
    moved = await batches.transition(db, row.id, batches.VALIDATING, batches.IN_PROGRESS, now, in_progress_at=now,
                                     total=total, offsets=[*offsets, end], model=checker.model)
    return moved


# ---- in progress -------------------------------------------------------------------------------


async def _input(ctx: AppContext, row: BatchRow, span: tuple[int, int] | None = None) -> AsyncIterator[bytes] | None:
    """The batch's input file's bytes (those of ``span``: offset, length), or None when it is gone."""
    stored = await files.get(ctx.backends.db, row.input_file_id, None, ctx.now())
    got = None if stored is None else await ctx.backends.bucket.get(stored.object_key, span=span)
    return None if got is None else got.body


async def requests_in(ctx: AppContext, row: BatchRow, first: int, last: int) -> AsyncIterator[Request]:
    """The requests of slices ``first`` to ``last`` (excluded), one at a time, read by byte range; none when
    the input is gone (its lines then fail)."""
    assert row.offsets is not None
    start = row.offsets[first]
    got = await _input(ctx, row, (start, row.offsets[last] - start))
    if got is None:
        return
    async for _, raw in lines_of(got):
        if raw is not None and raw.strip():
            request = parse_line(raw) or {}
            yield Request(str(request.get("custom_id")), request.get("body") or {})


async def answer_slice(ctx: AppContext, row: BatchRow) -> bool:
    """Claim slice ``row.next_slice``, answer it, write its lines, count it done; True when the job goes on.
    A run that finds the slice claimed (the job delivered twice at once) stops: the claimant goes on."""
    db, run = ctx.backends.db, token_hex(4)
    if not await batches.claim_slice(db, row, run, ctx.now(), LEASE):
        return False
    try:
        return await _answer_claimed(ctx, row, run)
    except BaseException:
        await batches.release_slice(db, row.id, run)  # a retry takes the slice at once, not after the lease
        raise


async def _answer_claimed(ctx: AppContext, row: BatchRow, run: str) -> bool:
    index = row.next_slice
    requests = [request async for request in requests_in(ctx, row, index, index + 1)]
    if not requests:  # the input file was deleted (or expired) meanwhile
        return await _stop(ctx, row, run, "invalid_file", f"The input file {row.input_file_id} no longer exists.",
                           "input_file_id")
    who = Keys(ctx.settings).current(row.owner)
    if who is None:  # the key that created the batch was revoked: it stops, as that key's requests would
        return await _stop(ctx, row, run, "invalid_api_key",
                           "The API key that created this batch is no longer accepted.", None)
    path = row.endpoint.removeprefix("/v1")
    answers = await gather_bounded([partial(_answer, ctx, who, row.endpoint, path, r) for r in requests],
                                   CONCURRENCY)
    output = [line for ok, line, _ in answers if ok]
    errors = [line for ok, line, _ in answers if not ok]
    usage = dict(row.usage)
    for _, _, used in answers:
        for name, count in used.items():
            usage[name] = usage.get(name, 0) + count
    bucket = ctx.backends.bucket
    written: list[str] = []
    for kind, lines in ((OUTPUT, output), (ERRORS, errors)):
        if lines:
            written.append(part_key(row.id, kind, index, run))
            await bucket.put(written[-1], b"".join(lines), content_type="application/jsonl")
    if not await batches.slice_done(ctx.backends.db, row, run, len(output), len(errors), usage, ctx.now()):
        # cancelled or ended meanwhile (or the claim lapsed): these lines were not counted, so they are not kept
        log.info("slice %d of batch %s was answered but not counted: the batch moved on", index, row.id)
        if written:
            await bucket.delete(written)
        return False
    return True


async def _stop(ctx: AppContext, row: BatchRow, run: str, code: str, message: str, param: str | None) -> bool:
    """The batch fails (``code``) with what was answered; the slice ``run`` claimed is let go, for the next
    run (the rest of the files). True when that run is needed."""
    more = await finish(ctx, row, batches.FAILED, errors=[{"code": code, "message": message, "param": param,
                                                           "line": None}])
    await batches.release_slice(ctx.backends.db, row.id, run)
    return more


async def _answer(ctx: AppContext, who: Principal, endpoint: str, path: str,
                  request: Request) -> tuple[bool, bytes, dict[str, int]]:
    """One request answered: (succeeded, its output line, its usage)."""
    body: Any
    if request.body.get("stream") is True:
        status, body = 400, _error_body("Streaming is not available in a batch: leave 'stream' out.", "stream")
    elif endpoint == "/v1/responses" and request.body.get("background") is True:
        status, body = 400, _error_body("Background responses are not available in a batch.", "background")
    elif ctx.dispatch is None:
        status, body = 500, _error_body("This deployment cannot run batches.", None)
    else:
        status, raw = await ctx.dispatch(who, path, dumps(request.body).encode())
        try:
            body = loads(raw)
        except (JSONDecodeError, UnicodeDecodeError):
            status, body = 500, _error_body("The server had an error while processing your request.", None)
    ok = 200 <= status < 300
    response = {"status_code": status, "request_id": random_bytes(16).hex(), "body": body}
    return ok, _line(request, response, None), usage_of(body) if ok else {}


def _line(request: Request, response: dict[str, Any] | None, error: dict[str, str] | None) -> bytes:
    """A line of the output or error file (OpenAI's ``BatchRequestOutput``), newline-ended. Its ``id`` is
    ``batch_req_`` and 32 hex digits, a response's ``request_id`` 32 hex digits with no ``req_``, as in OpenAI's
    output files (BerriAI/litellm, tests/batches_tests/test_batches_logging_unit_tests.py: a gpt-4o-mini
    batch's output, ``"id": "batch_req_6769ca59…", "request_id": "07bc45ab4e7e26ac23a0c949973327e7"``)."""
    line = {"id": "batch_req_" + random_bytes(16).hex(), "custom_id": request.custom_id, "response": response,
            "error": error}
    return (dumps(line, separators=(",", ":")) + "\n").encode()


def _error_body(message: str, param: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}


def usage_of(body: Any) -> dict[str, int]:
    """The tokens an answer used, as a batch's ``usage`` counts them (chat and completions: prompt and
    completion tokens; Responses: input and output tokens; embeddings: prompt tokens)."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return {}

    def number(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def detail(name: str, key: str) -> int:
        details = usage.get(name)
        return number(details.get(key)) if isinstance(details, dict) else 0

    return {
        "input_tokens": number(usage.get("input_tokens", usage.get("prompt_tokens"))),
        "output_tokens": number(usage.get("output_tokens", usage.get("completion_tokens"))),
        "cached_tokens": detail("input_tokens_details", "cached_tokens") + detail("prompt_tokens_details",
                                                                                  "cached_tokens"),
        "reasoning_tokens": detail("output_tokens_details", "reasoning_tokens")
        + detail("completion_tokens_details", "reasoning_tokens"),
    }


# ---- the end -----------------------------------------------------------------------------------


async def finish(ctx: AppContext, row: BatchRow, ending: str, errors: list[dict[str, Any]] | None = None) -> bool:
    """Join the counted slices' lines into the output file, then (the next run) the error file (for an
    expired batch, the requests never run are errors ``batch_expired``), delete the slices' objects, end
    the batch as ``ending``. True when a file was made and the rest is the next run's: each file reads up
    to :data:`MOST_SLICES` + 1 objects, so one run makes one. A run that stops halfway is done
    again by the next: a file already made is kept (its id is in the row)."""
    db, bucket, now = ctx.backends.db, ctx.backends.bucket, ctx.now()
    if row.output_file_id is None and (file_id := await _join(ctx, row, OUTPUT, f"{row.id}_output.jsonl", now)):
        await batches.record_file(db, row.id, "output_file_id", file_id)  # a run that stops after this keeps it
        return True
    unrun = ending == batches.EXPIRED and row.offsets is not None and row.next_slice < row.slices
    if row.error_file_id is None:
        if unrun:
            expired = [_expired_line(r) async for r in requests_in(ctx, row, row.next_slice, row.slices)]
            if expired:
                await bucket.put(part_key(row.id, ERRORS, row.slices, EXPIRED_RUN), b"".join(expired),
                                 content_type="application/jsonl")
        if file_id := await _join(ctx, row, ERRORS, f"{row.id}_error.jsonl", now):
            await batches.record_file(db, row.id, "error_file_id", file_id)
    columns: dict[str, object] = {f"{ending}_at": now}
    if errors is not None:
        columns["errors"] = errors
    if unrun:
        columns["failed"] = row.failed + max(0, row.total - row.completed - row.failed)
    expected = {batches.COMPLETED: (batches.FINALIZING,), batches.CANCELLED: (batches.CANCELLING,),
                batches.FAILED: (batches.IN_PROGRESS,),
                batches.EXPIRED: (batches.VALIDATING, batches.FINALIZING)}[ending]
    # The slices' objects deleted before the batch ends: a run that fails here is run again (its files are
    # in the row), where after the end nothing would delete them.
    keys = [o.key for kind in (OUTPUT, ERRORS)
            for o in await bucket.list(f"{PARTS_PREFIX}{row.id}/{kind}/", limit=1000)]
    if keys:
        await bucket.delete(keys)
    if not await batches.transition(db, row.id, expected, ending, now, **columns):
        log.info("batch %s ended meanwhile; its files were made twice", row.id)
        return False
    await webhooks.notify(ctx.backends, ctx.settings, f"batch.{ending}", row.id, row.owner, now)
    return False


def _counted(row: BatchRow, key: str) -> bool:
    """Whether the object ``key`` (:func:`part_key`) holds lines that count: its run's slice was counted, or
    they are the requests an expired batch never ran."""
    index, _, run = key.rsplit("/", 1)[-1].partition("-")
    return run == EXPIRED_RUN or (index.isdigit() and int(index) < len(row.runs) and row.runs[int(index)] == run)


def _expired_line(request: Request) -> bytes:
    return _line(request, None, {"code": "batch_expired",
                                 "message": "This request could not be executed before the completion window expired."})


async def _join(ctx: AppContext, row: BatchRow, kind: str, filename: str, now: int) -> str | None:
    """A ``batch_output`` file of the slices' objects of ``kind``, in order; None when there are none."""
    bucket = ctx.backends.bucket
    # One list call: a batch has at most MOST_SLICES + 1 objects of a kind (R2 lists 1,000 a call),
    # and as many more left by runs whose slice was not counted (failed or cancelled after writing): skipped.
    parts = [o.key for o in await bucket.list(f"{PARTS_PREFIX}{row.id}/{kind}/", limit=1000) if _counted(row, o.key)]
    if not parts:
        return None

    async def joined() -> AsyncIterator[bytes]:
        for key in parts:
            got = await bucket.get(key)
            if got is not None and got.body is not None:
                async for chunk in got.body:
                    yield chunk

    file_id = new_sortable_id("file-", int(ctx.clock() * 1000))
    seconds = row.output_expires_after or OUTPUT_EXPIRY
    made = await files.create(ctx.backends, FileRow(
        id=file_id, owner=row.owner, object_key=object_key(files.FILES, file_id), filename=filename,
        purpose="batch_output", bytes=0, content_type="application/jsonl", created_at=now,
        expires_at=now + seconds, status="uploading"), joined(), now)
    return made.id


# ---- the cleanup -------------------------------------------------------------------------------


async def cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """Batches whose job went quiet for :data:`STALLED_AFTER` (its message lost) get it sent again; a run
    that finds the window passed ends them ``expired``."""
    resent = 0
    if backends.jobs is None:
        return {"batches_resumed": 0}
    for row in await batches.stalled(backends.db, now - STALLED_AFTER, CLEANUP_BATCH):
        await batches.touch(backends.db, row.id, now)
        await backends.jobs.send(Job(JOB_KIND, row.id, row.owner))
        resent += 1
    return {"batches_resumed": resent}

