"""Why the local vector index is exact search over numpy: the candidates on the same data, in one run.

    uv run --with usearch --with hnswlib --with sqlite-vec --with apsw python bench/vector_index_choice.py

10,000 random unit vectors of 1,024 dimensions (bge-m3's), 500 files of 20; 100 queries for the top 50,
with and without a filter keeping 10% of the files. Per library: build time, median and p99 per query,
and recall@50 against the exact answer. Libraries that are not installed are skipped; numpy (the
baseline, and what adapters/local_vectors.py uses) always runs. sqlite-vec is loaded through apsw,
since many Pythons' ``sqlite3`` (this project's CI's among them) cannot load extensions.
Random vectors are the hard case for HNSW; real embeddings cluster, and its recall there is higher.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
import time

import numpy as np

N, D, Q, K = 10_000, 1024, 100, 50


def report(name: str, build: float, times: list[float], recall: float, baseline: float) -> None:
    ordered = sorted(times)
    median = statistics.median(ordered)
    print(f"{name:40s} build {build * 1000:7.0f} ms  median {median * 1000:6.2f} ms ({median / baseline:5.1f}x)"
          f"  p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:6.2f} ms  recall@{K} {recall:.2f}")


def main() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, D)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    queries = rng.standard_normal((Q, D)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    files = np.arange(N) // 20
    allowed = set(range(0, 500, 10))
    mask = np.isin(files, list(allowed))
    truth = [set(np.argsort(-(x @ q))[:K].tolist()) for q in queries]
    truth_filtered = []
    for q in queries:
        s = x @ q
        s[~mask] = -9
        truth_filtered.append(set(np.argsort(-s)[:K].tolist()))

    def run(search, expected):  # noqa: ANN001, ANN202
        times, hits = [], 0
        for i, q in enumerate(queries):
            start = time.perf_counter()
            found = search(q)
            times.append(time.perf_counter() - start)
            hits += len(set(found) & expected[i])
        return times, hits / (Q * K)

    def exact(q):  # noqa: ANN001, ANN202
        s = x @ q
        top = np.argpartition(-s, K)[:K]
        return top[np.argsort(-s[top])].tolist()

    times, recall = run(exact, truth)
    baseline = statistics.median(times)
    report("numpy, exact", 0.0, times, recall, baseline)
    chosen = np.flatnonzero(mask)
    times, recall = run(lambda q: chosen[np.argsort(-(x[chosen] @ q))[:K]].tolist(), truth_filtered)
    report("numpy, exact, 10% filter", 0.0, times, recall, baseline)

    if importlib.util.find_spec("usearch"):
        from usearch.index import Index

        start = time.perf_counter()
        index = Index(ndim=D, metric="cos", dtype="f32")
        index.add(np.arange(N), x)
        build = time.perf_counter() - start
        times, recall = run(lambda q: index.search(q, K).keys.tolist(), truth)
        report("usearch HNSW", build, times, recall, baseline)
        times, recall = run(lambda q: [k for k in index.search(q, 20 * K).keys.tolist() if files[k] in allowed][:K],
                            truth_filtered)
        report("usearch HNSW, 10% filter (20x over-fetch)", 0.0, times, recall, baseline)
    if importlib.util.find_spec("hnswlib"):
        import hnswlib

        start = time.perf_counter()
        h = hnswlib.Index(space="cosine", dim=D)
        h.init_index(max_elements=N, ef_construction=200, M=16)
        h.add_items(x, np.arange(N))
        h.set_ef(100)
        build = time.perf_counter() - start
        times, recall = run(lambda q: h.knn_query(q, k=K)[0][0].tolist(), truth)
        report("hnswlib HNSW", build, times, recall, baseline)
        times, recall = run(lambda q: h.knn_query(q, k=K, filter=lambda k: files[k] in allowed)[0][0].tolist(),
                            truth_filtered)
        report("hnswlib HNSW, 10% filter", 0.0, times, recall, baseline)
    if importlib.util.find_spec("sqlite_vec") and importlib.util.find_spec("apsw"):
        import apsw
        import sqlite_vec

        path = tempfile.mktemp(suffix=".db")
        db = apsw.Connection(path)
        db.enable_load_extension(True)
        db.load_extension(sqlite_vec.loadable_path())
        db.execute(f"CREATE VIRTUAL TABLE v USING vec0(id INTEGER PRIMARY KEY, store TEXT PARTITION KEY, "
                   f"file INTEGER, embedding float[{D}] distance_metric=cosine)")
        start = time.perf_counter()
        with db:
            db.executemany("INSERT INTO v(id, store, file, embedding) VALUES (?, 's', ?, ?)",
                           [(i, int(files[i]), x[i].tobytes()) for i in range(N)])
        build = time.perf_counter() - start
        sql = f"SELECT id FROM v WHERE embedding MATCH ? AND k = {K} AND store = 's'"
        times, recall = run(lambda q: [r[0] for r in db.execute(sql, (q.tobytes(),))], truth)
        report("sqlite-vec (vec0, exact)", build, times, recall, baseline)
        listed = ",".join(map(str, sorted(allowed)))
        times, recall = run(lambda q: [r[0] for r in db.execute(sql + f" AND file IN ({listed})", (q.tobytes(),))],
                            truth_filtered)
        report("sqlite-vec, 10% filter (metadata column)", 0.0, times, recall, baseline)
        os.unlink(path)


if __name__ == "__main__":
    main()
