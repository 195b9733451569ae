"""Density on Ray: per-task RACE sketches, merged in a tree of tasks, give the local scores exactly here
(integer counters; the merged counters are the whole input's), for one task per worker and for more tasks
than workers. Exact only while BLAS rounds every projection the same way on one thread as on several,
which holds for these vectors; see `scoring.density` for what a bin-edge flip does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from datatrainer.scoring.density import density_on, density_scores
from datatrainer.scoring.race import RaceParams, RaceSketch


def test_merged_sketches_on_ray_give_the_local_scores(ray_engine: Callable[[int], Any]) -> None:
    rng = np.random.default_rng(0)
    vectors = (rng.standard_normal((20_000, 64)) / 8).astype(np.float16)  # about unit length, as embeddings
    params = RaceParams(rows=64, buckets=4096, concat=4, bandwidth=0.5)
    expected = density_scores(vectors, params)
    engine = ray_engine(1024)
    for task_rows in (100_000, 8192):  # one range per worker (2); more ranges than workers (3)
        np.testing.assert_array_equal(density_on(engine, vectors, params, task_rows=task_rows), expected)
    whole = RaceSketch(params, 64)
    whole.add(vectors)
    halves = RaceSketch(params, 64)
    halves.add(vectors[:1234])
    other = RaceSketch(params, 64)
    other.add(vectors[1234:])
    np.testing.assert_array_equal(halves.merge(other).counts, whole.counts)  # what makes the merge exact
    assert len(density_on(engine, vectors[:0], params)) == 0
