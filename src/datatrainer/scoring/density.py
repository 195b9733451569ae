"""Density scores: `S(x) = sum_y k(x, y)` over a version's embeddings, estimated with a RACE sketch.

Two passes over the embeddings: pass 1 computes every record's bucket ids and counts them, pass 2 reads
each record's counters. Records are processed in blocks whose ids fit `id_cache_bytes` (uint16: 2 bytes per
record per row, 512 MB for 1M records and 256 rows): when all records fit one block, pass 2 reuses pass 1's
ids instead of projecting again, halving the work; otherwise pass 2 recomputes them block by block, so memory
stays bounded for any number of records.

Within a block, chunks of `chunk_rows` records are hashed one after another; the matmul uses every core
through BLAS. (Hashing chunks on two threads with a single-threaded BLAS each measured the same on 2 cores.)

On a distributed engine (`density_on`) the sketch is built per task and merged: each task hashes a range of
the records and counts them into its own sketch, the driver adds the sketches up (counters are sums over
records, so the sum is exactly the sketch of the same bucket ids), and pass 2 sends the merged counters to
tasks that hash their range again and read the scores. No bucket ids reach the driver, at the price of
hashing twice. The ids themselves come from float32 projections, which BLAS may round differently with
another thread count (Ray workers run it on one thread): a vector within rounding of a bin edge can land in
the neighbouring bucket. Measured on 940,000 clustered vectors: 40 of 240M counter increments moved, which
moves the scores of the records sharing those buckets (exact copies move together; see docs/scale-out.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from datatrainer.engine.base import Engine
from datatrainer.scoring.race import BucketIds, Matrix, RaceParams, RaceSketch

CHUNK_ROWS = 8192  # 8192 x 1792 float32 projections: ~60 MB, and the fastest chunk size measured
ID_CACHE_BYTES = 1 << 30
TASK_ROWS = 262_144  # most vectors per distributed task: 192 MB of 384-d float16 in, 128 MB of bucket ids
Scores = np.ndarray[Any, np.dtype[np.float64]]


def density_scores(vectors: Matrix, params: RaceParams, chunk_rows: int = CHUNK_ROWS,
                   id_cache_bytes: int = ID_CACHE_BYTES) -> Scores:
    """The sketch's density estimate for every row of `vectors` (float16/32, memory-mapped or not)."""
    count = vectors.shape[0]
    sketch = RaceSketch(params, vectors.shape[1])
    per_record = params.rows * np.dtype(params.id_dtype).itemsize
    block = max(chunk_rows, id_cache_bytes // per_record)
    if count <= block:
        ids = bucket_ids(sketch, vectors, chunk_rows)
        sketch.add_ids(ids)
        return sketch.query_ids(ids)
    for start in range(0, count, block):
        sketch.add_ids(bucket_ids(sketch, vectors[start:start + block], chunk_rows))
    scores = np.empty(count, dtype=np.float64)
    for start in range(0, count, block):
        scores[start:start + block] = sketch.query_ids(
            bucket_ids(sketch, vectors[start:start + block], chunk_rows))
    return scores


def bucket_ids(sketch: RaceSketch, vectors: Matrix, chunk_rows: int) -> BucketIds:
    """(R, n) bucket ids of all `vectors`, hashed chunk by chunk (bounded temporary memory)."""
    ids = np.empty((sketch.params.rows, vectors.shape[0]), dtype=sketch.params.id_dtype)
    for start in range(0, vectors.shape[0], chunk_rows):
        ids[:, start:start + chunk_rows] = sketch.bucket_ids(vectors[start:start + chunk_rows])
    return ids


def density_on(engine: Engine, vectors: Matrix, params: RaceParams, task_rows: int = TASK_ROWS) -> Scores:
    """`density_scores` on an engine: in process as it is; on a distributed engine with per-task sketches
    merged on the driver, then scored by the tasks (see the module docstring). The same scores either way."""
    if not engine.distributed:
        return density_scores(vectors, params)
    count, dim = vectors.shape
    tasks = max(engine.threads, math.ceil(count / task_rows))
    # Ranges start on multiples of CHUNK_ROWS, where `density_scores` starts its chunks: BLAS may round a
    # vector's projections differently in another chunk layout, and a flipped floor() is another bucket.
    size = max(1, math.ceil(count / tasks / CHUNK_ROWS)) * CHUNK_ROWS
    merged = engine.reduce(partial(sketch_of, params, dim), RaceSketch.merge, _ranges(vectors, size),
                           "density: sketching")
    if merged is None:
        return np.empty(0, dtype=np.float64)
    scores = engine.map_items(partial(_score_range, merged), _ranges(vectors, size), "density: scoring",
                              math.ceil(count / size))
    return np.concatenate(list(scores))


def _ranges(vectors: Matrix, size: int) -> Iterator[Matrix]:
    for start in range(0, vectors.shape[0], size):
        yield np.ascontiguousarray(vectors[start:start + size])


def sketch_of(params: RaceParams, dim: int, vectors: Matrix) -> RaceSketch:
    """The sketch of some records (a task's partial sketch), hashed chunk by chunk."""
    sketch = RaceSketch(params, dim)
    sketch.add_ids(bucket_ids(sketch, vectors, CHUNK_ROWS))  # one bincount per row: the counting's fixed cost
    return sketch


def _score_range(sketch: RaceSketch, vectors: Matrix) -> Scores:
    """A task's pass 2: its records' scores under the merged sketch."""
    return sketch.query_ids(bucket_ids(sketch, vectors, CHUNK_ROWS))
