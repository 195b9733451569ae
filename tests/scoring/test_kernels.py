"""Exact kernel sums against scipy, and the closed-form collision kernels against simulated hashing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from datatrainer.scoring.kernels import (
    collision_kernel,
    exact_kernel_sums,
    gaussian,
    laplace,
    pstable_collision,
    srp_collision,
)
from datatrainer.scoring.race import RaceParams


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((300, 12)) * 0.3


def test_gaussian_and_laplace_sums_match_scipy(vectors: np.ndarray) -> None:
    distances = cdist(vectors, vectors)
    np.testing.assert_allclose(exact_kernel_sums(vectors, gaussian(0.7), block=64),
                               np.exp(-(distances**2) / (2 * 0.7**2)).sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(exact_kernel_sums(vectors, laplace(0.5), block=1000),
                               np.exp(-distances / 0.5).sum(axis=1), rtol=1e-6)


def test_collision_kernel_sums_match_scipy_distances(vectors: np.ndarray) -> None:
    params = RaceParams(concat=3, bandwidth=0.9)
    expected = (pstable_collision(cdist(vectors, vectors), 0.9) ** 3).sum(axis=1)
    np.testing.assert_allclose(exact_kernel_sums(vectors, collision_kernel(params)), expected, rtol=1e-6)
    cosines = 1 - cdist(vectors, vectors, "cosine")
    srp = RaceParams(family="srp", concat=5)
    np.testing.assert_allclose(exact_kernel_sums(vectors, collision_kernel(srp)),
                               (srp_collision(cosines) ** 5).sum(axis=1), rtol=1e-6)


@pytest.mark.parametrize("distance", [0.1, 0.5, 1.0, 1.4, 3.0])
def test_pstable_formula_matches_simulated_hashing(distance: float) -> None:
    rng = np.random.default_rng(1)
    x, y = np.zeros(8), np.zeros(8)
    y[0] = distance
    w, b, r = rng.standard_normal((200_000, 8)), rng.uniform(0, 0.8, 200_000), 0.8
    simulated = np.mean(np.floor((w @ x + b) / r) == np.floor((w @ y + b) / r))
    assert simulated == pytest.approx(float(pstable_collision(np.array(distance), r)), abs=0.005)
    assert float(pstable_collision(np.array(0.0), r)) == 1.0


@pytest.mark.parametrize("angle", [0.2, 1.0, 2.5])
def test_srp_formula_matches_simulated_hashing(angle: float) -> None:
    w = np.random.default_rng(2).standard_normal((200_000, 3))
    x, y = np.array([1.0, 0, 0]), np.array([np.cos(angle), np.sin(angle), 0])
    simulated = np.mean((w @ x > 0) == (w @ y > 0))
    assert simulated == pytest.approx(float(srp_collision(np.array(np.cos(angle)))), abs=0.005)
