"""Density scores: `S(x) = sum_y k(x, y)` over a version's embeddings, estimated with a RACE sketch.

Two passes over the embeddings in chunks: pass 1 computes every record's bucket ids and counts them, pass 2
reads each record's counters. When the ids of all records fit `id_cache_bytes` (uint16: 2 bytes per record
per row, 400 MB for 1M records and 200 rows) pass 2 reuses them instead of projecting again, halving the
work; otherwise it recomputes them chunk by chunk, so memory stays bounded for any number of records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from datatrainer.scoring.race import Matrix, RaceParams, RaceSketch

CHUNK_ROWS = 8192
ID_CACHE_BYTES = 1 << 30
Scores = np.ndarray[Any, np.dtype[np.float64]]


def density_scores(vectors: Matrix, params: RaceParams, chunk_rows: int = CHUNK_ROWS,
                   id_cache_bytes: int = ID_CACHE_BYTES) -> Scores:
    """The sketch's density estimate for every row of `vectors` (float16/32, memory-mapped or not)."""
    count = vectors.shape[0]
    sketch = RaceSketch(params, vectors.shape[1])
    ids_size = count * params.rows * np.dtype(params.id_dtype).itemsize
    if ids_size <= id_cache_bytes:
        ids = np.empty((params.rows, count), dtype=params.id_dtype)
        for start, stop in _chunks(count, chunk_rows):
            ids[:, start:stop] = sketch.bucket_ids(vectors[start:stop])
        sketch.add_ids(ids)
        return sketch.query_ids(ids)
    for start, stop in _chunks(count, chunk_rows):
        sketch.add(vectors[start:stop])
    scores = np.empty(count, dtype=np.float64)
    for start, stop in _chunks(count, chunk_rows):
        scores[start:stop] = sketch.query(vectors[start:stop])
    return scores


def _chunks(count: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, count, size):
        yield start, min(start + size, count)

