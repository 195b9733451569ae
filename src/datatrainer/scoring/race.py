"""The RACE sketch (Coleman & Shrivastava 2020) behind Density scores: R rows of B counters.

Row r hashes a vector with `concat` LSH functions, folds them into one bucket key and counts it: pass 1 adds
every record (`A[r, h_r(x)] += 1`), pass 2 reads `S(x) = mean_r A[r, h_r(x)]`, an unbiased estimate of
`sum_y k(x, y)` where k is the probability that two vectors collide in one row (plus the 1/B chance that
two different keys share a bucket). Two LSH families:

- `pstable` (L2): `h(x) = floor((w.x + b) / r)`, w ~ N(0, I), b ~ U[0, r); collision probability from
  Datar et al. (2004), a function of ||x - y|| / r. The bandwidth is the bin width r.
- `srp` (signed random projections, cosine): `h(x) = [w.x > 0]`; collision probability 1 - angle/pi.

With `concat` = p hashes per row the kernel is P[collision]^p: larger p (or smaller r) is a narrower kernel.

A row's bucket is `floor(B * key / 2**32)` with `key = (s_r + sum_j a_rj h_rj(x)) mod 2**32`: random odd 32-bit
multipliers fold the p hashes into one key, and Lemire's multiply-high maps the key's well-mixed high bits
onto [0, B). Two different hash tuples share a bucket with probability about 1/B.

Speed: the projections of a chunk of records are one float32 BLAS matmul, laid out (p, R, n) so that every
later step reads contiguous memory; computing bucket ids is ~95% of a density run, two thirds of it that
matmul and the rest a few vectorised passes (floor, fold, reduce) over the chunk. Bucket ids are uint16 when
B <= 65,536, so the ids of a whole dataset can be kept between the two passes. Sketches with the same
parameters and seed add up (`merge`), so shards can be sketched apart (on other machines) and combined.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from datatrainer.errors import DatatrainerError

Family = Literal["pstable", "srp"]
Matrix = np.ndarray[Any, np.dtype[Any]]
BucketIds = np.ndarray[Any, np.dtype[np.unsignedinteger[Any]]]
Counts = np.ndarray[Any, np.dtype[np.int32]]

_MAX_BUCKETS = 1 << 24


class RaceParams(BaseModel):
    """Everything that defines a sketch's hash functions; two sketches merge only when these are equal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    family: Family = Field("pstable", description="pstable: L2 p-stable LSH; srp: signed random projections")
    rows: int = Field(256, ge=1, le=100_000, description="R: independent sketch rows (estimates are averaged)")
    buckets: int = Field(65_536, ge=2, le=_MAX_BUCKETS, description="B: counters per row")
    concat: int = Field(7, ge=1, le=32, description="p: hashes folded into one bucket key per row")
    bandwidth: float = Field(1.0, gt=0, description="r: p-stable bin width (ignored by srp)")
    seed: int = Field(0, ge=0)

    @property
    def id_dtype(self) -> type[np.unsignedinteger[Any]]:
        return np.uint16 if self.buckets <= 1 << 16 else np.uint32


class RaceSketch:
    """R x B counters and the hash functions that fill them, for vectors of one dimension."""

    def __init__(self, params: RaceParams, dim: int) -> None:
        self.params = params
        self.dim = dim
        self.counts: Counts = np.zeros((params.rows, params.buckets), dtype=np.int32)
        self.added = 0
        rng = np.random.default_rng(params.seed)
        hashes = params.concat * params.rows
        # The hash functions, public so that a reference or another engine can reproduce them. Projection
        # k = j * R + r is position j of row r; for pstable, w and b are pre-divided by the bin width r.
        scale = 1.0 / params.bandwidth if params.family == "pstable" else 1.0
        self.projection = (rng.standard_normal((hashes, dim)) * scale).astype(np.float32)
        self.offsets = rng.uniform(0.0, 1.0, (hashes, 1)).astype(np.float32)
        self.multipliers = rng.integers(0, 1 << 31, (params.concat, params.rows, 1), dtype=np.uint32) * 2 + 1
        self.row_seeds = rng.integers(0, 1 << 32, (params.rows, 1), dtype=np.uint32)

    def bucket_ids(self, vectors: Matrix) -> BucketIds:
        """(R, n) bucket ids of n vectors: row r's bucket for each vector."""
        chunk = np.asarray(vectors, dtype=np.float32)
        if chunk.ndim != 2 or chunk.shape[1] != self.dim:
            raise DatatrainerError(f"expected vectors of dimension {self.dim}, got shape {chunk.shape}")
        p, rows, n = self.params.concat, self.params.rows, chunk.shape[0]
        projected = self.projection @ chunk.T  # (p*R, n)
        bins: np.ndarray[Any, np.dtype[np.unsignedinteger[Any]]]
        if self.params.family == "pstable":
            projected += self.offsets
            floors = np.empty(projected.shape, dtype=np.int32)
            np.floor(projected, out=floors, casting="unsafe")  # floor((w.x + b) / r), cast in the same pass
            # Negative bins wrap to their value mod 2**32, which is all the key arithmetic (mod 2**32) needs.
            bins = floors.view(np.uint32).reshape(p, rows, n)
        else:
            bins = (projected > 0).view(np.uint8).reshape(p, rows, n)
        keys = np.multiply(bins[0], self.multipliers[0], dtype=np.uint32)
        keys += self.row_seeds
        for position in range(1, p):
            keys += np.multiply(bins[position], self.multipliers[position], dtype=np.uint32)
        # Lemire's reduction: floor(key * B / 2**32) maps the high bits of the key uniformly onto [0, B).
        wide = keys.astype(np.uint64)
        wide *= np.uint64(self.params.buckets)
        wide >>= np.uint64(32)
        ids: BucketIds = wide.astype(self.params.id_dtype)
        return ids

    def add_ids(self, ids: BucketIds) -> None:
        """Pass 1 for precomputed ids: count every vector in its bucket of every row."""
        buckets = self.params.buckets
        for row in range(self.params.rows):
            self.counts[row] += np.bincount(ids[row], minlength=buckets)
        self.added += ids.shape[1]

    def query_ids(self, ids: BucketIds) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Pass 2 for precomputed ids: S(x) = mean over rows of the count in x's bucket."""
        total = np.zeros(ids.shape[1], dtype=np.int64)
        for row in range(self.params.rows):
            total += self.counts[row][ids[row]]
        return total / self.params.rows

    def add(self, vectors: Matrix) -> None:
        self.add_ids(self.bucket_ids(vectors))

    def query(self, vectors: Matrix) -> np.ndarray[Any, np.dtype[np.float64]]:
        return self.query_ids(self.bucket_ids(vectors))

    def merge(self, other: RaceSketch) -> RaceSketch:
        """The sketch of both inputs' records: counters add, because each counter is a sum over records."""
        if other.params != self.params or other.dim != self.dim:
            raise DatatrainerError("only sketches with the same parameters, seed and dimension can be merged")
        merged = RaceSketch(self.params, self.dim)
        merged.counts = self.counts + other.counts
        merged.added = self.added + other.added
        return merged
