"""``wrangler.toml``: the bindings the core expects, and a Queue this Worker both feeds and consumes."""

from __future__ import annotations

import ast
import tomllib

from openai_workers_ai.jobs import BATCH_CONCURRENCY

from .conftest import ROOT

CONFIG = tomllib.loads((ROOT / "wrangler.toml").read_text())


def test_the_job_queue_is_produced_and_consumed_here() -> None:
    [producer] = CONFIG["queues"]["producers"]
    [consumer] = CONFIG["queues"]["consumers"]
    assert producer["binding"] == "JOBS"  # adapters/workers.backends_from_env reads env.JOBS
    assert consumer["queue"] == producer["queue"]
    assert consumer.get("dead_letter_queue") not in (None, producer["queue"])
    assert consumer.get("max_retries", 3) >= 1


def test_the_entrypoint_has_a_queue_handler() -> None:
    tree = ast.parse((ROOT / "src" / "entry.py").read_text())
    [default] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Default"]
    handlers = {n.name for n in default.body if isinstance(n, ast.AsyncFunctionDef)}
    assert {"fetch", "queue", "scheduled"} <= handlers


def test_bindings_are_the_ones_the_adapters_read() -> None:
    assert CONFIG["ai"]["binding"] == "AI"
    assert [d["binding"] for d in CONFIG["d1_databases"]] == ["DB"]
    assert [b["binding"] for b in CONFIG["r2_buckets"]] == ["BUCKET"]


def test_a_whole_queue_batch_runs_at_once() -> None:
    """``jobs.consume`` runs a batch's jobs concurrently, bounded by a figure that fits the batch size."""
    [consumer] = CONFIG["queues"]["consumers"]
    assert BATCH_CONCURRENCY >= consumer.get("max_batch_size", 10)
