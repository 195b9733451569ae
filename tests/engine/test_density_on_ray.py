"""Density on Ray: per-task RACE sketches merged on the driver give exactly the local scores (tolerance 0:
the counters are integers, and the merged counters are the whole input's), for one task per worker and for
many small tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from datatrainer.scoring.density import density_on, density_scores
from datatrainer.scoring.race import RaceParams, RaceSketch


def test_merged_sketches_on_ray_give_the_local_scores(ray_engine: Callable[[int], Any]) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 24)).astype(np.float16)
    params = RaceParams(rows=32, buckets=512, concat=2, bandwidth=2.0)
    expected = density_scores(vectors, params)
    engine = ray_engine(1024)
    for task_rows in (100_000, 700):  # one range per worker; several ranges per worker
        np.testing.assert_array_equal(density_on(engine, vectors, params, task_rows=task_rows), expected)
    whole = RaceSketch(params, 24)
    whole.add(vectors)
    halves = RaceSketch(params, 24)
    halves.add(vectors[:1234])
    other = RaceSketch(params, 24)
    other.add(vectors[1234:])
    np.testing.assert_array_equal(halves.merge(other).counts, whole.counts)  # what makes the merge exact
    assert len(density_on(engine, vectors[:0], params)) == 0
