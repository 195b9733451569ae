"""The RACE sketch against a brute-force reference, merging, and the two-pass driver."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.scoring.density import density_scores
from datatrainer.scoring.race import RaceParams, RaceSketch


def unit_vectors(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def brute_force_ids(sketch: RaceSketch, vectors: np.ndarray) -> list[list[int]]:
    """Bucket ids straight from the definitions, one record, row and hash at a time, in Python integers."""
    params, rows = sketch.params, sketch.params.rows
    ids = []
    for r in range(rows):
        row = []
        for x in vectors.astype(np.float64):
            key = int(sketch.row_seeds[r, 0])
            for j in range(params.concat):
                k = j * rows + r
                projection = float(sketch.projection[k].astype(np.float64) @ x)
                if params.family == "pstable":
                    h = math.floor(projection + float(sketch.offsets[k, 0]))
                else:
                    h = int(projection > 0)
                key += int(sketch.multipliers[j, r, 0]) * h
            row.append((key % 2**32) * params.buckets >> 32)
        ids.append(row)
    return ids


@pytest.mark.parametrize("family", ["pstable", "srp"])
def test_counters_match_a_brute_force_reference(family: str) -> None:
    params = RaceParams(family=family, rows=7, buckets=50, concat=3, bandwidth=0.5, seed=3)
    vectors = unit_vectors(60)
    sketch = RaceSketch(params, 16)
    sketch.add(vectors)
    expected_ids = np.array(brute_force_ids(sketch, vectors))
    np.testing.assert_array_equal(sketch.bucket_ids(vectors), expected_ids)
    expected = np.zeros((7, 50), dtype=np.int64)
    for r in range(7):
        for bucket in expected_ids[r]:
            expected[r, bucket] += 1
    np.testing.assert_array_equal(sketch.counts, expected)
    scores = sketch.query(vectors)
    np.testing.assert_allclose(scores, [np.mean([expected[r, expected_ids[r, i]] for r in range(7)])
                                        for i in range(60)])


def test_merge_equals_the_sketch_of_the_union() -> None:
    params = RaceParams(rows=20, buckets=128, seed=5)
    a, b = unit_vectors(300, seed=1), unit_vectors(200, seed=2)
    left, right, whole = RaceSketch(params, 16), RaceSketch(params, 16), RaceSketch(params, 16)
    left.add(a)
    right.add(b)
    whole.add(np.concatenate([a, b]))
    merged = left.merge(right)
    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert merged.added == 500
    np.testing.assert_array_equal(merged.query(a), whole.query(a))
    with pytest.raises(DatatrainerError, match="same parameters"):
        left.merge(RaceSketch(params.model_copy(update={"seed": 6}), 16))
    with pytest.raises(DatatrainerError, match="same parameters"):
        left.merge(RaceSketch(params, 8))


def test_two_passes_agree_with_or_without_kept_ids_and_any_chunking() -> None:
    params = RaceParams(rows=30, buckets=1000, concat=2, bandwidth=0.8)
    vectors = unit_vectors(2_000)
    kept = density_scores(vectors, params)
    np.testing.assert_array_equal(density_scores(vectors, params, chunk_rows=333, id_cache_bytes=0), kept)
    np.testing.assert_array_equal(density_scores(vectors.astype(np.float16), params),
                                  density_scores(vectors.astype(np.float16).astype(np.float32), params))
    sketch = RaceSketch(params, 16)
    sketch.add(vectors)
    np.testing.assert_array_equal(sketch.query(vectors), kept)


def test_duplicates_and_close_vectors_score_higher() -> None:
    vectors = unit_vectors(1_000)
    noisy = vectors[:50] + np.random.default_rng(1).standard_normal((50, 16)).astype(np.float32) * 0.01
    data = np.concatenate([vectors, noisy / np.linalg.norm(noisy, axis=1, keepdims=True)])
    scores = density_scores(data, RaceParams(rows=100, concat=6, bandwidth=0.5))
    assert scores[:50].min() > np.median(scores[50:1_000])


def test_bad_input_is_refused() -> None:
    sketch = RaceSketch(RaceParams(rows=2), 16)
    with pytest.raises(DatatrainerError, match="dimension 16"):
        sketch.add(np.zeros((3, 8), dtype=np.float32))
    assert RaceParams(buckets=70_000).id_dtype == np.uint32 and RaceParams().id_dtype == np.uint16
