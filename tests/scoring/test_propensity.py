"""Inverse-propensity sampling: without replacement, k respected, reproducible, and ∝ 1/S."""

from __future__ import annotations

import numpy as np
import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.scoring.propensity import inverse_propensity_sample


def test_draws_k_distinct_indices_reproducibly() -> None:
    scores = np.random.default_rng(0).uniform(1, 50, 1_000)
    drawn = inverse_propensity_sample(scores, 300, seed=7)
    assert drawn.dtype == np.int64 and len(drawn) == 300 and len(np.unique(drawn)) == 300
    assert drawn.min() >= 0 and drawn.max() < 1_000
    np.testing.assert_array_equal(drawn, inverse_propensity_sample(scores, 300, seed=7))
    assert not np.array_equal(drawn, inverse_propensity_sample(scores, 300, seed=8))
    assert sorted(inverse_propensity_sample(scores, 1_000, seed=1)) == list(range(1_000))
    assert len(inverse_propensity_sample(scores, 0, seed=1)) == 0


def test_inclusion_follows_inverse_density() -> None:
    """Sparse records (low S) are kept more often; the first draw is exactly ∝ 1/S."""
    scores = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    trials = 20_000
    first = np.zeros(6)
    included = np.zeros(6)
    for seed in range(trials):
        drawn = inverse_propensity_sample(scores, 2, seed)
        first[drawn[0]] += 1
        included[drawn] += 1
    assert np.all(np.diff(included) < 0)  # strictly fewer inclusions as density grows
    expected = (1 / scores) / (1 / scores).sum()
    tolerance = 4 * np.sqrt(expected * (1 - expected) / trials)  # 4 standard errors of a binomial share
    assert np.all(np.abs(first / trials - expected) < tolerance)


@pytest.mark.parametrize(("scores", "k", "message"), [
    ([1.0, 2.0], 3, "cannot draw 3 records from 2"),
    ([1.0, 0.0], 1, "finite and positive"),
    ([1.0, np.nan], 1, "finite and positive"),
    ([[1.0]], 1, "one-dimensional"),
])
def test_bad_input_is_refused(scores: list[float], k: int, message: str) -> None:
    with pytest.raises(DatatrainerError, match=message):
        inverse_propensity_sample(np.array(scores), k, seed=0)
