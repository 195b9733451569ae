"""Benchmark: near-duplicate dedup, ours end to end vs datasketch and rensa loops, speed and quality.

What is measured, and why: issue 3 sets the bar at the fastest peer. On a generated corpus (default 20,000
documents of ~150 words, 10% planted near-copies with up to 15% word edits and case/punctuation/spacing
noise, 2% exact copies) this times, in one process:

- datasketch: MinHash(128) + MinHashLSH(threshold) insert then query, per document;
- rensa: RMinHash(128) + RMinHashLSH(threshold, 128, 16 bands) insert then query, per document;
- ours: `ws.apply("dedup", [version], {...})` end to end: read the version from Parquet, normalise,
  shingle, hash, LSH, exact check, clusters, write the kept records and the artifacts, commit.

Both peers get the same tokens for free: word 3-grams of the same normalised text, made before their
clock starts (so their time is MinHash + LSH only, while ours includes I/O and normalisation). A second
rensa line also times making those tokens in Python, which is what a rensa user runs from raw text.

Quality: pairs with exact Jaccard >= threshold on the same shingles (counted with Python sets, among all
planted pairs and every pair any method reports; random documents share almost no 3-grams) are the truth.
"pairs" scores what each method reports (the peers' LSH candidates, our checked pairs); "clusters" scores
every pair within one connected component (the peers' candidates joined into components, our clusters
artifact), which is what deduplication acts on.

Timings are the best of --repeat runs, ours and rensa's taking turns (one run for the two slowest lines);
"cpu s" is the CPU time of that run over all threads, which contention from other processes changes far
less than wall time. "x/ours" is that method's time over ours (above 1: ours is faster). The last line
compares ours with rensa in wall and in CPU time: where other jobs leave us a single core, the wall ratio
falls towards the CPU ratio.

Usage: python benchmarks/dedup.py [--docs N] [--threshold T] [--repeat K] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import rensa
from datasketch import MinHash, MinHashLSH

from datatrainer.evaluation.fixtures import dupeval
from datatrainer.evaluation.fixtures.dupcorpus import planted_corpus
from datatrainer.quality.dedup import find_near_duplicates
from datatrainer.workspace import Workspace

NUM_PERM = 128
RENSA_BANDS = 16
Pairs = set[tuple[int, int]]


Timing = tuple[float, float, Any]


def best_of(repeat: int, runs: dict[str, Callable[[], Any]]) -> dict[str, Timing]:
    """For each run: wall seconds of its fastest repetition, the CPU seconds (all threads) of that repetition,
    and its result. The runs take turns, so a change in the machine's load hits each of them alike."""
    best: dict[str, Timing] = {name: (float("inf"), float("inf"), None) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            result = run()
            wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
            if wall < best[name][0]:
                best[name] = (wall, cpu, result)
    return best


def tokens_from_text(texts: Any) -> list[list[str]]:
    """Word 3-grams of the normalised text (normalize_text, then Python), as the peers take them."""
    return [[" ".join(w[i : i + 3]) for i in range(max(1, len(w) - 2))] if w else []
            for w in dupeval.reference_words(texts)]


def query_pairs(sketches: list[Any], query: Callable[[Any], list[int]]) -> Pairs:
    return {(min(i, j), max(i, j)) for i, sketch in enumerate(sketches) for j in query(sketch) if j != i}


def datasketch_loop(tokens: list[list[str]], threshold: float) -> Pairs:
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    sketches = []
    for row, doc in enumerate(tokens):
        sketch = MinHash(num_perm=NUM_PERM, seed=1)
        sketch.update_batch([token.encode() for token in doc])
        lsh.insert(row, sketch)
        sketches.append(sketch)
    return query_pairs(sketches, lsh.query)


def rensa_loop(tokens: list[list[str]], threshold: float) -> Pairs:
    lsh = rensa.RMinHashLSH(threshold, NUM_PERM, RENSA_BANDS)
    sketches = []
    for row, doc in enumerate(tokens):
        sketch = rensa.RMinHash(NUM_PERM, 1)
        sketch.update(doc)
        lsh.insert(row, sketch)
        sketches.append(sketch)
    return query_pairs(sketches, lsh.query)


def score(found: Pairs | None, truth: Pairs) -> tuple[float, float]:
    """(recall, precision), or NaN for a method that reports no pairs of that kind."""
    return dupeval.recall_precision(found, truth) if found is not None else (float("nan"), float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    corpus = planted_corpus(args.docs)
    docs, threshold = args.docs, args.threshold
    print(f"{docs:,} documents, threshold {threshold}, {NUM_PERM} permutations, word 3-grams; "
          f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    tokens = tokens_from_text(corpus.texts)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "corpus.parquet"
        pq.write_table(corpus.table, source)
        with Workspace.init(Path(folder) / "ws") as ws:
            version = ws.ingest(source, "bench")
            params = {"method": "minhash", "threshold": threshold, "num_perm": NUM_PERM, "ngram": 3}
            timed = best_of(args.repeat, {"ours": lambda: ws.apply("dedup", [version], params),
                                          "rensa": lambda: rensa_loop(tokens, threshold)})
            cluster_table = timed["ours"][2].artifact("clusters").to_pydict()
    (ours_s, ours_cpu, _), (rensa_s, rensa_cpu, rensa_pairs) = timed["ours"], timed["rensa"]
    row_of = {f"doc-{i:06d}": i for i in range(docs)}
    ours_labels = np.arange(docs)
    ours_labels[[row_of[i] for i in cluster_table["id"]]] = cluster_table["cluster"]
    ours_pairs = {tuple(p) for p in find_near_duplicates(corpus.texts, threshold=threshold).pairs.tolist()}

    slow = best_of(1, {"rensa_text": lambda: rensa_loop(tokens_from_text(corpus.texts), threshold),
                       "datasketch": lambda: datasketch_loop(tokens, threshold)})
    rensa_text_s, rensa_text_cpu, _ = slow["rensa_text"]
    datasketch_s, datasketch_cpu, datasketch_pairs = slow["datasketch"]

    sets = dupeval.reference_shingles(dupeval.reference_words(corpus.texts))
    methods: dict[str, tuple[float, float, Pairs | None, Pairs | None]] = {
        "datasketch MinHash+MinHashLSH": (datasketch_s, datasketch_cpu, datasketch_pairs,
                                          dupeval.cluster_pairs(dupeval.components(docs, datasketch_pairs))),
        "rensa RMinHash+RMinHashLSH": (rensa_s, rensa_cpu, rensa_pairs,
                                       dupeval.cluster_pairs(dupeval.components(docs, rensa_pairs))),
        "rensa, tokens made from text": (rensa_text_s, rensa_text_cpu, None, None),
        "datatrainer dedup, end to end": (ours_s, ours_cpu, ours_pairs, dupeval.cluster_pairs(ours_labels)),
    }
    candidates = dupeval.planted_pairs(corpus.origin)
    for _, _, pairs, clustered in methods.values():
        candidates |= (pairs or set()) | (clustered or set())
    truth = dupeval.similar_pairs(sets, threshold, candidates)

    print(f"true pairs (exact Jaccard >= {threshold}): {len(truth):,}\n")
    print(f"{'method':32s} {'seconds':>8s} {'cpu s':>6s} {'docs/s':>9s} {'x/ours':>7s}  {'pairs R':>7s} "
          f"{'pairs P':>7s}  {'clust R':>7s} {'clust P':>7s}")
    report: dict[str, Any] = {"docs": docs, "threshold": threshold, "true_pairs": len(truth), "methods": {},
                              "load_average": os.getloadavg()[0]}
    for name, (seconds, cpu, pairs, clustered) in methods.items():
        pairs_recall, pairs_precision = score(pairs, truth)
        cluster_recall, cluster_precision = score(clustered, truth)
        report["methods"][name] = {
            "seconds": seconds, "cpu_seconds": cpu, "docs_per_s": docs / seconds, "time_over_ours": seconds / ours_s,
            "pairs_recall": pairs_recall, "pairs_precision": pairs_precision,
            "cluster_recall": cluster_recall, "cluster_precision": cluster_precision,
        }
        print(f"{name:32s} {seconds:8.3f} {cpu:6.3f} {docs / seconds:9,.0f} {seconds / ours_s:7.2f}  "
              f"{pairs_recall:7.4f} {pairs_precision:7.4f}  {cluster_recall:7.4f} {cluster_precision:7.4f}")
    wall_ratio, cpu_ratio = rensa_s / ours_s, rensa_cpu / ours_cpu
    report["ours_vs_rensa"] = {"wall": wall_ratio, "cpu": cpu_ratio}
    print(f"\nours vs rensa's loop: {wall_ratio:.2f}x as fast in wall time, {cpu_ratio:.2f}x in CPU time "
          f"(load average at the end {os.getloadavg()[0]:.2f})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
